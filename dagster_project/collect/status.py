"""What `siem collect status` reports: per listener and per source, from the spool's own files.

Listeners' counters come from SPOOL/receiver.json (written every second by the receiver), ingestion's
from each source's ledger (written by the spool-ingestion runs), the rest from the segments on disk.
Nothing here needs the cluster, so the status is there when OpenSearch is not.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from dagster_project.collect.spool import LEDGER_FILE, STATUS_FILE, read_header, read_json, segments


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def collect_status(root: Path, max_bytes: int, now: float | None = None) -> dict[str, Any]:
    """The status object: `receiver`, `listeners`, `sources` and `spool`."""
    now = time.time() if now is None else now
    receiver = read_json(root / STATUS_FILE)
    pid = int(receiver.get("pid", 0) or 0)
    running = bool(receiver.get("running")) and pid > 0 and _alive(pid)
    listeners = receiver.get("listeners", [])
    sources: dict[str, dict[str, Any]] = {}

    def source(name: str) -> dict[str, Any]:
        return sources.setdefault(
            name,
            {
                "received": 0,
                "spooled": 0,
                "dropped": 0,
                "ingested": 0,
                "quarantined": 0,
                "duplicates": 0,
                "spool_bytes": 0,
                "segments_open": 0,
                "segments_sealed": 0,
                "oldest_unsealed_seconds": None,
                "oldest_sealed_seconds": None,
            },
        )

    for listener in listeners:
        if listener.get("source", "*") != "*":
            entry = source(listener["source"])
            for key in ("received", "spooled", "dropped"):
                entry[key] += int(listener.get(key, 0))
    total = 0
    for segment in segments(root):
        entry = source(segment.source)
        try:
            stat = segment.path.stat()
        except FileNotFoundError:
            continue
        entry["spool_bytes"] += stat.st_size
        total += stat.st_size
        if segment.sealed:
            entry["segments_sealed"] += 1
            age = now - stat.st_mtime
            entry["oldest_sealed_seconds"] = round(max(entry["oldest_sealed_seconds"] or 0, age), 1)
        else:
            entry["segments_open"] += 1
            age = now - float(read_header(segment.path).get("created", stat.st_mtime))
            entry["oldest_unsealed_seconds"] = round(max(entry["oldest_unsealed_seconds"] or 0, age), 1)
    if root.is_dir():
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            ledger = read_json(directory / LEDGER_FILE)
            if ledger:
                entry = source(directory.name)
                for key in ("ingested", "quarantined", "duplicates"):
                    entry[key] = int(ledger.get(key, 0))
    http = [item for item in listeners if item.get("transport") == "http"]
    if http:
        # HTTP batches name their source in the URL: its records are counted per source from the spool side.
        for item in http:
            item["source"] = "<from the URL>"
    return {
        "receiver": {
            "running": running,
            "pid": pid or None,
            "updated_seconds_ago": round(now - float(receiver["updated"]), 1) if receiver.get("updated") else None,
        },
        "listeners": listeners,
        "sources": dict(sorted(sources.items())),
        "spool": {"dir": str(root), "bytes": total, "max_bytes": max_bytes, "full": total >= max_bytes},
    }
