"""`read_ahead`: the same items in the same order, producer errors re-raised, an early stop stops the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dagster_project.ingest.prefetch import read_ahead


def test_every_item_in_order_across_partial_blocks() -> None:
    assert list(read_ahead(range(1234), block=100, depth=2)) == list(range(1234))
    assert list(read_ahead([], block=10)) == []


def test_the_items_are_produced_in_another_thread_ahead_of_the_consumer() -> None:
    produced_by: set[str] = set()
    ahead = threading.Event()

    def items() -> Iterator[int]:
        for n in range(30):
            produced_by.add(threading.current_thread().name)
            if n == 25:
                ahead.set()
            yield n

    stream = read_ahead(items(), block=5, depth=4)
    assert next(stream) == 0
    assert ahead.wait(5), "the producer did not read ahead while the consumer held item 0"
    assert list(stream) == list(range(1, 30))
    assert produced_by == {"read-ahead"}


def test_a_producer_error_reaches_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield from range(7)
        raise ValueError("reader broke")

    seen: list[int] = []
    with pytest.raises(ValueError, match="reader broke"):
        for item in read_ahead(items(), block=3):
            seen.append(item)
    assert seen == list(range(7))


def test_closing_early_stops_the_producer_and_runs_its_clean_up() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    stream = read_ahead(items(), block=10, depth=2)
    assert [next(stream) for _ in range(15)] == list(range(15))
    stream.close()
    assert closed.is_set()
    assert threading.active_count() == before
