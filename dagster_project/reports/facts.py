"""Auditor facts: retention as storage states it, integrity as storage and integrity verification state it.

The report does not decide these facts; it asks their owners (`storage.retention` for the retention in force
and the write protection of daily indices, `integrity.verify` for the chains, checked with the key it is
handed) and turns their answers into report data with the pure `*_result` functions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import OpenSearch

from dagster_project.integrity.verify import VerifyReport, verify
from dagster_project.reports import queries
from dagster_project.reports.model import IntegrityResult, Period, RetentionResult, VerificationSummary
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.retention import DatedIndex, RetentionInForce, dated_indices, retention_in_force

WRITABLE_SHOWN = 20
"""Index names listed when indices are still writable past the hot phase (the total is always given)."""


def run_retention(
    client: OpenSearch, retention: RetentionSettings, min_days: int | None, min_hot_days: int | None
) -> RetentionResult:
    """The retention in force (from storage) and the oldest event stored, against what a control requires."""
    return retention_result(
        retention_in_force(client, retention), queries.run_oldest_event(client), min_days, min_hot_days
    )


def retention_result(
    facts: RetentionInForce, oldest_event: str | None, min_days: int | None, min_hot_days: int | None
) -> RetentionResult:
    """Retention evidence from storage's statement of it (pure)."""
    return RetentionResult(
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
    """Write protection of event indices, hashed events of the period, and the period's chains verified."""
    in_period, hashed = queries.run_hashed_events(client, period)
    report = verify(client, period.start, period.end, public_key)
    return integrity_result(
        dated_indices(client, naming.events_pattern()),
        hot_days,
        as_of,
        in_period,
        hashed,
        verification_summary(report, signatures_checked=public_key is not None),
    )


def integrity_result(
    indices: Sequence[DatedIndex],
    hot_days: int,
    as_of: datetime,
    events_in_period: int,
    events_with_hash: int,
    verification: VerificationSummary,
) -> IntegrityResult:
    """Integrity evidence: which daily indices are read-only, which are still writable past `hot_days` (pure)."""
    late = [i.name for i in indices if not i.read_only and (as_of.date() - i.day).days >= hot_days]
    return IntegrityResult(
        verification=verification,
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
    )
