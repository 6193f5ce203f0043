"""The event model shared by every source: `Event` (parsed, ECS) or `Rejected` (with a reason)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from ipaddress import IPv6Address, ip_address
from typing import Any, BinaryIO, Protocol

from pydantic import BaseModel, ConfigDict, field_validator

MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
"""English month abbreviations (syslog and Apache timestamps) to month numbers."""

MAX_LINE_BYTES = 1_048_576
"""Longest raw record accepted; longer ones are rejected (quarantined with a truncated copy)."""


class Event(BaseModel):
    """One normalised event: an ECS document plus its UTC timestamp and the original text."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime
    """Event time, timezone-aware, in UTC."""
    original: str
    """The raw record exactly as read (kept as `event.original` for forensics)."""
    fields: dict[str, Any]
    """Nested ECS fields (e.g. {"user": {"name": "root"}}), without `@timestamp` and `event.original`."""

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        return value.astimezone(UTC)

    def document(self) -> dict[str, Any]:
        """The document to index: the ECS fields with `@timestamp` and `event.original` added."""
        doc = dict(self.fields)
        event = dict(doc.get("event") or {})
        event["original"] = self.original
        doc["event"] = event
        doc["@timestamp"] = self.timestamp.isoformat().replace("+00:00", "Z")
        return doc


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not become an event; it is quarantined, never dropped."""

    reason: str
    line_no: int
    raw: str


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One unit read from an input: a line (or a JSON record / evtx record) with its position."""

    line_no: int
    """1-based line number, or record number for formats that are not line-based."""
    offset: int
    """Byte offset of the record in the (decompressed) stream; -1 where unknown (evtx)."""
    text: str
    error: str | None = None
    """Set by the reader when the bytes could not be made into text (bad encoding, too long)."""


class SourceParser(Protocol):
    """What every source module provides through the registry; `parse` never raises on bad input."""

    name: str

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into raw records, streaming, in constant memory."""
        ...

    def parse(self, record: RawRecord) -> Event | Rejected:
        """Turn one raw record into an ECS event, or a reject with a reason (a flagged record is rejected
        with the reader's reason); implementations wrap their work in `guarded_parse`."""
        ...


def iter_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[RawRecord]:
    """Yield the lines of a binary stream as text records, streaming; never holds more than one line.

    Lines are decoded as UTF-8; invalid bytes are replaced and marked in `error` only when the
    line is not decodable at all as UTF-8 (latin-1 bytes are decoded as latin-1 and kept).
    Lines longer than `max_bytes` are returned with an `error` and a truncated text.
    Blank lines are skipped but counted in line numbers.
    """
    offset = 0
    line_no = 0
    while True:
        chunk = stream.readline(max_bytes + 1)
        if not chunk:
            return
        line_no += 1
        start = offset
        offset += len(chunk)
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            # Drain the rest of the over-long line without keeping it.
            while True:
                rest = stream.readline(max_bytes)
                if not rest:
                    break
                offset += len(rest)
                if rest.endswith(b"\n"):
                    break
            text = chunk[:4096].decode("utf-8", errors="replace")
            yield RawRecord(line_no, start, text, error=f"line longer than {max_bytes} bytes")
            continue
        raw = chunk.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if "\x00" in text:
            yield RawRecord(line_no, start, text.replace("\x00", "\\x00"), error="binary data (NUL bytes)")
            continue
        yield RawRecord(line_no, start, text)


@lru_cache(maxsize=8192)
def canonical_ip(value: str) -> str | None:
    """The canonical text of an IP address, or None when `value` is not one (or has a zone id)."""
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.scope_id:
        return None
    return str(address)


def guarded_parse(record: RawRecord, parse: Callable[[RawRecord], Event | Rejected], source: str) -> Event | Rejected:
    """The one wrapper every source's `parse` uses: a record the reader flagged is rejected with that
    reason, and an exception inside `parse` (a parser bug or an unforeseen shape) becomes a reject, so a
    bad record is quarantined instead of stopping the run."""
    if record.error is not None:
        return Rejected(record.error, record.line_no, record.text)
    try:
        return parse(record)
    except Exception as exc:  # noqa: BLE001  (never raise: quarantine the record with the reason)
        return Rejected(
            f"internal error in the {source} parser: {type(exc).__name__}: {exc}", record.line_no, record.text
        )


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `value` at a dotted ECS path in a nested dict, creating intermediate objects."""
    keys = dotted.split(".")
    node = doc
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def get_path(doc: dict[str, Any], dotted: str) -> Any:
    """Read a dotted ECS path from a nested dict; None when any part is missing."""
    node: Any = doc
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a parser may know about its input besides the records: used e.g. for the syslog year rule."""

    path: str
    reference_time: datetime
    """When the file was last written (its mtime, UTC); RFC 3164 timestamps have no year."""
