"""Against the real node: each kind of bad partition fails exactly the right check with the right numbers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from dagster_project.paths import repo_dir
from dagster_project.quality.completeness import completeness
from dagster_project.quality.model import CHECKS, CheckResult, Severity
from dagster_project.quality.runner import check_partition, run_checks
from dagster_project.quality.store import dq_id
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from tests.quality.builders import (
    LONG_RETENTION,
    NOW,
    PARTITION,
    event,
    hours_before,
    index_directly,
    ingest_docs,
    jsonl,
)

pytestmark = pytest.mark.live


@pytest.fixture
def siem(clean_siem: OpenSearch) -> Iterator[OpenSearch]:
    """A cluster with the suite's templates applied and no siem data."""
    bootstrap(clean_siem, LONG_RETENTION)
    yield clean_siem


def check(client: OpenSearch, partition: str = PARTITION) -> dict[str, CheckResult]:
    results = check_partition(client, "jsonl", partition, now=NOW, retention=LONG_RETENTION, refresh=True)
    assert [r.check for r in results] == list(CHECKS)
    return {r.check: r for r in results}


def failed(results: dict[str, CheckResult]) -> set[str]:
    return {name for name, r in results.items() if not r.passed}


def complete_events(count: int, start: int = 0, arrived: datetime = NOW) -> list[dict[str, object]]:
    """Events with every required field, a minute apart, the latest an hour before they arrived."""
    expectations = jsonl()
    return [event(expectations, i, arrived - timedelta(hours=1, minutes=i)) for i in range(start, start + count)]


def test_a_clean_partition_passes_everything_and_is_recorded_once(siem: OpenSearch, tmp_path: Path) -> None:
    assert ingest_docs(siem, tmp_path / "clean.jsonl", complete_events(20)) == 20
    results = check(siem)
    assert failed(results) == set()
    assert results["required_fields"].total == 20 and results["required_fields"].failing == 0
    assert results["ip_valid"].observed["sampled_events"] == 20
    stored = siem.search(index=naming.dq_index(), body={"size": 100, "query": {"term": {"partition": PARTITION}}})
    ids = {hit["_id"] for hit in stored["hits"]["hits"]}
    assert ids == {dq_id("jsonl", PARTITION, name) for name in CHECKS}
    check(siem)
    assert siem.count(index=naming.dq_index())["count"] == len(CHECKS)


def test_missing_fields_fail_required_fields_with_counts_per_role(siem: OpenSearch, tmp_path: Path) -> None:
    expectations = jsonl()
    dropped = [r.role for r in expectations.required if r.role != "when"][:2]
    docs = complete_events(10) + [event(expectations, i, hours_before(2), without=dropped) for i in range(10, 14)]
    ingest_docs(siem, tmp_path / "missing.jsonl", docs)
    results = check(siem)
    assert failed(results) == {"required_fields"}
    required = results["required_fields"]
    assert (required.total, required.failing, required.severity, required.blocks) == (
        14,
        4,
        Severity.WARN,
        False,
    )
    by_role = required.observed["missing_by_role"]
    assert {role: entry["missing"] for role, entry in by_role.items()} == {
        r.role: 4 if r.role in dropped else 0 for r in expectations.required
    }
    assert required.observed["missing_values"] == 8
    assert required.observed["completeness_percent"] == round(100 * 10 / 14, 3)
    assert len(required.observed["sample_ids"]) == 4


def test_most_fields_missing_is_a_blocking_error(siem: OpenSearch, tmp_path: Path) -> None:
    expectations = jsonl()
    others = [r.role for r in expectations.required if r.role != "when"]
    docs = [event(expectations, i, hours_before(1), without=others) for i in range(6)]
    ingest_docs(siem, tmp_path / "bare.jsonl", docs)
    results = check(siem)
    assert failed(results) == {"required_fields"}
    required = results["required_fields"]
    assert (required.failing, required.severity, required.blocks) == (6, Severity.ERROR, True)
    assert required.observed["missing_values"] == 6 * len(others)


def test_duplicated_content_fails_content_unique(siem: OpenSearch, tmp_path: Path) -> None:
    ingest_docs(siem, tmp_path / "events.jsonl", complete_events(10))
    # The same records written again under other ids, as a second shipper or a re-index would.
    hits = siem.search(index=naming.events_pattern("jsonl"), body={"size": 3, "sort": [{"siem.line": "asc"}]})["hits"][
        "hits"
    ]
    for n, hit in enumerate(hits):
        siem.index(index=hit["_index"], id=f"copy-{n}", body=hit["_source"])
    siem.indices.refresh(index=naming.events_pattern("jsonl"))
    results = check(siem)
    assert failed(results) == {"content_unique"}
    unique = results["content_unique"]
    assert (unique.total, unique.failing) == (13, 3)
    assert unique.observed["distinct_content"] == 10
    repeated = {entry["content_hash"]: entry for entry in unique.observed["top_repeated"]}
    assert set(repeated) == {hit["_source"]["siem"]["content_hash"] for hit in hits}
    for n, hit in enumerate(hits):
        entry = repeated[hit["_source"]["siem"]["content_hash"]]
        assert entry["count"] == 2 and set(entry["ids"]) == {hit["_id"], f"copy-{n}"}


def test_a_line_the_log_repeats_is_not_a_duplicate(siem: OpenSearch, tmp_path: Path) -> None:
    docs = complete_events(5)
    ingest_docs(siem, tmp_path / "repeats.jsonl", [*docs, docs[0], docs[0]])  # one request, three times
    results = check(siem)
    assert failed(results) == set()
    unique = results["content_unique"]
    assert (unique.total, unique.failing) == (7, 0)
    assert (unique.observed["repeated_content"], unique.observed["duplicates"]) == (2, 0)


