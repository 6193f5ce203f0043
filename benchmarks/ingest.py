"""Ingestion benchmark: parse throughput per core, end-to-end vs raw _bulk ratio, peak RSS at 100k and 1M events.

Run: `make bench` (or `python benchmarks/ingest.py` with a node up). Prints one JSON object and leaves its
namespace empty (the raw `_bulk` baseline writes events no chain seals). Every figure is measured in this
run; `e2e_ratio` divides the suite's end-to-end throughput by the raw `_bulk` throughput of
the same documents, pre-serialised, against the same node.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import namespace  # first: the index namespace

from dagster_project.client import client_from_env
from dagster_project.ingest.ids import event_id
from dagster_project.ingest.pipeline import CHUNK_SIZE, ingest
from dagster_project.settings import RetentionSettings
from dagster_project.sources.base import Event, RawRecord, SourceContext
from dagster_project.sources.registry import parser_factory
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)
PARSE_SAMPLES = {
    "linux-auth": SHARED / "linux_auth" / "elastic_auth" / "auth.part1.log",
    "web-access": SHARED / "web" / "apache_access_elastic",
    "cloudtrail": SHARED / "cloudtrail" / "invictus_stratus",
    "windows": SHARED / "windows" / "evtx_attack_samples",
}


def sample_records(source: str, path: Path, limit: int = 20_000) -> tuple[list[RawRecord], SourceContext]:
    """Raw records of a real sample, read once through the source's own reader."""
    context = SourceContext(path=str(path), reference_time=datetime(2024, 1, 1, tzinfo=UTC))
    parser = parser_factory(source)(context)
    files = (
        sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("_")) if path.is_dir() else [path]
    )
    records: list[RawRecord] = []
    for file in files:
        if source == "windows" and not file.name.endswith((".jsonl", ".jsonl.gz")):
            continue
        with gzip.open(file, "rb") if file.suffix == ".gz" else file.open("rb") as raw:
            records.extend(parser.records(raw, str(file)))  # type: ignore[arg-type]
        if len(records) >= limit:
            break
    return records[:limit], context


def parse_eps(source: str, path: Path, seconds: float = 3.0) -> dict[str, float]:
    """Records per CPU-second for parse + normalise + document(), repeated over a real sample."""
    records, context = sample_records(source, path)
    parser = parser_factory(source)(context)
    done = 0
    events = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for record in records:
            result = parser.parse(record)
            if isinstance(result, Event):
                result.document()
                events += 1
        done += len(records)
    elapsed = time.process_time() - start
    return {"records": len(records), "eps": round(done / elapsed), "event_share": round(events / max(done, 1), 4)}


