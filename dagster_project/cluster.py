"""Reads a cluster's health, version, installed plugins and nodes."""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from dagster_project.errors import NodeError

ISM_PLUGIN = "opensearch-index-management"
"""Index State Management: applies the ISM policies (when installed; `siem retention` does otherwise)."""
SECURITY_PLUGIN = "opensearch-security"
"""Authentication, roles and audit logging (the secure node)."""


def cluster_status(client: OpenSearch, url: str) -> dict[str, Any]:
    """Health, version, plugins and nodes of the cluster behind `client`; NodeError when it cannot be reached."""
    try:
        info = client.info()
        health = client.cluster.health()
        plugins = client.cat.plugins(format="json")
        members = nodes(client)
        loaded = modules(client)
    except (OpenSearchConnectionError, TransportError) as exc:
        raise NodeError(f"cluster not reachable: {exc}", where=url) from exc
    return {
        "url": url,
        "cluster_name": info.get("cluster_name"),
        "status": health.get("status"),
        "number_of_nodes": health.get("number_of_nodes"),
        "version": info.get("version", {}).get("number"),
        "distribution": info.get("version", {}).get("distribution"),
        "plugins": sorted({p["component"] for p in plugins}),
        "modules": loaded,
        "nodes": members,
    }


def modules(client: OpenSearch) -> list[str]:
    """The core modules every node of the cluster loaded (a query such as `percolate` needs them on all)."""
    found = client.nodes.info(metric="plugins", filter_path="nodes.*.modules.name").get("nodes", {})
    per_node = [{m["name"] for m in node.get("modules", [])} for node in found.values()]
    return sorted(set.intersection(*per_node)) if per_node else []


def nodes(client: OpenSearch) -> list[dict[str, Any]]:
    """The cluster's nodes by name: pid, HTTP and transport addresses, roles, whether it is the elected manager."""
    found = client.nodes.info(metric="process,http,transport")["nodes"]
    manager = client.cluster.state(metric="cluster_manager_node").get("cluster_manager_node")
    return sorted(
        (
            {
                "name": node["name"],
                "pid": node.get("process", {}).get("id"),
                "http": node.get("http", {}).get("publish_address"),
                "transport": node.get("transport", {}).get("publish_address") or node.get("transport_address"),
                "roles": sorted(node.get("roles", [])),
                "cluster_manager": node_id == manager,
            }
            for node_id, node in found.items()
        ),
        key=lambda node: str(node["name"]),
    )


def installed_plugins(client: OpenSearch) -> set[str]:
    """Names of the plugins installed on the cluster's nodes."""
    return {p["component"] for p in client.cat.plugins(format="json")}
