"""Detection benchmark: rules over N generated, Sysmon-heavy events, against a count over the same data.

Run with a node up: `python benchmarks/detect.py [--rules PATH...] [--events N] [--minutes M] [--json]`.
Without `--rules` it runs the curated rules (`detectors/rules/`); a PATH is a rule file or a folder of them
(SigmaHQ's layout included). Rules the suite cannot compile yet are compiled here with pySigma's
`ecs_windows` pipeline (Windows) or no pipeline (the rest) and the OpenSearch Lucene backend, routed to the
events of their product, so a pack's full query load is measured. `--minutes M` hunts only the last M
minutes of the data (the near-real-time path; the data ends now). `--percolate` runs the rules as the spool
path does (`detection.nrt`: plain rules stored once as percolator queries, each batch of events matched against
all; correlations and rules the node refuses by hunt): the percolator indices are dropped first, registration
is timed first and again with the rules stored, `seconds` is the stored-rules registration plus detection, and
the hunt of the same rules over the same range runs in the same run as the baseline (its figures, the
registration times and the node's peak heap go to stderr as one `details {...}` line; the findings must agree).
`--arrivals` (with `--minutes`) also copies the hunted range's events into a namespace of their own and hunts
them there: what an arrivals index holding only recent events would cost the near-real-time path, against
the hunt over the day's indices (`arrivals_*` in the details line; the matches per rule must agree).
`--exclude-keyword-rules` leaves out rules with field-less keyword searches (a query_string over every field of
the index) and names them.

Events come from `synth_events.write_mix` (real Windows records with new volatile values, synthesised Sysmon
process creations with varied command lines, Linux auth, web access, CloudTrail) and are ingested through the
suite, in a child process so that `peak_rss_mb` is detection's own. Stdout is one JSON object with exactly
`events, rules, seconds, baseline_seconds, rules_per_second, findings, peak_rss_mb`; the baseline is a
`count` over the hunted range, measured in the same run. Where time went goes to stderr. Works in its own index
namespace (benchmarks/namespace.py) and wipes it before generating and at the end (`--keep` keeps the events,
ingested and sealed by the suite, for the next run, which then skips generation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import namespace  # noqa: E402  (first: the index namespace)
from ingest import RETENTION  # noqa: E402
from opensearchpy import helpers  # noqa: E402
from sigma.backends.opensearch import OpensearchLuceneBackend  # noqa: E402
from sigma.exceptions import SigmaError  # noqa: E402
from sigma.pipelines.elasticsearch.windows import ecs_windows  # noqa: E402
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule  # noqa: E402

from dagster_project import searches  # noqa: E402
from dagster_project.client import client_from_env  # noqa: E402
from dagster_project.detection import nrt, percolate  # noqa: E402
from dagster_project.detection.cache import compiled  # noqa: E402
from dagster_project.detection.compile import CompiledRule, compile_rule  # noqa: E402
from dagster_project.detection.execute import MSEARCH_BATCH, count_matches  # noqa: E402
from dagster_project.detection.hunt import hunt, select_rules  # noqa: E402
from dagster_project.detection.rules import (  # noqa: E402
    Logsource,
    Rule,
    RuleSource,
    parse_sigma,
    resolved_collection,
    scan_rules,
)
from dagster_project.errors import DetectionError  # noqa: E402
from dagster_project.storage import naming  # noqa: E402
from dagster_project.storage.bootstrap import bootstrap  # noqa: E402

SPAN = timedelta(hours=24)
"""The generated events cover the day before the run."""
SOURCE_OF_PRODUCT = {"windows": "windows", "linux": "linux-auth", "aws": "cloudtrail"}
"""Where a rule the suite cannot route yet is run: its product's events (web rules: web access)."""
MARKER = "benchmark-detect.json"
MAX_WILDCARDS = 1000
"""Rules with more wildcard terms than this (SigmaHQ's hash-list rules: up to 8,864) exhaust a 1 GB node's heap
while their queries are parsed, so the benchmark leaves them out and names them."""
SCRATCH_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

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
    namespace.wipe(client)
    bootstrap(client, RETENTION)
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


