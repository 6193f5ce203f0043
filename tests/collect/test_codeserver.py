"""`siem serve`'s code server: Dagster's own `dagster api grpc` on a socket, ready when its health check says so,
and stopped by SIGTERM however `siem serve` itself was started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dagster_project.collect import codeserver
from dagster_project.collect.supervisor import interrupts_restored_for_children
from dagster_project.storage import naming


def test_the_workspace_names_the_socket_and_the_daemons_location_name(tmp_path: Path) -> None:
    (entry,) = yaml.safe_load(codeserver.workspace_yaml(tmp_path / "code.sock"))["load_from"]
    assert entry == {"grpc_server": {"socket": str(tmp_path / "code.sock"), "location_name": codeserver.LOCATION_NAME}}
    assert codeserver.LOCATION_NAME == codeserver.DEFINITIONS_MODULE  # what `-m dagster_project.definitions` named it


def test_no_socket_or_a_socket_that_speaks_no_grpc_is_not_serving(tmp_path: Path) -> None:
    assert not codeserver.serving(tmp_path / "absent.sock")
    path = tmp_path / "mute.sock"
    with socket.socket(socket.AF_UNIX) as mute:
        mute.bind(str(path))
        mute.listen()
        assert not codeserver.serving(path, timeout=0.5)


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """This process has SIGINT ignored, as one started in the background by a shell (CI's `bash .ci/run`) has."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGINT, previous)


def test_dagster_code_server_serves_the_definitions_on_the_socket_and_stops_on_sigterm(
    tmp_path: Path, sigint_ignored: None
) -> None:
    with tempfile.TemporaryDirectory(prefix=naming.SERVE_RUNTIME_PREFIX) as folder:  # short: a socket path's limit
        path = Path(folder) / codeserver.SOCKET_NAME
        with interrupts_restored_for_children():  # as the supervisor starts it
            process = subprocess.Popen(codeserver.command(Path(sys.executable).parent / "dagster", path))
        try:
            deadline = time.monotonic() + 90
            while not codeserver.serving(path):
                assert process.poll() is None, f"the code server exited with {process.returncode}"
                assert time.monotonic() < deadline, "the code server did not answer its health check in 90 s"
                time.sleep(0.2)
            workspace = Path(folder) / codeserver.WORKSPACE_NAME
            workspace.write_text(codeserver.workspace_yaml(path))
            listed = subprocess.run(
                [str(Path(sys.executable).parent / "dagster"), "sensor", "list", "-w", str(workspace)],
                env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert listed.returncode == 0, listed.stderr
            assert "sealed_segments_sensor" in listed.stdout  # what the daemon ticks, read through the socket
            process.terminate()  # inherited SIGINT ignored, it used to ignore SIGTERM until the supervisor's SIGKILL
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def test_children_get_default_interrupts_while_the_supervisor_keeps_ignoring_them(sigint_ignored: None) -> None:
    report = [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"]
    assert subprocess.run(report, capture_output=True, text=True, check=True).stdout.strip() == "True"
    with interrupts_restored_for_children():
        restored = subprocess.run(report, capture_output=True, text=True, check=True).stdout.strip()
    assert restored == "False"
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
