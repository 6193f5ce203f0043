"""Live: every framework rendered against the real node, for a period with data and an empty one.

The PDF's text must hold the expected sections, and every number checked is compared with an
independent query written here (not through the report's query layer).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch, helpers
from pypdf import PdfReader

from dagster_project.assets.reports import REPORT_ASSETS, REPORT_SCHEDULES
from dagster_project.definitions import RESOURCES
from dagster_project.reports.coverage import RuleCatalog
from dagster_project.reports.frameworks import load_framework, load_frameworks
from dagster_project.reports.manifest import verify_manifest
from dagster_project.reports.model import Period, RuleRef
from dagster_project.reports.produce import ProducedReport, produce_report
from dagster_project.resources import ReportsResource, SmtpResource
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from dagster_project.storage.retention import record_run
from tests.resources import suite_resources

from .conftest import PASSWORD, Inbox

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20000, hot_days=90)
MARCH = Period.from_dates(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC), "March 2024")
EMPTY = Period.from_dates(datetime(2023, 6, 1, tzinfo=UTC), datetime(2023, 6, 30, tzinfo=UTC), "June 2023")
GENERATED = datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
CATALOG = RuleCatalog(
    rules=(
        RuleRef(
            id="r-ssh",
            title="SSH brute force",
            level="high",
            tags=("pci_dss.v4.10.2.1.4", "gdpr.art33"),
            path="a.yml",
        ),
        RuleRef(
            id="r-mfa",
            title="Console login without MFA",
            level="medium",
            tags=("cis_aws.v1.4.4.2",),
            path="b.yml",
        ),
    )
)
IN_MARCH = {"range": {"@timestamp": {"gte": "2024-03-01T00:00:00Z", "lt": "2024-04-01T00:00:00Z"}}}


def _at(day: int, hour: int = 10, month: int = 3) -> str:
    return datetime(2024, month, day, hour, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _event(source: str, when: str, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"@timestamp": when, "siem": {"source": source}, "event": {"kind": "event"}}
    for dotted, value in fields.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


def _events() -> list[dict[str, Any]]:
    auth = dict(event__category=["authentication"], host__name="bastion-1", event__dataset="linux.auth")
    docs = [
        *(
            _event(
                "linux-auth",
                _at(5, 10 + i),
                **auth,
                event__action="ssh_login",
                event__outcome="failure",
                user__name="alice",
                source__ip="10.0.0.5",
            )
            for i in range(3)
        ),
        *(
            _event(
                "linux-auth",
                _at(6, 9 + i),
                **auth,
                event__action="ssh_login",
                event__outcome="success",
                user__name="bob",
                source__ip="10.0.0.6",
            )
            for i in range(2)
        ),
        _event(
            "linux-auth",
            _at(6, 12),
            host__name="bastion-1",
            event__action="sudo_command",
            event__outcome="success",
            user__name="bob",
            process__command_line="/usr/bin/less /var/log/auth.log",
        ),
        _event(
            "linux-auth",
            _at(7),
            host__name="bastion-1",
            event__action="user_created",
            event__outcome="success",
            user__name="root",
            user__target__name="carol",
        ),
        *(
            _event(
                "linux-auth",
                _at(20, 3 + i, month=2),
                **auth,
                event__action="ssh_login",
                event__outcome="failure",
                user__name="eve",
                source__ip="10.9.9.9",
            )
            for i in range(2)
        ),
        _event(
            "cloudtrail",
            _at(10),
            event__action="ConsoleLogin",
            event__outcome="success",
            event__provider="signin.amazonaws.com",
            event__category=["authentication"],
            user__name="mallory",
            source__ip="203.0.113.7",
            cloud__account__id="111122223333",
            aws__cloudtrail__additionalEventData__MFAUsed="No",
            aws__cloudtrail__responseElements__ConsoleLogin="Success",
        ),
        _event(
            "cloudtrail",
            _at(10, 11),
            event__action="StopLogging",
            event__outcome="success",
            event__provider="cloudtrail.amazonaws.com",
            user__name="admin",
            cloud__account__id="111122223333",
        ),
        _event(
            "cloudtrail",
            _at(11),
            event__action="AuthorizeSecurityGroupIngress",
            event__outcome="success",
            event__provider="ec2.amazonaws.com",
            user__name="admin",
            cloud__account__id="111122223333",
        ),
        *(
            _event(
                "web-access",
                _at(15, 8 + i),
                event__category=["web"],
                event__action="GET",
                event__outcome="success",
                user__name="dave",
                source__ip="198.51.100.4",
                host__name="shop-1",
            )
            for i in range(4)
        ),
    ]
    for doc in docs:
        doc["siem"]["content_hash"] = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
        # Everything arrived in two batches: February's events on 21 February, March's on 6 March.
        arrived = "2024-03-06" if doc["@timestamp"] >= "2024-03" else "2024-02-21"
        doc["siem"]["partition"] = arrived
        doc["event"]["ingested"] = f"{arrived}T12:00:00Z"
    return docs


def _findings() -> list[dict[str, Any]]:
    def finding(fid: str, level: str, tags: list[str], when: str) -> dict[str, Any]:
        return {
            "_id": fid,
            "@timestamp": when,
            "detected_at": when,
            "rule": {"id": f"r-{fid}", "title": f"rule {fid}", "level": level, "tags": tags},
            "finding": {"id": fid, "event_ids": ["e1"]},
        }

    return [
        finding("f-high", "high", ["gdpr.art33", "pci_dss.v4.10.2.1.4"], _at(5, 14)),
        finding("f-med", "medium", ["cis_aws.v1.4.4.2"], _at(10, 12)),
        finding("f-old", "critical", ["gdpr.art33"], _at(25, month=2)),
    ]


def _alerts() -> list[dict[str, Any]]:
    def alert(aid: str, state: str, first_seen: str, **extra: Any) -> dict[str, Any]:
        return {
            "_id": aid,
            "@timestamp": first_seen,
            "alert": {
                "id": aid,
                "state": state,
                "severity": "high",
                "rule_title": f"rule {aid}",
                "first_seen": first_seen,
                **extra,
            },
        }

    return [
        alert("a-open", "active", _at(5, 14), finding_ids=["f-high"]),
        alert("a-ack", "acknowledged", _at(6), acknowledged_at=_at(6, 15), acknowledged_by="sec-oncall"),
        alert("a-res", "resolved", _at(7), acknowledged_at=_at(7, 12), resolved_at=_at(8)),
    ]


def _dq() -> list[dict[str, Any]]:
    def result(source: str, check: str, passed: bool, total: int, failing: int) -> dict[str, Any]:
        return {
            "_id": f"{source}-{check}",
            "@timestamp": _at(6),
            "source": source,
            "partition": "2024-03-06",
            "check": check,
            "passed": passed,
            "blocking": True,
            "total": total,
            "failing": failing,
            "ratio": failing / total,
        }

    return [
        result("linux-auth", "timestamps_parse", True, 7, 0),
        result("cloudtrail", "required_fields", False, 3, 1),
    ]


@pytest.fixture(scope="module")
def seeded(opensearch_client: OpenSearch) -> Iterator[OpenSearch]:
    """The suite's templates and a small, known data set, indexed and refreshed."""
    from tests.conftest import _wipe

    _wipe(opensearch_client)
    bootstrap(opensearch_client, RETENTION)
    actions: list[dict[str, Any]] = []
    for doc in _events():
        day = doc["@timestamp"][:10].replace("-", ".")
        actions.append({"_index": f"{naming.events_family(doc['siem']['source'])}-{day}", "_source": doc})
    named = ((naming.findings_index(), _findings()), (naming.alerts_index(), _alerts()), (naming.dq_index(), _dq()))
    for index, docs in named:
        actions += [{"_index": index, "_id": d.pop("_id"), "_source": d} for d in docs]
    ok, errors = helpers.bulk(opensearch_client, actions, raise_on_error=False, refresh=True)
    assert errors == [] and ok == len(actions)
    opensearch_client.indices.put_settings(
        index=f"{naming.events_family('linux-auth')}-2024.02.20", body={"index.blocks.write": True}
    )
    record_run(opensearch_client, RETENTION, [], GENERATED - timedelta(hours=3))  # retention ran that night
    yield opensearch_client
    _wipe(opensearch_client)