def _unrouted_rule(path: Path) -> Rule | None:
    """A plain rule whose log source the suite does not route yet, loaded without routing (None if not one)."""
    documents = parse_sigma(RuleSource(path, path.read_text(encoding="utf-8")))
    if len(documents) != 1 or not isinstance(documents[0][1], SigmaRule):
        return None
    line, sigma = documents[0]
    ls = sigma.logsource
    return Rule(
        id=str(sigma.id),
        name=sigma.name,
        title=sigma.title,
        description=sigma.description or "",
        status=str(sigma.status),
        level=str(sigma.level),
        tags=tuple(str(tag) for tag in sigma.tags),
        logsource=Logsource(ls.product, ls.service, ls.category),
        path=path,
        line=line,
        correlation=None,
        references=(),
        sources=(RuleSource(path, path.read_text(encoding="utf-8")),),
    )


def load_pack_rules(paths: list[Path]) -> tuple[list[tuple[Rule, CompiledRule]], int]:
    """Every plain rule under `paths` that compiles (through the compile cache), and how many did not."""
    rules: list[Rule] = []
    failed = 0
    for path in paths:
        ruleset = scan_rules(path) if path.is_dir() else scan_rules(path.parent, [path])
        rules += ruleset.rules
        for error in ruleset.errors:
            unrouted = (
                _unrouted_rule(Path((error.where or "").rsplit(":", 1)[0])) if "no index holds" in str(error) else None
            )
            if unrouted is None:
                failed += 1
            else:
                rules.append(unrouted)
    chosen: list[tuple[Rule, CompiledRule]] = []
    for rule in rules:
        if rule.status in ("deprecated", "unsupported") or rule.correlation is not None:
            failed += 1
            continue
        try:
            chosen.append((rule, compiled([rule], _suite_or_pack_compile)[0]))
        except DetectionError:
            failed += 1
    return chosen, failed


def runnable(client: Any, rules: list[tuple[Rule, CompiledRule]]) -> tuple[list[tuple[Rule, CompiledRule]], int]:
    """The rules the node accepts (some community rules exceed its clause limit), tried on an empty copy of each
    events index's mapping so that trying them costs no search over the data."""
    mappings = client.indices.get_mapping(index=naming.events_pattern())
    settings = client.indices.get_settings(index=naming.events_pattern())
    scratch: dict[str, str] = {}
    for index, mapping in mappings.items():
        family = index.rsplit("-", 1)[0]
        if family not in scratch:
            scratch[family] = naming.name(f"preflight-{len(scratch)}")
            client.indices.delete(index=scratch[family], ignore_unavailable=True)
            # The analysis settings too: the mapping's `caseless` sub-fields name a normalizer defined there.
            analysis = settings[index]["settings"]["index"].get("analysis", {})
            body = {"settings": {"analysis": analysis}, "mappings": mapping["mappings"]}
            client.indices.create(index=scratch[family], body=body)

    def tried(compiled: CompiledRule) -> CompiledRule:
        families = [name for family, name in scratch.items() if fnmatch(family + "-x", compiled.index)]
        return dataclasses.replace(compiled, index=",".join(families) or naming.name("preflight-none"))

    kept: list[tuple[Rule, CompiledRule]] = []
    heavy = [pair for pair in rules if json.dumps(pair[1].query).count("*") > MAX_WILDCARDS]
    for rule, _query in heavy:
        log.warning("left out: %s (%s): more than %d wildcards", rule.title, rule.path.name, MAX_WILDCARDS)
    rules = [pair for pair in rules if pair not in heavy]
    for at in range(0, len(rules), MSEARCH_BATCH):
        batch = rules[at : at + MSEARCH_BATCH]
        try:
            count_matches(client, [tried(c) for _, c in batch], SCRATCH_RANGE[0], SCRATCH_RANGE[1])
            kept += batch
        except DetectionError:
            for pair in batch:
                try:
                    count_matches(client, [tried(pair[1])], SCRATCH_RANGE[0], SCRATCH_RANGE[1])
                    kept.append(pair)
                except DetectionError as exc:
                    log.warning("left out: %s", exc)
    client.indices.delete(index=",".join(scratch.values()), ignore_unavailable=True)
    return kept, len(rules) + len(heavy) - len(kept)


