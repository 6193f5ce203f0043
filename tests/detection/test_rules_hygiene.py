"""Hygiene of every rule artefact under detectors/: one walk, one list of offenders.

Checks: files load (valid Sigma, ids and names unique, references resolve); pySigma's validators
pass; folder and file names follow the log source and SigmaHQ naming; ATT&CK and compliance tags are
present and well-formed; all CIS AWS v1.4 monitoring controls 4.1-4.15 are covered; every rule has
examples (>= 1 match, >= 1 no_match; bursts share one group key); every field a compiled rule reads
is mapped by the component templates of the index template covering its index pattern.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from dagster_project.detection.compile import CompiledRule, compile_rule
from dagster_project.detection.examples import RuleExamples, examples_dir, examples_path, load_examples
from dagster_project.detection.rules import Rule, parse_sigma, rules_dir, scan_rules
from dagster_project.errors import DetectionError
from dagster_project.sources.base import get_path
from dagster_project.storage.artifacts import load_artifacts, merged_mappings

SKIPPED_VALIDATORS = {
    # Needs the MITRE ATT&CK data, which pySigma downloads at run time; tags are checked below instead.
    "attacktag",
    "d3_fendtag",
    # Our compliance namespaces (pci_dss, cis_aws, hipaa, soc2) are not in Sigma's namespace list.
    "namespace_tag",
    # The suite's Sysmon log source is `service: sysmon` with EventID 1, not `category: process_creation`.
    "specific_instead_of_generic_logsource",
}
ALLOWED_ISSUES = {
    # `union/\*\*/select` means the literal SQL comment "/**/", so the escapes are intended.
    ("web_sql_injection", "EscapedWildcardIssue"),
}
FILE_PREFIXES = {
    "aws_cloudtrail": "aws_cloudtrail_",
    "linux_auth": "lnx_",
    "webserver": "web_",
    "windows_security": "win_security_",
    "windows_sysmon": "win_sysmon_",
}
TACTICS = {
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
}
TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?")
COMPLIANCE = {
    "pci_dss": re.compile(r"v4(\.\d+)+"),
    "cis_aws": re.compile(r"v1\.4\.4\.\d+"),
    "hipaa": re.compile(r"164\.\d{3}(\.[a-z0-9]+)+"),
    "soc2": re.compile(r"cc\d\.\d+"),
}
CIS_AWS_CONTROLS = {f"cis_aws.v1.4.4.{number}" for number in range(1, 16)}


def _tag_offenders(rule: Rule) -> list[str]:
    offenders = []
    namespaces = {tag.split(".", 1)[0] for tag in rule.tags}
    for tag in rule.tags:
        namespace, _, name = tag.partition(".")
        if namespace == "attack" and name not in TACTICS and not TECHNIQUE.fullmatch(name):
            offenders.append(f"{rule.where}: unknown ATT&CK tag {tag}")
        elif namespace in COMPLIANCE and not COMPLIANCE[namespace].fullmatch(name):
            offenders.append(f"{rule.where}: malformed compliance tag {tag}")
        elif namespace not in COMPLIANCE and namespace != "attack":
            offenders.append(f"{rule.where}: tag {tag} is neither ATT&CK nor a known compliance framework")
    if not any(tag.startswith("attack.") and TECHNIQUE.fullmatch(tag[7:]) for tag in rule.tags):
        offenders.append(f"{rule.where}: no ATT&CK technique tag (attack.tNNNN)")
    if not namespaces & set(COMPLIANCE):
        offenders.append(f"{rule.where}: no compliance tag ({', '.join(sorted(COMPLIANCE))})")
    return offenders


def _name_offenders(rule: Rule, root: Path) -> list[str]:
    folder = rule.path.relative_to(root).parts[0]
    target = rule.logsource.target().name
    offenders = []
    if folder != target:
        offenders.append(f"{rule.where}: log source {target} belongs under rules/{target}/, not rules/{folder}/")
    stem = rule.path.stem
    if not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", stem) or not stem.startswith(FILE_PREFIXES.get(target, "?")):
        offenders.append(f"{rule.where}: file name should be snake_case starting {FILE_PREFIXES.get(target)}")
    if rule.name is not None and rule.name != stem:
        offenders.append(f"{rule.where}: rule name {rule.name} differs from its file name")
    return offenders


def _example_offenders(rule: Rule, compiled: CompiledRule, examples: RuleExamples) -> list[str]:
    offenders = []
    if not examples.match or not examples.no_match:
        offenders.append(f"{examples.path}: needs at least one match and one no_match example")
    if compiled.correlation is None:
        return offenders
    seen: dict[tuple[str, ...], str] = {}
    for example in examples.all:
        keys = {
            tuple(str(get_path(doc, field)) for field in compiled.correlation.group_by) for doc in example.documents
        }
        if len(keys) != 1:
            offenders.append(f"{examples.path}: {example.label} mixes group keys {sorted(keys)}")
            continue
        (key,) = keys
        if "None" in key:
            continue
        if key in seen:
            offenders.append(f"{examples.path}: {example.label} reuses the group key of {seen[key]}")
        seen[key] = example.label
    return offenders


def _field_exists(mappings: dict[str, Any], dotted: str) -> bool:
    node: dict[str, Any] = mappings
    for part in dotted.split("."):
        properties = node.get("properties", {})
        multi_fields = node.get("fields", {})  # a sub-field such as `caseless`
        if part not in properties and part not in multi_fields:
            return False
        node = properties.get(part) or multi_fields[part]
    return "type" in node and node["type"] != "object"


def _index_template_mappings() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Merged mappings per index pattern, and problems found while merging."""
    by_pattern: dict[str, dict[str, Any]] = {}
    problems = []
    for template in load_artifacts("index_template"):
        for pattern in template.body.get("index_patterns", []):
            try:
                by_pattern[pattern] = merged_mappings(template.body.get("composed_of", []))
            except Exception as exc:  # noqa: BLE001  (an unresolved reference is an offence to list)
                problems.append(f"{template.path}: {exc}")
    return by_pattern, problems


