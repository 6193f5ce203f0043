"""The three-node cluster `siem opensearch up --nodes 3` starts: one cluster, its nodes listed, replicas placed."""

from __future__ import annotations

import pytest
from opensearchpy import OpenSearch

from dagster_project.node import lifecycle
from dagster_project.settings import NodeSettings, RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from dagster_project.storage.naming import node_name
from tests.cluster import faults

pytestmark = [pytest.mark.live, pytest.mark.cluster]


def test_status_lists_every_node_and_one_elected_cluster_manager(cluster: faults.ClusterConfig) -> None:
    status = faults.run_cli("opensearch", "status", config=cluster)
    assert status["status"] == "green" and status["number_of_nodes"] == faults.NODES
    nodes = status["nodes"]
    assert [n["name"] for n in nodes] == [node_name(k) for k in range(1, faults.NODES + 1)]
    assert [n["http"] for n in nodes] == [f"127.0.0.1:{cluster.http_port + k}" for k in range(faults.NODES)]
    assert [n["transport"] for n in nodes] == [f"127.0.0.1:{cluster.transport_port + k}" for k in range(faults.NODES)]
    assert sum(n["cluster_manager"] for n in nodes) == 1
    assert all({"cluster_manager", "data"} <= set(n["roles"]) for n in nodes)
    with faults.environment(cluster):
        specs = lifecycle.target_for(NodeSettings()).nodes
    assert [n["pid"] for n in nodes] == [lifecycle.node_pid(spec) for spec in specs], "the pids `down` will stop"


def test_up_again_starts_nothing(cluster: faults.ClusterConfig) -> None:
    again = faults.run_cli("opensearch", "up", config=cluster)
    assert again["already_up"] and again["started"] == []
    assert again["urls"] == faults.cluster_urls(cluster)


def test_bootstrap_gives_every_shard_one_replica_and_the_cluster_stays_green(
    cluster: faults.ClusterConfig, cluster_client: OpenSearch
) -> None:
    faults.wipe(cluster_client)
    bootstrap(cluster_client, RetentionSettings(replicas=None))
    cluster_client.indices.create(index=naming.findings_index())
    health = cluster_client.cluster.health(
        index=naming.findings_index(), wait_for_status="green", timeout="60s", request_timeout=90
    )
    assert health["status"] == "green"
    settings = cluster_client.indices.get_settings(index=naming.findings_index())[naming.findings_index()]["settings"][
        "index"
    ]
    assert settings["number_of_replicas"] == "1"
    copies = cluster_client.cat.shards(index=naming.findings_index(), format="json", h="node,prirep")
    assert len({c["node"] for c in copies}) == 2, "primary and replica on different nodes"
    cluster_client.indices.delete(index=naming.findings_index())
