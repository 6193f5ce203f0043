"""Sub-commands of `siem`, one module each; importing this package registers them."""

from dagster_project.commands import demo_cmd, detect_cmd, ingest_cmd, opensearch_cmd, storage_cmd  # noqa: F401
