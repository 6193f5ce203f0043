"""`siem detect --from D1 --to D2 [--rule ID] [--json]` (retro-hunt) and `siem alerts list|ack|resolve`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click

from dagster_project.cli import cli, emit
from dagster_project.client import opened_client
from dagster_project.detection.alerts import ALERTS_INDEX, raise_alerts, set_state
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url


def day_start(value: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(value, time.min, tzinfo=UTC)


@cli.command("detect")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive (UTC).")
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule id (or name); repeatable.")
@click.option("--no-alerts", is_flag=True, help="Write findings only: raise and deliver no alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def detect_command(start: datetime, end: datetime, rule_ids: tuple[str, ...], no_alerts: bool, as_json: bool) -> None:
    """Run the Sigma rules over stored events of a date range; findings go to siem-findings (re-runs add nothing)."""
    if end < start:
        raise click.BadParameter("--to is before --from")
    begin, finish = day_start(start.date()), day_start(end.date()) + timedelta(days=1)
    rules = select_rules(rule_ids or None)
    with opened_client() as client:
        result = hunt(client, begin, finish, rules=rules)
        alerts = [] if no_alerts else raise_alerts(client, begin, finish)
        delivery = (
            notify(client, alerts, events_url=effective_url(ConnectionSettings(), NodeSettings())) if alerts else None
        )
    data = {
        "from": start.date().isoformat(),
        "to": end.date().isoformat(),
        "findings": result.findings,
        "rules": [
            {"id": r.id, "title": r.title, "level": r.level, "tags": r.tags, "findings": r.findings}
            for r in result.rules
        ],
        "alerts": {"total": len(alerts), "new": sum(a.created for a in alerts)},
    }
    if delivery is not None:
        data["delivery"] = {"webhook": delivery.webhook, "email": delivery.email, "failures": delivery.failures}
    lines = [f"{r.findings:>6}  {r.level:9} {r.title}" for r in result.rules if r.findings]
    new_alerts = sum(a.created for a in alerts)
    lines.append(f"{result.findings} findings from {len(result.rules)} rules, {new_alerts} new alerts")
    emit(data, as_json, "\n".join(lines))


@cli.group("alerts")
def alerts_group() -> None:
    """List alerts and move them through active -> acknowledged -> resolved."""


@alerts_group.command("list")
@click.option("--state", type=click.Choice(["active", "acknowledged", "resolved"]), help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def alerts_list(state: str | None, as_json: bool) -> None:
    """The newest alerts (up to 100)."""
    query = {"term": {"alert.state": state}} if state else {"match_all": {}}
    with opened_client() as client:
        if not client.indices.exists(index=ALERTS_INDEX):
            emit({"alerts": []}, as_json, "no alerts")
            return
        hits = client.search(
            index=ALERTS_INDEX, body={"size": 100, "query": query, "sort": [{"alert.last_seen": "desc"}]}
        )
    alerts = [h["_source"]["alert"] for h in hits["hits"]["hits"]]
    text = "\n".join(f"{a['id']}  {a['state']:12} {a['severity']:8} {a['rule_title']}  {a['entity']}" for a in alerts)
    emit({"alerts": alerts}, as_json, text or "no alerts")


@alerts_group.command("ack")
@click.argument("alert_id")
@click.option("--by", required=True, help="Who acknowledges (recorded for PCI 10.4.3 review evidence).")
def alerts_ack(alert_id: str, by: str) -> None:
    """Acknowledge an alert."""
    with opened_client() as client:
        alert = set_state(client, alert_id, "acknowledged", by=by)
    click.echo(f"{alert['id']} acknowledged by {alert['acknowledged_by']}")


@alerts_group.command("resolve")
@click.argument("alert_id")
def alerts_resolve(alert_id: str) -> None:
    """Resolve an alert."""
    with opened_client() as client:
        alert = set_state(client, alert_id, "resolved")
    click.echo(f"{alert['id']} resolved")
