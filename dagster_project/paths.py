"""Where the suite's artefact folders (and root files) are: beside the package in a checkout, or SIEM_ARTIFACTS_DIR."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dagster_project.errors import ConfigurationError
from dagster_project.settings import FolderSettings


def repo_dir(name: str) -> Path:
    """An artefact folder (`index_templates`, `dashboards`, `detectors`, ...)."""
    return _find(name, Path.is_dir, "artefact folder")


def repo_file(name: str) -> Path:
    """An artefact file at the root beside those folders (`dagster.yaml`)."""
    return _find(name, Path.is_file, "artefact file")


def _find(name: str, present: Callable[[Path], bool], kind: str) -> Path:
    base = FolderSettings().artifacts_dir
    candidates = [base] if base else []
    candidates += [Path(__file__).resolve().parents[1], Path.cwd()]
    for root in candidates:
        if present(root / name):
            return root / name
    raise ConfigurationError(f"{kind} {name!r} not found; set SIEM_ARTIFACTS_DIR", where=str(candidates[0]))
