"""Rebuilds the `_search` request Dashboards sends for a saved search or visualisation (pure).

The subset translated is the one the suite's saved objects use, and anything outside it is refused with an
ArtifactError rather than approximated: lucene queries (sent as `query_string` with `analyze_wildcard`, as
Dashboards does), no pinned filters, and the aggregations count, cardinality, sum, avg, min, max, terms,
date_histogram and filters, nested bucket by bucket in the order of `visState.aggs` with the metrics under
the innermost bucket (Dashboards' `AggConfigs.toDsl` for non-hierarchical visualisations). The one
approximation is the `auto` date interval, chosen here as the first of a fixed ladder giving at most
`AUTO_BARS` buckets; it changes bucket widths, never which documents match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster_project.dashboards.objects import SavedObject, by_id
from dagster_project.errors import ArtifactError

METRICS = ("count", "cardinality", "sum", "avg", "min", "max")
BUCKETS = ("terms", "date_histogram", "filters")
DISPLAY_ONLY = frozenset(
    {
        "customLabel",
        "otherBucketLabel",
        "missingBucketLabel",
        "customInterval",
        "timeRange",
        "useNormalizedOpenSearchInterval",
        "scaleMetricValues",
        "drop_partials",
        "format",
    }
)
"""Parameters that change how Dashboards draws a result, not what it asks for."""
TRANSLATED = {
    "count": frozenset(),
    "cardinality": frozenset({"field"}),
    "sum": frozenset({"field"}),
    "avg": frozenset({"field"}),
    "min": frozenset({"field"}),
    "max": frozenset({"field"}),
    "terms": frozenset({"field", "size", "order", "orderBy", "otherBucket", "missingBucket"}),
    "date_histogram": frozenset({"field", "interval", "min_doc_count", "extended_bounds", "time_zone"}),
    "filters": frozenset({"filters"}),
}
AUTO_BARS = 50
AUTO_LADDER = (
    ("1s", 1), ("5s", 5), ("10s", 10), ("30s", 30), ("1m", 60), ("5m", 300), ("10m", 600),
    ("30m", 1800), ("1h", 3600), ("3h", 10800), ("12h", 43200), ("1d", 86400), ("1w", 604800),
    ("1M", 2629746), ("1y", 31556952),
)  # fmt: skip
CALENDAR_UNITS = frozenset("mhdwMqy")
INTERVAL = re.compile(r"^(\d*)(ms|s|m|h|d|w|M|q|y)$")
TIME_ZONE = "UTC"


@dataclass(frozen=True)
class SearchRequest:
    """Where and what to search: the index pattern's title and the request body."""

    index: str
    body: dict[str, Any]
    time_field: str | None


def lucene(query: Any, where: str) -> dict[str, Any]:
    """The query DSL of a saved `{query, language}`: `query_string` for lucene, `match_all` when empty."""
    if isinstance(query, str):
        query = {"query": query, "language": "lucene"}
    if not isinstance(query, dict) or not isinstance(query.get("query", ""), str):
        raise ArtifactError(f"a saved query must be {{query: string, language}}, not {query!r}", where=where)
    text = str(query.get("query", ""))
    if not text.strip():
        return {"match_all": {}}
    if query.get("language") != "lucene":
        raise ArtifactError(f"only lucene queries are translated, not {query.get('language')!r}", where=where)
    return {"query_string": {"query": text, "analyze_wildcard": True}}


def index_pattern_of(obj: SavedObject, objects: list[SavedObject]) -> SavedObject:
    """The index pattern a search or visualisation reads (a visualisation may read it through its search)."""
    known = by_id(objects)
    source = obj.search_source
    if obj.type == "visualization" and "savedSearchRefName" in obj.attributes:
        reference = obj.reference(str(obj.attributes["savedSearchRefName"]))
        search = known.get(("search", reference.id))
        if search is None:
            raise ArtifactError(f"saved search {reference.id!r} not found", where=obj.where)
        return index_pattern_of(search, objects)
    name = source.get("indexRefName")
    if not isinstance(name, str):
        raise ArtifactError(f"{obj.type} {obj.id!r} names no index pattern (indexRefName)", where=obj.where)
    reference = obj.reference(name)
    pattern = known.get(("index-pattern", reference.id))
    if reference.type != "index-pattern" or pattern is None:
        raise ArtifactError(f"index pattern {reference.id!r} not found", where=obj.where)
    return pattern


