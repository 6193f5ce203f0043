"""Long fuzzing run of every parser (the CI run is the same test with 150 examples per source).

Run: `python benchmarks/fuzz.py --examples 20000`. Prints one JSON object: examples per source, minutes, result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the fuzz test with many more examples and report what ran."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=20_000, help="Hypothesis examples per source.")
    args = parser.parse_args()
    env = dict(os.environ, SIEM_FUZZ_EXAMPLES=str(args.examples))
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/ingest/test_hostile_input.py::test_every_source_turns_any_bytes_into_events_or_rejects",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(
        json.dumps(
            {
                "examples_per_source": args.examples,
                "minutes": round((time.monotonic() - started) / 60, 2),
                "passed": done.returncode == 0,
                "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:],
            },
            indent=2,
        )
    )
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
