"""The rule loader: the immutable model, and errors that name the file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dagster_project.detection.rules import Logsource, load_rules, scan_rules
from dagster_project.errors import DetectionError

BASE = """title: Failed login
id: 5c1d7a36-08f4-4e0a-8d32-9d7c1f0e6a01
name: failed_login
status: test
description: Base rule.
level: low
logsource:
    product: linux
    service: auth
detection:
    selection:
        event.action: ssh_login
        event.outcome: failure
    condition: selection
"""

COUNT = """title: Many failed logins
id: 5c1d7a36-08f4-4e0a-8d32-9d7c1f0e6a02
name: many_failed_logins
status: test
description: Count rule.
level: medium
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 10m
    condition: {gte: 5}
"""


def _write(root: Path, name: str, text: str) -> Path:
    path = root / "linux_auth" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _only_error(root: Path) -> DetectionError:
    ruleset = scan_rules(root)
    assert len(ruleset.errors) == 1, ruleset.errors
    return ruleset.errors[0]


def test_correlation_file_loads_as_one_rule_with_its_base(tmp_path: Path) -> None:
    """A multi-document file is one rule: the correlation, with the base rule's log source."""
    path = _write(tmp_path, "count.yml", BASE + "---\n" + COUNT)
    (rule,) = load_rules(tmp_path)
    assert (rule.id, rule.name, rule.correlation, rule.references) == (
        "5c1d7a36-08f4-4e0a-8d32-9d7c1f0e6a02",
        "many_failed_logins",
        "event_count",
        ("failed_login",),
    )
    assert rule.logsource == Logsource("linux", "auth", None)
    assert (rule.path, rule.line, rule.level, rule.status) == (path, 16, "medium", "test")
    assert [source.path for source in rule.sources] == [path]


def test_rules_are_immutable(tmp_path: Path) -> None:
    """The model is frozen: a loaded rule cannot be changed in place."""
    _write(tmp_path, "count.yml", BASE + "---\n" + COUNT)
    (rule,) = load_rules(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.level = "high"  # type: ignore[misc]


def test_cross_file_reference_brings_the_other_file_along(tmp_path: Path) -> None:
    """A correlation referencing a rule of another file carries that file in its sources."""
    base = _write(tmp_path, "base.yml", BASE.replace("Base rule.", "Base rule, alerting on its own."))
    count = _write(tmp_path, "count.yml", COUNT)
    rules = {rule.path: rule for rule in load_rules(tmp_path)}
    assert [source.path for source in rules[count].sources] == [count, base]


def test_yaml_error_names_the_line(tmp_path: Path) -> None:
    """Broken YAML is reported at the line where the parser stopped."""
    path = _write(tmp_path, "broken.yml", BASE.replace("    condition: selection", "    condition: [selection"))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:15"
    assert "invalid YAML" in error.message


def test_duplicate_key_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    """A repeated key would silently drop the first value; it is refused with its line."""
    path = _write(tmp_path, "dup.yml", BASE.replace("level: low\n", "level: low\nlevel: high\n"))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:7"
    assert "duplicate key 'level'" in error.message


def test_sigma_error_names_the_document(tmp_path: Path) -> None:
    """pySigma's own errors come back with the line of the document they are about."""
    path = _write(tmp_path, "bad.yml", BASE + "---\n" + COUNT.replace("event_count", "no_such_type"))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:16"
    assert "'no_such_type' is no valid Sigma correlation type" in error.message


def test_unknown_modifier_is_refused(tmp_path: Path) -> None:
    """A misspelt modifier is caught when the file is loaded, not when the rule runs."""
    path = _write(tmp_path, "bad.yml", BASE.replace("event.action:", "event.action|contians:"))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:1"
    assert "contians" in error.message


def test_missing_id_is_refused(tmp_path: Path) -> None:
    """Every rule needs a stable id written in the file."""
    path = _write(tmp_path, "noid.yml", BASE.replace("id: 5c1d7a36-08f4-4e0a-8d32-9d7c1f0e6a01\n", ""))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:1"
    assert "no id" in error.message


def test_two_rules_in_one_file_are_refused(tmp_path: Path) -> None:
    """One rule per file: a second unreferenced document is an error naming both lines."""
    other = BASE.replace("6a01", "6a03").replace("name: failed_login", "name: other")
    _write(tmp_path, "two.yml", BASE + "---\n" + other)
    error = _only_error(tmp_path)
    assert "exactly one rule" in error.message
    assert "lines 1, 16" in error.message


def test_unknown_reference_is_refused(tmp_path: Path) -> None:
    """A correlation naming a rule that does not exist fails at the correlation's line."""
    path = _write(tmp_path, "count.yml", COUNT)
    error = _only_error(tmp_path)
    assert error.where == f"{path}:1"
    assert "unknown rule 'failed_login'" in error.message


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    """Ids are unique across the whole rule set; the second use is reported."""
    _write(tmp_path, "a.yml", BASE)
    second = _write(tmp_path, "b.yml", BASE.replace("name: failed_login", "name: other"))
    error = _only_error(tmp_path)
    assert error.where == f"{second}:1"
    assert "id 5c1d7a36-08f4-4e0a-8d32-9d7c1f0e6a01 is also used" in error.message


def test_unknown_logsource_is_refused(tmp_path: Path) -> None:
    """A log source no source collects cannot become a rule, and says so."""
    path = _write(tmp_path, "mac.yml", BASE.replace("product: linux\n    service: auth", "product: macos"))
    error = _only_error(tmp_path)
    assert error.where == f"{path}:1"
    assert "log source not collected: product=macos" in error.message


def test_load_rules_raises_the_first_error(tmp_path: Path) -> None:
    """`load_rules` is the strict entry point: any error stops it."""
    _write(tmp_path, "count.yml", COUNT)
    with pytest.raises(DetectionError, match="unknown rule"):
        load_rules(tmp_path)
