"""A code location for the run-queue test: the suite's writers pool and its sensor, and steps held at a gate.

Each asset's step connects to the test's gate (a TCP listener on 127.0.0.1, `GateConfig.port`), says which
kind of step and run it is, and blocks until the gate answers: the test sees exactly which steps run, and
decides when they finish. `writer` is in the suite's `opensearch_writers` pool, as ingestion and detection
are; `reader` is in no pool. Steps run in the run's own process (`in_process_executor`), as few processes as
a run can have. (No `from __future__ import annotations`: Dagster reads the config class from the signature.)
"""

import socket

import dagster as dg

from dagster_project.assets.pools import OPENSEARCH_WRITERS, opensearch_writers_pool
from dagster_project.resources import ConcurrencyResource

GATE_SECONDS = 120.0
"""How long a step waits at the gate before it fails (the test opens it well before)."""


class GateConfig(dg.Config):
    """Where the test's gate listens."""

    port: int


def _wait_at_gate(context: dg.AssetExecutionContext, config: GateConfig, kind: str) -> None:
    with socket.create_connection(("127.0.0.1", config.port), timeout=GATE_SECONDS) as gate:
        gate.sendall(f"{kind} {context.run_id}\n".encode())
        if gate.recv(16) != b"go":
            raise dg.Failure(f"the gate closed without opening ({kind} {context.run_id})")


@dg.asset(pool=OPENSEARCH_WRITERS)
def writer(context: dg.AssetExecutionContext, config: GateConfig) -> None:
    """A step of the writers pool, held at the gate."""
    _wait_at_gate(context, config, "writer")


@dg.asset
def reader(context: dg.AssetExecutionContext, config: GateConfig) -> None:
    """A step in no pool, held at the gate."""
    _wait_at_gate(context, config, "reader")


defs = dg.Definitions(
    assets=[writer, reader],
    jobs=[
        dg.define_asset_job("writer_job", selection=[writer], executor_def=dg.in_process_executor),
        dg.define_asset_job("reader_job", selection=[reader], executor_def=dg.in_process_executor),
    ],
    sensors=[opensearch_writers_pool],
    resources={"concurrency": ConcurrencyResource(opensearch_writers=dg.EnvVar("SIEM_OPENSEARCH_WRITERS"))},
)
