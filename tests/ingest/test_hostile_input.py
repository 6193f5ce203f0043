"""Hostile input: gzip bombs are cut off and quarantined, landing paths cannot escape, every source survives fuzzing."""

from __future__ import annotations

import gzip
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opensearchpy import OpenSearch

from dagster_project.errors import IngestError
from dagster_project.ingest import inputs
from dagster_project.ingest.inputs import expand_paths
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import RetentionSettings
from dagster_project.sources.base import Event, Rejected, SourceContext, is_internal_error
from dagster_project.sources.registry import parser_factory, source_names
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
CONTEXT = SourceContext(path="fuzz", reference_time=datetime(2024, 6, 1, tzinfo=UTC))
FUZZ_EXAMPLES = int(os.environ.get("SIEM_FUZZ_EXAMPLES", "150"))


@pytest.mark.live
def test_a_gzip_bomb_is_cut_off_and_quarantined(
    clean_siem: OpenSearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap(clean_siem, RETENTION)
    line = b"Mar 27 13:06:56 host sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2\n"
    bomb = tmp_path / "bomb.log.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        for _ in range(200):
            out.write(line * 1000)  # 16 MB of text from ~100 KB on disk
    assert bomb.stat().st_size < 1_000_000
    monkeypatch.setattr(inputs, "MAX_DECOMPRESSED_BYTES", 1_000_000)
    summary = ingest(clean_siem, "linux-auth", [bomb], retention=RETENTION, refresh=True)
    assert summary.reconciles
    assert summary.read < 20_000  # stopped at the cap, not after 200,000 lines
    reasons = [h["_source"]["reason"] for h in clean_siem.search(index=naming.quarantine_pattern())["hits"]["hits"]]
    assert any("possible gzip bomb" in r for r in reasons), reasons


def test_landing_paths_cannot_escape(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "linux-auth").mkdir(parents=True)
    outside = tmp_path / "secret.log"
    outside.write_text("x\n")
    (landing / "linux-auth" / "link.log").symlink_to(outside)
    with pytest.raises(IngestError, match="outside the landing directory"):
        expand_paths([landing / "linux-auth"], within=landing)
    with pytest.raises(IngestError, match="outside the landing directory"):
        expand_paths([landing / "linux-auth" / ".." / ".." / "secret.log"], within=landing)
    (landing / "linux-auth" / "link.log").unlink()
    (landing / "linux-auth" / "ok.log").write_text("x\n")
    assert [f.path.name for f in expand_paths([landing / "linux-auth"], within=landing)] == ["ok.log"]


@pytest.mark.parametrize("source", source_names())
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=4096), st.text(max_size=2048).map(lambda t: t.encode("utf-8", "surrogatepass")))
)
def test_every_source_turns_any_bytes_into_events_or_rejects(source: str, data: bytes) -> None:
    parser = parser_factory(source)(CONTEXT)
    path = "fuzz.evtx" if source == "windows" and data[:7] == b"ElfFile" else "fuzz.log"
    for record in parser.records(io.BytesIO(data), path):
        result = parser.parse(record)
        assert isinstance(result, Event | Rejected)
        assert not is_internal_error(result), result
        if isinstance(result, Event):
            result.document()
