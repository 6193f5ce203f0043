"""The one retry policy for requests to OpenSearch: stated here, applied by the layers named here, nowhere else.

A failed request meets at most three layers, in this order (one bulk chunk is one request):

1. **The transport**, for every request (`client.py` passes `TRANSPORT`): a refused or dropped connection and
   a 502, 503 or 504 answer are sent again at once to the next node of the pool (on one node: the same one),
   `TRANSPORT_RETRIES` times. Nothing else is retried there: not a timeout (a write that timed out may have
   been applied, and only an idempotent write may be sent again) and not a 429 (back-pressure wants a pause,
   see 3). urllib3's own retries stay off (opensearch-py turns them off).
2. **Idempotent bulk writes** (`IdempotentBulkClient`; ingestion's `create`, the `index` of findings and of
   data-quality results, all with deterministic ids): a timed-out request is sent again after a pause,
   `BulkRetry.timeout_retries` times.
   Documents the timed-out attempt did write answer 409 (`create`) and are counted as duplicates.
3. **`streaming_bulk`** (`BulkRetry.streaming_kwargs()`): a 429 for the whole request or for single documents
   is retried after an exponential pause (`initial_backoff` doubling up to `max_backoff`),
   `BulkRetry.rejected_retries` times, and only the rejected documents are sent again.

So a chunk that meets one failure every time costs exactly: 502/503/504 or a dropped connection,
1 + TRANSPORT_RETRIES = 3 requests; a 429, 1 + rejected_retries = 7; a timeout, 1 + timeout_retries = 3; then
the writer stops with an error naming the node and the last answer (ingestion: IngestError). Mixed failures
are bounded by the product of the three. Single-document requests get layer 1 only.

Searches get layer 1 and, where an answer must be complete (`dagster_project.searches`: detection's counts and
scrolls, arrivals, correlations, verification, data quality), one more:

4. **Incomplete answers.** A search answered by only some of its shards (a node left while it ran, a replica
   was being promoted: `_shards.failed` > 0, a scroll that lost a shard, or a 503 once layer 1 gave up) is run
   again from the start after a pause (`ShardRetry`, 1, 2, 4, 8, 8 s), `ShardRetry.retries` times; then the
   caller's error names the failed shards' reasons. A partial count is never taken as the count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError
from opensearchpy.helpers import ScanError

from dagster_project.errors import SiemError

log = logging.getLogger(__name__)

TRANSPORT_RETRIES = 2
"""With three nodes, each is tried once; with one, three quick tries ride out a dropped keep-alive connection."""

TRANSPORT: dict[str, Any] = {
    "max_retries": TRANSPORT_RETRIES,
    "retry_on_timeout": False,
    "retry_on_status": (502, 503, 504),
}
"""Layer 1, as keyword arguments of `opensearchpy.OpenSearch`."""


@dataclass(frozen=True)
class BulkRetry:
    """Layers 2 and 3 for bulk writes: how often timeouts and 429s are retried, the pauses, the request timeout."""

    rejected_retries: int = 6
    timeout_retries: int = 2
    initial_backoff: float = 1.0
    max_backoff: float = 60.0
    request_timeout: float = 120.0

    def pause(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based), as `streaming_bulk` computes it."""
        return float(min(self.max_backoff, self.initial_backoff * 2 ** (retry - 1)))

    def streaming_kwargs(self) -> dict[str, Any]:
        """Layer 3, as keyword arguments of `helpers.streaming_bulk` / `helpers.bulk`."""
        return {
            "max_retries": self.rejected_retries,
            "initial_backoff": self.initial_backoff,
            "max_backoff": self.max_backoff,
            "request_timeout": self.request_timeout,
        }


