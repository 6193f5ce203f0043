"""Tamper evidence without a node or the environment: hashing, chaining, keys, signing and verification logic.

The live tests (test_verify_live.py) run the same logic against the real node; these pin its rules:
what changes a hash, how a chain links, what a key file must be, and which forgery each check catches.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dagster_project.errors import ConfigurationError
from dagster_project.integrity import keys
from dagster_project.integrity.chain import seal
from dagster_project.integrity.hashing import GENESIS, canonical_json, document_hash, record_hash
from dagster_project.integrity.signing import digest_of, signed_digest
from dagster_project.integrity.verify import VerifyReport, digest_problem, event_days, record_problems
from dagster_project.settings import SigningSettings

WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ENTRIES = [("idx-1", "a", "1" * 64), ("idx-1", "b", "2" * 64)]


def test_canonical_json_ignores_key_order_and_spacing() -> None:
    assert canonical_json({"b": 1, "a": {"d": 2, "c": 3}}) == b'{"a":{"c":3,"d":2},"b":1}'
    assert document_hash({"b": 1, "a": 2}) == document_hash({"a": 2, "b": 1})


def test_any_change_to_a_document_changes_its_hash() -> None:
    original = {"message": "Failed password for root", "source": {"ip": "10.0.0.1"}}
    changed = {"message": "Failed password for root", "source": {"ip": "10.0.0.2"}}
    assert document_hash(original) != document_hash(changed)
    assert len(document_hash(original)) == 64


def test_a_lone_surrogate_still_hashes() -> None:
    assert document_hash({"message": "\ud800"}) == document_hash({"message": "\ud800"})


def test_the_record_hash_covers_source_sequence_predecessor_and_every_entry_in_order() -> None:
    base = record_hash("linux-auth", 1, GENESIS, ENTRIES)
    assert base != record_hash("web-access", 1, GENESIS, ENTRIES)
    assert base != record_hash("linux-auth", 2, GENESIS, ENTRIES)
    assert base != record_hash("linux-auth", 1, "f" * 64, ENTRIES)
    assert base != record_hash("linux-auth", 1, GENESIS, list(reversed(ENTRIES)))
    assert base != record_hash("linux-auth", 1, GENESIS, ENTRIES[:1])


def _chain(length: int) -> list[dict[str, object]]:
    records, prev = [], GENESIS
    for seq in range(1, length + 1):
        record = seal("linux-auth", seq, prev, [("idx", f"doc-{seq}", str(seq) * 64)], "run", WHEN)
        records.append(record)
        prev = str(record["hash"])
    return records


def test_a_sealed_chain_verifies_link_by_link() -> None:
    records = _chain(3)
    assert records[0]["prev_hash"] == GENESIS and records[1]["prev_hash"] == records[0]["hash"]
    expected = [GENESIS, records[0]["hash"], records[1]["hash"]]
    assert [record_problems(r, str(p)) for r, p in zip(records, expected, strict=True)] == [[], [], []]


def test_each_way_of_breaking_a_chain_is_named() -> None:
    first, second = _chain(2)
    assert record_problems(second, None) == ["record linux-auth:1 is missing"]
    assert record_problems(second, "0" * 64) == ["prev_hash does not match the previous record"]
    forged = {**second, "entries": [{"index": "idx", "id": "doc-2", "hash": "9" * 64}]}
    assert record_problems(forged, str(first["hash"])) == ["record content does not match its hash"]
    rewritten = {**second, "prev_hash": "0" * 64}
    assert record_problems(rewritten, str(first["hash"])) == [
        "prev_hash does not match the previous record",
        "record content does not match its hash",
    ]


def test_the_report_is_ok_only_when_nothing_was_found() -> None:
    assert VerifyReport(checked=5).ok and VerifyReport().as_json()["ok"] is True
    for field in ("modified", "deleted", "injected", "bad_signatures", "broken_chain"):
        report = VerifyReport(**{field: [{"id": "x"}]})
        assert not report.ok and report.as_json()["ok"] is False, field
    assert list(VerifyReport().as_json())[:2] == ["ok", "checked"]


def test_expired_documents_are_counted_apart_and_keep_the_report_ok() -> None:
    report = VerifyReport(checked=3, verified=1, expired=2, expired_indices=[{"index": "i", "documents": 2}])
    assert report.ok
    data = report.as_json()
    assert (data["expired"], data["verified"]) == (2, 1)
    assert {"ok", "checked", "modified", "deleted", "injected", "bad_signatures", "broken_chain"} <= set(data)


def test_a_record_names_the_indices_of_its_entries_outside_its_hash() -> None:
    entries = [("idx-2", "a", "1" * 64), ("idx-1", "b", "2" * 64), ("idx-2", "c", "3" * 64)]
    record = seal("linux-auth", 1, GENESIS, entries, "run", WHEN)
    assert record["indices"] == ["idx-1", "idx-2"]
    assert record_problems({**record, "indices": ["forged"]}, GENESIS) == []


def test_verification_by_event_covers_whole_utc_days() -> None:
    assert event_days(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)) == (
        datetime(2024, 3, 1).date(),
        datetime(2024, 3, 31).date(),
    )
    assert event_days(datetime(2024, 3, 1, 23, tzinfo=UTC), datetime(2024, 3, 2, 0, 30, tzinfo=UTC)) == (
        datetime(2024, 3, 1).date(),
        datetime(2024, 3, 2).date(),
    )


def test_keygen_writes_a_private_key_only_its_owner_reads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    private_path, public_path = keys.generate(tmp_path / "keys")
    assert stat.S_IMODE(os.stat(private_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public_path).st_mode) == 0o644
    loaded = keys.private_key(SigningSettings.from_text({"key_file": str(private_path)}))
    public = keys.public_key(SigningSettings.from_text({"public_key_file": str(public_path)}))
    assert keys.key_id(loaded.public_key()) == keys.key_id(public) and len(keys.key_id(public)) == 16
    with pytest.raises(ConfigurationError, match="already exists"):
        keys.generate(tmp_path / "keys")


def test_the_key_comes_from_pem_text_before_the_file(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    settings = SigningSettings.from_text({"key": pem.decode(), "key_file": str(tmp_path / "absent.key")})
    assert keys.key_id(keys.private_key(settings).public_key()) == keys.key_id(key.public_key())
    assert keys.key_id(keys.public_key(settings)) == keys.key_id(key.public_key())


def test_unusable_keys_are_configuration_errors_naming_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no signing key") as missing:
        keys.private_key(SigningSettings.from_text({}))
    assert missing.value.where == "SIEM_SIGNING_KEY_FILE"
    with pytest.raises(ConfigurationError, match="not a PEM private key") as garbage:
        keys.private_key(SigningSettings.from_text({"key": "not a key"}))
    assert garbage.value.where == "SIEM_SIGNING_KEY"
    other = tmp_path / "rsa.pem"
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigurationError, match="must be Ed25519"):
        keys.private_key(SigningSettings.from_text({"key_file": str(other)}))


def test_a_signed_digest_verifies_and_each_forgery_is_caught() -> None:
    key = Ed25519PrivateKey.generate()
    heads = {"linux-auth": {"seq": 3, "hash": "a" * 64}, "web-access": {"seq": 1, "hash": "b" * 64}}
    document = signed_digest(heads, key, WHEN)
    assert document["digest"] == digest_of(heads, WHEN.isoformat()) and document["algorithm"] == "Ed25519"
    assert digest_problem(document, key.public_key()) is None
    assert digest_problem(document, Ed25519PrivateKey.generate().public_key()) == "signed with another key"
    moved = {**document, "heads": {**heads, "linux-auth": {"seq": 3, "hash": "c" * 64}}}
    assert digest_problem(moved, key.public_key()) == "heads do not match the signed digest"
    resigned = {**moved, "digest": digest_of(moved["heads"], WHEN.isoformat())}
    assert digest_problem(resigned, key.public_key()) == "signature does not verify"
    garbled = {**document, "signature": "zz"}
    assert digest_problem(garbled, key.public_key()) == "signature does not verify"


def test_the_digest_depends_on_the_heads_and_the_signing_time() -> None:
    heads = {"linux-auth": {"seq": 1, "hash": "a" * 64}}
    assert digest_of(heads, "2026-11-27T12:00:00+00:00") == digest_of(dict(heads), "2026-11-27T12:00:00+00:00")
    assert digest_of(heads, "2026-11-27T12:00:00+00:00") != digest_of(heads, "2026-11-27T13:00:00+00:00")
    assert digest_of(heads, "t") != digest_of({"linux-auth": {"seq": 2, "hash": "a" * 64}}, "t")
