"""JSON lines that are already ECS documents, plus the JSON reading helpers the JSON-based sources share."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, cast

import ijson

from dagster_project.sources.base import (
    MAX_LINE_BYTES,
    Event,
    RawRecord,
    Rejected,
    SourceContext,
    SourceParser,
    guarded_parse,
    iter_lines,
)

NAME = "jsonl"

_HEAD_BYTES = 65_536
_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def load_json_object(text: str) -> dict[str, Any] | str:
    """Decode one JSON object; on failure return the reason as a string instead of raising."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return f"JSON value is {_json_type(value)}, expected an object"
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def compact_json(value: Any) -> str:
    """Serialise a JSON value compactly with sorted keys, so equal records give equal text."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def parse_timestamp(value: str, *, naive_is_utc: bool = True) -> datetime | None:
    """Parse an ISO 8601 timestamp to an aware UTC datetime; None when it is not one.

    Fractions finer than microseconds are truncated. A timestamp without an offset is taken as
    UTC when `naive_is_utc` (OpenSearch does the same), else None is returned.
    """
    if not 8 <= len(value) <= 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        trimmed = _FRACTION.sub(r"\1", value)
        if trimmed == value:
            return None
        try:
            parsed = datetime.fromisoformat(trimmed)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            return None
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def epoch_millis(value: float) -> datetime | None:
    """Epoch milliseconds (OpenSearch's numeric date format) as a UTC datetime; None if out of range."""
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        return None


class _Replay:
    """A read-only binary stream that replays an already-read head before the rest of the stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._pos = 0
        self._stream = stream
        self.consumed = 0
        """Bytes handed out so far (an upper bound of where a streaming parser is)."""

    def read(self, size: int | None = -1) -> bytes:
        if self._pos < len(self._head):
            if size is None or size < 0:
                data = self._head[self._pos :] + self._stream.read()
            else:
                data = self._head[self._pos : self._pos + size]
            self._pos += min(len(data), len(self._head) - self._pos)
        else:
            data = self._stream.read(-1 if size is None else size)
        self.consumed += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        if self._pos >= len(self._head):
            data = self._stream.readline(limit)
        else:
            end = self._head.find(b"\n", self._pos)
            stop = len(self._head) if end < 0 else end + 1
            if limit >= 0:
                stop = min(stop, self._pos + limit)
            data = self._head[self._pos : stop]
            self._pos = stop
            if not data.endswith(b"\n") and self._pos >= len(self._head):
                rest = limit - len(data) if limit >= 0 else -1
                if rest != 0:
                    data += self._stream.readline(rest)
        self.consumed += len(data)
        return data


def _first_line_opens_document(body: bytes) -> bool:
    """True when the data looks like one pretty-printed JSON document rather than JSON lines."""
    newline = body.find(b"\n")
    if newline < 0:
        return False
    first = body[:newline].strip()
    if first in (b"{", b"["):
        return True
    if not first.endswith((b"{", b"[")):
        return False
    try:
        json.loads(first)
    except ValueError:
        return True
    return False


def _ijson_error(exc: BaseException) -> str:
    """yajl's messages span lines with a caret; keep the message and the text around the error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("(right here)")]
    if not lines:
        return type(exc).__name__
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} near {lines[1]!r}"


def _record_from_value(line_no: int, value: Any, max_bytes: int) -> RawRecord:
    text = compact_json(value)
    if len(text) > max_bytes // 4 and len(text.encode("utf-8")) > max_bytes:
        return RawRecord(line_no, -1, text[:4096], error=f"record longer than {max_bytes} bytes")
    return RawRecord(line_no, -1, text)


