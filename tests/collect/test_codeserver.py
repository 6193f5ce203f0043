"""`siem serve`'s code server: runs start as forks of a warm forkserver; the daemon finds it by a workspace file."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import yaml
from dagster._core.utils import FuturesAwareThreadPoolExecutor
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._grpc.server import DagsterApiServer

from dagster_project.collect.codeserver import DEFINITIONS_MODULE, LOCATION_NAME, use_warm_runs, warm_context


def test_the_code_server_starts_runs_from_the_warm_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DagsterApiServer, "__init__", DagsterApiServer.__init__)  # restored after the test
    context = warm_context()
    use_warm_runs(context)
    use_warm_runs(context)  # a second call does not wrap the wrapper
    stop = threading.Event()
    with FuturesAwareThreadPoolExecutor(max_workers=1) as executor:
        server = DagsterApiServer(stop, logging.getLogger(__name__), executor, lazy_load_user_code=True)
        try:
            assert server._mp_ctx is context
            assert server._mp_ctx.get_start_method() == "forkserver"
        finally:
            stop.set()
            server._shutdown_once_executions_finish_event.set()


def test_the_workspace_names_the_socket_and_keeps_the_location_name(tmp_path: Path) -> None:
    from dagster_project.collect.codeserver import workspace_yaml

    path = tmp_path / "workspace.yaml"
    path.write_text(workspace_yaml(tmp_path / "code.sock"))
    assert yaml.safe_load(path.read_text())["load_from"][0]["grpc_server"]["socket"] == str(tmp_path / "code.sock")
    (origin,) = location_origins_from_yaml_paths([str(path)])
    assert origin.location_name == LOCATION_NAME == DEFINITIONS_MODULE
