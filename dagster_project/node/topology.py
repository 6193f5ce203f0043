"""The local cluster's shape: its nodes' names, ports and folders, and the settings each node starts with.

Node 1 keeps the single node's layout (SIEM_HOME/data, SIEM_HOME/logs, the distribution's own config folder),
so one node works as it always has. Node k > 1 lives in SIEM_HOME/nodes/siem-node-k/ with its own config,
data and logs, and runs the same unpacked distribution. Node k listens on 127.0.0.1 at HTTP port
SIEM_OPENSEARCH_PORT + k - 1 and transport port SIEM_OPENSEARCH_TRANSPORT_PORT + k - 1.

One node runs with `discovery.type: single-node`. Several find each other through `discovery.seed_hosts`
(every node's transport address); `cluster.initial_cluster_manager_nodes` is set only while no node holds
data, i.e. when the cluster is formed: a node added to, or restarted in, a formed cluster must join it and
never bootstrap a second one.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster_project.node.install import Layout, NodeFolders
from dagster_project.settings import LOCAL_HOST
from dagster_project.storage import naming

NODES_DIR = "nodes"
CONFIG_KEPT = {"opensearch.yml", "opensearch.keystore"}
"""Per-node files never copied from the distribution's config folder."""


@dataclass(frozen=True)
class NodeSpec(NodeFolders):
    """One local node: name, ports and folders."""

    name: str
    http_port: int
    transport_port: int
    home: Path
    """The node's folder: SIEM_HOME for node 1, SIEM_HOME/nodes/<name> for the others."""
    config_dir: Path

    @property
    def url(self) -> str:
        """The node's HTTP URL."""
        return f"http://{LOCAL_HOST}:{self.http_port}"

    @property
    def transport_address(self) -> str:
        """host:port of the node's transport layer (what the other nodes dial)."""
        return f"{LOCAL_HOST}:{self.transport_port}"

    def has_data(self) -> bool:
        """True once the node has written cluster state (it belongs to a formed cluster)."""
        return (self.data / "nodes").is_dir()


def plan(layout: Layout, count: int, *, http_port: int, transport_port: int) -> list[NodeSpec]:
    """The `count` nodes of the cluster under `layout`, node 1 first."""
    specs = [NodeSpec(naming.node_name(1), http_port, transport_port, layout.home, layout.node_home / "config")]
    for ordinal in range(2, count + 1):
        home = layout.home / NODES_DIR / naming.node_name(ordinal)
        specs.append(
            NodeSpec(
                naming.node_name(ordinal), http_port + ordinal - 1, transport_port + ordinal - 1, home, home / "config"
            )
        )
    return specs


def extra_node_homes(layout: Layout) -> list[Path]:
    """The folders of nodes 2.. that exist under `layout` (from any earlier `up`), in node order."""
    folder = layout.home / NODES_DIR
    if not folder.is_dir():
        return []
    homes = [p for p in folder.iterdir() if p.is_dir() and p.name.removeprefix(naming.NODE_NAME_PREFIX).isdigit()]
    return sorted(homes, key=lambda p: int(p.name.removeprefix(naming.NODE_NAME_PREFIX)))


def node_settings(spec: NodeSpec, cluster: Sequence[NodeSpec], *, bootstrap: bool) -> dict[str, object]:
    """opensearch.yml of `spec` as a member of `cluster`; `bootstrap` when the cluster is being formed."""
    settings: dict[str, object] = {
        "cluster.name": naming.CLUSTER_NAME,
        "node.name": spec.name,
        "network.host": LOCAL_HOST,
        "http.port": spec.http_port,
        "transport.port": spec.transport_port,
        "path.data": str(spec.data),
        "path.logs": str(spec.logs),
        # A developer disk may be fuller than a server's; never flip indices read-only for that.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "action.auto_create_index": True,
        # Community Sigma rules OR together up to ~1,100 values (package lists, ~40k characters of query
        # string); the defaults allow 1,024 clauses and 32,000 characters.
        "indices.query.bool.max_clause_count": 8192,
        "search.query.max_query_string_length": 200000,
    }
    if len(cluster) == 1:
        settings["discovery.type"] = "single-node"
        return settings
    settings["discovery.seed_hosts"] = [node.transport_address for node in cluster]
    if bootstrap:
        settings["cluster.initial_cluster_manager_nodes"] = [node.name for node in cluster]
    return settings


def prepare_config_dir(spec: NodeSpec, node_home: Path) -> None:
    """Nodes 2..: a config folder of their own, copied from the distribution's, writing GC logs to their own logs.

    Node 1 uses the distribution's folder as it is (its jvm.options paths are relative to the distribution).
    """
    shared = node_home / "config"
    if spec.config_dir == shared:
        return
    shutil.copytree(
        shared, spec.config_dir, dirs_exist_ok=True, ignore=lambda _dir, names: [n for n in names if n in CONFIG_KEPT]
    )
    options = spec.config_dir / "jvm.options"
    options.write_text(
        options.read_text()
        .replace("file=logs/", f"file={spec.logs}/")
        .replace("-XX:ErrorFile=logs/", f"-XX:ErrorFile={spec.logs}/")
        .replace("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={spec.data}")
    )
