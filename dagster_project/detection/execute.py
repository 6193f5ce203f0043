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

Every answer must be complete: a count or a scroll page that some shards did not answer (a node left
mid-search) is asked again from the start, as `dagster_project.retries` states (layer 4), never taken as the
rule's result. Scrolls are `dagster_project.searches`', which checks every page (opensearch-py's `helpers.scan`
checks only pages that hold hits: a first page with none, because the failed shard held every match, ends it quietly).

Blocking; the client retries 429/5xx as `dagster_project.retries` states. A rule whose search fails, or stays
incomplete, raises a DetectionError naming the rule, with the node's reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from opensearchpy import OpenSearch, TransportError

from dagster_project import searches
from dagster_project.detection import guard
from dagster_project.detection.compile import CompiledRule
from dagster_project.errors import DetectionError
from dagster_project.retries import IncompleteSearch, complete, complete_stream

MSEARCH_BATCH = 50
"""Rules counted per `_msearch` request."""
MAX_CONCURRENT_SEARCHES = 2
"""Searches of one `_msearch` the node runs at a time (the node's search pool has a few threads per core)."""
REQUEST_TIMEOUT = 600.0
"""Seconds one `_msearch` may take: a batch of leading-wildcard rules over millions of events is slow work."""
PAGE_SIZE = 5000
"""Events fetched per page for a rule with matches."""
SCROLL_KEEPALIVE = "5m"
"""How long the node keeps a rule's scroll open between two pages."""
_MISSING_OK = {"ignore_unavailable": True, "allow_no_indices": True}


def _failure(compiled: CompiledRule, response: dict[str, Any]) -> DetectionError:
    error = response.get("error", {})
    cause = error.get("root_cause", [error])[0] if isinstance(error, dict) else {"reason": error}
    return DetectionError(f"search failed: {cause.get('reason') or cause}", where=compiled.rule_id)


def _incomplete(compiled: CompiledRule, exc: IncompleteSearch) -> DetectionError:
    return DetectionError(f"search stayed incomplete after retries: {exc.reason}", where=compiled.rule_id)


def _part_bodies(compiled: CompiledRule, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The search bodies of a rule's query parts (one body for a rule cheap enough to run whole)."""
    bodies = []
    for part in guard.split(compiled.query):
        body = compiled.body(start, end)
        body["query"]["bool"]["filter"][0] = part
        bodies.append(body)
    return bodies


def _whole(response: dict[str, Any], compiled: CompiledRule) -> dict[str, Any]:
    """`response`, when every shard answered it; IncompleteSearch naming the rule otherwise."""
    return searches.whole(response, compiled.rule_id)


def _scroll(client: OpenSearch, compiled: CompiledRule, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every hit of one search body in `_doc` order, each page checked to be whole (`searches.scroll`)."""
    return searches.scroll(
        client,
        index=compiled.index,
        body=body,
        where=compiled.rule_id,
        size=PAGE_SIZE,
        keepalive=SCROLL_KEEPALIVE,
        request_timeout=REQUEST_TIMEOUT,
        **_MISSING_OK,
    )


def _count_parts(client: OpenSearch, compiled: CompiledRule, bodies: Sequence[dict[str, Any]]) -> int:
    """A split rule's matches: its parts counted one request at a time, overlaps counted once."""
    counts: list[int] = []
    for body in bodies:
        response = client.search(
            index=compiled.index,
            body={**body, "size": 0, "track_total_hits": True},
            request_timeout=REQUEST_TIMEOUT,
            **_MISSING_OK,
        )
        counts.append(int(_whole(response, compiled)["hits"]["total"]["value"]))
    matching = [body for body, count in zip(bodies, counts, strict=True) if count]
    if len(matching) <= 1:
        return sum(counts)
    seen: set[tuple[str, str]] = set()
    for body in matching:
        for hit in _scroll(client, compiled, {**body, "_source": False}):
            seen.add((hit["_index"], hit["_id"]))
    return len(seen)


def _count_batch(client: OpenSearch, batch: Sequence[CompiledRule], start: datetime, end: datetime) -> list[int]:
    """The matches of rules run whole, in one `_msearch`; IncompleteSearch if any answer is partial."""
    lines: list[dict[str, Any]] = []
    for compiled in batch:
        body = compiled.body(start, end)
        body.update(size=0, track_total_hits=True)
        lines += [{"index": compiled.index, **_MISSING_OK}, body]
    responses = client.msearch(
        body=lines, max_concurrent_searches=MAX_CONCURRENT_SEARCHES, request_timeout=REQUEST_TIMEOUT
    )["responses"]
    counts = []
    for compiled, response in zip(batch, responses, strict=True):
        if "error" in response:
            if response.get("status") == 503:  # no copy of some shard answered: a node is leaving or joining
                raise IncompleteSearch(str(_failure(compiled, response).message), where=compiled.rule_id)
            raise _failure(compiled, response)
        counts.append(int(_whole(response, compiled)["hits"]["total"]["value"]))
    return counts


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
            counts[at] = complete(partial(_count_parts, client, compiled, bodies), f"counting {compiled.rule_id}")
        except IncompleteSearch as exc:
            raise _incomplete(compiled, exc) from exc
        except TransportError as exc:
            raise _failure(compiled, {"error": exc.info if isinstance(exc.info, dict) else str(exc)}) from exc
    for first in range(0, len(whole), MSEARCH_BATCH):
        batch = [compiled for _, compiled in whole[first : first + MSEARCH_BATCH]]
        try:
            values = complete(partial(_count_batch, client, batch, start, end), f"counting {len(batch)} rules")
        except IncompleteSearch as exc:
            failed = next(c for c in batch if c.rule_id == exc.where)
            raise _incomplete(failed, exc) from exc
        for (at, _), value in zip(whole[first : first + MSEARCH_BATCH], values, strict=True):
            counts[at] = value
    return [counts[at] for at in range(len(rules))]


def matching_events(
    client: OpenSearch, compiled: CompiledRule, start: datetime, end: datetime, fields: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """Every hit (`_id`, `_index`, `_source` limited to `fields`) of a plain rule in the range.

    Each hit comes once, unless a scroll lost a shard part way: the rule's scroll then starts again and hits
    already yielded come again (`retries.complete_stream`); a finding's id is the same either time.
    """
    bodies = _part_bodies(compiled, start, end)
    for body in bodies:
        body["_source"] = list(fields)

    def attempt() -> Iterator[dict[str, Any]]:
        seen: set[tuple[str, str]] = set()
        for body in bodies:
            for hit in _scroll(client, compiled, body):
                if len(bodies) > 1:
                    key = (hit["_index"], hit["_id"])
                    if key in seen:
                        continue
                    seen.add(key)
                yield hit

    try:
        yield from complete_stream(attempt, f"events of {compiled.rule_id}")
    except IncompleteSearch as exc:
        raise _incomplete(compiled, exc) from exc
    except TransportError as exc:
        raise _failure(compiled, {"error": exc.info if isinstance(exc.info, dict) else str(exc)}) from exc
