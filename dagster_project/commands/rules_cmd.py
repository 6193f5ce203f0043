"""`siem rules check PATH... [--json]` and `siem rules test PATH... [--json]`: rules before they run."""

from __future__ import annotations

from pathlib import Path

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.detection.casetests import find_cases, run_cases
from dagster_project.detection.check import check_rules

_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))


@click.group("rules")
def rules_group() -> None:
    """Check Sigma rules (compile and route) and run their test cases on the node."""


@rules_group.command("check")
@_PATHS
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Load and compile rules (any status); a table per log source and every rule that will not run, with why."""
    report = check_rules(paths)
    lines = [f"{'log source':40} {'rules':>6} {'compiled':>9}"]
    lines += [f"{key:40} {t.rules:>6} {t.compiled:>9}" for key, t in sorted(report.by_logsource.items())]
    lines += [f"{u.path}: {u.reason}" for u in report.unsupported]
    share = 100 * report.compiled / report.rules if report.rules else 100.0
    lines.append(f"{report.compiled} of {report.rules} rules compile and route ({share:.1f} %)")
    emit(report.as_json(), as_json, "\n".join(lines))


@rules_group.command("test")
@_PATHS
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def test_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Run rule test cases (SigmaHQ's regression layout) on the node; exit 1 when a case fails."""
    cases = find_cases(paths)
    with opened_client() as client:
        results = run_cases(client, cases)
    passed = sum(1 for r in results if r.ok is True)
    failed = sum(1 for r in results if r.ok is False)
    data = {"cases": [r.as_json() for r in results], "passed": passed, "failed": failed}
    marks = {True: "ok  ", False: "FAIL", None: "    "}
    lines = [
        f"{marks[r.ok]} {r.case}: {r.matched} of {r.events} events matched"
        + (f" (expected {r.expected})" if r.expected is not None else "")
        + (f" - {r.error}" if r.error else "")
        for r in results
    ]
    lines.append(f"{passed} passed, {failed} failed, {len(results) - passed - failed} without expectation")
    emit(data, as_json, "\n".join(lines))
    if failed:
        raise click.exceptions.Exit(1)
