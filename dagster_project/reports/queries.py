"""The query layer: builds aggregation requests from evidence declarations, runs them, returns plain data.

Every request is an aggregation (terms, filters, date_histogram, cardinality, range) or a bounded
top-N (at most 20 hits); nothing here scrolls an index. Builders (`*_body`) are pure and golden-tested;
runners (`run_*`) send one or two requests each and turn the responses into `model` objects. Event
filters come from `clauses`, alert and breach queries live in `alert_queries`; retention and integrity
facts are stated by storage and integrity (`facts` gathers them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.detection.rules import SIGMA_LEVELS
from dagster_project.quality.completeness import completeness_aggregation, completeness_of
from dagster_project.querydsl import iso_millis, time_range
from dagster_project.reports.clauses import describe_evidence, events_index, evidence_filter
from dagster_project.reports.frameworks import MAX_SAMPLES, EventsEvidence
from dagster_project.reports.model import (
    Arrival,
    Comparison,
    Count,
    DataQualityResult,
    DqSource,
    EventsResult,
    FieldRatio,
    Period,
    Scope,
    TopTable,
)
from dagster_project.reports.responses import (
    MISSING_OK,
    aggregations,
    bucket_counts,
    bucket_key,
    counts,
    hits,
    sample_event,
    search,
    total_hits,
)
from dagster_project.storage import naming

log = logging.getLogger(__name__)

SAMPLE_FIELDS = (
    "@timestamp",
    "siem.source",
    "host.name",
    "user.name",
    "source.ip",
    "event.action",
    "event.outcome",
)
SCOPE_TOP = 10


def trend_interval(period: Period) -> str:
    """Hourly buckets for a period of two days or less, else daily."""
    return "1h" if period.days <= 2 else "1d"


def events_body(evidence: EventsEvidence, period: Period) -> dict[str, Any]:
    """One request for an event evidence: totals of both periods, top values, trend and samples.

    The query spans the previous and the current period; a `filters` aggregation splits them, and a
    `post_filter` keeps the sampled hits inside the current period.
    """
    previous = period.previous()
    current_aggs: dict[str, Any] = {
        f"top_{i}": {"terms": {"field": field, "size": evidence.top_size}} for i, field in enumerate(evidence.top)
    }
    if evidence.trend:
        current_aggs["trend"] = {
            "date_histogram": {
                "field": "@timestamp",
                "fixed_interval": trend_interval(period),
                "min_doc_count": 0,
                "extended_bounds": {
                    "min": iso_millis(period.start),
                    "max": iso_millis(period.end - timedelta(milliseconds=1)),
                },
            }
        }
    body: dict[str, Any] = {
        "size": min(evidence.samples, MAX_SAMPLES),
        "track_total_hits": True,
        "_source": sorted(set(SAMPLE_FIELDS) | set(evidence.top)),
        "sort": [{"@timestamp": {"order": "desc"}}],
        "query": {
            "bool": {"filter": [time_range("@timestamp", previous.start, period.end), *evidence_filter(evidence)]}
        },
        "post_filter": time_range("@timestamp", period.start, period.end),
        "aggs": {
            "periods": {
                "filters": {
                    "filters": {
                        "current": time_range("@timestamp", period.start, period.end),
                        "previous": time_range("@timestamp", previous.start, previous.end),
                    }
                },
                "aggs": {
                    "current_only": {
                        "filter": time_range("@timestamp", period.start, period.end),
                        "aggs": current_aggs,
                    }
                }
                if current_aggs
                else {},
            }
        },
    }
    return body


def run_events(
    client: OpenSearch, evidence: EventsEvidence, period: Period, sources: Sequence[str], sources_volume: int
) -> EventsResult:
    """Run one event evidence query; `sources_volume` is what the searched sources collected in the period."""
    response = search(client, events_index(sources), events_body(evidence, period))
    buckets = aggregations(response).get("periods", {}).get("buckets", {})
    current = buckets.get("current", {})
    inner = current.get("current_only", {})
    tops = tuple(
        TopTable(
            field=field,
            rows=counts(inner.get(f"top_{i}", {})),
            other=inner.get(f"top_{i}", {}).get("sum_other_doc_count", 0),
        )
        for i, field in enumerate(evidence.top)
    )
    trend = tuple(
        Count(key=b["key_as_string"], count=b["doc_count"]) for b in inner.get("trend", {}).get("buckets", [])
    )
    if evidence.trend and not trend:
        trend = _empty_trend(period)
    samples = tuple(sample_event(hit) for hit in hits(response))
    return EventsResult(
        id=evidence.id,
        title=evidence.title,
        query=describe_evidence(evidence, sources),
        sources=tuple(sources),
        expect=evidence.expect,
        none=evidence.none,
        total=current.get("doc_count", 0),
        previous_total=buckets.get("previous", {}).get("doc_count", 0),
        tops=tops,
        trend=trend,
        trend_interval=trend_interval(period) if evidence.trend else "",
        samples=samples,
        sources_volume=sources_volume,
    )


def both_periods_body(period: Period, current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """One request over this and the previous period: `current` aggregations of the one, `previous` of the other."""
    before = period.previous()
    return {
        "size": 0,
        "query": time_range("@timestamp", before.start, period.end),
        "aggs": {
            "current": {"filter": time_range("@timestamp", period.start, period.end), "aggs": current},
            "previous": {"filter": time_range("@timestamp", before.start, before.end), "aggs": previous},
        },
    }


def scope_body(period: Period) -> dict[str, Any]:
    """Volumes per source in both periods, and hosts and accounts seen in the current one."""
    by_source = {"terms": {"field": "siem.source", "size": 100}}
    current = {
        "by_source": by_source,
        "hosts": {"cardinality": {"field": "host.name", "precision_threshold": 40000}},
        "top_hosts": {"terms": {"field": "host.name", "size": SCOPE_TOP}},
        "accounts": {"cardinality": {"field": "user.name", "precision_threshold": 40000}},
        "top_accounts": {"terms": {"field": "user.name", "size": SCOPE_TOP}},
        "cloud_accounts": {"terms": {"field": "cloud.account.id", "size": SCOPE_TOP}},
    }
    return both_periods_body(period, current, {"by_source": by_source})


def run_scope(client: OpenSearch, period: Period) -> Scope:
    """Sources, hosts and accounts of the period, with per-source volumes of the previous period."""
    aggs = aggregations(search(client, naming.events_pattern(), scope_body(period)))
    current = aggs.get("current", {})
    now = bucket_counts(current.get("by_source", {}))
    before = bucket_counts(aggs.get("previous", {}).get("by_source", {}))
    known = known_sources(client)
    names = sorted(set(now) | set(before) | set(known))
    return Scope(
        sources=tuple(Comparison(key=n, current=now.get(n, 0), previous=before.get(n, 0)) for n in names),
        known_sources=tuple(known),
        hosts_total=int(current.get("hosts", {}).get("value", 0)),
        top_hosts=counts(current.get("top_hosts", {})),
        accounts_total=int(current.get("accounts", {}).get("value", 0)),
        top_accounts=counts(current.get("top_accounts", {})),
        cloud_accounts=counts(current.get("cloud_accounts", {})),
    )


def known_sources(client: OpenSearch) -> list[str]:
    """Sources that have at least one daily events index on the cluster, whatever its date."""
    families = {parsed[0] for name in _events_indices(client) if (parsed := naming.index_day(name))}
    return sorted(source for f in families if (source := naming.source_of_family(f)))


def findings_by_level_body(period: Period) -> dict[str, Any]:
    """Findings per rule level in this and the previous period (by the time of the finding's activity)."""
    levels = {"levels": {"terms": {"field": "rule.level", "size": 10}}}
    return both_periods_body(period, levels, levels)


LEVEL_ORDER = tuple(reversed(SIGMA_LEVELS))


def run_findings_by_level(client: OpenSearch, period: Period) -> tuple[Comparison, ...]:
    """Findings per level (critical first) in this and the previous period."""
    aggs = aggregations(search(client, naming.pattern(naming.findings_index()), findings_by_level_body(period)))
    now = bucket_counts(aggs.get("current", {}).get("levels", {}))
    before = bucket_counts(aggs.get("previous", {}).get("levels", {}))
    names = [lv for lv in LEVEL_ORDER] + sorted((set(now) | set(before)) - set(LEVEL_ORDER))
    return tuple(Comparison(key=n, current=now.get(n, 0), previous=before.get(n, 0)) for n in names)


def tag_filter(tags: Sequence[str], tag_prefix: str | None) -> dict[str, Any]:
    """Findings whose rule carries one of `tags` or a tag starting with `tag_prefix`."""
    should: list[dict[str, Any]] = []
    if tags:
        should.append({"terms": {"rule.tags": list(tags)}})
    if tag_prefix:
        should.append({"prefix": {"rule.tags": {"value": tag_prefix}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def findings_for_tags_body(tags: Sequence[str], tag_prefix: str | None, period: Period) -> dict[str, Any]:
    """Findings of the period raised by rules with these tags, per level and per rule."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {
            "bool": {"filter": [time_range("@timestamp", period.start, period.end), tag_filter(tags, tag_prefix)]}
        },
        "aggs": {
            "levels": {"terms": {"field": "rule.level", "size": 10}},
            "rules": {"terms": {"field": "rule.title", "size": 10}},
        },
    }


def run_findings_for_tags(
    client: OpenSearch, tags: Sequence[str], tag_prefix: str | None, period: Period
) -> tuple[int, tuple[Count, ...], tuple[Count, ...]]:
    """(total, per level, per rule) of the findings mapped to a control in the period."""
    response = search(client, naming.pattern(naming.findings_index()), findings_for_tags_body(tags, tag_prefix, period))
    aggs = aggregations(response)
    return total_hits(response), counts(aggs.get("levels", {})), counts(aggs.get("rules", {}))


NO_PARTITION = "(none)"
"""The arrival-day partition of events that carry no `siem.partition` (written outside ingestion)."""
PARTITIONS_LIMIT = 1000
"""Arrival days looked at per source for one period's events."""


def period_partitions_body(period: Period) -> dict[str, Any]:
    """The period's events (event time) per source and per arrival-day partition (`siem.partition`)."""
    return {
        "size": 0,
        "query": time_range("@timestamp", period.start, period.end),
        "aggs": {
            "sources": {
                "terms": {"field": "siem.source", "size": 100, "order": {"_key": "asc"}},
                "aggs": {
                    "partitions": {
                        "terms": {"field": "siem.partition", "size": PARTITIONS_LIMIT, "missing": NO_PARTITION}
                    }
                },
            }
        },
    }


def data_quality_body(partitions: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Data-quality results of these (source -> arrival days) partitions: checks run, passed, failed, completeness."""
    wanted = [
        {"bool": {"filter": [{"term": {"source": source}}, {"terms": {"partition": sorted(days)}}]}}
        for source, days in sorted(partitions.items())
    ]
    return {
        "size": 0,
        "query": {"bool": {"should": wanted, "minimum_should_match": 1}},
        "aggs": {
            "sources": {
                "terms": {"field": "source", "size": 100, "order": {"_key": "asc"}},
                "aggs": {
                    "partitions": {"terms": {"field": "partition", "size": PARTITIONS_LIMIT}},
                    "passed": {"filter": {"term": {"passed": True}}},
                    "blocking_failed": {
                        "filter": {"bool": {"filter": [{"term": {"passed": False}}, {"term": {"blocking": True}}]}}
                    },
                    "completeness": completeness_aggregation(),
                    "failed": {
                        "filter": {"term": {"passed": False}},
                        "aggs": {"checks": {"terms": {"field": "check", "size": 10}}},
                    },
                },
            }
        },
    }


def run_data_quality(
    client: OpenSearch, period: Period, sources: Sequence[str], gap_on_blocking_failure: bool
) -> DataQualityResult:
    """Data-quality results for the events of the period, from the partitions (arrival days) that hold them.

    Results are kept per arrival day; the period's events may have arrived on any day, so the days are read
    from the events themselves (their `siem.partition`), and days without results are reported unchecked.
    """
    events = aggregations(search(client, events_index(sources), period_partitions_body(period)))
    arrived: dict[str, dict[str, int]] = {
        bucket_key(b): bucket_counts(b["partitions"]) for b in events.get("sources", {}).get("buckets", [])
    }
    checkable = {s: {d: n for d, n in days.items() if d != NO_PARTITION} for s, days in arrived.items()}
    checkable = {s: days for s, days in checkable.items() if days}
    results = (
        aggregations(search(client, naming.pattern(naming.dq_index()), data_quality_body(checkable)))
        if checkable
        else {}
    )
    rows = []
    checked: dict[str, set[str]] = {}
    for bucket in results.get("sources", {}).get("buckets", []):
        source = bucket_key(bucket)
        days = {bucket_key(b) for b in bucket["partitions"]["buckets"]}
        checked[source] = days
        checks = bucket["doc_count"]
        passed = bucket["passed"]["doc_count"]
        figure = completeness_of(source, period.first_day, period.last_day, bucket["completeness"])
        rows.append(
            DqSource(
                source=source,
                checks=checks,
                passed=passed,
                failed=checks - passed,
                blocking_failed=bucket["blocking_failed"]["doc_count"],
                records=figure.records,
                incomplete=figure.incomplete,
                completeness=figure.ratio,
                failed_checks=tuple(bucket_key(b) for b in bucket["failed"]["checks"]["buckets"]),
                period_events=sum(arrived.get(source, {}).values()),
                covered_events=sum(n for d, n in arrived.get(source, {}).items() if d in days),
                partitions=len(days),
            )
        )
    unchecked = tuple(
        Count(key=f"{source} {day}", count=n)
        for source, days in sorted(arrived.items())
        for day, n in sorted(days.items())
        if day not in checked.get(source, set())
    )
    return DataQualityResult(
        sources=tuple(rows),
        gap_on_blocking_failure=gap_on_blocking_failure,
        period_events=sum(n for days in arrived.values() for n in days.values()),
        unchecked=unchecked,
    )


def arrivals_body(period: Period) -> dict[str, Any]:
    """The period's events per arrival day (event.ingested), with the earliest and latest event time of each."""
    return {
        "size": 0,
        "query": time_range("@timestamp", period.start, period.end),
        "aggs": {
            "days": {
                "date_histogram": {"field": "event.ingested", "calendar_interval": "1d", "min_doc_count": 1},
                "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}},
            },
            "unknown": {
                "missing": {"field": "event.ingested"},
                "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}},
            },
        },
    }


def run_arrivals(client: OpenSearch, period: Period) -> tuple[Arrival, ...]:
    """When the period's events arrived, per day (ingestion time); events with no arrival time last."""
    aggs = aggregations(search(client, naming.events_pattern(), arrivals_body(period)))
    out = [
        Arrival(
            day=bucket["key_as_string"][:10],
            events=bucket["doc_count"],
            first_event=bucket["first"].get("value_as_string"),
            last_event=bucket["last"].get("value_as_string"),
        )
        for bucket in aggs.get("days", {}).get("buckets", [])
    ]
    unknown = aggs.get("unknown", {})
    if unknown.get("doc_count"):
        out.append(
            Arrival(
                day="unknown",
                events=unknown["doc_count"],
                first_event=unknown["first"].get("value_as_string"),
                last_event=unknown["last"].get("value_as_string"),
            )
        )
    return tuple(out)


def field_completeness_body(fields: Sequence[str], period: Period, sources: Sequence[str]) -> dict[str, Any]:
    """Per source, how many events of the period carry each field (a `filters` aggregation of `exists`)."""
    return {
        "size": 0,
        "query": time_range("@timestamp", period.start, period.end),
        "aggs": {
            "sources": {
                "terms": {"field": "siem.source", "size": 100, "order": {"_key": "asc"}},
                "aggs": {"fields": {"filters": {"filters": {f: {"exists": {"field": f}} for f in fields}}}},
            }
        },
    }


def run_field_completeness(
    client: OpenSearch, fields: Sequence[str], period: Period, sources: Sequence[str]
) -> tuple[FieldRatio, ...]:
    """Per source and field, events carrying the field out of all events of the period."""
    aggs = aggregations(search(client, events_index(sources), field_completeness_body(fields, period, sources)))
    rows = []
    for bucket in aggs.get("sources", {}).get("buckets", []):
        for field in fields:
            present = bucket["fields"]["buckets"][field]["doc_count"]
            rows.append(FieldRatio(source=bucket_key(bucket), field=field, present=present, total=bucket["doc_count"]))
    return tuple(rows)


def _empty_trend(period: Period) -> tuple[Count, ...]:
    step = timedelta(hours=1) if trend_interval(period) == "1h" else timedelta(days=1)
    keys = []
    at = period.start
    while at < period.end:
        keys.append(Count(key=iso_millis(at), count=0))
        at += step
    return tuple(keys)


def _events_indices(client: OpenSearch) -> list[str]:
    return sorted(client.indices.get_alias(index=naming.events_pattern(), **MISSING_OK))


def hashed_events_body(period: Period) -> dict[str, Any]:
    """Events of the period, and how many of them carry a content hash."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": time_range("@timestamp", period.start, period.end),
        "aggs": {"hashed": {"filter": {"exists": {"field": "siem.content_hash"}}}},
    }


def run_hashed_events(client: OpenSearch, period: Period) -> tuple[int, int]:
    """(events in the period, of which with `siem.content_hash`)."""
    response = search(client, naming.events_pattern(), hashed_events_body(period))
    return total_hits(response), aggregations(response).get("hashed", {}).get("doc_count", 0)


def run_oldest_event(client: OpenSearch) -> str | None:
    """The earliest event timestamp stored on the cluster, None when there is no event."""
    response = search(
        client, naming.events_pattern(), {"size": 0, "aggs": {"oldest": {"min": {"field": "@timestamp"}}}}
    )
    oldest = aggregations(response).get("oldest", {})
    return oldest.get("value_as_string") if oldest.get("value") is not None else None
