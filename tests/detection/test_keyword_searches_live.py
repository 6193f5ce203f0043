"""Sigma keyword searches (values without a field) on the node, through `siem rules test`.

Each log source binds keywords to one field: Windows to every EventData/UserData value (`siem.keyword_text`,
filled by the template's `copy_to`), Linux and web access logs to the message. A keyword is a substring in
any letter case, as Sigma defines it. SigmaHQ's `win_av_relevant_match`, which unbound expanded over every
field of the index and exhausted a 512 MB node, runs as one bounded query.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from dagster_project.cli import cli

pytestmark = pytest.mark.live

RULE = """title: {title}
id: {id}
status: test
description: keyword search test
author: tests
date: 2026-12-02
logsource: {logsource}
detection:
  keywords:
{keywords}
  condition: keywords
level: high
"""


def _windows_event(record_id: int, channel: str, provider: str, event_id: int, data: dict[str, Any]) -> str:
    system = {
        "Provider": {"#attributes": {"Name": provider}},
        "EventID": event_id,
        "Level": 4,
        "TimeCreated": {"#attributes": {"SystemTime": f"2026-11-30T10:00:{record_id:02d}.000000Z"}},
        "EventRecordID": record_id,
        "Channel": channel,
        "Computer": "ws01.example.org",
    }
    return json.dumps({"Event": {"System": system, "EventData": data}})


def _case(root: Path, name: str, rule: str, events_file: str, events: str, expected: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "rule.yml").write_text(rule)
    (folder / events_file).write_text(events)
    (folder / "info.yml").write_text(f"regression_tests_info:\n  - match_count: {expected}\n")
    return folder


def _keywords(*values: str) -> str:
    return "\n".join(f"    - {json.dumps(value)}" for value in values)


def _run(*paths: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["rules", "test", *map(str, paths), "--json"], catch_exceptions=False)
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_keywords_match_substrings_in_any_case_in_their_log_sources_text(
    tmp_path: Path, opensearch_client: OpenSearch
) -> None:
    """Each case's events hold the keyword once in another letter case, once in a field or channel the rule
    must not see, and not at all: exactly the first matches."""
    av = [
        _windows_event(1, "Application", "Antivirus", 1116, {"Data": ["Threat found: HACKTOOL:Win32/Kekeo.A"]}),
        _windows_event(2, "Application", "Antivirus", 1116, {"Data": ["Definitions updated"]}),
        _windows_event(3, "Security", "Microsoft-Windows-Security-Auditing", 4688, {"CommandLine": "hacktool.exe"}),
    ]
    anywhere = [
        _windows_event(4, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", 1, {"CommandLine": "x"}),
        _windows_event(
            5,
            "Microsoft-Windows-PowerShell/Operational",
            "Microsoft-Windows-PowerShell",
            4104,
            {"ScriptBlockText": "Invoke-Mimikatz -Command 'SEKURLSA::LogonPasswords'"},
        ),
    ]
    linux = (
        "Nov 30 10:00:01 host1 bash[101]: python -c 'import pty; PTY.SPAWN(\"/bin/sh\")'\n"
        "Nov 30 10:00:02 host1 bash[101]: ls -la /tmp\n"
        "Nov 30 10:00:03 host1 sshd[202]: Accepted password for alice from 192.0.2.1 port 4000 ssh2\n"
    )
    web = (
        '192.0.2.7 - - [30/Nov/2026:10:00:01 +0000] "GET /item?id=1%20union%20select%20pass HTTP/1.1" 200 12 "-" "-"\n'
        '192.0.2.7 - - [30/Nov/2026:10:00:02 +0000] "GET /item?id=1 HTTP/1.1" 200 12 "-" "-"\n'
    )
    cases = [
        _case(
            tmp_path,
            "windows_application",
            RULE.format(
                title="AV keyword",
                id="6c2f3f0e-0d1c-4a55-9f5e-000000000001",
                logsource="{product: windows, service: application}",
                keywords=_keywords("HackTool"),
            ),
            "events.jsonl",
            "\n".join(av) + "\n",
            1,
        ),
        _case(
            tmp_path,
            "windows_any",
            RULE.format(
                title="Mimikatz keyword",
                id="6c2f3f0e-0d1c-4a55-9f5e-000000000002",
                logsource="{product: windows}",
                keywords=_keywords("sekurlsa::logonpasswords"),
            ),
            "events.jsonl",
            "\n".join(anywhere + av) + "\n",
            1,
        ),
        _case(
            tmp_path,
            "linux_any",
            RULE.format(
                title="pty keyword",
                id="6c2f3f0e-0d1c-4a55-9f5e-000000000003",
                logsource="{product: linux}",
                keywords=_keywords("pty.spawn"),
            ),
            "auth.log",
            linux,
            1,
        ),
        _case(
            tmp_path,
            "webserver",
            RULE.format(
                title="SQL keyword",
                id="6c2f3f0e-0d1c-4a55-9f5e-000000000004",
                logsource="{category: webserver}",
                keywords=_keywords("UNION%20SELECT"),
            ),
            "access.log",
            web,
            1,
        ),
    ]
    data = _run(*cases)
    outcome = {case["case"]: (case["error"], case["events"], case["matched"]) for case in data["cases"]}
    assert outcome == {
        "windows_application": (None, 3, 1),
        "windows_any": (None, 5, 1),
        "linux_any": (None, 3, 1),
        "webserver": (None, 2, 1),
    }


def test_sigmahq_keyword_list_runs_bounded(tmp_path: Path, opensearch_client: OpenSearch, shared_data: Path) -> None:
    """SigmaHQ's AV keyword rule (about 75 keywords) matches its event and leaves the node standing."""
    rule = shared_data / "sigma" / "sigmahq" / "rules" / "windows" / "builtin" / "application" / "Other"
    events = [
        _windows_event(1, "Application", "Antivirus", 1116, {"Data": ["Backdoor.Cobalt!gen3 quarantined"]}),
        _windows_event(2, "Application", "Antivirus", 1116, {"Data": ["Scan finished"]}),
    ]
    folder = _case(
        tmp_path, "av_relevant_match", (rule / "win_av_relevant_match.yml").read_text(), "events.jsonl", "", 1
    )
    (folder / "events.jsonl").write_text("\n".join(events) + "\n")
    (case,) = _run(folder)["cases"]
    assert (case["error"], case["events"], case["matched"], case["ok"]) == (None, 2, 1, True)
    assert opensearch_client.cluster.health()["status"] in ("green", "yellow")