@pytest.fixture(scope="module")
def reports(seeded: OpenSearch, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], ProducedReport]:
    """Every framework for March (data) and June 2023 (nothing)."""
    out: dict[tuple[str, str], ProducedReport] = {}
    for name, framework in load_frameworks().items():
        for label, period in (("march", MARCH), ("empty", EMPTY)):
            folder = tmp_path_factory.mktemp(f"{name}-{label}")
            out[(name, label)] = produce_report(
                seeded,
                framework,
                period,
                folder,
                retention=RETENTION,
                generated_at=GENERATED,
                catalog=CATALOG,
            )
    return out


def _pdf_text(report: ProducedReport) -> str:
    reader = PdfReader(str(report.files["report.pdf"]))
    return " ".join(" ".join((page.extract_text() or "") for page in reader.pages).split())


def _count(client: OpenSearch, index: str, query: dict[str, Any]) -> int:
    return int(
        client.count(index=index, body={"query": query}, ignore_unavailable=True, allow_no_indices=True)["count"]
    )


def _and(*queries: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"filter": list(queries)}}


def test_every_report_is_written_with_all_its_files(reports: dict[tuple[str, str], ProducedReport]) -> None:
    for (name, label), report in reports.items():
        assert {"report.html", "report.pdf", "report.json"} <= set(report.files), (name, label)
        assert report.files["report.pdf"].read_bytes().startswith(b"%PDF-")
        assert any(n.startswith("evidence/") and n.endswith(".csv") for n in report.files)
        assert verify_manifest(report.out_dir) == []
        manifest = json.loads(report.manifest.read_text())
        assert {e["path"] for e in manifest["files"]} == set(report.files)
        text = _pdf_text(report)
        for section in (
            "COMPLIANCE EVIDENCE REPORT",
            "Scope",
            "1 Executive summary",
            "Controls with gaps",
            "2 Controls",
            "3 Auditor facts",
            "Retention",
            "Integrity",
            "Detector coverage by control",
        ):
            assert section in text, (name, label, section)
        assert "siem-suite 0.1.0" in text and "Page 1 of" in text
        for control in report.data.controls:
            assert control.id in text, (name, label, control.id)


