"""Pure rendering: report data -> HTML (Jinja2 templates in `reports/templates/`), CSV evidence, SVG charts.

Nothing here queries a node; `render_pdf` turns the same HTML into a PDF with WeasyPrint.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2

from dagster_project.paths import repo_dir
from dagster_project.reports.model import (
    STATUS_LABELS,
    AlertReviewResult,
    BreachClockResult,
    Comparison,
    ControlReport,
    Count,
    DataQualityResult,
    DetectorsResult,
    EventsResult,
    FieldCompletenessResult,
    IntegrityResult,
    LastRun,
    ReportData,
    RetentionResult,
)
from dagster_project.reports.svg import bar_chart

FIELD_LABELS = {
    "user.name": "users",
    "source.ip": "source addresses",
    "event.action": "actions",
    "host.name": "hosts",
    "siem.source": "log sources",
    "event.outcome": "outcomes",
    "cloud.account.id": "cloud accounts",
    "cloud.region": "regions",
    "error.code": "error codes",
    "process.name": "processes",
    "event.code": "event codes",
}
SAMPLE_COLUMNS = ("siem.source", "host.name", "user.name", "source.ip", "event.action", "event.outcome")
DQ_COLUMNS = (
    "source", "checks", "passed", "failed", "blocking_failed", "records", "incomplete", "completeness",
    "period_events", "covered_events", "partitions",
)  # fmt: skip
"""The data-quality table's columns, in the summary and under each control alike."""


@dataclass(frozen=True)
class Table:
    """One evidence table: the CSV file it is written to, its header and rows."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def templates_dir() -> Path:
    """The `reports/templates/` folder."""
    return repo_dir("reports") / "templates"


def slug(text: str) -> str:
    """A file-name-safe form of a control id or label: `§164.312(b)` -> `164.312-b`, `Art. 33` -> `art-33`."""
    dashed = re.sub(r"[^a-z0-9.]+", "-", text.lower())
    return re.sub(r"[-.]*-[-.]*", "-", dashed).strip("-.")


def csv_name(*parts: str) -> str:
    """The evidence file name for a table, under `evidence/`."""
    return "evidence/" + "-".join(slug(p) for p in parts if p) + ".csv"


def top_title(field: str) -> str:
    """`Top users`, `Top source addresses`, ... (the field name itself when it has no label)."""
    return f"Top {FIELD_LABELS.get(field, field)}"


def change(item: Comparison) -> str:
    """The change against the previous period: `+25.0%`, `-3.1%`, `new`, or `-` when both are zero."""
    if item.previous == 0:
        return "-" if item.current == 0 else "new"
    return f"{(item.current - item.previous) / item.previous:+.1%}"


def number(value: int | float) -> str:
    """Thousands separated: 12345 -> `12,345`."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal: 0.9876 -> `98.8%`; None -> `-`."""
    return "-" if value is None else f"{value:.1%}"


def sentence(text: str) -> str:
    """The text with its first letter upper-cased and a full stop at the end."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def when(value: datetime | str) -> str:
    """A UTC timestamp as `YYYY-MM-DD HH:MM UTC`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{value:%Y-%m-%d %H:%M} UTC"


def sample_columns(result: EventsResult) -> tuple[str, ...]:
    """Columns of a sample table: the usual ECS fields, then the evidence's top fields."""
    return SAMPLE_COLUMNS + tuple(t.field for t in result.tops if t.field not in SAMPLE_COLUMNS)


def trend_svg(result: EventsResult) -> str:
    """The evidence's trend as an SVG bar chart."""
    unit = "hour" if result.trend_interval == "1h" else "day"
    return bar_chart(result.trend, title=f"{result.title}: events per {unit}")


def volume_svg(data: ReportData) -> str:
    """Events per source, this period, as an SVG bar chart."""
    points = [Count(key=s.key, count=s.current) for s in data.scope.sources]
    return bar_chart(points, title="Events per source in the period", label_every=1, height=150)


