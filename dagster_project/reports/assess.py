"""Pure assessment: evidence results -> plain-language statements -> a control's status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from dagster_project.reports.frameworks import Control
from dagster_project.reports.model import (
    AlertReviewResult,
    BreachClockResult,
    DataQualityResult,
    DetectorsResult,
    EventsResult,
    EvidenceResult,
    FieldCompletenessResult,
    IntegrityResult,
    LastRun,
    RetentionResult,
    Scope,
    Statement,
    Status,
    VerificationSummary,
)
from dagster_project.storage import naming

REVIEWED_STATES = ("acknowledged", "resolved")


def applicability(control: Control, scope: Scope) -> str | None:
    """Why the control is not applicable, or None when it applies."""
    if control.not_applicable:
        return control.not_applicable
    if control.applies_to and not set(control.applies_to) & set(scope.known_sources):
        names = ", ".join(control.applies_to)
        patterns = ", ".join(naming.events_pattern(s) for s in control.applies_to)
        return f"no {names} events are collected by this deployment (no {patterns} index)"
    return None


def status_of(statements: Sequence[Statement]) -> Status:
    """`gap` when any statement is a gap, else `evidence_present`."""
    return "gap" if any(s.gap for s in statements) else "evidence_present"


def statements_for(result: EvidenceResult) -> list[Statement]:
    """What one piece of evidence says, gaps marked."""
    if isinstance(result, EventsResult):
        return [_events(result)]
    if isinstance(result, DetectorsResult):
        return [_detectors(result)]
    if isinstance(result, DataQualityResult):
        return _data_quality(result)
    if isinstance(result, RetentionResult):
        return _retention(result)
    if isinstance(result, IntegrityResult):
        return _integrity(result)
    if isinstance(result, AlertReviewResult):
        return [_alert_review(result)]
    if isinstance(result, BreachClockResult):
        return [_breach_clock(result)]
    return _field_completeness(result)


def _events(r: EventsResult) -> Statement:
    if r.sources_volume == 0:
        names = ", ".join(r.sources) if r.sources else "any source"
        return Statement(
            text=f"no events from {names} were collected in the period: {r.title} cannot be shown", gap=True
        )
    if r.total == 0:
        return Statement(
            text=r.none + (" (such events are expected)" if r.expect == "present" else ""),
            gap=r.expect == "present",
        )
    return Statement(text=f"{r.title}: {r.total:,} events in the period ({r.previous_total:,} in the previous period)")


def _detectors(r: DetectorsResult) -> Statement:
    mapped = ", ".join(r.tags) + (f", {r.tag_prefix}*" if r.tag_prefix else "")
    if len(r.rules) < r.min_rules:
        return Statement(text=f"no detection rule is tagged {mapped} (at least {r.min_rules} needed)", gap=True)
    return Statement(
        text=f"{len(r.rules)} detection rule{'s' * (len(r.rules) != 1)} mapped ({mapped}); "
        f"{r.findings_total:,} finding{'s' * (r.findings_total != 1)} in the period"
    )


def _data_quality(r: DataQualityResult) -> list[Statement]:
    if not r.sources and not r.unchecked:
        return [Statement(text="no data-quality results in the period: it holds no events to check")]
    out = []
    for row in r.sources:
        if row.blocking_failed and r.gap_on_blocking_failure:
            out.append(
                Statement(
                    text=f"data quality of {row.source}: {row.blocking_failed} blocking check"
                    f"{'s' * (row.blocking_failed != 1)} failed ({', '.join(row.failed_checks)})",
                    gap=True,
                )
            )
    unchecked: dict[str, list[tuple[str, int]]] = {}
    for item in r.unchecked:
        source, _, day = item.key.partition(" ")
        unchecked.setdefault(source, []).append((day, item.count))
    for source, days in sorted(unchecked.items()):
        events = sum(n for _, n in days)
        named = ", ".join(day for day, _ in days[:5]) + (f" and {len(days) - 5} more" if len(days) > 5 else "")
        out.append(
            Statement(
                text=f"data quality of {source}: {events:,} of the period's events arrived on "
                f"{len(days)} day{'s' * (len(days) != 1)} whose checks have not run ({named})",
                gap=True,
            )
        )
    if r.sources:
        checks = sum(s.checks for s in r.sources)
        passed = sum(s.passed for s in r.sources)
        partitions = sum(s.partitions for s in r.sources)
        covered = sum(s.covered_events for s in r.sources)
        failed = [f"{s.source}/{check}" for s in r.sources for check in s.failed_checks]
        text = (
            f"data quality: {passed} of {checks} checks passed across {len(r.sources)} "
            f"source{'s' * (len(r.sources) != 1)}, for {covered:,} of the period's {r.period_events:,} events "
            f"(the results of the {partitions} source and arrival-day partition{'s' * (partitions != 1)} "
            "that hold them)"
        )
        out.append(Statement(text=text + (f"; not passed: {', '.join(failed)}" if failed else "")))
    return out


def _when(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _last_run(ran: LastRun | None, job: str, how: str) -> Statement:
    if ran is None:
        return Statement(text=f"when {job} last ran was not looked up", gap=True)
    if ran.last is None:
        return Statement(text=f"{ran.job} has never run ({how})", gap=True)
    if ran.overdue:
        return Statement(
            text=f"{ran.job} last ran at {_when(ran.last)}, not within {ran.every} before the report ({how})",
            gap=True,
        )
    return Statement(text=f"{ran.job} last ran at {_when(ran.last)} (every {ran.every})")


def _retention(r: RetentionResult) -> list[Statement]:
    out = []
    if r.min_days is not None and r.retention_days < r.min_days:
        out.append(
            Statement(text=f"retention is {r.retention_days} days, fewer than the {r.min_days} required", gap=True)
        )
    if r.min_hot_days is not None and r.hot_days < r.min_hot_days:
        out.append(
            Statement(
                text=f"events stay immediately searchable for {r.hot_days} days, "
                f"fewer than the {r.min_hot_days} required",
                gap=True,
            )
        )
    if not out:
        required = [f"{r.min_days} days"] if r.min_days else []
        required += [f"{r.min_hot_days} hot"] if r.min_hot_days else []
        wanted = f" (required: {', '.join(required)})" if required else ""
        out.append(Statement(text=f"retention is {r.retention_days} days, of which {r.hot_days} hot{wanted}"))
    out.append(_last_run(r.last_run, "retention", "`siem retention`, or the daily_retention schedule"))
    return out


def _integrity(r: IntegrityResult) -> list[Statement]:
    out = []
    if "write_protection" in r.checks:
        out.append(_write_protection(r))
    if "content_hashes" in r.checks:
        out.append(
            Statement(
                text=f"{r.events_with_hash:,} of {r.events_in_period:,} events in the period carry a content hash",
                gap=r.events_with_hash < r.events_in_period,
            )
        )
    v = r.verification
    if "verification" in r.checks:
        out.append(_verification(v, r.events_in_period))
    if "signing" in r.checks:
        if v is None or not v.signatures_checked:
            out.append(
                Statement(
                    text="the signed digests of the chain heads were not checked: no signing key is configured "
                    "(SIEM_SIGNING_KEY_FILE or SIEM_SIGNING_PUBLIC_KEY_FILE)",
                    gap=True,
                )
            )
        out.append(
            _last_run(r.signing, "integrity signing", "`siem integrity sign`, or the hourly_integrity_signing schedule")
        )
    return out


def _write_protection(r: IntegrityResult) -> Statement:
    if r.writable_past_hot_total:
        return Statement(
            text=f"{r.writable_past_hot_total} event "
            f"{'indices are' if r.writable_past_hot_total != 1 else 'index is'} "
            f"still writable after {r.hot_days} days",
            gap=True,
        )
    return Statement(
        text=f"{r.read_only} of {r.indices} event indices are write-protected; none past {r.hot_days} days is writable"
    )


def _verification(v: VerificationSummary | None, events: int) -> Statement:
    if v is None:
        return Statement(text="integrity verification was not run for the period", gap=True)
    if not v.ok:
        return Statement(
            text=f"integrity verification FAILED: {v.modified} modified, {v.deleted} deleted, {v.injected} injected, "
            f"{v.bad_signatures} bad signatures, {v.broken_chain} broken chain links",
            gap=True,
        )
    if v.verified < events:
        return Statement(
            text=f"integrity verification: only {v.verified:,} of the period's {events:,} events were verified",
            gap=True,
        )
    signatures = "signatures not checked (no key)"
    if v.signatures_checked:
        signatures = f"{v.digests} signed digest{'s' * (v.digests != 1)} verified"
        if v.unsigned_records:
            signatures += f"; {v.unsigned_records} record{'s' * (v.unsigned_records != 1)} sealed since the last one"
    expired = f"; {v.expired:,} expired by retention" if v.expired else ""
    return Statement(
        text=f"integrity verification by event time: {v.verified:,} of the period's {events:,} events verified "
        f"in {v.records} chained record{'s' * (v.records != 1)}, none modified, deleted or injected"
        f"{expired}; {signatures}"
    )


def _alert_review(r: AlertReviewResult) -> Statement:
    if r.overdue:
        return Statement(
            text=f"{r.overdue} alert{'s' * (r.overdue != 1)} still open "
            f"more than {r.max_open_hours} h after first seen",
            gap=True,
        )
    if r.total == 0:
        return Statement(text="no alerts were raised in the period")
    states = {c.key: c.count for c in r.by_state}
    return Statement(
        text=f"{r.total} alerts: {states.get('acknowledged', 0)} acknowledged, "
        f"{states.get('resolved', 0)} resolved, "
        f"{r.open_total} open (none open longer than {r.max_open_hours} h)"
    )


def _breach_clock(r: BreachClockResult) -> Statement:
    levels = "/".join(r.levels)
    if r.total == 0:
        return Statement(text=f"no breach-candidate finding ({levels}, tagged {r.tag}) in the period")
    late = [c for c in r.candidates if c.hours_left < 0 and c.alert_state not in REVIEWED_STATES]
    if late:
        return Statement(
            text=f"{len(late)} breach candidate{'s' * (len(late) != 1)} passed the {r.clock_hours} h clock "
            "without an acknowledged alert",
            gap=True,
        )
    running = sum(c.hours_left >= 0 for c in r.candidates)
    return Statement(
        text=f"{r.total} breach candidates; {running} still within the {r.clock_hours} h clock, the rest reviewed"
    )


def _field_completeness(r: FieldCompletenessResult) -> list[Statement]:
    if not r.rows:
        return [
            Statement(text="no events in the period: no audit record was checked for the required fields", gap=True)
        ]
    low = [row for row in r.rows if row.field in r.required and row.ratio < r.min_ratio]
    if low:
        return [
            Statement(
                text=f"{row.field} is present in {row.ratio:.1%} of {row.source} events, below {r.min_ratio:.0%}",
                gap=True,
            )
            for row in low
        ]
    required = [row for row in r.rows if row.field in r.required]
    if not required:
        return [Statement(text=f"field completeness shown for {len(r.fields)} fields; none is required")]
    weakest = min(required, key=lambda row: row.ratio)
    return [
        Statement(
            text=f"required fields ({', '.join(r.required)}) present; lowest: {weakest.field} "
            f"in {weakest.ratio:.1%} of {weakest.source} events"
        )
    ]
