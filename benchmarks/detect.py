"""Detection benchmark: rules over N generated, Sysmon-heavy events, against a count over the same data.

Run with a node up: `python benchmarks/detect.py [--rules PATH...] [--events N] [--minutes M] [--json]`.
Without `--rules` it runs the curated rules (`detectors/rules/`); a PATH is a rule file or a folder of them
(SigmaHQ's layout included). Rules the suite cannot compile yet are compiled here with pySigma's
`ecs_windows` pipeline (Windows) or no pipeline (the rest) and the OpenSearch Lucene backend, routed to the
events of their product, so a pack's full query load is measured. `--minutes M` hunts only the last M
minutes of the data (the near-real-time path; the data ends now).

Events come from `synth_events.write_mix` (real Windows records with new volatile values, synthesised Sysmon
process creations with varied command lines, Linux auth, web access, CloudTrail) and are ingested through the
suite, in a child process so that `peak_rss_mb` is detection's own. Stdout is one JSON object with exactly
`events, rules, seconds, baseline_seconds, rules_per_second, findings, peak_rss_mb`; the baseline is a
`count` over the hunted range, measured in the same run. Where time went goes to stderr. Works in its own index
namespace (benchmarks/namespace.py) and deletes its events and findings at the end (`--keep` keeps them for
the next run, which then skips generation).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import namespace  # noqa: E402, F401  (first: the index namespace)
from ingest import RETENTION, wipe  # noqa: E402
from sigma.backends.opensearch import OpensearchLuceneBackend  # noqa: E402
from sigma.exceptions import SigmaError  # noqa: E402
from sigma.pipelines.elasticsearch.windows import ecs_windows  # noqa: E402

from dagster_project.client import client_from_env  # noqa: E402
from dagster_project.detection.cache import compiled  # noqa: E402
from dagster_project.detection.compile import CompiledRule, compile_rule  # noqa: E402
from dagster_project.detection.hunt import hunt, select_rules  # noqa: E402
from dagster_project.detection.rules import Rule, resolved_collection, scan_rules  # noqa: E402
from dagster_project.errors import DetectionError  # noqa: E402
from dagster_project.storage import naming  # noqa: E402
from dagster_project.storage.bootstrap import bootstrap  # noqa: E402

SPAN = timedelta(hours=24)
"""The generated events cover the day before the run."""
SOURCE_OF_PRODUCT = {"windows": "windows", "linux": "linux-auth", "aws": "cloudtrail"}
"""Where a rule the suite cannot route yet is run: its product's events (web rules: web access)."""
MARKER = "benchmark-detect.json"

log = logging.getLogger("benchmarks.detect")


def _generate_and_ingest(count: int, end: datetime) -> None:
    """Child process: write the mix and ingest every file through the suite (its memory is not ours)."""
    import synth_events

    from dagster_project.ingest.pipeline import ingest

    client = client_from_env()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = synth_events.write_mix(Path(tmp), count, end, SPAN)
        generated = time.perf_counter() - started
        for source, path in files.items():
            ingest(client, source, [path], retention=RETENTION, now=end)
    client.indices.refresh(index=naming.events_pattern())
    client.indices.forcemerge(index=naming.events_pattern(), max_num_segments=1, request_timeout=1800)
    log.warning("generated %d events in %.0f s, ingested in %.0f s", count, generated, time.perf_counter() - started)


def prepare_events(client: Any, count: int, keep: bool) -> datetime:
    """Make sure `count` generated events are stored; returns the time they end at."""
    marker = Path(tempfile.gettempdir()) / f"{naming.prefix()}-{MARKER}"
    if keep and marker.exists():
        saved = json.loads(marker.read_text())
        stored = client.count(index=naming.events_pattern(), ignore_unavailable=True, allow_no_indices=True)["count"]
        if saved["events"] == count and stored >= count * 0.99:
            return datetime.fromisoformat(saved["end"])
    end = datetime.now(UTC).replace(microsecond=0)
    bootstrap(client, RETENTION)
    wipe(client)
    child = multiprocessing.get_context("spawn").Process(target=_generate_and_ingest, args=(count, end))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating or ingesting events failed (exit {child.exitcode})")
    marker.write_text(json.dumps({"events": count, "end": end.isoformat()}))
    return end


