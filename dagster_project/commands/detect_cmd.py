"""`siem detect --from D1 --to D2 [--rule ID] [--rules PATH] [--no-alerts] [--json]`: a retro-hunt of stored events."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import day_start, emit
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.settings import ConnectionSettings, NodeSettings, RuleSettings, effective_url


@click.command("detect")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive (UTC).")
@click.option("--rule", "rule_ids", multiple=True, help="Only this rule id (or name); repeatable.")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Only the rules of this file or folder (curated, a pack's, or any); repeatable.",
)
@click.option("--no-alerts", is_flag=True, help="Write findings only: raise and deliver no alerts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def detect_command(
    start: datetime,
    end: datetime,
    rule_ids: tuple[str, ...],
    rule_paths: tuple[Path, ...],
    no_alerts: bool,
    as_json: bool,
) -> None:
    """Run the Sigma rules over stored events of a date range; findings go to siem-findings (re-runs add nothing)."""
    if end < start:
        raise click.BadParameter("--to is before --from")
    begin, finish = day_start(start.date()), day_start(end.date()) + timedelta(days=1)
    rules = select_rules(rule_ids or None, rule_paths=rule_paths or None, settings=RuleSettings())
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
        "matched": result.matched,
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "level": r.level,
                "tags": r.tags,
                "pack": r.pack,
                "findings": r.findings,
                "matched": r.matched,
            }
            for r in result.rules
        ],
        "alerts": {"total": len(alerts), "new": sum(a.created for a in alerts)},
    }
    if delivery is not None:
        data["delivery"] = {"webhook": delivery.webhook, "email": delivery.email, "failures": delivery.failures}
    lines = [f"{r.matched:>6}  {r.level:9} {r.title} ({r.findings} new)" for r in result.rules if r.matched]
    new_alerts = sum(a.created for a in alerts)
    lines.append(
        f"{result.matched} matches, {result.findings} new findings from {len(result.rules)} rules, "
        f"{new_alerts} new alerts"
    )
    emit(data, as_json, "\n".join(lines))
