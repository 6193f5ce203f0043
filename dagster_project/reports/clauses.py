"""Evidence clauses, the frameworks' declarative event filters, as query DSL and in words (pure, golden-tested)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster_project.reports.frameworks import Clause, EventsEvidence, FieldOp, FieldTest
from dagster_project.storage import naming


def events_index(sources: Sequence[str]) -> str:
    """The index pattern of these sources' events (all sources when empty)."""
    return ",".join(naming.events_pattern(s) for s in sources) if sources else naming.events_pattern()


def field_test(field: str, test: FieldTest) -> dict[str, Any]:
    """The query for one field test of a clause."""
    if isinstance(test, FieldOp):
        if test.exists is not None:
            exists = {"exists": {"field": field}}
            return exists if test.exists else {"bool": {"must_not": [exists]}}
        if test.prefix is not None:
            return {"prefix": {field: {"value": test.prefix}}}
        if test.wildcard is not None:
            return {"wildcard": {field: {"value": test.wildcard}}}
        bounds = {
            k: v for k, v in (("gte", test.gte), ("gt", test.gt), ("lte", test.lte), ("lt", test.lt)) if v is not None
        }
        return {"range": {field: bounds}}
    if isinstance(test, tuple):
        return {"terms": {field: list(test)}}
    return {"term": {field: test}}


def clause_query(clause: Clause) -> dict[str, Any]:
    """All tests of a clause (AND)."""
    tests = [field_test(field, test) for field, test in clause.items()]
    return tests[0] if len(tests) == 1 else {"bool": {"filter": tests}}


def evidence_filter(evidence: EventsEvidence) -> list[dict[str, Any]]:
    """The filter clauses selecting an evidence's events (without the time range)."""
    query: dict[str, Any] = {"bool": {}}
    if evidence.match:
        query["bool"]["should"] = [clause_query(c) for c in evidence.match]
        query["bool"]["minimum_should_match"] = 1
    if evidence.exclude:
        query["bool"]["must_not"] = [clause_query(c) for c in evidence.exclude]
    return [query] if query["bool"] else []


def describe_clause(clause: Clause) -> str:
    """A clause in words, e.g. `event.action is one of StopLogging, DeleteTrail and error.code exists`."""
    parts = []
    for field, test in clause.items():
        if isinstance(test, FieldOp):
            if test.exists is not None:
                parts.append(f"{field} {'exists' if test.exists else 'is missing'}")
            elif test.prefix is not None:
                parts.append(f"{field} starts with {test.prefix!r}")
            elif test.wildcard is not None:
                parts.append(f"{field} matches {test.wildcard!r}")
            else:
                ops = (("gte", ">="), ("gt", ">"), ("lte", "<="), ("lt", "<"))
                parts.append(
                    " and ".join(
                        f"{field} {sign} {getattr(test, k)}" for k, sign in ops if getattr(test, k) is not None
                    )
                )
        elif isinstance(test, tuple):
            parts.append(f"{field} is one of {', '.join(map(str, test))}")
        else:
            parts.append(f"{field} = {test}")
    return " and ".join(parts)


def describe_evidence(evidence: EventsEvidence, sources: Sequence[str]) -> str:
    """The whole event filter in words, as printed under each evidence table."""
    where = "; or ".join(f"({describe_clause(c)})" for c in evidence.match) or "every event"
    text = f"{where} in {events_index(sources)}"
    if evidence.exclude:
        text += "; excluding " + "; ".join(f"({describe_clause(c)})" for c in evidence.exclude)
    return text
