"""Completeness, the one definition: the share of records with every required field, by source and partitions.

Summed from the recorded `required_fields` results; the compliance reports read the same aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from opensearchpy import OpenSearch

from dagster_project import searches
from dagster_project.quality.scope import SEARCH_OPTIONS
from dagster_project.storage import naming

CHECK = "required_fields"


@dataclass(frozen=True)
class Completeness:
    """How complete one source's records were over a period, from the recorded `required_fields` results."""

    source: str
    start: date
    end: date
    records: int
    """Events in the checked partitions (unverified ones included, counted as incomplete)."""
    incomplete: int
    partitions_checked: int
    partitions_failed: int
    """Partitions whose check did not pass (incomplete records or a check that could not run)."""

    @property
    def complete(self) -> int:
        """Records with every required field."""
        return self.records - self.incomplete

    @property
    def ratio(self) -> float | None:
        """complete / records, or None when no record was checked."""
        return self.complete / self.records if self.records else None

    @property
    def partitions_in_period(self) -> int:
        """Days from start to end, inclusive: compare with `partitions_checked` for coverage."""
        return (self.end - self.start).days + 1


def partitions_filter(start: date, end: date) -> dict[str, Any]:
    """Results of the partitions (arrival days) start..end, inclusive: the data of a period, whenever checked."""
    return {"range": {"partition": {"gte": start.isoformat(), "lte": end.isoformat()}}}


def completeness_aggregation() -> dict[str, Any]:
    """The sub-aggregation, per source bucket of siem-dq results, that `completeness_of` reads."""
    # A partition whose check could not run recorded all its events as failing, so the figure never claims
    # what was not verified.
    return {
        "filter": {"term": {"check": CHECK}},
        "aggs": {
            "records": {"sum": {"field": "total"}},
            "incomplete": {"sum": {"field": "failing"}},
            "failed": {"filter": {"term": {"passed": False}}},
        },
    }


def completeness_of(source: str, start: date, end: date, agg: dict[str, Any]) -> Completeness:
    """One source's figure from its `completeness_aggregation` result."""
    return Completeness(
        source=source,
        start=start,
        end=end,
        records=int(agg["records"]["value"] or 0),
        incomplete=int(agg["incomplete"]["value"] or 0),
        partitions_checked=int(agg["doc_count"]),
        partitions_failed=int(agg["failed"]["doc_count"]),
    )


def completeness(client: OpenSearch, start: date, end: date, source: str | None = None) -> list[Completeness]:
    """Per source (or for one), sum the `required_fields` results of partitions start..end (inclusive)."""
    filters: list[dict[str, Any]] = [partitions_filter(start, end)]
    if source is not None:
        filters.append({"term": {"source": source}})
    body = {
        "size": 0,
        "query": {"bool": {"filter": filters}},
        "aggs": {
            "by_source": {
                "terms": {"field": "source", "size": 1000, "order": {"_key": "asc"}},
                "aggs": {"required": completeness_aggregation()},
            }
        },
    }
    response = searches.search(client, "completeness", index=naming.dq_index(), body=body, **SEARCH_OPTIONS)
    buckets = response.get("aggregations", {}).get("by_source", {}).get("buckets", [])
    found = [completeness_of(b["key"], start, end, b["required"]) for b in buckets if b["required"]["doc_count"]]
    if source is not None and not found:
        found.append(Completeness(source, start, end, 0, 0, 0, 0))
    return found
