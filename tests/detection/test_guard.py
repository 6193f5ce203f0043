"""The guard's cost and split of compiled queries (pure: no node)."""

from __future__ import annotations

from typing import Any

from dagster_project.detection.guard import cost, groups, split


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
