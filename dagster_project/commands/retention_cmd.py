"""`siem retention [--dry-run] [--json]`: enforce retention by event time (read-only past hot, then deleted)."""

from __future__ import annotations

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.settings import RetentionSettings
from dagster_project.storage import retention as retention_module


@click.command("retention")
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
