"""A compiled query's cost, and the split of a costly one into parts whose union matches the same events.

Pure: no client, no I/O. Some community rules OR together hundreds or thousands of `*value*` wildcards
(emoji lists, driver names, command-line fragments). The node builds one automaton per wildcard and
runs each over the field's whole term dictionary; none of that memory is counted by a circuit breaker
(they account for requests' big arrays, aggregations, field data and in-flight bytes, not for a query's
automata), so several such queries running side by side can exhaust a small heap instead of failing.

`cost` counts a `query_string`'s multi-term clauses (wildcards, regular expressions). `split` cuts the
largest value group `field:(v1 OR v2 OR ...)` into groups of at most `max_clauses` multi-term values, one
query per group. It only cuts a group that occurs once and under no `NOT`: the query is then monotone in
that group and distributes over its ORs, so an event matches the query exactly when it matches some part.
Parts may overlap (an event with two listed values), so `execute` counts their union by event id.

A query string longer than `max_chars` (hash lists compiled to thousands of exact digests) is cut by length
the same way, at its longest parenthesised OR under no `NOT` (a value group, or an OR of such groups).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_CLAUSES = 200
"""Multi-term clauses (wildcards, regular expressions) one search may carry; a rule with more is split."""
MAX_QUERY_CHARS = 100_000
"""Characters one query string may have; a longer one is split. Half the node's
`search.query.max_query_string_length` (200,000, `node/topology.py`), as a cluster may set it lower."""

_FIELD_GROUP = re.compile(r"[\w.@-]+:\($")


@dataclass(frozen=True)
class Group:
    """A value group `field:(v1 OR v2 ...)` of a query string: where its values start and end, and the values."""

    start: int
    """Offset of the first character inside the parentheses."""
    end: int
    """Offset of the closing parenthesis."""
    values: tuple[str, ...]
    positive: bool
    """True when no `NOT` applies to the group (the query is monotone in it)."""


def _multi_term(value: str) -> bool:
    """True for a wildcard or regular-expression value (Lucene syntax, backslash escapes)."""
    if value.startswith("/"):
        return True
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            return True
    return False


def _scan(text: str) -> Iterator[tuple[int, str]]:
    """(offset, char) of the syntax characters of a query string: escapes, quoted phrases and regexps skipped."""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in '"/' and (char == '"' or i == 0 or text[i - 1] in " (:"):
            close = i + 1
            while close < len(text) and text[close] != char:
                close += 2 if text[close] == "\\" else 1
            i = close + 1
            continue
        yield i, char
        i += 1


def _split_values(body: str) -> tuple[str, ...] | None:
    """The values of a group's inside joined by ` OR ` at its top level; None when it holds anything else."""
    values: list[str] = []
    last = 0
    for offset, char in _scan(body):
        if char in "()":
            return None
        if char == " " and offset >= last:
            if not body.startswith(" OR ", offset):
                return None
            values.append(body[last:offset])
            last = offset + 4
    values.append(body[last:])
    return tuple(values) if all(values) else None


def _preceded_by_not(text: str, offset: int) -> bool:
    return text[:offset].rstrip().endswith(("NOT", "!")) or text[:offset].rstrip().endswith("-")


def groups(text: str) -> list[Group]:
    """Every value group of a query string, in order."""
    opened: list[int] = []
    found: list[Group] = []
    for offset, char in _scan(text):
        if char == "(":
            opened.append(offset)
        elif char == ")" and opened:
            start = opened.pop()
            field = _FIELD_GROUP.search(text[: start + 1])
            if field is None:
                continue
            values = _split_values(text[start + 1 : offset])
            if values is None:
                continue
            enclosing = [*opened, field.start()]
            positive = not any(_preceded_by_not(text, at) for at in enclosing)
            found.append(Group(start + 1, offset, values, positive))
    return found


def _query_strings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "query_string" in node and isinstance(node["query_string"], dict):
            yield node["query_string"]
        for value in node.values():
            yield from _query_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _query_strings(value)


def cost(query: dict[str, Any]) -> int:
    """The multi-term clauses (wildcards, regular expressions) of a compiled query's query strings."""
    total = 0
    for clause in _query_strings(query):
        text = str(clause.get("query", ""))
        in_groups = groups(text)
        total += sum(_multi_term(value) for group in in_groups for value in group.values)
        outside = text
        for group in reversed(in_groups):
            outside = outside[: group.start] + outside[group.end :]
        total += sum(_multi_term(term) for term in re.split(r"[\s()]+", outside) if ":" in term)
    return total


