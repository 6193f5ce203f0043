"""Every file in security/ parses, has the right `_meta`, and every reference resolves."""

from __future__ import annotations

import pytest

from dagster_project.security.artifacts import (
    PLUGIN_FILES,
    USERS_FILE,
    entries,
    load_security_file,
    security_dir,
)
from dagster_project.security.users import load_users

pytestmark = pytest.mark.usefixtures("default_namespace")


META_TYPES = {
    "action_groups.yml": "actiongroups",
    "allowlist.yml": "allowlist",
    "audit.yml": "audit",
    "config.yml": "config",
    "nodes_dn.yml": "nodesdn",
    "roles.yml": "roles",
    "roles_mapping.yml": "rolesmapping",
    "tenants.yml": "tenants",
}
# The plugin's built-in action groups and roles (static_config/ in the opensearch-security jar).
STATIC_ACTION_GROUPS = {
    "cluster_all", "cluster_composite_ops", "cluster_composite_ops_ro", "cluster_manage_index_templates",
    "cluster_manage_pipelines", "cluster_monitor", "create_index", "crud", "data_access", "delete", "get",
    "index", "indices_all", "indices_monitor", "manage", "manage_aliases", "manage_data_streams",
    "manage_point_in_time", "manage_snapshots", "read", "search", "suggest", "unlimited", "write",
}  # fmt: skip
STATIC_ROLES = {
    "all_access",
    "kibana_user",
    "own_index",
    "manage_snapshots",
    "kibana_server",
    "logstash",
    "readall",
}
SERVER_MANAGED = {"reserved", "hidden", "static", "hash", "password"}


def _is_permission(action: str) -> bool:
    return ":" in action and "/" in action


def test_security_artefacts_are_consistent() -> None:
    offenders: list[str] = []
    root = security_dir()
    on_disk = {p.name for p in root.glob("*.yml")}
    if on_disk != set(PLUGIN_FILES) | {USERS_FILE}:
        offenders.append(f"{root}: files {sorted(on_disk)} differ from the loaded set")
    for name, kind in META_TYPES.items():
        meta = load_security_file(name).get("_meta", {})
        if meta != {"type": kind, "config_version": 2}:
            offenders.append(f"{name}: _meta {meta}")
    groups = entries("action_groups.yml")
    roles = entries("roles.yml")
    mappings = entries("roles_mapping.yml")
    users = {u.name: u for u in load_users()}
    known_groups = STATIC_ACTION_GROUPS | set(groups)
    for name, group in groups.items():
        for action in group.get("allowed_actions", []):
            if not (_is_permission(action) or action in known_groups):
                offenders.append(f"action_groups.yml {name}: unknown action or group {action!r}")
    for name, role in roles.items():
        if not name.startswith("siem_"):
            offenders.append(f"roles.yml {name}: suite roles are named siem_*")
        if SERVER_MANAGED & set(role):
            offenders.append(f"roles.yml {name}: server-managed fields {sorted(SERVER_MANAGED & set(role))}")
        if not role.get("description"):
            offenders.append(f"roles.yml {name}: no description")
        for action in role.get("cluster_permissions", []):
            if not (_is_permission(action) or action in known_groups):
                offenders.append(f"roles.yml {name}: unknown cluster permission {action!r}")
        for permission in role.get("index_permissions", []):
            for pattern in permission["index_patterns"]:
                if not pattern.startswith("siem-"):
                    offenders.append(f"roles.yml {name}: index pattern {pattern!r} outside siem-*")
            for action in permission["allowed_actions"]:
                if not (_is_permission(action) or action in known_groups):
                    offenders.append(f"roles.yml {name}: unknown index action {action!r}")
    for name, mapping in mappings.items():
        if name not in roles:
            offenders.append(f"roles_mapping.yml {name}: no such role in roles.yml")
        for user in mapping.get("users", []):
            if user not in users:
                offenders.append(f"roles_mapping.yml {name}: user {user!r} not in users.yml")
    for name, user in users.items():
        if not (user.password_env.startswith("SIEM_") and user.password_env.endswith("_PASSWORD")):
            offenders.append(f"users.yml {name}: password_env {user.password_env!r} is not SIEM_*_PASSWORD")
        for role in user.security_roles:
            if role not in roles and role not in STATIC_ROLES:
                offenders.append(f"users.yml {name}: unknown role {role!r}")
        if (SERVER_MANAGED - {"reserved"}) & set(load_security_file(USERS_FILE)[name]):
            offenders.append(f"users.yml {name}: a password or hash in the file")
        if not user.reserved and not any(name in m.get("users", []) for m in mappings.values()):
            offenders.append(f"users.yml {name}: mapped to no role")
    assert offenders == []