def _keyword_rule(rule: Rule) -> bool:
    """True when the rule searches values without a field (Sigma `keywords`): a query_string over every field."""

    def fieldless(detection: SigmaDetection | SigmaDetectionItem) -> bool:
        if isinstance(detection, SigmaDetectionItem):
            return detection.field is None
        return any(fieldless(item) for item in detection.detection_items)

    for _, sigma in parse_sigma(rule.sources[0]):
        if isinstance(sigma, SigmaRule) and any(fieldless(d) for d in sigma.detection.detections.values()):
            return True
    return False


class HeapSampler:
    """The node's largest JVM heap in use while running (sampled every `every` seconds), in MB."""

    def __init__(self, every: float = 0.2) -> None:
        self.client = client_from_env()  # its own: the benchmark's client keeps one connection
        self.every, self.peak_mb, self.max_mb = every, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            stats = self.client.nodes.stats(metric="jvm", filter_path="nodes.*.jvm.mem")["nodes"]
            for node in stats.values():
                mem = node["jvm"]["mem"]
                self.peak_mb = max(self.peak_mb, mem["heap_used_in_bytes"] / 2**20)
                self.max_mb = mem["heap_max_in_bytes"] / 2**20
            self._stop.wait(self.every)

    def __enter__(self) -> HeapSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _percolated(
    client: Any, rules: list[tuple[Rule, CompiledRule]], start: datetime, stop: datetime, details: dict[str, Any]
) -> tuple[int, dict[str, int]]:
    """Findings (and matches per rule) of the spool path: registration from scratch, then again, then detection."""
    client.indices.delete(index=naming.percolator_index("*"), ignore_unavailable=True)
    started = time.perf_counter()
    plan = nrt.prepare(client, rules)
    details["register_first_seconds"] = round(time.perf_counter() - started, 2)
    assert plan.registered is not None, "the node has no percolator module"
    details["rules_stored"] = plan.registered.changed
    details["rules_refused"] = {rule.pack_path or rule.path.name: why for rule, _, why in plan.registered.refused}
    details["rules_hunted"] = len(plan.hunted)
    started = time.perf_counter()
    plan = nrt.prepare(client, rules)
    details["register_cached_seconds"] = round(time.perf_counter() - started, 2)
    assert plan.registered is not None and plan.registered.changed == 0
    started = time.perf_counter()
    detected = nrt.detect(client, plan, start, stop)
    details["detect_seconds"] = round(time.perf_counter() - started, 2)
    details["percolated_events"] = detected.percolated
    return detected.findings, detected.by_rule


def _arrivals(
    client: Any, rules: list[tuple[Rule, CompiledRule]], start: datetime, stop: datetime, hunted: Any
) -> dict[str, Any]:
    """The hunt of [start, stop) over a copy of that range's events alone, in a namespace of its own."""
    own = naming.prefix()
    query = {"query": {"range": {"@timestamp": {"gte": start.isoformat(), "lt": stop.isoformat()}}}}
    events = searches.collect(client, where="events to copy", index=naming.events_pattern(), body=query)
    os.environ[naming.PREFIX_ENV] = f"{own}arr"
    try:
        namespace.wipe(client)
        bootstrap(client, RETENTION)
        began = time.perf_counter()
        actions = (
            {
                "_op_type": "create",
                "_index": naming.name(hit["_index"][len(own) + 1 :]),
                "_id": hit["_id"],
                "_source": hit["_source"],
            }
            for hit in events
        )
        copied, _ = helpers.bulk(client, actions, chunk_size=2000, refresh=True)
        copy_seconds = time.perf_counter() - began
        client.indices.clear_cache(index=naming.events_pattern(), request=True, query=True)
        began = time.perf_counter()
        small = hunt(client, start, stop, rules=rules)
        seconds = time.perf_counter() - began
    finally:
        namespace.wipe(client)
        os.environ[naming.PREFIX_ENV] = own
    day = {r.id: r.matched for r in hunted.rules}
    return {
        "arrivals_events": copied,
        "arrivals_copy_seconds": round(copy_seconds, 2),
        "arrivals_hunt_seconds": round(seconds, 2),
        "arrivals_findings": small.findings,
        "arrivals_rules_disagreeing": sorted(r.id for r in small.rules if r.matched != day.get(r.id, 0)),
    }


