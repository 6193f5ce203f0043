"""Golden tests of the auditor facts: storage's and integrity's answers turned into report data (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster_project.integrity.verify import VerifyReport
from dagster_project.reports.facts import (
    integrity_result,
    interval_words,
    last_run_fact,
    retention_result,
    verification_summary,
)
from dagster_project.reports.model import VerificationSummary
from dagster_project.storage.retention import DatedIndex, RetentionInForce, policy_ages

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
CLEAN = VerificationSummary(
    ok=True,
    checked=10,
    records=2,
    modified=0,
    deleted=0,
    injected=0,
    bad_signatures=0,
    broken_chain=0,
    digests=0,
    signatures_checked=False,
)


def test_indices_past_the_hot_phase_that_are_writable_are_named() -> None:
    indices = [
        DatedIndex("siem-events-a-2024.01.01", date(2024, 1, 1), read_only=True),
        DatedIndex("siem-events-a-2024.03.01", date(2024, 3, 1), read_only=False),  # 121 days old
        DatedIndex("siem-events-a-2024.04.01", date(2024, 4, 1), read_only=False),  # 90 days old: past hot
        DatedIndex("siem-events-a-2024.04.02", date(2024, 4, 2), read_only=False),  # 89 days: still hot
    ]
    result = integrity_result(indices, 90, AS_OF, 100, 98, CLEAN)
    assert (result.indices, result.read_only, result.writable_past_hot_total) == (4, 1, 2)
    assert result.writable_past_hot == ("siem-events-a-2024.03.01", "siem-events-a-2024.04.01")
    assert (result.events_in_period, result.events_with_hash, result.verification) == (100, 98, CLEAN)


def test_at_most_twenty_writable_indices_are_listed_but_all_are_counted() -> None:
    indices = [DatedIndex(f"siem-events-a-2023.01.{d:02d}", date(2023, 1, d), read_only=False) for d in range(1, 31)]
    result = integrity_result(indices, 90, AS_OF, 0, 0, CLEAN)
    assert len(result.writable_past_hot) == 20 and result.writable_past_hot_total == 30


def test_a_verification_report_is_summarised_by_counts() -> None:
    report = VerifyReport(checked=5, records=1, digests=2)
    report.modified.append({"index": "i", "id": "a"})
    report.injected += [{"index": "i", "id": "b"}, {"index": "i", "id": "c"}]
    summary = verification_summary(report, signatures_checked=True)
    assert summary == VerificationSummary(
        ok=False,
        checked=5,
        records=1,
        modified=1,
        deleted=0,
        injected=2,
        bad_signatures=0,
        broken_chain=0,
        digests=2,
        signatures_checked=True,
        by="ingested",
    )


def test_retention_evidence_is_what_storage_states() -> None:
    facts = RetentionInForce(
        retention_days=400,
        hot_days=90,
        meets_pci_10_5_1=True,
        policy_file="index_templates/ism_policies/siem-events-retention.json",
        warm_after="90d",
        delete_after="400d",
        enforcement="ISM plugin not installed: `siem retention` enforces the same ages by event date",
    )
    result = retention_result(facts, "2024-01-02T00:00:00.000Z", 365, 90)
    assert (result.retention_days, result.policy_delete_after, result.min_days) == (400, "400d", 365)
    assert result.enforcement == facts.enforcement and result.oldest_event == "2024-01-02T00:00:00.000Z"


def test_policy_ages_read_the_warm_and_delete_transitions() -> None:
    policy = {
        "policy": {
            "states": [
                {"name": "hot", "transitions": [{"state_name": "warm", "conditions": {"min_index_age": "30d"}}]},
                {"name": "warm", "transitions": []},
            ]
        }
    }
    assert policy_ages(policy) == ("30d", "never")


def test_a_job_is_overdue_when_it_never_ran_or_not_within_its_interval_and_grace() -> None:
    hour, grace = timedelta(hours=1), timedelta(minutes=30)
    on_time = last_run_fact("integrity signing", AS_OF - timedelta(minutes=85), hour, grace, AS_OF)
    assert (on_time.last, on_time.every, on_time.overdue) == ("2024-06-30T10:35:00+00:00", "1 hour", False)
    assert last_run_fact("integrity signing", AS_OF - timedelta(minutes=91), hour, grace, AS_OF).overdue
    never = last_run_fact("retention", None, timedelta(days=1), grace, AS_OF)
    assert (never.last, never.overdue, never.every) == (None, True, "1 day")
    assert (interval_words(timedelta(days=2)), interval_words(timedelta(minutes=30))) == ("2 days", "30 minutes")
