"""`siem bootstrap` and `siem retention`: apply templates and policies; enforce retention by event time."""

from __future__ import annotations

import click

from dagster_project.cli import cli, emit
from dagster_project.client import opened_client
from dagster_project.settings import RetentionSettings
from dagster_project.storage import retention as retention_module
from dagster_project.storage.bootstrap import as_dicts, bootstrap


@cli.command("bootstrap")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bootstrap_command(as_json: bool) -> None:
    """Apply index templates and ISM policies idempotently (a second run reports all unchanged)."""
    settings = RetentionSettings()
    with opened_client() as client:
        changes = bootstrap(client, settings)
    lines = [f"{c.action:9} {c.kind:18} {c.name} {c.detail}".rstrip() for c in changes]
    counts = {
        action: sum(c.action == action for c in changes) for action in ("created", "updated", "unchanged", "skipped")
    }
    lines.append(", ".join(f"{n} {a}" for a, n in counts.items() if n))
    emit({"changes": as_dicts(changes), "counts": counts}, as_json, "\n".join(lines))


@cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Say what would happen, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def retention_command(dry_run: bool, as_json: bool) -> None:
    """Make indices past SIEM_HOT_DAYS read-only and delete those past SIEM_RETENTION_DAYS (by event date)."""
    settings = RetentionSettings()
    with opened_client() as client:
        actions = retention_module.enforce_retention(client, settings, dry_run=dry_run)
    changed = [a for a in actions if a.action != "kept"]
    text = "\n".join(f"{a.action:15} {a.index} ({a.age_days} days)" for a in changed) or "nothing to do"
    emit({"dry_run": dry_run, "actions": retention_module.as_dicts(actions)}, as_json, text)
