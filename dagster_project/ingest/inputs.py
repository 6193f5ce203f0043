"""Finds input files and opens them as streams: plain or gzip, with a cap on decompressed size."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dagster_project.errors import IngestError

MAX_DECOMPRESSED_BYTES = 4 * 1024**3
"""A .gz input that expands past this is cut off there and the rest quarantined as one reject (gzip bomb)."""


@dataclass(frozen=True)
class InputFile:
    """One file to ingest, with its size on disk (for progress) and mtime (for the syslog year rule)."""

    path: Path
    size: int
    mtime: float


def expand_paths(paths: list[str | Path], *, within: Path | None = None) -> list[InputFile]:
    """The files named by `paths` (directories are walked, sorted); IngestError for a missing/unreadable path.

    With `within`, every file must resolve inside that directory (no symlink or `..` escapes).
    """
    files: list[InputFile] = []
    root = within.resolve() if within else None
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise IngestError("no such file or directory", where=str(path))
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.startswith("."):
                continue
            resolved = candidate.resolve()
            if root is not None and not resolved.is_relative_to(root):
                raise IngestError(f"resolves outside the landing directory {root}", where=str(candidate))
            if not os.access(resolved, os.R_OK):
                raise IngestError("not readable (permission denied)", where=str(candidate))
            stat = resolved.stat()
            files.append(InputFile(candidate, stat.st_size, stat.st_mtime))
    return files


class _CappedReader(io.RawIOBase):
    """Reads a decompressing stream but stops at a byte cap, noting that it did."""

    def __init__(self, inner: BinaryIO, cap: int) -> None:
        self._inner = inner
        self.cap = cap
        self._left = cap
        self.capped = False
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            if not self.capped and self._inner.read(1):
                self.capped = True
            return 0
        want = min(len(buffer), self._left)
        try:
            data = self._inner.read1(want)  # type: ignore[attr-defined]  # read1: keep what decompressed before a break
        except (EOFError, OSError, zlib.error) as exc:
            self.error = f"corrupt or truncated gzip: {exc}"
            return 0
        n = len(data)
        buffer[:n] = data
        self._left -= n
        return n


@dataclass
class OpenedInput:
    """A binary stream of an input's content plus how far into the file on disk reading has got."""

    stream: BinaryIO
    raw: BinaryIO
    capped_reader: _CappedReader | None

    def disk_position(self) -> int:
        """Bytes of the file on disk consumed so far (for progress)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def trailing_error(self) -> str | None:
        """A problem found at the end of the stream: a truncated gzip or a decompression cap hit."""
        if self.capped_reader is None:
            return None
        if self.capped_reader.error:
            return self.capped_reader.error
        if self.capped_reader.capped:
            return (
                f"decompressed size exceeds the {self.capped_reader.cap}-byte cap (possible gzip bomb); rest not read"
            )
        return None

    def close(self) -> None:
        """Close the stream and the file."""
        self.stream.close()
        self.raw.close()


def open_input(path: Path, *, max_decompressed: int | None = None) -> OpenedInput:
    """Open a file for streaming; `.gz` (by name or magic bytes) is decompressed on the fly, capped."""
    cap = MAX_DECOMPRESSED_BYTES if max_decompressed is None else max_decompressed
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    if path.suffix == ".gz" or magic == b"\x1f\x8b":
        capped = _CappedReader(gzip.GzipFile(fileobj=raw, mode="rb"), cap)  # type: ignore[arg-type]
        return OpenedInput(io.BufferedReader(capped, buffer_size=1 << 16), raw, capped)  # type: ignore[arg-type]
    return OpenedInput(raw, raw, None)
