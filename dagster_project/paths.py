"""Where the suite's artefact folders are: beside the package in a checkout, or SIEM_ARTIFACTS_DIR."""

from __future__ import annotations

from pathlib import Path

from dagster_project.errors import ConfigurationError
from dagster_project.settings import FolderSettings


def repo_dir(name: str) -> Path:
    """An artefact folder (`index_templates`, `dashboards`, `detectors`, ...)."""
    base = FolderSettings().artifacts_dir
    candidates = [base] if base else []
    candidates += [Path(__file__).resolve().parents[1], Path.cwd()]
    for root in candidates:
        if (root / name).is_dir():
            return root / name
    raise ConfigurationError(f"artefact folder {name!r} not found; set SIEM_ARTIFACTS_DIR", where=str(candidates[0]))
