"""The landing directory: <root>/<source>/<YYYY-MM-DD>/files; which files belong to which daily partition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class LandedFile:
    """A file in the landing directory with the partition (arrival day) it belongs to."""

    path: Path
    partition: str
    mtime: float
    size: int


def landed_files(root: Path, source: str) -> list[LandedFile]:
    """Every file under <root>/<source>; the partition is the day folder's name, else the file's mtime day (UTC)."""
    base = root / source
    if not base.is_dir():
        return []
    files = []
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = path.relative_to(base).parts
        stat = path.stat()
        if len(relative) > 1 and _DAY.match(relative[0]):
            partition = relative[0]
        else:
            partition = datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%d")
        files.append(LandedFile(path, partition, stat.st_mtime, stat.st_size))
    return files


def partition_files(root: Path, source: str, partition: str) -> list[Path]:
    """The files of one source's partition."""
    return [f.path for f in landed_files(root, source) if f.partition == partition]