def _iter_items(
    stream: BinaryIO, head: bytes, prefix: str, multiple: bool, max_bytes: int, start: int | None
) -> Iterator[RawRecord]:
    """Stream the JSON values at `prefix` with ijson, re-serialised; a parse error ends with an error record.

    `head` is what was already read from `stream` (without a BOM); `start` is where the JSON text
    begins in `stream` when it can be rewound.
    """
    reader = _Replay(head, stream)
    count = 0
    backend: Any = ijson
    while True:
        try:
            for value in backend.items(reader, prefix, use_float=True, multiple_values=multiple):
                count += 1
                yield _record_from_value(count, value, max_bytes)
            return
        except ijson.JSONError as exc:
            # The C backend cannot hold integers beyond 64 bits; redo the file with the pure-Python
            # backend (skipping what was already yielded) when the stream can be rewound.
            if "integer overflow" in str(exc) and backend is ijson and start is not None:
                stream.seek(start)
                reader = _Replay(b"", stream)
                backend = ijson.get_backend("python")
                yield from _skip(
                    backend.items(reader, prefix, use_float=True, multiple_values=multiple),
                    count,
                    max_bytes,
                    reader,
                )
                return
            yield RawRecord(
                count + 1,
                -1,
                "",
                error=f"invalid JSON after record {count} (within the first {reader.consumed} bytes): "
                f"{_ijson_error(exc)}",
            )
            return
        except (OSError, EOFError, ValueError) as exc:
            yield RawRecord(count + 1, -1, "", error=f"read failed after record {count}: {exc}")
            return


def _skip(values: Iterator[Any], already: int, max_bytes: int, reader: _Replay) -> Iterator[RawRecord]:
    count = 0
    try:
        for value in values:
            count += 1
            if count > already:
                yield _record_from_value(count, value, max_bytes)
    except ijson.JSONError as exc:
        yield RawRecord(
            count + 1,
            -1,
            "",
            error=f"invalid JSON after record {count} (within the first {reader.consumed} bytes): {_ijson_error(exc)}",
        )
    except (OSError, EOFError, ValueError) as exc:
        yield RawRecord(count + 1, -1, "", error=f"read failed after record {count}: {exc}")


def _tell(stream: BinaryIO) -> int | None:
    try:
        return stream.tell() if stream.seekable() else None
    except (OSError, AttributeError, ValueError):
        return None


def guarded_lines(stream: BinaryIO, max_bytes: int = MAX_LINE_BYTES, shift: int = 0) -> Iterator[RawRecord]:
    """`iter_lines`, but a read failure (e.g. a truncated gzip member) ends with an error record."""
    line_no = 0
    try:
        for record in iter_lines(stream, max_bytes):
            line_no = record.line_no
            if shift:
                record = RawRecord(record.line_no, record.offset + shift, record.text, record.error)
            yield record
    except (OSError, EOFError, ValueError) as exc:
        yield RawRecord(line_no + 1, -1, "", error=f"read failed after line {line_no}: {exc}")


def iter_json_records(
    stream: BinaryIO, *, envelope_key: str | None = None, max_bytes: int = MAX_LINE_BYTES
) -> Iterator[RawRecord]:
    """Split a JSON stream into records, streaming, whatever its layout.

    Peeks at the start (never the whole stream) to choose: an envelope object whose `envelope_key`
    array holds the records (CloudTrail's `{"Records": [...]}`), a top-level array, one or more
    pretty-printed documents, or JSON lines (the default, also for anything unrecognisable, so that
    every line is rejected with its own reason). Non-line records carry their re-serialised text,
    their 1-based position as `line_no` and offset -1; a broken document ends with one error record.
    """
    start = _tell(stream)
    try:
        head = stream.read(_HEAD_BYTES)
    except (OSError, EOFError, ValueError) as exc:
        yield RawRecord(1, -1, "", error=f"read failed: {exc}")
        return
    shift = len(_BOM) if head.startswith(_BOM) else 0
    head = head[shift:]
    if start is not None:
        start += shift
    body = head.lstrip()
    if body.startswith(b"["):
        yield from _iter_items(stream, head, "item", False, max_bytes, start)
    elif body.startswith(b"{") and envelope_key and _opens_envelope(body, envelope_key):
        yield from _iter_items(stream, head, f"{envelope_key}.item", False, max_bytes, start)
    elif body.startswith(b"{") and _first_line_opens_document(body):
        yield from _iter_items(stream, head, "", True, max_bytes, start)
    else:
        yield from guarded_lines(cast(BinaryIO, _Replay(head, stream)), max_bytes, shift)


def _opens_envelope(body: bytes, key: str) -> bool:
    pattern = rb'\{\s*"' + re.escape(key.encode()) + rb'"\s*:\s*\['
    return re.match(pattern, body) is not None


