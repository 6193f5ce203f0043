"""Benchmarks work in an index namespace of their own (`siembench-*`, unless SIEM_INDEX_PREFIX says otherwise),
so a run on a developer's node never writes, wipes or leaves unverifiable data in `siem-*`.

Import this module before anything from `dagster_project`; `python benchmarks/X.py` puts this folder first
on `sys.path`, so `import namespace` finds it. What a benchmark leaves behind must verify (`siem verify`
in its namespace): it either `wipe`s the namespace when done, or `seal`s the events it bulk-indexed around
the ingestion pipeline into the integrity chain, as ingestion would have.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from typing import Any

BENCH_PREFIX = "siembench"
if os.environ.get("SIEM_INDEX_PREFIX", "") in ("", "siem"):
    os.environ["SIEM_INDEX_PREFIX"] = BENCH_PREFIX

from dagster_project.integrity.chain import BatchRecorder  # noqa: E402  (after the namespace is set)
from dagster_project.integrity.hashing import document_hash  # noqa: E402
from dagster_project.storage import naming  # noqa: E402


def wipe(client: Any) -> None:
    """Delete every index of the benchmark's namespace (events, quarantine, chain, digests, findings, dq...)."""
    assert not naming.is_default(), "benchmarks never wipe the default namespace"
    client.indices.delete(
        index=naming.all_pattern(), ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all"
    )


def seal(client: Any, source: str, documents: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Record (index, id, document) of events bulk-indexed around the pipeline in `source`'s chain; records written."""
    recorder = BatchRecorder(client, source, f"benchmark-{uuid.uuid4().hex}")
    for index, doc_id, document in documents:
        recorder.add(index, doc_id, document_hash(document))
    recorder.flush()
    return recorder.records_written
