"""`siem collect status [--json]`: listeners, sources, spool — what was received, spooled, ingested, dropped."""

from __future__ import annotations

import click

from dagster_project.collect.status import collect_status
from dagster_project.commands.shared import emit
from dagster_project.settings import NodeSettings, SpoolSettings


@click.group("collect")
def collect_group() -> None:
    """Live collection: the receivers' spool and what became of it."""


@collect_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(as_json: bool) -> None:
    """Per listener and per source: received, spooled, ingested, quarantined, dropped, spool bytes, oldest unsealed."""
    settings = SpoolSettings()
    status = collect_status(settings.root(NodeSettings().home), settings.max_bytes)
    receiver = status["receiver"]
    lines = [
        f"receiver: {'running, pid ' + str(receiver['pid']) if receiver['running'] else 'not running'}",
        f"spool: {status['spool']['dir']}  {status['spool']['bytes']} of {status['spool']['max_bytes']} bytes"
        + ("  FULL" if status["spool"]["full"] else ""),
        "listeners:",
    ]
    for item in status["listeners"]:
        lines.append(
            f"  {item['name']:11} {item['address']:22} -> {item['source']:16} received {item['received']:>9}  "
            f"spooled {item['spooled']:>9}  dropped {item['dropped']:>6}  refused {item['refused']:>5}  "
            f"connections {item['connections']}"
        )
    lines.append("sources:")
    for name, item in status["sources"].items():
        unsealed = "-" if item["oldest_unsealed_seconds"] is None else f"{item['oldest_unsealed_seconds']:.0f}s"
        lines.append(
            f"  {name:11} received {item['received']:>9}  spooled {item['spooled']:>9}  "
            f"ingested {item['ingested']:>9}  quarantined {item['quarantined']:>7}  dropped {item['dropped']:>6}  "
            f"spool {item['spool_bytes']:>10} bytes  oldest unsealed {unsealed}  "
            f"sealed waiting {item['segments_sealed']}"
        )
    emit(status, as_json, "\n".join(lines))
