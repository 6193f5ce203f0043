"""manifest.json: the SHA-256 and size of every file of a report, and a check that they still match."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(root: Path, files: Iterable[Path], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest of `files` (paths relative to `root`, sorted) after `meta` (framework, period, ...)."""
    entries = [
        {"path": path.relative_to(root).as_posix(), "sha256": file_sha256(path), "bytes": path.stat().st_size}
        for path in sorted(files)
    ]
    return {**meta, "algorithm": "sha256", "files": entries}


def write_manifest(root: Path, files: Iterable[Path], meta: Mapping[str, Any]) -> Path:
    """Write `root/manifest.json` for `files` and return its path."""
    path = root / MANIFEST
    path.write_text(json.dumps(build_manifest(root, files, meta), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def verify_manifest(root: Path) -> list[str]:
    """Files whose content no longer matches `root/manifest.json` (missing ones included); [] when intact."""
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    bad = []
    for entry in manifest["files"]:
        path = root / entry["path"]
        if not path.is_file() or file_sha256(path) != entry["sha256"]:
            bad.append(entry["path"])
    return bad