def expand_dotted(node: dict[str, Any], where: str = "") -> dict[str, Any] | str:
    """Expand dotted keys (`{"user.name": x}`) into nested objects, recursively; a conflict is a reason."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            expanded = expand_dotted(value, f"{where}{key}.")
            if isinstance(expanded, str):
                return expanded
            value = expanded
        elif isinstance(value, list):
            items: list[Any] = []
            for item in value:
                if isinstance(item, dict):
                    expanded = expand_dotted(item, f"{where}{key}.")
                    if isinstance(expanded, str):
                        return expanded
                    item = expanded
                items.append(item)
            value = items
        parts = key.split(".")
        if any(part == "" for part in parts):
            return f"invalid field name {where + key!r}"
        target = out
        for i, part in enumerate(parts[:-1]):
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                return f"field {where + key!r} conflicts with the value of {where + '.'.join(parts[: i + 1])!r}"
            target = child
        leaf = parts[-1]
        if leaf in target:
            merged = _merge(target[leaf], value)
            if merged is None:
                return f"field {where + key!r} is given twice (dotted and nested)"
            value = merged
        target[leaf] = value
    return out


def has_odd_key(node: dict[str, Any]) -> bool:
    """True when a key anywhere in the object is dotted or empty (so `expand_dotted` must run)."""
    for key, value in node.items():
        if not key or "." in key:
            return True
        if type(value) is dict:
            if has_odd_key(value):
                return True
        elif type(value) is list:
            for item in value:
                if type(item) is dict and has_odd_key(item):
                    return True
    return False


def _merge(old: Any, new: Any) -> dict[str, Any] | None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None
    merged = dict(old)
    for key, value in new.items():
        if key in merged:
            inner = _merge(merged[key], value)
            if inner is None:
                return None
            value = inner
        merged[key] = value
    return merged


class JsonlParser:
    """Parser for JSON lines that already are ECS documents: validated and passed through."""

    name = NAME

    def __init__(self, context: SourceContext) -> None:
        self._context = context

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """One record per line (blank lines skipped, a leading BOM ignored), streaming."""
        try:
            head = stream.read(len(_BOM))
        except (OSError, EOFError, ValueError) as exc:
            yield RawRecord(1, -1, "", error=f"read failed: {exc}")
            return
        if head == _BOM:
            yield from guarded_lines(stream, shift=len(_BOM))
        else:
            yield from guarded_lines(cast(BinaryIO, _Replay(head, stream)))

    def parse(self, record: RawRecord) -> Event | Rejected:
        """Validate one ECS JSON line and pass it through; `event.original` becomes the line."""
        return guarded_parse(record, self._parse, "jsonl")

    def _parse(self, record: RawRecord) -> Event | Rejected:
        obj = load_json_object(record.text)
        if isinstance(obj, str):
            return Rejected(obj, record.line_no, record.text)
        # Most lines have no dotted key at all: a read-only walk spares rebuilding every object.
        fields = expand_dotted(obj) if has_odd_key(obj) else obj
        if isinstance(fields, str):
            return Rejected(fields, record.line_no, record.text)
        if "@timestamp" not in fields:
            return Rejected("missing @timestamp", record.line_no, record.text)
        raw_ts = fields.pop("@timestamp")
        timestamp = _ecs_timestamp(raw_ts)
        if timestamp is None:
            return Rejected(f"unparseable @timestamp {raw_ts!r}"[:300], record.line_no, record.text)
        for key in fields:
            if key.startswith("_"):
                return Rejected(f"field {key!r} is reserved for OpenSearch metadata", record.line_no, record.text)
        event = fields.get("event")
        if event is not None and not isinstance(event, dict):
            return Rejected(f"field 'event' must be an object, got {_json_type(event)}", record.line_no, record.text)
        if isinstance(event, dict) and "original" in event:
            fields["event"] = {k: v for k, v in event.items() if k != "original"}
        return Event(timestamp=timestamp, original=record.text, fields=fields)


def _ecs_timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        return parse_timestamp(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_millis(value)
    return None


def make_parser(context: SourceContext) -> SourceParser:
    """Build the jsonl parser."""
    return JsonlParser(context)
