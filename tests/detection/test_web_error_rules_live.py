"""SigmaHQ's Apache and nginx error log rules (`service: apache`, `service: nginx`) on the node, via `siem rules test`.

Each case is an upstream rule as it is (read from the shared SigmaHQ copy, not kept here) over error log
lines written here: the line the rule describes in another letter case (a keyword matches in any case),
and near misses: the same line with the searched text changed, and the searched text in the other
server's error log, which a rule for one server must not search. Exactly the first must match.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from dagster_project.cli import cli

pytestmark = pytest.mark.live

PRODUCT_RULES = ("sigma", "sigmahq", "rules", "web", "product")
ASSERTION = "__pthread_tpp_change_priority: Assertion `new_prio == -1 || (new_prio >= fifo_min_prio && new_prio <= {})'"


def _apache22(level: str, message: str) -> str:
    return f"[Mon Nov 30 10:00:00 2026] [{level}] {message}"


def _apache24(level: str, message: str) -> str:
    return f"[Mon Nov 30 10:00:01.250000 2026] [core:{level}] [pid 2100:tid 139871] {message}"


def _nginx(level: str, message: str) -> str:
    return f"2026/11/30 10:00:02 [{level}] 917#917: {message}"


CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "web_apache_segfault": (
        "apache",
        [
            # What Apache writes ("fault" in lower case), and a 2.2 line in upper case.
            _apache24("notice", "AH00052: child pid 4242 exit signal Segmentation fault (11)"),
            _apache22("notice", "child pid 4243 EXIT SIGNAL SEGMENTATION FAULT (11)"),
        ],
        [
            _apache24("notice", "AH00052: child pid 4244 exit signal Bus error (7)"),
            _nginx("alert", "worker process 4245 exit signal Segmentation fault (11)"),
        ],
    ),
    "web_apache_threading_error": (
        "apache",
        [_apache22("notice", "httpd: tpp.c:63: " + ASSERTION.format("FIFO_MAX_PRIO").upper() + " failed.")],
        [
            _apache22("notice", "httpd: tpp.c:63: " + ASSERTION.format("fifo_min_prio") + " failed."),
            _nginx("alert", "nginx: tpp.c:63: " + ASSERTION.format("fifo_max_prio") + " failed."),
        ],
    ),
    "web_nginx_core_dump": (
        "nginx",
        [_nginx("alert", "worker process 2304 Exited On Signal 6 (Core Dumped)")],
        [
            _nginx("alert", "worker process 2305 exited on signal 11 (core dumped)"),
            _apache24("error", "AH00060: child 2306 exited on signal 6 (core dumped)"),
        ],
    ),
}


def test_error_log_rules_match_their_servers_lines_in_any_case_and_nothing_else(
    tmp_path: Path, opensearch_client: OpenSearch, shared_data: Path
) -> None:
    """Every case: all its lines indexed as web-error events, exactly the ones the rule describes matched."""
    rules = shared_data.joinpath(*PRODUCT_RULES)
    folders = []
    for name, (server, positives, near_misses) in CASES.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "rule.yml").write_text((rules / server / f"{name}.yml").read_text())
        (folder / "error.log").write_text("\n".join(positives + near_misses) + "\n")
        (folder / "info.yml").write_text(f"regression_tests_info:\n  - match_count: {len(positives)}\n")
        folders.append(folder)
    result = CliRunner().invoke(cli, ["rules", "test", *map(str, folders), "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    outcome = {case["case"]: (case["error"], case["events"], case["matched"]) for case in data["cases"]}
    assert outcome == {name: (None, len(p) + len(m), len(p)) for name, (_, p, m) in CASES.items()}
    assert result.exit_code == 0 and data["failed"] == 0
