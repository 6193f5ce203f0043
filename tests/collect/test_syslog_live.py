"""Syslog from real senders (util-linux logger, rsyslog) into the spool, then OpenSearch: every line once."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch, helpers

from dagster_project.collect.spool import read_entries, segments, unpack_messages
from dagster_project.collect.tls import suite_certificates
from dagster_project.security.certificates import ensure_leaf
from dagster_project.settings import NodeSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.collect.peers import (
    RETENTION,
    Rsyslog,
    Serve,
    env_for,
    free_port,
    ingest_all,
    spooled_by_listener,
    spooled_messages,
    wait_for,
)

pytestmark = [pytest.mark.live, pytest.mark.slow]

log = logging.getLogger(__name__)


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


TOTAL = 6000


def _rsyslog_run(siem: OpenSearch, tmp_path: Path, *, tls: bool, disrupt: str) -> dict[str, list[int]]:
    """rsyslog forwards TOTAL lines per listener while the receiver is disrupted halfway.

    Every line spooled is indexed exactly once (a line rsyslog resent after a reconnect is in the spool twice
    and has the same id); returns, per listener, the lines that never arrived.
    """
    certs = suite_certificates(NodeSettings().home)
    client_cert, client_key = ensure_leaf(certs, "test-rsyslog-client", "rsyslog-client", hosts=(), server=False)
    spool = tmp_path / "spool"
    env = env_for(spool, SIEM_COLLECT_TLS_CLIENT_AUTH="required")
    ports = {"tcp": free_port(), "tls": free_port()}
    names = ["tcp", "tls"] if tls else ["tcp"]
    arguments = ["--no-daemon", "--no-webserver"]
    for name in names:
        arguments += [f"--syslog-{name}", f"127.0.0.1:{ports[name]}"]
    serve = Serve(spool, *arguments, env=env)
    files = {name: tmp_path / f"{name}.log" for name in names}
    for path in files.values():
        path.write_text("")
    actions = [
        {"name": name, "file": str(files[name]), "tag": "sshd", "port": str(ports[name])}
        | ({"tls": "1"} if name == "tls" else {})
        for name in names
    ]
    rsyslog = Rsyslog(tmp_path / "rsyslog", actions, ca=certs.ca, cert=client_cert, key=client_key)
    try:
        outputs = {name: path.open("a") for name, path in files.items()}
        for i in range(TOTAL):
            for name, out in outputs.items():
                out.write(f"Accepted publickey for deploy from 192.0.2.{i % 250} port {i} ssh2 {name}={i}\n")
            if i % 500 == 499:
                for out in outputs.values():
                    out.flush()
                time.sleep(0.2)
            if i == TOTAL // 2:
                for out in outputs.values():
                    out.flush()
                wait_for(lambda: all(v > TOTAL // 4 for v in spooled_by_listener(spool).values()), 60, "flowing")
                if disrupt == "kill":
                    serve.kill_receiver()  # mid-stream: rsyslog keeps sending into the parked connection
                else:
                    serve.stop()  # mid-stream: half-close, read to the end, seal; rsyslog reconnects
                    serve = Serve(spool, *arguments, env=env)
        for out in outputs.values():
            out.close()
        try:  # one worker, one connection at a time: rsyslog delivers in order, so the last line comes last
            wait_for(lambda: _last_lines_spooled(spool, names), 120, "rsyslog's queue drained", every=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {_lines(spool, names)}; rsyslog: {rsyslog.log_tail()}") from None
        assert rsyslog.process.poll() is None, "rsyslogd died (see its log)"
    finally:
        rsyslog.stop()
        serve.stop()
    status = json.loads((spool / "receiver.json").read_text())
    counted = {item["name"]: [item["received"], item["spooled"]] for item in status["listeners"]}
    in_spool = spooled_by_listener(spool)
    assert counted == {name: [count, count] for name, count in in_spool.items()}, "counters exact across the disruption"
    spooled = _lines(spool, names)
    arrived = sum(len(lines) for lines in spooled.values())
    distinct = sum(len(set(lines)) for lines in spooled.values())
    repeated, connections = _repeated_on_one_connection(spool)
    indexed = distinct + sum(copies - 1 for copies in repeated.values())
    counts = ingest_all(siem, spool)
    expected = {"acknowledged": arrived, "read": arrived, "indexed": indexed, "quarantined": 0, "duplicates": 0}
    expected["duplicates"] = arrived - indexed
    twice = _indexed_twice(siem)
    log.info("rsyslog %s (%s): written %d per listener, counts %s", disrupt, names, TOTAL, counts)
    assert counts == expected, f"{counts} != {expected}; indexed twice: {twice}; repeated: {repeated}"
    # Only what rsyslog itself sent twice on one connection is indexed twice (see _repeated_on_one_connection).
    assert set(twice) == set(repeated), (twice, repeated)
    assert len(repeated) <= connections and all(copies == 2 for copies in repeated.values()), (repeated, connections)
    siem.indices.refresh(index=naming.events_pattern())
    sample = siem.search(index=naming.events_pattern("linux-auth"), body={"size": 1})["hits"]["hits"][0]["_source"]
    assert sample["log"]["syslog"]["facility"]["name"] == "local3"
    return {name: sorted(set(range(TOTAL)) - set(lines)) for name, lines in spooled.items()}


def _indexed_twice(siem: OpenSearch) -> dict[str, list[str]]:
    """The lines indexed more than once, with the sender addresses (connections) they came from."""
    siem.indices.refresh(index=naming.events_pattern())
    seen: dict[str, list[str]] = {}
    for hit in helpers.scan(siem, index=naming.events_pattern("linux-auth")):
        doc = hit["_source"]
        line = doc["event"]["original"].rsplit(" ", 1)[1]
        seen.setdefault(line, []).append(f"{doc['log']['source']['address']} {doc['event']['created']}")
    return {line: where for line, where in seen.items() if len(where) > 1}


def _repeated_on_one_connection(spool: Path) -> tuple[dict[str, int], int]:
    """The lines a sender sent more than once on one connection (with their copies), and the connections seen.

    Identical messages on one connection are separate events by the id scheme (`collect.identity`), so a
    sender that repeats a message on one connection gets it indexed twice; no receiver can tell that from a
    real repeat. rsyslog does so now and then with the first message of a connection (its action was
    suspended while the message had in fact been sent; its maintainers prefer duplication over loss,
    rsyslog/rsyslog#2767): that is the one repeat allowed, so a receiver that spooled bytes twice mid-stream
    (a TCP connection adopted after a crash keeps its peer) still fails. A resend after a reconnect comes on
    another connection and is deduplicated.
    """
    copies: dict[tuple[str, str], int] = {}
    first: dict[str, str] = {}
    for segment in segments(spool):
        for entry in read_entries(segment.path):
            for message in unpack_messages(entry.payload):
                peer, line = str(entry.header["p"]), message.rsplit(b" ", 1)[1].decode()
                first.setdefault(peer, line)
                copies[(peer, line)] = copies.get((peer, line), 0) + 1
    repeated = {(peer, line): count for (peer, line), count in copies.items() if count > 1}
    assert all(first[peer] == line for peer, line in repeated), f"repeated mid-connection: {repeated}"
    return {line: count for (_peer, line), count in repeated.items()}, len(first)


def _lines(spool: Path, names: list[str]) -> dict[str, list[int]]:
    """Per listener, the line numbers in the spool, in order of arrival (a resent line appears twice)."""
    messages = spooled_messages(spool)
    return {name: [int(m.rsplit(b"=", 1)[1]) for m in messages if f" {name}=".encode() in m] for name in names}


def _last_lines_spooled(spool: Path, names: list[str]) -> bool:
    return all(TOTAL - 1 in lines for lines in _lines(spool, names).values())


def test_rsyslog_over_tcp_every_line_once_when_the_receiver_is_killed_mid_stream(
    siem: OpenSearch, tmp_path: Path
) -> None:
    """The parked connection outlives the receiver: nothing rsyslog wrote into it is lost or doubled."""
    assert _rsyslog_run(siem, tmp_path, tls=False, disrupt="kill") == {"tcp": []}


def test_rsyslog_over_tcp_and_tls_across_a_graceful_restart(siem: OpenSearch, tmp_path: Path) -> None:
    """A graceful stop loses nothing it read; rsyslog itself drops the one message in hand when it sees the close.

    omfwd checks the connection before each send and, finding it closed, discards that message and
    reconnects (rsyslog documents this loss of plain TCP syslog; its ResendLastMSGOnReconnect remedy
    duplicates messages on the same connection in this version). So at most one line per connection that
    was open at the stop may be missing, and it must be one sent after the stop began.
    """
    missing = _rsyslog_run(siem, tmp_path, tls=True, disrupt="restart")
    assert all(len(lines) <= 1 and all(line >= TOTAL // 4 for line in lines) for lines in missing.values()), missing
