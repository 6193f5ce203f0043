"""The report data model: plain, immutable data that the query layer produces and the renderer reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["evidence_present", "gap", "not_applicable"]
IntegrityCheck = Literal["write_protection", "content_hashes", "verification", "signing"]
INTEGRITY_CHECKS: tuple[IntegrityCheck, ...] = ("write_protection", "content_hashes", "verification", "signing")
"""What integrity evidence can claim: read-only old indices, hashed events, the chains verified, heads signed."""
STATUS_LABELS: dict[str, str] = {
    "evidence_present": "Evidence present",
    "gap": "Gap",
    "not_applicable": "Not applicable",
}


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(_Data):
    """A half-open UTC interval [start, end) and how it is named."""

    start: datetime
    end: datetime
    label: str

    @property
    def days(self) -> float:
        """The length in days."""
        return (self.end - self.start) / timedelta(days=1)

    @property
    def first_day(self) -> date:
        """The UTC day the period starts on."""
        return self.start.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        """The last UTC day the period touches (its end is excluded)."""
        return (self.end - timedelta(microseconds=1)).astimezone(UTC).date()

    @property
    def slug(self) -> str:
        """`2024-03-01_2024-03-31`: first and last day, for folder names."""
        return f"{self.first_day:%Y-%m-%d}_{self.last_day:%Y-%m-%d}"

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        length = self.end - self.start
        return Period(start=self.start - length, end=self.start, label=f"previous {self.label}")

    @classmethod
    def from_dates(cls, first: datetime, last_inclusive: datetime, label: str | None = None) -> Period:
        """The period from the start of `first` to the end of `last_inclusive` (UTC days)."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last_inclusive.year, last_inclusive.month, last_inclusive.day, tzinfo=UTC) + timedelta(days=1)
        return cls(start=start, end=end, label=label or f"{start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}")


class Count(_Data):
    """A value and how many times it occurred."""

    key: str
    count: int


class Comparison(_Data):
    """A count in this period and in the previous period of equal length."""

    key: str
    current: int
    previous: int

    @property
    def change(self) -> float | None:
        """Relative change against the previous period, None when that was zero."""
        return None if self.previous == 0 else (self.current - self.previous) / self.previous


class TopTable(_Data):
    """The most frequent values of one field, and how many events had other values."""

    field: str
    rows: tuple[Count, ...]
    other: int = 0


class SampleEvent(_Data):
    """One event shown as a sample, with the id and index to find it again."""

    id: str
    index: str
    timestamp: str
    fields: dict[str, str]


class EventsResult(_Data):
    """What an event query found: totals, top values, a trend and samples."""

    kind: Literal["events"] = "events"
    id: str
    title: str
    query: str
    """The filter in words, for auditors."""
    sources: tuple[str, ...]
    expect: Literal["present", "any"]
    none: str
    total: int
    previous_total: int
    tops: tuple[TopTable, ...] = ()
    trend: tuple[Count, ...] = ()
    trend_interval: str = ""
    samples: tuple[SampleEvent, ...] = ()
    sources_volume: int
    """Events of the searched sources in the period, matching or not: zero means nothing was collected."""


class RuleRef(_Data):
    """A detection rule as coverage evidence."""

    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    path: str


class DetectorsResult(_Data):
    """Rules mapped to the control by tag, and the findings of those tags in the period."""

    kind: Literal["detectors"] = "detectors"
    tags: tuple[str, ...]
    tag_prefix: str | None
    min_rules: int
    rules: tuple[RuleRef, ...]
    findings_total: int
    findings_by_level: tuple[Count, ...] = ()
    findings_by_rule: tuple[Count, ...] = ()


class LastRun(_Data):
    """When a recurring job last ran before the report, how often it must, and whether it is overdue."""

    job: str
    """What runs: `retention`, `integrity signing`."""
    last: str | None
    """ISO 8601 UTC of the last run at or before the report's time; None when it never ran."""
    every: str
    """Its interval in words, e.g. `1 hour`."""
    overdue: bool
    """True when it never ran, or not within its interval (plus a grace) before the report."""


