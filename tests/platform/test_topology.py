"""The local cluster's shape: names, ports and folders per node, and what each node's opensearch.yml says."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project.errors import NodeError
from dagster_project.node import lifecycle
from dagster_project.node.install import Layout
from dagster_project.node.topology import node_settings, plan, prepare_config_dir
from dagster_project.settings import NodeSettings


def test_one_node_keeps_the_single_node_layout_and_ports(tmp_path: Path) -> None:
    (only,) = plan(Layout(tmp_path, "2.19.4"), 1, http_port=9200, transport_port=9300)
    assert (only.name, only.http_port, only.transport_port) == ("siem-node-1", 9200, 9300)
    assert (only.data, only.logs, only.pid_file) == (tmp_path / "data", tmp_path / "logs", tmp_path / "node.pid")
    assert only.config_dir == tmp_path / "opensearch-2.19.4" / "config"
    settings = node_settings(only, [only], bootstrap=True)
    assert settings["discovery.type"] == "single-node"
    assert "discovery.seed_hosts" not in settings and "cluster.initial_cluster_manager_nodes" not in settings


def test_three_nodes_count_ports_up_and_have_folders_of_their_own(tmp_path: Path) -> None:
    specs = plan(Layout(tmp_path, "2.19.4"), 3, http_port=9240, transport_port=9300)
    assert [(s.name, s.http_port, s.transport_port) for s in specs] == [
        ("siem-node-1", 9240, 9300),
        ("siem-node-2", 9241, 9301),
        ("siem-node-3", 9242, 9302),
    ]
    assert specs[2].home == tmp_path / "nodes" / "siem-node-3"
    assert len({s.data for s in specs}) == len({s.logs for s in specs}) == len({s.config_dir for s in specs}) == 3
    forming = node_settings(specs[1], specs, bootstrap=True)
    assert "discovery.type" not in forming
    assert forming["discovery.seed_hosts"] == ["127.0.0.1:9300", "127.0.0.1:9301", "127.0.0.1:9302"]
    assert forming["cluster.initial_cluster_manager_nodes"] == ["siem-node-1", "siem-node-2", "siem-node-3"]
    assert (forming["node.name"], forming["http.port"], forming["path.data"]) == (
        "siem-node-2",
        9241,
        str(tmp_path / "nodes" / "siem-node-2" / "data"),
    )
    rejoining = node_settings(specs[1], specs, bootstrap=False)
    assert "cluster.initial_cluster_manager_nodes" not in rejoining, "a formed cluster must never bootstrap again"


def test_transport_ports_default_to_http_plus_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_OPENSEARCH_PORT", "9240")
    monkeypatch.delenv("SIEM_OPENSEARCH_TRANSPORT_PORT", raising=False)
    monkeypatch.setenv("SIEM_OPENSEARCH_NODES", "3")
    settings = NodeSettings()
    assert settings.transport_port == 9340 and settings.opensearch_nodes == 3
    monkeypatch.setenv("SIEM_OPENSEARCH_TRANSPORT_PORT", "9300")
    assert NodeSettings().transport_port == 9300


def test_other_nodes_copy_the_config_and_write_gc_logs_to_their_own_folder(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "2.19.4")
    shared = layout.node_home / "config"
    (shared / "jvm.options.d").mkdir(parents=True)
    (shared / "jvm.options").write_text(
        "-XX:HeapDumpPath=data\n-XX:ErrorFile=logs/hs_err_pid%p.log\n"
        "9-:-Xlog:gc*,gc+age=trace,safepoint:file=logs/gc.log:utctime,pid,tags:filecount=32,filesize=64m\n"
    )
    (shared / "log4j2.properties").write_text("status = error\n")
    (shared / "opensearch.yml").write_text("node.name: siem-node-1\n")
    (shared / "opensearch.keystore").write_bytes(b"node 1's")
    first, second = plan(layout, 2, http_port=9200, transport_port=9300)
    prepare_config_dir(first, layout.node_home)
    prepare_config_dir(second, layout.node_home)
    assert "file=logs/gc.log" in (shared / "jvm.options").read_text(), "node 1 runs the distribution's config as is"
    options = (second.config_dir / "jvm.options").read_text()
    assert f"file={second.logs}/gc.log" in options
    assert f"-XX:ErrorFile={second.logs}/hs_err" in options and f"-XX:HeapDumpPath={second.data}" in options
    assert (second.config_dir / "log4j2.properties").is_file() and (second.config_dir / "jvm.options.d").is_dir()
    assert not any((second.config_dir / own).exists() for own in ("opensearch.yml", "opensearch.keystore"))


def test_a_cluster_is_never_started_smaller_than_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIEM_HOME", str(tmp_path))
    monkeypatch.delenv("SIEM_OPENSEARCH_NODES", raising=False)
    (tmp_path / "node.json").write_text('{"nodes": 3}')
    assert len(lifecycle.target_for(NodeSettings()).nodes) == 3, "without --nodes, as many as last time"
    with pytest.raises(NodeError, match="holds a 3-node cluster; start it with --nodes 3"):
        lifecycle.up(NodeSettings(), nodes=1)


def test_the_secure_node_is_one_node() -> None:
    with pytest.raises(NodeError, match="the secure node runs as one node"):
        lifecycle.up(NodeSettings(), secure=True, nodes=3)
