"""The embedded node: plugins, idempotent `up`, and the error paths an operator can hit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.errors import NodeError
from dagster_project.node import lifecycle
from dagster_project.node.artifacts import ArtifactNotPublished, fetch
from dagster_project.node.java import java_home
from dagster_project.node.manifest import Artifact, load_distribution
from dagster_project.settings import NodeSettings

PLUGINS = {p.name for p in load_distribution().plugins}


def test_manifest_names_the_six_plugins() -> None:
    assert {
        "opensearch-job-scheduler",
        "opensearch-index-management",
        "opensearch-alerting",
        "opensearch-notifications-core",
        "opensearch-notifications",
        "opensearch-security-analytics",
    } == PLUGINS


def test_node_has_every_plugin_that_maven_central_publishes(opensearch_client: OpenSearch) -> None:
    installed = {p["component"] for p in opensearch_client.cat.plugins(format="json")}
    recorded = lifecycle.state(NodeSettings())
    unavailable = set(recorded.get("unavailable_plugins", {}))
    assert installed >= PLUGINS - unavailable
    assert "opensearch-job-scheduler" in installed


@pytest.mark.xfail(
    strict=True,
    reason="Maven Central publishes no 2.19.x zip of index-management, alerting, notifications(-core) "
    "or security-analytics (see issue notes); strict, so it fails loudly once they resolve",
)
def test_node_has_all_six_plugins(opensearch_client: OpenSearch) -> None:
    installed = {p["component"] for p in opensearch_client.cat.plugins(format="json")}
    assert installed >= PLUGINS


def test_up_twice_is_a_no_op(opensearch_url: str) -> None:
    if os.environ.get("OPENSEARCH_URL"):
        pytest.fail("`up` is only meaningful for the embedded node; unset OPENSEARCH_URL to run this test")
    result = lifecycle.up(NodeSettings())
    assert result.already_up
    assert result.url == opensearch_url


def test_cli_up_twice_says_already_up(opensearch_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project", "opensearch", "up"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "already up" in done.stdout


def test_cli_status_json_lists_plugins(opensearch_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project", "opensearch", "status", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["status"] in ("green", "yellow")
    assert status["version"] == load_distribution().version
    assert "opensearch-job-scheduler" in status["plugins"]
    assert set(status["plugins"]) | set(status.get("unavailable_plugins", {})) >= PLUGINS
    assert {m.name for m in load_distribution().modules} <= set(status["modules"])


def test_the_percolator_module_is_loaded_and_a_percolate_query_finds_the_matching_query(
    opensearch_client: OpenSearch,
) -> None:
    """The minimal distribution lacks the percolator; `up` adds it from Maven Central as the real module."""
    index = "siemtest-percolator-probe"
    opensearch_client.indices.delete(index=index, ignore_unavailable=True)
    mappings = {"properties": {"query": {"type": "percolator"}, "command_line": {"type": "keyword"}}}
    opensearch_client.indices.create(index=index, body={"mappings": mappings})
    try:
        rule = {"query": {"query_string": {"query": "command_line:*certutil*"}}}
        opensearch_client.index(index=index, id="certutil", body=rule, refresh=True)
        documents = [{"command_line": "notepad.exe"}, {"command_line": "certutil -urlcache -f http://x"}]
        hits = opensearch_client.search(
            index=index, body={"query": {"percolate": {"field": "query", "documents": documents}}}
        )["hits"]["hits"]
        assert [(h["_id"], h["fields"]["_percolator_document_slot"]) for h in hits] == [("certutil", [1])]
    finally:
        opensearch_client.indices.delete(index=index, ignore_unavailable=True)


def test_busy_port_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("SIEM_HOME", str(tmp_path))
        monkeypatch.setenv("SIEM_OPENSEARCH_PORT", str(port))
        with pytest.raises(NodeError, match=f"port {port} is taken by another process"):
            lifecycle.up(NodeSettings())


def test_missing_artifact_is_named(tmp_path: Path) -> None:
    bogus = Artifact("bogus", "org.opensearch.plugin:siem-no-such-plugin:2.19.4.0:zip")
    with pytest.raises(ArtifactNotPublished) as caught:
        fetch(bogus, tmp_path)
    assert "org.opensearch.plugin:siem-no-such-plugin:2.19.4.0:zip" in str(caught.value)


def test_no_java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("OPENSEARCH_JAVA_HOME", raising=False)
    with pytest.raises(NodeError, match="Java not found"):
        java_home()


def test_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "jdk8" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk8"))
    monkeypatch.delenv("OPENSEARCH_JAVA_HOME", raising=False)
    with pytest.raises(NodeError, match="Java 8 is too old"):
        java_home()


def test_a_module_is_installed_with_its_descriptor_once_and_repaired_when_changed(tmp_path: Path) -> None:
    from dagster_project.node.install import DESCRIPTOR, Layout, install_module

    distribution = load_distribution()
    (module,) = [m for m in distribution.modules if m.name == "percolator"]
    jar = tmp_path / module.artifact.file_name
    jar.write_bytes(b"PK stand-in for the jar")
    layout = Layout(tmp_path / "home", distribution.version)
    install_module(layout, module, [jar], distribution.version)
    folder = layout.node_home / "modules" / "percolator"
    descriptor = (folder / DESCRIPTOR).read_text()
    assert "classname=org.opensearch.percolator.PercolatorPlugin\n" in descriptor
    assert f"opensearch.version={distribution.version}\n" in descriptor
    assert sorted(p.name for p in folder.iterdir()) == sorted([jar.name, DESCRIPTOR])
    before = (folder / DESCRIPTOR).stat().st_mtime_ns
    install_module(layout, module, [jar], distribution.version)
    assert (folder / DESCRIPTOR).stat().st_mtime_ns == before  # already so: left alone
    (folder / "stray.jar").write_bytes(b"")
    install_module(layout, module, [jar], distribution.version)
    assert sorted(p.name for p in folder.iterdir()) == sorted([jar.name, DESCRIPTOR])
