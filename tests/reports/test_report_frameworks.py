"""Framework files: every one loads, follows the conventions, and a broken one fails naming file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dagster_project.errors import ReportError
from dagster_project.reports.coverage import load_catalog, rules_for
from dagster_project.reports.deliver import recipients_file
from dagster_project.reports.frameworks import (
    DetectorsEvidence,
    EventsEvidence,
    frameworks_dir,
    load_framework,
    load_frameworks,
    parse_framework,
)

EXPECTED = {"pci-dss", "hipaa", "gdpr", "soc2", "cis-aws"}
TAG_PREFIX = {
    "pci-dss": "pci_dss.v4.",
    "hipaa": "hipaa.",
    "gdpr": "gdpr.",
    "soc2": "soc2.",
    "cis-aws": "cis_aws.v1.4.",
}


def test_every_framework_file_is_valid_and_follows_the_conventions() -> None:
    frameworks = load_frameworks()
    offenders: list[str] = []
    if set(frameworks) != EXPECTED:
        offenders.append(f"frameworks on disk: {sorted(frameworks)}")
    recipients = yaml.safe_load(recipients_file().read_text())
    for name, framework in frameworks.items():
        if name not in recipients:
            offenders.append(f"{name}: no recipients in {recipients_file()}")
        for control in framework.controls:
            where = f"{framework.path}: {control.id}"
            if not control.summary or len(control.summary) > 200:
                offenders.append(f"{where}: the paraphrase must be short and present")
            for tag in control.tags:
                if not tag.startswith(TAG_PREFIX[name]) or tag != tag.lower():
                    offenders.append(f"{where}: tag {tag!r} does not start with {TAG_PREFIX[name]!r}")
            for item in control.evidence:
                if isinstance(item, EventsEvidence) and not item.none:
                    offenders.append(f"{where}: {item.id} does not say what an empty result means")
    assert offenders == []


def test_the_issue_s_controls_are_all_declared() -> None:
    ids = {name: {c.id for c in fw.controls} for name, fw in load_frameworks().items()}
    assert {f"10.2.1.{i}" for i in range(1, 8)} | {"10.2.2", "10.4.1", "10.4.3", "10.5.1"} <= ids["pci-dss"]
    assert any(i.startswith("10.3.") for i in ids["pci-dss"])
    assert {"§164.312(b)", "§164.308(a)(1)(ii)(D)", "§164.316(b)(2)"} <= ids["hipaa"]
    assert {"Art. 30", "Art. 32", "Art. 33"} <= ids["gdpr"]
    assert {"CC6.1", "CC7.2", "CC7.3"} <= ids["soc2"]
    assert {f"4.{i}" for i in range(1, 16)} == ids["cis-aws"]


def test_cis_aws_4_2_matches_console_sign_in_without_mfa() -> None:
    control = load_framework("cis-aws").control("4.2")
    events = next(e for e in control.evidence if isinstance(e, EventsEvidence))
    assert events.match == (
        {
            "event.action": "ConsoleLogin",
            "aws.cloudtrail.additionalEventData.MFAUsed": "No",
            "aws.cloudtrail.responseElements.ConsoleLogin": "Success",
        },
    )
    assert events.none == "no console sign-in without MFA in the period"
    assert any(isinstance(e, DetectorsEvidence) for e in control.evidence)


def test_an_invalid_framework_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\ntitle: B\nversion: '1'\ndescription: d\ncadences: [monthly]\ncontrols:\n"
        "  - id: '1'\n    title: t\n    summary: s\n    evidence:\n      - kind: events\n"
        "        id: e\n        title: t\n        none: n\n        samples: 500\n"
    )
    with pytest.raises(ReportError) as caught:
        parse_framework(path.read_text(), path)
    assert caught.value.where == f"{path}:15"
    assert "samples" in caught.value.message


def test_an_unknown_evidence_kind_and_a_misnamed_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    text = (
        "name: broken\ntitle: B\nversion: '1'\ndescription: d\ncadences: [monthly]\ncontrols:\n"
        "  - {id: '1', title: t, summary: s, evidence: [{kind: retention}]}\n"
    )
    with pytest.raises(ReportError, match="differs from the file name"):
        parse_framework(text, path)
    with pytest.raises(ReportError) as caught:
        parse_framework(text.replace("retention", "telepathy"), path)
    assert caught.value.where == f"{path}:7"
    with pytest.raises(ReportError, match="unknown framework 'nope'"):
        load_framework("nope")


def test_frameworks_are_immutable() -> None:
    framework = load_framework("gdpr")
    with pytest.raises(ValueError):
        framework.controls[0].id = "x"  # type: ignore[misc]


def test_detector_coverage_reads_the_rules_folder() -> None:
    catalog = load_catalog()
    for rule in catalog.rules:
        assert rule.id and rule.title and all(re.match(r"^[\w.-]+$", t) for t in rule.tags)
    tagged = rules_for(catalog, ["CIS_AWS.V1.4.4.2"])
    assert all(any(t.lower() == "cis_aws.v1.4.4.2" for t in r.tags) for r in tagged)
    assert frameworks_dir().is_dir()
