"""Verification by event time and after retention, against the real node.

Events dated in 2024 are ingested today: verification by ingestion day finds none of them in March 2024,
verification by event finds every one, whatever day its record was sealed. Retention's deletions are
`expired`, a deletion by hand is still `deleted`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opensearchpy import OpenSearch

from dagster_project.ingest.pipeline import ingest
from dagster_project.integrity.hashing import record_hash
from dagster_project.integrity.signing import sign_heads
from dagster_project.integrity.verify import verify
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap
from dagster_project.storage.retention import enforce_retention

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=7_000)
MARCH = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
APRIL = (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC))
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1))


def _jsonl(path: Path, days: dict[str, int]) -> Path:
    """ECS JSON lines: `count` distinct events on each day."""
    with path.open("w") as out:
        for day, count in days.items():
            for i in range(count):
                event = {
                    "@timestamp": f"{day}T10:{i // 60:02d}:{i % 60:02d}Z",
                    "event": {"action": "ssh_login", "outcome": "success", "category": ["authentication"]},
                    "user": {"name": f"user-{i}"},
                    "host": {"name": "bastion-1"},
                    "source": {"ip": "10.0.0.1"},
                    "message": f"login {day} {i}",
                }
                out.write(json.dumps(event) + "\n")
    return path


def _one(client: OpenSearch, day: str) -> dict:
    index = naming.events_index("jsonl", datetime.fromisoformat(day))
    return client.search(index=index, body={"size": 1, "sort": [{"siem.line": "asc"}]})["hits"]["hits"][0]


@pytest.fixture
def backfilled(clean_siem: OpenSearch, tmp_path: Path) -> OpenSearch:
    """March and April 2024 events, ingested today in two runs (two chained records)."""
    bootstrap(clean_siem, RETENTION)
    ingest(
        clean_siem,
        "jsonl",
        [_jsonl(tmp_path / "a.jsonl", {"2024-03-05": 100, "2024-03-20": 50})],
        retention=RETENTION,
        refresh=True,
    )
    ingest(clean_siem, "jsonl", [_jsonl(tmp_path / "b.jsonl", {"2024-04-02": 30})], retention=RETENTION, refresh=True)
    return clean_siem


def test_by_event_finds_the_records_whatever_day_they_were_sealed(backfilled: OpenSearch) -> None:
    by_event = verify(backfilled, *MARCH, None, by="event")
    assert by_event.ok, by_event.as_json()
    assert (by_event.checked, by_event.verified, by_event.records) == (150, 150, 1)
    assert (by_event.start, by_event.end) == ("2024-03-01T00:00:00.000Z", "2024-04-01T00:00:00.000Z")
    by_ingestion = verify(backfilled, *MARCH, None, by="ingested")
    assert (by_ingestion.checked, by_ingestion.records) == (0, 0)
    assert verify(backfilled, *APRIL, None, by="event").verified == 30


def test_by_event_catches_what_was_deleted_or_added_in_the_period_only(backfilled: OpenSearch) -> None:
    hit = _one(backfilled, "2024-03-05")
    backfilled.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    backfilled.indices.delete(index=naming.events_index("jsonl", datetime(2024, 3, 20)))
    forged = dict(hit["_source"], message="forged")
    backfilled.index(index=naming.events_index("jsonl", datetime(2024, 3, 6)), id="forged", body=forged, refresh=True)
    march = verify(backfilled, *MARCH, None, by="event")
    assert not march.ok and len(march.deleted) == 51 and march.verified == 99
    assert march.injected == [{"index": naming.events_index("jsonl", datetime(2024, 3, 6)), "id": "forged"}]
    assert {"index": hit["_index"], "id": hit["_id"]} in march.deleted
    assert verify(backfilled, *APRIL, None, by="event").ok


def test_a_record_rewritten_to_hide_a_deletion_is_betrayed_by_its_successor(backfilled: OpenSearch) -> None:
    hit = _one(backfilled, "2024-03-05")
    backfilled.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    # An attacker who removes the entry and recomputes the record's hash (record 2 still links to the old one):
    record = backfilled.get(index=naming.integrity_index(), id="jsonl:1")["_source"]
    record["entries"] = [e for e in record["entries"] if e["id"] != hit["_id"]]
    entries = [(e["index"], e["id"], e["hash"]) for e in record["entries"]]
    record["hash"] = record_hash("jsonl", 1, record["prev_hash"], entries)
    backfilled.index(index=naming.integrity_index(), id="jsonl:1", body=record, refresh=True)
    report = verify(backfilled, *MARCH, None, by="event")
    assert report.deleted == [] and report.records == 1
    assert report.broken_chain == [{"source": "jsonl", "seq": 1, "reason": "record jsonl:2 does not link to it"}]
    assert not report.ok


def test_by_event_follows_each_record_to_a_signed_head(backfilled: OpenSearch, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    sign_heads(backfilled, key)
    signed = verify(backfilled, *MARCH, key.public_key(), by="event")
    assert signed.ok and (signed.digests, signed.unsigned_records) == (1, 0)
    assert signed.records == 2  # the March record, and the April one up to the signed head
    ingest(backfilled, "jsonl", [_jsonl(tmp_path / "c.jsonl", {"2024-04-09": 5})], retention=RETENTION, refresh=True)
    april = verify(backfilled, *APRIL, key.public_key(), by="event")
    assert april.ok and april.unsigned_records == 1 and april.verified == 35
    # Rewriting the whole chain consistently up to the signed head breaks the signed head.
    previous = "0" * 64
    for seq in (1, 2):
        record = backfilled.get(index=naming.integrity_index(), id=f"jsonl:{seq}")["_source"]
        if seq == 1:
            record["entries"] = record["entries"][1:]
        entries = [(e["index"], e["id"], e["hash"]) for e in record["entries"]]
        record["prev_hash"], record["hash"] = previous, record_hash("jsonl", seq, previous, entries)
        previous = record["hash"]
        backfilled.index(index=naming.integrity_index(), id=f"jsonl:{seq}", body=record, refresh=True)
    tampered = verify(backfilled, *MARCH, key.public_key(), by="event")
    assert not tampered.ok
    assert [b["reason"] for b in tampered.bad_signatures] == ["signed head jsonl:2 no longer matches"]


def test_retention_deletions_are_expired_and_a_deletion_by_hand_is_not(clean_siem: OpenSearch, tmp_path: Path) -> None:
    bootstrap(clean_siem, RETENTION)
    recent = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    ingest(
        clean_siem,
        "jsonl",
        [_jsonl(tmp_path / "a.jsonl", {"2024-03-05": 40, recent: 20})],
        retention=RETENTION,
        refresh=True,
    )
    actions = enforce_retention(clean_siem, RetentionSettings(retention_days=400, hot_days=90))
    assert [a.index for a in actions if a.action == "deleted"] == [naming.events_index("jsonl", datetime(2024, 3, 5))]
    for by in ("event", "ingested"):
        report = verify(clean_siem, *EVER, None, by=by)  # type: ignore[arg-type]
        assert report.ok, (by, report.as_json())
        assert (report.expired, report.verified, report.deleted) == (40, 20, []), by
        assert report.expired_indices[0]["index"] == naming.events_index("jsonl", datetime(2024, 3, 5))
    hit = _one(clean_siem, recent)
    clean_siem.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    report = verify(clean_siem, *EVER, None, by="event")
    assert not report.ok and report.deleted == [{"index": hit["_index"], "id": hit["_id"]}] and report.expired == 40


def test_the_pci_report_verifies_every_event_of_its_period(backfilled: OpenSearch, tmp_path: Path) -> None:
    from dagster_project.reports.frameworks import load_framework
    from dagster_project.reports.model import Period
    from dagster_project.reports.produce import produce_report

    key = Ed25519PrivateKey.generate()
    sign_heads(backfilled, key)
    enforce_retention(backfilled, RETENTION)
    march = Period.from_dates(MARCH[0], MARCH[1] - timedelta(days=1))
    produced = produce_report(
        backfilled, load_framework("pci-dss"), march, tmp_path, retention=RETENTION, public_key=key.public_key()
    )
    control = next(c for c in produced.data.controls if c.id == "10.3.4")
    assert control.status == "evidence_present", control.reasons
    assert (
        # Two records: March's, and April's on the way up to the signed head.
        "integrity verification by event time: 150 of the period's 150 events verified in 2 chained records, "
        "none modified, deleted or injected; 1 signed digest verified"
    ) in control.reasons
    facts = dict(
        line.split(",", 1) for line in (tmp_path / "evidence" / "10.3.4-integrity.csv").read_text().splitlines()[1:]
    )
    assert (facts["events_in_period"], facts["events_verified"], facts["verified_by"]) == ("150", "150", "event")
    assert facts["signing_overdue"] == "false"
    # Without the key the claim is not checked, and the report says so.
    unkeyed = produce_report(backfilled, load_framework("pci-dss"), march, tmp_path / "unkeyed", retention=RETENTION)
    control = next(c for c in unkeyed.data.controls if c.id == "10.3.4")
    assert control.status == "gap" and any("no signing key is configured" in r for r in control.reasons)
