"""A client wrapper whose `bulk` retries 5xx answers, timeouts and dropped connections with exponential backoff.

opensearch-py's `streaming_bulk` already retries 429s (per request and per item); this adds the other
transient failures. Retrying a request that timed out after the cluster applied it makes the retried
documents answer 409 (same deterministic ids): they are counted as duplicates, never indexed twice.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

log = logging.getLogger(__name__)

RETRIED_STATUS = {500, 502, 503, 504}


class RetryingBulkClient:
    """Delegates everything to the real client; `bulk` is retried up to `attempts` times (blocking)."""

    def __init__(
        self, client: OpenSearch, *, attempts: int = 6, initial_backoff: float = 1.0, max_backoff: float = 30.0
    ):
        self._client = client
        self._attempts = attempts
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        """`client.bulk` with retries on 5xx, timeouts and connection errors."""
        delay = self._initial_backoff
        for attempt in range(1, self._attempts + 1):
            try:
                return self._client.bulk(*args, **kwargs)
            except (ConnectionTimeout, OpenSearchConnectionError) as exc:
                failure: Exception = exc
            except TransportError as exc:
                if exc.status_code not in RETRIED_STATUS:
                    raise
                failure = exc
            if attempt == self._attempts:
                raise failure
            log.warning("bulk attempt %d failed (%s); retrying in %.1fs", attempt, failure, delay)
            time.sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable")
