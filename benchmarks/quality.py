"""Data-quality benchmark: time and peak RSS to check one 1M-event partition, beside a plain `count` of it.

Run with a node up (OPENSEARCH_URL or the local node): `python benchmarks/quality.py [--events N]`.
It bulk-indexes N synthetic jsonl events into one partition (skipped with --reuse when they are already
there) and seals them into the integrity chain (they stay, and verify), then measures in a fresh child
process, so the figures exclude indexing: a `count` query of the
partition (best of 3), every check of the partition including the siem-dq write (cold, then repeated),
and the child's peak RSS. Prints one JSON object, with the host's load (timings on a busy host vary).
Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import namespace  # first: the index namespace
from opensearchpy import helpers

from dagster_project.client import client_from_env
from dagster_project.ingest.ids import content_hash, event_id
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

SOURCE = "jsonl"
PARTITION = "2026-11-27"
RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)


def synthetic_events(count: int, partition: str) -> Iterator[dict[str, Any]]:
    """`count` distinct events of one arrival day; 1 % lack source.ip, 0.05 % carry an invalid outcome."""
    day = datetime.fromisoformat(partition).replace(tzinfo=UTC)
    arrived = (day + timedelta(hours=23)).isoformat().replace("+00:00", "Z")
    outcomes = ("success", "failure", "unknown")
    for i in range(count):
        ts = day + timedelta(microseconds=i * 86_000)
        doc: dict[str, Any] = {
            "@timestamp": ts.isoformat().replace("+00:00", "Z"),
            "message": f"synthetic login {i}",
            "user": {"name": f"user{i % 5000}"},
            "event": {
                "action": "login",
                "outcome": "ok" if i % 2000 == 7 else outcomes[i % 3],
                "ingested": arrived,
            },
            "host": {"name": f"host-{i % 300:03d}"},
        }
        if i % 100 != 3:
            doc["source"] = {"ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"}
        original = json.dumps(doc, sort_keys=True)
        doc["event"]["original"] = original
        doc["siem"] = {
            "source": SOURCE,
            "partition": partition,
            "line": i + 1,
            "content_hash": content_hash(original),
        }
        yield {
            "_op_type": "create",
            "_index": naming.events_index(SOURCE, ts),
            "_id": event_id(SOURCE, original),
            "_source": doc,
        }


def index_partition(count: int, partition: str, reuse: bool) -> dict[str, Any]:
    """Bulk-index the synthetic partition (streaming, bounded memory); returns what was done, how fast."""
    client = client_from_env()
    try:
        bootstrap(client, RETENTION)
        query = {"bool": {"filter": [{"term": {"siem.source": SOURCE}}, {"term": {"siem.partition": partition}}]}}
        pattern = naming.events_pattern(SOURCE)
        present = client.count(index=pattern, body={"query": query}, allow_no_indices=True, ignore_unavailable=True)
        if reuse and present["count"] == count:
            return {"indexed": 0, "index_seconds": 0.0, "reused": True}
        namespace.wipe(client)
        bootstrap(client, RETENTION)
        started = time.monotonic()
        indexed = 0
        for ok, _ in helpers.parallel_bulk(
            client, synthetic_events(count, partition), thread_count=2, chunk_size=5000, request_timeout=120
        ):
            indexed += ok
        client.indices.refresh(index=pattern)
        seconds = round(time.monotonic() - started, 1)
        # The partition stays for --reuse, so it must verify: seal it as ingestion would have.
        namespace.seal(
            client, SOURCE, ((a["_index"], a["_id"], a["_source"]) for a in synthetic_events(count, partition))
        )
        return {"indexed": indexed, "index_seconds": seconds, "reused": False}
    finally:
        client.close()


def measure(partition: str) -> dict[str, Any]:
    """In a fresh process: the count baseline, the checks (cold, warm, by phase) and peak RSS."""
    started = time.monotonic()
    import great_expectations  # noqa: F401  (timed apart: a one-off cost per process)

    from dagster_project.quality.aggregations import aggregation_checks
    from dagster_project.quality.expectations import load_expectations
    from dagster_project.quality.model import Method
    from dagster_project.quality.runner import check_partition
    from dagster_project.quality.sample import draw_sample, validate_sample
    from dagster_project.quality.scope import partition_query
    from dagster_project.quality.timeliness import freshness, volume
    from dagster_project.settings import QualitySettings

    import_seconds = time.monotonic() - started
    rss_after_imports = _peak_rss_mb()
    client = client_from_env()
    pattern = naming.events_pattern(SOURCE)

    def cold() -> None:
        # Size-0 searches are answered from the shard request cache on repeat: clear it for honest figures.
        client.indices.clear_cache(
            index=f"{pattern},{naming.dq_index()}", request=True, query=True, fielddata=True, ignore_unavailable=True
        )

    try:
        counts = []
        for _ in range(3):
            cold()
            started = time.monotonic()
            total = client.count(index=pattern, body={"query": partition_query(SOURCE, partition)})
            counts.append(time.monotonic() - started)
        runs = []
        for attempt in range(2):
            if attempt == 0:
                cold()
            started = time.monotonic()
            results = check_partition(client, SOURCE, partition, retention=RETENTION)
            runs.append(time.monotonic() - started)
        expectations, settings, now = load_expectations(SOURCE), QualitySettings(), datetime.now(UTC)
        phases: dict[str, Any] = {
            "aggregations": lambda: aggregation_checks(
                client, SOURCE, partition, expectations, now=now, retention=RETENTION
            ),
            "sample_draw": lambda: draw_sample(client, expectations, partition, settings.dq_sample_size),
            "freshness": lambda: freshness(client, SOURCE, partition, now=now, settings=settings),
            "volume": lambda: volume(client, SOURCE, partition, now=now, settings=settings),
        }
        timings, outputs = {}, {}
        for name, phase in phases.items():
            cold()
            started = time.monotonic()
            outputs[name] = phase()
            timings[name] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        validate_sample(expectations, outputs["sample_draw"], partition)
        timings["gx_validate"] = round(time.monotonic() - started, 3)
        return {
            "events": total["count"],
            "count_seconds": round(min(counts), 4),
            "seconds": round(runs[0], 2),
            "seconds_repeat": round(runs[1], 2),
            "phase_seconds": timings,
            "library_import_seconds": round(import_seconds, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "rss_after_imports_mb": round(rss_after_imports, 1),
            "sampled_events": next(r.observed["sampled_events"] for r in results if r.method is Method.SAMPLE),
            "failed_checks": {r.check: f"{r.failing}/{r.total}" for r in results if not r.passed},
        }
    finally:
        client.close()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    """Index (unless reused), then measure in a child process and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partition", default=PARTITION)
    parser.add_argument("--reuse", action="store_true", help="Keep an existing partition of the same size.")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.partition)))
        return
    indexing = index_partition(args.events, args.partition, args.reuse)
    child = subprocess.run(
        [sys.executable, __file__, "--measure", "--partition", args.partition], capture_output=True, text=True
    )
    if child.returncode != 0:
        raise SystemExit(f"measuring failed:\n{child.stderr}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    load = {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps({"partition": args.partition, **indexing, **figures, **load}))


if __name__ == "__main__":
    main()
