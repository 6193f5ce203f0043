"""Syslog from real senders (util-linux logger, rsyslog) into the spool, then OpenSearch: every line once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.collect.tls import suite_certificates
from dagster_project.security.certificates import ensure_leaf
from dagster_project.settings import NodeSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.collect.peers import RETENTION, Rsyslog, Serve, env_for, ingest_all, spooled_by_listener, wait_for

pytestmark = [pytest.mark.live, pytest.mark.slow]


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """Templates applied, no siem data."""
    bootstrap(clean_siem, RETENTION)
    yield clean_siem


def events(client: OpenSearch, query: dict[str, object] | None = None, size: int = 10_000) -> list[dict[str, object]]:
    client.indices.refresh(index=naming.events_pattern(), allow_no_indices=True)
    found = client.search(
        index=naming.events_pattern("linux-auth"),
        body={"size": size, "query": query or {"match_all": {}}},
        allow_no_indices=True,
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_logger_over_tcp_octet_counted_and_udp_arrives_once_with_priority_and_sender(
    siem: OpenSearch, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    serve = Serve(spool, "--no-daemon", "--no-webserver", "--syslog-tcp", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0")
    try:
        lines = tmp_path / "lines.txt"
        lines.write_text(
            "".join(f"Failed password for root from 10.0.0.{i % 250} port {1000 + i} ssh2\n" for i in range(200))
        )
        host, tcp_port = serve.address("syslog-tcp")
        _, udp_port = serve.address("syslog-udp")
        common = ["-n", host, "-t", "sshd", "--id=4242", "-p", "authpriv.warning"]
        subprocess.run(["logger", "--tcp", "--octet-count", "-P", str(tcp_port), *common, "-f", str(lines)], check=True)
        # The same line twice on one connection: two real events, not a resend.
        same = tmp_path / "same.txt"
        same.write_text("<38>Dec  1 10:00:00 web-01 sshd[7]: Connection closed by 10.9.9.9 port 22\n" * 2)
        subprocess.run(
            ["logger", "--tcp", "--octet-count", "-P", str(tcp_port), "-n", host, "--prio-prefix", "-f", str(same)],
            check=True,
        )
        for i in range(20):
            subprocess.run(["logger", "--udp", "-P", str(udp_port), *common, f"udp message {i}"], check=True)
        wait_for(lambda: spooled_by_listener(spool) == {"syslog-tcp": 202, "syslog-udp": 20}, 30, "222 records spooled")
    finally:
        serve.stop()
    counts = ingest_all(siem, spool)
    assert counts == {"acknowledged": 222, "read": 222, "indexed": 222, "quarantined": 0, "duplicates": 0}
    docs = events(siem)
    assert len(docs) == 222
    tcp = [d for d in docs if "port 1000 ssh2" in d["event"]["original"]]  # type: ignore[index]
    assert len(tcp) == 1
    syslog = tcp[0]["log"]["syslog"]  # type: ignore[index]
    assert syslog["facility"] == {"code": 10, "name": "authpriv"} and syslog["severity"]["name"] == "warning"
    assert tcp[0]["log"]["source"]["address"].startswith("127.0.0.1:")  # type: ignore[index]
    assert tcp[0]["event"]["outcome"] == "failure" and tcp[0]["source"]["ip"] == "10.0.0.0"  # type: ignore[index]
    assert sum("Connection closed by 10.9.9.9" in d["event"]["original"] for d in docs) == 2  # type: ignore[index]
    assert spooled_segments_left(spool) == 0
    again = ingest_all(siem, spool)
    assert again["read"] == 0  # retired segments are gone: nothing to ingest twice


def spooled_segments_left(spool: Path) -> int:
    return len(list(spool.glob("*/*.sealed")))


def test_rsyslog_over_tcp_and_tls_every_line_once_even_when_the_receiver_is_killed(
    siem: OpenSearch, tmp_path: Path
) -> None:
    certs = suite_certificates(NodeSettings().home)
    client_cert, client_key = ensure_leaf(certs, "test-rsyslog-client", "rsyslog-client", hosts=(), server=False)
    spool = tmp_path / "spool"
    env = env_for(spool, SIEM_COLLECT_TLS_CLIENT_AUTH="required")
    serve = Serve(
        spool, "--no-daemon", "--no-webserver", "--syslog-tcp", "127.0.0.1:0", "--syslog-tls", "127.0.0.1:0", env=env
    )
    tcp_file, tls_file = tmp_path / "tcp.log", tmp_path / "tls.log"
    tcp_file.write_text("")
    tls_file.write_text("")
    rsyslog = Rsyslog(
        tmp_path / "rsyslog",
        [
            {"name": "tcp", "file": str(tcp_file), "tag": "sshd", "port": str(serve.address("syslog-tcp")[1])},
            {
                "name": "tls",
                "file": str(tls_file),
                "tag": "sudo",
                "port": str(serve.address("syslog-tls")[1]),
                "tls": "1",
            },
        ],
        ca=certs.ca,
        cert=client_cert,
        key=client_key,
    )
    total = 6000
    try:
        with tcp_file.open("a") as tcp_out, tls_file.open("a") as tls_out:
            for i in range(total):
                tcp_out.write(f"Accepted publickey for deploy from 192.0.2.{i % 250} port {i} ssh2 seq={i}\n")
                tls_out.write(f"   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/true {i}\n")
                if i % 500 == 499:
                    tcp_out.flush()
                    tls_out.flush()
                    time.sleep(0.2)
                if i == total // 2:
                    tcp_out.flush()
                    wait_for(lambda: spooled_by_listener(spool).get("syslog-tcp", 0) > total // 4, 60, "tcp flowing")
                    serve.kill_receiver()  # mid-stream: rsyslog keeps sending into the kept connection
        wait_for(
            lambda: spooled_by_listener(spool) == {"syslog-tcp": total, "syslog-tls": total},
            120,
            f"{total} lines per listener spooled (rsyslog's queue drained)",
            every=0.5,
        )
        assert rsyslog.process.poll() is None, "rsyslogd died (see its log)"
    finally:
        rsyslog.stop()
        serve.stop()
    counts = ingest_all(siem, spool)
    assert counts == {
        "acknowledged": 2 * total,
        "read": 2 * total,
        "indexed": 2 * total,
        "quarantined": 0,
        "duplicates": 0,
    }
    seqs = [
        d["event"]["original"].rsplit("seq=", 1)[1]
        for d in events(siem, {"match": {"process.name": "sshd"}}, size=total + 10)
    ]  # type: ignore[index]
    assert len(seqs) == len(set(seqs)) == total
    sudo = events(siem, {"match": {"process.name": "sudo"}}, size=1)
    assert sudo and sudo[0]["log"]["syslog"]["facility"]["name"] == "local3"  # type: ignore[index]
