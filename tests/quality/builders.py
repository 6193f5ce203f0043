"""Test data derived from the real templates: events that fill, or leave out, exactly the required fields."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.ingest.ids import content_hash
from dagster_project.ingest.pipeline import ingest
from dagster_project.quality.expectations import OUTCOME_FIELD, SourceExpectations, load_expectations
from dagster_project.settings import RetentionSettings
from dagster_project.sources.base import set_path
from dagster_project.storage import naming
from dagster_project.storage.artifacts import load_artifacts, merged_mappings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PARTITION = "2026-11-27"
LONG_RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)


def field_type(source: str, dotted: str) -> str:
    """The mapped type of a field in the source's index template (keyword when unmapped)."""
    (template,) = [t for t in load_artifacts("index_template") if t.name == naming.events_family(source)]
    node: Any = merged_mappings(template.body["composed_of"])
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return "keyword"
    return str(node.get("type", "object"))


def value_for(source: str, dotted: str, i: int, timestamp: datetime) -> Any:
    """A valid value of the field's type, distinct per `i`."""
    if dotted == OUTCOME_FIELD:
        return ("success", "failure", "unknown")[i % 3]
    kind = field_type(source, dotted)
    if kind == "ip":
        return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    if kind == "date":
        return timestamp.isoformat()
    if kind in ("long", "integer", "short"):
        return i
    return f"{dotted.replace('.', '-')}-{i}"


def event(
    expectations: SourceExpectations, i: int, timestamp: datetime, *, without: Iterable[str] = ()
) -> dict[str, Any]:
    """An ECS document of a kind every role applies to, with every required field except the roles in `without`."""
    skip = set(without)
    doc: dict[str, Any] = {"@timestamp": timestamp.isoformat(), "message": f"test event {i}"}
    for requirement in expectations.required:
        for field, values in requirement.where[0] if requirement.where else ():
            set_path(doc, field, values[0])
    for requirement in expectations.required:
        if requirement.role in skip:
            continue
        field = requirement.fields[0]
        if field != "@timestamp":
            set_path(doc, field, value_for(expectations.source, field, i, timestamp))
    return doc


def write_jsonl(path: Path, docs: Iterable[dict[str, Any]]) -> Path:
    """Write documents as JSON lines."""
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path


def ingest_docs(
    client: OpenSearch,
    path: Path,
    docs: list[dict[str, Any]],
    *,
    partition: str = PARTITION,
    now: datetime = NOW,
) -> int:
    """Ingest documents through the real jsonl parser into `partition`; returns how many were indexed."""
    summary = ingest(
        client,
        "jsonl",
        [write_jsonl(path, docs)],
        retention=LONG_RETENTION,
        refresh=True,
        partition=partition,
        now=now,
    )
    assert summary.reconciles and summary.quarantined == 0, summary
    return summary.indexed


def index_directly(client: OpenSearch, doc: dict[str, Any], doc_id: str, *, partition: str = PARTITION) -> None:
    """Index a document the way ingestion would, bypassing its validation (e.g. a future timestamp)."""
    original = json.dumps(doc, sort_keys=True)
    body = {
        **doc,
        "event": {**doc.get("event", {}), "original": original, "ingested": NOW.isoformat()},
        "siem": {"source": "jsonl", "partition": partition, "content_hash": content_hash(original)},
    }
    stamp = datetime.fromisoformat(doc["@timestamp"])
    client.index(index=naming.events_index("jsonl", stamp), id=doc_id, body=body)


def jsonl() -> SourceExpectations:
    """The jsonl source's expectations, read from its real template."""
    return load_expectations("jsonl")


def hours_before(hours: float) -> datetime:
    """NOW minus some hours."""
    return NOW - timedelta(hours=hours)
