"""`bulk_in_flight` against the real node: every action answered once, requests really side by side, a writer's
error raised in the caller after the answers before it, an early stop stops the writers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from opensearchpy import OpenSearch, TransportError

from dagster_project.ingest.inflight import bulk_in_flight

pytestmark = pytest.mark.live


class CountingClient:
    """The real client; `bulk` counts how many of its calls were in flight at once, and may fail one call."""

    def __init__(self, client: OpenSearch, fail_on: int | None = None) -> None:
        self._client = client
        self._fail_on = fail_on
        self._lock = threading.Lock()
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            number = self.calls
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if number == self._fail_on:
                raise TransportError(500, "injected failure", {})
            time.sleep(0.05)  # long enough for the other writer's request to start meanwhile
            return self._client.bulk(*args, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


def _actions(index: str, count: int) -> list[dict[str, Any]]:
    return [{"_op_type": "create", "_index": index, "_id": str(n), "_source": {"n": n}} for n in range(count)]


def test_every_action_is_answered_once_with_two_requests_in_flight(
    opensearch_client: OpenSearch, unique_index: str
) -> None:
    client = CountingClient(opensearch_client)
    answers = list(bulk_in_flight(client, _actions(unique_index, 3000), writers=2, chunk_size=200))
    assert sorted(int(item["create"]["_id"]) for _, item in answers) == list(range(3000))
    assert all(ok for ok, _ in answers)
    assert client.calls in (15, 16), "3000 actions in chunks of 200; each writer may end on a part chunk"
    assert client.most_in_flight == 2
    opensearch_client.indices.refresh(index=unique_index)
    assert opensearch_client.count(index=unique_index)["count"] == 3000

    again = list(bulk_in_flight(client, _actions(unique_index, 3000), writers=2, chunk_size=200, raise_on_error=False))
    assert len(again) == 3000 and {item["create"]["status"] for _, item in again} == {409}


def test_a_writer_error_reaches_the_caller_and_stops_the_other(
    opensearch_client: OpenSearch, unique_index: str
) -> None:
    client = CountingClient(opensearch_client, fail_on=3)
    before = threading.active_count()
    answered = []
    with pytest.raises(TransportError, match="injected failure"):
        for _, item in bulk_in_flight(client, _actions(unique_index, 20_000), writers=2, chunk_size=100):
            answered.append(item)
    assert 0 < len(answered) < 20_000
    assert client.calls < 200, "the other writer went on after the error"
    assert threading.active_count() == before


def test_closing_early_stops_the_writers(opensearch_client: OpenSearch, unique_index: str) -> None:
    client = CountingClient(opensearch_client)
    before = threading.active_count()
    stream = bulk_in_flight(client, _actions(unique_index, 20_000), writers=2, chunk_size=100)
    next(stream)
    stream.close()
    assert threading.active_count() == before
    assert client.calls < 200