def test_pdf_numbers_match_independent_queries(
    seeded: OpenSearch, reports: dict[tuple[str, str], ProducedReport]
) -> None:
    pci = _pdf_text(reports[("pci-dss", "march")])
    for source in ("linux-auth", "cloudtrail", "web-access"):
        n = _count(seeded, naming.events_pattern(source), IN_MARCH)
        assert f"{source} ({n} events)" in pci
    hosts = seeded.search(
        index=naming.events_pattern(),
        body={"size": 0, "query": IN_MARCH, "aggs": {"h": {"terms": {"field": "host.name", "size": 100}}}},
    )
    assert f"Hosts {len(hosts['aggregations']['h']['buckets'])} distinct" in pci
    failed = _count(
        seeded,
        naming.events_pattern(),
        _and(IN_MARCH, {"term": {"event.category": "authentication"}}, {"term": {"event.outcome": "failure"}}),
    )
    failed_before = _count(
        seeded,
        naming.events_pattern(),
        _and(
            {"range": {"@timestamp": {"gte": "2024-01-30", "lt": "2024-03-01"}}},
            {"term": {"event.outcome": "failure"}},
            {"term": {"event.category": "authentication"}},
        ),
    )
    assert failed == 3 and failed_before == 2
    assert (
        f"Failed authentication attempts: {failed} events in the period ({failed_before} in the previous period)" in pci
    )
    high = _count(seeded, naming.findings_index(), _and(IN_MARCH, {"term": {"rule.level": "high"}}))
    critical_before = _count(
        seeded,
        naming.findings_index(),
        _and({"range": {"@timestamp": {"lt": "2024-03-01"}}}, {"term": {"rule.level": "critical"}}),
    )
    assert re.search(rf"critical 0 {critical_before} -100\.0%", pci) and re.search(rf"high {high} 0 new", pci)
    in_period = _and({"range": {"alert.first_seen": {"gte": "2024-03-01", "lt": "2024-04-01"}}})
    alerts = _count(seeded, naming.alerts_index(), in_period)
    active = _count(seeded, naming.alerts_index(), _and(in_period, {"term": {"alert.state": "active"}}))
    assert f"Alerts first seen in the period: {alerts}; open: {active}; open longer than 72 h: {active}" in pci
    stop = _count(
        seeded, naming.events_pattern("cloudtrail"), _and(IN_MARCH, {"term": {"event.action": "StopLogging"}})
    )
    assert f"Audit logging started, stopped or cleared: {stop} events in the period" in pci
    indices = seeded.cat.indices(index=naming.events_pattern(), format="json")
    blocked = seeded.indices.get_settings(index=naming.events_pattern(), name="index.blocks.write")
    assert f"Event indices {len(indices)}, of which {len(blocked)} write-protected" in pci and len(blocked) == 1
    assert "Retention is 20000 days, of which 90 hot (required: 365 days, 90 hot)." in pci

    cis = _pdf_text(reports[("cis-aws", "march")])
    no_mfa = _count(
        seeded,
        naming.events_pattern("cloudtrail"),
        _and(
            IN_MARCH,
            {"term": {"event.action": "ConsoleLogin"}},
            {"term": {"aws.cloudtrail.additionalEventData.MFAUsed": "No"}},
        ),
    )
    assert f"Console sign-in without MFA: {no_mfa} events in the period" in cis
    assert "No console sign-in without MFA" not in cis
    assert "No network ACL change in the period." in cis

    gdpr = _pdf_text(reports[("gdpr", "march")])
    candidates = _count(
        seeded,
        naming.findings_index(),
        _and(
            {"range": {"detected_at": {"gte": "2024-03-01", "lt": "2024-04-01"}}},
            {"term": {"rule.tags": "gdpr.art33"}},
            {"terms": {"rule.level": ["high", "critical"]}},
        ),
    )
    assert f"detected in the period: {candidates}, as of 2024-04-02 08:00 UTC" in gdpr
    assert "1 breach candidate passed the 72 h clock without an acknowledged alert" in gdpr


