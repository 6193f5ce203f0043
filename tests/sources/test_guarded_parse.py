"""Every source's `parse` goes through one guard: flagged records and parser bugs become rejects, never exceptions."""

from __future__ import annotations

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
