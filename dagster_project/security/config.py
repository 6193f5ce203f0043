"""The secure node's configuration: `plugins.security.*` settings and config/opensearch-security/."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from dagster_project.security.artifacts import PLUGIN_FILES, load_security_file
from dagster_project.security.certificates import admin_dn, node_dn
from dagster_project.security.users import Credential, internal_users_document

SECURITY_CONFIG_DIR = "opensearch-security"
CERTS_DIR = "certs"
AUDIT_INDEX = "'security-auditlog-'YYYY.MM.dd"
# Indices of the installed plugins that only the plugins themselves (or a super admin) may touch.
SYSTEM_INDICES = [
    ".opendistro-job-scheduler-lock",
    ".opendistro-ism-config",
    ".opendistro-ism-managed-index-history-*",
    ".opendistro-alerting-config",
    ".opendistro-alerting-alert*",
    ".opendistro-notifications-*",
    ".opensearch-notifications-*",
    ".opensearch-sap-*",
]


def node_settings() -> dict[str, object]:
    """The `plugins.security.*` settings for opensearch.yml: TLS everywhere, the suite's DNs, audit log."""
    tls_protocols = ["TLSv1.3", "TLSv1.2"]
    return {
        "plugins.security.ssl.transport.pemcert_filepath": f"{CERTS_DIR}/node.pem",
        "plugins.security.ssl.transport.pemkey_filepath": f"{CERTS_DIR}/node-key.pem",
        "plugins.security.ssl.transport.pemtrustedcas_filepath": f"{CERTS_DIR}/ca.pem",
        "plugins.security.ssl.transport.enforce_hostname_verification": False,
        "plugins.security.ssl.transport.enabled_protocols": tls_protocols,
        "plugins.security.ssl.http.enabled": True,
        "plugins.security.ssl.http.pemcert_filepath": f"{CERTS_DIR}/node.pem",
        "plugins.security.ssl.http.pemkey_filepath": f"{CERTS_DIR}/node-key.pem",
        "plugins.security.ssl.http.pemtrustedcas_filepath": f"{CERTS_DIR}/ca.pem",
        "plugins.security.ssl.http.clientauth_mode": "OPTIONAL",
        "plugins.security.ssl.http.enabled_protocols": tls_protocols,
        "plugins.security.allow_default_init_securityindex": True,
        "plugins.security.allow_unsafe_democertificates": False,
        "plugins.security.authcz.admin_dn": [admin_dn()],
        "plugins.security.nodes_dn": [node_dn()],
        "plugins.security.restapi.roles_enabled": ["all_access", "security_rest_api_access"],
        "plugins.security.enable_snapshot_restore_privilege": True,
        "plugins.security.check_snapshot_restore_write_privileges": True,
        "plugins.security.system_indices.enabled": True,
        "plugins.security.system_indices.indices": SYSTEM_INDICES,
        "plugins.security.audit.type": "internal_opensearch",
        "plugins.security.audit.config.index": AUDIT_INDEX,
    }


def render(creds: list[Credential], previous_hashes: dict[str, str] | None = None) -> dict[str, str]:
    """Every file of config/opensearch-security/ as YAML text: the artefacts as they are, plus the users."""
    files = {name: _dump(load_security_file(name)) for name in PLUGIN_FILES}
    files["internal_users.yml"] = _dump(internal_users_document(creds, previous_hashes))
    # securityadmin.sh -cd still insists on the allowlist's legacy name: the same document under it.
    legacy = load_security_file("allowlist.yml")
    legacy["_meta"] = {**legacy["_meta"], "type": "whitelist"}
    files["whitelist.yml"] = _dump(legacy)
    return files


def write_security_config(config_dir: Path, creds: list[Credential]) -> str:
    """Write config/opensearch-security/ (removing the plugin's demo files); the SHA-256 of the files.

    Users' hashes are kept from the previous files when their password is unchanged, so the digest only
    changes when something the node should load has changed.
    """
    target = config_dir / SECURITY_CONFIG_DIR
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o750)
    files = render(creds, _previous_hashes(target / "internal_users.yml"))
    for stale in target.iterdir():
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        path = target / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(path)
    return config_digest(files)


def config_digest(files: dict[str, str]) -> str:
    """A SHA-256 over the files' names and contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def _previous_hashes(path: Path) -> dict[str, str]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return {
        str(name): str(entry["hash"])
        for name, entry in document.items()
        if name != "_meta" and isinstance(entry, dict) and entry.get("hash")
    }


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