def split(query: dict[str, Any], max_clauses: int | None = None, max_chars: int | None = None) -> list[dict[str, Any]]:
    """Queries, each of at most about `max_clauses` (default `MAX_CLAUSES`) multi-term clauses and a query
    string of at most `max_chars` (default `MAX_QUERY_CHARS`) where it can be cut, matching together what
    `query` matches.

    `[query]` when it is cheap and short enough or holds nothing that may be cut (not one query string, or
    its costly group is negated or repeated).
    """
    max_clauses = MAX_CLAUSES if max_clauses is None else max_clauses
    max_chars = MAX_QUERY_CHARS if max_chars is None else max_chars
    clauses = list(_query_strings(query))
    texts = [str(clause.get("query", "")) for clause in clauses]
    if len(clauses) == 1 and len(texts[0]) > max_chars:
        return [piece for part in _split_by_length(query, texts[0], max_chars) for piece in split(part, max_clauses)]
    if sum(text.count("*") + text.count("?") + text.count("/") for text in texts) <= max_clauses:
        return [query]  # a bound on the clauses, without parsing: most rules end here
    if cost(query) <= max_clauses or len(clauses) != 1:
        return [query]
    text = texts[0]
    found = groups(text)
    cuttable = [g for g in found if g.positive and [o.values for o in found].count(g.values) == 1]
    if not cuttable:
        return [query]
    group = max(cuttable, key=lambda g: sum(_multi_term(v) for v in g.values))
    heavy = [v for v in group.values if _multi_term(v)]
    light = [v for v in group.values if not _multi_term(v)]
    if len(heavy) < 2:
        return [query]
    room = max(1, max_clauses - (cost(query) - len(heavy)))
    chunks = [heavy[at : at + room] for at in range(0, len(heavy), room)]
    if light:
        chunks[0] = light + chunks[0]
    return [_with(query, text[: group.start] + " OR ".join(chunk) + text[group.end :]) for chunk in chunks]


def _with(query: dict[str, Any], text: str) -> dict[str, Any]:
    part = copy.deepcopy(query)
    next(_query_strings(part))["query"] = text
    return part


@dataclass(frozen=True)
class Disjunction:
    """A parenthesised `d1 OR d2 OR ...` of a query string (a value group, or an OR of sub-expressions)."""

    start: int
    end: int
    pieces: tuple[str, ...]


def disjunctions(text: str) -> list[Disjunction]:
    """Every parenthesised OR, at its top level nothing but ORs, under no `NOT`: the query distributes over it."""
    opened: list[tuple[int, list[int], bool]] = []
    found: list[Disjunction] = []
    for offset, char in _scan(text):
        if char == "(":
            opened.append((offset, [], False))
        elif char == " " and opened:
            at, ors, mixed = opened[-1]
            if text.startswith(" OR ", offset):
                ors.append(offset)
            elif text.startswith((" AND ", " NOT ", " && ", " || "), offset):
                opened[-1] = (at, ors, True)
        elif char == ")" and opened:
            at, ors, mixed = opened.pop()
            if not ors or mixed or any(_preceded_by_not(text, o) for o, _, _ in [*opened, (at, [], False)]):
                continue
            bounds = [at + 1, *(o + 4 for o in ors)]
            ends = [*ors, offset]
            found.append(Disjunction(at + 1, offset, tuple(text[b:e] for b, e in zip(bounds, ends, strict=True))))
    return found


def _split_by_length(query: dict[str, Any], text: str, max_chars: int) -> list[dict[str, Any]]:
    """Cut the query string's longest disjunction into runs of its pieces, each part as short as it can be
    (a part still too long is cut again); `[query]` when nothing can be cut."""
    found = [d for d in disjunctions(text) if len(d.pieces) > 1]
    if not found:
        return [query]
    cut = max(found, key=lambda d: d.end - d.start)
    rest = len(text) - (cut.end - cut.start)
    room = max(max_chars - rest, max(map(len, cut.pieces)))
    runs: list[list[str]] = [[]]
    size = 0
    for piece in cut.pieces:
        added = len(piece) + (4 if runs[-1] else 0)
        if runs[-1] and size + added > room:
            runs.append([])
            size, added = 0, len(piece)
        runs[-1].append(piece)
        size += added
    parts = [_with(query, text[: cut.start] + " OR ".join(run) + text[cut.end :]) for run in runs]
    if len(parts) == 1:
        return parts
    return [piece for part in parts for piece in _again(part, max_chars)]


def _again(part: dict[str, Any], max_chars: int) -> list[dict[str, Any]]:
    text = str(next(_query_strings(part))["query"])
    return _split_by_length(part, text, max_chars) if len(text) > max_chars else [part]
