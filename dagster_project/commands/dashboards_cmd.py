"""`siem dashboards validate|deploy`: check the saved objects in dashboards/, import them into Dashboards."""

from __future__ import annotations

import sys

import click

from dagster_project.commands.shared import emit
from dagster_project.dashboards.deploy import deploy
from dagster_project.dashboards.objects import load_saved_objects
from dagster_project.dashboards.validate import validate
from dagster_project.settings import ConnectionSettings, DashboardsSettings
from dagster_project.storage import naming


@click.group("dashboards")
def dashboards_group() -> None:
    """OpenSearch Dashboards saved objects (index patterns, searches, visualisations, dashboards)."""


@dashboards_group.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def validate_command(as_json: bool) -> None:
    """Check every object against the others, the index templates and the rules; exit 1 on a problem."""
    objects = load_saved_objects()
    offenders = validate(objects)
    text = "\n".join(offenders) or f"{len(objects)} saved objects, no problems"
    emit({"objects": len(objects), "problems": offenders}, as_json, text)
    if offenders:
        sys.exit(1)


@dashboards_group.command("deploy")
@click.option("--url", default=None, help="Dashboards base URL (default: OPENSEARCH_DASHBOARDS_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def deploy_command(url: str | None, as_json: bool) -> None:
    """Import every saved object through the saved objects API, overwriting (a re-run changes nothing)."""
    settings = DashboardsSettings()
    connection = ConnectionSettings()
    result = deploy(
        (url or settings.url).strip().rstrip("/"),
        user=connection.user,
        password=connection.password.get_secret_value(),
        ca_certs=connection.ca_certs,
        verify_certs=connection.verify_certs,
        timeout=settings.timeout,
    )
    by_type = ", ".join(f"{n} {kind}" for kind, n in result.imported.items())
    text = (
        f"imported {result.count} saved objects into {result.url} ({by_type})\n"
        f"open {result.url}/app/dashboards#/view/{naming.in_namespace(naming.START_DASHBOARD)}"
    )
    emit({"url": result.url, "imported": result.imported, "count": result.count}, as_json, text)
