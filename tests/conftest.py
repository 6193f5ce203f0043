"""Shared fixtures: one real OpenSearch node per session, clean indices per test.

The node is OPENSEARCH_URL when set; else a testcontainers OpenSearch container when a Docker engine
answers; else the embedded local node, started with the same code as `siem opensearch up`.
If none can be reached the run fails loudly: nothing is skipped.

Everything the tests create lives in the index namespace `siemtest` (SIEM_INDEX_PREFIX, set here before
anything is imported and inherited by every `siem` subprocess), so `make test` on a developer's node
never reads, writes or wipes their `siem-*` data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

TEST_PREFIX = "siemtest"
os.environ["SIEM_INDEX_PREFIX"] = TEST_PREFIX

from dagster_project.client import make_client  # noqa: E402  (after the namespace is set)
from dagster_project.node import lifecycle  # noqa: E402
from dagster_project.settings import DEFAULT_PREFIX, ConnectionSettings, NodeSettings  # noqa: E402
from dagster_project.storage import naming  # noqa: E402
from tests.namespace import users_namespace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
assert naming.prefix() == TEST_PREFIX != DEFAULT_PREFIX


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_live` run last: they check what the live tests left on the node."""
    items.sort(key=lambda item: item.get_closest_marker("after_live") is not None)


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
def one_shard_fails(opensearch_client: OpenSearch, unique_index: str) -> str:
    """Two indices under one pattern: in the second, `x` is a number, so a wildcard on it fails on that shard only."""
    settings = {"number_of_shards": 1, "number_of_replicas": 0}
    for suffix, kind in (("a", "keyword"), ("b", "long")):
        body = {"settings": settings, "mappings": {"properties": {"x": {"type": kind}}}}
        opensearch_client.indices.create(index=f"{unique_index}-{suffix}", body=body)
    opensearch_client.index(index=f"{unique_index}-a", body={"@timestamp": "2024-01-01T00:00:00Z", "x": "evil-tool"})
    opensearch_client.index(index=f"{unique_index}-b", body={"@timestamp": "2024-01-01T00:00:00Z", "x": 7})
    opensearch_client.indices.refresh(index=f"{unique_index}-*")
    answer = opensearch_client.search(index=f"{unique_index}-*", body={"query": {"wildcard": {"x": "*evil*"}}})
    assert answer["_shards"]["failed"] == 1 and answer["hits"]["total"]["value"] == 1, answer
    return f"{unique_index}-*"


@pytest.fixture
def clean_siem(opensearch_client: OpenSearch) -> Iterator[OpenSearch]:
    """Removes the test namespace's indices and templates (`siemtest-*`, never `siem-*`) before and after."""
    _wipe(opensearch_client)
    yield opensearch_client
    _wipe(opensearch_client)


@pytest.fixture
def default_namespace() -> Iterator[None]:
    """Pure tests that pin what users get: names in the default namespace (`siem`). Creates nothing."""
    with users_namespace():
        yield


def _wipe(client: OpenSearch) -> None:
    mine = f"{naming.prefix()}-"
    assert mine == f"{TEST_PREFIX}-", "the tests wipe only their own namespace"
    client.indices.delete(index=f"{mine}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    for template in client.indices.get_index_template().get("index_templates", []):
        if template["name"].startswith(mine):
            client.indices.delete_index_template(name=template["name"])
    for name in client.cluster.get_component_template().get("component_templates", []):
        if name["name"].startswith(mine):
            client.cluster.delete_component_template(name=name["name"])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only shared sample data (../shared/data); its absence fails the test."""
    assert SHARED_DATA.is_dir(), f"shared sample data missing at {SHARED_DATA}"
    return SHARED_DATA
