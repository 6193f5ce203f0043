"""Run compiled plain rules over a time range: count every rule's matches first, fetch events only where some match.

In a pack of thousands of rules almost every rule matches nothing in a given range, so per-rule searches
(a scroll opened and cleared per rule) cost round trips and not answers. Counting runs the rules'
queries with `size: 0` in `_msearch` requests of `MSEARCH_BATCH` rules each, so one request carries many
rules and the node runs them side by side; the count is exact (`track_total_hits`) and is the rule's
`matched`. Only the rules with matches then scroll through their events, `PAGE_SIZE` at a time in `_doc`
order (the cheapest: the query runs once per shard and each page resumes where the last one stopped).

Blocking; the client retries 429/5xx as `dagster_project.retries` states. A rule whose search fails raises
a DetectionError naming the rule, with the node's reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project.detection.compile import CompiledRule
from dagster_project.errors import DetectionError

MSEARCH_BATCH = 50
"""Rules counted per `_msearch` request."""
MAX_CONCURRENT_SEARCHES = 2
"""Searches of one `_msearch` the node runs at a time (the node's search pool has a few threads per core)."""
REQUEST_TIMEOUT = 600.0
"""Seconds one `_msearch` may take: a batch of leading-wildcard rules over millions of events is slow work."""
PAGE_SIZE = 5000
"""Events fetched per page for a rule with matches."""
_MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}


def _failure(compiled: CompiledRule, response: dict[str, Any]) -> DetectionError:
    error = response.get("error", {})
    cause = error.get("root_cause", [error])[0] if isinstance(error, dict) else {"reason": error}
    return DetectionError(f"search failed: {cause.get('reason') or cause}", where=compiled.rule_id)


def count_matches(client: OpenSearch, rules: Sequence[CompiledRule], start: datetime, end: datetime) -> list[int]:
    """Events each plain rule matches with start <= @timestamp < end, in the order given."""
    counts: list[int] = []
    for at in range(0, len(rules), MSEARCH_BATCH):
        batch = rules[at : at + MSEARCH_BATCH]
        lines: list[dict[str, Any]] = []
        for compiled in batch:
            body = compiled.body(start, end)
            body.update(size=0, track_total_hits=True)
            lines += [{"index": compiled.index, **_MISSING_OK}, body]
        responses = client.msearch(
            body=lines, max_concurrent_searches=MAX_CONCURRENT_SEARCHES, request_timeout=REQUEST_TIMEOUT
        )["responses"]
        for compiled, response in zip(batch, responses, strict=True):
            if "error" in response:
                raise _failure(compiled, response)
            counts.append(int(response["hits"]["total"]["value"]))
    return counts


def matching_events(
    client: OpenSearch, compiled: CompiledRule, start: datetime, end: datetime, fields: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """Every hit (`_id`, `_index`, `_source` limited to `fields`) of a plain rule in the range."""
    body = compiled.body(start, end)
    body["_source"] = list(fields)
    yield from helpers.scan(
        client, query=body, index=compiled.index, size=PAGE_SIZE, preserve_order=False, ignore_unavailable=True
    )
