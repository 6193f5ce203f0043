"""Reading correlation responses: windows, conditions, order, and merging of overlapping windows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dagster_project.detection.compile import CompiledRule, Correlation, CorrelationRef
from dagster_project.detection.results import CorrelationAlert, correlation_alerts, hit_ids
from dagster_project.errors import DetectionError

MINUTE = 60_000
T0 = 1_795_000_000_000  # a multiple of 10 minutes, in epoch milliseconds


def _compiled(correlation: Correlation | None) -> CompiledRule:
    return CompiledRule("rule-id", "title", "medium", "idx-*", {"match_all": {}}, (), correlation, None)


COUNT = Correlation("event_count", ("source.ip",), 600, "gte", 5, (CorrelationRef("failed", {}),))
ORDERED = Correlation(
    "temporal_ordered",
    ("source.ip",),
    600,
    "gte",
    2,
    (CorrelationRef("burst", {}, "gte", 5), CorrelationRef("success", {})),
)


def _ref(count: int, first: int, last: int) -> dict[str, Any]:
    return {"doc_count": count, "first": {"value": first}, "last": {"value": last}}


def _response(groups: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {"aggregations": {"group_0": {"buckets": [{"key": key, **series} for key, series in groups.items()]}}}


def _utc(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def test_event_count_windows_are_judged_and_overlaps_merged() -> None:
    """A burst seen in both window series is one alert spanning both; a short group is none."""
    response = _response(
        {
            "203.0.113.1": {
                "window": {"buckets": [{"key": T0, "doc_count": 6}]},
                "window_offset": {"buckets": [{"key": T0 - 5 * MINUTE, "doc_count": 5}]},
            },
            "203.0.113.2": {
                "window": {"buckets": [{"key": T0, "doc_count": 4}]},
                "window_offset": {"buckets": []},
            },
        }
    )
    assert correlation_alerts(_compiled(COUNT), response) == (
        CorrelationAlert((("source.ip", "203.0.113.1"),), _utc(T0 - 5 * MINUTE), _utc(T0 + 10 * MINUTE), 6),
    )


def test_separate_bursts_of_one_group_are_separate_alerts() -> None:
    """Windows that do not overlap stay apart."""
    response = _response(
        {
            "203.0.113.1": {
                "window": {"buckets": [{"key": T0, "doc_count": 5}, {"key": T0 + 60 * MINUTE, "doc_count": 7}]}
            }
        }
    )
    alerts = correlation_alerts(_compiled(COUNT), response)
    assert [(alert.start, alert.events) for alert in alerts] == [(_utc(T0), 5), (_utc(T0 + 60 * MINUTE), 7)]


@pytest.mark.parametrize(
    ("burst", "success", "expected"),
    [
        (_ref(6, T0 + MINUTE, T0 + 3 * MINUTE), _ref(1, T0 + 4 * MINUTE, T0 + 4 * MINUTE), True),
        (_ref(6, T0 + 2 * MINUTE, T0 + 4 * MINUTE), _ref(1, T0 + MINUTE, T0 + MINUTE), False),
        (_ref(3, T0 + MINUTE, T0 + 2 * MINUTE), _ref(1, T0 + 3 * MINUTE, T0 + 3 * MINUTE), False),
        (_ref(6, T0 + MINUTE, T0 + 3 * MINUTE), _ref(0, 0, 0), False),
    ],
    ids=["burst-then-success", "success-first", "burst-too-small", "no-success"],
)
def test_temporal_ordered_needs_count_and_order(burst: dict[str, Any], success: dict[str, Any], expected: bool) -> None:
    """A referenced count must hold in the window, and the references must come in order."""
    bucket = {
        "key": T0,
        "doc_count": burst["doc_count"] + success["doc_count"],
        "burst": burst,
        "success": success,
    }
    response = _response({"198.51.100.7": {"window": {"buckets": [bucket]}, "window_offset": {"buckets": []}}})
    assert bool(correlation_alerts(_compiled(ORDERED), response)) is expected


def test_plain_rule_response_is_not_a_correlation() -> None:
    """Asking for correlation alerts of a plain rule is a mistake, reported as such."""
    with pytest.raises(DetectionError, match="not a correlation rule"):
        correlation_alerts(_compiled(None), {"hits": {"hits": []}})


def test_hit_ids_keep_response_order() -> None:
    """The ids of a plain rule's hits, as returned."""
    assert hit_ids({"hits": {"hits": [{"_id": "b"}, {"_id": "a"}]}}) == ["b", "a"]