def test_statuses_follow_the_evidence(seeded: OpenSearch, reports: dict[tuple[str, str], ProducedReport]) -> None:
    def status(name: str, label: str, cid: str) -> str:
        return next(c.status for c in reports[(name, label)].data.controls if c.id == cid)

    assert status("pci-dss", "march", "10.2.1.4") == "evidence_present"
    assert status("pci-dss", "march", "10.2.1") == "gap"  # a blocking data-quality check failed on cloudtrail
    assert status("pci-dss", "march", "10.4.3") == "gap"  # a-open is open for weeks
    assert status("pci-dss", "march", "10.5.1") == "evidence_present"  # retention ran 3 h before the report
    # The seeded events were written around the pipeline: no integrity record seals them, nothing signed them.
    assert status("pci-dss", "march", "10.3.4") == "gap"
    integrity = next(c for c in reports[("pci-dss", "march")].data.controls if c.id == "10.3.4")
    unsealed = _count(seeded, naming.events_pattern(), IN_MARCH)
    assert [r for r in integrity.reasons if r.startswith("integrity verification FAILED")] == [
        f"integrity verification FAILED: 0 modified, 0 deleted, {unsealed} injected, 0 bad signatures, "
        "0 broken chain links"
    ]
    assert status("pci-dss", "march", "10.3.2") == "evidence_present"  # it claims write protection only
    assert status("hipaa", "march", "§164.316(b)(2)") == "evidence_present"  # 20000 days >= 2190
    assert status("cis-aws", "march", "4.2") == "evidence_present"
    assert status("cis-aws", "march", "4.11") == "gap"  # no rule tagged cis_aws.v1.4.4.11 in the test catalog
    assert status("gdpr", "march", "Art. 33") == "gap"
    assert status("pci-dss", "empty", "10.2.1") == "gap"
    assert status("cis-aws", "empty", "4.2") == "gap"


