"""The three-node cluster these tests run against, started with the same code as `siem opensearch up --nodes 3`.

It lives in its own SIEM_HOME (SIEM_CLUSTER_TEST_HOME, default <cache>/siem-cluster) on HTTP ports from
SIEM_CLUSTER_TEST_PORT (9271) and transport ports from SIEM_CLUSTER_TEST_TRANSPORT_PORT (9371), so it never
touches the developer's node. A cluster that cannot start fails the tests (nothing is skipped); it is
stopped after the package unless it was already running or SIEM_KEEP_NODE=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from tests.cluster import faults


@pytest.fixture(scope="package")
def cluster() -> Iterator[faults.ClusterConfig]:
    """The running three-node test cluster (green), as its config."""
    config = faults.ClusterConfig.from_env()
    running = faults.running_nodes(config)
    faults.start_cluster(config)
    yield config
    if running < faults.NODES and os.environ.get("SIEM_KEEP_NODE") != "1":
        faults.stop_cluster(config)


@pytest.fixture
def cluster_client(cluster: faults.ClusterConfig) -> Iterator[OpenSearch]:
    """A client to every node of the test cluster."""
    client = faults.cluster_client(cluster)
    yield client
    client.close()
