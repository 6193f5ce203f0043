"""Applies `security/` (action groups, roles, role mappings, users) through the security REST API."""

from __future__ import annotations

import logging
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project.cluster import SECURITY_PLUGIN, installed_plugins
from dagster_project.security.artifacts import entries
from dagster_project.security.users import apply_users
from dagster_project.storage.changes import Change

log = logging.getLogger(__name__)

API = "/_plugins/_security/api"
# (change kind, REST resource, file) in dependency order: roles use action groups, mappings use roles.
RESOURCES = (
    ("action_group", "actiongroups", "action_groups.yml"),
    ("role", "roles", "roles.yml"),
    ("role_mapping", "rolesmapping", "roles_mapping.yml"),
)
# Set by the plugin for a resource; never part of what the suite writes or compares.
SERVER_FIELDS = {"reserved", "hidden", "static"}


def apply_roles(client: OpenSearch) -> list[Change]:
    """Apply every action group, role, role mapping and user in `security/`; a re-run reports unchanged.

    Skipped as a whole, with one change saying so, when the cluster has no security plugin or this
    user may not use the security API (e.g. bootstrap run as the engineer). Users are
    applied when their password variable is set (see `users.apply_users`). Blocks for one GET (and at
    most one PUT) per resource, retried as `dagster_project.retries` states. Logs nothing per change: the caller
    (bootstrap) logs the changes it returns.
    """
    if SECURITY_PLUGIN not in installed_plugins(client):
        return [Change("security", SECURITY_PLUGIN, "skipped", "security plugin not installed")]
    if not client.transport.perform_request("GET", f"{API}/permissionsinfo").get("has_api_access"):
        change = Change("security", SECURITY_PLUGIN, "skipped", "this user may not use the security API; run as admin")
        log.warning("%s %s: %s %s", change.kind, change.name, change.action, change.detail)
        return [change]
    changes = []
    for kind, resource, file_name in RESOURCES:
        for name, body in entries(file_name).items():
            changes.append(_apply(client, kind, f"{API}/{resource}/{name}", name, _desired(body)))
    return changes + apply_users(client)


def _desired(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in SERVER_FIELDS}


def _apply(client: OpenSearch, kind: str, path: str, name: str, desired: dict[str, Any]) -> Change:
    try:
        existing = client.transport.perform_request("GET", path).get(name)
    except NotFoundError:
        existing = None
    if existing is not None and _normal({k: existing.get(k) for k in desired}) == _normal(desired):
        return Change(kind, name, "unchanged")
    client.transport.perform_request("PUT", path, body=desired)
    return Change(kind, name, "created" if existing is None else "updated")


def _normal(value: Any) -> Any:
    """A comparable form: empty values dropped (the API fills in defaults), lists of strings sorted."""
    if isinstance(value, dict):
        kept = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        if all(isinstance(v, str) for v in items):
            return sorted(items)
        return sorted(items, key=repr)
    return value
