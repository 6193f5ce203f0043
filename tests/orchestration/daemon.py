"""A real Dagster instance and daemon, for the tests here and `benchmarks/backfill.py`.

The instance is the checkout's own `dagster.yaml` (run queue, pools) in a DAGSTER_HOME of its own; the
daemon is `dagster-daemon run` on one code location, in its own session so that stopping it stops the code
server and the runs it launched; runs and backfills are submitted with `dagster-graphql`, Dagster's own
command for its GraphQL API, as the UI submits them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

REPO = Path(__file__).resolve().parents[2]
INSTANCE_CONFIG = REPO / "dagster.yaml"
BIN = Path(sys.executable).parent
T = TypeVar("T")


def poll(what: str, probe: Callable[[], T | None], seconds: float, every: float = 0.5) -> T:
    """The first truthy value `probe` returns within `seconds`; AssertionError naming `what` otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(every)  # polling Dagster's storage: there is no event to wait on


@dataclass
class Dagster:
    """A DAGSTER_HOME holding the project's instance config, and how to reach one code location."""

    home: Path
    location: list[str]
    """`dagster` options naming the code location: ["-f", path] or ["-m", module]."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables the daemon, its code server and its runs get on top of this process's environment."""

    @classmethod
    def create(cls, home: Path, location: list[str], env: Mapping[str, str] | None = None) -> Dagster:
        """A fresh instance at `home`, configured by the checkout's dagster.yaml."""
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(INSTANCE_CONFIG, home / "dagster.yaml")
        return cls(home, location, dict(env or {}))

    def environment(self) -> dict[str, str]:
        """The environment of every Dagster process started here."""
        return {**os.environ, **self.env, "DAGSTER_HOME": str(self.home)}

    def instance(self) -> dg.DagsterInstance:
        """The instance, opened from its dagster.yaml (close it when done)."""
        return dg.DagsterInstance.from_config(str(self.home))

    @contextmanager
    def daemon(self) -> Iterator[subprocess.Popen[bytes]]:
        """`dagster-daemon run` on the code location for the block; its whole session is stopped afterwards."""
        log = (self.home / "daemon.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", *self.location],
            cwd=self.home,  # not the checkout: its .env is not this instance's
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop_session(process)
            log.close()

    def daemon_log(self) -> str:
        """The daemon's output so far (for failure messages)."""
        path = self.home / "daemon.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one GraphQL document run by `dagster-graphql` against the code location."""
        done = subprocess.run(
            [str(BIN / "dagster-graphql"), *self.location, "-t", query, "-v", json.dumps(variables or {})],
            cwd=self.home,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert done.returncode == 0 and lines, f"dagster-graphql failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        answer = json.loads(lines[-1])
        assert "errors" not in answer, answer["errors"]
        return dict(answer["data"])


def launch_runs(dagster: Dagster, runs: list[tuple[str, dict[str, Any]]], location_name: str) -> list[str]:
    """Submit runs of (job, run config) in this order, in one GraphQL document; their run ids."""
    params = ", ".join(f"$p{i}: ExecutionParams!" for i in range(len(runs)))
    fields = " ".join(
        f"r{i}: launchRun(executionParams: $p{i}) {{ __typename ... on LaunchRunSuccess {{ run {{ runId }} }} "
        "... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } } }"
        for i in range(len(runs))
    )
    variables = {
        f"p{i}": {
            "selector": {"repositoryLocationName": location_name, "repositoryName": "__repository__", "jobName": job},
            "runConfigData": config,
        }
        for i, (job, config) in enumerate(runs)
    }
    data = dagster.graphql(f"mutation ({params}) {{ {fields} }}", variables)
    answers = [data[f"r{i}"] for i in range(len(runs))]
    assert all(a["__typename"] == "LaunchRunSuccess" for a in answers), answers
    return [a["run"]["runId"] for a in answers]


def launch_backfill(dagster: Dagster, asset: str, partitions: list[str]) -> str:
    """Submit one asset backfill of `partitions` (as the UI's "Materialize" over a range does); its id."""
    data = dagster.graphql(
        """mutation ($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
            __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"params": {"assetSelection": [{"path": [asset]}], "partitionNames": partitions}},
    )
    answer = data["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return str(answer["backfillId"])


def _stop_session(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the daemon's session (daemon, code server, runs), then SIGKILL what is left after 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
