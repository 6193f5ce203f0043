"""Where a TCP connection stands on disk: the stream offset accounted for, and the partial frame after it.

The receiver takes off a connection every byte it has peeked, partial frame included: a partial frame left
unread in the kernel pins its socket buffer (a 93-byte tail can hold a 128 KiB loopback skb), the kernel
then advertises a zero window and the sender can never send the rest of that frame. Bytes of a frame not
yet complete are therefore kept here, before they are consumed: with the spool's entries (complete
frames, each tagged with the stream offset it reaches) the cursor accounts for every byte consumed, so a
receiver that adopts the connection after a crash knows exactly what to skip and what to prepend.

One small file per live connection (SPOOL/.connections/<id>), written in place with two alternating slots
(sequence number and CRC each), so a write torn by SIGKILL leaves the previous slot intact. It is not
fsynced: it has to outlive the receiver process, not the machine (a connection does not survive a reboot).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dagster_project.sources.readers import MAX_LINE_BYTES

DIRECTORY = ".connections"
_SLOT = struct.Struct("<2sQQII")
"""magic, sequence, stream offset, length of the framer state + carry, CRC of them."""
_MAGIC = b"SC"
SLOT_BYTES = _SLOT.size + 256 + MAX_LINE_BYTES + 64
"""Room for the header, the framer state and the longest partial frame the framer keeps."""


@dataclass
class Cursor:
    """A connection's offset, partial frame (`carry`) and framer state, as last saved."""

    offset: int = 0
    carry: bytes = b""
    framer: dict[str, Any] = field(default_factory=dict)


class CursorFile:
    """The cursor of one connection on disk."""

    def __init__(self, root: Path, conn_id: str) -> None:
        directory = root / DIRECTORY
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / conn_id
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        self._seq = 0
        self.load()  # go on numbering after what is there

    def load(self) -> Cursor | None:
        """The newest whole slot, or None when nothing was saved."""
        best: tuple[int, Cursor] | None = None
        for slot in (0, 1):
            found = _read_slot(os.pread(self._fd, SLOT_BYTES, slot * SLOT_BYTES))
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        if best is None:
            return None
        self._seq = best[0]
        return best[1]

    def save(self, offset: int, carry: bytes, framer: dict[str, Any]) -> None:
        """Record that everything before `offset` is accounted for: in the spool, or in `carry`."""
        self._seq += 1
        body = orjson.dumps(framer) + b"\n" + carry
        crc = zlib.crc32(body, offset & 0xFFFFFFFF)
        os.pwrite(self._fd, _SLOT.pack(_MAGIC, self._seq, offset, len(body), crc) + body, (self._seq % 2) * SLOT_BYTES)

    def remove(self) -> None:
        """The connection is finished: forget its cursor."""
        os.close(self._fd)
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the file, keeping it (the connection lives on in the supervisor)."""
        os.close(self._fd)


def _read_slot(data: bytes) -> tuple[int, Cursor] | None:
    if len(data) < _SLOT.size:
        return None
    magic, seq, offset, length, crc = _SLOT.unpack_from(data)
    body = data[_SLOT.size : _SLOT.size + length]
    if magic != _MAGIC or len(body) != length or zlib.crc32(body, offset & 0xFFFFFFFF) != crc:
        return None
    state, _, carry = body.partition(b"\n")
    return seq, Cursor(offset, carry, orjson.loads(state))


def stale_cursors(root: Path, live: set[str]) -> list[Path]:
    """Cursor files of connections that are gone (not among `live`)."""
    directory = root / DIRECTORY
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.name not in live]
