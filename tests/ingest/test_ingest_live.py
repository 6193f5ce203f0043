"""Ingestion against the real node: reconciliation, idempotence, quarantine of every kind of bad input."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from dagster_project.errors import IngestError
from dagster_project.ingest import pipeline
from dagster_project.ingest.pipeline import IngestSummary, ingest
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

LONG_RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
AUTH_LINE = "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Failed password for root from 85.245.107.41 port 54257 ssh2"


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """A cluster with the suite's templates applied and no siem data."""
    bootstrap(clean_siem, LONG_RETENTION)
    yield clean_siem


def run(client: OpenSearch, source: str, *paths: Path, retention: RetentionSettings = LONG_RETENTION) -> IngestSummary:
    summary = ingest(client, source, list(paths), retention=retention, refresh=True)
    assert summary.reconciles, summary
    return summary


def quarantined(client: OpenSearch) -> list[dict[str, Any]]:
    client.indices.refresh(index=naming.quarantine_pattern(), allow_no_indices=True)
    found = client.search(
        index=naming.quarantine_pattern(), body={"size": 100, "sort": [{"line": "asc"}]}, allow_no_indices=True
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_real_auth_log_reconciles_and_reingest_adds_nothing(siem: OpenSearch, shared_data: Path) -> None:
    path = shared_data / "linux_auth" / "elastic_auth" / "auth.part1.log"
    lines = sum(1 for line in path.open("rb") if line.strip())
    first = run(siem, "linux-auth", path)
    assert first.read == lines
    assert first.indexed + first.duplicates == lines
    assert first.quarantined == 0
    count = siem.count(index=naming.events_pattern("linux-auth"))["count"]
    assert count == first.indexed
    second = run(siem, "linux-auth", path)
    assert (second.read, second.indexed, second.quarantined, second.duplicates) == (lines, 0, 0, lines)
    assert siem.count(index=naming.events_pattern("linux-auth"))["count"] == count


def test_events_carry_forensic_fields_and_land_in_daily_indices(siem: OpenSearch, tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text(AUTH_LINE + "\n")
    run(siem, "linux-auth", path)
    hits = siem.search(index=naming.events_pattern("linux-auth"), body={"query": {"match_all": {}}})["hits"]["hits"]
    assert len(hits) == 1
    hit = hits[0]
    assert hit["_index"].startswith(f"{naming.events_family('linux-auth')}-") and hit["_index"].endswith(".03.27")
    doc = hit["_source"]
    assert doc["event"]["original"] == AUTH_LINE
    assert doc["siem"]["file"] == str(path) and doc["siem"]["line"] == 1 and doc["siem"]["offset"] == 0
    assert doc["source"]["ip"] == "85.245.107.41"
    assert doc["event"]["outcome"] == "failure"


def test_binary_garbage_is_quarantined(siem: OpenSearch, tmp_path: Path) -> None:
    path = tmp_path / "garbage.log"
    path.write_bytes(b"\x00\x01\x02\xff\xfe binary \x00 junk\n" + AUTH_LINE.encode() + b"\n")
    summary = run(siem, "linux-auth", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (2, 1, 1)
    (reject,) = quarantined(siem)
    assert reject["line"] == 1 and reject["file"] == str(path) and "binary" in reject["reason"]


def test_truncated_gzip_keeps_what_it_could_and_quarantines_the_break(siem: OpenSearch, tmp_path: Path) -> None:
    lines = [AUTH_LINE.replace("port 54257", f"port {port}") for port in range(1000, 1400)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "auth.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    summary = run(siem, "linux-auth", path)
    assert 0 < summary.indexed < len(lines)
    assert summary.quarantined >= 1
    reasons = [q["reason"] for q in quarantined(siem)]
    assert any("truncated gzip" in r or "corrupt" in r for r in reasons), reasons


def test_invalid_json_is_quarantined_with_its_line(siem: OpenSearch, tmp_path: Path) -> None:
    good = {"@timestamp": "2024-05-01T10:00:00Z", "event": {"action": "login"}, "user": {"name": "alice"}}
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(good) + "\n{not json at all\n" + json.dumps({**good, "user": {"name": "bob"}}) + "\n")
    summary = run(siem, "jsonl", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (3, 2, 1)
    (reject,) = quarantined(siem)
    assert reject["line"] == 2 and reject["raw"] == "{not json at all"


def test_jsonl_nested_about_a_thousand_deep_is_quarantined_not_a_crash(siem: OpenSearch, tmp_path: Path) -> None:
    """Around 1000 levels the decoder runs out of stack: each such line is quarantined saying so."""
    good = {"@timestamp": "2024-05-01T10:00:00Z", "user": {"name": "alice"}}
    deep = ['{"@timestamp": "2024-05-01T10:00:00Z", "a": ' + "[" * d + "1" + "]" * d + "}" for d in (1100, 5000)]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([json.dumps(good), *deep]) + "\n")
    summary = run(siem, "jsonl", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (3, 1, 2)
    assert [reject["reason"] for reject in quarantined(siem)] == ["invalid JSON: nested too deeply"] * 2


def test_a_document_too_deep_to_serialise_is_quarantined_not_a_crash(
    siem: OpenSearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that parsed but whose canonical JSON exhausts the stack is quarantined; the run goes on.

    orjson writes up to 254 levels and the stdlib encoder takes over beyond, as deep as the stack lets it:
    the real `canonical_json` runs here with 150 frames to spare, so 300 levels exhaust it as 1000 would
    with the interpreter's whole stack.
    """
    real = pipeline.canonical_json

    def with_little_stack(doc: dict[str, Any]) -> bytes:
        frames, frame = 0, sys._getframe()
        while frame is not None:
            frames, frame = frames + 1, frame.f_back
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(frames + 150)
        try:
            return real(doc)
        finally:
            sys.setrecursionlimit(limit)

    monkeypatch.setattr(pipeline, "canonical_json", with_little_stack)
    good = {"@timestamp": "2024-05-01T10:00:00Z", "user": {"name": "alice"}}
    deep = '{"@timestamp": "2024-05-01T10:00:00Z", "a": ' + "[" * 300 + "1" + "]" * 300 + "}"
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([json.dumps(good), deep, json.dumps({**good, "user": {"name": "bob"}})]) + "\n")
    summary = run(siem, "jsonl", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (3, 2, 1)
    (reject,) = quarantined(siem)
    assert (reject["reason"], reject["stage"], reject["line"]) == (
        "nested too deeply to serialise as a document",
        "validate",
        2,
    )
    assert reject["raw"] == deep


def test_a_five_megabyte_line_is_quarantined_not_loaded(siem: OpenSearch, tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("wb") as out:
        out.write(AUTH_LINE.encode() + b"\n")
        out.write(b"Mar 27 13:06:57 host sshd[1]: " + b"A" * (5 * 1024 * 1024) + b"\n")
        out.write(AUTH_LINE.replace("54257", "54258").encode() + b"\n")
    summary = run(siem, "linux-auth", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (3, 2, 1)
    (reject,) = quarantined(siem)
    assert reject["line"] == 2 and "longer than" in reject["reason"]


def test_latin1_bytes_are_kept(siem: OpenSearch, tmp_path: Path) -> None:
    path = tmp_path / "latin1.log"
    path.write_bytes(AUTH_LINE.replace("root", "j\xf6rg").encode("latin-1") + b"\n")
    summary = run(siem, "linux-auth", path)
    assert (summary.read, summary.indexed, summary.quarantined) == (1, 1, 0)
    doc = siem.search(index=naming.events_pattern("linux-auth"))["hits"]["hits"][0]["_source"]
    assert doc["user"]["name"] == "jörg"


def test_empty_file_and_empty_directory_read_nothing(siem: OpenSearch, tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "nothing").mkdir()
    summary = run(siem, "linux-auth", tmp_path / "empty.log", tmp_path / "nothing")
    assert (summary.files, summary.read, summary.indexed, summary.quarantined) == (1, 0, 0, 0)


def test_a_directory_is_walked(siem: OpenSearch, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.log").write_text(AUTH_LINE + "\n")
    (tmp_path / "a" / "two.log.gz").write_bytes(gzip.compress(AUTH_LINE.replace("54257", "1").encode() + b"\n"))
    summary = run(siem, "linux-auth", tmp_path / "a")
    assert (summary.files, summary.read, summary.indexed) == (2, 2, 2)


def test_a_missing_file_is_a_clear_error(siem: OpenSearch, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest(siem, "linux-auth", [tmp_path / "absent.log"])


def test_unknown_source_is_a_clear_error(siem: OpenSearch, tmp_path: Path) -> None:
    from dagster_project.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown source 'nope'"):
        ingest(siem, "nope", [tmp_path])


def test_mapping_rejections_future_and_expired_timestamps_are_quarantined(siem: OpenSearch, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    docs = [
        {"@timestamp": (now - timedelta(days=1)).isoformat(), "source": {"ip": "10.0.0.1"}},
        {"@timestamp": (now - timedelta(days=1)).isoformat(), "source": {"ip": "not-an-ip"}},
        {"@timestamp": (now + timedelta(days=2)).isoformat(), "source": {"ip": "10.0.0.2"}},
        {"@timestamp": (now - timedelta(days=400)).isoformat(), "source": {"ip": "10.0.0.3"}},
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    short = RetentionSettings(retention_days=365, hot_days=90)
    summary = run(siem, "jsonl", path, retention=short)
    assert (summary.read, summary.indexed, summary.quarantined) == (4, 1, 3)
    reasons = {q["line"]: q["reason"] for q in quarantined(siem)}
    assert "mapper_parsing_exception" in reasons[2]
    assert reasons[3].startswith("timestamp in the future")
    assert reasons[4].startswith("older than retention (365 days)")


class FlakyBulkClient:
    """The real client, except that `bulk` call number `fail_on` raises the given status first."""

    def __init__(self, client: OpenSearch, fail_on: int, status: int) -> None:
        self._client = client
        self._fail_on = fail_on
        self._status = status
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self._fail_on:
            raise TransportError(self._status, "injected failure", {})
        return self._client.bulk(*args, **kwargs)


def test_a_rejected_bulk_request_is_retried_and_nothing_is_lost(siem: OpenSearch, tmp_path: Path) -> None:
    # 429 is retried by `streaming_bulk`, above the client, so wrapping the client injects it where it is met.
    # 502/503/504 and dropped connections are the transport's to retry: tests/ingest/test_retries_live.py
    # injects those at the wire, in front of the node.
    path = tmp_path / "many.log"
    path.write_text("".join(AUTH_LINE.replace("54257", str(p)) + "\n" for p in range(5000)))
    flaky = FlakyBulkClient(siem, fail_on=2, status=429)
    summary = ingest(flaky, "linux-auth", [path], retention=LONG_RETENTION, refresh=True)  # type: ignore[arg-type]
    assert flaky.calls >= 4
    assert summary.reconciles and summary.indexed == 5000 and summary.quarantined == 0
    assert siem.count(index=naming.events_pattern("linux-auth"))["count"] == 5000


def test_identical_lines_are_separate_events_and_reingest_still_adds_nothing(siem: OpenSearch, tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    line = '192.168.105.83 - - [11/Jul/2018:09:32:26 +0300] "GET / HTTP/1.1" 200 11444\n'
    path.write_text(line * 3 + line.replace("GET /", "GET /x"))
    first = run(siem, "web-access", path)
    assert (first.read, first.indexed, first.duplicates) == (4, 4, 0)
    second = run(siem, "web-access", path)
    assert (second.indexed, second.duplicates) == (0, 4)
    rotated = tmp_path / "access.log.1"
    rotated.write_text(path.read_text())
    third = run(siem, "web-access", rotated)
    assert (third.indexed, third.duplicates) == (0, 4)
