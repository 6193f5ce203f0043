"""The writers pool: every bulk writer to OpenSearch is in it, and its sensor sizes it from SIEM_OPENSEARCH_WRITERS;
the instance configuration of the checkout, of `siem serve` and of the Docker image queue runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dagster_project.assets.collection import SOURCE_TAG
from dagster_project.assets.detection import findings
from dagster_project.assets.ingestion import INGESTION_ASSETS
from dagster_project.assets.pools import OPENSEARCH_WRITERS, opensearch_writers_pool
from dagster_project.collect.supervisor import SERVE_DEQUEUE_SECONDS, dagster_home
from dagster_project.definitions import defs
from dagster_project.resources import ConcurrencyResource
from tests.orchestration.daemon import INSTANCE_CONFIG, REPO


def test_every_bulk_writer_is_in_the_writers_pool_and_nothing_else_is() -> None:
    writers = {asset.key for asset in [*INGESTION_ASSETS, findings]}
    offenders = []
    for asset in defs.get_repository_def().assets_defs_by_key.values():
        for key in asset.keys:
            pool = asset.op.pool
            if (key in writers) != (pool == OPENSEARCH_WRITERS):
                offenders.append(f"{key.to_user_string()}: pool {pool!r}")
    assert offenders == []
    assert opensearch_writers_pool in defs.sensors


def test_the_sensor_gives_the_pool_the_setting_s_slots(tmp_path: Path) -> None:
    shutil.copy(INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        for writers, expected in (("", 2), ("5", 5), ("5", 5)):
            context = dg.build_sensor_context(
                instance=instance, resources={"concurrency": ConcurrencyResource(opensearch_writers=writers)}
            )
            skipped = opensearch_writers_pool(context)
            assert isinstance(skipped, dg.SkipReason) and f"{expected} slot" in (skipped.skip_message or "")
            assert instance.event_log_storage.get_concurrency_info(OPENSEARCH_WRITERS).slot_count == expected


def test_the_checkout_s_instance_queues_runs(tmp_path: Path) -> None:
    shutil.copy(INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        assert queue.should_block_op_concurrency_limited_runs


def test_serve_s_instance_is_the_checkout_s_with_one_spool_run_per_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = dagster_home(tmp_path)
    written = yaml.safe_load((home / "dagster.yaml").read_text())
    checkout = yaml.safe_load(INSTANCE_CONFIG.read_text())
    assert written.pop("run_coordinator").pop("config") == {"dequeue_interval_seconds": SERVE_DEQUEUE_SECONDS}
    checkout["run_coordinator"].pop("config", None)
    assert {**written, "run_coordinator": checkout["run_coordinator"]} == checkout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 4
        (limit,) = queue.tag_concurrency_limits
        assert (limit["key"], limit["limit"], limit["value"]) == (SOURCE_TAG, 1, {"applyLimitPerUniqueValue": True})
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert dagster_home(tmp_path) == home and "QueuedRunCoordinator" not in (home / "dagster.yaml").read_text()


def test_the_image_s_instance_is_the_checkout_s_with_storage_on_the_compose_volume() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^COPY dagster\.yaml docker/storage\.yaml ", dockerfile, re.MULTILINE)
    assert "cat /tmp/dagster/dagster.yaml /tmp/dagster/storage.yaml > $DAGSTER_HOME/dagster.yaml" in dockerfile
    checkout = yaml.safe_load(INSTANCE_CONFIG.read_text())
    storage = yaml.safe_load((REPO / "docker" / "storage.yaml").read_text())
    assert set(checkout).isdisjoint(storage), "appending must not repeat a key"
    image = yaml.safe_load(INSTANCE_CONFIG.read_text() + (REPO / "docker" / "storage.yaml").read_text())
    assert image == {**checkout, **storage}
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = {
        v.split(":")[1] for s in ("dagster-webserver", "dagster-daemon") for v in compose["services"][s]["volumes"]
    }
    assert storage["storage"]["sqlite"]["base_dir"] in mounts
