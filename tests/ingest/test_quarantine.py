"""Golden test of the one quarantine document, whichever step turned the record away."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster_project.ingest.ids import quarantine_id
from dagster_project.ingest.quarantine import RAW_LIMIT, Quarantined, quarantine_document, reason_key

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_the_quarantine_document_is_golden() -> None:
    record = Quarantined("invalid JSON: Expecting value", "{oops", "/in/a.jsonl", 7, 120, "parse")
    doc_id, document = quarantine_document("jsonl", record, NOW, "run-1")
    assert doc_id == quarantine_id("jsonl", "{oops", "invalid JSON: Expecting value")
    assert document == {
        "@timestamp": "2024-03-01T12:00:00Z",
        "source": "jsonl",
        "file": "/in/a.jsonl",
        "line": 7,
        "offset": 120,
        "reason": "invalid JSON: Expecting value",
        "stage": "parse",
        "raw": "{oops",
        "raw_truncated": False,
        "run_id": "run-1",
    }


def test_long_raw_text_is_cut_but_the_id_covers_all_of_it() -> None:
    raw = "x" * (RAW_LIMIT + 10)
    doc_id, document = quarantine_document("jsonl", Quarantined("too long", raw, "f", 1, 0, "index"), NOW, "r")
    assert len(document["raw"]) == RAW_LIMIT and document["raw_truncated"] is True
    assert doc_id == quarantine_id("jsonl", raw, "too long") != quarantine_id("jsonl", raw[:RAW_LIMIT], "too long")
    assert reason_key("rejected by the cluster: mapper_parsing_exception: x") == "rejected by the cluster"
