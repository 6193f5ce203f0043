"""Where a source's parse time goes: cProfile over parse + normalise + document() on the shared samples.

Run: `python benchmarks/parse_profile.py [SOURCE ...] [--top N] [--rounds N] [--client-share]`. The loop is the one
`benchmarks/ingest.py --parse-only` times; `--client-share` adds what ingestion does next to each event on the
client (id, content hash, canonical JSON and its SHA-256), so the profile covers the whole per-record cost.
Prints each source's profile sorted by cumulative time (stdout; a profiling tool, not a figure to compare).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import sys
import tempfile
from pathlib import Path

from ingest import JSONL_FROM, PARSE_SAMPLES, ecs_json_lines, sample_records

from dagster_project.ingest.ids import content_hash, event_id
from dagster_project.integrity.hashing import canonical_json
from dagster_project.sources.base import Event, RawRecord
from dagster_project.sources.registry import parser_factory


def run(source: str, path: Path, rounds: int, client_share: bool) -> cProfile.Profile:
    """Profile `rounds` passes of parse (+ document, + the client's share when asked) over a source's sample."""
    records, context = sample_records(source, path)
    parser = parser_factory(source)(context)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(rounds):
        _pass(parser.parse, records, source, client_share)
    profile.disable()
    return profile


def _pass(parse, records: list[RawRecord], source: str, client_share: bool) -> None:  # type: ignore[no-untyped-def]
    for record in records:
        result = parse(record)
        if isinstance(result, Event):
            doc = result.document()
            if client_share:
                event_id(source, result.original)
                content_hash(result.original)
                hashlib.sha256(canonical_json(doc)).hexdigest()


def main() -> None:
    """Profile the named sources (all by default) and print the top of each profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sources", nargs="*", help="Sources to profile (default: every sample that exists).")
    parser.add_argument("--top", type=int, default=25, help="Rows of each profile to print.")
    parser.add_argument("--rounds", type=int, default=10, help="Passes over each sample.")
    parser.add_argument("--client-share", action="store_true", help="Also ids, hashes and canonical JSON.")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime, ...).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = dict(PARSE_SAMPLES)
        if all(PARSE_SAMPLES[source].exists() for source in JSONL_FROM):
            samples["jsonl"] = ecs_json_lines(Path(tmp) / "ecs.jsonl")
        for source in args.sources or list(samples):
            path = samples[source]
            if not path.exists():
                continue
            profile = run(source, path, args.rounds, args.client_share)
            print(f"==== {source} ({args.rounds} rounds)", flush=True)
            pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
