"""Auditor facts: retention as storage states it, integrity as storage and integrity verification state it.

The report does not decide these facts; it asks their owners (`storage.retention` for the retention in force,
when it last ran and the write protection of daily indices; `integrity.verify` for the chains, verified by
event time for exactly the period's events with the key it is handed; `integrity.signing` for when the heads
were last signed) and turns their answers into report data with the pure `*_result` functions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import OpenSearch

from dagster_project.integrity.signing import SIGNING_GRACE, SIGNING_INTERVAL, last_signed
from dagster_project.integrity.verify import VerifyReport, verify
from dagster_project.reports import queries
from dagster_project.reports.model import IntegrityResult, LastRun, Period, RetentionResult, VerificationSummary
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.retention import (
    RUN_GRACE,
    RUN_INTERVAL,
    DatedIndex,
    RetentionInForce,
    dated_indices,
    last_run,
    retention_in_force,
)

WRITABLE_SHOWN = 20
"""Index names listed when indices are still writable past the hot phase (the total is always given)."""


def run_retention(
    client: OpenSearch,
    retention: RetentionSettings,
    min_days: int | None,
    min_hot_days: int | None,
    as_of: datetime,
) -> RetentionResult:
    """The retention in force and when it last ran (from storage), and the oldest event, against a control."""
    ran = last_run_fact("retention", last_run(client, as_of), RUN_INTERVAL, RUN_GRACE, as_of)
    return retention_result(
        retention_in_force(client, retention), queries.run_oldest_event(client), min_days, min_hot_days, ran
    )


def last_run_fact(job: str, last: datetime | None, every: timedelta, grace: timedelta, as_of: datetime) -> LastRun:
    """When a recurring job last ran and whether that is within its interval (plus `grace`) of `as_of` (pure)."""
    return LastRun(
        job=job,
        last=last.isoformat() if last is not None else None,
        every=interval_words(every),
        overdue=last is None or as_of - last > every + grace,
    )


def interval_words(every: timedelta) -> str:
    """`1 hour`, `1 day`, `30 minutes`: an interval as people say it."""
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1)), ("minute", timedelta(minutes=1))):
        if every >= size and every % size == timedelta(0):
            count = every // size
            return f"{count} {unit}{'s' * (count != 1)}"
    return str(every)


def retention_result(
    facts: RetentionInForce,
    oldest_event: str | None,
    min_days: int | None,
    min_hot_days: int | None,
    last: LastRun | None = None,
) -> RetentionResult:
    """Retention evidence from storage's statement of it (pure)."""
    return RetentionResult(
        last_run=last,
        retention_days=facts.retention_days,
        hot_days=facts.hot_days,
        meets_pci_10_5_1=facts.meets_pci_10_5_1,
        min_days=min_days,
        min_hot_days=min_hot_days,
        policy_file=facts.policy_file,
        policy_warm_after=facts.warm_after,
        policy_delete_after=facts.delete_after,
        enforcement=facts.enforcement,
        oldest_event=oldest_event,
    )


def run_integrity(
    client: OpenSearch, hot_days: int, period: Period, as_of: datetime, public_key: Ed25519PublicKey | None
) -> IntegrityResult:
    """Write protection, hashed events of the period, those events verified by event time, the last signing."""
    in_period, hashed = queries.run_hashed_events(client, period)
    report = verify(client, period.start, period.end, public_key, by="event")
    signed = last_run_fact("integrity signing", last_signed(client, as_of), SIGNING_INTERVAL, SIGNING_GRACE, as_of)
    return integrity_result(
        dated_indices(client, naming.events_pattern()),
        hot_days,
        as_of,
        in_period,
        hashed,
        verification_summary(report, signatures_checked=public_key is not None),
        signed,
    )


def integrity_result(
    indices: Sequence[DatedIndex],
    hot_days: int,
    as_of: datetime,
    events_in_period: int,
    events_with_hash: int,
    verification: VerificationSummary,
    signing: LastRun | None = None,
) -> IntegrityResult:
    """Integrity evidence: which daily indices are read-only, which are still writable past `hot_days` (pure)."""
    late = [i.name for i in indices if not i.read_only and (as_of.date() - i.day).days >= hot_days]
    return IntegrityResult(
        verification=verification,
        signing=signing,
        indices=len(indices),
        read_only=sum(i.read_only for i in indices),
        hot_days=hot_days,
        writable_past_hot=tuple(late[:WRITABLE_SHOWN]),
        writable_past_hot_total=len(late),
        events_in_period=events_in_period,
        events_with_hash=events_with_hash,
    )


def verification_summary(report: VerifyReport, *, signatures_checked: bool) -> VerificationSummary:
    """The counts of a verification, as the report shows them (pure)."""
    return VerificationSummary(
        ok=report.ok,
        checked=report.checked,
        records=report.records,
        modified=len(report.modified),
        deleted=len(report.deleted),
        injected=len(report.injected),
        bad_signatures=len(report.bad_signatures),
        broken_chain=len(report.broken_chain),
        digests=report.digests,
        signatures_checked=signatures_checked,
        by=report.by,
        verified=report.verified,
        expired=report.expired,
        unsigned_records=report.unsigned_records,
    )
