"""Sub-commands of `siem`, one module each; importing this package registers them."""

from dagster_project.commands import (  # noqa: F401
    collect_cmd,
    dashboards_cmd,
    demo_cmd,
    detect_cmd,
    ingest_cmd,
    integrity_cmd,
    opensearch_cmd,
    quality_cmd,
    report_cmd,
    serve_cmd,
    storage_cmd,
)
