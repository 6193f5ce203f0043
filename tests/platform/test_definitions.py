"""The Dagster code location loads, its first asset materialises, and the web UI serves the asset graph."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg

from dagster_project.assets.cluster import opensearch_cluster
from dagster_project.definitions import defs
from tests.resources import suite_resources

REPO = Path(__file__).resolve().parents[2]


def test_definitions_load() -> None:
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert "opensearch_cluster" in keys


def test_dagster_definitions_validate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "dagster_project.definitions"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_cluster_asset_materialises(opensearch_url: str) -> None:
    result = dg.materialize([opensearch_cluster], resources=suite_resources(opensearch_url))
    assert result.success
    (materialization,) = result.asset_materializations_for_node("opensearch_cluster")
    assert materialization.metadata["health"].value in ("green", "yellow")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webserver_serves_the_asset_graph(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "dagster_project.definitions",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        query = json.dumps({"query": "{ assetNodes { assetKey { path } groupName description } }"}).encode()
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "webserver exited"
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = json.loads(response.read())
                if body.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert body is not None, "the webserver never answered"
        nodes = {"/".join(node["assetKey"]["path"]): node for node in body["data"]["assetNodes"]}
        assert "opensearch_cluster" in nodes
        assert nodes["opensearch_cluster"]["groupName"] == "platform"
        assert nodes["opensearch_cluster"]["description"]
    finally:
        server.terminate()
        server.wait(timeout=30)
