"""Runs every check of one source's partition and records the results (for the asset checks and the CLI)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from opensearchpy import OpenSearch

from dagster_project.errors import SiemError
from dagster_project.quality.aggregations import aggregation_checks
from dagster_project.quality.expectations import SourceExpectations, load_expectations
from dagster_project.quality.model import CHECKS, CheckResult
from dagster_project.quality.sample import sample_checks
from dagster_project.quality.scope import parse_partition
from dagster_project.quality.store import write_results
from dagster_project.quality.timeliness import freshness, volume
from dagster_project.settings import QualitySettings, RetentionSettings

log = logging.getLogger(__name__)


def run_checks(
    client: OpenSearch,
    source: str,
    partition: str,
    *,
    now: datetime | None = None,
    settings: QualitySettings | None = None,
    retention: RetentionSettings | None = None,
) -> list[CheckResult]:
    """Every check of `CHECKS` for one partition, in registry order; nothing is written."""
    parse_partition(partition)
    now = now or datetime.now(UTC)
    settings = settings or QualitySettings()
    retention = retention or RetentionSettings()
    expectations: SourceExpectations | SiemError
    try:
        expectations = load_expectations(source)
    except SiemError as exc:
        # A missing or malformed template fails the checks derived from it (ERROR, with the reason);
        # the others still run. An unreachable cluster raises.
        log.error("data-quality suite of %s cannot be built: %s", source, exc)
        expectations = exc
    results = [
        *aggregation_checks(client, source, partition, expectations, now=now, retention=retention),
        *sample_checks(client, source, partition, expectations, size=settings.dq_sample_size),
        freshness(client, source, partition, now=now, settings=settings),
        volume(client, source, partition, now=now, settings=settings),
    ]
    order = list(CHECKS)
    return sorted(results, key=lambda r: order.index(r.check))


def check_partition(
    client: OpenSearch,
    source: str,
    partition: str,
    *,
    now: datetime | None = None,
    settings: QualitySettings | None = None,
    retention: RetentionSettings | None = None,
    refresh: bool = False,
) -> list[CheckResult]:
    """`run_checks`, then write every result to siem-dq (a re-run overwrites the same documents)."""
    now = now or datetime.now(UTC)
    results = run_checks(client, source, partition, now=now, settings=settings, retention=retention)
    write_results(client, results, now, refresh=refresh)
    for result in results:
        if not result.passed:
            log.warning(
                "%s %s/%s failed (%s): %s of %s",
                result.check,
                source,
                partition,
                result.severity,
                result.failing,
                result.total,
            )
    return results
