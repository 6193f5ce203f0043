"""The checks as Dagster asset checks: run with the ingestion asset on a partition, against the real node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from dagster_project.assets.ingestion import INGESTION_ASSETS
from dagster_project.assets.partitions import ARRIVAL_DAYS
from dagster_project.assets.quality import QUALITY_CHECKS, QUALITY_SCHEDULES, data_quality_schedule
from dagster_project.assets.storage import index_templates
from dagster_project.quality.model import CHECKS
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.quality.builders import event, jsonl, write_jsonl
from tests.resources import suite_resources

(JSONL_EVENTS,) = [a for a in INGESTION_ASSETS if a.key == dg.AssetKey("jsonl_events")]
(JSONL_CHECKS,) = [c for c in QUALITY_CHECKS if c.node_def.name == "jsonl_events_quality"]


@dg.asset(partitions_def=ARRIVAL_DAYS, deps=[JSONL_EVENTS])
def jsonl_detections() -> None:
    """Stands in for detection: it must not run on a partition whose blocking checks failed."""


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """A cluster with the suite's templates applied (default retention) and no siem data."""
    bootstrap(clean_siem, RetentionSettings())
    yield clean_siem


def land(root: Path, partition: str, docs: list[dict[str, Any]]) -> Path:
    """Put documents where the jsonl ingestion asset looks for `partition`."""
    folder = root / "jsonl" / partition
    folder.mkdir(parents=True)
    write_jsonl(folder / "events.jsonl", docs)
    return root


def materialize(url: str, root: Path, partition: str, *extra: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [JSONL_EVENTS, JSONL_CHECKS, *extra],
        partition_key=partition,
        resources=suite_resources(url),
        run_config={"ops": {"jsonl_events": {"config": {"landing_dir": str(root)}}}},
        raise_on_error=False,
    )


pytestmark = pytest.mark.live


def test_every_check_runs_on_the_ingested_partition_and_is_recorded(
    siem: OpenSearch, opensearch_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    partition = now.date().isoformat()
    docs = [event(jsonl(), i, now - timedelta(hours=1, minutes=i)) for i in range(12)]
    result = materialize(opensearch_url, land(tmp_path, partition, docs), partition, jsonl_detections)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(CHECKS)
    assert [name for name, e in evaluations.items() if not e.passed] == []
    required = evaluations["required_fields"]
    assert required.metadata["total"].value == 12 and required.metadata["failing"].value == 0
    assert "Aggregation over all 12 events" in (required.description or "")
    assert "Great Expectations" in (evaluations["ip_valid"].description or "")
    assert result.asset_materializations_for_node("jsonl_detections")
    siem.indices.refresh(index=naming.dq_index())
    assert siem.count(index=naming.dq_index(), body={"query": {"term": {"partition": partition}}})["count"] == len(
        CHECKS
    )


def test_a_blocking_failure_stops_downstream_assets(siem: OpenSearch, opensearch_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    partition = now.date().isoformat()
    others = [r.role for r in jsonl().required if r.role != "when"]
    docs = [event(jsonl(), i, now - timedelta(hours=1), without=others) for i in range(5)]
    result = materialize(opensearch_url, land(tmp_path, partition, docs), partition, jsonl_detections)
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {name: e.severity for name, e in evaluations.items() if not e.passed}
    assert failed == {"required_fields": dg.AssetCheckSeverity.ERROR}
    assert evaluations["required_fields"].metadata["failing"].value == 5
    assert result.asset_materializations_for_node("jsonl_events")
    assert result.asset_materializations_for_node("jsonl_detections") == []


def definitions(url: str = "") -> dg.Definitions:
    """The quality checks and schedule wired the way definitions.py should wire them."""
    return dg.Definitions(
        assets=[index_templates, *INGESTION_ASSETS],
        asset_checks=QUALITY_CHECKS,
        schedules=QUALITY_SCHEDULES,
        resources=suite_resources(url),
    )


def test_the_checks_and_schedule_load_as_definitions() -> None:
    defs = definitions()
    graph = defs.get_repository_def().asset_graph
    keys = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert keys == {(asset.key.to_user_string(), name) for asset in INGESTION_ASSETS for name in CHECKS}
    assert defs.resolve_job_def("data_quality_job").partitions_def == ARRIVAL_DAYS


def schedule_requests(defs: dg.Definitions, moment: datetime) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(scheduled_execution_time=moment, repository_def=defs.get_repository_def())
    return list(data_quality_schedule.evaluate_tick(context).run_requests or [])


def test_the_schedule_checks_today_hourly_and_yesterday_once_after_midnight() -> None:
    defs = definitions()
    assert [r.partition_key for r in schedule_requests(defs, datetime(2026, 11, 28, 14, 20, tzinfo=UTC))] == [
        "2026-11-28"
    ]
    requests = schedule_requests(defs, datetime(2026, 11, 28, 0, 20, tzinfo=UTC))
    assert [r.partition_key for r in requests] == ["2026-11-28", "2026-11-27"]
    assert all(
        r.asset_selection == [] and len(r.asset_check_keys or []) == len(INGESTION_ASSETS) * len(CHECKS)
        for r in requests
    )


def test_a_scheduled_run_checks_without_ingesting(siem: OpenSearch, opensearch_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    defs = definitions(opensearch_url)
    (request,) = schedule_requests(defs, now.replace(hour=12))
    job = defs.resolve_job_def("data_quality_job").get_subset(
        asset_selection=set(request.asset_selection or []),
        asset_check_selection=set(request.asset_check_keys or []),
    )
    result = job.execute_in_process(partition_key=request.partition_key, raise_on_error=False)
    assert result.success
    assert [e for e in result.all_events if e.is_step_materialization] == []
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(INGESTION_ASSETS) * len(CHECKS) and all(e.passed for e in evaluations)
