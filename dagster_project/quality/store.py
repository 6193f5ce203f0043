"""Writes check results to `siem-dq`: one document per (source, partition, check), overwritten on re-run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from opensearchpy import OpenSearch, helpers

from dagster_project.errors import IngestError
from dagster_project.ids import stable_id
from dagster_project.quality.model import CheckResult
from dagster_project.quality.scope import iso
from dagster_project.retries import BulkRetry, IdempotentBulkClient
from dagster_project.storage import naming

BULK_RETRY = BulkRetry()


def dq_id(source: str, partition: str, check: str) -> str:
    """The document id of a result: SHA-256 over (source, partition, check), hex, 32 chars."""
    return stable_id(source, partition, check)


def dq_document(result: CheckResult, checked_at: datetime) -> dict[str, Any]:
    """The siem-dq document of a result (fields as in index_templates/component_templates/siem-dq.json)."""
    return {
        "@timestamp": iso(checked_at),
        "source": result.source,
        "partition": result.partition,
        "check": result.check,
        "passed": result.passed,
        "severity": result.severity.value,
        "blocking": result.blocking,
        "total": result.total,
        "failing": result.failing,
        "ratio": result.ratio,
        "observed": {**result.observed, "method": result.method.value},
        "description": result.description[:2048],
    }


def write_results(
    client: OpenSearch, results: Iterable[CheckResult], checked_at: datetime, *, refresh: bool = False
) -> int:
    """Index the results (the `index` op overwrites an earlier run's); IngestError listing what failed.

    Blocking; opensearch-py's `bulk` helper sends one request per 500 results, retried as
    `dagster_project.retries` states (the `index` op with deterministic ids is idempotent).
    """
    actions = [
        {
            "_op_type": "index",
            "_index": naming.dq_index(),
            "_id": dq_id(r.source, r.partition, r.check),
            "_source": dq_document(r, checked_at),
        }
        for r in results
    ]
    written, errors = helpers.bulk(
        IdempotentBulkClient(client, BULK_RETRY),
        actions,
        raise_on_error=False,
        refresh=refresh,
        **BULK_RETRY.streaming_kwargs(),
    )
    if errors:
        raise IngestError(f"{len(errors)} data-quality results not written: {errors[:3]}", where=naming.dq_index())
    return int(written)
