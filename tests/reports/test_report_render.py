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
    FieldCompletenessResult,
    FrameworkRef,
    IntegrityResult,
    LastRun,
    Period,
    ReportData,
    RetentionResult,
    RuleRef,
    SampleEvent,
    Scope,
    Statement,
    TopTable,
    VerificationSummary,
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
    last_run=LastRun(job="retention", last="2024-04-01T00:15:00+00:00", every="1 day", overdue=False),
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
        Statement(text="retention is 30 days, fewer than the 365 required", gap=True),
        Statement(text="retention last ran at 2024-04-01 00:15 UTC (every 1 day)"),
    ]
    assert statements_for(NO_DQ) == [
        Statement(text="no data-quality results in the period: it holds no events to check")
    ]
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


SIGNED = LastRun(job="integrity signing", last="2024-04-01T05:05:00+00:00", every="1 hour", overdue=False)
VERIFIED = VerificationSummary(
    ok=True,
    checked=1234,
    records=2,
    modified=0,
    deleted=0,
    injected=0,
    bad_signatures=0,
    broken_chain=0,
    digests=3,
    signatures_checked=True,
    by="event",
    verified=1234,
)


def test_integrity_is_evidence_only_when_every_claim_was_checked() -> None:
    full = INTEGRITY.model_copy(update={"verification": VERIFIED, "signing": SIGNED})
    assert statements_for(full) == [
        Statement(text="3 of 12 event indices are write-protected; none past 90 days is writable"),
        Statement(text="1,234 of 1,234 events in the period carry a content hash"),
        Statement(
            text="integrity verification by event time: 1,234 of the period's 1,234 events verified in 2 chained "
            "records, none modified, deleted or injected; 3 signed digests verified"
        ),
        Statement(text="integrity signing last ran at 2024-04-01 05:05 UTC (every 1 hour)"),
    ]
    gaps = {
        "never verified": INTEGRITY.model_copy(update={"signing": SIGNED}),
        "nothing verified": full.model_copy(update={"verification": VERIFIED.model_copy(update={"verified": 0})}),
        "no key": full.model_copy(update={"verification": VERIFIED.model_copy(update={"signatures_checked": False})}),
        "never signed": full.model_copy(update={"signing": SIGNED.model_copy(update={"last": None, "overdue": True})}),
        "signing late": full.model_copy(update={"signing": SIGNED.model_copy(update={"overdue": True})}),
        "unhashed events": full.model_copy(update={"events_with_hash": 1200}),
    }
    for name, result in gaps.items():
        assert status_of(statements_for(result)) == "gap", name
    reasons = [s.text for s in statements_for(gaps["nothing verified"]) if s.gap]
    assert reasons == ["integrity verification: only 0 of the period's 1,234 events were verified"]
    assert [s.text for s in statements_for(gaps["signing late"]) if s.gap] == [
        "integrity signing last ran at 2024-04-01 05:05 UTC, not within 1 hour before the report "
        "(`siem integrity sign`, or the hourly_integrity_signing schedule)"
    ]
    # A control that claims write protection only (10.3.2) does not depend on the chains.
    protected_only = gaps["never verified"].model_copy(update={"checks": ("write_protection", "content_hashes")})
    assert status_of(statements_for(protected_only)) == "evidence_present"
    expired = VERIFIED.model_copy(update={"expired": 40, "unsigned_records": 1})
    assert "; 40 expired by retention; 3 signed digests verified; 1 record sealed since the last one" in (
        statements_for(full.model_copy(update={"verification": expired}))[2].text
    )


def test_retention_that_did_not_run_on_time_is_a_gap() -> None:
    never = RETENTION.model_copy(update={"last_run": LastRun(job="retention", last=None, every="1 day", overdue=True)})
    assert statements_for(never)[-1] == Statement(
        text="retention has never run (`siem retention`, or the daily_retention schedule)", gap=True
    )
    assert status_of(statements_for(RETENTION)) == "evidence_present"


