"""Bootstrap: applies every artefact a cluster needs, idempotently, and names each thing it applies.

In order: component templates and index templates (an existing single index, such as `siem-integrity`,
whose template changed gets the template's new fields), then ISM policies (`index_templates/`, skipped
without the ISM plugin), then the security plugin's action groups, roles, role mappings and users
(`security/`, skipped without the plugin; see `security.roles`). Each artefact is reported created,
updated, unchanged or skipped; what changed is recorded in the suite's audit trail. `apply_storage` and
`security.roles.apply_roles` are the two halves, for callers (the Dagster assets) that apply one only.

Component templates get the replica count here (SIEM_REPLICAS, else 0 on one data node and 1 on more), so
what "unchanged" compares is the template as applied: growing a cluster past one node updates them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project.cluster import ISM_PLUGIN, installed_plugins
from dagster_project.security import audit
from dagster_project.security.actor import actor
from dagster_project.security.roles import apply_roles
from dagster_project.settings import RetentionSettings
from dagster_project.storage.artifacts import (
    StorageArtifact,
    body_hash,
    default_replicas,
    ism_policy_with_ages,
    load_artifacts,
    merged_mappings,
    with_replicas,
)
from dagster_project.storage.changes import Change, as_dicts

__all__ = ["ISM_PLUGIN", "Change", "apply_storage", "as_dicts", "bootstrap", "record_changes"]

log = logging.getLogger(__name__)


def bootstrap(client: OpenSearch, retention: RetentionSettings) -> list[Change]:
    """Apply templates, ISM policies, then security roles and users (module docstring); re-runs change nothing."""
    changes = apply_storage(client, retention) + apply_roles(client)
    record_changes(client, changes)
    return changes


def apply_storage(client: OpenSearch, retention: RetentionSettings) -> list[Change]:
    """Apply every component template, index template and ISM policy of `index_templates/` (nothing else)."""
    replicas = replica_count(client, retention)
    changes = [_put_template(client, a, with_replicas(a, replicas)) for a in load_artifacts("component_template")]
    index_templates = load_artifacts("index_template")
    changes += [_put_template(client, a, a.body) for a in index_templates]
    updated = {c.name for c in changes if c.action in ("created", "updated")}
    changes += [c for a in index_templates if (c := _extend_existing_index(client, a, updated)) is not None]
    has_ism = ISM_PLUGIN in installed_plugins(client)
    for artifact in load_artifacts("ism_policy"):
        if not has_ism:
            changes.append(
                Change(
                    "ism_policy", artifact.name, "skipped", f"{ISM_PLUGIN} not installed; `siem retention` enforces it"
                )
            )
            continue
        changes.append(_put_ism_policy(client, artifact, retention))
    return changes


def record_changes(client: OpenSearch, changes: list[Change]) -> None:
    """Log every change and record the ones that changed something in the suite's audit trail."""
    for change in changes:
        log.info("%s %s: %s %s", change.kind, change.name, change.action, change.detail)
    changed = [c for c in changes if c.action in ("created", "updated")]
    if changed:
        audit.record(
            client,
            "bootstrap.apply",
            actor=actor(),
            target="cluster",
            details={"changes": [asdict(c) for c in changed]},
        )


def replica_count(client: OpenSearch, retention: RetentionSettings) -> int:
    """SIEM_REPLICAS when set, else the default for the cluster's number of data nodes."""
    if retention.replicas is not None:
        return retention.replicas
    return default_replicas(int(client.cluster.health()["number_of_data_nodes"]))


def _with_hash(body: dict[str, Any], content_hash: str) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    body.setdefault("_meta", {})["content_sha256"] = content_hash
    return body


def _put_template(client: OpenSearch, artifact: StorageArtifact, body: dict[str, Any]) -> Change:
    """Create or update one component or index template as `body`; unchanged when its stored content hash matches."""
    if artifact.kind == "component_template":
        get, put, key = (
            client.cluster.get_component_template,
            client.cluster.put_component_template,
            "component_template",
        )
    else:
        get, put, key = client.indices.get_index_template, client.indices.put_index_template, "index_template"
    try:
        existing = get(name=artifact.name)[f"{key}s"][0]
        stored = existing[key].get("_meta", {}).get("content_sha256")
    except NotFoundError:
        stored = None
    content_hash = body_hash(body)
    if stored == content_hash:
        return Change(artifact.kind, artifact.name, "unchanged", f"v{artifact.version}")
    put(name=artifact.name, body=_with_hash(body, content_hash))
    return Change(artifact.kind, artifact.name, "created" if stored is None else "updated", f"v{artifact.version}")


def _extend_existing_index(client: OpenSearch, artifact: StorageArtifact, updated: set[str]) -> Change | None:
    """Give an existing single index (a template naming one index, no wildcard) its updated template's fields.

    A template only shapes indices created after it; new fields must reach the index already there, or a
    strict mapping refuses the documents that carry them. Only additions are possible (and only they are made).
    """
    patterns = artifact.body.get("index_patterns", [])
    components = artifact.body.get("composed_of", [])
    if len(patterns) != 1 or "*" in patterns[0] or not ({artifact.name, *components} & updated):
        return None
    index = patterns[0]
    if not client.indices.exists(index=index):
        return None
    client.indices.put_mapping(index=index, body=merged_mappings(components))
    return Change("index_mapping", index, "updated", "fields of the updated template added to the existing index")


def _comparable(policy: dict[str, Any]) -> str:
    keep = {k: policy.get(k) for k in ("description", "default_state", "states")}
    keep["ism_template"] = [
        {"index_patterns": t.get("index_patterns"), "priority": t.get("priority")}
        for t in policy.get("ism_template") or []
    ]
    return json.dumps(keep, sort_keys=True)


def _put_ism_policy(client: OpenSearch, artifact: StorageArtifact, retention: RetentionSettings) -> Change:
    desired = ism_policy_with_ages(artifact, retention.hot_days, retention.retention_days)
    path = f"/_plugins/_ism/policies/{artifact.name}"
    detail = f"hot {retention.hot_days}d, delete at {retention.retention_days}d"
    try:
        existing = client.transport.perform_request("GET", path)
    except NotFoundError:
        client.transport.perform_request("PUT", path, body=desired)
        return Change(artifact.kind, artifact.name, "created", detail)
    if _comparable(existing["policy"]) == _comparable(desired["policy"]):
        return Change(artifact.kind, artifact.name, "unchanged", detail)
    client.transport.perform_request(
        "PUT",
        path,
        params={"if_seq_no": existing["_seq_no"], "if_primary_term": existing["_primary_term"]},
        body=desired,
    )
    return Change(artifact.kind, artifact.name, "updated", detail)
