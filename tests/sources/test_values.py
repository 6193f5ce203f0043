"""The shared value parsers (`dagster_project.sources.values`): times, IP addresses, host names, JSON objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-07-10T11:47:39Z", datetime(2023, 7, 10, 11, 47, 39, tzinfo=UTC)),
        ("2023-07-10T13:47:39+02:00", datetime(2023, 7, 10, 11, 47, 39, tzinfo=UTC)),
        ("2019-03-19T00:02:04.3355616Z", datetime(2019, 3, 19, 0, 2, 4, 335561, tzinfo=UTC)),
        ("2024-03-27T13:06:56.123456789+0100", datetime(2024, 3, 27, 12, 6, 56, 123456, tzinfo=UTC)),
        ("2020-10-18 07:50:06.220", datetime(2020, 10, 18, 7, 50, 6, 220000, tzinfo=UTC)),
        ("Jul 10, 2023", None),
        ("2024-02-30T00:00:00Z", None),
        ("", None),
    ],
)
def test_parse_timestamp(value: str, expected: datetime | None) -> None:
    """ISO 8601 in its common shapes; fractions beyond microseconds truncated; zoneless read as UTC."""
    assert values.parse_timestamp(value) == expected


def test_a_zoneless_timestamp_can_be_refused() -> None:
    """With `naive_is_utc=False` only a timestamp that carries its zone is a time."""
    assert values.parse_timestamp("2020-10-18 07:50:06", naive_is_utc=False) is None
    assert values.parse_timestamp("2020-10-18 07:50:06Z", naive_is_utc=False) == datetime(
        2020, 10, 18, 7, 50, 6, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_whose_utc_falls_outside_the_calendar_is_none(value: str) -> None:
    """Valid ISO text whose UTC would be year 0 or 10000 is not a time (it used to crash the parsers)."""
    assert values.parse_timestamp(value) is None


def test_utc_and_shifted_return_none_instead_of_overflowing() -> None:
    """The two date operations that can leave years 1-9999 say so with None."""
    assert values.utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) is None
    assert values.utc(datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(2024, 1, 1, tzinfo=UTC)
    assert values.shifted(datetime(9999, 12, 31, 23, tzinfo=UTC), timedelta(hours=2)) is None
    assert values.shifted(datetime(2024, 1, 1, tzinfo=UTC), timedelta(hours=2)) == datetime(2024, 1, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:DB8::0:1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
        ("fe80::1%eth0", None),
        ("192.0.2.256", None),
        ("host.example.org", None),
        ("", None),
    ],
)
def test_canonical_ip(value: str, expected: str | None) -> None:
    """The canonical text of an address; a zone id, which OpenSearch's `ip` type refuses, is no address."""
    assert values.canonical_ip(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("web-01.example.org", True), ("WS01", True), ("_gateway", True), ("-bad", False), ("a b", False), ("", False)],
)
def test_is_hostname(value: str, expected: bool) -> None:
    """Host-name shape: what may go to `source.domain`."""
    assert values.is_hostname(value) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("not json", "invalid JSON: Expecting value at line 1 column 1"),
        ("[1]", "JSON value is an array, expected an object"),
        ('"x"', "JSON value is a string, expected an object"),
        ("null", "JSON value is null, expected an object"),
        ('{"a": NaN}', "invalid JSON: non-standard JSON constant NaN"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
    ],
)
def test_load_json_object(text: str, expected: object) -> None:
    """One JSON object, or the reason it is not one (never an exception)."""
    assert values.load_json_object(text) == expected


_stdlib = values.stdlib_json_object
"""What `load_json_object` gave before it read with orjson: the stdlib decoder alone."""


_EDGES = [
    '{"n": 18446744073709551616}',
    '{"n": 18446744073709551615, "m": -9223372036854775808, "k": -9223372036854775809}',
    '{"n": 100000000000000000000000000000.5}',
    '{"f": 1e400, "g": -1e400, "h": 1.7976931348623159e308, "i": 1e-400}',
    '{"z": -0, "y": -0.0, "x": 0.0, "w": 1E5, "v": 5e-324, "u": 2.2250738585072011e-308}',
    '{"s": "\\ud800", "\\udc00": 1}',
    '{"s": "\udcff raw surrogate"}',
    '{"a": 1, "a": 2.0}',
    '{"a": NaN}',
    '{"a": Infinity}',
    '{"a": "\t"}',
    '{"a": 1,}',
    '\ufeff{"a": 1}',
    ' {"a" : [ ] }\n',
    '{"a": 01}',
    "[" * 1100 + "]" * 1100,
    '{"a":' * 1100 + "1" + "}" * 1100,
    '{"a":' * 900 + "1" + "}" * 900,
    '{"a":' + "[" * 1010 + "]" * 1010 + "}",
    '{"a":' * 1010 + "1" + "}" * 1010,
]


@pytest.mark.parametrize("text", _EDGES)
def test_load_json_object_reads_edge_cases_as_the_stdlib_does(text: str) -> None:
    """Big integers, overflowing floats, surrogates, duplicates, constants, depth: the same value or reason."""
    assert repr(values.load_json_object(text)) == repr(_stdlib(text))


_NUMBERS = (
    st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
)
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBERS | st.text(st.characters(codec=None), max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=4), _JSON, max_size=5), st.booleans(), st.sampled_from([None, (",", ":")]))
def test_load_json_object_reads_any_object_as_the_stdlib_does(
    value: dict[str, Any], ascii_only: bool, separators: tuple[str, str] | None
) -> None:
    """Whatever JSON text an object is written as, orjson's fast path gives exactly the stdlib's value."""
    text = json.dumps(value, ensure_ascii=ascii_only, separators=separators)
    assert repr(values.load_json_object(text)) == repr(_stdlib(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]",: 0123456789.eE+-tfnaul\\u', max_size=40))
def test_load_json_object_reads_near_json_as_the_stdlib_does(text: str) -> None:
    """Text that is almost JSON is accepted or refused with the stdlib's value or reason."""
    assert repr(values.load_json_object(text)) == repr(_stdlib(text))


def test_compact_json_is_canonical() -> None:
    """Equal values give equal text: sorted keys, no spaces, UTF-8 kept."""
    assert values.compact_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'
