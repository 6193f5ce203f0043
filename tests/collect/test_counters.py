"""Counters across a receiver SIGKILL: the last saved status plus what the spool holds past its marks."""

from __future__ import annotations

import time
from pathlib import Path

from dagster_project.collect.counters import restored_counters
from dagster_project.collect.spool import MESSAGES, SpoolWriter, encode_entry, pack_messages


def entry(listener: str, count: int) -> bytes:
    return encode_entry(MESSAGES, {"n": count, "l": listener}, pack_messages([b"<13>m"] * count))


def test_records_spooled_after_the_last_save_are_added_back(tmp_path: Path) -> None:
    spool = SpoolWriter(tmp_path, segment_bytes=1 << 20, segment_seconds=60.0, max_bytes=1 << 24)
    spool.append("linux-auth", entry("syslog-tcp", 3))
    spool.append("web-access", entry("syslog-udp", 1))
    saved = {
        "updated": time.time(),
        "listeners": [
            {"name": "syslog-tcp", "received": 3, "spooled": 3, "dropped": 0, "refused": 0},
            {"name": "syslog-udp", "received": 2, "spooled": 1, "dropped": 1, "refused": 0},
        ],
        "marks": spool.marks(),
    }
    assert restored_counters(tmp_path, saved)["syslog-tcp"] == {"received": 3, "spooled": 3, "dropped": 0, "refused": 0}
    # After the save: more in the open segment, a segment sealed by size, a new one, a source never saved.
    spool.append("linux-auth", entry("syslog-tcp", 4))
    spool.seal_all()
    spool.append("linux-auth", entry("syslog-tcp", 5))
    spool.append("jsonl", entry("http", 7))
    counts = restored_counters(tmp_path, saved)  # a SIGKILL here: receiver.json still holds `saved`
    assert counts["syslog-tcp"] == {"received": 12, "spooled": 12, "dropped": 0, "refused": 0}
    assert counts["syslog-udp"] == {"received": 2, "spooled": 1, "dropped": 1, "refused": 0}
    assert counts["http"] == {"received": 7, "spooled": 7, "dropped": 0, "refused": 0}
