"""Completeness evidence for reports: the share of records with every required field, by source and period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from opensearchpy import OpenSearch

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


def completeness(client: OpenSearch, start: date, end: date, source: str | None = None) -> list[Completeness]:
    """Per source (or for one), sum the `required_fields` results of partitions start..end (inclusive)."""
    # A partition whose check could not run recorded all its events as failing, so the figure never claims
    # what was not verified. A requested source without results gets a zero entry rather than none.
    filters: list[dict[str, Any]] = [
        {"term": {"check": CHECK}},
        {"range": {"partition": {"gte": start.isoformat(), "lte": end.isoformat()}}},
    ]
    if source is not None:
        filters.append({"term": {"source": source}})
    body = {
        "size": 0,
        "query": {"bool": {"filter": filters}},
        "aggs": {
            "by_source": {
                "terms": {"field": "source", "size": 1000, "order": {"_key": "asc"}},
                "aggs": {
                    "records": {"sum": {"field": "total"}},
                    "incomplete": {"sum": {"field": "failing"}},
                    "failed": {"filter": {"term": {"passed": False}}},
                },
            }
        },
    }
    response = client.search(index=naming.dq_index(), body=body, **SEARCH_OPTIONS)
    buckets = response.get("aggregations", {}).get("by_source", {}).get("buckets", [])
    found = [
        Completeness(
            source=b["key"],
            start=start,
            end=end,
            records=int(b["records"]["value"]),
            incomplete=int(b["incomplete"]["value"]),
            partitions_checked=int(b["doc_count"]),
            partitions_failed=int(b["failed"]["doc_count"]),
        )
        for b in buckets
    ]
    if source is not None and not found:
        found.append(Completeness(source, start, end, 0, 0, 0, 0))
    return found
