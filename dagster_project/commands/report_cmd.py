"""`siem report`: build a compliance report for a framework and a period; write, record and deliver it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.errors import ReportError
from dagster_project.integrity import keys
from dagster_project.reports.deliver import recipients_for
from dagster_project.reports.frameworks import load_framework
from dagster_project.reports.model import Period
from dagster_project.reports.produce import Delivery, produce_report
from dagster_project.settings import FolderSettings, NodeSettings, RetentionSettings, SmtpSettings

FRAMEWORKS = "pci-dss, hipaa, gdpr, soc2, cis-aws"


@click.command("report")
@click.option("--framework", "framework_name", required=True, help=f"One of {FRAMEWORKS} (reports/frameworks/).")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included (UTC).")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@click.option(
    "--deliver", is_flag=True, help="E-mail the PDF to the framework's officers and copy to SIEM_REPORTS_DIR."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: paths written and per-control status.")
def report_command(
    framework_name: str, first: datetime, last: datetime, out_dir: Path, deliver: bool, as_json: bool
) -> None:
    """Write HTML, PDF, CSV evidence and manifest.json for one framework over [--from, --to]."""
    if last < first:
        raise ReportError("--to is before --from", where="--to")
    framework = load_framework(framework_name)
    period = Period.from_dates(first, last)
    delivery = None
    if deliver:
        delivery = Delivery(
            recipients=recipients_for(framework.name),
            smtp=SmtpSettings(),
            directory=FolderSettings().reports_root(NodeSettings().home) / framework.name / period.slug,
        )
    key = keys.public_key_if_configured()
    with opened_client() as client:
        produced = produce_report(
            client, framework, period, out_dir, retention=RetentionSettings(), delivery=delivery, public_key=key
        )
    counts = produced.data.status_counts()
    lines = [f"{framework.title} report for {period.label}: {out_dir}"]
    lines += [f"  {c.status:16} {c.id:24} {c.title}" for c in produced.data.controls]
    lines.append(
        f"{counts['evidence_present']} evidence present, {counts['gap']} gap(s), "
        f"{counts['not_applicable']} not applicable; PDF: {produced.files['report.pdf']}"
    )
    if produced.delivered_to:
        lines.append(f"e-mailed to {', '.join(produced.delivered_to)}")
    emit(produced.summary(), as_json, "\n".join(lines))
