"""`siem bootstrap [--json]`: apply index templates, ISM policies, security roles and users, idempotently."""

from __future__ import annotations

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.settings import RetentionSettings
from dagster_project.storage.bootstrap import as_dicts, bootstrap


@click.command("bootstrap")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bootstrap_command(as_json: bool) -> None:
    """Apply index templates, ISM policies, security roles and users idempotently (a re-run: all unchanged)."""
    settings = RetentionSettings()
    with opened_client() as client:
        changes = bootstrap(client, settings)
    lines = [f"{c.action:9} {c.kind:18} {c.name} {c.detail}".rstrip() for c in changes]
    counts = {
        action: sum(c.action == action for c in changes) for action in ("created", "updated", "unchanged", "skipped")
    }
    lines.append(", ".join(f"{n} {a}" for a, n in counts.items() if n))
    emit({"changes": as_dicts(changes), "counts": counts}, as_json, "\n".join(lines))