def _log_slowest(result: Any) -> None:
    for outcome in sorted(result.rules, key=lambda r: -r.seconds)[:8]:
        log.warning("  %6.2f s %7d findings  %s", outcome.seconds, outcome.findings, outcome.title)


def main() -> None:
    """Store the events, time the baseline count and the hunt over the same range, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=Path, nargs="+", help="rule files or folders (default: the curated rules)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--minutes", type=int, help="hunt only the last M minutes (the near-real-time path)")
    parser.add_argument(
        "--percolate",
        action="store_true",
        help="plain rules by percolation (stored once, each batch of events against all), correlations by hunt",
    )
    parser.add_argument("--batch", type=int, help=f"events per percolate request (default {percolate.BATCH})")
    parser.add_argument(
        "--exclude-keyword-rules", action="store_true", help="leave out rules with field-less keyword searches"
    )
    parser.add_argument(
        "--arrivals", action="store_true", help="also hunt a copy of the range's events alone (with --minutes)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the events for the next run")
    parser.add_argument("--json", action="store_true", help="print only the JSON object (the default output too)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    percolate.BATCH = args.batch or percolate.BATCH
    client = client_from_env()
    end = prepare_events(client, args.events, args.keep)
    client.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
    bootstrap(client, RETENTION)
    start = end - timedelta(minutes=args.minutes) if args.minutes else end - SPAN - timedelta(minutes=1)
    stop = end + timedelta(minutes=1)

    started = time.perf_counter()
    rules, failed = load_pack_rules(args.rules) if args.rules else (select_rules(), 0)
    compile_seconds = time.perf_counter() - started
    if args.exclude_keyword_rules:
        keyword = [pair for pair in rules if _keyword_rule(pair[0])]
        for rule, _ in keyword:
            log.warning("left out (field-less keywords): %s (%s)", rule.title, rule.path.name)
        rules = [pair for pair in rules if pair not in keyword]
    rules, refused = runnable(client, rules)
    client.indices.clear_cache(index=naming.events_pattern(), request=True, query=True)

    started = time.perf_counter()
    counted = client.count(
        index=naming.events_pattern(),
        body={"query": {"range": {"@timestamp": {"gte": start.isoformat(), "lt": stop.isoformat()}}}},
    )["count"]
    baseline = time.perf_counter() - started

    details: dict[str, Any] = {}
    with HeapSampler() as heap:
        started = time.perf_counter()
        if args.percolate:
            findings, by_rule = _percolated(client, rules, start, stop, details)
            seconds = details["register_cached_seconds"] + details["detect_seconds"]
            details["percolate_peak_heap_mb"] = round(heap.peak_mb)
            # The baseline: the hunt of the same rules over the same range, writing its findings afresh.
            client.indices.delete(index=naming.findings_index(), ignore_unavailable=True)
            bootstrap(client, RETENTION)
            heap.peak_mb = 0.0
            started = time.perf_counter()
            hunted = hunt(client, start, stop, rules=rules)
            details["hunt_seconds"] = round(time.perf_counter() - started, 2)
            details["hunt_findings"] = hunted.findings
            details["hunt_peak_heap_mb"] = round(heap.peak_mb)
            disagree = {r.id for r in hunted.rules if r.matched != by_rule.get(r.id, 0)}
            details["rules_disagreeing"] = sorted(disagree)
            _log_slowest(hunted)
        else:
            hunted = hunt(client, start, stop, rules=rules)
            findings = hunted.findings
            seconds = time.perf_counter() - started
            _log_slowest(hunted)
    if args.arrivals:
        details.update(_arrivals(client, rules, start, stop, hunted))
    details["node_heap_max_mb"] = round(heap.max_mb)
    if not args.percolate:
        details["node_peak_heap_mb"] = round(heap.peak_mb)
    details["load"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    log.warning("details %s", json.dumps(details))
    figures = {
        "events": counted,
        "rules": len(rules),
        "seconds": round(seconds, 2),
        "baseline_seconds": round(baseline, 3),
        "rules_per_second": round(len(rules) / seconds, 1) if seconds else None,
        "findings": findings,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    log.warning(
        "compiled %d rules in %.1f s (%d not compiled, %d refused by the node)",
        len(rules),
        compile_seconds,
        failed,
        refused,
    )
    if not args.keep:
        namespace.wipe(client)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
