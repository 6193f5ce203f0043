"""The durable spool: what the receivers accepted, on local disk, in segments per source, until ingested.

Layout: ``SPOOL/<source>/<seq>.open`` is the segment being appended to; sealing (by size or age) fsyncs it
and renames it to ``<seq>.sealed``, the only state ingestion reads. A segment is deleted (or moved to the
archive) only after the run that ingested it reconciled. Sequence numbers never repeat within a source
(``SEQ`` keeps the last one), so a segment id names one segment for ever: Dagster run keys rely on it.

A segment is a header line and then entries, each ``magic kind flags header_len payload_len crc32`` + a
JSON header + the payload. An entry is what one receiver read in one go: a run of syslog messages from one
connection (``MESSAGES``: the payload is their lengths then their bytes), one datagram, or one HTTP body
(``STREAM``: the payload is read by the source's own reader, like a file). The CRC makes a torn last
entry (a crash mid-write) detectable: recovery cuts it off before sealing, so only whole entries that were
written before the receiver acknowledged anything are kept.

Not thread-safe: one receiver process (one event loop) owns the writing side; ingestion and status only read.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dagster_project.errors import ConfigurationError

log = logging.getLogger(__name__)

FILE_MAGIC = b"SIEMSPOOL1\n"
ENTRY = struct.Struct("<2sBBIII")
ENTRY_MAGIC = b"SE"
MESSAGES = 1
"""Entry kind: syslog messages, one record each."""
STREAM = 2
"""Entry kind: a body in the source's own format (lines, NDJSON, a CloudTrail file), read by its reader."""
OPEN = ".open"
SEALED = ".sealed"
STATUS_FILE = "receiver.json"
LEDGER_FILE = "ledger.json"


def encode_entry(kind: int, header: dict[str, Any], payload: bytes) -> bytes:
    """One entry's bytes: fixed header, JSON header, payload, with a CRC over both."""
    meta = orjson.dumps(header)
    crc = zlib.crc32(payload, zlib.crc32(meta))
    return ENTRY.pack(ENTRY_MAGIC, kind, 0, len(meta), len(payload), crc) + meta + payload


def pack_messages(messages: list[bytes]) -> bytes:
    """The payload of a MESSAGES entry: the count, every length, then the messages back to back."""
    return struct.pack(f"<I{len(messages)}I", len(messages), *map(len, messages)) + b"".join(messages)


def unpack_messages(payload: bytes) -> list[bytes]:
    """The messages of a MESSAGES entry."""
    (count,) = struct.unpack_from("<I", payload)
    lengths = struct.unpack_from(f"<{count}I", payload, 4)
    out = []
    pos = 4 + 4 * count
    for length in lengths:
        out.append(payload[pos : pos + length])
        pos += length
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry read back from a segment, with its byte offset there."""

    offset: int
    end: int
    kind: int
    header: dict[str, Any]
    payload: bytes

    @property
    def records(self) -> int:
        """How many records the receiver counted in it (what it acknowledged)."""
        return int(self.header.get("n", 0))


@dataclass(frozen=True)
class Segment:
    """A segment file: source, id (unique for ever within the spool) and state."""

    source: str
    seq: int
    path: Path

    @property
    def id(self) -> str:
        """`<source>-<seq>`: the run key of its ingestion."""
        return f"{self.source}-{self.seq:012d}"

    @property
    def label(self) -> str:
        """What ingestion records as the events' `siem.file`."""
        return f"spool:{self.source}/{self.seq:012d}"

    @property
    def sealed(self) -> bool:
        """Sealed segments are complete and may be ingested."""
        return self.path.suffix == SEALED

    @classmethod
    def from_path(cls, path: Path) -> Segment | None:
        """The segment a file is, or None for any other file."""
        if path.suffix not in (OPEN, SEALED) or not path.stem.isdigit():
            return None
        return cls(path.parent.name, int(path.stem), path)


def read_header(path: Path) -> dict[str, Any]:
    """A segment's header line (source, seq, created)."""
    with path.open("rb") as handle:
        if handle.read(len(FILE_MAGIC)) != FILE_MAGIC:
            raise ConfigurationError("not a spool segment", where=str(path))
        header: dict[str, Any] = json.loads(handle.readline())
        return header


