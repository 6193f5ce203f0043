"""`siem serve`'s Dagster code server: one long-lived gRPC server whose runs start as forks of a warm process.

Left to itself, the daemon serves the code location from a gRPC server it spawns and replaces every minute
(its workspace reload), so the suite's code is imported again each minute; and every run starts in a
*spawned* interpreter that imports Dagster and the suite again (2-3 s of CPU, 3-6 s on a loaded machine)
before its first step. A spool batch pays that start on its latency, one batch after another. Here the
supervisor runs this server once, the daemon and the webserver connect to it (`workspace_yaml`), and the
server starts each run through a `forkserver` that imported the definitions once: a run's process is a
fork of it, ready in milliseconds. The run itself executes exactly as Dagster would execute it (same
function, same arguments); only the process start method differs.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
import sys
from pathlib import Path
from typing import Any

import yaml

DEFINITIONS_MODULE = "dagster_project.definitions"
LOCATION_NAME = DEFINITIONS_MODULE
"""The name the location had when the daemon loaded the module itself (`-m`): run and sensor history stay its."""


def workspace_yaml(socket_path: Path) -> str:
    """A workspace file pointing the daemon and the webserver at this server's socket."""
    grpc_server = {"socket": str(socket_path), "location_name": LOCATION_NAME}
    return yaml.safe_dump({"load_from": [{"grpc_server": grpc_server}]}, sort_keys=False)


def warm_context() -> multiprocessing.context.ForkServerContext:
    """A forkserver context whose server process imports the definitions before it forks any run."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([DEFINITIONS_MODULE])
    return context


def use_warm_runs(context: multiprocessing.context.BaseContext) -> None:
    """Make Dagster's code server start runs with `context` instead of the `spawn` start method it hard-codes."""
    from dagster._grpc import server

    original = server.DagsterApiServer.__init__
    if getattr(original, "siem_warm", False):
        return

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if not hasattr(self, "_mp_ctx"):
            raise RuntimeError("dagster's code server no longer has _mp_ctx: update dagster_project.collect.codeserver")
        self._mp_ctx = context

    init.siem_warm = True  # type: ignore[attr-defined]
    server.DagsterApiServer.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """`python -m dagster_project.collect.codeserver --socket PATH`: `dagster api grpc` for the suite, warm runs."""
    from dagster._cli.api import grpc_command

    context = warm_context()
    use_warm_runs(context)
    multiprocessing.forkserver.ensure_running()  # import the definitions now, not when the first batch waits
    grpc_command.main(
        args=["--module-name", DEFINITIONS_MODULE, "--location-name", LOCATION_NAME, *argv],
        prog_name="siem code server",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
