"""Syslog over a byte stream (RFC 6587): octet-counted or LF-terminated frames, detected per connection.

Pure: `Framer.split` is handed the bytes of a connection not yet framed and says which complete frames
they start with and how many bytes those take; the caller keeps the rest (a partial frame) and hands it
back, followed by what arrives next. `state`/`restore` carry the framer across a receiver restart.
The framing is chosen by the first frame of a connection: a digit followed by digits and a space is octet
counting (``MSG-LEN SP SYSLOG-MSG``), anything else (normally ``<PRI>``) is LF-terminated
("non-transparent framing"). An octet-counted connection whose next frame does not start with a valid
length falls back to LF for that frame instead of losing the rest. Frames over `max_frame` bytes are cut
to their first bytes and flagged, never buffered whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagster_project.sources.readers import MAX_LINE_BYTES

KEPT_OF_OVERSIZED = 4096
"""Bytes of an over-long frame kept (and quarantined) with its error."""
_MAX_DIGITS = len(str(MAX_LINE_BYTES)) + 2


@dataclass(frozen=True, slots=True)
class Frame:
    """One syslog message as received, or the start of one that could not be kept whole (`error` set)."""

    data: bytes
    error: str | None = None


class Framer:
    """Per-connection framing state: the detected mode, and bytes still to skip of an over-long frame."""

    def __init__(self, max_frame: int = MAX_LINE_BYTES) -> None:
        self.max_frame = max_frame
        self.mode: str | None = None
        """`octet` or `lf` once the first frame has been seen."""
        self._skip = 0
        self._discard_line = False

    def state(self) -> dict[str, Any]:
        """What `restore` needs to go on framing where this framer stands (between two `split` calls)."""
        return {"mode": self.mode, "skip": self._skip, "discard": self._discard_line}

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from a `state()` saved by an earlier framer of the same connection."""
        mode = state.get("mode")
        self.mode = mode if mode in ("octet", "lf") else None
        self._skip = int(state.get("skip", 0))
        self._discard_line = bool(state.get("discard", False))

    def split(self, data: bytes) -> tuple[list[Frame], int]:
        """The complete frames at the start of `data` and the number of bytes they take (consume exactly those)."""
        frames: list[Frame] = []
        pos = 0
        size = len(data)
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            if self._discard_line:
                newline = data.find(b"\n", pos)
                if newline < 0:
                    return frames, size
                self._discard_line = False
                pos = newline + 1
                continue
            first = data[pos]
            if first in b"\r\n ":
                pos += 1  # stray delimiters between frames
                continue
            if self.mode != "lf" and 0x31 <= first <= 0x39:
                used = self._octet_frame(data, pos, frames)
                if used == 0:
                    return frames, pos
                if used > 0:
                    self.mode = "octet"
                    pos += used
                    continue
            self.mode = self.mode or "lf"
            used = self._lf_frames(data, pos, frames)
            if used == 0:
                return frames, pos
            pos += used
        return frames, pos

    def finish(self, rest: bytes) -> list[Frame]:
        """What the bytes left when the peer closed the connection are: a last unterminated line, or a cut frame."""
        if self._skip or self._discard_line or not rest.strip(b"\r\n "):
            return []
        if self.mode == "octet":
            return [
                Frame(rest[:KEPT_OF_OVERSIZED], f"connection closed inside an octet-counted frame ({len(rest)} bytes)")
            ]
        return [self._line(rest.rstrip(b"\r\n"))]

    def _octet_frame(self, data: bytes, pos: int, frames: list[Frame]) -> int:
        """Bytes used by an octet-counted frame at `pos`; 0 = incomplete, -1 = not an octet-counted frame."""
        space = data.find(b" ", pos, pos + _MAX_DIGITS)
        if space < 0:
            if len(data) - pos < _MAX_DIGITS and data[pos:].isdigit():
                return 0
            return -1
        digits = data[pos:space]
        if not digits.isdigit():
            return -1
        length = int(digits)
        start = space + 1
        if length > self.max_frame:
            kept = data[start : start + min(length, KEPT_OF_OVERSIZED)]
            if len(kept) < min(length, KEPT_OF_OVERSIZED):
                return 0
            frames.append(Frame(kept, f"frame longer than {self.max_frame} bytes ({length})"))
            available = len(data) - start
            self._skip = length - min(length, available)
            return start - pos + min(length, available)
        end = start + length
        if end > len(data):
            return 0
        frames.append(self._line(data[start:end].rstrip(b"\r\n")))
        return end - pos

    def _lf_frames(self, data: bytes, pos: int, frames: list[Frame]) -> int:
        """Bytes used by the LF-terminated frames from `pos` (all of them in LF mode, one in octet mode)."""
        last = data.rfind(b"\n", pos) if self.mode == "lf" else data.find(b"\n", pos)
        if last < 0:
            if len(data) - pos > self.max_frame:
                frames.append(Frame(data[pos : pos + KEPT_OF_OVERSIZED], f"line longer than {self.max_frame} bytes"))
                self._discard_line = True
                return len(data) - pos
            return 0
        for line in data[pos:last].split(b"\n"):
            line = line.rstrip(b"\r")
            if line.strip():
                frames.append(self._line(line))
        return last + 1 - pos

    def _line(self, line: bytes) -> Frame:
        if len(line) > self.max_frame:
            return Frame(line[:KEPT_OF_OVERSIZED], f"line longer than {self.max_frame} bytes")
        return Frame(line)
