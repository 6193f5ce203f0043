"""Run compiled plain rules over a time range: count every rule's matches first, fetch events only where some match.

In a pack of thousands of rules almost every rule matches nothing in a given range, so per-rule searches
(a scroll opened and cleared per rule) cost round trips and not answers. Counting runs the rules'
queries with `size: 0` in `_msearch` requests of `MSEARCH_BATCH` rules each, so one request carries many
rules and the node runs them side by side; the count is exact (`track_total_hits`) and is the rule's
`matched`. Only the rules with matches then scroll through their events, `PAGE_SIZE` at a time in `_doc`
order (the cheapest: the query runs once per shard and each page resumes where the last one stopped).

A rule whose query carries more multi-term clauses (wildcards, regular expressions) than `guard.MAX_CLAUSES`
is run apart, one part of its query (`guard.split`) per request, so that no request makes the node build
thousands of automata at once: its count is the parts' sum when at most one part matches, else the number
of distinct events the parts' matches name; its events are the parts' events, each once.

Blocking; the client retries 429/5xx as `dagster_project.retries` states. A rule whose search fails raises
a DetectionError naming the rule, with the node's reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch, TransportError, helpers

from dagster_project.detection import guard
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


def _part_bodies(compiled: CompiledRule, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The search bodies of a rule's query parts (one body for a rule cheap enough to run whole)."""
    bodies = []
    for part in guard.split(compiled.query):
        body = compiled.body(start, end)
        body["query"]["bool"]["filter"][0] = part
        bodies.append(body)
    return bodies


def _count(client: OpenSearch, compiled: CompiledRule, bodies: Sequence[dict[str, Any]]) -> int:
    """A split rule's matches: its parts counted one request at a time, overlaps counted once."""
    counts: list[int] = []
    for body in bodies:
        response = client.search(
            index=compiled.index,
            body={**body, "size": 0, "track_total_hits": True},
            request_timeout=REQUEST_TIMEOUT,
            **_MISSING_OK,
        )
        counts.append(int(response["hits"]["total"]["value"]))
    matching = [body for body, count in zip(bodies, counts, strict=True) if count]
    if len(matching) <= 1:
        return sum(counts)
    seen: set[tuple[str, str]] = set()
    for body in matching:
        query = {**body, "_source": False}
        for hit in helpers.scan(client, query=query, index=compiled.index, size=PAGE_SIZE, ignore_unavailable=True):
            seen.add((hit["_index"], hit["_id"]))
    return len(seen)


def count_matches(client: OpenSearch, rules: Sequence[CompiledRule], start: datetime, end: datetime) -> list[int]:
    """Events each plain rule matches with start <= @timestamp < end, in the order given."""
    counts: dict[int, int] = {}
    whole: list[tuple[int, CompiledRule]] = []
    for at, compiled in enumerate(rules):
        bodies = _part_bodies(compiled, start, end)
        if len(bodies) == 1:
            whole.append((at, compiled))
            continue
        try:
            counts[at] = _count(client, compiled, bodies)
        except TransportError as exc:
            raise _failure(compiled, {"error": exc.info if isinstance(exc.info, dict) else str(exc)}) from exc
    for first in range(0, len(whole), MSEARCH_BATCH):
        batch = whole[first : first + MSEARCH_BATCH]
        lines: list[dict[str, Any]] = []
        for _, compiled in batch:
            body = compiled.body(start, end)
            body.update(size=0, track_total_hits=True)
            lines += [{"index": compiled.index, **_MISSING_OK}, body]
        responses = client.msearch(
            body=lines, max_concurrent_searches=MAX_CONCURRENT_SEARCHES, request_timeout=REQUEST_TIMEOUT
        )["responses"]
        for (at, compiled), response in zip(batch, responses, strict=True):
            if "error" in response:
                raise _failure(compiled, response)
            counts[at] = int(response["hits"]["total"]["value"])
    return [counts[at] for at in range(len(rules))]


def matching_events(
    client: OpenSearch, compiled: CompiledRule, start: datetime, end: datetime, fields: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """Every hit (`_id`, `_index`, `_source` limited to `fields`) of a plain rule in the range, each once."""
    bodies = _part_bodies(compiled, start, end)
    seen: set[tuple[str, str]] = set()
    for body in bodies:
        body["_source"] = list(fields)
        for hit in helpers.scan(
            client, query=body, index=compiled.index, size=PAGE_SIZE, preserve_order=False, ignore_unavailable=True
        ):
            if len(bodies) > 1:
                key = (hit["_index"], hit["_id"])
                if key in seen:
                    continue
                seen.add(key)
            yield hit