def saved_queries(obj: SavedObject, objects: list[SavedObject]) -> list[dict[str, Any]]:
    """The queries that apply to a search or visualisation: its own, and its saved search's."""
    source = obj.search_source
    if source.get("filter"):
        raise ArtifactError(f"{obj.type} {obj.id!r}: pinned filters are not translated; use the query", where=obj.where)
    queries = [lucene(source.get("query", ""), obj.where)]
    if obj.type == "visualization" and "savedSearchRefName" in obj.attributes:
        reference = obj.reference(str(obj.attributes["savedSearchRefName"]))
        queries = saved_queries(by_id(objects)[("search", reference.id)], objects) + queries
    return [q for q in queries if q != {"match_all": {}}] or [{"match_all": {}}]


def search_request(
    obj: SavedObject, objects: list[SavedObject], start: datetime, end: datetime, *, size: int = 0
) -> SearchRequest:
    """The request Dashboards sends for a saved search or visualisation over [start, end]."""
    pattern = index_pattern_of(obj, objects)
    time_field = pattern.attributes.get("timeFieldName") or None
    filters = []
    if time_field:
        filters.append(
            {
                "range": {
                    time_field: {
                        "gte": start.isoformat(),
                        "lte": end.isoformat(),
                        "format": "strict_date_optional_time",
                    }
                }
            }
        )
    body: dict[str, Any] = {
        "size": size,
        "track_total_hits": True,
        "query": {"bool": {"must": saved_queries(obj, objects), "filter": filters}},
    }
    if obj.type == "search":
        body["sort"] = [{field: {"order": order}} for field, order in obj.attributes.get("sort", [])]
    elif obj.type == "visualization":
        body["aggs"] = aggregations(obj.json_attribute("visState"), obj.where, start, end)
    else:
        raise ArtifactError(f"a {obj.type} runs no search of its own", where=obj.where)
    return SearchRequest(str(pattern.attributes.get("title")), body, time_field)