@lru_cache(maxsize=4)
def environment(folder: Path) -> jinja2.Environment:
    """The Jinja2 environment over a templates folder: autoescaped, undefined names fail."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=number, when=when, change=change, slug=slug, pct=percent, sentence=sentence)
    env.globals.update(
        csv_name=csv_name,
        top_title=top_title,
        sample_columns=sample_columns,
        trend_svg=trend_svg,
        volume_svg=volume_svg,
        status_label=STATUS_LABELS.__getitem__,
        coverage=coverage_rows,
        isinstance=isinstance,
        EventsResult=EventsResult,
        DetectorsResult=DetectorsResult,
        DataQualityResult=DataQualityResult,
        RetentionResult=RetentionResult,
        IntegrityResult=IntegrityResult,
        AlertReviewResult=AlertReviewResult,
        BreachClockResult=BreachClockResult,
        FieldCompletenessResult=FieldCompletenessResult,
    )
    return env


def render_html(data: ReportData, templates: Path | None = None) -> str:
    """The report as one self-contained HTML document (CSS and SVG inline)."""
    folder = templates or templates_dir()
    env = environment(folder)
    css = (folder / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(report=data, css=css, tables=evidence_tables(data))


def render_pdf(html: str) -> bytes:
    """The HTML printed to PDF by WeasyPrint (page size, margins and page numbers come from the CSS)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def coverage_rows(data: ReportData) -> list[tuple[ControlReport, DetectorsResult]]:
    """(control, detector evidence) pairs: the detector-coverage matrix."""
    return [(c, e) for c in data.controls for e in c.evidence if isinstance(e, DetectorsResult)]


def evidence_tables(data: ReportData) -> dict[str, Table]:
    """Every evidence table of the report by its CSV name (the HTML shows the same tables)."""
    tables: list[Table] = [
        Table(
            csv_name("controls"),
            ("control", "title", "status", "reasons"),
            tuple((c.id, c.title, STATUS_LABELS[c.status], " | ".join(c.reasons)) for c in data.controls),
        ),
        Table(
            csv_name("scope", "sources"),
            ("source", "events", "previous_period", "change"),
            tuple((s.key, str(s.current), str(s.previous), change(s)) for s in data.scope.sources),
        ),
        Table(csv_name("scope", "hosts"), ("host", "events"), _count_rows(data.scope.top_hosts)),
        Table(csv_name("scope", "accounts"), ("account", "events"), _count_rows(data.scope.top_accounts)),
        Table(
            csv_name("findings", "by-level"),
            ("level", "findings", "previous_period", "change"),
            tuple((f.key, str(f.current), str(f.previous), change(f)) for f in data.findings_by_level),
        ),
        Table(
            csv_name("data-quality"),
            DQ_COLUMNS,
            _dq_rows(data.facts.data_quality),
        ),
        Table(
            csv_name("data-quality", "unchecked"),
            ("source", "arrival_day", "events"),
            _unchecked_rows(data.facts.data_quality),
        ),
        Table(
            csv_name("arrivals"),
            ("arrival_day", "events", "first_event", "last_event"),
            tuple((a.day, str(a.events), a.first_event or "", a.last_event or "") for a in data.arrivals),
        ),
        Table(csv_name("clocks"), ("figure", "clock"), tuple((c.figure, c.clock) for c in data.clocks)),
    ]
    for control in data.controls:
        for result in control.evidence:
            tables.extend(_control_tables(control, result))
    return {t.name: t for t in tables}


