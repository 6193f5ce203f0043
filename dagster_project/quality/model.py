"""The checks every partition gets (a plain registry) and the result each one produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a failed check is; only a failed blocking check with ERROR stops downstream assets."""

    ERROR = "error"
    WARN = "warn"


class Method(StrEnum):
    """How a check is computed."""

    AGGREGATION = "aggregation"
    """OpenSearch aggregations over every document of the partition: exact counts, nothing loaded."""
    SAMPLE = "gx-sample"
    """Great Expectations over a bounded random sample of the partition: an estimate."""


@dataclass(frozen=True)
class CheckDef:
    """One kind of check: its name, whether it can block downstream assets, how it is computed."""

    name: str
    blocking: bool
    severity: Severity
    """Severity of a failure; blocking checks fail with WARN below their blocking threshold."""
    method: Method
    summary: str


BLOCKING_RATIO = 0.5
"""A blocking check fails with ERROR when more than this share of what it counts is bad."""

CHECKS: dict[str, CheckDef] = {
    check.name: check
    for check in (
        CheckDef(
            "timestamp_present",
            True,
            Severity.ERROR,
            Method.AGGREGATION,
            "Every event has @timestamp (ERROR, blocking, when most do not).",
        ),
        CheckDef(
            "required_fields",
            True,
            Severity.ERROR,
            Method.AGGREGATION,
            "Every event has the fields its template's _meta.required_fields declares for its kind of event "
            "(ERROR, blocking, when more than half of those values are missing).",
        ),
        CheckDef(
            "timestamp_in_range",
            False,
            Severity.WARN,
            Method.AGGREGATION,
            "@timestamp lies within [reference − retention, reference + 5 min].",
        ),
        CheckDef(
            "content_unique",
            False,
            Severity.WARN,
            Method.AGGREGATION,
            "No record is stored twice: no two events read from one place (file, offset) carry the same "
            "siem.content_hash (a line the log itself repeats is not a duplicate).",
        ),
        CheckDef(
            "ip_valid",
            False,
            Severity.WARN,
            Method.SAMPLE,
            "IP-typed fields hold valid IPv4/IPv6 addresses (GX over a random sample).",
        ),
        CheckDef(
            "outcome_valid",
            False,
            Severity.WARN,
            Method.SAMPLE,
            "event.outcome is success, failure or unknown (GX over a random sample).",
        ),
        CheckDef(
            "freshness",
            False,
            Severity.ERROR,
            Method.AGGREGATION,
            "A source that has sent before has not been silent for longer than SIEM_FRESHNESS_HOURS.",
        ),
        CheckDef(
            "volume",
            False,
            Severity.WARN,
            Method.AGGREGATION,
            "The partition's event count lies within median ± k·MAD of the trailing partitions.",
        ),
    )
}


@dataclass(frozen=True)
class CheckResult:
    """What one check found in one partition of one source."""

    source: str
    partition: str
    check: str
    passed: bool
    severity: Severity
    description: str
    """How the figures were computed, in words."""
    total: int | None = None
    """What was examined (events, or sampled values for GX checks); None where counting does not apply."""
    failing: int | None = None
    observed: Mapping[str, Any] = field(default_factory=dict)
    """Everything an engineer needs to act: counts, top offending values, sample ids."""

    def __post_init__(self) -> None:
        """Refuse a check name that is not in the registry."""
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r}")

    @property
    def blocking(self) -> bool:
        """True when this kind of check may stop downstream assets."""
        return CHECKS[self.check].blocking

    @property
    def method(self) -> Method:
        """How this kind of check is computed."""
        return CHECKS[self.check].method

    @property
    def blocks(self) -> bool:
        """True when this result stops downstream assets: a failed blocking check with ERROR severity."""
        return self.blocking and not self.passed and self.severity is Severity.ERROR

    @property
    def ratio(self) -> float | None:
        """failing / total, or None when there is nothing to divide."""
        if self.total is None or self.failing is None or self.total == 0:
            return None
        return self.failing / self.total

    def as_json(self) -> dict[str, Any]:
        """The result as plain data (the CLI's --json and the siem-dq document share these keys)."""
        return {
            "source": self.source,
            "partition": self.partition,
            "check": self.check,
            "passed": self.passed,
            "severity": self.severity.value,
            "blocking": self.blocking,
            "blocks": self.blocks,
            "method": self.method.value,
            "total": self.total,
            "failing": self.failing,
            "ratio": self.ratio,
            "observed": dict(self.observed),
            "description": self.description,
        }


def failed_to_run(source: str, partition: str, check: str, error: Exception) -> CheckResult:
    """A check that could not run (e.g. its template is missing): failed with ERROR, saying why."""
    return CheckResult(
        source=source,
        partition=partition,
        check=check,
        passed=False,
        severity=Severity.ERROR,
        description=f"Could not run: {error}",
        observed={"error": str(error), "error_type": type(error).__name__},
    )
