"""Deterministic document ids: the same record from the same source always gets the same id."""

from __future__ import annotations

import hashlib
from collections import deque

from dagster_project.ids import stable_id


def event_id(source: str, original: str, occurrence: int = 0, *, scope: str = "") -> str:
    """Id of an event: SHA-256 over the source name, the raw record, its repeat number and scope, hex, 32 chars.

    `occurrence` tells apart identical lines that really are separate events (a scanner sending the same
    request thrice in one second); it is counted within a file, so re-reading the file gives the same ids.
    `scope` (empty for files) is where a received record came from and how its occurrence was counted:
    see `dagster_project.collect.identity`.
    """
    suffix = f"\x1e{occurrence}" if occurrence else ""
    if scope:
        suffix += f"\x1d{scope}"
    return stable_id(source, f"{original}{suffix}")


def quarantine_id(source: str, raw: str, reason: str) -> str:
    """Id of a quarantined record: the same bad record with the same reason is stored once."""
    return stable_id(source, reason, raw)


def content_hash(original: str) -> str:
    """SHA-256 of the raw record (kept in `siem.content_hash` for tamper evidence)."""
    return hashlib.sha256(original.encode("utf-8", "surrogateescape")).hexdigest()


class RepeatCounter:
    """Counts how often each record was already seen among the last `window` records of a file (bounded memory)."""

    def __init__(self, window: int = 10_000) -> None:
        self._window = window
        self._recent: deque[bytes] = deque()
        self._counts: dict[bytes, int] = {}

    def occurrence(self, original: str | bytes) -> int:
        """0 for the first time a record is seen within the window, 1 for its first repeat, and so on."""
        data = original if isinstance(original, bytes) else original.encode("utf-8", "surrogateescape")
        key = hashlib.blake2b(data, digest_size=16).digest()
        seen = self._counts.get(key, 0)
        self._counts[key] = seen + 1
        self._recent.append(key)
        if len(self._recent) > self._window:
            old = self._recent.popleft()
            left = self._counts[old] - 1
            if left:
                self._counts[old] = left
            else:
                del self._counts[old]
        return seen
