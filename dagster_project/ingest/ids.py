"""Deterministic document ids: the same record from the same source always gets the same id."""

from __future__ import annotations

import hashlib


def event_id(source: str, original: str) -> str:
    """Id of an event: SHA-256 over the source name and the raw record, hex, 32 chars (128 bits)."""
    return hashlib.sha256(f"{source}\x1f{original}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def quarantine_id(source: str, raw: str, reason: str) -> str:
    """Id of a quarantined record: the same bad record with the same reason is stored once."""
    return hashlib.sha256(f"{source}\x1f{reason}\x1f{raw}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def content_hash(original: str) -> str:
    """SHA-256 of the raw record (kept in `siem.content_hash` for tamper evidence)."""
    return hashlib.sha256(original.encode("utf-8", "surrogateescape")).hexdigest()
