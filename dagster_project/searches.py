"""Searches whose answer must be whole: every page checked for failed shards, and layer 4 of `retries` around them.

A node that leaves while a search runs, or a replica being promoted, makes the node answer from only some shards
(`_shards.failed` > 0) with a 200. Taken as it is, such an answer is a count too low, a day of events missing from a
scan, an injected event that verification never meets. `helpers.scan` checks only pages that hold hits, so a
failed shard on a hit-less first or last page ends it quietly; `scroll` here checks every page, and is the one
scroll of the suite (the hygiene test keeps it so).

- `whole(response)`: the response, or IncompleteSearch naming the failed shards.
- `search(...)`: one search, asked again while incomplete (`retries.complete`).
- `scroll(...)`: every hit of a search, each page checked; incomplete raises (no retry: the caller has seen hits).
- `scan(...)`: `scroll` started again from its first hit while incomplete; only for consumers to whom a hit
  twice is the same as once (writes with deterministic ids, sets).
- `collect(...)`: `scroll` into a list, asked again while incomplete; for answers small enough to hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.retries import IncompleteSearch, complete, complete_stream, shard_failures

PAGE_SIZE = 1000
"""Hits per scroll page unless the caller says otherwise."""
KEEPALIVE = "5m"
"""How long the node keeps a scroll open between two pages."""


def whole(response: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """`response`, when every shard answered it; IncompleteSearch naming `where` and the failed shards otherwise."""
    failed = shard_failures(response)
    if failed:
        raise IncompleteSearch(failed, where=where)
    return response


def search(client: OpenSearch, where: str, **kwargs: Any) -> dict[str, Any]:
    """`client.search(**kwargs)`, asked again after a pause while some shards fail (layer 4)."""
    return complete(lambda: whole(client.search(**kwargs), where), where)


def scroll(
    client: OpenSearch,
    *,
    index: str,
    body: dict[str, Any],
    where: str,
    size: int = PAGE_SIZE,
    keepalive: str = KEEPALIVE,
    request_timeout: float | None = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """Every hit of `body` (in its `sort`, else `_doc` order), each page checked to be whole; the scroll cleared after.

    `options` go to the first search (`ignore_unavailable`, `_source`, ...). IncompleteSearch on a page some shard
    did not answer, whether it holds hits or not.
    """
    timeout = {"request_timeout": request_timeout} if request_timeout is not None else {}
    sorted_body = body if "sort" in body else {**body, "sort": ["_doc"]}
    first = client.search(index=index, body=sorted_body, size=size, scroll=keepalive, **timeout, **options)
    response = whole(first, where)
    scroll_id = response.get("_scroll_id")
    try:
        while response["hits"]["hits"]:
            yield from response["hits"]["hits"]
            if not scroll_id:
                return
            response = whole(client.scroll(body={"scroll_id": scroll_id, "scroll": keepalive}, **timeout), where)
            scroll_id = response.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            client.clear_scroll(body={"scroll_id": [scroll_id]}, ignore=(404,))


def scan(client: OpenSearch, *, where: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """`scroll`, started again from its first hit while incomplete: a hit may come twice, never goes missing."""
    return complete_stream(partial(scroll, client, where=where, **kwargs), where)


def collect(client: OpenSearch, *, where: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every hit of `scroll` in a list, the whole scroll asked again while incomplete."""
    return complete(lambda: list(scroll(client, where=where, **kwargs)), where)
