"""`siem verify --from D1 --to D2 [--by event|ingested] [--json]`: recompute the integrity chains.

By event (the default) it checks the events whose @timestamp falls on the days D1..D2, whatever day they
were ingested; by ingested, the records sealed on those days (see `integrity.verify`).
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import day_start, emit
from dagster_project.errors import ConfigurationError
from dagster_project.integrity import keys
from dagster_project.integrity.verify import CLOCKS, verify


@click.command("verify")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive.")
@click.option(
    "--by",
    type=click.Choice(CLOCKS),
    default="event",
    show_default=True,
    help="Which clock the days are on: event time (@timestamp) or ingestion (when records were sealed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(start, end, by: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Recompute the integrity chains; exit 0 only when nothing was modified, deleted, injected or badly signed."""
    try:
        public_key = keys.public_key_from_env()
    except ConfigurationError:
        public_key = None
        click.echo("warning: no signing key configured; signatures are not checked", err=True)
    with opened_client() as client:
        report = verify(
            client,
            day_start(start.date()),
            day_start(end.date()) + timedelta(days=1),
            public_key,
            by="event" if by == "event" else "ingested",
        )
    data = report.as_json()
    text = (
        f"{'OK' if report.ok else 'TAMPERING DETECTED'} (by {by}): {report.checked} documents in {report.records} "
        f"records, {report.digests} signed digests; modified {len(report.modified)}, deleted {len(report.deleted)}, "
        f"injected {len(report.injected)}, bad signatures {len(report.bad_signatures)}, "
        f"broken chain links {len(report.broken_chain)}; expired by retention {report.expired}"
    )
    emit(data, as_json, text)
    if not report.ok:
        sys.exit(1)