def render_csv(table: Table) -> str:
    """One table as CSV text (RFC 4180, header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue()


def _control_tables(control: ControlReport, result: object) -> list[Table]:
    cid = control.id
    if isinstance(result, EventsResult):
        out = [
            Table(csv_name(cid, result.id, "top", top.field), (top.field, "events"), _count_rows(top.rows))
            for top in result.tops
        ]
        if result.trend:
            out.append(Table(csv_name(cid, result.id, "trend"), ("bucket", "events"), _count_rows(result.trend)))
        columns = sample_columns(result)
        out.append(
            Table(
                csv_name(cid, result.id, "samples"),
                ("id", "index", "@timestamp", *columns),
                tuple((s.id, s.index, s.timestamp, *(s.fields.get(c, "") for c in columns)) for s in result.samples),
            )
        )
        return out
    if isinstance(result, DetectorsResult):
        return [
            Table(
                csv_name(cid, "rules"),
                ("rule_id", "title", "level", "tags", "path"),
                tuple((r.id, r.title, r.level, " ".join(r.tags), r.path) for r in result.rules),
            ),
            Table(csv_name(cid, "findings-by-rule"), ("rule", "findings"), _count_rows(result.findings_by_rule)),
        ]
    if isinstance(result, DataQualityResult):
        return [
            Table(csv_name(cid, "data-quality"), DQ_COLUMNS, _dq_rows(result)),
            Table(
                csv_name(cid, "data-quality", "unchecked"), ("source", "arrival_day", "events"), _unchecked_rows(result)
            ),
        ]
    if isinstance(result, RetentionResult):
        return [Table(csv_name(cid, "retention"), ("fact", "value"), _retention_rows(result))]
    if isinstance(result, IntegrityResult):
        return [Table(csv_name(cid, "integrity"), ("fact", "value"), _integrity_rows(result))]
    if isinstance(result, AlertReviewResult):
        return [
            Table(csv_name(cid, "alerts-by-state"), ("state", "alerts"), _count_rows(result.by_state)),
            Table(csv_name(cid, "open-alerts-by-age"), ("age", "alerts"), _count_rows(result.open_by_age)),
            Table(
                csv_name(cid, "oldest-open-alerts"),
                ("alert_id", "rule", "severity", "first_seen", "age_hours"),
                tuple((a.id, a.rule, a.severity, a.first_seen, f"{a.age_hours:.1f}") for a in result.oldest_open),
            ),
        ]
    if isinstance(result, BreachClockResult):
        return [
            Table(
                csv_name(cid, "breach-candidates"),
                ("finding_id", "rule", "level", "detected_at", "hours_elapsed", "hours_left", "alert_state"),
                tuple(
                    (
                        b.finding_id,
                        b.rule,
                        b.level,
                        b.detected_at,
                        f"{b.hours_elapsed:.1f}",
                        f"{b.hours_left:.1f}",
                        b.alert_state,
                    )
                    for b in result.candidates
                ),
            )
        ]
    if isinstance(result, FieldCompletenessResult):
        return [
            Table(
                csv_name(cid, "field-completeness"),
                ("source", "field", "present", "events", "ratio"),
                tuple((r.source, r.field, str(r.present), str(r.total), f"{r.ratio:.4f}") for r in result.rows),
            )
        ]
    return []


def _count_rows(rows: tuple[Count, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple((r.key, str(r.count)) for r in rows)


def _dq_rows(result: DataQualityResult) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            s.source, str(s.checks), str(s.passed), str(s.failed), str(s.blocking_failed),
            str(s.records), str(s.incomplete), percent_or_blank(s.completeness),
            str(s.period_events), str(s.covered_events), str(s.partitions),
        )
        for s in result.sources
    )  # fmt: skip


def _unchecked_rows(result: DataQualityResult) -> tuple[tuple[str, ...], ...]:
    return tuple((*c.key.split(" ", 1), str(c.count)) for c in result.unchecked)


def _last_run_rows(prefix: str, ran: LastRun | None) -> tuple[tuple[str, str], ...]:
    if ran is None:
        return ()
    return (
        (f"{prefix}_last", ran.last or ""),
        (f"{prefix}_every", ran.every),
        (f"{prefix}_overdue", str(ran.overdue).lower()),
    )


def percent_or_blank(ratio: float | None) -> str:
    """A ratio with four decimals for CSV, blank when unknown."""
    return "" if ratio is None else f"{ratio:.4f}"


def _retention_rows(r: RetentionResult) -> tuple[tuple[str, ...], ...]:
    return (
        ("retention_days", str(r.retention_days)),
        ("hot_days", str(r.hot_days)),
        ("required_days", "" if r.min_days is None else str(r.min_days)),
        ("required_hot_days", "" if r.min_hot_days is None else str(r.min_hot_days)),
        ("meets_pci_10_5_1", str(r.meets_pci_10_5_1).lower()),
        ("policy_file", r.policy_file),
        ("policy_warm_after", r.policy_warm_after),
        ("policy_delete_after", r.policy_delete_after),
        ("enforcement", r.enforcement),
        ("oldest_event", r.oldest_event or ""),
        *_last_run_rows("retention_run", r.last_run),
    )


def _integrity_rows(r: IntegrityResult) -> tuple[tuple[str, ...], ...]:
    return (
        ("event_indices", str(r.indices)),
        ("write_protected", str(r.read_only)),
        ("hot_days", str(r.hot_days)),
        ("writable_past_hot", str(r.writable_past_hot_total)),
        ("events_in_period", str(r.events_in_period)),
        ("events_with_content_hash", str(r.events_with_hash)),
        *(
            (
                ("verification_ok", str(r.verification.ok).lower()),
                ("verified_documents", str(r.verification.checked)),
                ("modified", str(r.verification.modified)),
                ("deleted", str(r.verification.deleted)),
                ("injected", str(r.verification.injected)),
                ("bad_signatures", str(r.verification.bad_signatures)),
                ("broken_chain_links", str(r.verification.broken_chain)),
                ("signatures_checked", str(r.verification.signatures_checked).lower()),
                ("verified_by", r.verification.by),
                ("events_verified", str(r.verification.verified)),
                ("expired_by_retention", str(r.verification.expired)),
                ("signed_digests", str(r.verification.digests)),
                ("records_since_last_digest", str(r.verification.unsigned_records)),
            )
            if r.verification is not None
            else ()
        ),
        *_last_run_rows("signing", r.signing),
        ("claims_checked", " ".join(r.checks)),
    )
