"""Loads the security artefacts (`security/*.yml`): roles, role mappings, action groups, users, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dagster_project.errors import ArtifactError
from dagster_project.paths import repo_dir

# OpenSearch-format files, copied to the secure node's config/opensearch-security/ as they are.
PLUGIN_FILES = (
    "action_groups.yml",
    "allowlist.yml",
    "audit.yml",
    "config.yml",
    "nodes_dn.yml",
    "roles.yml",
    "roles_mapping.yml",
    "tenants.yml",
)
USERS_FILE = "users.yml"


def security_dir() -> Path:
    """The `security/` folder (the only copy of these artefacts)."""
    return repo_dir("security")


def load_security_file(name: str, root: Path | None = None) -> dict[str, Any]:
    """One security artefact as a mapping; ArtifactError naming the file (and line) when malformed."""
    path = (root or security_dir()) / name
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ArtifactError(f"cannot read: {exc}", where=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ArtifactError(f"invalid YAML: {exc}", where=where) from exc
    if not isinstance(data, dict):
        raise ArtifactError("expected a mapping at the top level", where=str(path))
    return data


def entries(name: str, root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The named entries of a plugin-format file, without its `_meta` block."""
    path = (root or security_dir()) / name
    result: dict[str, dict[str, Any]] = {}
    for key, value in load_security_file(name, root).items():
        if key == "_meta":
            continue
        if not isinstance(value, dict):
            raise ArtifactError(f"entry {key!r} must be a mapping", where=str(path))
        result[str(key)] = value
    return result
