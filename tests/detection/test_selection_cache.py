"""The kept rule selection: a second selection parses nothing and equals the first; any edited rule file misses."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project.detection import hunt
from dagster_project.detection.hunt import select_rules
from dagster_project.detection.selection_cache import selections_dir
from dagster_project.settings import RuleSettings

PACK_RULE = """title: Pack Rule One
id: 0d7c3ae5-5d35-4bd4-9e8e-6b1a8c0f4e11
status: test
description: Stands for a pack rule.
logsource:
    product: linux
    service: auth
detection:
    selection:
        event.action: group_created
    condition: selection
level: low
"""


@pytest.fixture
def pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-rule pack folder, and SIEM_HOME (the caches) in tmp_path."""
    monkeypatch.setenv("SIEM_HOME", str(tmp_path / "home"))
    folder = tmp_path / "pack"
    (folder / "linux").mkdir(parents=True)
    (folder / "linux" / "one.yml").write_text(PACK_RULE)
    return folder


def _settings(pack: Path) -> RuleSettings:
    return RuleSettings.from_text({"packs": str(pack)})


def test_a_second_selection_is_read_back_whole_without_parsing_a_rule(
    pack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = select_rules(settings=_settings(pack))
    assert any(rule.pack == "pack" for rule, _ in first) and any(c.correlation for _, c in first)
    assert len(list(selections_dir(tmp_path / "home").glob("*.json"))) == 1

    def no_parsing(*args: object) -> None:
        raise AssertionError("the kept selection should have been used")

    monkeypatch.setattr(hunt, "_candidate_rules", no_parsing)
    assert select_rules(settings=_settings(pack)) == first


def test_an_edited_added_or_removed_rule_file_or_other_settings_select_again(pack: Path) -> None:
    def titles(settings: RuleSettings) -> set[str]:
        return {rule.title for rule, _ in select_rules(settings=settings) if rule.pack == "pack"}

    assert titles(_settings(pack)) == {"Pack Rule One"}
    rule_file = pack / "linux" / "one.yml"
    rule_file.write_text(PACK_RULE.replace("Pack Rule One", "Pack Rule Edited"))
    assert titles(_settings(pack)) == {"Pack Rule Edited"}
    (pack / "linux" / "two.yaml").write_text(
        PACK_RULE.replace("Pack Rule One", "Pack Rule Two").replace("0d7c3ae5", "1d7c3ae5")
    )
    assert titles(_settings(pack)) == {"Pack Rule Edited", "Pack Rule Two"}
    rule_file.unlink()
    assert titles(_settings(pack)) == {"Pack Rule Two"}
    stable_only = RuleSettings.from_text({"packs": str(pack), "min_status": "stable"})
    assert titles(stable_only) == set()  # the pack rule's status is `test`


def test_an_unreadable_entry_is_selected_again(pack: Path, tmp_path: Path) -> None:
    first = select_rules(settings=_settings(pack))
    (entry,) = selections_dir(tmp_path / "home").glob("*.json")
    entry.write_text("{not json")
    assert select_rules(settings=_settings(pack)) == first