def test_rule_artifacts_are_hygienic() -> None:
    """Walk every rule and its examples; every problem found is listed, then one assertion."""
    root = rules_dir()
    ruleset = scan_rules(root)
    offenders: list[str] = [str(error) for error in ruleset.errors]

    validator = SigmaValidator([cls for name, cls in validators.items() if name not in SKIPPED_VALIDATORS])
    for rule in ruleset.rules:
        sigma_objects = [sigma for _, sigma in parse_sigma(rule.sources[0])]
        for issue in validator.validate_rules(sigma_objects):
            if (rule.path.stem, type(issue).__name__) not in ALLOWED_ISSUES:
                offenders.append(f"{rule.where}: pySigma {type(issue).__name__}: {issue.description}")

    mappings, problems = _index_template_mappings()
    offenders += problems
    cis_tags: set[str] = set()
    for rule in ruleset.rules:
        offenders += _tag_offenders(rule) + _name_offenders(rule, root)
        cis_tags |= {tag for tag in rule.tags if tag.startswith("cis_aws.")}
        try:
            compiled = compile_rule(rule)
            examples = load_examples(rule)
        except DetectionError as exc:
            offenders.append(str(exc))
            continue
        offenders += _example_offenders(rule, compiled, examples)
        if compiled.index not in mappings:
            offenders.append(f"{rule.where}: no index template covers {compiled.index}")
            continue
        for field in compiled.fields:
            if not _field_exists(mappings[compiled.index], field):
                offenders.append(f"{rule.where}: field {field} is not mapped for {compiled.index}")

    offenders += [f"no rule carries {tag}" for tag in sorted(CIS_AWS_CONTROLS - cis_tags)]
    offenders += [f"{path}: examples without a rule" for path in _orphan_examples(root, ruleset.rules)]
    assert offenders == []


def _orphan_examples(root: Path, rules: tuple[Rule, ...]) -> list[Path]:
    expected = {examples_path(rule, root) for rule in rules}
    return sorted(path for path in examples_dir().rglob("*.yml") if path not in expected)
