"""HTTP `POST /v1/logs/<source>` against the real receiver: every answer of the contract, nothing lost or doubled."""

from __future__ import annotations

import gzip
import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.collect.peers import RETENTION, Serve, env_for, free_port, ingest_all, spooled_by_listener, wait_for

pytestmark = [pytest.mark.live, pytest.mark.slow]
TOKEN = "test-token-not-a-secret"
LINE = "Mar 27 13:06:{:02d} web-01 sshd[{}]: Failed password for root from 198.51.100.7 port {} ssh2\n"


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """Templates applied, no siem data."""
    bootstrap(clean_siem, RETENTION)
    yield clean_siem


def batch(start: int, count: int) -> bytes:
    return "".join(LINE.format(i % 60, i, i) for i in range(start, start + count)).encode()


def post(
    port: int, source: str, body: bytes, *, token: str | None = TOKEN, timeout: float = 30, **headers: str
) -> tuple[int, dict[str, str], dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    connection.request("POST", f"/v1/logs/{source}", body=body, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), json.loads(data) if data else {}


def test_answers_backpressure_and_idempotency(siem: OpenSearch, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = env_for(spool, SIEM_HTTP_TOKEN=TOKEN, SIEM_HTTP_MAX_BODY_BYTES="200000", SIEM_SPOOL_MAX_BYTES="400000")
    serve = Serve(spool, "--no-daemon", "--no-webserver", "--http", "127.0.0.1:0", env=env)
    accepted = 0
    try:
        _, port = serve.address("http")
        assert post(port, "linux-auth", batch(0, 5), token=None)[0] == 401
        assert post(port, "linux-auth", batch(0, 5), token="wrong")[0] == 403
        status, _, answer = post(port, "no-such-source", batch(0, 5))
        assert status == 400 and "unknown source" in str(answer["error"])
        assert post(port, "linux-auth", b"not gzip at all", Content_Encoding="gzip")[0] == 400
        assert post(port, "linux-auth", b"x" * 250_000)[0] == 413
        assert spooled_by_listener(spool) == {}  # nothing of the refused requests was kept
        status, _, answer = post(port, "linux-auth", gzip.compress(batch(0, 100)), Content_Encoding="gzip")
        assert (status, answer) == (200, {"accepted": 100})
        accepted += 100
        status, _, answer = post(port, "linux-auth", batch(100, 50), Idempotency_Key="batch-1")
        assert (status, answer) == (200, {"accepted": 50})
        accepted += 50
        status, _, answer = post(port, "linux-auth", batch(100, 50), Idempotency_Key="batch-1")
        assert (status, answer) == (200, {"accepted": 50, "duplicate": True})
        assert post(port, "linux-auth", batch(0, 3), Idempotency_Key="batch-1")[0] == 422
        # Fill the spool: 503 with Retry-After, then room again once ingestion retires segments.
        refused = None
        for n in range(40):
            status, headers, _ = post(port, "linux-auth", batch(1000 + 1000 * n, 1000))
            if status == 503:
                refused = n
                assert int(headers["Retry-After"]) >= 1
                break
            assert status == 200
            accepted += 1000
        assert refused is not None, "the spool never filled"
        wait_for(lambda: len(list(spool.glob("linux-auth/*.sealed"))) > 0, 30, "a sealed segment")
        first = ingest_all(siem, spool)
        assert first["indexed"] == first["read"] == first["acknowledged"] > 0
        retry = batch(1000 + 1000 * refused, 1000)
        status = wait_for(lambda: post(port, "linux-auth", retry)[0] == 200, 30, "room in the spool after ingestion")
        assert status
        accepted += 1000
    finally:
        serve.stop()
    second = ingest_all(siem, spool)
    siem.indices.refresh(index=naming.events_pattern())
    assert first["indexed"] + second["indexed"] == accepted
    assert siem.count(index=naming.events_pattern("linux-auth"))["count"] == accepted


def test_a_receiver_killed_between_write_and_answer_loses_and_doubles_nothing(siem: OpenSearch, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    port = free_port()
    env = env_for(spool, SIEM_HTTP_LISTEN=f"127.0.0.1:{port}", SIEM_HTTP_TOKEN=TOKEN)
    log = (tmp_path / "receiver.log").open("ab")
    crashing = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("crash_after_spool.py")), str(tmp_path / "crashed")],
        env=env,
        stderr=log,
    )
    body = batch(0, 500)
    try:
        wait_for(lambda: (spool / "receiver.json").exists(), 60, "the receiver")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            post(port, "linux-auth", body, Idempotency_Key="retry-me")
        assert crashing.wait(timeout=30) == -9 and (tmp_path / "crashed").exists()
        restarted = subprocess.Popen([sys.executable, "-m", "dagster_project.collect.receiver"], env=env, stderr=log)
        try:
            status, _, answer = wait_for(lambda: _try(port, body), 60, "the restarted receiver")
            assert (status, answer) == (200, {"accepted": 500, "duplicate": True})
        finally:
            restarted.terminate()
            assert restarted.wait(timeout=30) == 0
    finally:
        if crashing.poll() is None:
            crashing.kill()
        log.close()
    counts = ingest_all(siem, spool)
    assert counts == {"acknowledged": 500, "read": 500, "indexed": 500, "quarantined": 0, "duplicates": 0}


def _try(port: int, body: bytes) -> tuple[int, dict[str, str], dict[str, object]] | None:
    try:
        return post(port, "linux-auth", body, Idempotency_Key="retry-me", timeout=5)
    except OSError:
        return None
