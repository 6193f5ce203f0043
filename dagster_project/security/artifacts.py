"""Loads the security artefacts (`security/*.yml`): roles, role mappings, action groups, users, audit."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from dagster_project.errors import ArtifactError
from dagster_project.paths import repo_dir
from dagster_project.storage import naming

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
    return in_namespace(name, data)


def in_namespace(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A security file with the suite's index names in the current namespace (see `storage.naming`).

    roles.yml: every role's `index_permissions[].index_patterns`; audit.yml: the watched indices of
    `config.compliance`. Under the default prefix the document is returned as it is.
    """
    if naming.is_default():
        return data
    data = copy.deepcopy(data)
    if name == "roles.yml":
        for role in data.values():
            for permission in (role.get("index_permissions") or []) if isinstance(role, dict) else []:
                permission["index_patterns"] = [naming.in_namespace(p) for p in permission.get("index_patterns", [])]
    elif name == "audit.yml":
        compliance = data.get("config", {}).get("compliance", {})
        watched = compliance.get("read_watched_fields")
        if isinstance(watched, dict):
            compliance["read_watched_fields"] = {naming.in_namespace(k): v for k, v in watched.items()}
        if isinstance(compliance.get("write_watched_indices"), list):
            compliance["write_watched_indices"] = [naming.in_namespace(i) for i in compliance["write_watched_indices"]]
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
