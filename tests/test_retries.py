"""Layer 4 of the retry policy: an incomplete search answer is asked again, and only that is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opensearchpy import TransportError

from dagster_project.retries import IncompleteSearch, ShardRetry, complete, complete_stream, shard_failures

NO_PAUSE = ShardRetry(retries=2, initial_backoff=0.0, max_backoff=0.0)


def test_shard_failures_name_each_failed_shard_and_ignore_skipped_ones() -> None:
    assert shard_failures({"_shards": {"total": 4, "successful": 3, "skipped": 1, "failed": 0}}) is None
    assert shard_failures({}) is None
    partial = {
        "_shards": {
            "total": 4,
            "successful": 3,
            "failed": 1,
            "failures": [{"index": "siem-events-a", "shard": 2, "reason": {"type": "node_not_connected_exception"}}],
        }
    }
    assert shard_failures(partial) == "1 of 4 shards failed (siem-events-a[2]: node_not_connected_exception)"


def test_complete_asks_again_while_the_answer_is_incomplete() -> None:
    answers: list[object] = [IncompleteSearch("1 of 4 shards failed"), TransportError(503, "unavailable"), 7]

    def attempt() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return answer

    assert complete(attempt, "counting", NO_PAUSE) == 7
    assert answers == []


def test_complete_gives_up_after_its_retries_with_the_last_reason() -> None:
    calls: list[int] = []

    def attempt() -> int:
        calls.append(1)
        raise IncompleteSearch(f"attempt {len(calls)}", where="rule-x")

    with pytest.raises(IncompleteSearch, match="rule-x: attempt 3"):
        complete(attempt, "counting", NO_PAUSE)
    assert len(calls) == 1 + NO_PAUSE.retries


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def attempt() -> int:
        calls.append(1)
        raise TransportError(400, "search_phase_execution_exception")

    with pytest.raises(TransportError):
        complete(attempt, "counting", NO_PAUSE)
    assert calls == [1]


def test_complete_stream_starts_again_from_the_first_item() -> None:
    runs: list[int] = []

    def attempt() -> Iterator[str]:
        runs.append(1)
        yield "a"
        if len(runs) == 1:
            raise IncompleteSearch("a shard was lost")
        yield "b"

    assert list(complete_stream(attempt, "events", NO_PAUSE)) == ["a", "a", "b"]


def test_the_default_pauses_grow_and_are_capped() -> None:
    retry = ShardRetry()
    assert [retry.pause(n) for n in range(1, retry.retries + 1)] == [1.0, 2.0, 4.0, 8.0, 8.0]
