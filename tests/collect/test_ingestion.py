"""Spooled syslog messages as records: unwrapped for a source that does not read syslog, whole for one that does."""

from __future__ import annotations

from pathlib import Path

from dagster_project.collect.ingestion import SegmentStream
from dagster_project.collect.spool import MESSAGES, Segment, SpoolWriter, encode_entry, pack_messages, sealed_segments
from dagster_project.sources.base import Event
from dagster_project.sources.registry import source_spec

ACCESS = '203.0.113.7 - - [01/Dec/2026:10:00:00 +0000] "GET /admin HTTP/1.1" 404 153 "-" "curl/8.5"'
WRAPPED = [
    f"<134>Dec  1 10:00:00 web-01 nginx: {ACCESS}".encode(),
    f"<134>Dec  1 10:00:05 web-02 nginx: {ACCESS}".encode(),  # the same MSG from another host
    b"<134>1 2026-12-01T10:00:06Z web-03 nginx - - - " + ACCESS.encode(),
    ACCESS.encode(),  # no syslog header at all: handed over as it is
]


def spooled(tmp_path: Path, source: str, messages: list[bytes]) -> Segment:
    spool = SpoolWriter(tmp_path, segment_bytes=1 << 20, segment_seconds=60.0, max_bytes=1 << 24)
    header = {"n": len(messages), "t": 1_796_119_200.0, "p": "127.0.0.1:40000", "l": "syslog-tcp", "s": "tcp:1:ip"}
    spool.append(source, encode_entry(MESSAGES, header, pack_messages(messages)))
    spool.seal_all()
    (segment,) = sealed_segments(tmp_path)
    return segment


def parsed(stream: SegmentStream, source: str) -> list[tuple[Event, tuple[str, int], dict[str, object]]]:
    """Each record through the source's parser, with its id inputs and the stream's annotations."""
    parser = source_spec(source).parser(stream.context())
    out = []
    for record in stream.records(parser):
        event = parser.parse(record)
        assert isinstance(event, Event), event
        doc = event.document()
        stream.annotate(doc, record)
        out.append((event, stream.identity(record, event.original), doc))
    return out


def test_a_syslog_listener_feeding_web_access_hands_over_the_message_and_keeps_the_header(tmp_path: Path) -> None:
    assert not source_spec("web-access").syslog
    results = parsed(SegmentStream(spooled(tmp_path, "web-access", WRAPPED), unwrap_syslog=True), "web-access")
    assert [event.original for event, _, _ in results] == [ACCESS] * 4
    first, second, third, bare = (doc for _, _, doc in results)
    assert first["url"]["original"] == "/admin" and first["http"]["response"]["status_code"] == 404  # type: ignore[index]
    assert first["log"]["syslog"]["facility"]["name"] == "local0"  # type: ignore[index]
    assert first["log"]["syslog"]["severity"]["name"] == "informational"  # type: ignore[index]
    assert first["log"]["source"]["address"] == "127.0.0.1:40000"  # type: ignore[index]
    assert [doc["host"]["name"] for doc in (first, second, third)] == ["web-01", "web-02", "web-03"]  # type: ignore[index]
    assert "syslog" not in bare.get("log", {}) and "host" not in bare  # type: ignore[operator]
    scopes = [identity for _, identity, _ in results]
    assert len(set(scopes)) == 4, "one MSG under different headers is several events"
    again = parsed(SegmentStream(spooled(tmp_path / "again", "web-access", WRAPPED), unwrap_syslog=True), "web-access")
    assert [identity for _, identity, _ in again] == scopes, "a resent message has the same id inputs"


def test_linux_auth_reads_the_whole_syslog_line(tmp_path: Path) -> None:
    assert source_spec("linux-auth").syslog
    line = b"<38>Dec  1 10:00:00 host-1 sshd[42]: Failed password for root from 198.51.100.9 port 22 ssh2"
    ((event, identity, doc),) = parsed(SegmentStream(spooled(tmp_path, "linux-auth", [line])), "linux-auth")
    assert event.original == line.decode() and identity == ("tcp:1:ip", 0)
    assert doc["process"]["name"] == "sshd"  # type: ignore[index]


def test_nginx_error_lines_sent_by_syslog_feed_web_error_with_their_own_time(tmp_path: Path) -> None:
    """nginx's `error_log syslog:` keeps its own time in MSG: the unwrapped message is an error log line."""
    line = "2026/12/01 09:59:58 [alert] 917#917: worker process 2304 exited on signal 6 (core dumped)"
    assert not source_spec("web-error").syslog
    stream = SegmentStream(
        spooled(tmp_path, "web-error", [f"<185>Dec  1 10:00:00 web-01 nginx: {line}".encode()]), unwrap_syslog=True
    )
    ((event, _, doc),) = parsed(stream, "web-error")
    assert event.original == line and doc["@timestamp"] == "2026-12-01T09:59:58Z"
    assert doc["event"]["dataset"] == "nginx.error" and doc["host"]["name"] == "web-01"  # type: ignore[index]
