"""The listeners' counters across receiver restarts, exact even after a SIGKILL.

The receiver saves its counters in SPOOL/receiver.json at most every tick, with marks: for each source,
the newest segment and how many bytes of it had been written then. Whatever was spooled after the last
save is in the spool, past those marks; a restarted receiver adds it back from the entries' headers
(listener and record count), so `received`/`spooled` never undercount. `dropped` (UDP) and `refused`
(HTTP) leave no entry: they are saved at the next tick (a SIGKILL within that tick loses those counts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster_project.collect.spool import read_entries, read_header, segments

FIELDS = ("received", "spooled", "dropped", "refused")


def restored_counters(root: Path, status: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per listener name: the counters the last status saved, plus the records spooled after that save."""
    counts: dict[str, dict[str, int]] = {
        str(item["name"]): {field: int(item.get(field, 0)) for field in FIELDS} for item in status.get("listeners", [])
    }
    marks: dict[str, list[int]] = status.get("marks", {})
    saved_at = float(status.get("updated", 0) or 0)
    for segment in segments(root):
        mark = marks.get(segment.source)
        if mark is None:
            if float(read_header(segment.path).get("created", 0)) <= saved_at:
                continue  # older than the save: already counted
            start = 0
        else:
            seq, size = int(mark[0]), int(mark[1])
            if segment.seq < seq:
                continue
            start = size if segment.seq == seq else 0
        for entry in read_entries(segment.path, with_payload=False):
            if entry.offset < start or "l" not in entry.header:
                continue
            listener = counts.setdefault(str(entry.header["l"]), dict.fromkeys(FIELDS, 0))
            listener["received"] += entry.records
            listener["spooled"] += entry.records
    return counts
