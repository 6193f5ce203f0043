"""One backfill of 365 daily `findings` partitions over the shared samples, through a real Dagster daemon.

Run with a node up: `python benchmarks/backfill.py [--json] [--days N]`. Ingests every source's samples (what
`siem demo` ingests) into the siembench-* namespace, takes the N days (365) that hold the most sample days,
and submits ONE asset backfill of `findings` over them (`dagster-graphql`, as the UI's "Materialize" over a
range does) to a daemon on the checkout's dagster.yaml (`tests/orchestration/daemon.py`). Prints the runs the
backfill policy made of it, its wall time from submission to completion, each run's seconds, and the
findings stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the daemon harness lives with the tests

import dagster as dg  # noqa: E402
import namespace  # noqa: E402, F401  (first: the index namespace)
from ingest import wipe  # noqa: E402

from dagster_project.client import client_from_env  # noqa: E402
from dagster_project.commands.demo_cmd import DEMO_RETENTION, demo_inputs, samples_dir  # noqa: E402
from dagster_project.detection.arrivals import days_with_events  # noqa: E402
from dagster_project.ingest.pipeline import ingest  # noqa: E402
from dagster_project.settings import ConnectionSettings, NodeSettings, effective_url  # noqa: E402
from dagster_project.storage import naming  # noqa: E402
from dagster_project.storage.bootstrap import bootstrap  # noqa: E402
from tests.orchestration.daemon import REPO, Dagster, launch_backfill, poll  # noqa: E402

LOCATION = Path(__file__).with_name("backfill_location.py")
TERMINAL = {"COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
"""Backfill statuses after which it launches nothing more (the values of Dagster's BulkActionStatus)."""


def busiest_window(days: list[str], length: int) -> list[str]:
    """The `length` consecutive days ending on a sample day that hold the most sample days."""
    parsed = sorted(date.fromisoformat(day) for day in days)
    best = max(parsed, key=lambda end: sum(end - timedelta(days=length - 1) <= d <= end for d in parsed))
    return [(best - timedelta(days=length - 1 - i)).isoformat() for i in range(length)]


def code_location_env(url: str) -> dict[str, str]:
    """Every variable the code location wires (empty = default, as `.env` has them), the cluster at `url`."""
    env = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.isupper() and not line.startswith("#"):
            env[name] = value
    return {**env, **{k: v for k, v in os.environ.items() if k in env}, "OPENSEARCH_URL": url}


def main() -> None:
    """Ingest the samples, run the backfill, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--days", type=int, default=365, help="Daily partitions in the backfill.")
    args = parser.parse_args()
    url = effective_url(ConnectionSettings(), NodeSettings())
    client = client_from_env()
    bootstrap(client, DEMO_RETENTION)
    wipe(client)
    client.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
    read = 0
    for item in demo_inputs(samples_dir()):
        if item.files:
            read += ingest(client, item.source, item.files, retention=DEMO_RETENTION, refresh=True).read
    sample_days = days_with_events(client, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
    partitions = busiest_window(sample_days, args.days)
    with tempfile.TemporaryDirectory() as tmp:
        dagster = Dagster.create(Path(tmp) / "dagster", ["-f", str(LOCATION)], code_location_env(url))
        instance = dagster.instance()
        with dagster.daemon():
            began = time.monotonic()
            backfill_id = launch_backfill(dagster, "findings", partitions)
            submitted = time.monotonic() - began
            backfill = poll(
                f"backfill {backfill_id} to finish\n{dagster.daemon_log()}",
                lambda: (b := instance.get_backfill(backfill_id)) is not None and b.status.value in TERMINAL and b,
                3600,
                every=1.0,
            )
            seconds = time.monotonic() - began
            runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        instance.dispose()
    client.indices.refresh(index=naming.findings_index(), ignore_unavailable=True)
    findings = (
        client.count(index=naming.findings_index())["count"]
        if client.indices.exists(index=naming.findings_index())
        else 0
    )
    client.close()
    run_seconds = sorted(round((r.end_time or 0) - (r.start_time or 0), 1) for r in runs)
    result = {
        "partitions": len(partitions),
        "first": partitions[0],
        "last": partitions[-1],
        "days_with_events": sum(partitions[0] <= day <= partitions[-1] for day in sample_days),
        "events_read": read,
        "backfills": 1,
        "status": backfill.status.value,
        "runs": len(runs),
        "run_statuses": sorted({r.dagster_run.status.value for r in runs}),
        "seconds": round(seconds, 1),
        "seconds_to_submit": round(submitted, 1),
        "run_seconds": run_seconds,
        "findings": findings,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
