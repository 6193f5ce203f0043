"""Freshness and volume per source, from aggregations over arrival time and partition counts."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from dagster_project import searches
from dagster_project.quality.model import CheckResult, Severity
from dagster_project.quality.scope import (
    SEARCH_OPTIONS,
    is_open,
    iso,
    parse_partition,
    reference_time,
    source_filter,
    source_indices,
)
from dagster_project.settings import QualitySettings

MIN_BASELINE_DAYS = 3
"""Fewer trailing partitions with events than this is no baseline: volume is not judged."""
ARRIVAL_FIELD = "event.ingested"


def freshness(
    client: OpenSearch, source: str, partition: str, *, now: datetime, settings: QualitySettings
) -> CheckResult:
    """ERROR when a source that has sent before was silent for over `freshness_hours` at the reference."""
    reference = reference_time(partition, now)
    window_start = reference - timedelta(hours=settings.freshness_hours)
    week_start = reference - timedelta(days=settings.volume_days)
    body = {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [source_filter(source), {"range": {ARRIVAL_FIELD: {"lte": iso(reference)}}}]}},
        "aggs": {
            "last": {"max": {"field": ARRIVAL_FIELD}},
            "window": {"filter": {"range": {ARRIVAL_FIELD: {"gt": iso(window_start)}}}},
            "recent": {
                "filter": {"range": {ARRIVAL_FIELD: {"gt": iso(week_start)}}},
                "aggs": {"daily": {"date_histogram": {"field": ARRIVAL_FIELD, "calendar_interval": "day"}}},
            },
        },
    }
    response = searches.search(
        client, f"timeliness of {source}", index=source_indices(source), body=body, **SEARCH_OPTIONS
    )
    aggs = response.get("aggregations", {})
    ever = int(response["hits"]["total"]["value"])
    last_value = aggs.get("last", {}).get("value_as_string")
    in_window = int(aggs.get("window", {}).get("doc_count", 0))
    daily = {
        b["key_as_string"][:10]: b["doc_count"] for b in aggs.get("recent", {}).get("daily", {}).get("buckets", [])
    }
    silent_hours = None
    if last_value is not None:
        last = datetime.fromisoformat(last_value.replace("Z", "+00:00"))
        silent_hours = round((reference - last).total_seconds() / 3600, 2)
    passed = ever == 0 or in_window > 0
    return CheckResult(
        source=source,
        partition=partition,
        check="freshness",
        passed=passed,
        severity=Severity.ERROR,
        total=in_window,
        failing=None,
        observed={
            "reference": iso(reference),
            "threshold_hours": settings.freshness_hours,
            "last_arrival": last_value,
            "hours_silent": silent_hours,
            "arrived_in_window": in_window,
            "arrived_ever": ever,
            "arrivals_by_day": daily,
            "monitored": ever > 0,
        },
        description=(
            f"Aggregation over {ARRIVAL_FIELD} of every {source} event up to the reference {iso(reference)} "
            f"(now while the partition is open, its end once closed): `max` for the last arrival, a `filter` "
            f"counting arrivals in the last {settings.freshness_hours:g} h (SIEM_FRESHNESS_HOURS), a daily "
            "`date_histogram` for context. Fails with ERROR when a source that has sent before sent nothing "
            "in that window; a source that never sent is not monitored."
        ),
    )


@dataclass(frozen=True)
class Band:
    """The expected range of a partition's count: median ± k·MAD of the baseline (MAD floored)."""

    median: float
    mad: float
    spread: float
    lower: float
    upper: float


def volume_band(baseline: list[int], k: float, mad_floor: float) -> Band:
    """The band of a baseline; the MAD used is at least `mad_floor` × median and at least 1."""
    median = float(statistics.median(baseline))
    mad = float(statistics.median(abs(x - median) for x in baseline))
    spread = max(mad, mad_floor * median, 1.0)
    return Band(median, mad, spread, max(0.0, median - k * spread), median + k * spread)


def volume(client: OpenSearch, source: str, partition: str, *, now: datetime, settings: QualitySettings) -> CheckResult:
    """WARN when the partition's count leaves the trailing band (upper bound only while the day is open)."""
    day = parse_partition(partition)
    previous = [(day - timedelta(days=n)).isoformat() for n in range(settings.volume_days, 0, -1)]
    body: dict[str, Any] = {
        "size": 0,
        "query": {"bool": {"filter": [source_filter(source), {"terms": {"siem.partition": [*previous, partition]}}]}},
        "aggs": {"by_partition": {"terms": {"field": "siem.partition", "size": len(previous) + 1}}},
    }
    response = searches.search(client, f"volume of {source}", index=source_indices(source), body=body, **SEARCH_OPTIONS)
    buckets = response.get("aggregations", {}).get("by_partition", {}).get("buckets", [])
    counts = {b["key"]: int(b["doc_count"]) for b in buckets}
    count = counts.get(partition, 0)
    baseline = {key: counts.get(key, 0) for key in previous}
    open_day = is_open(partition, now)
    observed: dict[str, Any] = {
        "count": count,
        "baseline": baseline,
        "k": settings.volume_k,
        "open_partition": open_day,
    }
    days_with_data = sum(1 for n in baseline.values() if n)
    if days_with_data < MIN_BASELINE_DAYS:
        passed = True
        observed["not_judged"] = f"only {days_with_data} of the {len(previous)} previous partitions have events"
    else:
        band = volume_band(list(baseline.values()), settings.volume_k, settings.volume_mad_floor)
        observed |= {
            "median": band.median,
            "mad": band.mad,
            "spread": band.spread,
            "lower": band.lower,
            "upper": band.upper,
        }
        passed = count <= band.upper and (open_day or count >= band.lower)
    return CheckResult(
        source=source,
        partition=partition,
        check="volume",
        passed=passed,
        severity=Severity.WARN,
        total=count,
        failing=None,
        observed=observed,
        description=(
            f"Aggregation: a `terms` aggregation on siem.partition counts this partition and the "
            f"{len(previous)} before it (missing days count 0). Band = median ± k·MAD "
            f"(k={settings.volume_k:g}, MAD at least {settings.volume_mad_floor:g}×median and 1); below the "
            "band is judged only once the day has closed, and not at all with fewer than "
            f"{MIN_BASELINE_DAYS} baseline days with events."
        ),
    )
