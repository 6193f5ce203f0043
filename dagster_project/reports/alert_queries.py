"""Alert and breach-clock queries: how alerts of the period were reviewed, and how breach candidates stand.

Like `queries`: pure `*_body` builders and `run_*` runners of bounded aggregations and top-N searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.querydsl import iso_millis, time_range
from dagster_project.reports.frameworks import MAX_SAMPLES, AlertReviewEvidence, BreachClockEvidence
from dagster_project.reports.model import (
    AlertReviewResult,
    AlertRow,
    BreachCandidate,
    BreachClockResult,
    Count,
    Period,
)
from dagster_project.reports.responses import aggregations, counts, hits, parse_time, search, total_hits
from dagster_project.storage import naming

AGE_BUCKETS = ((0, 24, "under 24 h"), (24, 72, "24-72 h"), (72, 168, "3-7 days"), (168, None, "over 7 days"))


def alert_review_body(evidence: AlertReviewEvidence, period: Period, as_of: datetime) -> dict[str, Any]:
    """Alerts first seen in the period: per state; open ones by age as of `as_of`; the 10 oldest open."""
    ranges = []
    for low, high, label in AGE_BUCKETS:
        bucket: dict[str, Any] = {"key": label, "to": iso_millis(as_of - timedelta(hours=low))}
        if high is not None:
            bucket["from"] = iso_millis(as_of - timedelta(hours=high))
        ranges.append(bucket)
    overdue_before = as_of - timedelta(hours=evidence.max_open_hours)
    return {
        "size": 0,
        "track_total_hits": True,
        "query": time_range("alert.first_seen", period.start, period.end),
        "aggs": {
            "states": {"terms": {"field": "alert.state", "size": 10}},
            "open": {
                "filter": {"term": {"alert.state": "active"}},
                "aggs": {
                    "ages": {"date_range": {"field": "alert.first_seen", "keyed": False, "ranges": ranges}},
                    "overdue": {"filter": {"range": {"alert.first_seen": {"lt": iso_millis(overdue_before)}}}},
                    "oldest": {
                        "top_hits": {
                            "size": 10,
                            "sort": [{"alert.first_seen": {"order": "asc"}}],
                            "_source": [
                                "alert.id",
                                "alert.rule_title",
                                "alert.severity",
                                "alert.state",
                                "alert.first_seen",
                            ],
                        }
                    },
                },
            },
        },
    }


def run_alert_review(
    client: OpenSearch, evidence: AlertReviewEvidence, period: Period, as_of: datetime
) -> AlertReviewResult:
    """Review status of the alerts first seen in the period, as of `as_of`."""
    response = search(client, naming.pattern(naming.alerts_index()), alert_review_body(evidence, period, as_of))
    aggs = aggregations(response)
    open_aggs = aggs.get("open", {})
    rows = []
    for hit in hits(open_aggs.get("oldest", {})):
        alert = hit["_source"].get("alert", {})
        first_seen = parse_time(alert.get("first_seen"))
        rows.append(
            AlertRow(
                id=str(alert.get("id") or hit["_id"]),
                rule=str(alert.get("rule_title", "")),
                severity=str(alert.get("severity", "")),
                state=str(alert.get("state", "")),
                first_seen=iso_millis(first_seen) if first_seen else "",
                age_hours=round((as_of - first_seen) / timedelta(hours=1), 1) if first_seen else 0.0,
            )
        )
    return AlertReviewResult(
        as_of=iso_millis(as_of),
        max_open_hours=evidence.max_open_hours,
        by_state=counts(aggs.get("states", {})),
        total=total_hits(response),
        open_total=open_aggs.get("doc_count", 0),
        open_by_age=tuple(
            Count(key=b["key"], count=b["doc_count"]) for b in open_aggs.get("ages", {}).get("buckets", [])
        )
        or tuple(Count(key=label, count=0) for _, _, label in AGE_BUCKETS),
        overdue=open_aggs.get("overdue", {}).get("doc_count", 0),
        oldest_open=tuple(rows),
    )


def breach_clock_body(evidence: BreachClockEvidence, period: Period) -> dict[str, Any]:
    """Breach-candidate findings detected in the period: tag and level match; the 20 oldest first."""
    return {
        "size": MAX_SAMPLES,
        "track_total_hits": True,
        "sort": [{"detected_at": {"order": "asc"}}],
        "_source": ["finding.id", "rule.title", "rule.level", "detected_at"],
        "query": {
            "bool": {
                "filter": [
                    time_range("detected_at", period.start, period.end),
                    {"term": {"rule.tags": evidence.tag}},
                    {"terms": {"rule.level": list(evidence.levels)}},
                ]
            }
        },
    }


def run_breach_clock(
    client: OpenSearch, evidence: BreachClockEvidence, period: Period, as_of: datetime
) -> BreachClockResult:
    """Breach candidates of the period, their hours since detection, and the state of their alerts."""
    response = search(client, naming.pattern(naming.findings_index()), breach_clock_body(evidence, period))
    found = hits(response)
    ids = [str(h["_source"].get("finding", {}).get("id") or h["_id"]) for h in found]
    states = _alert_states(client, ids) if ids else {}
    candidates = []
    for finding_id, hit in zip(ids, found, strict=True):
        source = hit["_source"]
        detected = parse_time(source.get("detected_at")) or as_of
        elapsed = (as_of - detected) / timedelta(hours=1)
        candidates.append(
            BreachCandidate(
                finding_id=finding_id,
                rule=str(source.get("rule", {}).get("title", "")),
                level=str(source.get("rule", {}).get("level", "")),
                detected_at=iso_millis(detected),
                hours_elapsed=round(elapsed, 1),
                hours_left=round(evidence.clock_hours - elapsed, 1),
                alert_state=states.get(finding_id, "none"),
            )
        )
    return BreachClockResult(
        tag=evidence.tag,
        levels=evidence.levels,
        clock_hours=evidence.clock_hours,
        as_of=iso_millis(as_of),
        total=total_hits(response),
        candidates=tuple(candidates),
    )


def _alert_states(client: OpenSearch, finding_ids: Sequence[str]) -> dict[str, str]:
    body = {
        "size": MAX_SAMPLES,
        "_source": ["alert.state", "alert.finding_ids"],
        "query": {"terms": {"alert.finding_ids": list(finding_ids)}},
    }
    states: dict[str, str] = {}
    wanted = set(finding_ids)
    for hit in hits(search(client, naming.pattern(naming.alerts_index()), body)):
        alert = hit["_source"].get("alert", {})
        linked = alert.get("finding_ids") or []
        for finding in [linked] if isinstance(linked, str) else linked:
            if finding in wanted:
                states[finding] = str(alert.get("state", "unknown"))
    return states