def synth_auth_log(path: Path, count: int) -> None:
    """`count` distinct, realistic sshd/sudo lines (distinct ids), streamed to disk."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    with path.open("w") as out:
        for i in range(count):
            ts = base + timedelta(seconds=i // 20)
            a, b = divmod(i, 65_000)
            if i % 5 == 0:
                ip = f"10.{a % 250}.{b // 256 % 250}.{b % 250}"
                line = f"sshd[{1000 + b}]: Accepted publickey for deploy{a % 50} from {ip} port {b} ssh2"
            elif i % 7 == 0:
                command = f"/usr/bin/systemctl restart app{b}"
                line = f"sudo:    admin{a % 9} : TTY=pts/{b % 9} ; PWD=/home/admin ; USER=root ; COMMAND={command}"
            else:
                ip = f"203.0.{a % 250}.{b % 250}"
                line = f"sshd[{1000 + b}]: Failed password for invalid user guest{b} from {ip} port {b} ssh2"
            out.write(f"{ts:%b} {ts.day:2d} {ts:%H:%M:%S} web-{a % 30:02d} {line}\n")


def wipe(client) -> None:  # type: ignore[no-untyped-def]
    """Everything of the benchmark namespace, chain records included: what is left must verify (nothing is)."""
    namespace.wipe(client)


def e2e_vs_raw(client, path: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """End-to-end ingest throughput over raw `_bulk` of the same documents, pre-serialised."""
    wipe(client)
    summary = ingest(client, "linux-auth", [path], retention=RETENTION, refresh=True)
    e2e = summary.read / summary.seconds
    # Pre-serialise exactly what ingestion indexed (same ids, same documents), then time raw _bulk.
    context = SourceContext(path=str(path), reference_time=datetime.fromtimestamp(path.stat().st_mtime, UTC))
    parser = parser_factory("linux-auth")(context)
    bodies: list[bytes] = []
    buffer = io.BytesIO()
    n = 0
    with path.open("rb") as stream:
        for record in parser.records(stream, str(path)):
            event = parser.parse(record)
            assert isinstance(event, Event)
            doc = event.document()
            action = {
                "create": {
                    "_index": naming.events_index("linux-auth", event.timestamp),
                    "_id": event_id("linux-auth", event.original),
                }
            }
            buffer.write(json.dumps(action).encode() + b"\n" + json.dumps(doc).encode() + b"\n")
            n += 1
            if n % CHUNK_SIZE == 0:
                bodies.append(buffer.getvalue())
                buffer = io.BytesIO()
    if buffer.tell():
        bodies.append(buffer.getvalue())
    wipe(client)
    start = time.perf_counter()
    for body in bodies:
        client.bulk(body=body, request_timeout=120)
    client.indices.refresh(index=naming.events_pattern())
    raw = n / (time.perf_counter() - start)
    wipe(client)
    return {"events": n, "e2e_eps": round(e2e), "raw_bulk_eps": round(raw), "e2e_ratio": round(e2e / raw, 3)}


def peak_rss_mb(path: Path) -> float:
    """Peak RSS (MB) of a fresh process that ingests `path` end to end."""
    code = (
        "import resource, sys\n"
        "from dagster_project.client import client_from_env\n"
        "from dagster_project.ingest.pipeline import ingest\n"
        "from dagster_project.settings import RetentionSettings\n"
        "c = client_from_env()\n"
        "s = ingest(c, 'linux-auth', [sys.argv[1]], retention=RetentionSettings(retention_days=20000, hot_days=90))\n"
        "assert s.reconciles\n"
        # VmHWM, not ru_maxrss: ru_maxrss of an exec'd child starts from the parent's peak at fork.
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return round(int(done.stdout.strip().splitlines()[-1]) / 1024, 1)


def main() -> None:
    """Run every measurement and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--e2e-events", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument(
        "--parse-only", action="store_true", help="Only the parse throughput per source (no node needed)."
    )
    args = parser.parse_args()
    result: dict[str, object] = {"cores": os.cpu_count(), "parse_eps": {}}
    for source, path in PARSE_SAMPLES.items():
        if path.exists():
            result["parse_eps"][source] = parse_eps(source, path)  # type: ignore[index]
    if args.parse_only:
        print(json.dumps(result, indent=2))
        return
    client = client_from_env()
    bootstrap(client, RETENTION)
    with tempfile.TemporaryDirectory() as tmp:
        e2e_file = Path(tmp) / "e2e.log"
        synth_auth_log(e2e_file, args.e2e_events)
        result["e2e"] = e2e_vs_raw(client, e2e_file)
        result["e2e_ratio"] = result["e2e"]["e2e_ratio"]  # type: ignore[index]
        for label, count in (("rss_mb_100k", args.small), ("rss_mb_1m", args.large)):
            wipe(client)
            path = Path(tmp) / f"{label}.log"
            synth_auth_log(path, count)
            result[label] = peak_rss_mb(path)
            path.unlink()
        result["rss_growth_mb"] = round(result["rss_mb_1m"] - result["rss_mb_100k"], 1)  # type: ignore[operator]
    wipe(client)
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
