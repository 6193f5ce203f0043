"""Retro-hunts against the real node: known attacks in the shared samples are found, re-runs add nothing,
alerts are deduplicated and delivered through a real webhook server and a real SMTP server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from opensearchpy import OpenSearch

from dagster_project.detection.alerts import raise_alerts, set_state
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import AlertSettings, RetentionSettings, SmtpSettings, WebhookSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def stratus(clean_siem: OpenSearch, shared_data: Path) -> OpenSearch:
    """The Stratus Red Team CloudTrail run, ingested."""
    bootstrap(clean_siem, RETENTION)
    files = sorted((shared_data / "cloudtrail" / "invictus_stratus").glob("2*_CloudTrail_*.json"))
    summary = ingest(clean_siem, "cloudtrail", files, retention=RETENTION, refresh=True)
    assert summary.indexed == 1405
    return clean_siem


def _rule(title: str) -> list[Any]:
    chosen = [pair for pair in select_rules() if pair[0].title == title]
    assert chosen, f"no rule titled {title!r}"
    return chosen


def _event_field(client: OpenSearch, finding_ids: list[str], field: str) -> set[str]:
    events = client.mget(index=naming.events_alias(), body={"ids": finding_ids})["docs"]
    values = set()
    for doc in events:
        node: Any = doc["_source"]
        for key in field.split("."):
            node = node[key]
        values.add(node)
    return values


def _finding_event_ids(client: OpenSearch, rule_id: str) -> list[str]:
    hits = client.search(index=naming.findings_index(), body={"size": 1000, "query": {"term": {"rule.id": rule_id}}})[
        "hits"
    ]["hits"]
    return [e for h in hits for e in h["_source"]["finding"]["event_ids"]]


def test_cloudtrail_tampering_is_found_and_a_rerun_adds_nothing(stratus: OpenSearch, shared_data: Path) -> None:
    expected = json.loads((shared_data / "cloudtrail" / "_expected_sigma_hits.json").read_text())
    tampering = {h["eventID"] for h in expected["rules"]["aws_cloudtrail_disable_logging"]["hits"]}
    rules = _rule("AWS CloudTrail Configuration Changed")
    first = hunt(stratus, *EVER, rules=rules)
    rule_id = rules[0][0].id
    found = _event_field(stratus, _finding_event_ids(stratus, rule_id), "aws.cloudtrail.eventID")
    assert tampering <= found
    count = stratus.count(index=naming.findings_index())["count"]
    second = hunt(stratus, *EVER, rules=rules)
    assert second.findings == 0, "a re-run writes no new findings"
    assert second.matched == first.matched == first.findings > 0
    assert stratus.count(index=naming.findings_index())["count"] == count


def test_organization_and_iam_changes_match_the_labelled_events(stratus: OpenSearch, shared_data: Path) -> None:
    expected = json.loads((shared_data / "cloudtrail" / "_expected_sigma_hits.json").read_text())
    leave = {h["eventID"] for h in expected["rules"]["(no SigmaHQ rule) organizations LeaveOrganization"]["hits"]}
    rules = _rule("AWS Organizations Changed")
    hunt(stratus, *EVER, rules=rules)
    assert _event_field(stratus, _finding_event_ids(stratus, rules[0][0].id), "aws.cloudtrail.eventID") == leave


def test_ssh_brute_force_count_rule_finds_the_known_attackers(clean_siem: OpenSearch, shared_data: Path) -> None:
    bootstrap(clean_siem, RETENTION)
    path = shared_data / "linux_auth" / "elastic_auth" / "auth.part1.log"
    ingest(clean_siem, "linux-auth", [path], retention=RETENTION, refresh=True)
    summary = json.loads((shared_data / "linux_auth" / "elastic_auth" / "auth.part1.summary.json").read_text())
    rules = _rule("SSH Brute Force From One Source")
    result = hunt(clean_siem, *EVER, rules=rules)
    assert result.findings > 0
    hits = clean_siem.search(
        index=naming.findings_index(), body={"size": 1000, "query": {"term": {"rule.id": rules[0][0].id}}}
    )
    attackers = {h["_source"]["finding"]["group"]["source.ip"] for h in hits["hits"]["hits"]}
    assert set(summary["sources_with_>=10_failed_passwords"]) <= attackers
    for hit in hits["hits"]["hits"]:
        finding = hit["_source"]["finding"]
        assert finding["event_count"] >= 5 and finding["event_ids"]


def test_detect_cli_json_has_one_entry_per_rule(stratus: OpenSearch) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project",
            "detect",
            "--from",
            "2023-07-10",
            "--to",
            "2023-07-10",
            "--json",
            "--no-alerts",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["from"], data["to"]) == ("2023-07-10", "2023-07-10")
    assert len(data["rules"]) == len(select_rules())
    assert {"id", "title", "level", "tags", "findings"} <= set(data["rules"][0])
    assert data["findings"] == sum(r["findings"] for r in data["rules"]) > 0
    assert any(r["findings"] == 0 for r in data["rules"])


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["content-length"])
        _Hook.received.append({"auth": self.headers.get("authorization"), "body": json.loads(self.rfile.read(length))})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def channels() -> Iterator[tuple[WebhookSettings, SmtpSettings, list[dict[str, Any]], _Mailbox]]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mailbox = _Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    webhook = WebhookSettings(url=f"http://127.0.0.1:{server.server_port}/hooks/siem", token="s3cret")
    smtp = SmtpSettings(host="127.0.0.1", port=port, alert_to="soc@example.org", starttls=False)
    yield webhook, smtp, _Hook.received, mailbox
    controller.stop()
    server.shutdown()


def test_alerts_are_deduplicated_delivered_and_keep_their_state(stratus: OpenSearch, channels: Any) -> None:
    webhook, smtp, received, mailbox = channels
    hunt(stratus, *EVER)
    settings = AlertSettings(min_level="high", window_minutes=60)
    changes = raise_alerts(stratus, *EVER, settings)
    new = [c for c in changes if c.created]
    assert new, "the Stratus run has high-severity findings"
    report = notify(stratus, changes, webhook=webhook, smtp=smtp)
    assert report.failures == []
    assert report.webhook == len(new) == len(received) == report.email == len(mailbox.messages)
    assert received[0]["auth"] == "Bearer s3cret"
    assert received[0]["body"]["alert"]["state"] == "active" and received[0]["body"]["alert"]["event_ids"]
    assert mailbox.messages[0]["To"] == "soc@example.org" and "[SIEM high]" in mailbox.messages[0]["Subject"]
    acknowledged = set_state(stratus, new[0].id, "acknowledged", by="analyst1")
    assert acknowledged["state"] == "acknowledged"
    hunt(stratus, *EVER)
    again = raise_alerts(stratus, *EVER, settings)
    assert not any(c.created for c in again)
    assert notify(stratus, again, webhook=webhook, smtp=smtp).webhook == 0
    assert len(received) == len(new)
    state = stratus.get(index=naming.alerts_index(), id=new[0].id)["_source"]["alert"]
    assert (
        state["state"] == "acknowledged"
        and state["acknowledged_by"] == "analyst1"
        and state["notified"] == ["webhook", "email"]
    )


def test_findings_partition_materialises_and_backfill_is_idempotent(stratus: OpenSearch, opensearch_url: str) -> None:
    import dagster as dg

    from dagster_project.assets.detection import findings
    from tests.resources import suite_resources

    resources = suite_resources(opensearch_url)
    first = dg.materialize([findings], partition_key="2023-07-10", resources=resources)
    assert first.success
    (materialization,) = first.asset_materializations_for_node("findings")
    found = materialization.metadata["findings"].value
    assert found > 0 and materialization.metadata["findings_by_rule"].value
    count = stratus.count(index=naming.findings_index())["count"]
    again = dg.materialize([findings], partition_key="2023-07-10", resources=resources)
    assert again.asset_materializations_for_node("findings")[0].metadata["findings"].value == found
    assert stratus.count(index=naming.findings_index())["count"] == count
    empty = dg.materialize([findings], partition_key="2023-07-09", resources=resources)
    assert empty.asset_materializations_for_node("findings")[0].metadata["findings"].value == 0


def test_the_findings_asset_runs_the_packs_of_its_rules_resource(
    stratus: OpenSearch, opensearch_url: str, shared_data: Path
) -> None:
    """SIEM_RULE_PACKS reaches the asset through the `rules` resource (visible in the UI), not the environment."""
    import dagster as dg

    from dagster_project.assets.detection import findings
    from dagster_project.resources import RulesResource
    from tests.resources import suite_resources

    pack = shared_data / "sigma" / "sigmahq" / "rules" / "cloud" / "aws"
    curated = dg.materialize([findings], partition_key="2023-07-10", resources=suite_resources(opensearch_url))
    with_pack = dg.materialize(
        [findings],
        partition_key="2023-07-10",
        resources=suite_resources(opensearch_url, rules=RulesResource(packs=str(pack))),
    )
    rules_run = [
        r.asset_materializations_for_node("findings")[0].metadata["rules_run"].value for r in (curated, with_pack)
    ]
    assert rules_run[1] > rules_run[0]
    stratus.indices.refresh(index=naming.findings_index())
    from_pack = stratus.count(index=naming.findings_index(), body={"query": {"term": {"rule.pack": "aws"}}})["count"]
    assert from_pack > 0


def _detect_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project", "detect", "--from", "2023-07-10", "--to", "2023-07-10", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_sigmahq_pack_hunts_and_a_rerun_reports_the_same_matches(stratus: OpenSearch, shared_data: Path) -> None:
    """SigmaHQ's AWS rules as a pack via `--rules`: findings record the pack and path; `matched` survives re-runs."""
    pack = shared_data / "sigma" / "sigmahq" / "rules" / "cloud" / "aws"
    first = _detect_json("--rules", str(pack), "--json", "--no-alerts")
    second = _detect_json("--rules", str(pack), "--json", "--no-alerts")
    assert first["matched"] > 0 and first["findings"] == first["matched"]
    assert second["findings"] == 0 and second["matched"] == first["matched"]
    assert {r["pack"] for r in first["rules"]} == {"aws"}
    assert [r["matched"] for r in first["rules"]] == [r["matched"] for r in second["rules"]]
    disable = [r for r in first["rules"] if r["id"] == "4db60cc0-36fb-42b7-9b58-a5b53019fb74"]
    assert disable and disable[0]["matched"] > 0, "SigmaHQ's 'AWS CloudTrail Important Change' finds the tampering"
    hits = stratus.search(
        index=naming.findings_index(), body={"size": 1, "query": {"term": {"rule.id": disable[0]["id"]}}}
    )["hits"]["hits"]
    rule = hits[0]["_source"]["rule"]
    assert rule["pack"] == "aws"
    assert (pack / rule["path"]).is_file()


