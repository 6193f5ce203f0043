"""Rule packs: SIEM_RULE_PACKS beside the curated rules, SIEM_RULE_MIN_STATUS, and `--rules` restricting a hunt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project.detection.hunt import select_rules
from dagster_project.detection.rules import CURATED, load_rules
from dagster_project.settings import RuleSettings

RULE = """title: Pack Rule {status}
id: {id}
status: {status}
description: A rule of an upstream pack.
author: test
date: 2026-12-01
logsource:
    product: windows
    category: {category}
detection:
    selection:
        Image|endswith: '\\{status}.exe'
    condition: selection
level: medium
"""

IDS = {
    "stable": "0b6c8a52-5c1e-4a8e-9d4b-000000000001",
    "test": "0b6c8a52-5c1e-4a8e-9d4b-000000000002",
    "experimental": "0b6c8a52-5c1e-4a8e-9d4b-000000000003",
    "deprecated": "0b6c8a52-5c1e-4a8e-9d4b-000000000004",
    "unsupported": "0b6c8a52-5c1e-4a8e-9d4b-000000000005",
}
NOT_COLLECTED = "0b6c8a52-5c1e-4a8e-9d4b-000000000006"


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A pack in SigmaHQ's layout: nested folders, one rule per status, and one whose log source is not collected."""
    root = tmp_path / "mypack"
    for status, rule_id in IDS.items():
        path = root / "windows" / "process_creation" / f"proc_creation_win_{status}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(RULE.format(status=status, id=rule_id, category="process_creation"))
    linux = root / "linux" / "proc_creation_lnx_x.yml"
    linux.parent.mkdir(parents=True)
    linux.write_text(
        RULE.format(status="stable", id=NOT_COLLECTED, category="process_creation").replace("windows", "linux")
    )
    return root


def _ids(settings: RuleSettings, **kwargs: object) -> dict[str, tuple[str, str]]:
    return {rule.id: (rule.pack, rule.pack_path) for rule, _ in select_rules(settings=settings, **kwargs)}  # type: ignore[arg-type]


def test_packs_run_beside_the_curated_rules_from_the_minimum_status(pack: Path) -> None:
    """Default `test`: stable and test pack rules run, experimental, deprecated, unsupported and uncollected do not."""
    chosen = _ids(RuleSettings.from_text({"packs": str(pack)}))
    curated = {rule.id for rule in load_rules() if rule.pack == CURATED}
    assert curated <= set(chosen)
    pack_rules = {rule_id: where for rule_id, where in chosen.items() if rule_id not in curated}
    assert pack_rules == {
        IDS["stable"]: ("mypack", "windows/process_creation/proc_creation_win_stable.yml"),
        IDS["test"]: ("mypack", "windows/process_creation/proc_creation_win_test.yml"),
    }


def test_min_status_experimental_and_stable(pack: Path) -> None:
    """SIEM_RULE_MIN_STATUS moves the floor; deprecated and unsupported never run."""
    low = set(_ids(RuleSettings.from_text({"packs": str(pack), "min_status": "experimental"})))
    high = set(_ids(RuleSettings.from_text({"packs": str(pack), "min_status": "stable"})))
    assert {IDS["stable"], IDS["test"], IDS["experimental"]} <= low
    assert IDS["stable"] in high and IDS["test"] not in high
    assert not ({IDS["deprecated"], IDS["unsupported"], NOT_COLLECTED} & (low | high))


def test_rules_option_restricts_the_hunt_to_a_folder(pack: Path) -> None:
    """`--rules PATH` keeps only that folder's rules, named after the configured pack they belong to."""
    settings = RuleSettings.from_text({"packs": str(pack)})
    chosen = _ids(settings, rule_paths=[pack / "windows"])
    assert chosen == {
        IDS["stable"]: ("mypack", "windows/process_creation/proc_creation_win_stable.yml"),
        IDS["test"]: ("mypack", "windows/process_creation/proc_creation_win_test.yml"),
    }


def test_settings_split_packs_on_colons() -> None:
    """SIEM_RULE_PACKS is a `:`-separated list; empty entries are ignored."""
    assert RuleSettings.from_text({"packs": "/a:/b/c::"}).pack_paths() == (Path("/a"), Path("/b/c"))
    assert RuleSettings.from_text({}).min_status == "test"
