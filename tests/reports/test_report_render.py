"""Golden tests of the pure layers: query builders, assessment, SVG, HTML and CSV rendering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_project.reports.assess import statements_for, status_of
from dagster_project.reports.clauses import clause_query, describe_evidence
from dagster_project.reports.frameworks import EventsEvidence, FieldOp
from dagster_project.reports.model import (
    AlertReviewResult,
    AuditorFacts,
    BreachCandidate,
    BreachClockResult,
    Comparison,
    ControlReport,
    Count,
    DataQualityResult,
    DetectorsResult,
    DqSource,
    EventsResult,
    FrameworkRef,
    IntegrityResult,
    Period,
    ReportData,
    RetentionResult,
    RuleRef,
    SampleEvent,
    Scope,
    Statement,
    TopTable,
)
from dagster_project.reports.queries import events_body
from dagster_project.reports.render import csv_name, evidence_tables, render_csv, render_html, slug
from dagster_project.reports.svg import bar_chart

MARCH = Period.from_dates(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC), "March 2024")
GENERATED = datetime(2024, 4, 1, 6, 0, tzinfo=UTC)

RETENTION = RetentionResult(
    retention_days=365,
    hot_days=90,
    meets_pci_10_5_1=True,
    min_days=365,
    min_hot_days=90,
    policy_file="index_templates/ism_policies/siem-events-retention.json",
    policy_warm_after="90d",
    policy_delete_after="365d",
    enforcement="ISM plugin not installed: `siem retention` enforces the same ages by event date",
    oldest_event="2024-01-02T00:00:00.000Z",
)
INTEGRITY = IntegrityResult(
    indices=12,
    read_only=3,
    hot_days=90,
    writable_past_hot=(),
    writable_past_hot_total=0,
    events_in_period=1234,
    events_with_hash=1234,
)
NO_DQ = DataQualityResult(sources=())

FAILED_LOGINS = EventsResult(
    id="failed-logins",
    title="Failed authentication attempts",
    query="(event.category = authentication and event.outcome = failure) in siem-events-*",
    sources=(),
    expect="any",
    none="no failed authentication attempt was recorded in the period",
    total=42,
    previous_total=7,
    tops=(TopTable(field="user.name", rows=(Count(key="alice", count=30), Count(key="<bob>", count=12))),),
    trend=(Count(key="2024-03-01T00:00:00.000Z", count=40), Count(key="2024-03-02T00:00:00.000Z", count=2)),
    trend_interval="1d",
    samples=(
        SampleEvent(
            id="ev-1",
            index="siem-events-linux-auth-2024.03.01",
            timestamp="2024-03-01T10:00:00Z",
            fields={"user.name": "alice", "source.ip": "10.0.0.5", "event.action": "ssh_login"},
        ),
    ),
    sources_volume=1234,
)
NO_MFA = EventsResult(
    id="cloudtrail-4-2",
    title="Console sign-in without MFA",
    query="q",
    sources=("cloudtrail",),
    expect="any",
    none="no console sign-in without MFA in the period",
    total=0,
    previous_total=0,
    sources_volume=500,
)


def _report(controls: tuple[ControlReport, ...]) -> ReportData:
    return ReportData(
        framework=FrameworkRef(name="pci-dss", title="PCI DSS v4.0", version="4.0", description="Requirement 10."),
        period=MARCH,
        previous_period=MARCH.previous(),
        generated_at=GENERATED,
        suite_version="9.9.9",
        scope=Scope(
            sources=(Comparison(key="linux-auth", current=1234, previous=1000),),
            known_sources=("linux-auth",),
            hosts_total=3,
            top_hosts=(Count(key="web-1", count=1000),),
            accounts_total=2,
            top_accounts=(Count(key="alice", count=900),),
        ),
        findings_by_level=(
            Comparison(key="high", current=4, previous=0),
            Comparison(key="low", current=1, previous=2),
        ),
        controls=controls,
        facts=AuditorFacts(retention=RETENTION, integrity=INTEGRITY, data_quality=NO_DQ),
    )


def _control(cid: str, *evidence: object) -> ControlReport:
    statements = tuple(s for e in evidence for s in statements_for(e))  # type: ignore[arg-type]
    return ControlReport(
        id=cid,
        title=f"Control {cid}",
        summary="Our paraphrase.",
        tags=(),
        status=status_of(statements),
        statements=statements,
        evidence=evidence,  # type: ignore[arg-type]
    )


def test_clause_queries_are_golden() -> None:
    assert clause_query({"event.action": "ConsoleLogin"}) == {"term": {"event.action": "ConsoleLogin"}}
    assert clause_query({"event.code": ("4625", "4771"), "user.name": FieldOp(exists=True)}) == {
        "bool": {"filter": [{"terms": {"event.code": ["4625", "4771"]}}, {"exists": {"field": "user.name"}}]}
    }
    assert clause_query({"x": FieldOp(exists=False)}) == {"bool": {"must_not": [{"exists": {"field": "x"}}]}}
    assert clause_query({"status": FieldOp(gte=400)}) == {"range": {"status": {"gte": 400}}}


@pytest.mark.usefixtures("default_namespace")
def test_events_body_is_bounded_and_golden() -> None:
    evidence = EventsEvidence(
        kind="events",
        id="no-mfa",
        title="t",
        match=({"event.action": "ConsoleLogin"},),
        exclude=({"user.name": FieldOp(prefix="svc-")},),
        top=("user.name",),
        trend=True,
        samples=5,
        none="none",
    )
    body = events_body(evidence, MARCH)
    assert body["size"] == 5 and body["track_total_hits"] is True
    assert body["query"]["bool"]["filter"][1] == {
        "bool": {
            "should": [{"term": {"event.action": "ConsoleLogin"}}],
            "minimum_should_match": 1,
            "must_not": [{"prefix": {"user.name": {"value": "svc-"}}}],
        }
    }
    assert body["query"]["bool"]["filter"][0]["range"]["@timestamp"]["gte"] == "2024-01-30T00:00:00.000Z"
    assert body["post_filter"]["range"]["@timestamp"] == {
        "gte": "2024-03-01T00:00:00.000Z",
        "lt": "2024-04-01T00:00:00.000Z",
        "format": "strict_date_optional_time",
    }
    inner = body["aggs"]["periods"]["aggs"]["current_only"]["aggs"]
    assert inner["top_0"] == {"terms": {"field": "user.name", "size": 10}}
    assert inner["trend"]["date_histogram"]["fixed_interval"] == "1d"
    assert describe_evidence(evidence, ("cloudtrail",)) == (
        "(event.action = ConsoleLogin) in siem-events-cloudtrail-*; excluding (user.name starts with 'svc-')"
    )


def test_assessment_says_what_happened() -> None:
    assert statements_for(NO_MFA) == [Statement(text="no console sign-in without MFA in the period")]
    silent = NO_MFA.model_copy(update={"sources_volume": 0})
    assert statements_for(silent) == [
        Statement(
            text="no events from cloudtrail were collected in the period: Console sign-in without MFA cannot be shown",
            gap=True,
        )
    ]
    assert statements_for(RETENTION.model_copy(update={"retention_days": 30})) == [
        Statement(text="retention is 30 days, fewer than the 365 required", gap=True)
    ]
    assert statements_for(NO_DQ) == [Statement(text="no data-quality results in the period")]
    no_rules = DetectorsResult(tags=("pci_dss.v4.10.2.1.4",), tag_prefix=None, min_rules=1, rules=(), findings_total=0)
    assert status_of(statements_for(no_rules)) == "gap"


def test_breach_clock_past_72_hours_without_acknowledgement_is_a_gap() -> None:
    late = BreachCandidate(
        finding_id="f1",
        rule="Mass download",
        level="high",
        detected_at="2024-03-01T00:00:00.000Z",
        hours_elapsed=80.0,
        hours_left=-8.0,
        alert_state="active",
    )
    clock = BreachClockResult(
        tag="gdpr.art33", levels=("high", "critical"), clock_hours=72, as_of="x", total=1, candidates=(late,)
    )
    assert statements_for(clock) == [
        Statement(text="1 breach candidate passed the 72 h clock without an acknowledged alert", gap=True)
    ]
    reviewed = clock.model_copy(update={"candidates": (late.model_copy(update={"alert_state": "acknowledged"}),)})
    assert status_of(statements_for(reviewed)) == "evidence_present"


def test_svg_bar_chart_is_golden() -> None:
    svg = bar_chart(
        [Count(key="2024-03-01T00:00:00.000Z", count=3), Count(key="2024-03-02T00:00:00.000Z", count=1)],
        title="T",
    )
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="640" height="170"')
    assert (
        '<rect x="73.4" y="69.2" width="235.2" height="70.8" fill="#2f6690">'
        "<title>2024-03-01T00:00:00.000Z: 3</title>" in svg
    )
    assert '<rect x="367.4" y="116.4" width="235.2" height="23.6" fill="#2f6690">' in svg
    assert ">03-01</text>" in svg and ">03-02</text>" in svg and ">5</text>" in svg  # y axis: 3 rounded up to 5
    empty = bar_chart([Count(key="a", count=0)], title="T")
    assert "no events in the period" in empty


def test_html_contains_the_exact_sections_and_numbers() -> None:
    dq = DataQualityResult(
        sources=(
            DqSource(
                source="linux-auth",
                checks=4,
                passed=3,
                failed=1,
                blocking_failed=1,
                records=100,
                incomplete=5,
                completeness=0.95,
                failed_checks=("timestamps_parse",),
            ),
        )
    )
    alerts = AlertReviewResult(
        as_of="2024-04-01T06:00:00.000Z",
        max_open_hours=72,
        by_state=(Count(key="acknowledged", count=2), Count(key="active", count=1)),
        total=3,
        open_total=1,
        open_by_age=(Count(key="under 24 h", count=0), Count(key="over 7 days", count=1)),
        overdue=1,
    )
    rules = DetectorsResult(
        tags=("pci_dss.v4.10.2.1.4",),
        tag_prefix=None,
        min_rules=1,
        rules=(RuleRef(id="r1", title="SSH brute force", level="high", tags=("pci_dss.v4.10.2.1.4",), path="x.yml"),),
        findings_total=4,
        findings_by_rule=(Count(key="SSH brute force", count=4),),
    )
    html = render_html(
        _report(
            (
                _control("10.2.1.4", FAILED_LOGINS, rules),
                _control("4.2", NO_MFA),
                _control("10.2.1", dq),
                _control("10.4.3", alerts),
                _control("10.5.1", RETENTION),
            )
        )
    )
    assert '<h1 class="doctitle">PCI DSS v4.0</h1>' in html
    assert "<tr><th>Suite version</th><td>siem-suite 9.9.9</td></tr>" in html
    assert "<tr><th>Generated</th><td>2024-04-01 06:00 UTC</td></tr>" in html
    assert "<tr><th>Sources</th><td>linux-auth (1,234 events)</td></tr>" in html
    assert (
        '<tr><td>linux-auth</td><td class="num">1,234</td><td class="num">1,000</td>'
        '<td class="num">+23.4%</td></tr>' in html
    )
    assert '<tr><td>high</td><td class="num">4</td><td class="num">0</td><td class="num">new</td></tr>' in html
    assert (
        "<h2>1 Executive summary</h2>" in html and "<h2>2 Controls</h2>" in html and "<h2>3 Auditor facts</h2>" in html
    )
    assert '<h3><span class="cid">10.2.1.4</span> Control 10.2.1.4</h3>' in html
    assert '<p class="status-line status-evidence_present">Status: Evidence present</p>' in html
    assert (
        '<li class="ok">Failed authentication attempts: 42 events in the period '
        "(7 in the previous period).</li>" in html
    )
    assert '<tr><td>&lt;bob&gt;</td><td class="num">12</td></tr>' in html
    assert '<p class="none">No console sign-in without MFA in the period.</p>' in html
    assert '<li class="gap">Data quality of linux-auth: 1 blocking check failed (timestamps_parse).</li>' in html
    assert '<li class="gap">1 alert still open more than 72 h after first seen.</li>' in html
    assert (
        "<tr><th>Retention configured</th><td>365 days in total, 90 days hot (immediately searchable)</td></tr>" in html
    )
    assert (
        '<td class="cid">10.2.1</td><td>Control 10.2.1</td>'
        "<td>data quality of linux-auth: 1 blocking check failed" in html
    )
    assert "<svg" in html and "@page" in html and "counter(page)" in html
    assert "evidence/10.2.1.4-failed-logins-top-user.name.csv" in html


def test_csv_files_hold_the_same_rows_as_the_html() -> None:
    report = _report((_control("10.2.1.4", FAILED_LOGINS),))
    tables = evidence_tables(report)
    top = tables[csv_name("10.2.1.4", "failed-logins", "top", "user.name")]
    assert render_csv(top) == "user.name,events\r\nalice,30\r\n<bob>,12\r\n"
    samples = render_csv(tables[csv_name("10.2.1.4", "failed-logins", "samples")])
    assert (
        samples.splitlines()[1]
        == "ev-1,siem-events-linux-auth-2024.03.01,2024-03-01T10:00:00Z,,,alice,10.0.0.5,ssh_login,"
    )
    assert (
        render_csv(tables["evidence/controls.csv"])
        .splitlines()[1]
        .startswith("10.2.1.4,Control 10.2.1.4,Evidence present,")
    )


def test_control_ids_become_file_names() -> None:
    assert slug("§164.308(a)(1)(ii)(D)") == "164.308-a-1-ii-d"
    assert slug("Art. 33") == "art-33"
    assert slug("CC7.2") == "cc7.2"
