"""SigmaHQ's own regression cases (`../shared/data/windows/sigma_regression/`) through `siem rules test` on the node.

One command run covers every case; each case is then its own test: it passes by SigmaHQ's runner
(`ok`) and matches exactly the `match_count` upstream gives. A case that cannot is a strict xfail with
its reason, so it fails loudly once it passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from dagster_project.cli import cli
from tests.conftest import SHARED_DATA

CASES_DIR = SHARED_DATA / "windows" / "sigma_regression"

EXPECTED_TO_FAIL = {
    "file_event_win_anydesk_artefact": (
        "upstream's match_count 1 is a lower bound: the rule's `TargetFilename|contains` `\\AnyDesk\\user.conf` "
        "holds for 3 of the 5 events (user.conf.new twice and user.conf~RF2d9c20d.TMP)"
    ),
    "registry_set_change_security_zones": (
        "upstream's match_count 1 is a lower bound: all 3 events set a ZoneMap\\Domains value to DWORD 2, "
        "which the rule's filter does not exclude"
    ),
    "win_security_explicit_credential_local_logon": (
        "field references (`|fieldref`) are not supported by pySigma's Lucene backend (a query_string cannot "
        "compare two fields)"
    ),
}
"""Case folder -> why it cannot pass exactly."""


def _case_names() -> list[str]:
    return sorted(rule.parent.name for rule in CASES_DIR.glob("*/rule.yml"))


@pytest.fixture(scope="module")
def outcome(opensearch_client: OpenSearch) -> tuple[int, dict[str, Any]]:
    """`siem rules test <folder> --json` over every shared case: its exit code and its JSON."""
    assert CASES_DIR.is_dir(), f"shared regression cases missing at {CASES_DIR}"
    result = CliRunner().invoke(cli, ["rules", "test", str(CASES_DIR), "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def test_all_shared_cases_ran(outcome: tuple[int, dict[str, Any]]) -> None:
    """Every case folder is reported once; the counts add up and the exit code says whether any failed."""
    exit_code, data = outcome
    assert [case["case"] for case in data["cases"]] == _case_names()
    assert len(data["cases"]) == 106
    assert data["passed"] == sum(1 for case in data["cases"] if case["ok"] is True)
    assert data["failed"] == sum(1 for case in data["cases"] if case["ok"] is False)
    assert exit_code == (1 if data["failed"] else 0)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=EXPECTED_TO_FAIL[name], strict=True))
        if name in EXPECTED_TO_FAIL
        else name
        for name in _case_names()
    ],
)
def test_case_matches_as_upstream_expects(name: str, outcome: tuple[int, dict[str, Any]]) -> None:
    """The case's events parse and index, the rule matches (>= 1, or exactly `match_count` where given)."""
    _, data = outcome
    (case,) = [case for case in data["cases"] if case["case"] == name]
    assert case["error"] is None
    assert case["events"] >= 1
    assert case["ok"] is True
    if case["expected"] is not None:
        assert case["matched"] == case["expected"]


def test_a_case_without_info_has_no_verdict(tmp_path: Path, opensearch_client: OpenSearch) -> None:
    """Without `info.yml` (a detection engineer's own case, or only `rule.yml` + `.evtx`) `ok` is null."""
    source = CASES_DIR / "proc_creation_win_curl_custom_user_agent"
    case = tmp_path / "my_case"
    case.mkdir()
    for path in source.iterdir():
        if path.name != "info.yml" and path.suffix != ".json":
            (case / path.name).write_bytes(path.read_bytes())
    result = CliRunner().invoke(cli, ["rules", "test", str(case), "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["cases"] == [
        {
            "case": "my_case",
            "rule": "85de1f22-d189-44e4-8239-dc276b45379b",
            "events": 1,
            "matched": 1,
            "expected": None,
            "ok": None,
            "error": None,
        }
    ]
    assert (data["passed"], data["failed"]) == (0, 0)
