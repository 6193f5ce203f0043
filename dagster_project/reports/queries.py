"""The query layer: builds aggregation requests from evidence declarations, runs them, returns plain data.

Every request is an aggregation (terms, filters, date_histogram, cardinality, range) or a bounded
top-N (at most 20 hits); nothing here scrolls an index. Builders (`*_body`) are pure and golden-tested;
runners (`run_*`) send one or two requests each and turn the responses into `model` objects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from dagster_project.cluster import ISM_PLUGIN, installed_plugins
from dagster_project.detection.rules import SIGMA_LEVELS
from dagster_project.errors import SiemError
from dagster_project.integrity import keys
from dagster_project.integrity.verify import verify
from dagster_project.reports.frameworks import (
    MAX_SAMPLES,
    AlertReviewEvidence,
    BreachClockEvidence,
    Clause,
    EventsEvidence,
    FieldOp,
    FieldTest,
)
from dagster_project.reports.model import (
    AlertReviewResult,
    AlertRow,
    BreachCandidate,
    BreachClockResult,
    Comparison,
    Count,
    DataQualityResult,
    DqSource,
    EventsResult,
    FieldRatio,
    IntegrityResult,
    Period,
    RetentionResult,
    SampleEvent,
    Scope,
    TopTable,
    VerificationSummary,
)
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.artifacts import ism_policy_with_ages, load_artifacts

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
_MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}


def events_index(sources: Sequence[str]) -> str:
    """The index pattern of these sources' events (all sources when empty)."""
    return ",".join(naming.events_pattern(s) for s in sources) if sources else naming.events_pattern()


def time_range(field: str, start: datetime, end: datetime) -> dict[str, Any]:
    """A range filter [start, end) on a date field."""
    return {"range": {field: {"gte": _iso(start), "lt": _iso(end), "format": "strict_date_optional_time"}}}


def field_test(field: str, test: FieldTest) -> dict[str, Any]:
    """The query for one field test of a clause."""
    if isinstance(test, FieldOp):
        if test.exists is not None:
            exists = {"exists": {"field": field}}
            return exists if test.exists else {"bool": {"must_not": [exists]}}
        if test.prefix is not None:
            return {"prefix": {field: {"value": test.prefix}}}
        if test.wildcard is not None:
            return {"wildcard": {field: {"value": test.wildcard}}}
        bounds = {
            k: v for k, v in (("gte", test.gte), ("gt", test.gt), ("lte", test.lte), ("lt", test.lt)) if v is not None
        }
        return {"range": {field: bounds}}
    if isinstance(test, tuple):
        return {"terms": {field: list(test)}}
    return {"term": {field: test}}


def clause_query(clause: Clause) -> dict[str, Any]:
    """All tests of a clause (AND)."""
    tests = [field_test(field, test) for field, test in clause.items()]
    return tests[0] if len(tests) == 1 else {"bool": {"filter": tests}}


def evidence_filter(evidence: EventsEvidence) -> list[dict[str, Any]]:
    """The filter clauses selecting an evidence's events (without the time range)."""
    query: dict[str, Any] = {"bool": {}}
    if evidence.match:
        query["bool"]["should"] = [clause_query(c) for c in evidence.match]
        query["bool"]["minimum_should_match"] = 1
    if evidence.exclude:
        query["bool"]["must_not"] = [clause_query(c) for c in evidence.exclude]
    return [query] if query["bool"] else []


def describe_clause(clause: Clause) -> str:
    """A clause in words, e.g. `event.action is one of StopLogging, DeleteTrail and error.code exists`."""
    parts = []
    for field, test in clause.items():
        if isinstance(test, FieldOp):
            if test.exists is not None:
                parts.append(f"{field} {'exists' if test.exists else 'is missing'}")
            elif test.prefix is not None:
                parts.append(f"{field} starts with {test.prefix!r}")
            elif test.wildcard is not None:
                parts.append(f"{field} matches {test.wildcard!r}")
            else:
                ops = (("gte", ">="), ("gt", ">"), ("lte", "<="), ("lt", "<"))
                parts.append(
                    " and ".join(
                        f"{field} {sign} {getattr(test, k)}" for k, sign in ops if getattr(test, k) is not None
                    )
                )
        elif isinstance(test, tuple):
            parts.append(f"{field} is one of {', '.join(map(str, test))}")
        else:
            parts.append(f"{field} = {test}")
    return " and ".join(parts)


