"""Tamper evidence against the real node: each kind of tampering is caught, an untouched range verifies clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opensearchpy import OpenSearch

from dagster_project.ingest.pipeline import ingest
from dagster_project.integrity import keys
from dagster_project.integrity.signing import sign_heads
from dagster_project.integrity.verify import verify
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

pytestmark = pytest.mark.live

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
LINE = "Mar 27 13:06:56 host-a sshd[1291]: Failed password for root from 85.245.107.41 port {port} ssh2\n"
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
RANGE = (TODAY - timedelta(days=1), TODAY + timedelta(days=2))


@pytest.fixture
def signed(clean_siem: OpenSearch, tmp_path: Path) -> tuple[OpenSearch, Ed25519PrivateKey]:
    """4,500 events in three chained batches over two runs, with a signed digest of the heads."""
    bootstrap(clean_siem, RETENTION)
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text("".join(LINE.format(port=p) for p in range(3000)))
    second.write_text("".join(LINE.format(port=p) for p in range(3000, 4500)))
    ingest(clean_siem, "linux-auth", [first], retention=RETENTION, refresh=True)
    ingest(clean_siem, "linux-auth", [second], retention=RETENTION, refresh=True)
    key = Ed25519PrivateKey.generate()
    sign_heads(clean_siem, key)
    return clean_siem, key


def _some_event(client: OpenSearch) -> dict:
    return client.search(index=naming.events_pattern("linux-auth"), body={"size": 1, "sort": [{"siem.line": "asc"}]})[
        "hits"
    ]["hits"][0]


def test_untampered_range_verifies_clean(signed: tuple[OpenSearch, Ed25519PrivateKey]) -> None:
    client, key = signed
    records = client.search(index=naming.integrity_index(), body={"sort": [{"seq": "asc"}]})["hits"]["hits"]
    assert [r["_source"]["count"] for r in records] == [2000, 1000, 1500]
    assert records[1]["_source"]["prev_hash"] == records[0]["_source"]["hash"]
    report = verify(client, *RANGE, key.public_key())
    assert report.ok, report.as_json()
    assert (report.checked, report.records, report.digests) == (4500, 3, 1)


def test_a_modified_document_is_caught(signed: tuple[OpenSearch, Ed25519PrivateKey]) -> None:
    client, key = signed
    hit = _some_event(client)
    client.update(index=hit["_index"], id=hit["_id"], body={"doc": {"user": {"name": "someone-else"}}}, refresh=True)
    report = verify(client, *RANGE, key.public_key())
    assert not report.ok
    assert report.modified == [{"index": hit["_index"], "id": hit["_id"]}]
    assert report.deleted == report.injected == report.bad_signatures == []


def test_a_deleted_document_is_caught(signed: tuple[OpenSearch, Ed25519PrivateKey]) -> None:
    client, key = signed
    hit = _some_event(client)
    client.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    report = verify(client, *RANGE, key.public_key())
    assert report.deleted == [{"index": hit["_index"], "id": hit["_id"]}]
    assert report.modified == report.injected == [] and not report.ok


def test_an_injected_document_is_caught(signed: tuple[OpenSearch, Ed25519PrivateKey]) -> None:
    client, key = signed
    hit = _some_event(client)
    forged = dict(hit["_source"], message="forged")
    client.index(index=hit["_index"], id="forged-1", body=forged, refresh=True)
    report = verify(client, *RANGE, key.public_key())
    assert report.injected == [{"index": hit["_index"], "id": "forged-1"}]
    assert report.modified == report.deleted == [] and not report.ok


def test_a_rewritten_chain_record_breaks_the_chain_and_the_signature(
    signed: tuple[OpenSearch, Ed25519PrivateKey],
) -> None:
    client, key = signed
    hit = _some_event(client)
    client.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    # An attacker who also rewrites the record that listed the deleted document:
    record = client.get(index=naming.integrity_index(), id="linux-auth:1")["_source"]
    record["entries"] = [e for e in record["entries"] if e["id"] != hit["_id"]]
    record["count"] = len(record["entries"])
    client.index(index=naming.integrity_index(), id="linux-auth:1", body=record, refresh=True)
    report = verify(client, *RANGE, key.public_key())
    reasons = [b["reason"] for b in report.broken_chain]
    assert "record content does not match its hash" in reasons
    assert report.deleted == [] and not report.ok


def test_bad_signatures_are_caught(signed: tuple[OpenSearch, Ed25519PrivateKey]) -> None:
    client, key = signed
    (digest,) = client.search(index=naming.digests_index())["hits"]["hits"]
    forged = dict(
        digest["_source"], signature=Ed25519PrivateKey.generate().sign(bytes.fromhex(digest["_source"]["digest"])).hex()
    )
    client.index(index=naming.digests_index(), id=digest["_id"], body=forged, refresh=True)
    report = verify(client, *RANGE, key.public_key())
    assert report.bad_signatures == [{"digest": digest["_id"], "reason": "signature does not verify"}]
    other = verify(client, *RANGE, Ed25519PrivateKey.generate().public_key())
    assert other.bad_signatures[0]["reason"] == "signed with another key"


def test_verify_cli_json_and_exit_code(signed: tuple[OpenSearch, Ed25519PrivateKey], tmp_path: Path) -> None:
    client, key = signed
    private_path, _ = keys.generate(tmp_path / "keys")
    env = dict(os.environ, SIEM_SIGNING_KEY_FILE=str(private_path))
    sign = subprocess.run(
        [sys.executable, "-m", "dagster_project", "integrity", "sign", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sign.returncode == 0, sign.stderr
    args = [
        sys.executable,
        "-m",
        "dagster_project",
        "verify",
        "--from",
        RANGE[0].date().isoformat(),
        "--to",
        TODAY.date().isoformat(),
        "--by",
        "ingested",
        "--json",
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    data = json.loads(done.stdout)
    # The fixture's digest was signed with another key: the CLI's key sees it as foreign.
    assert done.returncode == 1 and data["ok"] is False
    assert {"ok", "checked", "modified", "deleted", "injected", "bad_signatures"} <= set(data)
    client.delete(
        index=naming.digests_index(),
        id=client.search(
            index=naming.digests_index(), body={"query": {"term": {"key_id": keys.key_id(key.public_key())}}}
        )["hits"]["hits"][0]["_id"],
        refresh=True,
    )
    clean = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout
    assert json.loads(clean.stdout)["checked"] == 4500
    # By default the days are event days: the fixture's events are dated 27 March, whatever day they arrived.
    day = _some_event(client)["_source"]["@timestamp"][:10]
    by_event = [*args[:5], day, "--to", day, "--json"]
    done = subprocess.run(by_event, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert (json.loads(done.stdout)["by"], json.loads(done.stdout)["checked"]) == ("event", 4500)


def test_the_pci_report_states_the_verification_result(
    signed: tuple[OpenSearch, Ed25519PrivateKey], tmp_path: Path
) -> None:
    from pypdf import PdfReader

    from dagster_project.reports.frameworks import load_framework
    from dagster_project.reports.model import Period
    from dagster_project.reports.produce import produce_report

    client, _key = signed
    # The report's period is event time: the day the fixture's events happened, not the day they arrived.
    day = datetime.fromisoformat(_some_event(client)["_source"]["@timestamp"].replace("Z", "+00:00"))
    period = Period.from_dates(day, day)

    def pdf_text(name: str) -> str:
        produced = produce_report(client, load_framework("pci-dss"), period, tmp_path / name, retention=RETENTION)
        return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(produced.files["report.pdf"]).pages)

    clean = pdf_text("clean")
    assert (
        "Integrity verification by event time: 4,500 of the period's 4,500 events verified in 3 chained records, "
        "none modified, deleted or injected" in clean
    )
    hit = _some_event(client)
    client.delete(index=hit["_index"], id=hit["_id"], refresh=True)
    tampered = pdf_text("tampered")
    assert "Integrity verification FAILED: 0 modified, 1 deleted, 0 injected" in tampered
