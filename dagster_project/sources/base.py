"""The event model shared by every source (`Event` or `Rejected`) and the shape of a parser (`GuardedParser`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class Event:
    """One normalised event: an ECS document plus its UTC timestamp and the original text.

    Validated on construction: the timestamp must be timezone-aware and is kept in UTC. A slotted
    dataclass rather than a pydantic model: it is made once per record, and pydantic's validation
    (which copied `fields`) was a tenth of a linux-auth record's parse cost.
    """

    timestamp: datetime
    """Event time, timezone-aware, in UTC."""
    original: str
    """The raw record exactly as read (kept as `event.original` for forensics)."""
    fields: dict[str, Any]
    """Nested ECS fields (e.g. {"user": {"name": "root"}}), without `@timestamp` and `event.original`."""

    def __post_init__(self) -> None:
        timestamp = self.timestamp
        if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
            raise ValueError(f"timestamp must be a timezone-aware datetime, got {timestamp!r}")
        if not isinstance(self.original, str) or not isinstance(self.fields, dict):
            raise TypeError("original must be a str and fields a dict")
        if timestamp.tzinfo is not UTC:
            object.__setattr__(self, "timestamp", timestamp.astimezone(UTC))

    def document(self) -> dict[str, Any]:
        """The document to index: the ECS fields with `@timestamp` and `event.original` added."""
        doc = dict(self.fields)
        event = dict(doc.get("event") or {})
        event["original"] = self.original
        doc["event"] = event
        doc["@timestamp"] = iso_utc(self.timestamp)
        return doc


def iso_utc(value: datetime) -> str:
    """A UTC datetime as ISO 8601 with `Z` (`2024-03-27T13:06:56Z`, microseconds only when set).

    The same text as `value.isoformat().replace("+00:00", "Z")`, made by orjson at a fifth of the cost.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()
    except TypeError:  # a datetime subclass orjson does not serialise
        return value.isoformat().replace("+00:00", "Z")


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


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a parser may know about its input besides the records: used e.g. for the syslog year rule."""

    path: str
    reference_time: datetime
    """When the file was last written (its mtime, UTC); RFC 3164 timestamps have no year."""


class SourceParser(Protocol):
    """What every source module provides through the registry; `parse` never raises on bad input."""

    name: str

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into raw records, streaming, in constant memory."""
        ...

    def parse(self, record: RawRecord) -> Event | Rejected:
        """Turn one raw record into an ECS event, or a reject with a reason (a flagged record is rejected
        with the reader's reason); implementations subclass `GuardedParser`."""
        ...


INTERNAL_ERROR = "internal error in the {source} parser"
"""How the reason of a reject made from a parser crash begins; a parser bug, never bad input."""


NESTED_TOO_DEEPLY = "nested too deeply"
"""How the reason of a record begins whose nesting exhausted the interpreter's stack (in parsing or serialising)."""


def is_internal_error(result: Event | Rejected) -> bool:
    """True for a reject that `GuardedParser.parse` made from a crash: what tests of a parser must never see."""
    return isinstance(result, Rejected) and result.reason.startswith(INTERNAL_ERROR.partition("{")[0])


class GuardedParser(ABC):
    """The shape of every source's parser: `parse` runs the source's `parse_record` inside the one guard."""

    name: str
    """The source's name, as its spec declares it (it names the source in internal-error rejects)."""

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    @abstractmethod
    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into raw records, streaming, in constant memory."""

    def parse(self, record: RawRecord) -> Event | Rejected:
        """The one guard of every source: a record the reader flagged is rejected with that reason, and an
        exception inside `parse_record` (a parser bug or an unforeseen shape) becomes a reject naming the
        source, so a bad record is quarantined instead of stopping the run; running out of stack is input
        nested too deeply, said so. Never raises."""
        if record.error is not None:
            return Rejected(record.error, record.line_no, record.text)
        try:
            return self.parse_record(record)
        except RecursionError:  # input nested deeper than the interpreter's stack: bad input, not a parser bug
            return Rejected(f"{NESTED_TOO_DEEPLY} for the {self.name} parser", record.line_no, record.text)
        except Exception as exc:  # noqa: BLE001  (never raise: quarantine the record with the reason)
            reason = f"{INTERNAL_ERROR.format(source=self.name)}: {type(exc).__name__}: {exc}"
            return Rejected(reason, record.line_no, record.text)

    @abstractmethod
    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """The source's own work on one unflagged record; may raise only on a parser bug."""


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