def read_entries(path: Path, *, with_payload: bool = True) -> Iterator[Entry]:
    """The whole entries of a segment, in order; stops quietly at a torn or corrupt tail."""
    with path.open("rb") as handle:
        if handle.read(len(FILE_MAGIC)) != FILE_MAGIC:
            return
        handle.readline()
        offset = handle.tell()
        while True:
            fixed = handle.read(ENTRY.size)
            if len(fixed) < ENTRY.size:
                return
            magic, kind, _flags, meta_len, payload_len, crc = ENTRY.unpack(fixed)
            if magic != ENTRY_MAGIC:
                return
            meta = handle.read(meta_len)
            if with_payload:
                payload = handle.read(payload_len)
                if len(meta) < meta_len or len(payload) < payload_len or zlib.crc32(payload, zlib.crc32(meta)) != crc:
                    return
            else:
                payload = b""
                handle.seek(payload_len, os.SEEK_CUR)
                if len(meta) < meta_len:
                    return
            try:
                header = orjson.loads(meta)
            except orjson.JSONDecodeError:
                return
            end = offset + ENTRY.size + meta_len + payload_len
            yield Entry(offset, end, kind, header, payload)
            offset = end


def valid_length(path: Path) -> int:
    """Bytes of a segment up to the end of its last whole entry (where a torn tail is cut)."""
    end = 0
    with path.open("rb") as handle:
        if handle.read(len(FILE_MAGIC)) == FILE_MAGIC and handle.readline().endswith(b"\n"):
            end = handle.tell()
    for entry in read_entries(path):
        end = entry.end
    return end


def segments(root: Path, source: str | None = None) -> list[Segment]:
    """Every segment under the spool (or one source's), ordered by source and sequence."""
    found: list[Segment] = []
    if not root.is_dir():
        return found
    dirs = [root / source] if source else sorted(p for p in root.iterdir() if p.is_dir())
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            segment = Segment.from_path(path)
            if segment is not None:
                found.append(segment)
    return sorted(found, key=lambda s: (s.source, s.seq))


def sealed_segments(root: Path) -> list[Segment]:
    """Segments ready for ingestion, oldest first within each source."""
    return [s for s in segments(root) if s.sealed]


def find_segment(root: Path, segment_id: str) -> Segment | None:
    """The sealed segment with this id, or None once it is gone (ingested and removed)."""
    source, _, seq = segment_id.rpartition("-")
    path = root / source / f"{seq}{SEALED}"
    return Segment(source, int(seq), path) if seq.isdigit() and path.exists() else None


