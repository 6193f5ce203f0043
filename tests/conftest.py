"""Shared fixtures: one real OpenSearch node per session, clean indices per test.

The node is OPENSEARCH_URL when set; else a testcontainers OpenSearch container when a Docker engine
answers; else the embedded local node, started with the same code as `siem opensearch up`.
If none can be reached the run fails loudly: nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.client import make_client
from dagster_project.node import lifecycle
from dagster_project.settings import ConnectionSettings, NodeSettings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Dagster's EnvVar needs these set; empty means "the local node, no auth".
for _name in ("OPENSEARCH_URL", "OPENSEARCH_USER", "OPENSEARCH_PASSWORD", "OPENSEARCH_CA_CERTS"):
    os.environ.setdefault(_name, "")


def _docker_engine_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
    except Exception:  # noqa: BLE001  (any failure means: no usable engine)
        return False
    return True


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """The URL of the real node the tests use (see the module docstring for how it is chosen)."""
    connection = ConnectionSettings()
    if connection.url:
        yield connection.url
        return
    if _docker_engine_available():
        from testcontainers.opensearch import OpenSearchContainer

        version = __import__("dagster_project.node.manifest", fromlist=["x"]).load_distribution().version
        with OpenSearchContainer(f"opensearchproject/opensearch:{version}", security_enabled=False) as container:
            config = container.get_config()
            url = f"http://{config['host']}:{config['port']}"
            os.environ["OPENSEARCH_URL"] = url
            yield url
        return
    settings = NodeSettings()
    was_running = lifecycle.running_pid(lifecycle.layout_for(settings)) is not None
    result = lifecycle.up(settings)
    yield result.url
    if not was_running and os.environ.get("SIEM_KEEP_NODE") != "1":
        lifecycle.down(settings)


@pytest.fixture(scope="session")
def opensearch_client(opensearch_url: str) -> Iterator[OpenSearch]:
    """A client to the real node; the session fails if the node does not answer."""
    connection = ConnectionSettings()
    client = make_client(
        opensearch_url,
        user=connection.user,
        password=connection.password.get_secret_value(),
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
    )
    info = client.info()  # raises: an unreachable node is a failure, never a skip
    assert info["version"]["number"]
    yield client
    client.close()


@pytest.fixture
def unique_index(opensearch_client: OpenSearch) -> Iterator[str]:
    """A fresh index name (not created) that is deleted, with anything under its prefix, after the test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    opensearch_client.indices.delete(index=f"{name}*", ignore_unavailable=True, allow_no_indices=True)


@pytest.fixture
def clean_siem(opensearch_client: OpenSearch) -> Iterator[OpenSearch]:
    """Removes the suite's indices, templates and data streams before and after the test."""
    _wipe(opensearch_client)
    yield opensearch_client
    _wipe(opensearch_client)


def _wipe(client: OpenSearch) -> None:
    client.indices.delete(index="siem-*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    for template in client.indices.get_index_template().get("index_templates", []):
        if template["name"].startswith("siem-"):
            client.indices.delete_index_template(name=template["name"])
    for name in client.cluster.get_component_template().get("component_templates", []):
        if name["name"].startswith("siem-"):
            client.cluster.delete_component_template(name=name["name"])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only shared sample data (../shared/data); its absence fails the test."""
    assert SHARED_DATA.is_dir(), f"shared sample data missing at {SHARED_DATA}"
    return SHARED_DATA
