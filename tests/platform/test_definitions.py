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


def test_every_partitioned_definition_comes_from_the_partitions_module() -> None:
    """One partitions module: every asset, check and job is partitioned by one of its definitions."""
    from dagster_project.assets import partitions

    known = [partitions.ARRIVAL_DAYS, partitions.EVENT_DAYS, *partitions.REPORT_PERIODS.values()]
    repository = defs.get_repository_def()
    offenders = []
    for key in repository.asset_graph.get_all_asset_keys():
        partitions_def = repository.asset_graph.get(key).partitions_def
        if partitions_def is not None and not any(partitions_def is k for k in known):
            offenders.append(key.to_user_string())
    starts = {p.start.date().isoformat() for p in known}
    assert offenders == [] and starts == {partitions.FIRST_DAY}


def test_findings_by_event_day_depends_on_every_arrival_day() -> None:
    """An arrival day can carry events of any event day: the mapping says so for each ingestion asset."""
    from dagster_project.assets.detection import findings
    from dagster_project.assets.ingestion import INGESTION_ASSETS

    assert findings.partitions_def is not None
    mappings = {a.key: findings.get_partition_mapping(a.key) for a in INGESTION_ASSETS}
    assert set(mappings) == set(findings.dependency_keys) and len(mappings) == len(INGESTION_ASSETS)
    assert {type(m) for m in mappings.values()} == {dg.AllPartitionMapping}


def test_nothing_runs_every_minute_and_detection_of_new_data_is_on() -> None:
    """No schedule fires more often than hourly; detection of newly indexed events is a sensor, on by default."""
    repository = defs.get_repository_def()
    every_minute = [s.name for s in repository.schedule_defs if str(s.cron_schedule).split()[0] in ("*", "*/1")]
    assert every_minute == []
    assert "recent_findings" not in {k.to_user_string() for k in repository.asset_graph.get_all_asset_keys()}
    sensor = repository.get_sensor_def("new_events_detection")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert [k.to_user_string() for k in sensor.asset_selection.resolve(repository.asset_graph)] == ["findings"]
