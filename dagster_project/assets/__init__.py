"""Dagster assets, asset checks, schedules and sensors, one module per capability."""
