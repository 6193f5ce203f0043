"""Compliance report assets: one per (framework, cadence), partitioned by period; a schedule per cadence."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dagster_project.assets.partitions import REPORT_PERIODS
from dagster_project.reports.frameworks import Cadence, load_frameworks
from dagster_project.reports.model import STATUS_LABELS, Period
from dagster_project.reports.produce import Delivery, produce_report
from dagster_project.resources import (
    OpenSearchResource,
    ReportsResource,
    RetentionResource,
    SigningKeyResource,
    SmtpResource,
)

SCHEDULE_CRONS: dict[str, str] = {
    "daily": "30 1 * * *",
    "weekly": "0 2 * * 1",
    "monthly": "0 3 1 * *",
}
"""When each cadence's schedule runs (UTC): after its period has ended, for that last complete period."""


class ReportConfig(dg.Config):
    """Run configuration for a report partition."""

    out_dir: str = ""
    """Overrides the reports folder (SIEM_REPORTS_DIR) for this run."""
    deliver: bool = True
    """E-mail the PDF to the framework's officers (when SIEM_SMTP_HOST is set)."""


def asset_name(framework: str, cadence: str) -> str:
    """`pci_dss_daily_report`."""
    return f"{framework.replace('-', '_')}_{cadence}_report"


def period_of(context: dg.AssetExecutionContext, cadence: str) -> Period:
    """The partition's time window as a report period."""
    window = context.partition_time_window
    start = datetime.fromtimestamp(window.start.timestamp(), UTC)
    end = datetime.fromtimestamp(window.end.timestamp(), UTC)
    labels = {
        "daily": f"{start:%Y-%m-%d}",
        "weekly": f"week of {start:%Y-%m-%d}",
        "monthly": f"{start:%B %Y}",
    }
    return Period(start=start, end=end, label=labels[cadence])


def build_report_asset(framework_name: str, title: str, cadence: Cadence) -> dg.AssetsDefinition:
    """The partitioned report asset of one framework at one cadence."""

    @dg.asset(
        name=asset_name(framework_name, cadence),
        group_name="reports",
        partitions_def=REPORT_PERIODS[cadence],
        kinds={"opensearch", "pdf"},
        description=f"{title} compliance report ({cadence}): HTML, PDF, CSV evidence and manifest.",
        metadata={
            "framework": framework_name,
            "cadence": cadence,
            "file": f"reports/frameworks/{framework_name}.yaml",
        },
    )
    def _report(
        context: dg.AssetExecutionContext,
        config: ReportConfig,
        opensearch: OpenSearchResource,
        reports_folder: ReportsResource,
        smtp: SmtpResource,
        retention: RetentionResource,
        signing_key: SigningKeyResource,
    ) -> dg.MaterializeResult:
        framework = load_frameworks()[framework_name]
        period = period_of(context, cadence)
        root = Path(config.out_dir) if config.out_dir else reports_folder.root
        out_dir = root / framework_name / cadence / context.partition_key
        mail = smtp.settings()
        recipients = reports_folder.recipients(framework_name) if config.deliver else ()
        if recipients and not mail.host:
            context.log.warning("not e-mailing %s: SIEM_SMTP_HOST is not set", ", ".join(recipients))
            recipients = ()
        key = signing_key.public_key_if_configured()
        with opensearch.client() as client:
            produced = produce_report(
                client,
                framework,
                period,
                out_dir,
                retention=retention.settings(),
                delivery=Delivery(recipients=recipients, smtp=mail),
                public_key=key,
            )
        data = produced.data
        counts = data.status_counts()
        context.log.info("%s %s: %s", framework_name, period.label, counts)
        rows = "\n".join(f"| {c.id} | {c.title} | {STATUS_LABELS[c.status]} |" for c in data.controls)
        return dg.MaterializeResult(
            metadata={
                "summary": dg.MetadataValue.md(
                    f"**{data.framework.title}**, {period.label}: {data.scope.events_total:,} events; "
                    f"{counts['evidence_present']} evidence present, {counts['gap']} gap(s), "
                    f"{counts['not_applicable']} not applicable.\n\n"
                    f"| control | title | status |\n|---|---|---|\n{rows}"
                ),
                "events": dg.MetadataValue.int(data.scope.events_total),
                "controls": dg.MetadataValue.int(len(data.controls)),
                "gaps": dg.MetadataValue.int(counts["gap"]),
                "not_applicable": dg.MetadataValue.int(counts["not_applicable"]),
                "status": dg.MetadataValue.json({c.id: c.status for c in data.controls}),
                "pdf": dg.MetadataValue.path(str(produced.files["report.pdf"])),
                "html": dg.MetadataValue.path(str(produced.files["report.html"])),
                "manifest": dg.MetadataValue.path(str(produced.manifest)),
                "folder": dg.MetadataValue.path(str(out_dir)),
                "evidence_files": dg.MetadataValue.int(sum(n.startswith("evidence/") for n in produced.files)),
                "delivered_to": dg.MetadataValue.json(list(produced.delivered_to)),
                "record_id": produced.record_id,
            }
        )

    return _report


def build_report_schedule(cadence: Cadence, assets: list[dg.AssetsDefinition]) -> dg.ScheduleDefinition:
    """A schedule that materialises the last complete period of every report asset of a cadence."""
    partitions = REPORT_PERIODS[cadence]
    job = dg.define_asset_job(
        name=f"{cadence}_compliance_reports",
        selection=dg.AssetSelection.assets(*assets),
        description=f"Every {cadence} compliance report.",
    )

    frameworks = {a.key: str(a.metadata_by_key[a.key]["framework"]) for a in assets}

    @dg.schedule(
        name=f"{cadence}_compliance_reports_schedule",
        job=job,
        cron_schedule=SCHEDULE_CRONS[cadence],
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every {cadence} report whose framework has officers to receive it, for the {cadence} "
        "period that has just ended; skips when no framework has recipients.",
    )
    def _schedule(
        context: dg.ScheduleEvaluationContext, reports_folder: ReportsResource
    ) -> dg.RunRequest | dg.SkipReason:
        wanted = [key for key, name in frameworks.items() if reports_folder.recipients(name)]
        if not wanted:
            return dg.SkipReason(
                f"no {cadence} report has recipients (reports/recipients.yaml, SIEM_REPORT_RECIPIENTS_<FRAMEWORK>)"
            )
        moment = (context.scheduled_execution_time or datetime.now(UTC)).timestamp()
        current = partitions.time_window_for_partition_key(partitions.get_partition_key_for_timestamp(moment))
        key = partitions.get_partition_key_for_timestamp(current.start.timestamp() - 1)
        return dg.RunRequest(partition_key=key, run_key=f"{cadence}-reports:{key}", asset_selection=wanted)

    return _schedule


_FRAMEWORKS = load_frameworks()
REPORT_ASSETS: list[dg.AssetsDefinition] = [
    build_report_asset(name, framework.title, cadence)
    for name, framework in _FRAMEWORKS.items()
    for cadence in framework.cadences
]
REPORT_SCHEDULES: list[dg.ScheduleDefinition] = [
    build_report_schedule(cadence, [a for a in REPORT_ASSETS if a.partitions_def == REPORT_PERIODS[cadence]])
    for cadence in ("daily", "weekly", "monthly")
    if any(a.partitions_def == REPORT_PERIODS[cadence] for a in REPORT_ASSETS)
]