def test_an_empty_period_is_reported_and_says_so(reports: dict[tuple[str, str], ProducedReport]) -> None:
    pci = _pdf_text(reports[("pci-dss", "empty")])
    assert "No events were collected in the period (0 in the previous period of equal length)." in pci
    assert "No failed authentication attempt was recorded in the period." in pci or "cannot be shown" in pci
    assert "No data-quality results in the period." in pci
    assert "No alerts were raised in the period." in pci
    cis = _pdf_text(reports[("cis-aws", "empty")])
    assert "No events from cloudtrail were collected in the period: Console sign-in without MFA cannot be shown." in cis


def test_each_report_is_recorded_once_in_siem_reports(
    seeded: OpenSearch, reports: dict[tuple[str, str], ProducedReport]
) -> None:
    seeded.indices.refresh(index=naming.reports_index())
    assert _count(seeded, naming.reports_index(), {"match_all": {}}) == len(reports)
    report = reports[("pci-dss", "march")]
    doc = seeded.get(index=naming.reports_index(), id=report.record_id)["_source"]
    assert doc["framework"] == "pci-dss" and doc["controls_total"] == len(report.data.controls)
    assert doc["controls_with_gaps"] == len(report.data.gaps)
    assert doc["status"]["10.2.1.4"] == "evidence_present"
    assert doc["files"]["report.pdf"] == hashlib.sha256(report.files["report.pdf"].read_bytes()).hexdigest()
    found = seeded.search(index=naming.reports_index(), body={"query": {"term": {"framework": "cis-aws"}}})
    assert found["hits"]["total"]["value"] == 2


