"""`siem detect --from D1 --to D2 [--rule ID] [--no-alerts] [--json]`: a retro-hunt over stored events."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import day_start, emit
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url


@click.command("detect")
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
