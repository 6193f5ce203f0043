"""The spool on disk: entries survive a torn tail, segments seal by size and age, ids never repeat."""

from __future__ import annotations

from pathlib import Path

from dagster_project.collect.spool import (
    MESSAGES,
    STREAM,
    SpoolWriter,
    add_to_ledger,
    encode_entry,
    pack_messages,
    read_entries,
    retire,
    sealed_segments,
    segments,
    unpack_messages,
)


def writer(root: Path, **overrides: float) -> SpoolWriter:
    settings = {"segment_bytes": 1 << 20, "segment_seconds": 60.0, "max_bytes": 1 << 24} | overrides
    return SpoolWriter(root, **settings)  # type: ignore[arg-type]


def messages_entry(*messages: bytes, **header: object) -> bytes:
    return encode_entry(MESSAGES, {"n": len(messages), **header}, pack_messages(list(messages)))


def test_entries_read_back_in_order_with_their_headers(tmp_path: Path) -> None:
    spool = writer(tmp_path)
    spool.append("linux-auth", messages_entry(b"<13>a", b"<13>b", s="tcp:1:127.0.0.1"))
    spool.append("linux-auth", encode_entry(STREAM, {"n": 2, "k": "key-1"}, b"line 1\nline 2\n"))
    (sealed,) = spool.seal_all()
    (segment,) = sealed_segments(tmp_path)
    assert segment.id == sealed == "linux-auth-000000000001"
    first, second = read_entries(segment.path)
    assert unpack_messages(first.payload) == [b"<13>a", b"<13>b"] and first.header["s"] == "tcp:1:127.0.0.1"
    assert second.kind == STREAM and second.payload == b"line 1\nline 2\n" and second.records == 2


def test_recovery_cuts_a_torn_tail_and_seals_what_was_whole(tmp_path: Path) -> None:
    spool = writer(tmp_path)
    spool.append("linux-auth", messages_entry(b"<13>kept", c="conn-1", e=13))
    torn = messages_entry(b"<13>torn", c="conn-1", e=26)
    spool.append("linux-auth", torn[: len(torn) // 2])  # a crash in the middle of a write
    (segment,) = segments(tmp_path)
    assert not segment.sealed
    recovered = writer(tmp_path).recover()
    assert recovered.sealed == ["linux-auth-000000000001"] and recovered.torn_bytes == len(torn) // 2
    assert recovered.connection_ends == {"conn-1": 13}
    assert recovered.connection_messages == {"conn-1": [b"<13>kept"]}
    (sealed,) = sealed_segments(tmp_path)
    assert [unpack_messages(e.payload) for e in read_entries(sealed.path)] == [[b"<13>kept"]]


def test_segments_seal_by_size_and_age_and_ids_never_repeat_after_removal(tmp_path: Path) -> None:
    spool = writer(tmp_path, segment_bytes=4096, segment_seconds=5.0)
    for _ in range(30):
        spool.append("web-access", messages_entry(b"x" * 300))
    assert sealed_segments(tmp_path) == [], "appending never seals: the receiver seals between callbacks"
    assert spool.seal_due() == ["web-access-000000000001"]  # by size, long before its age
    for _ in range(20):
        spool.append("web-access", messages_entry(b"x" * 300))
        spool.seal_due()
    assert len(sealed_segments(tmp_path)) >= 2
    spool.append("jsonl", messages_entry(b"{}"))
    sealed_by_age = spool.seal_due(now=10**10)
    assert "jsonl-000000000001" in sealed_by_age and len(sealed_by_age) == 2
    for segment in sealed_segments(tmp_path):
        retire(segment, None)
    spool.seal_all()
    fresh = writer(tmp_path)
    fresh.append("web-access", messages_entry(b"again"))
    (last,) = fresh.seal_all()
    assert int(last.rsplit("-", 1)[1]) > 2  # not 1 again: a run key names one segment for ever


def test_the_cap_is_measured_on_disk(tmp_path: Path) -> None:
    spool = writer(tmp_path, max_bytes=65_536)
    assert spool.has_room(60_000)
    spool.append("linux-auth", messages_entry(b"y" * 60_000))
    assert not spool.has_room(10_000)
    for segment in [*spool.seal_all()]:
        assert segment
    for segment in sealed_segments(tmp_path):
        retire(segment, tmp_path / "archive")
    spool.refresh_usage()
    assert spool.has_room(60_000) and (tmp_path / "archive" / "linux-auth").is_dir()


def test_ledger_adds_up_runs(tmp_path: Path) -> None:
    add_to_ledger(tmp_path, "linux-auth", {"ingested": 3, "quarantined": 1})
    assert add_to_ledger(tmp_path, "linux-auth", {"ingested": 2, "quarantined": 0}) == {"ingested": 5, "quarantined": 1}
