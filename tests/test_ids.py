"""Golden ids: fixed inputs keep their document ids byte for byte, so re-runs overwrite what earlier runs wrote.

The expected values were computed by the code before the id helper was shared; any change to how an id
is hashed shows up here as a changed hex string (and would mean duplicates on the next re-run).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_project.detection.alerts import alert_id
from dagster_project.detection.hunt import finding_id
from dagster_project.ids import stable_id
from dagster_project.ingest.ids import event_id, quarantine_id
from dagster_project.quality.store import dq_id
from dagster_project.reports.model import FrameworkRef, Period, ReportData
from dagster_project.reports.record import record_id
from dagster_project.security.audit import audit_id

AUTH = "Mar 27 13:06:56 host sshd[1]: Failed password for root"
MARCH = Period.from_dates(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC), "March 2024")


@pytest.mark.parametrize(
    ("made", "expected"),
    [
        (lambda: event_id("linux-auth", AUTH), "073e28d62eca645ff1b2e09118554923"),
        (lambda: event_id("linux-auth", AUTH, 2), "e27ebf576e05fd470bae3ac7e11624e4"),
        (lambda: event_id("jsonl", "caf\u00e9 \udcff bytes"), "2e789ea6b66002cbe86e03ea3030a80a"),
        (
            lambda: quarantine_id("jsonl", "{not json", "invalid JSON: Expecting property name"),
            "d2df36fb0fd725401880f2a4466bf7e8",
        ),
        (lambda: quarantine_id("jsonl", "\udcfe\udcff", "not UTF-8"), "c31b128b8b164456fcc7ee294f32e394"),
        (lambda: dq_id("linux-auth", "2024-03-06", "required_fields"), "61dbd1877b36e85c85c5d03da0d5ddac"),
        (lambda: finding_id("r-ssh", "evt-1"), "4f167569a661abf16a3f29f79ebabb7f"),
        (
            lambda: finding_id("r-corr", "host=a", "2024-03-01T00:00:00+00:00"),
            "ccc8d06e7114455664730e84f3cdc206",
        ),
        (
            lambda: alert_id("r-ssh", "user.name=alice", "2024-03-05T14:00:00+00:00"),
            "698761515ee0b2e504b4311cad96c8d5",
        ),
        (
            lambda: audit_id("report.generated", "pci-dss:2024-03-01", "abc"),
            "ba223be2d4035e2f1b9065789df83b77d4263891592ea9005807e2f4711b424b",
        ),
        (
            lambda: record_id(
                ReportData.model_construct(framework=FrameworkRef.model_construct(name="pci-dss"), period=MARCH)
            ),
            "a0c425b67bdce61a35140e808deecc6b237bfd1ed67c7cbe84badff3dd50541b",
        ),
    ],
    ids=[
        "event",
        "event-repeat",
        "event-surrogates",
        "quarantine",
        "quarantine-surrogates",
        "dq",
        "finding",
        "finding-group",
        "alert",
        "audit",
        "report-record",
    ],
)
def test_ids_of_fixed_inputs_do_not_change(made: object, expected: str) -> None:
    assert made() == expected  # type: ignore[operator]


def test_parts_are_separated_so_shifting_text_between_them_changes_the_id() -> None:
    assert stable_id("ab", "c") != stable_id("a", "bc")
    assert len(stable_id("a")) == 32 and len(stable_id("a", length=64)) == 64
