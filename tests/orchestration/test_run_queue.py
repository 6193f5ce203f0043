"""The run queue and the writers pool on a real Dagster daemon with the checkout's dagster.yaml: more runs than
the limits allow are launched, and the ones over a limit wait in the queue until a slot frees."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dagster_project.assets.pools import OPENSEARCH_WRITERS
from tests.orchestration.daemon import INSTANCE_CONFIG, Dagster, launch_runs, poll

LOCATION = Path(__file__).with_name("queue_location.py")
WRITERS = 1
"""SIEM_OPENSEARCH_WRITERS for this test (not the default 2): the pool's limit must come from the setting."""
SECONDS = 300.0
"""Deadline of each wait: generous, because a loaded 2-core machine starts Python processes slowly."""


class Gate:
    """A TCP listener the test's steps connect to and block on until it opens (see queue_location.py)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.arrived: list[tuple[str, str]] = []
        """(kind, run id) of every step that reached the gate, in order."""
        self._held: list[socket.socket] = []
        self._open = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed
            kind, run_id = connection.makefile().readline().split()
            with self._lock:
                self.arrived.append((kind, run_id))
                if self._open:
                    connection.sendall(b"go")
                    connection.close()
                else:
                    self._held.append(connection)

    def held(self) -> list[tuple[str, str]]:
        """The steps waiting at the gate now (all that arrived, while it is shut)."""
        with self._lock:
            return list(self.arrived)

    def open(self) -> None:
        """Let every held step finish, and every later one pass."""
        with self._lock:
            self._open = True
            for connection in self._held:
                connection.sendall(b"go")
                connection.close()
            self._held.clear()

    def close(self) -> None:
        """Stop listening."""
        self.server.close()


@pytest.fixture
def gate() -> Iterator[Gate]:
    """A shut gate."""
    gate = Gate()
    yield gate
    gate.open()
    gate.close()


def _statuses(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, dg.DagsterRunStatus]:
    return {run.run_id: run.status for run in instance.get_runs(dg.RunsFilter(run_ids=run_ids))}


@pytest.mark.slow
def test_runs_over_the_limits_wait_in_the_queue(tmp_path: Path, gate: Gate) -> None:
    limit = yaml.safe_load(INSTANCE_CONFIG.read_text())["concurrency"]["runs"]["max_concurrent_runs"]
    assert limit > 1 + WRITERS, "the test needs room for readers beside the writer"
    dagster = Dagster.create(tmp_path / "dagster", ["-f", str(LOCATION)], {"SIEM_OPENSEARCH_WRITERS": str(WRITERS)})
    instance = dagster.instance()
    config = {"ops": {"writer": {"config": {"port": gate.port}}}}
    reader_config = {"ops": {"reader": {"config": {"port": gate.port}}}}
    with dagster.daemon():
        storage = instance.event_log_storage
        poll(
            f"the sensor to give the {OPENSEARCH_WRITERS} pool {WRITERS} slot(s)\n{dagster.daemon_log()}",
            lambda: (
                OPENSEARCH_WRITERS in storage.get_concurrency_keys()
                and storage.get_concurrency_info(OPENSEARCH_WRITERS).slot_count == WRITERS
            ),
            SECONDS,
        )
        # Two writers (one slot), then as many readers as runs may be in progress: the queue is first in,
        # first out, so a reader launched while the second writer waits shows the writer waits for the pool.
        order = [("writer_job", config)] * (WRITERS + 1) + [("reader_job", reader_config)] * limit
        run_ids = launch_runs(dagster, order, LOCATION.name)
        writers, readers = run_ids[: WRITERS + 1], run_ids[WRITERS + 1 :]
        running = set(writers[:WRITERS]) | set(readers[: limit - WRITERS])
        waiting = {writers[WRITERS], readers[-1]}

        def settled() -> bool:
            statuses = _statuses(instance, run_ids)
            queued = {run for run, status in statuses.items() if status == dg.DagsterRunStatus.QUEUED}
            return {run for _, run in gate.held()} == running and queued == waiting

        poll(f"{limit} runs at the gate and 2 queued\n{dagster.daemon_log()}", settled, SECONDS)
        held = gate.held()
        assert sorted(kind for kind, _ in held) == ["reader"] * (limit - WRITERS) + ["writer"] * WRITERS
        assert storage.get_concurrency_info(OPENSEARCH_WRITERS).active_slot_count == WRITERS
        gate.open()

        def finished() -> dict[str, dg.DagsterRunStatus] | None:
            statuses = _statuses(instance, run_ids)
            done = all(
                status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE) for status in statuses.values()
            )
            return statuses if done else None

        statuses = poll(f"every run to finish\n{dagster.daemon_log()}", finished, SECONDS)
        assert set(statuses.values()) == {dg.DagsterRunStatus.SUCCESS}
        assert [kind for kind, _ in gate.arrived].count("writer") == WRITERS + 1
        assert storage.get_concurrency_info(OPENSEARCH_WRITERS).active_slot_count == 0
    instance.dispose()
