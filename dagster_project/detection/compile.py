"""Compile a rule to OpenSearch query DSL: pure and deterministic, no client and no I/O.

Plain Sigma rules go through pySigma's OpenSearch Lucene backend (`dsl_lucene`: a `query_string`
query inside a bool query). That backend has no correlation support, so correlation rules are built
here from the same compiled base queries:

* the query selects the events of every referenced rule;
* a `terms` aggregation per group-by field (nested in group-by order) splits them by group;
* under each group two `date_histogram`s of width `timespan` (`window`, and `window_offset`
  shifted by half a timespan) stand for the correlation's time window. Tumbling windows alone
  would miss a burst that straddles a window edge; with the shifted second series every burst
  that fits in half a timespan is wholly inside some window, and bursts up to a timespan long
  usually are. No window is longer than `timespan`, so nothing outside the window is counted;
* `event_count` thresholds are applied by the node through `min_doc_count` (no script needed, so
  the rules also run on a node without the Painless module); `temporal` rules get one `filter`
  sub-aggregation per referenced rule with the first and last event time, and
  `dagster_project.detection.results` evaluates the condition and the order on the response.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sigma.backends.opensearch import OpensearchLuceneBackend
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from dagster_project.detection.pipeline import LogsourceTarget, processing_pipeline
from dagster_project.detection.rules import Rule, resolved_collection
from dagster_project.errors import DetectionError

OUTPUT_FORMAT = "dsl_lucene"
TIME_FIELD = "@timestamp"
MAX_GROUPS = 1000
"""Most groups (e.g. source IPs) returned per group-by level; the busiest ones come first."""

SUPPORTED_CORRELATIONS = ("event_count", "temporal", "temporal_ordered")
_OPERATORS = {"lt", "lte", "gt", "gte", "eq", "neq"}


@dataclass(frozen=True, slots=True)
class CorrelationRef:
    """One rule a temporal correlation refers to, or the base rule(s) an event count counts."""

    name: str
    query: dict[str, Any]
    """DSL query selecting this reference's events."""
    op: str | None = None
    """For a referenced event-count correlation: its condition, evaluated within the outer window."""
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Correlation:
    """A correlation rule's semantics, in ECS field names."""

    type: str
    group_by: tuple[str, ...]
    timespan_seconds: int
    op: str
    count: int
    refs: tuple[CorrelationRef, ...]

    @property
    def ordered(self) -> bool:
        """True for `temporal_ordered`: references must occur in their listed order."""
        return self.type == "temporal_ordered"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run: the index pattern, the DSL query and, for correlations, the aggregations.

    Treat the dict fields as read-only; `body()` hands out a fresh copy.
    """

    rule_id: str
    title: str
    level: str
    index: str
    query: dict[str, Any]
    """DSL query clause selecting the rule's events (for a correlation: those of all its rules)."""
    fields: tuple[str, ...]
    """ECS fields the rule reads, sorted."""
    correlation: Correlation | None = None
    aggregations: dict[str, Any] | None = None

    def body(self, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
        """The search body, optionally limited to `start <= @timestamp < end`."""
        clauses: list[dict[str, Any]] = [copy.deepcopy(self.query)]
        if start is not None or end is not None:
            bounds: dict[str, str] = {}
            if start is not None:
                bounds["gte"] = start.isoformat()
            if end is not None:
                bounds["lt"] = end.isoformat()
            clauses.append({"range": {TIME_FIELD: bounds}})
        body: dict[str, Any] = {"query": {"bool": {"filter": clauses}}}
        if self.aggregations is not None:
            body["size"] = 0
            body["aggs"] = copy.deepcopy(self.aggregations)
        return body


def _detection_fields(detection: SigmaDetection) -> Iterator[str]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _detection_fields(item)
        elif isinstance(item, SigmaDetectionItem) and item.field is not None:
            yield item.field


class _Compiler:
    """One compilation: a fresh backend and pipeline, and the base queries compiled so far."""

    def __init__(self, rule: Rule, target: LogsourceTarget) -> None:
        self.rule = rule
        self.target = target
        self.backend = OpensearchLuceneBackend(processing_pipeline(), index_names=[target.index])
        self.backend.init_processing_pipeline(OUTPUT_FORMAT)
        self.fields: set[str] = set()
        self.queries: dict[str, dict[str, Any]] = {}

    def where(self, sigma: SigmaRule | SigmaCorrelationRule) -> str:
        source = sigma.source
        if source is None:
            return self.rule.where
        return f"{source.path}:{source.line}" if source.line is not None else str(source.path)

    def query(self, sigma: SigmaRule) -> dict[str, Any]:
        """The DSL query of a plain Sigma rule (compiled once per compilation)."""
        key = str(sigma.id)
        if key in self.queries:
            return self.queries[key]
        try:
            self.backend.convert_rule(sigma, OUTPUT_FORMAT)
        except SigmaError as exc:
            message = str(exc.args[0]) if exc.args else type(exc).__name__
            raise DetectionError(message, where=self.where(sigma)) from exc
        except NotImplementedError as exc:  # the backend's way of saying a value or modifier has no translation
            detail = f": {exc}" if str(exc) else ""
            raise DetectionError(
                f"the Lucene backend cannot convert this rule{detail}", where=self.where(sigma)
            ) from exc
        results = sigma.get_conversion_result()
        if len(results) != 1:
            raise DetectionError(
                f"a rule must compile to exactly one query, got {len(results)} (use one condition)",
                where=self.where(sigma),
            )
        result = results[0]
        if isinstance(result, str):
            # Rules referenced by a correlation are left unfinalised by pySigma.
            state = sigma.get_conversion_states()[0]
            result = self.backend.finalize_query(sigma, result, 0, state, OUTPUT_FORMAT)
        for detection in sigma.detection.detections.values():
            self.fields.update(_detection_fields(detection))
        query: dict[str, Any] = result["query"]
        self.queries[key] = query
        return query

    def group_by(self, sigma: SigmaCorrelationRule) -> tuple[str, ...]:
        """The correlation's group-by fields mapped to ECS by the pipeline."""
        try:
            self.backend.last_processing_pipeline.apply(sigma)
        except SigmaError as exc:
            message = str(exc.args[0]) if exc.args else type(exc).__name__
            raise DetectionError(message, where=self.where(sigma)) from exc
        group_by = tuple(sigma.group_by or ())
        # With a maintained pipeline every name maps (EventData names by prefix); without, only the listed ones.
        known = set(self.target.fields.values())
        unknown = [] if self.target.logsource.pipeline else [name for name in group_by if name not in known]
        if unknown:
            raise DetectionError(
                f"group-by fields {unknown} have no ECS mapping for log source {self.target.name}",
                where=self.where(sigma),
            )
        self.fields.update(group_by)
        return group_by

    def condition(self, sigma: SigmaCorrelationRule) -> tuple[str, int]:
        condition = sigma.condition
        if not isinstance(condition, SigmaCorrelationCondition) or condition.fieldref is not None:
            raise DetectionError("only plain count conditions are supported", where=self.where(sigma))
        op = condition.op.name.lower()
        assert op in _OPERATORS
        return op, condition.count

    def base_query(self, sigma: SigmaCorrelationRule) -> dict[str, Any]:
        """The query selecting the events of an event-count correlation's base rules."""
        queries = []
        for ref in sigma.referenced_rules:
            if not isinstance(ref.rule, SigmaRule):
                raise DetectionError("an event_count correlation must count plain Sigma rules", where=self.where(sigma))
            queries.append(self.query(ref.rule))
        return _any_of(queries)

    def correlation(self, sigma: SigmaCorrelationRule) -> Correlation:
        """The correlation's semantics with compiled queries for each reference."""
        kind = str(sigma.type)
        if kind not in SUPPORTED_CORRELATIONS:
            raise DetectionError(
                f"correlation type {kind} is not supported (supported: {', '.join(SUPPORTED_CORRELATIONS)})",
                where=self.where(sigma),
            )
        group_by = self.group_by(sigma)
        op, count = self.condition(sigma)
        refs: list[CorrelationRef] = []
        if sigma.type == SigmaCorrelationType.EVENT_COUNT:
            names = "+".join(ref.reference for ref in sigma.referenced_rules)
            refs.append(CorrelationRef(names, self.base_query(sigma)))
        else:
            for ref in sigma.referenced_rules:
                refs.append(self.temporal_ref(ref.reference, ref.rule, group_by, sigma))
            if len({ref.name for ref in refs}) != len(refs):
                raise DetectionError("a rule is referenced twice", where=self.where(sigma))
        return Correlation(kind, group_by, sigma.timespan.seconds, op, count, tuple(refs))

    def temporal_ref(
        self,
        name: str,
        referenced: SigmaRule | SigmaCorrelationRule,
        group_by: tuple[str, ...],
        outer: SigmaCorrelationRule,
    ) -> CorrelationRef:
        if isinstance(referenced, SigmaRule):
            return CorrelationRef(name, self.query(referenced))
        if referenced.type != SigmaCorrelationType.EVENT_COUNT:
            raise DetectionError(
                "a temporal correlation may reference plain rules and event_count correlations only",
                where=self.where(outer),
            )
        if self.group_by(referenced) != group_by:
            raise DetectionError(
                f"referenced correlation {name!r} must group by the same fields {list(group_by)}",
                where=self.where(outer),
            )
        if referenced.timespan.seconds > outer.timespan.seconds:
            raise DetectionError(
                f"referenced correlation {name!r} has a longer timespan than this one",
                where=self.where(outer),
            )
        op, count = self.condition(referenced)
        return CorrelationRef(name, self.base_query(referenced), op, count)


def _any_of(queries: list[dict[str, Any]]) -> dict[str, Any]:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _min_doc_count(op: str, count: int) -> int:
    """The fewest events a window must hold for an event-count condition to be able to hold."""
    return {"gte": count, "gt": count + 1, "eq": count}.get(op, 1)


def _windows(seconds: int, min_doc_count: int, sub_aggs: dict[str, Any] | None) -> dict[str, Any]:
    windows: dict[str, Any] = {}
    offsets = [("window", 0)] + ([("window_offset", seconds // 2)] if seconds >= 2 else [])
    for name, offset in offsets:
        histogram: dict[str, Any] = {
            "field": TIME_FIELD,
            "fixed_interval": f"{seconds}s",
            "min_doc_count": min_doc_count,
        }
        if offset:
            histogram["offset"] = f"+{offset}s"
        agg: dict[str, Any] = {"date_histogram": histogram}
        if sub_aggs:
            agg["aggs"] = copy.deepcopy(sub_aggs)
        windows[name] = agg
    return windows


def correlation_aggregations(correlation: Correlation) -> dict[str, Any]:
    """The aggregations of a correlation: terms per group-by field, then the two window series."""
    if correlation.type == "event_count":
        minimum = _min_doc_count(correlation.op, correlation.count)
        leaf = _windows(correlation.timespan_seconds, minimum, None)
    else:
        minimum = 1
        per_ref = {
            ref.name: {
                "filter": ref.query,
                "aggs": {"first": {"min": {"field": TIME_FIELD}}, "last": {"max": {"field": TIME_FIELD}}},
            }
            for ref in correlation.refs
        }
        leaf = _windows(correlation.timespan_seconds, 1, per_ref)
    aggs = leaf
    for depth in reversed(range(len(correlation.group_by))):
        aggs = {
            f"group_{depth}": {
                "terms": {"field": correlation.group_by[depth], "size": MAX_GROUPS, "min_doc_count": minimum},
                "aggs": aggs,
            }
        }
    return aggs


def compile_rule(rule: Rule) -> CompiledRule:
    """Compile one rule (pure: the same rule always yields the same CompiledRule)."""
    target = rule.logsource.target()
    _, sigma = resolved_collection(rule)
    compiler = _Compiler(rule, target)
    if isinstance(sigma, SigmaRule):
        query = compiler.query(sigma)
        return CompiledRule(rule.id, rule.title, rule.level, target.index, query, tuple(sorted(compiler.fields)))
    correlation = compiler.correlation(sigma)
    query = _any_of([ref.query for ref in correlation.refs])
    return CompiledRule(
        rule.id,
        rule.title,
        rule.level,
        target.index,
        query,
        tuple(sorted(compiler.fields)),
        correlation,
        correlation_aggregations(correlation),
    )


def compile_rules(rules: tuple[Rule, ...] | list[Rule]) -> tuple[CompiledRule, ...]:
    """Compile every rule, in the given order; the first failure raises its DetectionError."""
    return tuple(compile_rule(rule) for rule in rules)