def test_cli_prints_paths_and_status_as_json(
    seeded: OpenSearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_project.cli import cli

    monkeypatch.setenv("SIEM_RETENTION_DAYS", "400")
    args = [
        "report",
        "--framework",
        "cis-aws",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--out",
        str(tmp_path),
        "--json",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert Path(data["files"]["report.pdf"]).is_file() and Path(data["manifest"]).is_file()
    assert [c["id"] for c in data["controls"]] == [f"4.{i}" for i in range(1, 16)]
    assert {c["status"] for c in data["controls"]} <= {"evidence_present", "gap", "not_applicable"}
    assert data["period"] == {"start": "2024-03-01T00:00:00+00:00", "end": "2024-04-01T00:00:00+00:00"}
    bad = CliRunner().invoke(cli, [*args[:2], "nope", *args[3:]])
    assert bad.exit_code != 0 and "unknown framework 'nope'" in str(bad.exception)


def test_the_same_period_twice_overwrites_its_record(seeded: OpenSearch, tmp_path: Path) -> None:
    framework = load_framework("soc2")
    first = produce_report(
        seeded, framework, MARCH, tmp_path / "a", retention=RETENTION, generated_at=GENERATED, catalog=CATALOG
    )
    again = produce_report(
        seeded,
        framework,
        MARCH,
        tmp_path / "b",
        retention=RETENTION,
        generated_at=GENERATED + timedelta(hours=1),
        catalog=CATALOG,
    )
    assert first.record_id == again.record_id


def test_report_assets_and_schedules_load_as_definitions() -> None:
    defs = dg.Definitions(assets=REPORT_ASSETS, schedules=REPORT_SCHEDULES, resources=RESOURCES)
    dg.Definitions.validate_loadable(defs)
    names = {a.key.to_user_string() for a in REPORT_ASSETS}
    assert {
        "pci_dss_daily_report",
        "pci_dss_monthly_report",
        "cis_aws_weekly_report",
        "hipaa_monthly_report",
    } <= names
    assert {s.name: s.cron_schedule for s in REPORT_SCHEDULES} == {
        "daily_compliance_reports_schedule": "30 1 * * *",
        "weekly_compliance_reports_schedule": "0 2 * * 1",
        "monthly_compliance_reports_schedule": "0 3 1 * *",
    }


def test_the_daily_pci_asset_materialises_and_mails_the_officer(
    seeded: OpenSearch,
    opensearch_url: str,
    smtp_server: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    inbox, port = smtp_server
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "USER": "reports",
        "PASSWORD": PASSWORD,
        "SENDER": "siem@example.org",
        "STARTTLS": "false",
    }
    recipients = tmp_path / "recipients.yaml"
    recipients.write_text("pci-dss: [qsa@example.org]\n")
    asset = next(a for a in REPORT_ASSETS if a.key.to_user_string() == "pci_dss_daily_report")
    result = dg.materialize(
        [asset],
        partition_key="2024-03-05",
        resources=suite_resources(
            opensearch_url,
            smtp=SmtpResource(**{name.lower(): value for name, value in env.items()}),
            reports_folder=ReportsResource(recipients_file=str(recipients)),
        ),
        run_config={"ops": {"pci_dss_daily_report": {"config": {"out_dir": str(tmp_path)}}}},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("pci_dss_daily_report")[0].metadata
    day = {"range": {"@timestamp": {"gte": "2024-03-05T00:00:00Z", "lt": "2024-03-06T00:00:00Z"}}}
    assert metadata["events"].value == _count(seeded, naming.events_pattern(), day) == 3
    pdf = Path(str(metadata["pdf"].value))
    assert pdf == tmp_path / "pci-dss" / "daily" / "2024-03-05" / "report.pdf" and pdf.is_file()
    assert "PCI DSS v4.0" in str(metadata["summary"].value) and metadata["delivered_to"].value == ["qsa@example.org"]
    assert len(inbox.messages) == 1
    _, rcpt, message = inbox.messages[0]
    attached = [p for p in message.walk() if p.get_filename()]
    assert rcpt == ["qsa@example.org"] and attached[0].get_filename() == "pci-dss-20240305-20240305.pdf"
    assert attached[0].get_payload(decode=True) == pdf.read_bytes()


def test_report_completeness_is_the_quality_packages_completeness(
    seeded: OpenSearch, reports: dict[tuple[str, str], ProducedReport]
) -> None:
    from dagster_project.quality.completeness import completeness

    shown = {s.source: s for s in reports[("pci-dss", "march")].data.facts.data_quality.sources}
    (figure,) = completeness(seeded, MARCH.first_day, MARCH.last_day, source="cloudtrail")
    cloudtrail = shown["cloudtrail"]
    assert (cloudtrail.records, cloudtrail.incomplete) == (figure.records, figure.incomplete) == (3, 1)
    assert cloudtrail.completeness == figure.ratio == pytest.approx(2 / 3)
    # linux-auth recorded no required_fields result: no completeness is claimed for it.
    assert (shown["linux-auth"].records, shown["linux-auth"].completeness) == (0, None)
    assert completeness(seeded, MARCH.first_day, MARCH.last_day, source="linux-auth")[0].ratio is None


def test_every_sample_table_has_rows_when_its_count_is_above_zero(
    reports: dict[tuple[str, str], ProducedReport],
) -> None:
    from dagster_project.reports.model import EventsResult

    offenders = [
        (name, label, control.id, item.id)
        for (name, label), report in reports.items()
        for control in report.data.controls
        for item in control.evidence
        if isinstance(item, EventsResult) and item.total > 0 and not item.samples
    ]
    assert offenders == []
    pci = reports[("pci-dss", "march")]
    assert len(pci.files["evidence/10.2.1-all-events-samples.csv"].read_text().splitlines()) > 1


def test_data_quality_evidence_covers_the_events_of_the_period_whatever_day_they_arrived(
    reports: dict[tuple[str, str], ProducedReport],
) -> None:
    dq = reports[("pci-dss", "march")].data.facts.data_quality
    # Results exist for 6 March, the day March's events arrived (none for linux-auth's own checks, see _dq).
    assert {s.source for s in dq.sources} == {"linux-auth", "cloudtrail"}
    assert {c.key for c in dq.unchecked} == {"web-access 2024-03-06"}
    arrivals = reports[("pci-dss", "march")].data.arrivals
    assert [(a.day, a.events) for a in arrivals] == [("2024-03-06", dq.period_events)]
