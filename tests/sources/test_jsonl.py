"""Golden tests of the ECS JSON-lines parser (`dagster_project.sources.jsonl`)."""

from __future__ import annotations

import gzip
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import jsonl
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, is_internal_error

DATA = Path(__file__).parents[1] / "data"
CONTEXT = SourceContext(path="test", reference_time=datetime(2024, 1, 1, tzinfo=UTC))
PARSER = jsonl.JsonlParser(CONTEXT)


def parse_bytes(data: bytes) -> tuple[list[Event], list[Rejected]]:
    """Run records() and parse() over a whole input, as ingestion does."""
    events: list[Event] = []
    rejects: list[Rejected] = []
    for record in PARSER.records(io.BytesIO(data), "input.jsonl"):
        result = PARSER.parse(record)
        if isinstance(result, Event):
            events.append(result)
        else:
            rejects.append(result)
    return events, rejects


def test_golden_documents() -> None:
    """Nested and dotted ECS lines pass through; `event.original` is the line, `@timestamp` UTC."""
    events, rejects = parse_bytes((DATA / "jsonl" / "sample.jsonl").read_bytes())
    expected = json.loads((DATA / "jsonl" / "sample.expected.json").read_text())
    assert rejects == []
    assert [event.document() for event in events] == expected


def test_dotted_keys_are_expanded_and_merged() -> None:
    """`event.action` and `event: {...}` end up in one `event` object."""
    line = '{"@timestamp": "2024-03-01T10:00:00Z", "event.action": "x", "event": {"kind": "event"}, "a.b.c": 1}'
    event = PARSER.parse(RawRecord(1, 0, line))
    assert isinstance(event, Event)
    assert event.fields == {"event": {"action": "x", "kind": "event"}, "a": {"b": {"c": 1}}}
    assert event.original == line


def test_line_numbers_and_offsets_survive_blank_lines_and_a_bom() -> None:
    """Blank lines are skipped but counted; a UTF-8 BOM is not part of the first record."""
    data = b'\xef\xbb\xbf{"@timestamp": 0}\n\n{"@timestamp": 1}\n'
    records = list(PARSER.records(io.BytesIO(data), "x.jsonl"))
    assert [(r.line_no, r.offset, r.text) for r in records] == [
        (1, 3, '{"@timestamp": 0}'),
        (3, 22, '{"@timestamp": 1}'),
    ]
    assert all(isinstance(PARSER.parse(r), Event) for r in records)


def test_truncated_gzip_ends_with_an_error_record(tmp_path: Path) -> None:
    """A read failure of the (decompressing) stream becomes an error record after the good lines."""
    whole = gzip.compress(b'{"@timestamp": 0}\n' * 10_000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with gzip.open(path, "rb") as stream:
        records = list(PARSER.records(stream, str(path)))  # type: ignore[arg-type]
    assert records[-1].error is not None and records[-1].error.startswith("read failed after line ")
    assert all(r.error is None for r in records[:-1]) and len(records) > 1
    rejected = PARSER.parse(records[-1])
    assert isinstance(rejected, Rejected) and rejected.reason == records[-1].error


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "invalid JSON: Expecting value at line 1 column 1"),
        ("[1]", "JSON value is an array, expected an object"),
        ("null", "JSON value is null, expected an object"),
        ('{"message": "x"}', "missing @timestamp"),
        ('{"@timestamp": "yesterday"}', "unparseable @timestamp 'yesterday'"),
        ('{"@timestamp": true}', "unparseable @timestamp True"),
        ('{"@timestamp": null}', "unparseable @timestamp None"),
        ('{"@timestamp": 1e300}', "unparseable @timestamp 1e+300"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "x": NaN}', "invalid JSON: non-standard JSON constant NaN"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "user": "bob", "user.name": "x"}',
         "field 'user.name' conflicts with the value of 'user'"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "user.name": "x", "user": {"name": "y"}}',
         "field 'user' is given twice (dotted and nested)"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "a..b": 1}', "invalid field name 'a..b'"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "": 1}', "invalid field name ''"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "_id": "abc"}',
         "field '_id' is reserved for OpenSearch metadata"),
        ('{"@timestamp": "2024-03-01T10:00:00Z", "event": "login"}',
         "field 'event' must be an object, got a string"),
    ],
)  # fmt: skip
def test_malformed_lines_are_rejected_with_a_reason(line: str, reason: str) -> None:
    """Each malformed line is rejected with a precise reason, keeping line number and text."""
    assert PARSER.parse(RawRecord(5, 0, line)) == Rejected(reason, 5, line)


def test_nested_empty_key_is_rejected() -> None:
    """An empty field name anywhere would fail indexing."""
    line = '{"@timestamp": "2024-03-01T10:00:00Z", "labels": {"": 1}}'
    assert PARSER.parse(RawRecord(1, 0, line)) == Rejected("invalid field name 'labels.'", 1, line)


def test_escaped_dot_in_a_key_is_expanded_too() -> None:
    """`\\u002e` is a dot once decoded; the key is expanded like any dotted key."""
    event = PARSER.parse(RawRecord(1, 0, '{"@timestamp": 0, "user\\u002ename": "x"}'))
    assert isinstance(event, Event) and event.fields == {"user": {"name": "x"}}


def test_values_full_of_dots_parse_quickly() -> None:
    """Dots in values do not matter: 200,000 of them do not stall the parser."""
    line = '{"@timestamp": 0, "message": "' + "." * 200_000 + '"}'
    started = time.perf_counter()
    event = PARSER.parse(RawRecord(1, 0, line))
    assert isinstance(event, Event)
    assert time.perf_counter() - started < 0.5


def test_record_with_reader_error_is_rejected_with_that_error() -> None:
    """An error set by the reader (over-long line, NUL bytes) becomes the reject reason."""
    assert PARSER.parse(RawRecord(2, 9, "x", error="binary data (NUL bytes)")) == Rejected(
        "binary data (NUL bytes)", 2, "x"
    )


def _ecs_goldens() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(p for name in ("cloudtrail", "windows", "jsonl") for p in (DATA / name).glob("*.expected.json")):
        docs.extend(json.loads(path.read_text()))
    return docs


def test_documents_of_other_sources_round_trip_losslessly() -> None:
    """Every golden ECS document of every source, written as a JSON line, passes through unchanged."""
    docs = _ecs_goldens()
    assert len(docs) >= 20
    for doc in docs:
        line = json.dumps(doc, ensure_ascii=False)
        event = PARSER.parse(RawRecord(1, 0, line))
        assert isinstance(event, Event), event
        again = event.document()
        assert again["event"].pop("original") == line
        expected = json.loads(line)
        expected["event"].pop("original")
        assert again == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text: str) -> None:
    """Whatever the text, parse returns an Event or a Rejected for the input, never for a parser crash."""
    result = PARSER.parse(RawRecord(1, 0, text))
    assert isinstance(result, Event | Rejected)
    assert not is_internal_error(result), result


_KEYS = st.sampled_from(["@timestamp", "event", "event.action", "user", "user.name", "a.b", "a", "_x", "", "."])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES | st.just("2024-01-01T00:00:00Z"), max_size=6))
def test_parse_never_raises_on_odd_objects(obj: dict[str, Any]) -> None:
    """Objects with clashing dotted keys and odd timestamps: a serialisable Event, or a Rejected."""
    result = PARSER.parse(RawRecord(1, 0, json.dumps(obj)))
    assert isinstance(result, Event | Rejected)
    assert not is_internal_error(result), result
    if isinstance(result, Event):
        doc = result.document()
        json.dumps(doc)
        assert all("." not in key for key in doc if key != "@timestamp")
