"""Report benchmark: time and peak memory to build the monthly PCI DSS report over 1M events (target < 30 s).

Run with a node up (`siem opensearch up`, or OPENSEARCH_URL):
`python benchmarks/reports.py [--events N] [--keep]`.
It bulk-indexes N synthetic ECS events spread over February 2019 into the suite's daily indices (skipped
when exactly N are already there from a `--keep` run), then measures in the same run:
- `baseline_count_seconds`: a plain `_count` of the month (the cheapest query that touches every event);
- `build_seconds`: every evidence query of the PCI DSS framework (the report data);
- `render_seconds`: HTML, CSV and the PDF (WeasyPrint);
- `peak_python_mb`: tracemalloc's peak during a second, traced build + render.
Prints one JSON object. Unless `--keep`, its namespace is wiped at the end; kept events are sealed, so they verify.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import namespace  # first: the index namespace
from opensearchpy import OpenSearch, helpers

from dagster_project.client import client_from_env
from dagster_project.reports.build import build_report
from dagster_project.reports.coverage import load_catalog
from dagster_project.reports.frameworks import load_framework
from dagster_project.reports.model import Period
from dagster_project.reports.render import evidence_tables, render_csv, render_html, render_pdf
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

MONTH = Period.from_dates(datetime(2019, 2, 1, tzinfo=UTC), datetime(2019, 2, 28, tzinfo=UTC), "February 2019")
RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
SOURCES = ("linux-auth", "web-access", "cloudtrail", "windows")
PATTERN = ",".join(f"{naming.events_family(s)}-2019.02.*" for s in SOURCES)
TARGET_SECONDS = 30.0


def synthetic_events(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` ECS events over the month, mixing the activity the PCI controls look for."""
    rng = random.Random(seed)
    users = [f"user{i:03d}" for i in range(500)]
    hosts = [f"host-{i:02d}" for i in range(50)]
    span = (MONTH.end - MONTH.start).total_seconds()
    for i in range(count):
        source = SOURCES[i % len(SOURCES)]
        when = MONTH.start + timedelta(seconds=rng.random() * span)
        user = rng.choice(users)
        doc: dict[str, Any] = {
            "@timestamp": when.isoformat().replace("+00:00", "Z"),
            "siem": {"source": source},
            "user": {"name": user},
            "host": {"name": rng.choice(hosts)},
            "source": {"ip": f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"},
            "event": {"kind": "event"},
        }
        roll = rng.random()
        if source == "linux-auth":
            action = "sudo_command" if roll < 0.1 else "user_created" if roll < 0.11 else "ssh_login"
            outcome = "failure" if action == "ssh_login" and roll > 0.8 else "success"
            doc["event"].update(action=action, outcome=outcome, category=["authentication"], dataset="linux.auth")
        elif source == "web-access":
            doc["event"].update(action="GET", outcome="failure" if roll < 0.05 else "success", category=["web"])
        elif source == "cloudtrail":
            action = "ConsoleLogin" if roll < 0.05 else "StopLogging" if roll < 0.051 else "DescribeInstances"
            doc["event"].update(action=action, outcome="success", provider="ec2.amazonaws.com")
            doc["cloud"] = {"provider": "aws", "account": {"id": "111122223333"}}
            if action == "ConsoleLogin":
                doc["aws"] = {"cloudtrail": {"additionalEventData": {"MFAUsed": "No" if roll < 0.01 else "Yes"}}}
        else:
            code = "4625" if roll < 0.1 else "4672" if roll < 0.2 else "4624"
            doc["event"].update(code=code, action=code, outcome="failure" if code == "4625" else "success")
        doc["siem"]["content_hash"] = hashlib.sha256(f"{i}".encode()).hexdigest()
        yield doc


def index_events(client: OpenSearch, count: int) -> float:
    """Bulk-index the synthetic month with opensearch-py's parallel helper; returns seconds."""
    started = time.perf_counter()
    failed = 0
    for ok, _ in helpers.parallel_bulk(client, _actions(count), thread_count=2, chunk_size=5000, raise_on_error=False):
        failed += not ok
    if failed:
        raise SystemExit(f"{failed} documents failed to index")
    client.indices.refresh(index=PATTERN)
    seconds = time.perf_counter() - started
    # Kept with --keep, so they must verify: seal each source's events as ingestion would have.
    for source in SOURCES:
        sealed = (
            (a["_index"], a["_id"], a["_source"]) for a in _actions(count) if a["_source"]["siem"]["source"] == source
        )
        namespace.seal(client, source, sealed)
    return seconds


def _actions(count: int) -> Iterator[dict[str, Any]]:
    for i, d in enumerate(synthetic_events(count)):
        index = f"{naming.events_family(d['siem']['source'])}-{d['@timestamp'][:10].replace('-', '.')}"
        yield {"_index": index, "_id": f"bench-{i}", "_source": d}


def count_month(client: OpenSearch) -> int:
    """Events of the month in the benchmark's indices."""
    body = {"query": {"range": {"@timestamp": {"gte": MONTH.start.isoformat(), "lt": MONTH.end.isoformat()}}}}
    return int(client.count(index=PATTERN, body=body, ignore_unavailable=True, allow_no_indices=True)["count"])


def build_and_render(client: OpenSearch) -> tuple[float, float, int]:
    """(build seconds, render seconds, PDF bytes) of the monthly PCI DSS report."""
    framework = load_framework("pci-dss")
    catalog = load_catalog()
    started = time.perf_counter()
    data = build_report(client, framework, MONTH, retention=RETENTION, generated_at=datetime.now(UTC), catalog=catalog)
    built = time.perf_counter()
    html = render_html(data)
    for table in evidence_tables(data).values():
        render_csv(table)
    pdf = render_pdf(html)
    return built - started, time.perf_counter() - built, len(pdf)


def main() -> None:
    """Index (unless present), measure, print one JSON object, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark indices for the next run.")
    args = parser.parse_args()
    client = client_from_env()
    client.info()
    bootstrap(client, RETENTION)
    present = count_month(client)
    index_seconds = None
    if present != args.events:
        namespace.wipe(client)
        bootstrap(client, RETENTION)
        index_seconds = round(index_events(client, args.events), 1)
    events = count_month(client)
    started = time.perf_counter()
    count_month(client)
    baseline = time.perf_counter() - started
    build_and_render(client)  # warm-up: caches and JIT on the node, as a scheduled run would find them
    build_seconds, render_seconds, pdf_bytes = build_and_render(client)
    tracemalloc.start()
    build_and_render(client)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = build_seconds + render_seconds
    result = {
        "benchmark": "monthly PCI DSS report",
        "events": events,
        "index_seconds": index_seconds,
        "baseline_count_seconds": round(baseline, 4),
        "build_seconds": round(build_seconds, 3),
        "render_seconds": round(render_seconds, 3),
        "total_seconds": round(total, 3),
        "target_seconds": TARGET_SECONDS,
        "within_target": total < TARGET_SECONDS,
        "build_to_baseline_ratio": round(build_seconds / baseline, 1) if baseline else None,
        "pdf_bytes": pdf_bytes,
        "peak_python_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if not args.keep:
        namespace.wipe(client)
    client.close()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
