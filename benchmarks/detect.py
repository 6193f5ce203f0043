"""Retro-hunt benchmark: every rule over 1M stored events (target: under 30 s on 2 cores).

Run with a node up: `python benchmarks/detect.py [--events N]`. Prints one JSON object; the baseline is a
`match_all` count plus one terms aggregation over the same indices, measured in the same run.
Works in its own index namespace (benchmarks/namespace.py): wipes it before and after the run, never siem-*.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import namespace  # noqa: E402  (first: the index namespace)
from ingest import RETENTION, synth_auth_log  # noqa: E402

from dagster_project.client import client_from_env  # noqa: E402
from dagster_project.detection.hunt import hunt, select_rules  # noqa: E402
from dagster_project.ingest.pipeline import ingest  # noqa: E402
from dagster_project.storage import naming  # noqa: E402
from dagster_project.storage.bootstrap import bootstrap  # noqa: E402

AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "sqlmap/1.7.2#stable", "Nikto/2.5.0"]
PATHS = ["/", "/index.html", "/login?user=admin' OR '1'='1", "/../../etc/passwd", "/api/v1/items?id=7", "/wp-admin/"]


def synth_access_log(path: Path, count: int) -> None:
    """`count` distinct combined-format lines: mostly benign, some probes and scanners."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    with path.open("w") as out:
        for i in range(count):
            ts = base + timedelta(seconds=i // 15)
            a, b = divmod(i, 60_000)
            status = 404 if i % 11 == 0 else 200
            agent = AGENTS[i % len(AGENTS)] if i % 9 == 0 else AGENTS[0]
            out.write(
                f"198.51.{a % 250}.{b % 250} - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "
                f'"GET {PATHS[i % len(PATHS)]}&n={i} HTTP/1.1" '
                f'{status} {b} "-" "{agent}"\n'
            )


def main() -> None:
    """Ingest the synthetic events, run every rule over them, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    client = client_from_env()
    namespace.wipe(client)
    bootstrap(client, RETENTION)
    with tempfile.TemporaryDirectory() as tmp:
        auth, web = Path(tmp) / "auth.log", Path(tmp) / "access.log"
        synth_auth_log(auth, args.events * 6 // 10)
        synth_access_log(web, args.events - args.events * 6 // 10)
        loaded = ingest(client, "linux-auth", [auth], retention=RETENTION).indexed
        loaded += ingest(client, "web-access", [web], retention=RETENTION, refresh=True).indexed
    client.indices.forcemerge(index=naming.events_pattern(), max_num_segments=1, request_timeout=600)
    start = time.perf_counter()
    client.count(index=naming.events_pattern())
    client.search(
        index=naming.events_pattern(), body={"size": 0, "aggs": {"by": {"terms": {"field": "source.ip", "size": 100}}}}
    )
    baseline = time.perf_counter() - start
    rules = select_rules()
    start = time.perf_counter()
    result = hunt(client, datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), rules=rules)
    seconds = time.perf_counter() - start
    slowest = sorted(result.rules, key=lambda r: -r.seconds)[:5]
    namespace.wipe(client)
    print(
        json.dumps(
            {
                "events": loaded,
                "rules": len(rules),
                "findings": result.findings,
                "hunt_seconds": round(seconds, 2),
                "baseline_count_and_terms_seconds": round(baseline, 3),
                "ratio_to_baseline": round(seconds / baseline, 1),
                "slowest_rules": [{"title": r.title, "seconds": r.seconds, "findings": r.findings} for r in slowest],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