def test_data_quality_covers_the_events_of_the_period_whatever_day_they_arrived() -> None:
    row = DqSource(
        source="web-access",
        checks=8,
        passed=8,
        failed=0,
        blocking_failed=0,
        records=6287,
        incomplete=0,
        completeness=1.0,
        period_events=6000,
        covered_events=6000,
        partitions=1,
    )
    checked = DataQualityResult(sources=(row,), period_events=6000)
    assert statements_for(checked) == [
        Statement(
            text="data quality: 8 of 8 checks passed across 1 source, for 6,000 of the period's 6,000 events "
            "(the results of the 1 source and arrival-day partition that hold them)"
        )
    ]
    late = checked.model_copy(
        update={"period_events": 6010, "unchecked": (Count(key="web-access 2024-04-03", count=10),)}
    )
    assert [s for s in statements_for(late) if s.gap] == [
        Statement(
            text="data quality of web-access: 10 of the period's events arrived on 1 day whose checks have not run "
            "(2024-04-03)",
            gap=True,
        )
    ]
    tables = evidence_tables(_report((_control("10.2.1", late),)))
    assert render_csv(tables[csv_name("10.2.1", "data-quality", "unchecked")]).splitlines()[1] == (
        "web-access,2024-04-03,10"
    )


def test_the_first_page_states_the_clock_of_each_figure() -> None:
    from dagster_project.reports.clocks import CLOCKS
    from dagster_project.reports.model import Arrival

    report = _report(()).model_copy(
        update={
            "clocks": CLOCKS,
            "arrivals": (
                Arrival(day="2024-03-31", events=1200, first_event="2024-03-01", last_event="2024-03-31"),
                Arrival(day="2024-04-01", events=34, first_event="2024-03-30", last_event="2024-03-31"),
            ),
        }
    )
    html = render_html(report)
    cover = html[: html.index('<section class="summary">')]
    assert "Event time: the period and every count are of when events happened (@timestamp, UTC)" in cover
    assert "the period's events arrived on 2 days, 2024-03-31 to 2024-04-01" in cover
    assert "<tr><th>Integrity verification</th><td>every event of the period by event time" in cover
    arrivals = render_csv(evidence_tables(report)[csv_name("arrivals")])
    assert arrivals.splitlines()[2] == "2024-04-01,34,2024-03-30,2024-03-31"


def test_every_sample_table_of_every_framework_asks_for_samples() -> None:
    from dagster_project.reports.frameworks import load_frameworks

    offenders = [
        (name, control.id, item.id)
        for name, framework in load_frameworks().items()
        for control in framework.controls
        for item in control.evidence
        if isinstance(item, EventsEvidence) and events_body(item, MARCH)["size"] < 1
    ]
    assert offenders == []


def _not_checked(item: object) -> object | None:
    """The result of an evidence item whose check did not run (None: a query result is its own check)."""
    from dagster_project.reports import frameworks as fw

    never = LastRun(job="job", last=None, every="1 day", overdue=True)
    if isinstance(item, fw.EventsEvidence):
        return NO_MFA.model_copy(update={"id": item.id, "expect": item.expect, "sources_volume": 0})
    if isinstance(item, fw.DataQualityEvidence):
        return DataQualityResult(
            sources=(), period_events=10, unchecked=(Count(key="linux-auth 2024-03-05", count=10),)
        )
    if isinstance(item, fw.RetentionEvidence):
        return RETENTION.model_copy(update={"last_run": never})
    if isinstance(item, fw.IntegrityEvidence):
        return INTEGRITY.model_copy(
            update={"checks": item.checks, "events_with_hash": 0, "verification": None, "signing": never}
        )
    if isinstance(item, fw.FieldCompletenessEvidence):
        return FieldCompletenessResult(fields=item.fields, required=item.required, min_ratio=item.min_ratio, rows=())
    return None  # detectors, alert review, breach clock: the query that answers them is the check


def test_no_control_of_any_framework_has_evidence_without_the_check_behind_it() -> None:
    from dagster_project.reports.frameworks import load_frameworks

    offenders = []
    for name, framework in load_frameworks().items():
        for control in framework.controls:
            results = [r for r in map(_not_checked, control.evidence) if r is not None]
            statements = [s for r in results for s in statements_for(r)]  # type: ignore[arg-type]
            if results and status_of(statements) != "gap":
                offenders.append((name, control.id))
    assert offenders == []
