"""Builds a report's data: gathers every control's evidence (queries, facts) and assesses each control."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import OpenSearch

from dagster_project import __version__
from dagster_project.reports import alert_queries, facts, queries
from dagster_project.reports.assess import applicability, statements_for, status_of
from dagster_project.reports.clocks import CLOCKS
from dagster_project.reports.coverage import RuleCatalog, load_catalog, rules_for
from dagster_project.reports.frameworks import (
    AlertReviewEvidence,
    BreachClockEvidence,
    Control,
    DataQualityEvidence,
    DetectorsEvidence,
    EventsEvidence,
    Evidence,
    FieldCompletenessEvidence,
    Framework,
    IntegrityEvidence,
    RetentionEvidence,
)
from dagster_project.reports.model import (
    AuditorFacts,
    ControlReport,
    DetectorsResult,
    EvidenceResult,
    FieldCompletenessResult,
    FrameworkRef,
    IntegrityResult,
    Period,
    ReportData,
    Scope,
    Statement,
)
from dagster_project.settings import RetentionSettings

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class _Context:
    """What every control's evidence shares: client, period, scope and results computed once."""

    def __init__(
        self,
        client: OpenSearch,
        period: Period,
        scope: Scope,
        retention: RetentionSettings,
        as_of: datetime,
        catalog: RuleCatalog,
        public_key: Ed25519PublicKey | None,
    ) -> None:
        self.client = client
        self.period = period
        self.scope = scope
        self.retention = retention
        self.as_of = as_of
        self.catalog = catalog
        self.public_key = public_key
        self._memo: dict[object, Any] = {}

    def once(self, key: object, compute: Callable[[], _T]) -> _T:
        """The result for `key`, computed on first use."""
        if key not in self._memo:
            self._memo[key] = compute()
        result: _T = self._memo[key]
        return result

    def integrity(self) -> IntegrityResult:
        """The integrity facts of the period, verified once per report."""
        return self.once(
            "integrity",
            lambda: facts.run_integrity(self.client, self.retention.hot_days, self.period, self.as_of, self.public_key),
        )

    def volume(self, sources: Sequence[str]) -> int:
        """Events of these sources (all when empty) in the period."""
        wanted = set(sources)
        return sum(s.current for s in self.scope.sources if not wanted or s.key in wanted)


def build_report(
    client: OpenSearch,
    framework: Framework,
    period: Period,
    *,
    retention: RetentionSettings,
    generated_at: datetime,
    public_key: Ed25519PublicKey | None = None,
    catalog: RuleCatalog | None = None,
) -> ReportData:
    """Query the node for every control of `framework` over `period` and assess each control.

    `public_key` verifies the signed digests of the integrity chains; None leaves signatures unchecked
    (and the report says so).
    """
    catalog = catalog if catalog is not None else load_catalog()
    scope = queries.run_scope(client, period)
    context = _Context(client, period, scope, retention, generated_at, catalog, public_key)
    controls = tuple(_control(context, control) for control in framework.controls)
    log.info("built %s report for %s: %d controls", framework.name, period.label, len(controls))
    return ReportData(
        framework=FrameworkRef(
            name=framework.name,
            title=framework.title,
            version=framework.version,
            description=framework.description,
        ),
        period=period,
        previous_period=period.previous(),
        generated_at=generated_at,
        suite_version=__version__,
        scope=scope,
        findings_by_level=queries.run_findings_by_level(client, period),
        controls=controls,
        facts=AuditorFacts(
            retention=context.once(
                ("retention", None, None), lambda: facts.run_retention(client, retention, None, None, generated_at)
            ),
            integrity=context.integrity(),
            data_quality=context.once(("dq", (), True), lambda: queries.run_data_quality(client, period, (), True)),
        ),
        rule_errors=catalog.errors,
        clocks=CLOCKS,
        arrivals=queries.run_arrivals(client, period),
    )


def _control(context: _Context, control: Control) -> ControlReport:
    reason = applicability(control, context.scope)
    if reason is not None:
        return ControlReport(
            id=control.id,
            title=control.title,
            summary=control.summary,
            tags=control.tags,
            status="not_applicable",
            statements=(Statement(text=reason),),
        )
    results = tuple(_evidence(context, control, item) for item in control.evidence)
    statements = tuple(s for result in results for s in statements_for(result))
    return ControlReport(
        id=control.id,
        title=control.title,
        summary=control.summary,
        tags=control.tags,
        status=status_of(statements),
        statements=statements,
        evidence=results,
    )


def _evidence(context: _Context, control: Control, item: Evidence) -> EvidenceResult:
    period, client = context.period, context.client
    if isinstance(item, EventsEvidence):
        sources = item.sources or control.applies_to
        return queries.run_events(client, item, period, sources, context.volume(sources))
    if isinstance(item, DetectorsEvidence):
        tags = item.tags or control.tags
        total, by_level, by_rule = queries.run_findings_for_tags(client, tags, item.tag_prefix, period)
        return DetectorsResult(
            tags=tags,
            tag_prefix=item.tag_prefix,
            min_rules=item.min_rules,
            rules=rules_for(context.catalog, tags, item.tag_prefix),
            findings_total=total,
            findings_by_level=by_level,
            findings_by_rule=by_rule,
        )
    if isinstance(item, DataQualityEvidence):
        sources = item.sources or control.applies_to
        return context.once(
            ("dq", sources, item.gap_on_blocking_failure),
            lambda: queries.run_data_quality(client, period, sources, item.gap_on_blocking_failure),
        )
    if isinstance(item, RetentionEvidence):
        return context.once(
            ("retention", item.min_days, item.min_hot_days),
            lambda: facts.run_retention(client, context.retention, item.min_days, item.min_hot_days, context.as_of),
        )
    if isinstance(item, IntegrityEvidence):
        return context.integrity().model_copy(update={"checks": item.checks})
    if isinstance(item, AlertReviewEvidence):
        return context.once(
            ("alerts", item), lambda: alert_queries.run_alert_review(client, item, period, context.as_of)
        )
    if isinstance(item, BreachClockEvidence):
        return context.once(
            ("breach", item), lambda: alert_queries.run_breach_clock(client, item, period, context.as_of)
        )
    assert isinstance(item, FieldCompletenessEvidence)
    sources = control.applies_to
    return FieldCompletenessResult(
        fields=item.fields,
        required=item.required,
        min_ratio=item.min_ratio,
        rows=queries.run_field_completeness(client, item.fields, period, sources),
    )
