"""Starts, stops and reports on the local node: `siem opensearch up | down | status`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster_project.errors import NodeError
from dagster_project.node.install import (
    Layout,
    chown_tree,
    ensure_service_user,
    install,
    write_config,
)
from dagster_project.node.java import java_home
from dagster_project.node.manifest import load_distribution
from dagster_project.settings import NodeSettings

LOG_TAIL_LINES = 40


@dataclass
class UpResult:
    """What `up` did: the URL, whether it was already up, how long it took, what is missing."""

    url: str
    already_up: bool
    seconds: float
    version: str
    installed_plugins: list[str] = field(default_factory=list)
    unavailable_plugins: dict[str, str] = field(default_factory=dict)


def layout_for(settings: NodeSettings) -> Layout:
    """The node's file layout for these settings and the pinned version."""
    return Layout(settings.home, load_distribution().version)


def up(settings: NodeSettings, *, strict: bool = False) -> UpResult:
    """Install (downloading what is missing) and start the local node; a no-op when it is already up.

    Blocks until the cluster is yellow or `opensearch_start_timeout` passes. Raises NodeError with an
    actionable message: Java missing/too old, port taken by another process, a failed download
    (naming the artifact), or a node that does not become healthy (with the tail of its log).
    """
    started = time.monotonic()
    distribution = load_distribution()
    layout = layout_for(settings)
    state = _read_state(layout)
    if running_pid(layout) is not None and _healthy(settings.url):
        return UpResult(
            url=settings.url,
            already_up=True,
            seconds=time.monotonic() - started,
            version=distribution.version,
            installed_plugins=state.get("installed_plugins", []),
            unavailable_plugins=state.get("unavailable_plugins", {}),
        )
    if _port_in_use(settings.opensearch_port):
        raise NodeError(
            f"port {settings.opensearch_port} is taken by another process (not a node this suite started); "
            "stop it, or set SIEM_OPENSEARCH_PORT, or point OPENSEARCH_URL at that cluster",
            where=f"127.0.0.1:{settings.opensearch_port}",
        )
    jdk = java_home()
    layout.home.mkdir(parents=True, exist_ok=True)
    result = install(distribution, layout, plugins=distribution.plugins, strict=strict)
    write_config(layout, port=settings.opensearch_port)
    _start(settings, layout, jdk)
    _wait_healthy(settings, layout)
    state = {
        "version": distribution.version,
        "url": settings.url,
        "installed_plugins": result.installed,
        "unavailable_plugins": result.unavailable,
    }
    layout.state_file.write_text(json.dumps(state, indent=2))
    return UpResult(
        url=settings.url,
        already_up=False,
        seconds=time.monotonic() - started,
        version=distribution.version,
        installed_plugins=result.installed,
        unavailable_plugins=result.unavailable,
    )


def down(settings: NodeSettings, *, timeout: float = 60.0) -> bool:
    """Stop the node this suite started (by its pid, and only that); False when none was running."""
    layout = layout_for(settings)
    pid = running_pid(layout)
    if pid is None:
        layout.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    layout.pid_file.unlink(missing_ok=True)
    return True


def running_pid(layout: Layout) -> int | None:
    """The pid of the node this suite started, if that process is still the node."""
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return pid
    return pid if str(layout.node_home) in cmdline else None


def state(settings: NodeSettings) -> dict[str, object]:
    """What the last `up` recorded (installed and unavailable plugins)."""
    return _read_state(layout_for(settings))


def _read_state(layout: Layout) -> dict:  # type: ignore[type-arg]
    try:
        return json.loads(layout.state_file.read_text())
    except (OSError, ValueError):
        return {}


def _start(settings: NodeSettings, layout: Layout, jdk: Path) -> None:
    layout.data.mkdir(parents=True, exist_ok=True)
    layout.logs.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENSEARCH_JAVA_HOME": str(jdk),
        "OPENSEARCH_JAVA_OPTS": f"-Xms{settings.opensearch_heap} -Xmx{settings.opensearch_heap}",
        "OPENSEARCH_PATH_CONF": str(layout.node_home / "config"),
        "HOME": str(layout.home),
    }
    user_kwargs: dict[str, int] = {}
    if os.geteuid() == 0:
        account = ensure_service_user(settings.opensearch_user)
        chown_tree([layout.node_home, layout.data, layout.logs], account.pw_uid, account.pw_gid)
        os.chown(layout.home, 0, 0)
        layout.home.chmod(0o755)
        user_kwargs = {"user": account.pw_uid, "group": account.pw_gid}
    startup_log = layout.logs / "startup.out"
    pid_tmp = layout.logs / "node.pid"
    pid_tmp.unlink(missing_ok=True)
    with startup_log.open("wb") as out:
        done = subprocess.run(
            [str(layout.node_home / "bin" / "opensearch"), "-d", "-p", str(pid_tmp)],
            cwd=layout.node_home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
            **user_kwargs,  # type: ignore[arg-type]
        )
    if done.returncode != 0:
        raise NodeError(f"the node did not start (exit {done.returncode}):\n{_tail(layout)}", where=str(layout.node_home))
    deadline = time.monotonic() + 30
    while not pid_tmp.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not pid_tmp.is_file():
        raise NodeError(f"the node wrote no pid file:\n{_tail(layout)}", where=str(pid_tmp))
    layout.pid_file.write_text(pid_tmp.read_text().strip() + "\n")


def _wait_healthy(settings: NodeSettings, layout: Layout) -> None:
    deadline = time.monotonic() + settings.opensearch_start_timeout
    while time.monotonic() < deadline:
        if _healthy(settings.url):
            return
        if running_pid(layout) is None:
            raise NodeError(f"the node exited while starting:\n{_tail(layout)}", where=str(layout.logs))
        time.sleep(0.5)
    raise NodeError(
        f"the node did not become healthy (yellow) within {settings.opensearch_start_timeout:.0f}s "
        f"(SIEM_OPENSEARCH_START_TIMEOUT):\n{_tail(layout)}",
        where=settings.url,
    )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=5) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return body.get("status") in ("yellow", "green")


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def _tail(layout: Layout) -> str:
    lines: list[str] = []
    for path in sorted(layout.logs.glob("*.log")) + [layout.logs / "startup.out"]:
        if path.is_file() and path.stat().st_size:
            content = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            lines.append(f"--- {path} (last {len(content)} lines)")
            lines.extend(content)
    return "\n".join(lines) or "(no log written)"


def as_dict(result: UpResult) -> dict[str, object]:
    """The result as plain data for --json."""
    return asdict(result)
