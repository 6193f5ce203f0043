"""The exact checks: one aggregation request over the whole partition; no document is loaded into memory."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch

from dagster_project import searches
from dagster_project.errors import SiemError
from dagster_project.quality.expectations import Requirement, SourceExpectations
from dagster_project.quality.model import BLOCKING_RATIO, CheckResult, Severity
from dagster_project.quality.scope import SEARCH_OPTIONS, iso, partition_query, reference_time, source_indices
from dagster_project.settings import RetentionSettings

FUTURE_TOLERANCE = timedelta(minutes=5)
SAMPLE_IDS = 5
TOP_VALUES = 10
PRECISION_THRESHOLD = 40_000
"""The largest `precision_threshold` OpenSearch accepts: cardinality is near-exact below it, HLL++ above."""
REPEATS_LIMIT = 10_000
"""Repeated contents examined one by one for copies stored at the same place; beyond it the count is a floor."""


def _ids(size: int = SAMPLE_IDS, fields: list[str] | None = None, sort: list[Any] | None = None) -> dict[str, Any]:
    return {"top_hits": {"size": size, "_source": fields or False, "sort": sort or ["_doc"]}}


def _missing_any(fields: tuple[str, ...]) -> dict[str, Any]:
    """Matches events that have none of `fields`."""
    return {"bool": {"must_not": [{"exists": {"field": f}} for f in fields]}}


def _lacking(requirement: Requirement) -> dict[str, Any]:
    """Events the requirement applies to that have none of its fields."""
    query = _missing_any(requirement.fields)
    applies = requirement.applies_query()
    if applies is not None:
        query["bool"]["filter"] = [applies]
    return query


def build_request(
    source: str, partition: str, expectations: SourceExpectations | None, lower: datetime, upper: datetime
) -> dict[str, Any]:
    """The aggregation request; pure, so the exact query can be read and tested."""
    aggs: dict[str, Any] = {
        "ts_missing": {"missing": {"field": "@timestamp"}, "aggs": {"ids": _ids()}},
        "ts_stats": {"stats": {"field": "@timestamp"}},
        "ts_future": {
            "filter": {"range": {"@timestamp": {"gt": iso(upper)}}},
            "aggs": {"ids": _ids(fields=["@timestamp"], sort=[{"@timestamp": "desc"}])},
        },
        "ts_old": {
            "filter": {"range": {"@timestamp": {"lt": iso(lower)}}},
            "aggs": {"ids": _ids(fields=["@timestamp"], sort=[{"@timestamp": "asc"}])},
        },
        "content_hashed": {"value_count": {"field": "siem.content_hash"}},
        "content_distinct": {"cardinality": {"field": "siem.content_hash", "precision_threshold": PRECISION_THRESHOLD}},
        "content_repeats": {
            "terms": {"field": "siem.content_hash", "min_doc_count": 2, "size": REPEATS_LIMIT},
            "aggs": {
                "files": {
                    "terms": {"field": "siem.file", "size": TOP_VALUES, "missing": ""},
                    "aggs": {"places": {"cardinality": {"field": "siem.offset", "missing": -1}}},
                }
            },
        },
    }
    if expectations is not None:
        for requirement in expectations.required:
            aggs[f"req_{requirement.role}"] = {"filter": _lacking(requirement), "aggs": {"ids": _ids()}}
            applies = requirement.applies_query()
            if applies is not None:
                aggs[f"applies_{requirement.role}"] = {"filter": applies}
        aggs["incomplete"] = {
            "filter": {
                "bool": {
                    "should": [_lacking(r) for r in expectations.required],
                    "minimum_should_match": 1,
                }
            },
            "aggs": {"ids": _ids()},
        }
    return {"size": 0, "track_total_hits": True, "query": partition_query(source, partition), "aggs": aggs}


def aggregation_checks(
    client: OpenSearch,
    source: str,
    partition: str,
    expectations: SourceExpectations | SiemError,
    *,
    now: datetime,
    retention: RetentionSettings,
) -> list[CheckResult]:
    """timestamp_present, required_fields, timestamp_in_range and content_unique for one partition."""
    reference = reference_time(partition, now)
    lower = reference - timedelta(days=retention.retention_days)
    upper = reference + FUTURE_TOLERANCE
    usable = expectations if isinstance(expectations, SourceExpectations) else None
    body = build_request(source, partition, usable, lower, upper)
    response = searches.search(
        client, f"quality of {source}", index=source_indices(source), body=body, **SEARCH_OPTIONS
    )
    total = int(response["hits"]["total"]["value"])
    aggs = response.get("aggregations", {})  # absent when the source has no index yet
    copies, _ = _duplicated(aggs)
    samples: dict[str, list[str]] = {}
    if copies:
        top = sorted(copies, key=lambda h: (-copies[h], h))[:TOP_VALUES]
        found = searches.search(
            client,
            f"duplicates of {source}",
            index=source_indices(source),
            body=duplicate_samples_request(source, partition, top),
            **SEARCH_OPTIONS,
        )
        for bucket in found.get("aggregations", {}).get("hashes", {}).get("buckets", []):
            samples[bucket["key"]] = [hit["_id"] for hit in bucket["ids"]["hits"]["hits"]]
    return [
        _timestamp_present(source, partition, total, aggs),
        _required_fields(source, partition, total, aggs, expectations),
        _timestamp_in_range(source, partition, total, aggs, reference, lower, upper, retention),
        _content_unique(source, partition, total, aggs, samples),
    ]


def _count(aggs: dict[str, Any], name: str) -> int:
    return int(aggs.get(name, {}).get("doc_count", 0))


def _sample_ids(aggs: dict[str, Any], name: str) -> list[str]:
    return [hit["_id"] for hit in aggs.get(name, {}).get("ids", {}).get("hits", {}).get("hits", [])]


def _graded(failing: int, bad_share: float) -> tuple[bool, Severity]:
    """Passed when nothing fails; ERROR past the blocking ratio, WARN below it."""
    return failing == 0, Severity.ERROR if bad_share > BLOCKING_RATIO else Severity.WARN


def _timestamp_present(source: str, partition: str, total: int, aggs: dict[str, Any]) -> CheckResult:
    missing = _count(aggs, "ts_missing")
    passed, severity = _graded(missing, missing / total if total else 0.0)
    return CheckResult(
        source=source,
        partition=partition,
        check="timestamp_present",
        passed=passed,
        severity=severity,
        total=total,
        failing=missing,
        observed={"events": total, "missing": missing, "sample_ids": _sample_ids(aggs, "ts_missing")},
        description=(
            f"Aggregation over all {total} events of the partition: a `missing` aggregation on @timestamp. "
            f"ERROR (blocks downstream) when more than {BLOCKING_RATIO:.0%} lack it, WARN when any do."
        ),
    )


def _required_fields(
    source: str,
    partition: str,
    total: int,
    aggs: dict[str, Any],
    expectations: SourceExpectations | SiemError,
) -> CheckResult:
    if not isinstance(expectations, SourceExpectations):
        return CheckResult(
            source=source,
            partition=partition,
            check="required_fields",
            passed=False,
            severity=Severity.ERROR,
            total=total,
            failing=total,
            observed={"events": total, "error": str(expectations), "error_type": type(expectations).__name__},
            description=(
                f"Could not run: {expectations}. All {total} events of the partition are counted as "
                "unverified (failing), so completeness evidence never claims what was not checked."
            ),
        )
    incomplete = _count(aggs, "incomplete")
    by_role = {r.role: _role(aggs, r, total) for r in expectations.required}
    missing_values = sum(entry["missing"] for entry in by_role.values())
    values = sum(entry["applies_to"] for entry in by_role.values())
    value_share = missing_values / values if values else 0.0
    passed, severity = _graded(incomplete, value_share)
    return CheckResult(
        source=source,
        partition=partition,
        check="required_fields",
        passed=passed,
        severity=severity,
        total=total,
        failing=incomplete,
        observed={
            "events": total,
            "complete_events": total - incomplete,
            "incomplete_events": incomplete,
            "completeness_percent": round(100 * (total - incomplete) / total, 3) if total else None,
            "missing_values": missing_values,
            "missing_value_share": round(value_share, 6),
            "missing_by_role": by_role,
            "required_fields": expectations.required_fields(),
            "template": expectations.template,
            "sample_ids": _sample_ids(aggs, "incomplete"),
        },
        description=(
            f"Aggregation over all {total} events of the partition: one `filter` (must_not exists) per "
            f"role of _meta.required_fields in {expectations.template}, over the events the role applies to "
            "(its `where` clauses: the kinds of event that carry it), and one for events missing any. "
            "failing = events lacking at least one field required of their kind. ERROR (blocks downstream) "
            f"when more than {BLOCKING_RATIO:.0%} of all required values are missing, WARN if any event is "
            "incomplete."
        ),
    )


def _role(aggs: dict[str, Any], requirement: Requirement, total: int) -> dict[str, Any]:
    name = f"req_{requirement.role}"
    entry: dict[str, Any] = {
        "fields": list(requirement.fields),
        "applies_to": total if not requirement.where else _count(aggs, f"applies_{requirement.role}"),
        "missing": _count(aggs, name),
        "sample_ids": _sample_ids(aggs, name),
    }
    if requirement.where:
        entry["where"] = [dict((field, list(values)) for field, values in clause) for clause in requirement.where]
    return entry


def _timestamp_in_range(
    source: str,
    partition: str,
    total: int,
    aggs: dict[str, Any],
    reference: datetime,
    lower: datetime,
    upper: datetime,
    retention: RetentionSettings,
) -> CheckResult:
    future = _count(aggs, "ts_future")
    old = _count(aggs, "ts_old")
    stats = aggs.get("ts_stats", {})
    timed = int(stats.get("count", 0))
    return CheckResult(
        source=source,
        partition=partition,
        check="timestamp_in_range",
        passed=future + old == 0,
        severity=Severity.WARN,
        total=timed,
        failing=future + old,
        observed={
            "events_with_timestamp": timed,
            "future": future,
            "older_than_retention": old,
            "window_start": iso(lower),
            "window_end": iso(upper),
            "reference": iso(reference),
            "retention_days": retention.retention_days,
            "min_timestamp": stats.get("min_as_string"),
            "max_timestamp": stats.get("max_as_string"),
            "future_samples": _samples_with_timestamp(aggs, "ts_future"),
            "old_samples": _samples_with_timestamp(aggs, "ts_old"),
        },
        description=(
            f"Aggregation over the {timed} timestamped events of the partition: `filter` range "
            f"aggregations counting @timestamp after {iso(upper)} (reference + 5 min) or before "
            f"{iso(lower)} (reference − {retention.retention_days} days retention); the reference is now "
            "while the partition is open, its end once closed."
        ),
    )


def _samples_with_timestamp(aggs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    hits = aggs.get(name, {}).get("ids", {}).get("hits", {}).get("hits", [])
    return [{"id": hit["_id"], "@timestamp": hit.get("_source", {}).get("@timestamp")} for hit in hits]


def _duplicated(aggs: dict[str, Any]) -> tuple[dict[str, int], bool]:
    """{content hash: copies beyond the first at the same place} and whether every repeat was examined.

    The same line repeated in a log (two identical requests in one second) sits at two places (file, offset)
    and is two records; a copy at the same place is one record stored twice.
    """
    repeats = aggs.get("content_repeats", {})
    copies = {}
    for bucket in repeats.get("buckets", []):
        files = bucket["files"]
        places = sum(int(f["places"]["value"]) for f in files["buckets"]) + int(files.get("sum_other_doc_count", 0))
        if bucket["doc_count"] > places:
            copies[bucket["key"]] = int(bucket["doc_count"]) - places
    return copies, int(repeats.get("sum_other_doc_count", 0)) == 0


def duplicate_samples_request(source: str, partition: str, hashes: list[str]) -> dict[str, Any]:
    """Ids and places of the documents of some content hashes (the samples of `content_unique`); pure."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [partition_query(source, partition), {"terms": {"siem.content_hash": hashes}}]}},
        "aggs": {
            "hashes": {
                "terms": {"field": "siem.content_hash", "size": len(hashes)},
                "aggs": {"ids": _ids(fields=["siem.file", "siem.offset"])},
            }
        },
    }


