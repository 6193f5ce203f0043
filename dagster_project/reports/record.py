"""The record of each generated report in `siem-reports`: per-control status, file hashes, recipients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.ids import stable_id
from dagster_project.reports.model import ReportData
from dagster_project.storage import naming


def record_id(data: ReportData) -> str:
    """A deterministic id: one record per (framework, period), so a re-run overwrites it."""
    return stable_id(
        data.framework.name, data.period.start.isoformat(), data.period.end.isoformat(), separator="|", length=64
    )


def report_record(data: ReportData, hashes: Mapping[str, str], delivered_to: Sequence[str]) -> dict[str, Any]:
    """The siem-reports document for a report (pure)."""
    return {
        "@timestamp": data.generated_at.isoformat(),
        "framework": data.framework.name,
        "period_start": data.period.start.isoformat(),
        "period_end": data.period.end.isoformat(),
        "controls_total": len(data.controls),
        "controls_with_gaps": len(data.gaps),
        "status": {c.id: c.status for c in data.controls},
        "files": dict(hashes),
        "delivered_to": list(delivered_to),
        "suite_version": data.suite_version,
    }


def write_record(client: OpenSearch, data: ReportData, hashes: Mapping[str, str], delivered_to: Sequence[str]) -> str:
    """Index the record (visible to search when this returns) and return its id."""
    doc_id = record_id(data)
    client.index(
        index=naming.reports_index(), id=doc_id, body=report_record(data, hashes, delivered_to), refresh="wait_for"
    )
    return doc_id
