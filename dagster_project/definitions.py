"""The suite's one Dagster code location: assets, checks, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import cluster
from dagster_project.resources import opensearch_from_env

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([cluster]),
    asset_checks=dg.load_asset_checks_from_modules([cluster]),
    resources={"opensearch": opensearch_from_env()},
)