def aggregations(vis_state: dict[str, Any], where: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The `aggs` of a visState: buckets nested in order, metrics (other than count) under the innermost."""
    aggs = [a for a in vis_state.get("aggs", []) if a.get("enabled", True)]
    for agg in aggs:
        _check_params(agg, where)
    metrics = {str(a["id"]): a for a in aggs if a["type"] in METRICS}
    buckets = [a for a in aggs if a["type"] in BUCKETS]
    innermost: dict[str, Any] = {}
    for agg_id, agg in metrics.items():
        if agg["type"] != "count":
            innermost[agg_id] = _metric(agg)
    dsl = innermost
    for agg in reversed(buckets):
        node = _bucket(agg, metrics, where, start, end)
        if dsl:
            node.setdefault("aggs", {}).update(dsl)
        dsl = {str(agg["id"]): node}
    return dsl


def unanswered(vis_state: dict[str, Any], response: dict[str, Any]) -> list[str]:
    """The enabled aggregations that found nothing: no non-empty bucket, no value, or (count) no hit."""
    answered: set[str] = set()
    if response.get("hits", {}).get("total", {}).get("value", 0) > 0:
        answered.update(str(a["id"]) for a in vis_state.get("aggs", []) if a.get("type") == "count")
    _collect(response.get("aggregations", {}), answered)
    return [
        f"{a['id']} ({a['type']} {a.get('params', {}).get('field', '')})".replace(" )", ")")
        for a in vis_state.get("aggs", [])
        if a.get("enabled", True) and str(a["id"]) not in answered
    ]


def _collect(node: dict[str, Any], answered: set[str]) -> None:
    for key, value in node.items():
        if not isinstance(value, dict):
            continue
        if "buckets" in value:
            buckets = value["buckets"]
            for bucket in buckets.values() if isinstance(buckets, dict) else buckets:
                if bucket.get("doc_count", 0) > 0:
                    answered.add(key)
                    _collect(bucket, answered)
        elif "value" in value and value["value"] is not None:
            answered.add(key)


def _check_params(agg: dict[str, Any], where: str) -> None:
    kind = agg.get("type")
    if kind not in TRANSLATED:
        raise ArtifactError(f"aggregation {agg.get('id')} of type {kind!r} is not translated", where=where)
    params = agg.get("params", {})
    unknown = set(params) - TRANSLATED[kind] - DISPLAY_ONLY - {"json"}
    if unknown:
        raise ArtifactError(f"aggregation {agg['id']} ({kind}): untranslated parameters {sorted(unknown)}", where=where)
    if params.get("json"):
        raise ArtifactError(f"aggregation {agg['id']} ({kind}): raw JSON input is not translated", where=where)
    if params.get("otherBucket") or params.get("missingBucket"):
        raise ArtifactError(f"aggregation {agg['id']} ({kind}): other/missing buckets are not translated", where=where)
    if params.get("extended_bounds"):
        raise ArtifactError(f"aggregation {agg['id']} ({kind}): extended bounds are not translated", where=where)


def _metric(agg: dict[str, Any]) -> dict[str, Any]:
    return {agg["type"]: {"field": agg["params"]["field"]}}


def _bucket(
    agg: dict[str, Any], metrics: dict[str, dict[str, Any]], where: str, start: datetime, end: datetime
) -> dict[str, Any]:
    params = agg.get("params", {})
    if agg["type"] == "terms":
        order_by, direction = str(params.get("orderBy", "_key")), params.get("order", "desc")
        node: dict[str, Any] = {"terms": {"field": params["field"], "size": int(params.get("size", 5))}}
        if order_by == "_key":
            node["terms"]["order"] = {"_key": direction}
        elif order_by in metrics and metrics[order_by]["type"] == "count":
            node["terms"]["order"] = {"_count": direction}
        elif order_by in metrics:
            node["terms"]["order"] = {order_by: direction}
            node["aggs"] = {order_by: _metric(metrics[order_by])}
        else:
            raise ArtifactError(f"terms {agg['id']} is ordered by {order_by!r}, which is no metric here", where=where)
        return node
    if agg["type"] == "date_histogram":
        histogram = {
            "field": params.get("field", "@timestamp"),
            **_interval(str(params.get("interval", "auto")), where, start, end),
        }
        histogram["time_zone"] = params.get("time_zone", TIME_ZONE)
        histogram["min_doc_count"] = int(params.get("min_doc_count", 1))
        return {"date_histogram": histogram}
    filters = {}
    for item in params.get("filters", []):
        query = item.get("input", {})
        label = item.get("label") or (query.get("query") if isinstance(query, dict) else str(query)) or "*"
        filters[label] = {"bool": {"must": [lucene(query, where)]}}
    if not filters:
        raise ArtifactError(f"filters {agg['id']} has no filter", where=where)
    return {"filters": {"filters": filters}}


def _interval(interval: str, where: str, start: datetime, end: datetime) -> dict[str, str]:
    if interval == "auto":
        span = max((end - start).total_seconds(), 1.0)
        fitting = [expression for expression, seconds in AUTO_LADDER if span / seconds <= AUTO_BARS]
        interval = fitting[0] if fitting else AUTO_LADDER[-1][0]
    match = INTERVAL.match(interval)
    if not match:
        raise ArtifactError(f"date interval {interval!r} is not translated", where=where)
    count, unit = int(match.group(1) or 1), match.group(2)
    if count == 1 and unit in CALENDAR_UNITS:
        return {"calendar_interval": f"1{unit}"}
    if unit in "wMqy":
        raise ArtifactError(f"date interval {interval!r}: multiples of calendar units are not supported", where=where)
    return {"fixed_interval": f"{count}{unit}"}
