"""`siem alerts list|ack|resolve`: list alerts and move them through active -> acknowledged -> resolved."""

from __future__ import annotations

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.detection.alerts import set_state
from dagster_project.storage import naming


@click.group("alerts")
def alerts_group() -> None:
    """List alerts and move them through active -> acknowledged -> resolved."""


@alerts_group.command("list")
@click.option("--state", type=click.Choice(["active", "acknowledged", "resolved"]), help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def alerts_list(state: str | None, as_json: bool) -> None:
    """The newest alerts (up to 100)."""
    query = {"term": {"alert.state": state}} if state else {"match_all": {}}
    with opened_client() as client:
        if not client.indices.exists(index=naming.alerts_index()):
            emit({"alerts": []}, as_json, "no alerts")
            return
        hits = client.search(
            index=naming.alerts_index(), body={"size": 100, "query": query, "sort": [{"alert.last_seen": "desc"}]}
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