def _stored_findings(client: OpenSearch) -> dict[str, tuple[str, str]]:
    client.indices.refresh(index=naming.findings_index())
    hits = client.search(
        index=naming.findings_index(), body={"size": 10_000, "_source": ["rule.id", "siem.partition"]}
    )["hits"]["hits"]
    return {h["_id"]: (h["_source"]["rule"]["id"], h["_source"]["siem"]["partition"]) for h in hits}


def test_a_backfill_run_of_many_days_stores_what_one_run_per_day_stores(
    stratus: OpenSearch, opensearch_url: str
) -> None:
    import dagster as dg

    from dagster_project.assets.detection import DAYS_PER_RUN, findings
    from dagster_project.detection.arrivals import days_with_events
    from tests.resources import suite_resources

    resources = suite_resources(opensearch_url)
    days = days_with_events(stratus, datetime(2023, 7, 1, tzinfo=UTC), datetime(2023, 8, 1, tzinfo=UTC))
    assert days, "the Stratus run has events in July 2023"
    for day in days:
        assert dg.materialize([findings], partition_key=day, resources=resources).success
    one_run_per_day = _stored_findings(stratus)
    assert one_run_per_day
    stratus.indices.delete(index=naming.findings_index())
    assert findings.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=DAYS_PER_RUN)
    month = {"dagster/asset_partition_range_start": "2023-07-01", "dagster/asset_partition_range_end": "2023-07-31"}
    ranged = dg.materialize([findings], tags=month, resources=resources)
    assert ranged.success
    materializations = ranged.asset_materializations_for_node("findings")
    assert len(materializations) == 31
    metadata = materializations[0].metadata
    assert (metadata["days"].value, metadata["days_with_events"].value) == (31, len(days))
    assert metadata["findings"].value == len(one_run_per_day)
    assert _stored_findings(stratus) == one_run_per_day
