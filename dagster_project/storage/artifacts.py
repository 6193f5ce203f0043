"""Loads the storage artefacts (component templates, index templates, ISM policies) from their JSON files."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster_project.errors import ArtifactError
from dagster_project.paths import repo_dir
from dagster_project.storage import naming


@dataclass(frozen=True)
class StorageArtifact:
    """One JSON artefact: its kind, name (the file stem), body and where it came from."""

    kind: str
    name: str
    body: dict[str, Any]
    path: Path

    @property
    def version(self) -> int:
        """The artefact's `_meta.version`."""
        return int(self.body.get("_meta", {}).get("version", 0))


def body_hash(body: dict[str, Any]) -> str:
    """A SHA-256 of a body's canonical JSON: how bootstrap tells 'unchanged' from 'updated'."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


KINDS = {
    "component_template": "component_templates",
    "index_template": "index_templates",
    "ism_policy": "ism_policies",
}


def templates_dir() -> Path:
    """The `index_templates/` folder (the only copy of these artefacts)."""
    return repo_dir("index_templates")


def load_artifacts(kind: str, root: Path | None = None) -> list[StorageArtifact]:
    """All artefacts of one kind, sorted by name; ArtifactError naming the file when one is malformed."""
    folder = (root or templates_dir()) / KINDS[kind]
    artifacts = []
    for path in sorted(folder.glob("*.json")):
        try:
            body = json.loads(path.read_text())
        except ValueError as exc:
            raise ArtifactError(f"invalid JSON: {exc}", where=str(path)) from exc
        if not isinstance(body, dict) or "version" not in body.get("_meta", {}):
            raise ArtifactError("missing _meta.version", where=str(path))
        artifacts.append(StorageArtifact(kind, naming.in_namespace(path.stem), in_namespace(kind, body), path))
    return artifacts


def in_namespace(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """An artefact body with the index names it holds in the current namespace (see `storage.naming`).

    Index templates: `index_patterns`, `composed_of` and alias names; ISM policies: the `ism_template`
    patterns. Descriptions are left as written. Under the default prefix the body is returned as it is.
    """
    if naming.is_default():
        return body
    body = copy.deepcopy(body)
    if kind == "index_template":
        body["index_patterns"] = [naming.in_namespace(p) for p in body.get("index_patterns", [])]
        body["composed_of"] = [naming.in_namespace(c) for c in body.get("composed_of", [])]
        aliases = body.get("template", {}).get("aliases")
        if isinstance(aliases, dict):
            body["template"]["aliases"] = {naming.in_namespace(a): v for a, v in aliases.items()}
    elif kind == "ism_policy":
        for template in body.get("policy", {}).get("ism_template") or []:
            template["index_patterns"] = [naming.in_namespace(p) for p in template.get("index_patterns", [])]
    return body


def component_template(name: str) -> StorageArtifact:
    """One component template by name."""
    for artifact in load_artifacts("component_template"):
        if artifact.name == name:
            return artifact
    raise ArtifactError(f"no component template {name!r}", where=str(templates_dir() / "component_templates"))


def with_replicas(artifact: StorageArtifact, replicas: int) -> dict[str, Any]:
    """The component template's body with `number_of_replicas` set where it sets `number_of_shards`.

    Replicas depend on the cluster, not on the artefact, so no file states them: this is the one place they
    are applied (SIEM_REPLICAS, or `default_replicas`).
    """
    body = copy.deepcopy(artifact.body)
    index_settings = body.get("template", {}).get("settings", {}).get("index")
    if isinstance(index_settings, dict) and "number_of_shards" in index_settings:
        index_settings["number_of_replicas"] = replicas
    return body


def default_replicas(data_nodes: int) -> int:
    """0 on one data node (a replica could never be assigned: the cluster would stay yellow), 1 on more."""
    return 0 if data_nodes <= 1 else 1


def ism_policy_with_ages(artifact: StorageArtifact, hot_days: int, retention_days: int) -> dict[str, Any]:
    """The ISM policy body with its warm transition at `hot_days` and its delete at `retention_days`."""
    body = copy.deepcopy(artifact.body)
    body.pop("_meta", None)
    for state in body["policy"]["states"]:
        for transition in state.get("transitions", []):
            target = transition.get("state_name")
            if target == "warm":
                transition["conditions"] = {"min_index_age": f"{hot_days}d"}
            elif target == "delete":
                transition["conditions"] = {"min_index_age": f"{retention_days}d"}
    return body


def merged_mappings(component_names: list[str]) -> dict[str, Any]:
    """The mappings that composing these component templates yields (later ones override earlier)."""
    merged: dict[str, Any] = {}
    for name in component_names:
        _deep_merge(merged, component_template(name).body.get("template", {}).get("mappings", {}))
    return merged


def _deep_merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def source_index_template(source: str) -> StorageArtifact:
    """The index template of a source's events family (in the current namespace)."""
    name = naming.events_family(source)
    for template in load_artifacts("index_template"):
        if template.name == name:
            return template
    raise ArtifactError(f"no index template {name!r}", where=str(templates_dir() / "index_templates"))


def source_index_body(source: str) -> dict[str, Any]:
    """The settings and mappings a new index of a source gets from its index template and components."""
    components = source_index_template(source).body.get("composed_of", [])
    settings: dict[str, Any] = {}
    for name in components:
        _deep_merge(settings, component_template(name).body.get("template", {}).get("settings", {}))
    return {"settings": settings, "mappings": merged_mappings(components)}
