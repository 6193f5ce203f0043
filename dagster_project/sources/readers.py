"""Readers that split a (decompressed) binary stream into `RawRecord`s: lines, or JSON records in any layout.

They stream in constant memory and never raise on bad bytes: what cannot be read becomes a record
with `error` set, which the source's parse guard turns into a reject.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import ijson

from dagster_project.sources.base import RawRecord
from dagster_project.sources.values import compact_json

MAX_LINE_BYTES = 1_048_576
"""Longest raw record accepted; longer ones are rejected (quarantined with a truncated copy)."""

_HEAD_BYTES = 65_536
BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte order mark some Windows tools write at the start of a file; it is not part of a record."""


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
    shift = len(BOM) if head.startswith(BOM) else 0
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


def lines_without_bom(stream: BinaryIO) -> Iterator[RawRecord]:
    """`guarded_lines` after a leading UTF-8 BOM, which is skipped (offsets still count its bytes)."""
    try:
        head = stream.read(len(BOM))
    except (OSError, EOFError, ValueError) as exc:
        yield RawRecord(1, -1, "", error=f"read failed: {exc}")
        return
    if head == BOM:
        yield from guarded_lines(stream, shift=len(BOM))
    else:
        yield from guarded_lines(cast(BinaryIO, _Replay(head, stream)))
