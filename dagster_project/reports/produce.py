"""One report end to end: query -> data -> HTML, PDF, CSV -> manifest -> delivery -> siem-reports record."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import OpenSearch

from dagster_project.errors import ReportError
from dagster_project.notify.email import Attachment, build_message, send_message
from dagster_project.notify.webhook import DeliveryError
from dagster_project.reports.build import build_report
from dagster_project.reports.coverage import RuleCatalog
from dagster_project.reports.deliver import copy_to_directory
from dagster_project.reports.frameworks import Framework
from dagster_project.reports.manifest import file_sha256, write_manifest
from dagster_project.reports.model import STATUS_LABELS, Period, ReportData
from dagster_project.reports.record import write_record
from dagster_project.reports.render import evidence_tables, render_csv, render_html, render_pdf
from dagster_project.security import audit
from dagster_project.security.actor import actor
from dagster_project.settings import RetentionSettings, SmtpSettings
from dagster_project.storage import naming

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """Where a report goes besides its output folder: officers by e-mail, and a reports directory."""

    recipients: tuple[str, ...] = ()
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    """The SMTP server (the CLI reads SIEM_SMTP_*; Dagster passes the `smtp` resource's settings)."""
    directory: Path | None = None


@dataclass(frozen=True)
class ProducedReport:
    """A written report: its data, files (name -> path), their hashes, where it went, and its record id."""

    data: ReportData
    out_dir: Path
    files: dict[str, Path]
    hashes: dict[str, str]
    manifest: Path
    delivered_to: tuple[str, ...] = ()
    record_id: str = ""
    copied_to: Path | None = None

    def summary(self) -> dict[str, object]:
        """Paths written and per-control status, as plain data (the CLI's --json, Dagster metadata)."""
        return {
            "framework": self.data.framework.name,
            "period": {"start": self.data.period.start.isoformat(), "end": self.data.period.end.isoformat()},
            "generated_at": self.data.generated_at.isoformat(),
            "events": self.data.scope.events_total,
            "counts": self.data.status_counts(),
            "controls": [
                {"id": c.id, "title": c.title, "status": c.status, "reasons": list(c.reasons)}
                for c in self.data.controls
            ],
            "files": {name: str(path) for name, path in self.files.items()},
            "manifest": str(self.manifest),
            "delivered_to": list(self.delivered_to),
            "copied_to": str(self.copied_to) if self.copied_to else None,
            "record_id": self.record_id,
        }


def produce_report(
    client: OpenSearch,
    framework: Framework,
    period: Period,
    out_dir: Path,
    *,
    retention: RetentionSettings,
    delivery: Delivery | None = None,
    generated_at: datetime | None = None,
    public_key: Ed25519PublicKey | None = None,
    catalog: RuleCatalog | None = None,
) -> ProducedReport:
    """Build, render and write one report under `out_dir`, deliver it, and record it in siem-reports.

    `public_key` (from `integrity.keys`, the keys' owner) checks the signed digests; None leaves them unchecked.
    """
    data = build_report(
        client,
        framework,
        period,
        retention=retention,
        generated_at=generated_at or datetime.now(UTC),
        public_key=public_key,
        catalog=catalog,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    files: dict[str, Path] = {
        "report.html": _write(out_dir / "report.html", html.encode("utf-8")),
        "report.pdf": _write(out_dir / "report.pdf", render_pdf(html)),
        "report.json": _write(out_dir / "report.json", data.model_dump_json(indent=2).encode("utf-8")),
    }
    for name, table in evidence_tables(data).items():
        files[name] = _write(out_dir / name, render_csv(table).encode("utf-8"))
    meta = {
        "framework": framework.name,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "generated_at": data.generated_at.isoformat(),
        "suite_version": data.suite_version,
    }
    manifest = write_manifest(out_dir, files.values(), meta)
    hashes = _hashes(manifest)
    delivered: tuple[str, ...] = ()
    copied: Path | None = None
    if delivery is not None:
        if delivery.recipients:
            try:
                send_message(delivery.smtp, _message(data, delivery, files["report.pdf"].read_bytes()))
            except DeliveryError as exc:
                raise ReportError(f"the report was not e-mailed: {exc.message}", where=exc.where) from exc
            delivered = delivery.recipients
        if delivery.directory is not None:
            copied = copy_to_directory(out_dir, delivery.directory)
    record = write_record(client, data, hashes, delivered)
    audit.record(
        client,
        "report.generated",
        actor=actor(),
        target=f"{framework.name}:{period.slug}",
        details={"record_id": record, "files": hashes, "delivered_to": list(delivered)},
        key=hashes.get("report.pdf", ""),
    )
    log.info("%s report for %s written to %s", framework.name, period.label, out_dir)
    return ProducedReport(
        data=data,
        out_dir=out_dir,
        files=files,
        hashes=hashes,
        manifest=manifest,
        delivered_to=delivered,
        record_id=record,
        copied_to=copied,
    )


def attachment_name(data: ReportData) -> str:
    """`pci-dss-20240301-20240331.pdf`: framework and inclusive dates."""
    last = data.period.end.timestamp() - 1
    return f"{data.framework.name}-{data.period.start:%Y%m%d}-{datetime.fromtimestamp(last, UTC):%Y%m%d}.pdf"


def _message(data: ReportData, delivery: Delivery, pdf: bytes) -> EmailMessage:
    counts = data.status_counts()
    tally = ", ".join(f"{STATUS_LABELS[k].lower()}: {v}" for k, v in counts.items())
    lines = [
        f"{data.framework.title} compliance report for {data.period.label}.",
        "",
        f"Controls: {len(data.controls)} ({tally}).",
    ]
    if data.gaps:
        lines += ["", "Controls with gaps:"] + [f"- {c.id} {c.title}: {'; '.join(c.reasons)}" for c in data.gaps]
    lines += [
        "",
        "The full report, with evidence, is attached as PDF.",
        f"Generated by {naming.SUITE} {data.suite_version}.",
    ]
    return build_message(
        subject=f"[{data.framework.title}] compliance report {data.period.label}: {counts['gap']} gap(s)",
        sender=delivery.smtp.sender or naming.REPORTS_SENDER,
        recipients=delivery.recipients,
        body="\n".join(lines),
        attachments=[Attachment(attachment_name(data), pdf, "application/pdf")],
    )


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _hashes(manifest: Path) -> dict[str, str]:
    entries = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    return {**{e["path"]: e["sha256"] for e in entries}, "manifest.json": file_sha256(manifest)}
