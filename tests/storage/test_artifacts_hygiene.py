"""Every storage artefact parses, names agree, references resolve, and no server-managed field is committed."""

from __future__ import annotations

import json
from fnmatch import fnmatch

import pytest

from dagster_project.sources.registry import source_names
from dagster_project.storage.artifacts import load_artifacts, templates_dir

pytestmark = pytest.mark.usefixtures("default_namespace")


SERVER_MANAGED = {
    "last_updated_time",
    "schema_version",
    "policy_id",
    "error_notification_seq_no",
    "_seq_no",
    "_primary_term",
}


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def test_storage_artefacts_are_consistent() -> None:
    offenders: list[str] = []
    components = {a.name: a for a in load_artifacts("component_template")}
    index_templates = {a.name: a for a in load_artifacts("index_template")}
    policies = load_artifacts("ism_policy")
    for path in sorted(templates_dir().rglob("*.json")):
        try:
            json.loads(path.read_text())
        except ValueError as exc:
            offenders.append(f"{path}: {exc}")
    for artifact in [*components.values(), *index_templates.values(), *policies]:
        managed = _keys(artifact.body) & SERVER_MANAGED
        if managed:
            offenders.append(f"{artifact.path}: server-managed fields {sorted(managed)}")
        if "number_of_replicas" in _keys(artifact.body):
            offenders.append(f"{artifact.path}: states number_of_replicas (bootstrap applies SIEM_REPLICAS)")
    for name, template in index_templates.items():
        for component in template.body.get("composed_of", []):
            if component not in components:
                offenders.append(f"{template.path}: composed_of {component!r} has no file")
        if "priority" not in template.body:
            offenders.append(f"{template.path}: no priority")
        for pattern in template.body.get("index_patterns", []):
            if not pattern.startswith(name):
                offenders.append(f"{template.path}: pattern {pattern!r} does not follow the template name")
    for source in source_names():
        if f"siem-events-{source}" not in index_templates:
            offenders.append(f"source {source} has no index template")
        component = components.get(f"siem-{source}")
        if component is None:
            offenders.append(f"source {source} has no component template siem-{source}.json")
        elif "required_fields" not in component.body.get("_meta", {}):
            offenders.append(f"{component.path}: _meta.required_fields missing")
    for policy in policies:
        patterns = [p for t in policy.body["policy"].get("ism_template", []) for p in t["index_patterns"]]
        template_patterns = [p for t in index_templates.values() for p in t.body["index_patterns"]]
        for pattern in patterns:
            if not any(fnmatch(candidate.replace("*", "2024.01.01"), pattern) for candidate in template_patterns):
                offenders.append(f"{policy.path}: ism_template {pattern!r} matches no index template")
        states = {s["name"] for s in policy.body["policy"]["states"]}
        for state in policy.body["policy"]["states"]:
            for transition in state.get("transitions", []):
                if transition["state_name"] not in states:
                    offenders.append(f"{policy.path}: transition to unknown state {transition['state_name']}")
    assert offenders == []


def _normalizers_used(node: object) -> set[str]:
    if isinstance(node, dict):
        used = {node["normalizer"]} if isinstance(node.get("normalizer"), str) else set()
        return used | {name for value in node.values() for name in _normalizers_used(value)}
    if isinstance(node, list):
        return {name for value in node for name in _normalizers_used(value)}
    return set()


def test_each_component_template_defines_the_normalizers_it_uses_and_they_agree() -> None:
    """The node validates a component template on its own, so each defines the normalizers its mappings use;
    a name defined in several templates means one thing everywhere (the index gets whichever comes last)."""
    definitions: dict[str, dict[str, object]] = {}
    for artifact in load_artifacts("component_template"):
        template = artifact.body["template"]
        defined = template.get("settings", {}).get("analysis", {}).get("normalizer", {})
        assert _normalizers_used(template.get("mappings", {})) <= set(defined), artifact.name
        for name, definition in defined.items():
            assert definitions.setdefault(name, definition) == definition, (artifact.name, name)
    assert "caseless" in definitions
