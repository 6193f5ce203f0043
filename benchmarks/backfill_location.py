"""The code location `benchmarks/backfill.py` runs its daemon on: the suite's own `findings` asset, resources and
writers-pool sensor, without the schedules and sensors that would launch runs of their own meanwhile."""

import dagster as dg

from dagster_project.assets.detection import findings
from dagster_project.assets.pools import opensearch_writers_pool
from dagster_project.definitions import RESOURCES

defs = dg.Definitions(assets=[findings], sensors=[opensearch_writers_pool], resources=RESOURCES)
