"""Benchmarks work in an index namespace of their own (`siembench-*`, unless SIEM_INDEX_PREFIX says otherwise),
so a run on a developer's node never writes, wipes or leaves unverifiable data in `siem-*`.

Import this module before anything from `dagster_project`; `python benchmarks/X.py` puts this folder first
on `sys.path`, so `import namespace` finds it.
"""

from __future__ import annotations

import os

BENCH_PREFIX = "siembench"
if os.environ.get("SIEM_INDEX_PREFIX", "") in ("", "siem"):
    os.environ["SIEM_INDEX_PREFIX"] = BENCH_PREFIX