def retire(segment: Segment, archive: Path | None) -> None:
    """Remove an ingested segment, or move it under `archive/<source>/`."""
    if archive is not None:
        target = archive / segment.source
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(str(segment.path), target / segment.path.name)
    else:
        segment.path.unlink(missing_ok=True)
    _fsync_dir(segment.path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file written by `write_json_atomically`, or {} when absent or unreadable."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def add_to_ledger(root: Path, source: str, counts: dict[str, int]) -> dict[str, int]:
    """Add an ingestion run's counts to a source's ledger (what `siem collect status` shows); returns the totals."""
    directory = root / source
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ledger = read_json(directory / LEDGER_FILE)
        totals = {key: int(ledger.get(key, 0)) + int(value) for key, value in counts.items()}
        totals.update({k: int(v) for k, v in ledger.items() if k not in totals and isinstance(v, int)})
        write_json_atomically(directory / LEDGER_FILE, totals)
        return totals


@dataclass
class _OpenSegment:
    segment: Segment
    fd: int
    size: int
    created: float
    dirty: bool = False


@dataclass
class Recovered:
    """What recovery found in the segments a previous receiver left open."""

    sealed: list[str] = field(default_factory=list)
    torn_bytes: int = 0
    connection_ends: dict[str, int] = field(default_factory=dict)
    """Per TCP connection id: the stream offset just past the last spooled byte."""
    connection_messages: dict[str, list[bytes]] = field(default_factory=dict)
    """Per TCP connection id: its messages still in those segments, oldest first (to restore repeat counts)."""


class SpoolWriter:
    """Appends entries to one open segment per source; seals by size and age; knows how full the spool is."""

    def __init__(self, root: Path, *, segment_bytes: int, segment_seconds: float, max_bytes: int) -> None:
        self.root = root
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.max_bytes = max_bytes
        self._open: dict[str, _OpenSegment] = {}
        self._last: dict[str, tuple[int, int]] = {}
        root.mkdir(parents=True, exist_ok=True)
        self.usage = self.measure()

    def measure(self) -> int:
        """Bytes of every segment on disk (re-read so segments removed by ingestion free their space)."""
        total = 0
        for segment in segments(self.root):
            try:
                total += segment.path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def refresh_usage(self) -> None:
        """Re-measure the spool (called periodically: ingestion runs in other processes)."""
        self.usage = self.measure()

    def has_room(self, size: int) -> bool:
        """False when appending `size` bytes would take the spool past SIEM_SPOOL_MAX_BYTES."""
        return self.usage + size <= self.max_bytes

    def recover(self) -> Recovered:
        """Seal the segments a previous receiver left open, cutting torn tails; report what TCP resumption needs."""
        found = Recovered()
        for segment in segments(self.root):
            if segment.sealed:
                continue
            for entry in read_entries(segment.path):
                conn = entry.header.get("c")
                if conn is not None:
                    found.connection_ends[conn] = max(found.connection_ends.get(conn, 0), int(entry.header["e"]))
                    found.connection_messages.setdefault(conn, []).extend(unpack_messages(entry.payload))
            keep = valid_length(segment.path)
            size = segment.path.stat().st_size
            if keep < size:
                found.torn_bytes += size - keep
                log.warning("cutting a torn tail of %d bytes off %s", size - keep, segment.path)
                with segment.path.open("r+b") as handle:
                    handle.truncate(keep)
            if not any(True for _ in read_entries(segment.path, with_payload=False)):
                segment.path.unlink()
                continue
            self._seal_path(segment)
            found.sealed.append(segment.id)
        self.usage = self.measure()
        return found

    def append(self, source: str, data: bytes) -> None:
        """Write encoded entries to the source's open segment (opening one if needed); not yet fsynced.

        Never seals: sealing happens between the receiver's callbacks (`seal_due`), so an entry whose
        connection has not yet recorded it (`collect.tcp`) is always in an open segment.
        """
        current = self._open.get(source)
        if current is None:
            current = self._new_segment(source)
        written = os.write(current.fd, data)
        while written < len(data):  # a regular file takes short writes only when the disk fills
            written += os.write(current.fd, data[written:])
        current.size += len(data)
        current.dirty = True
        self.usage += len(data)

    def sync(self) -> None:
        """fsync every open segment written since the last sync."""
        for current in self._open.values():
            if current.dirty:
                os.fsync(current.fd)
                current.dirty = False

    def seal_due(self, now: float | None = None) -> list[str]:
        """Seal the open segments older than SIEM_SPOOL_SEGMENT_SECONDS or larger than _SEGMENT_BYTES; their ids."""
        now = time.time() if now is None else now
        due = [
            s for s, o in self._open.items() if now - o.created >= self.segment_seconds or o.size >= self.segment_bytes
        ]
        return [self._seal(source) for source in due]

    def seal_all(self) -> list[str]:
        """Seal every open segment (on shutdown)."""
        return [self._seal(source) for source in list(self._open)]

    def marks(self) -> dict[str, list[int]]:
        """Per source written by this writer: [seq, bytes] of its newest segment (what was written up to now)."""
        return {source: [seq, size] for source, (seq, size) in self._last.items()} | {
            source: [o.segment.seq, o.size] for source, o in self._open.items()
        }

    def open_state(self) -> dict[str, dict[str, float]]:
        """Per source with an open segment: its bytes and when it was opened."""
        return {s: {"bytes": o.size, "created": o.created} for s, o in self._open.items()}

    def _new_segment(self, source: str) -> _OpenSegment:
        directory = self.root / source
        directory.mkdir(parents=True, exist_ok=True)
        seq_file = directory / "SEQ"
        last = int(seq_file.read_text()) if seq_file.exists() else 0
        on_disk = [s.seq for s in segments(self.root, source)]
        seq = max([last, *on_disk]) + 1
        tmp = directory / ".SEQ.tmp"
        tmp.write_text(str(seq))
        tmp.replace(seq_file)
        segment = Segment(source, seq, directory / f"{seq:012d}{OPEN}")
        created = time.time()
        header = FILE_MAGIC + json.dumps({"source": source, "seq": seq, "created": created}).encode() + b"\n"
        fd = os.open(segment.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
        os.write(fd, header)
        _fsync_dir(directory)
        opened = _OpenSegment(segment, fd, len(header), created)
        self.usage += len(header)
        self._open[source] = opened
        return opened

    def _seal(self, source: str) -> str:
        current = self._open.pop(source)
        self._last[source] = (current.segment.seq, current.size)
        os.fsync(current.fd)
        os.close(current.fd)
        self._seal_path(current.segment)
        return current.segment.id

    def _seal_path(self, segment: Segment) -> None:
        target = segment.path.with_suffix(SEALED)
        segment.path.rename(target)
        _fsync_dir(segment.path.parent)
        log.info("sealed %s", segment.id)

    def close(self) -> None:
        """Seal everything and release the files."""
        self.seal_all()
