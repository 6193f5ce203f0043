"""The guard's cost and split of compiled queries (pure: no node)."""

from __future__ import annotations

from typing import Any

from dagster_project.detection.guard import cost, disjunctions, groups, split


def _query(text: str) -> dict[str, Any]:
    return {"bool": {"must": [{"query_string": {"query": text, "analyze_wildcard": True}}]}}


def _text(query: dict[str, Any]) -> str:
    return str(query["bool"]["must"][0]["query_string"]["query"])


def test_cost_counts_wildcards_and_regular_expressions_not_terms() -> None:
    query = _query("event.code:1 AND (cl:(*a* OR b OR *c\\ d*) AND img:/.*x.*/ AND user:e\\*f)")
    assert cost(query) == 3


def test_split_cuts_the_largest_positive_group_into_parts_of_the_limit() -> None:
    values = [f"*v{n}*" for n in range(10)]
    text = f"event.code:1 AND (cl:({' OR '.join(values)}) AND img:*x*)"
    parts = split(_query(text), max_clauses=4)
    assert [cost(part) for part in parts] == [4, 4, 4, 1 + 1]
    cut = [value for part in parts for value in groups(_text(part))[0].values]
    assert cut == values
    assert all(
        _text(part).startswith("event.code:1 AND (cl:(") and _text(part).endswith(") AND img:*x*)") for part in parts
    )


def test_split_keeps_exact_values_in_one_part() -> None:
    text = "cl:(a OR *b* OR c OR *d* OR *e*)"
    parts = split(_query(text), max_clauses=2)
    assert [_text(part) for part in parts] == ["cl:(a OR c OR *b* OR *d*)", "cl:(*e*)"]


def test_split_leaves_a_negated_or_repeated_group_whole() -> None:
    values = " OR ".join(f"*v{n}*" for n in range(6))
    for text in (
        f"event.code:1 AND NOT (cl:({values}))",
        f"event.code:1 AND NOT cl:({values})",
        f"(cl:({values}) AND a:1) OR (cl:({values}) AND b:1)",
    ):
        assert split(_query(text), max_clauses=2) == [_query(text)]


def test_groups_skip_escapes_quotes_and_regular_expressions() -> None:
    text = 'cl:(*a\\)b* OR "x y" OR /c(d)e/) AND NOT img:(*f* OR *g*)'
    found = groups(text)
    assert [(g.values, g.positive) for g in found] == [
        (("*a\\)b*", '"x y"', "/c(d)e/"), True),
        (("*f*", "*g*"), False),
    ]


def test_split_cuts_a_too_long_query_of_exact_terms_by_length() -> None:
    """Hash lists compile to exact terms: no wildcard to count, but a query string over the node's limit."""
    digests = [f"{n:064x}" for n in range(40)]
    text = f"event.code:6 AND file.hash.sha256:({' OR '.join(digests)})"
    parts = split(_query(text), max_chars=700)
    assert len(parts) > 1
    assert all(len(_text(part)) <= 700 for part in parts)
    assert [value for part in parts for value in groups(_text(part))[0].values] == digests
    assert all(_text(part).startswith("event.code:6 AND file.hash.sha256:(") for part in parts)
    assert split(_query(text), max_chars=len(text)) == [_query(text)]


def test_split_respects_both_limits_at_once() -> None:
    values = [f"*{'x' * 20}{n}*" for n in range(12)]
    text = f"cl:({' OR '.join(values)})"
    parts = split(_query(text), max_clauses=5, max_chars=100)
    assert all(cost(part) <= 5 and len(_text(part)) <= 100 for part in parts)
    assert [value for part in parts for value in groups(_text(part))[0].values] == values


def test_split_by_length_cuts_an_or_of_groups_into_one_part_per_group_before_cutting_a_group() -> None:
    """SigmaHQ's vulnerable-driver list: an OR of md5, sha1, sha256 and imphash groups, 212,000 characters."""
    md5 = [f"{n:032x}" for n in range(30)]
    sha256 = [f"{n:064x}" for n in range(30)]
    text = f"(channel:Sysmon AND event.code:6) AND ((md5:({' OR '.join(md5)})) OR (sha256:({' OR '.join(sha256)})))"
    parts = [_text(part) for part in split(_query(text), max_chars=1200)]
    assert all(len(part) <= 1200 for part in parts)
    assert all(part.startswith("(channel:Sysmon AND event.code:6) AND ((") for part in parts)
    assert [p for p in parts if "md5:" in p] == [text.replace(f" OR (sha256:({' OR '.join(sha256)}))", "")]
    values = [v for part in parts if "sha256:" in part for g in groups(part) for v in g.values if len(v) == 64]
    assert values == sha256 and not any("md5:" in p and "sha256:" in p for p in parts)


def test_disjunctions_skip_mixed_and_negated_expressions() -> None:
    text = "a:1 AND (b:1 OR c:(x OR y)) AND NOT (d:1 OR e:1) AND (f:1 OR g:1 AND h:1)"
    assert [d.pieces for d in disjunctions(text)] == [("x", "y"), ("b:1", "c:(x OR y)")]
