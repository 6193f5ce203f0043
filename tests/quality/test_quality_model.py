"""Pure parts: result semantics, deterministic siem-dq ids, the volume band, reference times, the request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_project.errors import ConfigurationError
from dagster_project.quality.aggregations import build_request
from dagster_project.quality.model import CHECKS, CheckResult, Severity
from dagster_project.quality.scope import is_open, parse_partition, reference_time
from dagster_project.quality.store import dq_document, dq_id
from dagster_project.quality.timeliness import volume_band
from tests.quality.builders import jsonl

pytestmark = pytest.mark.usefixtures("default_namespace")


def result(check: str, passed: bool, severity: Severity) -> CheckResult:
    return CheckResult("jsonl", "2026-11-27", check, passed, severity, "how", total=10, failing=0 if passed else 6)


def test_only_a_failed_blocking_check_with_error_blocks() -> None:
    assert result("required_fields", False, Severity.ERROR).blocks
    assert not result("required_fields", False, Severity.WARN).blocks
    assert not result("required_fields", True, Severity.ERROR).blocks
    assert not result("freshness", False, Severity.ERROR).blocks
    assert {name for name, check in CHECKS.items() if check.blocking} == {
        "timestamp_present",
        "required_fields",
    }


def test_unknown_checks_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        result("nope", True, Severity.WARN)


def test_dq_ids_are_a_function_of_source_partition_and_check() -> None:
    assert dq_id("jsonl", "2026-11-27", "volume") == dq_id("jsonl", "2026-11-27", "volume")
    ids = {dq_id(s, p, c) for s in ("jsonl", "windows") for p in ("2026-11-26", "2026-11-27") for c in CHECKS}
    assert len(ids) == 2 * 2 * len(CHECKS)


def test_the_document_matches_the_siem_dq_mapping() -> None:
    from dagster_project.storage.artifacts import component_template

    properties = component_template("siem-dq").body["template"]["mappings"]["properties"]
    document = dq_document(result("required_fields", False, Severity.WARN), datetime(2026, 11, 27, tzinfo=UTC))
    assert set(document) == set(properties)
    assert document["ratio"] == 0.6 and document["blocking"] is True and document["observed"]["method"] == "aggregation"


@pytest.mark.parametrize(
    ("baseline", "median", "lower", "upper"),
    [
        ([100, 110, 90, 100, 105, 95, 100], 100.0, 75.0, 125.0),  # MAD 5, k 5
        ([1000] * 7, 1000.0, 750.0, 1250.0),  # MAD 0: floored at 5 % of the median
        ([0, 0, 0, 3, 4, 5, 0], 0.0, 0.0, 5.0),  # MAD 0, median 0: floored at 1
    ],
)
def test_volume_band(baseline: list[int], median: float, lower: float, upper: float) -> None:
    band = volume_band(baseline, k=5, mad_floor=0.05)
    assert (band.median, band.lower, band.upper) == (median, lower, upper)


def test_reference_time_is_now_while_open_and_the_end_once_closed() -> None:
    during = datetime(2026, 11, 27, 15, tzinfo=UTC)
    later = datetime(2027, 3, 1, tzinfo=UTC)
    assert reference_time("2026-11-27", during) == during and is_open("2026-11-27", during)
    assert reference_time("2026-11-27", later) == datetime(2026, 11, 28, tzinfo=UTC)
    assert not is_open("2026-11-27", later)


@pytest.mark.parametrize("bad", ["2026-11-31", "27.11.2026", "2026-1-7", ""])
def test_partitions_must_be_days(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a day"):
        parse_partition(bad)


def test_the_request_aggregates_and_loads_no_document() -> None:
    expectations = jsonl()
    body = build_request(
        "jsonl",
        "2026-11-27",
        expectations,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 27, 12, 5, tzinfo=UTC),
    )
    assert body["size"] == 0
    assert body["query"] == {
        "bool": {"filter": [{"term": {"siem.source": "jsonl"}}, {"term": {"siem.partition": "2026-11-27"}}]}
    }
    roles = [r.role for r in expectations.required]
    assert set(body["aggs"]) == {
        "ts_missing",
        "ts_stats",
        "ts_future",
        "ts_old",
        "content_hashed",
        "content_distinct",
        "content_repeats",
        "incomplete",
        *(f"req_{role}" for role in roles),
        *(f"applies_{r.role}" for r in expectations.required if r.where),
    }
    who = next(r for r in expectations.required if r.role == "who")
    assert body["aggs"]["req_who"]["filter"] == {
        "bool": {
            "must_not": [{"exists": {"field": "user.name"}}],
            "filter": [{"bool": {"filter": [{"terms": {"event.category": ["authentication", "session", "iam"]}}]}}],
        }
    }
    assert body["aggs"]["applies_who"] == {"filter": who.applies_query()}
    assert body["aggs"]["ts_future"]["filter"] == {"range": {"@timestamp": {"gt": "2026-11-27T12:05:00Z"}}}
