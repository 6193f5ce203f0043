"""Fault figures on a real three-node cluster: a data node killed, the cluster manager killed, a rolling restart.

Run: `python benchmarks/faults.py [--json] [--events N] [--scenario NAME]`. Starts (or reuses) the test cluster of
`tests/cluster/` (SIEM_CLUSTER_TEST_HOME, SIEM_CLUSTER_TEST_PORT, SIEM_CLUSTER_TEST_TRANSPORT_PORT; default
<cache>/siem-cluster on 9271-9273) and stops it afterwards if it started it. Works in the siembench-* namespace.
Prints, per scenario, {"events_read", "acknowledged", "searchable", "duplicates", "lost", "seconds_to_green", ...},
plus the memory (RSS) of each node and the wall time of each scenario.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests that assert on it

import namespace  # noqa: E402, F401  (first: the index namespace)

from dagster_project.cluster import nodes  # noqa: E402
from tests.cluster import faults  # noqa: E402

SCENARIOS = ("data_node_killed", "cluster_manager_killed", "rolling_restart")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    """Run the scenarios, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--events", type=int, default=faults.EVENTS, help="Records per node-kill scenario.")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="Only this one (repeatable).")
    args = parser.parse_args()
    config = faults.ClusterConfig.from_env()
    was_running = faults.running_nodes(config)
    started = time.monotonic()
    faults.start_cluster(config)
    result: dict[str, object] = {"seconds_cluster_up": round(time.monotonic() - started, 1), "scenarios": {}}
    client = faults.cluster_client(config)
    result["rss_mb_per_node"] = {n["name"]: rss_mb(n["pid"]) for n in nodes(client)}
    scenarios: dict[str, object] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.scenario or SCENARIOS:
                began = time.monotonic()
                if name == "rolling_restart":
                    figures = faults.rolling_restart(config, Path(tmp))
                else:
                    manager = name == "cluster_manager_killed"
                    figures = faults.acked_indexing(config, Path(tmp), kill_cluster_manager=manager, events=args.events)
                scenarios[name] = {**figures.as_json(), "seconds": round(time.monotonic() - began, 1)}
                if not args.json:
                    print(json.dumps({name: scenarios[name]}, indent=2), flush=True)
        result["rss_mb_per_node_after"] = {n["name"]: rss_mb(n["pid"]) for n in nodes(client)}
    finally:
        client.close()
        if was_running < faults.NODES:
            faults.stop_cluster(config)
    result["scenarios"] = scenarios
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps({k: v for k, v in result.items() if k != "scenarios"}, indent=2))


if __name__ == "__main__":
    main()