def _content_unique(
    source: str, partition: str, total: int, aggs: dict[str, Any], samples: dict[str, list[str]]
) -> CheckResult:
    hashed = int(aggs.get("content_hashed", {}).get("value", 0))
    distinct = int(aggs.get("content_distinct", {}).get("value", 0))
    copies, complete = _duplicated(aggs)
    duplicates = sum(copies.values())
    top = sorted(copies, key=lambda h: (-copies[h], h))[:TOP_VALUES]
    repeated = [{"content_hash": h, "count": copies[h] + 1, "ids": samples.get(h, [])} for h in top]
    # The terms aggregation is exact within an index; HLL++ is approximate above the precision threshold.
    exact = hashed <= PRECISION_THRESHOLD
    return CheckResult(
        source=source,
        partition=partition,
        check="content_unique",
        passed=duplicates == 0,
        severity=Severity.WARN,
        total=hashed,
        failing=duplicates,
        observed={
            "events": total,
            "events_with_content_hash": hashed,
            "distinct_content": distinct,
            "repeated_content": max(hashed - distinct, 0),
            "duplicates": duplicates,
            "estimate": ("exact" if exact else "approximate (HyperLogLog++)")
            + ("" if complete else f"; duplicates counted over the first {REPEATS_LIMIT} repeated contents"),
            "top_repeated": repeated,
        },
        description=(
            f"Aggregation over all {total} events of the partition: a `terms` aggregation (min_doc_count 2, up "
            f"to {REPEATS_LIMIT} buckets) of siem.content_hash, and under each the distinct places "
            "(siem.file, siem.offset) it was read from. A line repeated in a log is repeated content at "
            "different places and passes (repeated_content counts it, from `value_count` vs `cardinality`); "
            "the same record stored twice under different ids sits at one place and fails. "
            "failing = copies beyond the first at the same place."
        ),
    )
