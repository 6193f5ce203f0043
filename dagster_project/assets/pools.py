"""The Dagster pool every bulk writer to OpenSearch runs in, and the sensor that sizes it from SIEM_OPENSEARCH_WRITERS.

A backfill of hundreds of partitions is many runs at once; what keeps them from overloading the cluster is
that only SIEM_OPENSEARCH_WRITERS of their writing steps (ingestion, detection) run at a time. Dagster keeps
a pool's limit in the instance, not in code, so a sensor of this code location sets it: wherever the daemon
runs (`dagster dev`, docker compose, Kubernetes) the limit follows the setting within a tick, with no step
of its own. The run queue (`dagster.yaml`) then leaves a run whose writer cannot get a slot queued instead
of launching it to wait.
"""

import dagster as dg

from dagster_project.resources import ConcurrencyResource

OPENSEARCH_WRITERS = "opensearch_writers"
"""The pool of every asset that bulk-writes to OpenSearch."""


def size_pool(instance: dg.DagsterInstance, pool: str, limit: int) -> bool:
    """Give `pool` `limit` slots in the instance's storage; False when it had them already."""
    storage = instance.event_log_storage
    if pool in storage.get_concurrency_keys() and storage.get_concurrency_info(pool).slot_count == limit:
        return False
    storage.set_concurrency_slots(pool, limit)
    return True


@dg.sensor(
    name="opensearch_writers_pool",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Keeps the `{OPENSEARCH_WRITERS}` pool at SIEM_OPENSEARCH_WRITERS slots; launches nothing.",
)
def opensearch_writers_pool(context: dg.SensorEvaluationContext, concurrency: ConcurrencyResource) -> dg.SkipReason:
    """The writers pool's limit, set from SIEM_OPENSEARCH_WRITERS (the setting wins over a limit set in the UI)."""
    limit = concurrency.settings().opensearch_writers
    if not context.instance.event_log_storage.supports_global_concurrency_limits:
        return dg.SkipReason(f"this instance's storage has no pools: {OPENSEARCH_WRITERS} is not limited")
    if size_pool(context.instance, OPENSEARCH_WRITERS, limit):
        context.log.info("pool %s: %d slot(s)", OPENSEARCH_WRITERS, limit)
    return dg.SkipReason(f"pool {OPENSEARCH_WRITERS}: {limit} slot(s)")
