"""Near-real-time detection: the sensor launches `findings` runs for the event days that got newly indexed
events, and nothing while nothing arrives (the every-minute schedule it replaces launched 1,440 runs a day)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from dagster_project.assets.detection import new_events_sensor
from dagster_project.ingest.pipeline import ingest
from dagster_project.resources import OpenSearchResource
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
QUIET_TICKS = 5


def _file(path: Path, stamps: list[str]) -> Path:
    path.write_text(
        "".join(json.dumps({"@timestamp": s, "message": f"event {i} at {s}"}) + "\n" for i, s in enumerate(stamps))
    )
    return path


def _tick(url: str, cursor: str | None) -> tuple[list[str], str | None]:
    context = dg.build_sensor_context(cursor=cursor, resources={"opensearch": OpenSearchResource(url=url)})
    result = new_events_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return sorted(r.partition_key or "" for r in result.run_requests or []), result.cursor


def test_runs_only_for_event_days_with_newly_indexed_events(
    clean_siem: OpenSearch, opensearch_url: str, tmp_path: Path
) -> None:
    bootstrap(clean_siem, RETENTION)
    days, cursor = _tick(opensearch_url, None)
    assert days == []
    first = _file(tmp_path / "a.jsonl", ["2024-03-01T10:00:00Z", "2024-03-01T23:59:59Z", "2024-03-02T00:00:00Z"])
    assert ingest(clean_siem, "jsonl", [first], retention=RETENTION, refresh=True).indexed == 3
    days, cursor = _tick(opensearch_url, cursor)
    assert days == ["2024-03-01", "2024-03-02"]
    launched = 0
    for _ in range(QUIET_TICKS):
        quiet, cursor = _tick(opensearch_url, cursor)
        launched += len(quiet)
    assert launched == 0, "no run while nothing arrives"
    assert ingest(clean_siem, "jsonl", [first], retention=RETENTION, refresh=True).indexed == 0
    assert _tick(opensearch_url, cursor)[0] == [], "re-ingesting the same records indexes nothing new"
    second = _file(tmp_path / "b.jsonl", ["2024-03-05T08:00:00Z"])
    ingest(clean_siem, "jsonl", [second], retention=RETENTION, refresh=True)
    days, cursor = _tick(opensearch_url, cursor)
    assert days == ["2024-03-05"]
    assert _tick(opensearch_url, cursor)[0] == []


def test_a_stamp_whose_count_grows_is_new_again(clean_siem: OpenSearch, opensearch_url: str, tmp_path: Path) -> None:
    """Later batches of one run share its `event.ingested`: the sensor sees them by their count."""
    bootstrap(clean_siem, RETENTION)
    ingest(
        clean_siem, "jsonl", [_file(tmp_path / "a.jsonl", ["2024-04-01T10:00:00Z"])], retention=RETENTION, refresh=True
    )
    days, cursor = _tick(opensearch_url, None)
    assert days == ["2024-04-01"] and cursor
    (stamp,) = json.loads(cursor)
    query = {"query": {"term": {"event.ingested": int(stamp)}}}
    hit = clean_siem.search(index=naming.events_pattern(), body=query)["hits"]["hits"][0]
    late = dict(hit["_source"], **{"@timestamp": "2024-04-03T10:00:00Z", "message": "a late batch of the same run"})
    clean_siem.index(index=hit["_index"].replace("2024.04.01", "2024.04.03"), id="late-batch", body=late, refresh=True)
    assert _tick(opensearch_url, cursor)[0] == ["2024-04-01", "2024-04-03"]