def describe_evidence(evidence: EventsEvidence, sources: Sequence[str]) -> str:
    """The whole event filter in words, as printed under each evidence table."""
    where = "; or ".join(f"({describe_clause(c)})" for c in evidence.match) or "every event"
    text = f"{where} in {events_index(sources)}"
    if evidence.exclude:
        text += "; excluding " + "; ".join(f"({describe_clause(c)})" for c in evidence.exclude)
    return text


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
                    "min": _iso(period.start),
                    "max": _iso(period.end - timedelta(milliseconds=1)),
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
    response = _search(client, events_index(sources), events_body(evidence, period))
    buckets = _aggs(response).get("periods", {}).get("buckets", {})
    current = buckets.get("current", {})
    inner = current.get("current_only", {})
    tops = tuple(
        TopTable(
            field=field,
            rows=tuple(Count(key=_key(b), count=b["doc_count"]) for b in inner.get(f"top_{i}", {}).get("buckets", [])),
            other=inner.get(f"top_{i}", {}).get("sum_other_doc_count", 0),
        )
        for i, field in enumerate(evidence.top)
    )
    trend = tuple(
        Count(key=b["key_as_string"], count=b["doc_count"]) for b in inner.get("trend", {}).get("buckets", [])
    )
    if evidence.trend and not trend:
        trend = _empty_trend(period)
    samples = tuple(_sample(hit) for hit in response.get("hits", {}).get("hits", []))
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


def scope_body(period: Period) -> dict[str, Any]:
    """Volumes per source in both periods, and hosts and accounts seen in the current one."""
    previous = period.previous()
    by_source = {"terms": {"field": "siem.source", "size": 100}}
    return {
        "size": 0,
        "query": time_range("@timestamp", previous.start, period.end),
        "aggs": {
            "current": {
                "filter": time_range("@timestamp", period.start, period.end),
                "aggs": {
                    "by_source": by_source,
                    "hosts": {"cardinality": {"field": "host.name", "precision_threshold": 40000}},
                    "top_hosts": {"terms": {"field": "host.name", "size": SCOPE_TOP}},
                    "accounts": {"cardinality": {"field": "user.name", "precision_threshold": 40000}},
                    "top_accounts": {"terms": {"field": "user.name", "size": SCOPE_TOP}},
                    "cloud_accounts": {"terms": {"field": "cloud.account.id", "size": SCOPE_TOP}},
                },
            },
            "previous": {
                "filter": time_range("@timestamp", previous.start, previous.end),
                "aggs": {"by_source": by_source},
            },
        },
    }


def run_scope(client: OpenSearch, period: Period) -> Scope:
    """Sources, hosts and accounts of the period, with per-source volumes of the previous period."""
    aggs = _aggs(_search(client, naming.events_pattern(), scope_body(period)))
    current = aggs.get("current", {})
    now = _bucket_counts(current.get("by_source", {}))
    before = _bucket_counts(aggs.get("previous", {}).get("by_source", {}))
    known = known_sources(client)
    names = sorted(set(now) | set(before) | set(known))
    return Scope(
        sources=tuple(Comparison(key=n, current=now.get(n, 0), previous=before.get(n, 0)) for n in names),
        known_sources=tuple(known),
        hosts_total=int(current.get("hosts", {}).get("value", 0)),
        top_hosts=_counts(current.get("top_hosts", {})),
        accounts_total=int(current.get("accounts", {}).get("value", 0)),
        top_accounts=_counts(current.get("top_accounts", {})),
        cloud_accounts=_counts(current.get("cloud_accounts", {})),
    )


def known_sources(client: OpenSearch) -> list[str]:
    """Sources that have at least one daily events index on the cluster, whatever its date."""
    families = {parsed[0] for name in _events_indices(client) if (parsed := naming.index_day(name))}
    return sorted(source for f in families if (source := naming.source_of_family(f)))


def findings_by_level_body(period: Period) -> dict[str, Any]:
    """Findings per rule level in this and the previous period (by the time of the finding's activity)."""
    previous = period.previous()
    levels = {"terms": {"field": "rule.level", "size": 10}}
    return {
        "size": 0,
        "query": time_range("@timestamp", previous.start, period.end),
        "aggs": {
            "current": {
                "filter": time_range("@timestamp", period.start, period.end),
                "aggs": {"levels": levels},
            },
            "previous": {
                "filter": time_range("@timestamp", previous.start, previous.end),
                "aggs": {"levels": levels},
            },
        },
    }


