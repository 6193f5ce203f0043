"""The GX sample checks without a cluster: the IP pattern agrees with `ipaddress`; bad rows are named."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.quality.expectations import SourceExpectations
from dagster_project.quality.sample import IP_REGEX, Sample, sample_rows, sample_seed, validate_sample
from tests.quality.builders import jsonl

PATTERN = re.compile(IP_REGEX)


def _valid(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (isinstance(address, ipaddress.IPv6Address) and address.scope_id)


@settings(max_examples=500)
@given(st.ip_addresses())
def test_every_address_in_every_text_form_matches(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    forms = {str(address), address.exploded}
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        forms.add(f"::ffff:{address.ipv4_mapped}")
    for form in forms:
        assert PATTERN.search(form), form


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45))
def test_the_pattern_agrees_with_ipaddress_on_arbitrary_text(text: str) -> None:
    assert bool(PATTERN.search(text)) == _valid(text), text


def test_known_edge_cases() -> None:
    good = [
        "0.0.0.0",
        "255.255.255.255",
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::8",
        "::ffff:10.0.0.1",
        "64:ff9b::192.0.2.33",
        "1:2:3:4:5:6:1.2.3.4",
        "fe80::1",
    ]
    bad = [
        "",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        ":::",
        "fe80::1%eth0",
        "10.0.0.1\n",
        " 10.0.0.1",
        "-",
        "localhost",
        "1:2:3:4:5:6:7:1.2.3.4",
    ]
    assert [g for g in good if not PATTERN.search(g)] == []
    assert [b for b in bad if PATTERN.search(b)] == []


def test_rows_read_nested_and_dotted_keys_and_explode_lists() -> None:
    hits = [
        {"_id": "a", "_source": {"source": {"ip": "10.0.0.1"}, "related": {"ip": ["10.0.0.1", "::1"]}}},
        {"_id": "b", "_source": {"source.ip": "bad", "event": {"outcome": "success"}}},
        {"_id": "c", "_source": {}},
    ]
    rows = sample_rows(hits, ["event.outcome", "source.ip", "related.ip"])
    assert rows.to_dict("records") == [
        {"_id": "a", "field": "source.ip", "value": "10.0.0.1"},
        {"_id": "a", "field": "related.ip", "value": "10.0.0.1"},
        {"_id": "a", "field": "related.ip", "value": "::1"},
        {"_id": "b", "field": "event.outcome", "value": "success"},
        {"_id": "b", "field": "source.ip", "value": "bad"},
    ]


def _sample(expectations: SourceExpectations, hits: list[dict[str, Any]]) -> Sample:
    return Sample(sample_rows(hits, expectations.sample_fields()), len(hits), 1000, 7)


def test_gx_names_the_bad_values_their_fields_and_ids() -> None:
    expectations = jsonl()
    hits = [
        {"_id": f"ok{i}", "_source": {"event": {"outcome": "success"}, "source": {"ip": f"10.0.0.{i}"}}}
        for i in range(7)
    ]
    hits += [
        {"_id": "bad1", "_source": {"event": {"outcome": "ok"}, "source": {"ip": "999.1.1.1"}}},
        {"_id": "bad2", "_source": {"event": {"outcome": "ok"}, "related": {"ip": ["10.0.0.1", "nope"]}}},
        {"_id": "bad3", "_source": {"event": {"outcome": "Success"}}},
    ]
    ip, outcome = validate_sample(expectations, _sample(expectations, hits), "2026-11-27")
    assert (ip.check, ip.passed, ip.total, ip.failing) == ("ip_valid", False, 10, 2)
    assert {(s["id"], s["field"], s["value"]) for s in ip.observed["sample_ids"]} == {
        ("bad1", "source.ip", "999.1.1.1"),
        ("bad2", "related.ip", "nope"),
    }
    assert (outcome.check, outcome.passed, outcome.total, outcome.failing) == ("outcome_valid", False, 10, 3)
    assert outcome.observed["top_unexpected"] == [
        {"value": "ok", "count": 2},
        {"value": "Success", "count": 1},
    ]
    assert outcome.observed["sampled_events"] == 10 and outcome.observed["partition_events"] == 1000
    assert "random sample of 10 of the partition's 1000 events" in outcome.description


def test_an_empty_sample_passes_with_nothing_checked() -> None:
    expectations = jsonl()
    empty = Sample(pd.DataFrame(columns=["_id", "field", "value"]), 0, 0, 7)
    results = validate_sample(expectations, empty, "2026-11-27")
    assert [(r.check, r.passed, r.total, r.failing) for r in results] == [
        ("ip_valid", True, 0, 0),
        ("outcome_valid", True, 0, 0),
    ]


def test_the_seed_is_fixed_per_partition() -> None:
    assert sample_seed("jsonl", "2026-11-27") == sample_seed("jsonl", "2026-11-27")
    assert sample_seed("jsonl", "2026-11-27") != sample_seed("jsonl", "2026-11-26")
    assert 0 <= sample_seed("jsonl", "2026-11-27") < 2**31
