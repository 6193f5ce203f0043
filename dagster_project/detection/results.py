"""Read search responses of compiled rules: pure functions of the response, no client.

For correlations this is where a `temporal` condition and its order are evaluated, window by window
(see `dagster_project.detection.compile`). Within one window, `temporal_ordered` holds when each
referenced rule's first event is no later than the next rule's last event; for two references that
is exactly "an A then a B", for more it is a necessary condition only. A referenced event-count
correlation is judged by its count inside the window, and its first event stands for its time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dagster_project.detection.compile import CompiledRule, Correlation
from dagster_project.errors import DetectionError


@dataclass(frozen=True, slots=True)
class CorrelationAlert:
    """One group whose events met a correlation's condition, over the merged qualifying windows."""

    group: tuple[tuple[str, Any], ...]
    """(ECS field, value) per group-by field."""
    start: datetime
    end: datetime
    events: int
    """Events in the fullest qualifying window."""


def hit_ids(response: Mapping[str, Any]) -> list[str]:
    """The `_id`s of the documents a plain rule's search returned, in response order."""
    return [hit["_id"] for hit in response.get("hits", {}).get("hits", [])]


def _compare(value: float, op: str, count: int) -> bool:
    return {
        "lt": value < count,
        "lte": value <= count,
        "gt": value > count,
        "gte": value >= count,
        "eq": value == count,
        "neq": value != count,
    }[op]


def _window_holds(correlation: Correlation, bucket: Mapping[str, Any]) -> bool:
    if correlation.type == "event_count":
        return _compare(bucket["doc_count"], correlation.op, correlation.count)
    present = []
    for ref in correlation.refs:
        count = bucket[ref.name]["doc_count"]
        if ref.op is None or ref.count is None:
            present.append(count >= 1)
        else:
            present.append(count >= 1 and _compare(count, ref.op, ref.count))
    if not _compare(sum(present), correlation.op, correlation.count):
        return False
    if correlation.ordered:
        seen = [ref for ref, here in zip(correlation.refs, present, strict=True) if here]
        for earlier, later in zip(seen, seen[1:], strict=False):
            if bucket[earlier.name]["first"]["value"] > bucket[later.name]["last"]["value"]:
                return False
    return True


def _groups(
    aggs: Mapping[str, Any], group_by: tuple[str, ...], depth: int, key: tuple[tuple[str, Any], ...]
) -> Iterator[tuple[tuple[tuple[str, Any], ...], Mapping[str, Any]]]:
    if depth == len(group_by):
        yield key, aggs
        return
    for bucket in aggs[f"group_{depth}"]["buckets"]:
        yield from _groups(bucket, group_by, depth + 1, (*key, (group_by[depth], bucket["key"])))


def _utc(millis: float) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def correlation_alerts(compiled: CompiledRule, response: Mapping[str, Any]) -> tuple[CorrelationAlert, ...]:
    """The groups that met the correlation's condition, one alert per run of overlapping windows."""
    correlation = compiled.correlation
    if correlation is None:
        raise DetectionError("not a correlation rule", where=compiled.rule_id)
    aggs = response.get("aggregations")
    if aggs is None:
        raise DetectionError("response has no aggregations", where=compiled.rule_id)
    width = correlation.timespan_seconds * 1000
    alerts: list[CorrelationAlert] = []
    for group, leaf in _groups(aggs, correlation.group_by, 0, ()):
        windows = sorted(
            (bucket["key"], bucket["key"] + width, bucket["doc_count"])
            for series in ("window", "window_offset")
            for bucket in leaf.get(series, {}).get("buckets", [])
            if _window_holds(correlation, bucket)
        )
        merged: list[list[float]] = []
        for start, end, events in windows:
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
                merged[-1][2] = max(merged[-1][2], events)
            else:
                merged.append([start, end, events])
        alerts.extend(CorrelationAlert(group, _utc(start), _utc(end), int(events)) for start, end, events in merged)
    return tuple(sorted(alerts, key=lambda alert: (alert.start, str(alert.group))))
