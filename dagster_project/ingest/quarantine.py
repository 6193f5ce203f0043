"""The quarantine document: a record that was not indexed, why, where it came from and its raw text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster_project.ingest.ids import quarantine_id

RAW_LIMIT = 65_536
"""Raw text kept per quarantined record; longer records are cut and marked `raw_truncated`."""


@dataclass(frozen=True)
class Quarantined:
    """One record bound for quarantine, as the ingestion run saw it."""

    reason: str
    raw: str
    file: str
    line: int
    offset: int
    stage: str
    """parse | validate | read | index: which step turned the record away."""


def quarantine_document(source: str, record: Quarantined, now: datetime, run_id: str) -> tuple[str, dict[str, Any]]:
    """The (id, document) of a quarantined record (fields as in component_templates/siem-quarantine.json)."""
    document = {
        "@timestamp": now.isoformat().replace("+00:00", "Z"),
        "source": source,
        "file": record.file,
        "line": record.line,
        "offset": record.offset,
        "reason": record.reason,
        "stage": record.stage,
        "raw": record.raw[:RAW_LIMIT],
        "raw_truncated": len(record.raw) > RAW_LIMIT,
        "run_id": run_id,
    }
    return quarantine_id(source, record.raw, record.reason), document


def reason_key(reason: str) -> str:
    """The first words of a reason (before any colon), how the run's summary counts reasons."""
    return reason.split(":")[0][:120]