def test_future_timestamps_fail_timestamp_in_range(siem: OpenSearch, tmp_path: Path) -> None:
    expectations = jsonl()
    ingest_docs(siem, tmp_path / "events.jsonl", complete_events(10))
    future = [event(expectations, 100 + i, NOW + timedelta(days=8, minutes=i)) for i in range(3)]
    for n, doc in enumerate(future):
        index_directly(siem, doc, f"future-{n}")
    siem.indices.refresh(index=naming.events_pattern("jsonl"))
    results = check(siem)
    assert failed(results) == {"timestamp_in_range"}
    in_range = results["timestamp_in_range"]
    assert (in_range.total, in_range.failing) == (13, 3)
    assert (in_range.observed["future"], in_range.observed["older_than_retention"]) == (3, 0)
    assert in_range.observed["window_end"] == "2026-11-27T12:05:00Z"
    assert [s["id"] for s in in_range.observed["future_samples"]] == ["future-2", "future-1", "future-0"]
    assert in_range.observed["max_timestamp"] == "2026-12-05T12:02:00.000Z"


def test_a_silent_source_fails_freshness(siem: OpenSearch, tmp_path: Path) -> None:
    three_days_ago = NOW - timedelta(days=3)
    docs = [event(jsonl(), i, three_days_ago - timedelta(hours=1)) for i in range(5)]
    ingest_docs(siem, tmp_path / "old.jsonl", docs, partition="2026-11-24", now=three_days_ago)
    results = check(siem)
    assert failed(results) == {"freshness"}
    fresh = results["freshness"]
    assert fresh.severity is Severity.ERROR and not fresh.blocks
    assert fresh.observed["hours_silent"] == 72.0
    assert fresh.observed["last_arrival"] == "2026-11-24T12:00:00.000Z"
    assert (fresh.observed["arrived_in_window"], fresh.observed["arrived_ever"]) == (0, 5)
    assert results["volume"].observed["not_judged"] == "only 1 of the 7 previous partitions have events"
    assert results["required_fields"].total == 0


def test_a_source_that_never_sent_is_not_monitored(siem: OpenSearch) -> None:
    results = check(siem)
    assert failed(results) == set()
    assert results["freshness"].observed["monitored"] is False


def test_volume_outside_the_band_warns(siem: OpenSearch, tmp_path: Path) -> None:
    day = date.fromisoformat(PARTITION)
    for back in range(1, 8):
        partition = (day - timedelta(days=back)).isoformat()
        arrived = NOW - timedelta(days=back)
        docs = [event(jsonl(), back * 100 + i, arrived - timedelta(hours=1)) for i in range(10)]
        ingest_docs(siem, tmp_path / f"{partition}.jsonl", docs, partition=partition, now=arrived)
    ingest_docs(siem, tmp_path / "burst.jsonl", complete_events(80, start=5000))
    results = check(siem)
    assert failed(results) == {"volume"}
    volume = results["volume"]
    assert volume.severity is Severity.WARN
    assert (volume.observed["count"], volume.observed["median"], volume.observed["upper"]) == (80, 10.0, 15.0)


def test_a_missing_template_fails_the_derived_checks_and_counts_nothing_as_verified(
    siem: OpenSearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_docs(siem, tmp_path / "events.jsonl", complete_events(5))
    shutil.copytree(repo_dir("index_templates"), tmp_path / "index_templates")
    (tmp_path / "index_templates" / "component_templates" / "siem-jsonl.json").unlink()
    monkeypatch.setenv("SIEM_ARTIFACTS_DIR", str(tmp_path))
    results = {r.check: r for r in run_checks(siem, "jsonl", PARTITION, now=NOW, retention=LONG_RETENTION)}
    assert failed(results) == {"required_fields", "ip_valid", "outcome_valid"}
    required = results["required_fields"]
    assert (required.total, required.failing, required.severity, required.blocks) == (
        5,
        5,
        Severity.ERROR,
        True,
    )
    assert f"no component template '{naming.component_template_name('jsonl')}'" in required.observed["error"]
    assert all(results[name].severity is Severity.ERROR for name in ("ip_valid", "outcome_valid"))


def test_completeness_sums_the_recorded_results_over_a_period(siem: OpenSearch, tmp_path: Path) -> None:
    expectations = jsonl()
    ingest_docs(siem, tmp_path / "a.jsonl", complete_events(20))
    check(siem)
    yesterday, arrived = "2026-11-26", NOW - timedelta(days=1)
    docs = complete_events(10, start=100, arrived=arrived) + [
        event(expectations, i, arrived - timedelta(hours=2), without=["who"]) for i in range(200, 204)
    ]
    ingest_docs(siem, tmp_path / "b.jsonl", docs, partition=yesterday, now=arrived)
    check(siem, yesterday)
    (figure,) = completeness(siem, date(2026, 11, 1), date(2026, 11, 30), source="jsonl")
    assert (figure.records, figure.complete, figure.partitions_checked, figure.partitions_failed) == (
        34,
        30,
        2,
        1,
    )
    assert figure.ratio == pytest.approx(30 / 34)
    assert figure.partitions_in_period == 30
    (only_today,) = completeness(siem, date(2026, 11, 27), date(2026, 11, 27))
    assert (only_today.source, only_today.records, only_today.ratio) == ("jsonl", 20, 1.0)
    (nothing,) = completeness(siem, date(2026, 11, 1), date(2026, 11, 30), source="windows")
    assert (nothing.records, nothing.ratio) == (0, None)
