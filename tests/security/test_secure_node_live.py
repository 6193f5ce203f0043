"""`siem opensearch up --secure`: its own home and port beside the plain node, TLS, refusal without a strong
admin password, private key files, password rotation through securityadmin.sh, and no secret in any log."""

from __future__ import annotations

import json
import logging
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthenticationException

from dagster_project.client import make_client
from dagster_project.errors import ConfigurationError
from dagster_project.node import lifecycle
from dagster_project.security.roles import apply_roles
from dagster_project.security.users import load_users
from dagster_project.settings import NodeSettings
from tests.security.conftest import PLAIN_PORT, SECURE_PORT

pytestmark = pytest.mark.live


def siem(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess with this package's environment (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "dagster_project", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cli_up_secure_prints_the_https_url_and_the_ca(secure_node: lifecycle.UpResult) -> None:
    done = siem("opensearch", "up", "--secure")
    assert done.returncode == 0, done.stderr
    assert f"already up at {secure_node.url}" in done.stdout and secure_node.url.startswith("https://")
    assert f"CA certificate: {secure_node.ca_certs}" in done.stdout
    as_json = json.loads(siem("opensearch", "up", "--secure", "--json").stdout)
    assert (as_json["url"], as_json["secure"], as_json["ca_certs"]) == (
        secure_node.url,
        True,
        secure_node.ca_certs,
    )
    assert Path(secure_node.ca_certs).is_file()


def test_cli_status_works_against_the_secure_node(secure_node: lifecycle.UpResult, node_env: dict[str, str]) -> None:
    env = {
        "OPENSEARCH_URL": secure_node.url,
        "OPENSEARCH_CA_CERTS": secure_node.ca_certs,
        "OPENSEARCH_USER": "admin",
        "OPENSEARCH_PASSWORD": node_env["admin"],
    }
    done = siem("opensearch", "status", "--json", env=env)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["status"] in ("green", "yellow") and status["url"] == secure_node.url
    assert "opensearch-security" in status["plugins"]
    refused = siem("opensearch", "status", env={**env, "OPENSEARCH_CA_CERTS": ""})
    assert refused.returncode == 2 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def test_weak_or_missing_admin_password_is_refused_before_anything_starts(
    node_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    done = siem("opensearch", "up", "--secure", env={"SIEM_ADMIN_PASSWORD": "hunter2"})
    assert done.returncode == 2
    assert "SIEM_ADMIN_PASSWORD" in done.stderr and "too weak" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    monkeypatch.delenv("SIEM_ADMIN_PASSWORD")
    with pytest.raises(ConfigurationError, match="SIEM_ADMIN_PASSWORD is not set"):
        lifecycle.up(NodeSettings(), secure=True)


def test_plain_and_secure_nodes_have_separate_homes_and_plugins(
    secure_node: lifecycle.UpResult,
    plain_node: lifecycle.UpResult,
    plain_client: OpenSearch,
    admin: OpenSearch,
) -> None:
    settings = NodeSettings()
    plain, secure = lifecycle.layout_for(settings), lifecycle.layout_for(settings, secure=True)
    assert secure.home == plain.home / "secure" and secure.artifacts == plain.artifacts
    assert lifecycle.running_pid(plain) != lifecycle.running_pid(secure)
    assert None not in (lifecycle.running_pid(plain), lifecycle.running_pid(secure))
    assert plain_node.url == f"http://127.0.0.1:{PLAIN_PORT}" and secure_node.url == f"https://127.0.0.1:{SECURE_PORT}"
    plain_plugins = {p["component"] for p in plain_client.cat.plugins(format="json")}
    secure_plugins = {p["component"] for p in admin.cat.plugins(format="json")}
    assert (
        "opensearch-security" not in plain_plugins
        and not (plain.node_home / "plugins" / "opensearch-security").exists()
    )
    assert secure_plugins == plain_plugins | {"opensearch-security"}
    again = lifecycle.up(settings)
    assert again.already_up and not again.secure and again.url == plain_node.url


def test_key_files_are_private(secure_node: lifecycle.UpResult) -> None:
    layout = lifecycle.layout_for(NodeSettings(), secure=True)
    store = Path(secure_node.ca_certs).parent
    for key in ("ca-key.pem", "node-key.pem", "admin-key.pem"):
        assert _mode(store / key) == 0o600, key
        assert (store / key).stat().st_uid == os.geteuid(), key
    assert _mode(store / "ca.pem") == 0o644
    node_key = layout.node_home / "config" / "certs" / "node-key.pem"
    assert _mode(node_key) == 0o600
    assert not (layout.node_home / "config" / "certs" / "ca-key.pem").exists()
    security_config = layout.node_home / "config" / "opensearch-security"
    assert {_mode(p) for p in security_config.iterdir()} == {0o600}
    assert _mode(layout.data) == 0o700 and _mode(layout.logs) == 0o700
    if os.geteuid() == 0:
        service = pwd.getpwnam(lifecycle.service_user(NodeSettings()))
        assert node_key.stat().st_uid == service.pw_uid
        assert (
            layout.node_home / "config" / "opensearch-security" / "internal_users.yml"
        ).stat().st_uid == service.pw_uid


def test_up_secure_applies_a_changed_password_with_securityadmin(
    secure_node: lifecycle.UpResult, node_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = next(u for u in load_users() if u.name == "engineer")

    def logs_in(password: str) -> bool:
        client = make_client(secure_node.url, user="engineer", password=password, ca_certs=secure_node.ca_certs)
        try:
            return client.transport.perform_request("GET", "/_plugins/_security/authinfo")["user_name"] == "engineer"
        except AuthenticationException:
            return False
        finally:
            client.close()

    new = "N3w-Eng1neer!pw7"
    monkeypatch.setenv(spec.password_env, new)
    assert lifecycle.up(NodeSettings(), secure=True).already_up
    assert logs_in(new) and not logs_in(node_env["engineer"])
    monkeypatch.setenv(spec.password_env, node_env["engineer"])
    lifecycle.up(NodeSettings(), secure=True)
    assert logs_in(node_env["engineer"])


def test_no_password_reaches_a_log(
    secure_node: lifecycle.UpResult,
    admin: OpenSearch,
    node_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        lifecycle.up(NodeSettings(), secure=True)
        apply_roles(admin)
    cli = siem("-vv", "opensearch", "up", "--secure")
    layout = lifecycle.layout_for(NodeSettings(), secure=True)
    node_logs = "".join(p.read_text(errors="replace") for p in layout.logs.glob("*") if p.is_file())
    admin.indices.refresh(index="security-auditlog-*")
    audit = admin.search(index="security-auditlog-*", body={"size": 10000, "sort": [{"@timestamp": "desc"}]})
    audit_text = json.dumps(audit["hits"]["hits"])
    for name, password in node_env.items():
        assert password not in caplog.text, name
        assert password not in cli.stdout + cli.stderr, name
        assert password not in node_logs, name
        assert password not in audit_text, name
