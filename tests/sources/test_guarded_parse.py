"""Every source's `parse` goes through one guard: flagged records and parser bugs become rejects, never exceptions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import pytest

from dagster_project.sources.base import (
    Event,
    GuardedParser,
    RawRecord,
    Rejected,
    SourceContext,
    is_internal_error,
)
from dagster_project.sources.registry import parser_factory, source_names

CONTEXT = SourceContext(path="t", reference_time=datetime(2024, 6, 1, tzinfo=UTC))


def _boom(*_args: object) -> object:
    raise KeyError("surprise")


class _Crashing(GuardedParser):
    """A parser whose own work always fails."""

    name = "demo"

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Not used."""
        return iter(())

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Crash."""
        raise KeyError("surprise")


def test_a_flagged_record_is_rejected_with_the_readers_reason() -> None:
    record = RawRecord(7, 0, "x", error="binary data (NUL bytes)")
    assert _Crashing(CONTEXT).parse(record) == Rejected("binary data (NUL bytes)", 7, "x")


def test_an_exception_becomes_a_reject_naming_the_source() -> None:
    result = _Crashing(CONTEXT).parse(RawRecord(3, 0, "line"))
    assert result == Rejected("internal error in the demo parser: KeyError: 'surprise'", 3, "line")


@pytest.mark.parametrize("source", source_names())
def test_each_source_quarantines_its_own_bugs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every registered parser runs its work inside the guard: a crash there is a reject naming the source."""
    parser = parser_factory(source)(CONTEXT)
    assert isinstance(parser, GuardedParser)
    monkeypatch.setattr(parser, "parse_record", _boom)
    result = parser.parse(RawRecord(1, 0, '{"Event": {}}'))
    assert isinstance(result, Rejected)
    assert result.reason == f"internal error in the {source} parser: KeyError: 'surprise'"
    assert is_internal_error(result)


def test_only_a_crash_counts_as_an_internal_error() -> None:
    """The tests of every parser fail on internal errors; a reject for bad input is not one."""
    assert not is_internal_error(Rejected("invalid JSON: Expecting value at line 1 column 1", 1, "x"))
    assert not is_internal_error(Event(timestamp=datetime(2024, 1, 1, tzinfo=UTC), original="x", fields={}))


def _deep(depth: int, opening: str, closing: str) -> str:
    return '{"@timestamp": "2024-03-01T10:00:00Z", "a": ' + opening * depth + "1" + closing * depth + "}"


@pytest.mark.parametrize("source", ["jsonl", "cloudtrail", "windows"])
def test_input_nested_near_the_stack_limit_is_rejected_as_too_deep(source: str) -> None:
    """Around 1000 levels the stack runs out somewhere in parsing: a reject saying so, never an internal error.

    Parsed in a fresh thread (an empty stack, as a worker has), at depths on both sides of where the
    decoder gives up and where the parser's own walk over the decoded object would.
    """
    parser = parser_factory(source)(CONTEXT)
    results: list[Event | Rejected] = []

    def parse_all() -> None:
        for depth in range(960, 1100, 2):
            for opening, closing in (('{"b": ', "}"), ("[", "]")):
                results.append(parser.parse(RawRecord(1, 0, _deep(depth, opening, closing))))

    worker = threading.Thread(target=parse_all)
    worker.start()
    worker.join()
    assert len(results) == 140
    assert [r for r in results if is_internal_error(r)] == []
    reasons = [r.reason for r in results if isinstance(r, Rejected)]
    assert any("nested too deeply" in reason for reason in reasons), reasons


class _Nesting(GuardedParser):
    """A parser whose own work recurses once per level of its input's nesting (as walks over JSON do)."""

    name = "demo"

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Not used."""
        return iter(())

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Walk the brackets recursively."""

        def walk(text: str) -> int:
            return 1 + walk(text[1:]) if text.startswith("[") else 0

        walk(record.text)
        return Rejected("shallow", record.line_no, record.text)


def test_recursion_in_a_parser_is_a_reject_saying_too_deep_not_an_internal_error() -> None:
    """Input that nests deeper than the stack allows is bad input, said so in the reason, not a parser bug."""
    result = _Nesting(CONTEXT).parse(RawRecord(3, 0, "[" * 5000))
    assert isinstance(result, Rejected) and not is_internal_error(result)
    assert (result.reason, result.line_no) == ("nested too deeply for the demo parser", 3)
    assert _Nesting(CONTEXT).parse(RawRecord(1, 0, "[[1]]")) == Rejected("shallow", 1, "[[1]]")
