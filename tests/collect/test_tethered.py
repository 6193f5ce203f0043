"""`siem serve` killed unwarned: its children stop as on its SIGTERM (segments sealed, ports free), none runs on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.collect import tethered
from dagster_project.collect.spool import read_entries, sealed_segments, segments
from tests.collect.peers import Serve, env_for, wait_for
from tests.collect.test_http_live import TOKEN, batch, post

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie is not running: it has exited, its parent has not reaped it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_a_killed_supervisor_s_children_stop_and_seal_what_they_spooled(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = env_for(spool, SIEM_HTTP_TOKEN=TOKEN, SIEM_SPOOL_SEGMENT_SECONDS="3600")  # nothing sealed by age
    serve = Serve(spool, "--no-webserver", "--http", "127.0.0.1:0", env=env)
    children = {name: serve.child(name) for name in ("receiver", "dagster-code-server", "dagster-daemon")}
    host, port = serve.address("http")
    try:
        status, _, answer = post(port, "linux-auth", batch(0, 40))
        assert (status, answer) == (200, {"accepted": 40})
        assert [s for s in segments(spool) if not s.sealed], "the batch is in an open segment"
        serve.process.kill()
        serve.process.wait(timeout=10)
        for name, pid in children.items():
            wait_for(lambda pid=pid: not _alive(pid), 60, f"{name} (pid {pid}) to stop after the supervisor died")
    finally:
        for pid in children.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        serve.log.close()
    sealed = sealed_segments(spool)
    assert [s for s in segments(spool) if not s.sealed] == [], "the receiver sealed its open segment"
    assert sum(entry.records for s in sealed for entry in read_entries(s.path)) == 40
    with socket.socket() as sock:
        sock.bind((host, port))  # nobody holds the listener's port any more


def test_a_tethered_command_gets_sigterm_when_its_parent_dies(tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    child = (
        "import signal, sys, time, pathlib\n"
        f"signal.signal(signal.SIGTERM, lambda *_: (pathlib.Path({str(marker)!r}).write_text('x'), sys.exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    # The parent: a Python process that starts the tethered child, prints its pid, and waits to be killed.
    parent = (
        "import os, subprocess, sys, time\n"
        "from dagster_project.collect import tethered\n"
        f"argv = tethered.command(os.getpid(), [sys.executable, '-c', {child!r}])\n"
        "p = subprocess.Popen(argv, stdout=subprocess.PIPE)\n"
        "assert p.stdout.readline() == b'ready\\n'\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE)
    assert process.stdout is not None
    pid = int(process.stdout.readline())
    process.kill()
    process.wait()
    wait_for(marker.exists, 10, "the child's SIGTERM handler")
    wait_for(lambda: not _alive(pid), 10, "the child to exit")


def test_a_parent_gone_before_the_tether_holds_starts_nothing(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    command = tethered.command(int(gone.stdout), [sys.executable, "-c", "print('ran')"])
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == tethered.PARENT_GONE and "ran" not in result.stdout
    assert "is gone" in result.stderr