def _pack_compile(rule: Rule) -> CompiledRule:
    """A rule the suite cannot route yet: ecs_windows (Windows) or no pipeline, the Lucene backend."""
    product = rule.logsource.product or ""
    source = SOURCE_OF_PRODUCT.get(product, "web-access" if rule.logsource.category == "webserver" else "")
    if not source:
        raise DetectionError(f"no benchmark route for {rule.logsource}", where=rule.where)
    collection, sigma = resolved_collection(rule)
    backend = OpensearchLuceneBackend(ecs_windows() if product == "windows" else None)
    try:
        queries = backend.convert_rule(sigma, "dsl_lucene")  # type: ignore[arg-type]
    except SigmaError as exc:
        raise DetectionError(str(exc), where=rule.where) from exc
    if len(queries) != 1:
        raise DetectionError(f"{len(queries)} queries", where=rule.where)
    return CompiledRule(rule.id, rule.title, rule.level, naming.events_pattern(source), queries[0]["query"], ())


def _suite_or_pack_compile(rule: Rule) -> CompiledRule:
    """The suite's compiler where it routes the rule, the benchmark's stand-in otherwise."""
    try:
        return compile_rule(rule)
    except DetectionError:
        return _pack_compile(rule)


def load_pack_rules(paths: list[Path]) -> tuple[list[tuple[Rule, CompiledRule]], int]:
    """Every rule under `paths` that compiles (through the compile cache), and how many did not."""
    chosen: list[tuple[Rule, CompiledRule]] = []
    failed = 0
    for path in paths:
        ruleset = scan_rules(path) if path.is_dir() else scan_rules(path.parent, [path])
        failed += len(ruleset.errors)
        for rule in ruleset.rules:
            if rule.status in ("deprecated", "unsupported") or rule.correlation is not None:
                failed += 1
                continue
            try:
                chosen.append((rule, compiled([rule], _suite_or_pack_compile)[0]))
            except DetectionError:
                failed += 1
    return chosen, failed


def main() -> None:
    """Store the events, time the baseline count and the hunt over the same range, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=Path, nargs="+", help="rule files or folders (default: the curated rules)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--minutes", type=int, help="hunt only the last M minutes (the near-real-time path)")
    parser.add_argument("--keep", action="store_true", help="keep the events for the next run")
    parser.add_argument("--json", action="store_true", help="print only the JSON object (the default output too)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    client = client_from_env()
    end = prepare_events(client, args.events, args.keep)
    client.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
    bootstrap(client, RETENTION)
    start = end - timedelta(minutes=args.minutes) if args.minutes else end - SPAN - timedelta(minutes=1)
    stop = end + timedelta(minutes=1)

    started = time.perf_counter()
    rules, failed = load_pack_rules(args.rules) if args.rules else (select_rules(), 0)
    compile_seconds = time.perf_counter() - started

    started = time.perf_counter()
    counted = client.count(
        index=naming.events_pattern(),
        body={"query": {"range": {"@timestamp": {"gte": start.isoformat(), "lt": stop.isoformat()}}}},
    )["count"]
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    result = hunt(client, start, stop, rules=rules)
    seconds = time.perf_counter() - started
    figures = {
        "events": counted,
        "rules": len(rules),
        "seconds": round(seconds, 2),
        "baseline_seconds": round(baseline, 3),
        "rules_per_second": round(len(rules) / seconds, 1) if seconds else None,
        "findings": result.findings,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    slowest = sorted(result.rules, key=lambda r: -r.seconds)[:8]
    log.warning("compiled %d rules in %.1f s (%d not compiled)", len(rules), compile_seconds, failed)
    for outcome in slowest:
        log.warning("  %6.2f s %7d findings  %s", outcome.seconds, outcome.findings, outcome.title)
    if not args.keep:
        wipe(client)
        client.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