class Arrival(_Data):
    """The events of the period that arrived on one day (ingestion time), and the event times they carry."""

    day: str
    events: int
    first_event: str | None
    last_event: str | None


class ClockNote(_Data):
    """Which clock a figure of the report counts by."""

    figure: str
    clock: str


class DqSource(_Data):
    """Data-quality results of one source for the arrival-day partitions that hold the period's events."""

    source: str
    checks: int
    passed: int
    failed: int
    blocking_failed: int
    records: int
    """Events of the checked partitions, from the `required_fields` results (quality/completeness.py)."""
    incomplete: int
    """Of those, events missing a required field (all of a partition whose check could not run)."""
    completeness: float | None = None
    """Records with every required field / records, as quality/completeness.py defines it; None when none."""
    failed_checks: tuple[str, ...] = ()
    period_events: int = 0
    """Events of the period from this source."""
    covered_events: int = 0
    """Of those, events that arrived on a day whose checks ran (the rest are unchecked)."""
    partitions: int = 0
    """Arrival days that hold the period's events of this source and have results."""


class DataQualityResult(_Data):
    """Data-quality results for the events of the period, per source, whatever day they arrived."""

    kind: Literal["data_quality"] = "data_quality"
    sources: tuple[DqSource, ...]
    gap_on_blocking_failure: bool = True
    period_events: int = 0
    """Events of the period from the sources considered."""
    unchecked: tuple[Count, ...] = ()
    """`<source> <arrival day>` -> events of the period that arrived that day and whose checks never ran."""


class RetentionResult(_Data):
    """Retention as configured and as enforced, against what the control requires."""

    kind: Literal["retention"] = "retention"
    retention_days: int
    hot_days: int
    meets_pci_10_5_1: bool
    min_days: int | None
    min_hot_days: int | None
    policy_file: str
    policy_delete_after: str
    policy_warm_after: str
    enforcement: str
    """How retention is enforced on this cluster (ISM policy applied, or `siem retention` by event date)."""
    oldest_event: str | None
    """The earliest event timestamp on the cluster, None when there are no events."""
    last_run: LastRun | None = None
    """When retention last ran (siem-audit `retention.run`); None when not looked up."""


class VerificationSummary(_Data):
    """The outcome of recomputing the integrity chains for the period."""

    ok: bool
    checked: int
    records: int
    modified: int
    deleted: int
    injected: int
    bad_signatures: int
    broken_chain: int
    digests: int
    signatures_checked: bool
    by: str = "event"
    """The clock the period was verified on: `event` (every event of the period) or `ingested`."""
    verified: int = 0
    """Documents found exactly as sealed."""
    expired: int = 0
    """Sealed documents that retention deleted (not a failure)."""
    unsigned_records: int = 0
    """Records sealed after the newest signed digest (the next one covers them)."""


class IntegrityResult(_Data):
    """Write protection and content hashing of event indices."""

    kind: Literal["integrity"] = "integrity"
    indices: int
    read_only: int
    hot_days: int
    writable_past_hot: tuple[str, ...]
    """Up to 20 index names still writable after the hot phase."""
    writable_past_hot_total: int
    events_in_period: int
    events_with_hash: int
    verification: VerificationSummary | None = None
    """`siem verify --by event` over the events of the period (PCI 10.3.4); None when not run."""
    signing: LastRun | None = None
    """When the chain heads were last signed; None when not looked up."""
    checks: tuple[IntegrityCheck, ...] = INTEGRITY_CHECKS
    """What the control claims, so what its status depends on (frameworks' `integrity.checks`)."""


class AlertRow(_Data):
    """One alert shown in the review table."""

    id: str
    rule: str
    severity: str
    state: str
    first_seen: str
    age_hours: float
    acknowledged_by: str = ""


class AlertReviewResult(_Data):
    """Alerts first seen in the period by state, and the age of those still open."""

    kind: Literal["alert_review"] = "alert_review"
    as_of: str
    max_open_hours: int
    by_state: tuple[Count, ...]
    total: int
    open_total: int
    open_by_age: tuple[Count, ...]
    overdue: int
    oldest_open: tuple[AlertRow, ...] = ()


