"""The Windows event table (`sources/windows/events.yaml`) and its loader (`sources.windows.kinds`)."""

from __future__ import annotations

import re

import pytest

from dagster_project.errors import ArtifactError
from dagster_project.sources.windows.event import SECURITY, SYSMON
from dagster_project.sources.windows.kinds import FILLERS, KINDS, load_kinds


def test_the_packaged_table_covers_the_three_channels() -> None:
    """Security, Sysmon and System codes are classified; the counts are the table's, checked by the goldens."""
    assert set(KINDS) == {SECURITY, SYSMON, "System"}
    assert KINDS[SECURITY][4624].action == "logged-in"
    assert KINDS[SECURITY][4624].fill is FILLERS["logon"]
    assert KINDS[SYSMON][1].user == "sysmon"
    assert KINDS[SECURITY][4768].outcome == "status"


def test_every_filler_is_used_by_the_table() -> None:
    """A filler no entry names is dead code."""
    used = {kind.fill for table in KINDS.values() for kind in table.values()}
    assert [name for name, filler in FILLERS.items() if filler not in used] == []


def test_channel_defaults_apply_unless_an_entry_overrides_them() -> None:
    """`defaults` fill what an entry leaves out."""
    kinds = load_kinds(
        "Security:\n"
        "  defaults: {outcome: success, user: subject}\n"
        "  events:\n"
        "    1: {action: a, description: d, category: [iam], type: [admin]}\n"
        "    2: {action: b, description: d, category: [iam], type: [admin], outcome: keywords, user: target}\n",
        "t.yaml",
    )
    assert (kinds["Security"][1].outcome, kinds["Security"][1].user) == ("success", "subject")
    assert (kinds["Security"][2].outcome, kinds["Security"][2].user) == ("keywords", "target")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{action: a, description: d, category: [iam], type: [admin], fill: nope}", "fill: no filler 'nope'"),
        ("{action: a, description: d, category: [iam], type: [admin], outcome: maybe}", "outcome: 'maybe'"),
        ("{action: a, description: d, category: iam, type: [admin]}", "category: expected a list"),
        ("{description: d, category: [iam], type: [admin]}", "action: expected text"),
        ("{action: a, description: d, category: [iam], type: [admin], colour: red}", "unknown keys ['colour']"),
    ],
)
def test_a_bad_entry_is_an_error_naming_channel_and_code(entry: str, message: str) -> None:
    """The loader refuses what the parser could not use, naming the file, channel and event code."""
    text = f"Security:\n  defaults: {{outcome: success, user: subject}}\n  events:\n    4624: {entry}\n"
    with pytest.raises(ArtifactError, match=re.escape(f"t.yaml: Security 4624: {message}")):
        load_kinds(text, "t.yaml")


def test_an_event_code_must_be_a_number_in_range() -> None:
    """Codes are 16-bit numbers."""
    with pytest.raises(ArtifactError, match="event code 70000 is not a number from 0 to 65535"):
        load_kinds("System:\n  events:\n    70000: {}\n", "t.yaml")
