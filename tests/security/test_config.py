"""The secure node's config: the suite's own files only (no demo users or certificates), stable digests."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from dagster_project.security.artifacts import PLUGIN_FILES, load_security_file
from dagster_project.security.certificates import admin_dn, node_dn
from dagster_project.security.config import node_settings, render, write_security_config
from dagster_project.security.users import Credential, load_users

pytestmark = pytest.mark.usefixtures("default_namespace")


# Names from the plugin's demo configuration (install_demo_configuration.sh, its internal_users.yml).
DEMO_MARKERS = ("kirk", "esnode", "demo", "kibanaserver", "logstash", "snapshotrestore", "readall")


def _creds(admin: str = "Adm1n-Secret!x9Q", analyst: str = "An4lyst-x!Kq7z") -> list[Credential]:
    users = {u.name: u for u in load_users()}
    return [Credential(users["admin"], admin), Credential(users["analyst"], analyst)]


def test_node_settings_use_the_suites_certificates_and_dns() -> None:
    settings = node_settings()
    assert settings["plugins.security.authcz.admin_dn"] == [admin_dn()]
    assert settings["plugins.security.nodes_dn"] == [node_dn()]
    assert settings["plugins.security.ssl.http.enabled"] is True
    assert settings["plugins.security.allow_unsafe_democertificates"] is False
    assert settings["plugins.security.audit.type"] == "internal_opensearch"
    for key, value in settings.items():
        if key.endswith("_filepath"):
            assert str(value).startswith("certs/"), key
    assert not [m for m in DEMO_MARKERS if m in repr(list(settings.values())).lower()]


def test_render_has_every_file_and_nothing_from_the_demo() -> None:
    creds = _creds()
    files = render(creds)
    assert set(files) == set(PLUGIN_FILES) | {"internal_users.yml", "whitelist.yml"}
    for name, text in files.items():
        document = yaml.safe_load(text)
        assert document["_meta"]["config_version"] == 2, name
        assert not [m for m in DEMO_MARKERS if m in text.lower()], name
    for cred in creds:
        assert not [name for name, text in files.items() if cred.password in text]
    assert yaml.safe_load(files["roles.yml"]) == load_security_file("roles.yml")
    assert yaml.safe_load(files["whitelist.yml"])["_meta"]["type"] == "whitelist"
    assert set(yaml.safe_load(files["internal_users.yml"])) == {"_meta", "admin", "analyst"}


def test_audit_watches_reads_of_events_and_findings() -> None:
    audit = load_security_file("audit.yml")["config"]
    assert audit["enabled"] and audit["compliance"]["enabled"]
    assert {"siem-events-*", "siem-findings*"} <= set(audit["compliance"]["read_watched_fields"])
    assert audit["compliance"]["read_ignore_users"] == []
    assert audit["audit"]["log_request_body"] is False


def test_write_replaces_the_demo_files_and_is_private(tmp_path: Path) -> None:
    target = tmp_path / "opensearch-security"
    target.mkdir()
    (target / "internal_users.yml").write_text("admin:\n  hash: '$2y$12$demo'\nkibanaserver: {}\n")
    (target / "opensearch.yml.example").write_text("demo")
    write_security_config(tmp_path, _creds())
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(set(PLUGIN_FILES) | {"internal_users.yml", "whitelist.yml"})
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == {0o600}


def test_digest_is_stable_until_a_password_changes(tmp_path: Path) -> None:
    first = write_security_config(tmp_path, _creds())
    assert write_security_config(tmp_path, _creds()) == first
    assert write_security_config(tmp_path, _creds(analyst="Chang3d-Pa5s!w0rdz")) != first