LEVEL_ORDER = tuple(reversed(SIGMA_LEVELS))


def run_findings_by_level(client: OpenSearch, period: Period) -> tuple[Comparison, ...]:
    """Findings per level (critical first) in this and the previous period."""
    aggs = _aggs(_search(client, naming.pattern(naming.findings_index()), findings_by_level_body(period)))
    now = _bucket_counts(aggs.get("current", {}).get("levels", {}))
    before = _bucket_counts(aggs.get("previous", {}).get("levels", {}))
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
    response = _search(
        client, naming.pattern(naming.findings_index()), findings_for_tags_body(tags, tag_prefix, period)
    )
    aggs = _aggs(response)
    return _total(response), _counts(aggs.get("levels", {})), _counts(aggs.get("rules", {}))


def data_quality_body(period: Period, sources: Sequence[str]) -> dict[str, Any]:
    """Data-quality results of the period per source: checks run, passed, failed, rows checked and failing."""
    filters: list[dict[str, Any]] = [time_range("@timestamp", period.start, period.end)]
    if sources:
        filters.append({"terms": {"source": list(sources)}})
    return {
        "size": 0,
        "query": {"bool": {"filter": filters}},
        "aggs": {
            "sources": {
                "terms": {"field": "source", "size": 100, "order": {"_key": "asc"}},
                "aggs": {
                    "passed": {"filter": {"term": {"passed": True}}},
                    "blocking_failed": {
                        "filter": {"bool": {"filter": [{"term": {"passed": False}}, {"term": {"blocking": True}}]}}
                    },
                    "rows": {"sum": {"field": "total"}},
                    "failing": {"sum": {"field": "failing"}},
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
    """Data-quality results per source in the period (empty when nothing was recorded)."""
    aggs = _aggs(_search(client, naming.pattern(naming.dq_index()), data_quality_body(period, sources)))
    rows = []
    for bucket in aggs.get("sources", {}).get("buckets", []):
        checks = bucket["doc_count"]
        passed = bucket["passed"]["doc_count"]
        rows.append(
            DqSource(
                source=_key(bucket),
                checks=checks,
                passed=passed,
                failed=checks - passed,
                blocking_failed=bucket["blocking_failed"]["doc_count"],
                rows_checked=int(bucket["rows"]["value"] or 0),
                rows_failing=int(bucket["failing"]["value"] or 0),
                failed_checks=tuple(_key(b) for b in bucket["failed"]["checks"]["buckets"]),
            )
        )
    return DataQualityResult(sources=tuple(rows), gap_on_blocking_failure=gap_on_blocking_failure)


def run_retention(
    client: OpenSearch, retention: RetentionSettings, min_days: int | None, min_hot_days: int | None
) -> RetentionResult:
    """The configured retention, its ISM policy file, how it is enforced, and the oldest event stored."""
    policy = naming.events_retention_policy()
    artifact = next(a for a in load_artifacts("ism_policy") if a.name == policy)
    desired = ism_policy_with_ages(artifact, retention.hot_days, retention.retention_days)
    ages = _policy_ages(desired)
    if ISM_PLUGIN in installed_plugins(client):
        try:
            applied = client.transport.perform_request("GET", f"/_plugins/_ism/policies/{policy}")
            applied_ages = _policy_ages({"policy": applied["policy"]})
            enforcement = (
                f"ISM policy {policy} applied on the cluster "
                f"(warm after {applied_ages[0]}, delete after {applied_ages[1]})"
            )
        except NotFoundError:
            enforcement = f"ISM plugin installed but policy {policy} not applied: run `siem bootstrap`"
    else:
        enforcement = "ISM plugin not installed: `siem retention` enforces the same ages by event date"
    response = _search(
        client, naming.events_pattern(), {"size": 0, "aggs": {"oldest": {"min": {"field": "@timestamp"}}}}
    )
    oldest = _aggs(response).get("oldest", {})
    return RetentionResult(
        retention_days=retention.retention_days,
        hot_days=retention.hot_days,
        meets_pci_10_5_1=retention.meets_pci_10_5_1,
        min_days=min_days,
        min_hot_days=min_hot_days,
        policy_file=str(artifact.path.relative_to(artifact.path.parents[2])),
        policy_warm_after=ages[0],
        policy_delete_after=ages[1],
        enforcement=enforcement,
        oldest_event=oldest.get("value_as_string") if oldest.get("value") is not None else None,
    )


def run_integrity(client: OpenSearch, hot_days: int, period: Period, as_of: datetime) -> IntegrityResult:
    """Event indices, how many are write-blocked, which are writable past the hot phase, and hashed events."""
    settings = client.indices.get_settings(
        index=naming.events_pattern(),
        name="index.blocks.write",
        include_defaults=True,
        flat_settings=True,
        **_MISSING_OK,
    )
    read_only = 0
    late: list[str] = []
    dated = 0
    for name in sorted(settings):
        parsed = naming.index_day(name)
        if parsed is None:
            continue
        dated += 1
        blocked = settings[name].get("settings", {}).get("index.blocks.write") == "true"
        read_only += blocked
        if not blocked and (as_of.date() - parsed[1]).days >= hot_days:
            late.append(name)
    body = {
        "size": 0,
        "track_total_hits": True,
        "query": time_range("@timestamp", period.start, period.end),
        "aggs": {"hashed": {"filter": {"exists": {"field": "siem.content_hash"}}}},
    }
    response = _search(client, naming.events_pattern(), body)
    return IntegrityResult(
        verification=run_verification(client, period),
        indices=dated,
        read_only=read_only,
        hot_days=hot_days,
        writable_past_hot=tuple(late[:20]),
        writable_past_hot_total=len(late),
        events_in_period=_total(response),
        events_with_hash=_aggs(response).get("hashed", {}).get("doc_count", 0),
    )


def run_verification(client: OpenSearch, period: Period) -> VerificationSummary:
    """Recompute the integrity chains sealed in the period; signatures are checked when a key is configured."""
    try:
        public_key = keys.public_key_from_env()
    except (SiemError, OSError, ValueError):
        public_key = None
    report = verify(client, period.start, period.end, public_key)
    return VerificationSummary(
        ok=report.ok,
        checked=report.checked,
        records=report.records,
        modified=len(report.modified),
        deleted=len(report.deleted),
        injected=len(report.injected),
        bad_signatures=len(report.bad_signatures),
        broken_chain=len(report.broken_chain),
        digests=report.digests,
        signatures_checked=public_key is not None,
    )


AGE_BUCKETS = ((0, 24, "under 24 h"), (24, 72, "24-72 h"), (72, 168, "3-7 days"), (168, None, "over 7 days"))


def alert_review_body(evidence: AlertReviewEvidence, period: Period, as_of: datetime) -> dict[str, Any]:
    """Alerts first seen in the period: per state; open ones by age as of `as_of`; the 10 oldest open."""
    ranges = []
    for low, high, label in AGE_BUCKETS:
        bucket: dict[str, Any] = {"key": label, "to": _iso(as_of - timedelta(hours=low))}
        if high is not None:
            bucket["from"] = _iso(as_of - timedelta(hours=high))
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
                    "overdue": {"filter": {"range": {"alert.first_seen": {"lt": _iso(overdue_before)}}}},
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
    response = _search(client, naming.pattern(naming.alerts_index()), alert_review_body(evidence, period, as_of))
    aggs = _aggs(response)
    open_aggs = aggs.get("open", {})
    rows = []
    for hit in open_aggs.get("oldest", {}).get("hits", {}).get("hits", []):
        alert = hit["_source"].get("alert", {})
        first_seen = _parse(alert.get("first_seen"))
        rows.append(
            AlertRow(
                id=str(alert.get("id") or hit["_id"]),
                rule=str(alert.get("rule_title", "")),
                severity=str(alert.get("severity", "")),
                state=str(alert.get("state", "")),
                first_seen=_iso(first_seen) if first_seen else "",
                age_hours=round((as_of - first_seen) / timedelta(hours=1), 1) if first_seen else 0.0,
            )
        )
    return AlertReviewResult(
        as_of=_iso(as_of),
        max_open_hours=evidence.max_open_hours,
        by_state=_counts(aggs.get("states", {})),
        total=_total(response),
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
    response = _search(client, naming.pattern(naming.findings_index()), breach_clock_body(evidence, period))
    hits = response.get("hits", {}).get("hits", [])
    ids = [str(h["_source"].get("finding", {}).get("id") or h["_id"]) for h in hits]
    states = _alert_states(client, ids) if ids else {}
    candidates = []
    for finding_id, hit in zip(ids, hits, strict=True):
        source = hit["_source"]
        detected = _parse(source.get("detected_at")) or as_of
        elapsed = (as_of - detected) / timedelta(hours=1)
        candidates.append(
            BreachCandidate(
                finding_id=finding_id,
                rule=str(source.get("rule", {}).get("title", "")),
                level=str(source.get("rule", {}).get("level", "")),
                detected_at=_iso(detected),
                hours_elapsed=round(elapsed, 1),
                hours_left=round(evidence.clock_hours - elapsed, 1),
                alert_state=states.get(finding_id, "none"),
            )
        )
    return BreachClockResult(
        tag=evidence.tag,
        levels=evidence.levels,
        clock_hours=evidence.clock_hours,
        as_of=_iso(as_of),
        total=_total(response),
        candidates=tuple(candidates),
    )


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
    aggs = _aggs(_search(client, events_index(sources), field_completeness_body(fields, period, sources)))
    rows = []
    for bucket in aggs.get("sources", {}).get("buckets", []):
        for field in fields:
            present = bucket["fields"]["buckets"][field]["doc_count"]
            rows.append(FieldRatio(source=_key(bucket), field=field, present=present, total=bucket["doc_count"]))
    return tuple(rows)


def _alert_states(client: OpenSearch, finding_ids: Sequence[str]) -> dict[str, str]:
    body = {
        "size": MAX_SAMPLES,
        "_source": ["alert.state", "alert.finding_ids"],
        "query": {"terms": {"alert.finding_ids": list(finding_ids)}},
    }
    states: dict[str, str] = {}
    wanted = set(finding_ids)
    for hit in _search(client, naming.pattern(naming.alerts_index()), body).get("hits", {}).get("hits", []):
        alert = hit["_source"].get("alert", {})
        linked = alert.get("finding_ids") or []
        for finding in [linked] if isinstance(linked, str) else linked:
            if finding in wanted:
                states[finding] = str(alert.get("state", "unknown"))
    return states


def _events_indices(client: OpenSearch) -> list[str]:
    return sorted(client.indices.get_alias(index=naming.events_pattern(), **_MISSING_OK))


def _policy_ages(policy: Mapping[str, Any]) -> tuple[str, str]:
    warm = delete = "never"
    for state in policy["policy"]["states"]:
        for transition in state.get("transitions", []):
            age = transition.get("conditions", {}).get("min_index_age", "?")
            if transition.get("state_name") == "warm":
                warm = age
            elif transition.get("state_name") == "delete":
                delete = age
    return warm, delete


def _search(client: OpenSearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = client.search(index=index, body=body, **_MISSING_OK)
    return result


def _aggs(response: Mapping[str, Any]) -> dict[str, Any]:
    """The aggregations of a response; {} when no index matched (the response then has none)."""
    return dict(response.get("aggregations") or {})


def _total(response: Mapping[str, Any]) -> int:
    total = response.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def _counts(agg: Mapping[str, Any]) -> tuple[Count, ...]:
    return tuple(Count(key=_key(b), count=b["doc_count"]) for b in agg.get("buckets", []))


def _bucket_counts(agg: Mapping[str, Any]) -> dict[str, int]:
    return {_key(b): b["doc_count"] for b in agg.get("buckets", [])}


def _key(bucket: Mapping[str, Any]) -> str:
    key = bucket.get("key_as_string", bucket["key"])
    return str(key).lower() if isinstance(key, bool) else str(key)


def _sample(hit: Mapping[str, Any]) -> SampleEvent:
    source = hit.get("_source", {})
    flat = {k: _flat_value(v) for k, v in _flatten(source).items() if k != "@timestamp"}
    return SampleEvent(id=hit["_id"], index=hit["_index"], timestamp=str(source.get("@timestamp", "")), fields=flat)


def _flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _flat_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _empty_trend(period: Period) -> tuple[Count, ...]:
    step = timedelta(hours=1) if trend_interval(period) == "1h" else timedelta(days=1)
    keys = []
    at = period.start
    while at < period.end:
        keys.append(Count(key=_iso(at), count=0))
        at += step
    return tuple(keys)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