class BreachCandidate(_Data):
    """A breach-candidate finding and its notification clock."""

    finding_id: str
    rule: str
    level: str
    detected_at: str
    hours_elapsed: float
    hours_left: float
    alert_state: str
    """State of the alert that carries the finding, or `none`."""


class BreachClockResult(_Data):
    """Breach candidates (by tag and level) detected in the period and their clocks."""

    kind: Literal["breach_clock"] = "breach_clock"
    tag: str
    levels: tuple[str, ...]
    clock_hours: int
    as_of: str
    total: int
    candidates: tuple[BreachCandidate, ...] = ()


class FieldRatio(_Data):
    """How many events of a source carry a field."""

    source: str
    field: str
    present: int
    total: int

    @property
    def ratio(self) -> float:
        """present / total (1.0 when there were no events)."""
        return 1.0 if self.total == 0 else self.present / self.total


class FieldCompletenessResult(_Data):
    """Per source and field, the share of events in the period that carry it."""

    kind: Literal["field_completeness"] = "field_completeness"
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    min_ratio: float
    rows: tuple[FieldRatio, ...]


EvidenceResult = Annotated[
    EventsResult
    | DetectorsResult
    | DataQualityResult
    | RetentionResult
    | IntegrityResult
    | AlertReviewResult
    | BreachClockResult
    | FieldCompletenessResult,
    Field(discriminator="kind"),
]


class Statement(_Data):
    """One sentence about a piece of evidence; `gap` marks the ones that make the control a gap."""

    text: str
    gap: bool = False


class ControlReport(_Data):
    """A control's status, the reasons for it, and its evidence."""

    id: str
    title: str
    summary: str
    tags: tuple[str, ...]
    status: Status
    statements: tuple[Statement, ...]
    evidence: tuple[EvidenceResult, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """The statements that decide the status (gaps when there are any, else all)."""
        gaps = tuple(s.text for s in self.statements if s.gap)
        return gaps or tuple(s.text for s in self.statements)


class Scope(_Data):
    """What the report covers: sources collected, hosts and accounts seen."""

    sources: tuple[Comparison, ...]
    """Events per source in this and the previous period."""
    known_sources: tuple[str, ...]
    """Sources that have any events index on the cluster, whatever the period."""
    hosts_total: int
    top_hosts: tuple[Count, ...]
    accounts_total: int
    top_accounts: tuple[Count, ...]
    cloud_accounts: tuple[Count, ...] = ()

    @property
    def events_total(self) -> int:
        """Events of every source in the period."""
        return sum(s.current for s in self.sources)

    @property
    def previous_total(self) -> int:
        """Events of every source in the previous period."""
        return sum(s.previous for s in self.sources)


class AuditorFacts(_Data):
    """Facts every report carries, whatever its controls: retention, integrity, data quality."""

    retention: RetentionResult
    integrity: IntegrityResult
    data_quality: DataQualityResult


class FrameworkRef(_Data):
    """The framework a report is about."""

    name: str
    title: str
    version: str
    description: str


class ReportData(_Data):
    """Everything a report shows; rendering is a pure function of this."""

    framework: FrameworkRef
    period: Period
    previous_period: Period
    generated_at: datetime
    suite_version: str
    scope: Scope
    findings_by_level: tuple[Comparison, ...]
    controls: tuple[ControlReport, ...]
    facts: AuditorFacts
    rule_errors: tuple[str, ...] = ()
    """Rule files that failed to load (they count for no control)."""
    clocks: tuple[ClockNote, ...] = ()
    """Which clock each figure counts by (stated on the first page)."""
    arrivals: tuple[Arrival, ...] = ()
    """When the period's events arrived, per arrival day: the ingestion lag, shown apart from event time."""

    @property
    def gaps(self) -> tuple[ControlReport, ...]:
        """Controls with a gap."""
        return tuple(c for c in self.controls if c.status == "gap")

    def status_counts(self) -> dict[str, int]:
        """How many controls have each status."""
        return {status: sum(c.status == status for c in self.controls) for status in STATUS_LABELS}
