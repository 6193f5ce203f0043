"""`siem ingest` as operators call it: the --json contract, exit codes and one-line reasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LINE = "Mar 27 13:06:56 host-a sshd[1291]: Failed password for root from 85.245.107.41 port {port} ssh2\n"


def siem(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagster_project", *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.live
def test_json_summary_has_exactly_the_contract_keys_first(clean_siem: object, tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text("".join(LINE.format(port=p) for p in range(5)) + "not syslog at all\n")
    env = dict(os.environ, SIEM_RETENTION_DAYS="20000")
    assert siem("bootstrap", env=env).returncode == 0
    done = siem("ingest", "--source", "linux-auth", str(path), "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert list(summary)[:7] == ["source", "files", "read", "indexed", "quarantined", "duplicates", "seconds"]
    assert (summary["source"], summary["files"], summary["read"], summary["indexed"], summary["quarantined"]) == (
        "linux-auth",
        1,
        6,
        5,
        1,
    )


@pytest.mark.live
def test_ingest_before_bootstrap_is_refused_and_stores_nothing(clean_siem: Any, tmp_path: Path) -> None:
    """Without the source's index template the node would guess mappings (text command lines, no `caseless`)."""
    path = tmp_path / "auth.log"
    path.write_text(LINE.format(port=1))
    done = siem("ingest", "--source", "linux-auth", str(path), "--json")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "run `siem bootstrap` first" in done.stderr, done.stderr
    assert not clean_siem.indices.exists(index="siem-events-*", allow_no_indices=False)


def test_unknown_source_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    done = siem("ingest", "--source", "nope", str(tmp_path), "--json")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "unknown source 'nope'" in done.stderr


def test_unreadable_path_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    done = siem("ingest", "--source", "linux-auth", str(tmp_path / "missing.log"), "--json")
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "no such file or directory" in done.stderr


def test_unreachable_cluster_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_text(LINE.format(port=1))
    env = dict(os.environ, OPENSEARCH_URL="http://127.0.0.1:9")
    done = siem("ingest", "--source", "linux-auth", str(path), "--json", env=env)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "cluster unreachable" in done.stderr
