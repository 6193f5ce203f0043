"""Fixtures for the security tests: a secure node (and a plain one beside it) under this package's own home.

The environment is set here, for this package only, and restored afterwards: SIEM_HOME (default
<cache>/siem-sec, or SIEM_SECURITY_TEST_HOME), the plain port 9251 and the secure port 9261 (or
SIEM_SECURITY_TEST_PLAIN_PORT / SIEM_SECURITY_TEST_SECURE_PORT, so several checkouts can test side by side), and a fresh
strong password for every user in security/users.yml. The nodes are started with the same code as
`siem opensearch up [--secure]` (reused when already running) and stopped after the package when these
fixtures started them (unless SIEM_KEEP_NODE=1). A node that cannot be started fails the tests: nothing
is skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.client import make_client
from dagster_project.node import lifecycle
from dagster_project.security.users import load_users, weakness
from dagster_project.settings import NodeSettings, default_home

TEST_HOME = Path(os.environ.get("SIEM_SECURITY_TEST_HOME") or default_home().parent / "siem-sec")
PLAIN_PORT = int(os.environ.get("SIEM_SECURITY_TEST_PLAIN_PORT", "9251"))
SECURE_PORT = int(os.environ.get("SIEM_SECURITY_TEST_SECURE_PORT", "9261"))
# Emptied (not removed: Dagster's EnvVar wants them set) so the developer's cluster settings do not leak in.
EMPTIED = ("OPENSEARCH_URL", "OPENSEARCH_USER", "OPENSEARCH_PASSWORD", "OPENSEARCH_CA_CERTS")


def strong_password() -> str:
    """A random password that passes the suite's strength rules."""
    while True:
        candidate = f"{secrets.token_urlsafe(18)}-Q7"
        if weakness(candidate, "") is None and not any(s.name in candidate.lower() for s in load_users()):
            return candidate


@pytest.fixture(scope="package")
def node_env() -> Iterator[dict[str, str]]:
    """This package's SIEM_HOME, ports and passwords in os.environ; returns the passwords by user name."""
    passwords = {spec.name: strong_password() for spec in load_users()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SIEM_HOME", str(TEST_HOME))
        patch.setenv("SIEM_OPENSEARCH_PORT", str(PLAIN_PORT))
        patch.setenv("SIEM_OPENSEARCH_SECURE_PORT", str(SECURE_PORT))
        for name in EMPTIED:
            patch.setenv(name, "")
        patch.delenv("OPENSEARCH_VERIFY_CERTS", raising=False)
        for spec in load_users():
            patch.setenv(spec.password_env, passwords[spec.name])
        yield passwords


def _started(settings: NodeSettings, *, secure: bool) -> Iterator[lifecycle.UpResult]:
    was_running = lifecycle.running_pid(lifecycle.layout_for(settings, secure=secure)) is not None
    result = lifecycle.up(settings, secure=secure)
    yield result
    if not was_running and os.environ.get("SIEM_KEEP_NODE") != "1":
        lifecycle.down(settings, secure=secure)


@pytest.fixture(scope="package")
def secure_node(node_env: dict[str, str]) -> Iterator[lifecycle.UpResult]:
    """The secure node on port 9261, as `siem opensearch up --secure` starts it."""
    yield from _started(NodeSettings(), secure=True)


@pytest.fixture(scope="package")
def plain_node(node_env: dict[str, str]) -> Iterator[lifecycle.UpResult]:
    """The plain node on port 9251 under the same SIEM_HOME, as `siem opensearch up` starts it."""
    yield from _started(NodeSettings(), secure=False)


@pytest.fixture(scope="package")
def user_clients(secure_node: lifecycle.UpResult, node_env: dict[str, str]) -> Iterator[dict[str, OpenSearch]]:
    """A verifying TLS client per user in users.yml, logged in with that user's password."""
    clients = {
        name: make_client(secure_node.url, user=name, password=password, ca_certs=secure_node.ca_certs)
        for name, password in node_env.items()
    }
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture(scope="package")
def admin(user_clients: dict[str, OpenSearch]) -> OpenSearch:
    """The admin's client (all_access)."""
    return user_clients["admin"]


@pytest.fixture(scope="package")
def plain_client(plain_node: lifecycle.UpResult) -> Iterator[OpenSearch]:
    """A client to the plain node (no security plugin)."""
    client = make_client(plain_node.url)
    assert client.info()["version"]["number"]
    yield client
    client.close()