@dataclass(frozen=True)
class ShardRetry:
    """Layer 4 for searches that must be complete: how often an incomplete answer is asked again, the pauses."""

    retries: int = 5
    initial_backoff: float = 1.0
    max_backoff: float = 8.0

    def pause(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return float(min(self.max_backoff, self.initial_backoff * 2 ** (retry - 1)))


SHARD_RETRY = ShardRetry()
"""Five retries over 23 s: longer than a replica's promotion after a node leaves, short of hiding a red index."""


class IncompleteSearch(SiemError):
    """A search answered by only some of its shards; the message names the failed shards' reasons."""

    def __init__(self, reason: str, *, where: str | None = None) -> None:
        self.reason = reason
        super().__init__(reason, where=where)


def shard_failures(response: dict[str, Any]) -> str | None:
    """Why some shards of a search answer failed, or None when every shard answered (skipped ones count)."""
    shards = response.get("_shards") or {}
    if not shards.get("failed"):
        return None
    reasons = sorted(
        {
            f"{failure.get('index', '?')}[{failure.get('shard', '?')}]: {(failure.get('reason') or {}).get('type')}"
            for failure in shards.get("failures") or []
        }
    )
    named = f" ({'; '.join(reasons)})" if reasons else ""
    return f"{shards['failed']} of {shards.get('total', '?')} shards failed{named}"


_T = TypeVar("_T")


def _wait_or_raise(exc: Exception, number: int, what: str, retry: ShardRetry | None) -> None:
    """Pause before retry `number` of an incomplete search; re-raise anything else, or when retries are spent."""
    retry = retry or SHARD_RETRY
    incomplete = isinstance(exc, IncompleteSearch | ScanError) or (
        isinstance(exc, TransportError) and exc.status_code == 503
    )
    if not incomplete or number > retry.retries:
        raise exc
    log.warning("%s: incomplete answer (%s); retry %d in %.1fs", what, exc, number, retry.pause(number))
    time.sleep(retry.pause(number))


def complete(attempt: Callable[[], _T], what: str, retry: ShardRetry | None = None) -> _T:
    """`attempt()`, run again after a pause while its answer is incomplete (layer 4; blocking).

    After the last retry, its IncompleteSearch, ScanError or 503 TransportError propagates for the caller to name.
    """
    number = 0
    while True:
        number += 1
        try:
            return attempt()
        except (IncompleteSearch, ScanError, TransportError) as exc:
            _wait_or_raise(exc, number, what, retry)


def complete_stream(attempt: Callable[[], Iterator[_T]], what: str, retry: ShardRetry | None = None) -> Iterator[_T]:
    """The items of `attempt()`, started again from its first item while its answer is incomplete (layer 4).

    An attempt that fails part way has already yielded some items, and the next attempt yields them again:
    only a consumer for which an item twice is the same as once (a write with a deterministic id) may use it.
    """
    number = 0
    while True:
        number += 1
        try:
            yield from attempt()
            return
        except (IncompleteSearch, ScanError, TransportError) as exc:
            _wait_or_raise(exc, number, what, retry)


class IdempotentBulkClient:
    """Layer 2: the real client, whose `bulk` is sent again after a timeout (only for idempotent writes)."""

    def __init__(self, client: OpenSearch, retry: BulkRetry) -> None:
        self._client = client
        self._retry = retry

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        """`client.bulk`, retried `timeout_retries` times when it times out (blocking)."""
        for retry in range(1, self._retry.timeout_retries + 1):
            try:
                return self._client.bulk(*args, **kwargs)
            except ConnectionTimeout as exc:
                log.warning("bulk request timed out (%s); retry %d in %.1fs", exc, retry, self._retry.pause(retry))
                time.sleep(self._retry.pause(retry))
        return self._client.bulk(*args, **kwargs)


def describe_failure(exc: Exception) -> str:
    """What the node last answered, in words, for the error that ends a write."""
    if isinstance(exc, ConnectionTimeout):
        return f"request timed out ({exc.info or exc.error})"
    if isinstance(exc, OpenSearchConnectionError):
        return f"connection failed ({exc.info or exc.error})"
    if isinstance(exc, TransportError):
        return f"HTTP {exc.status_code} {exc.error}"
    return f"{type(exc).__name__}: {exc}"


def node_urls(client: OpenSearch) -> str:
    """The nodes a client talks to, as `host:port` separated by commas (the `where` of a write error)."""
    hosts = getattr(getattr(client, "transport", None), "hosts", None) or []
    return ",".join(f"{h.get('host', '?')}:{h.get('port', '?')}" for h in hosts) or "opensearch"
