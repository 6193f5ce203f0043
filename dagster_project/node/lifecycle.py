"""Starts, stops and reports on the local node: `siem opensearch up [--secure] | down | status`.

The plain node lives in SIEM_HOME on SIEM_OPENSEARCH_PORT; the secure one (`--secure`: the security
plugin, TLS, users, roles, audit log) in SIEM_HOME/secure on SIEM_OPENSEARCH_SECURE_PORT. They share the
downloaded artifacts and nothing else, so one never changes the other's plugins or data.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import ssl
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
from dagster_project.security import node as secure_node
from dagster_project.security.certificates import CertificatePaths
from dagster_project.security.config import node_settings as secure_node_settings
from dagster_project.security.users import Credential
from dagster_project.settings import LOCAL_HOST, NodeSettings
from dagster_project.storage import naming

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
    secure: bool = False
    ca_certs: str = ""


@dataclass(frozen=True)
class Target:
    """One node this suite runs: its layout, port and URL, and whether it is the secure one."""

    layout: Layout
    port: int
    url: str
    secure: bool

    @property
    def certificates(self) -> CertificatePaths:
        """The secure node's certificate store."""
        return CertificatePaths(secure_node.certificate_dir(self.layout.home))

    def probe_context(self) -> ssl.SSLContext | None:
        """How health probes authenticate: the admin client certificate (secure node) or nothing."""
        return secure_node.admin_context(self.certificates) if self.secure else None


def service_user(settings: NodeSettings) -> str:
    """The account the node runs as when root starts it: SIEM_OPENSEARCH_USER, else the suite's own."""
    return settings.opensearch_user or naming.SERVICE_USER


def layout_for(settings: NodeSettings, *, secure: bool = False) -> Layout:
    """The node's file layout for these settings and the pinned version."""
    return target_for(settings, secure=secure).layout


def target_for(settings: NodeSettings, *, secure: bool = False) -> Target:
    """The plain node (SIEM_HOME, SIEM_OPENSEARCH_PORT) or the secure one (SIEM_HOME/secure, its own port)."""
    version = load_distribution().version
    if not secure:
        return Target(Layout(settings.home, version), settings.opensearch_port, settings.url, False)
    port = settings.opensearch_secure_port
    layout = Layout(secure_node.secure_home(settings.home), version, cache=settings.home / "artifacts")
    return Target(layout, port, f"https://{LOCAL_HOST}:{port}", True)


def up(settings: NodeSettings, *, strict: bool = False, secure: bool = False) -> UpResult:
    """Install (downloading what is missing) and start the local node; a no-op when it is already up.

    Blocks until the cluster is yellow or `opensearch_start_timeout` passes. Raises NodeError with an
    actionable message: Java missing/too old, port taken by another process, a failed download
    (naming the artifact), or a node that does not become healthy (with the tail of its log).
    With `secure`, starts the secure node instead (see the module docstring): ConfigurationError before
    anything else when SIEM_ADMIN_PASSWORD is unset or any SIEM_*_PASSWORD is weak; an already running
    secure node gets changed users or roles through securityadmin.sh.
    """
    started = time.monotonic()
    distribution = load_distribution()
    target = target_for(settings, secure=secure)
    layout = target.layout
    creds = secure_node.checked_credentials() if secure else []
    state = _read_state(layout)
    if running_pid(layout) is not None and _healthy(target.url, target.probe_context()):
        if secure:
            _, digest = secure_node.prepare(layout.home, layout.node_home, creds)
            _give_to_service_user(settings, layout, only=[layout.node_home / "config"])
            _apply_security(target, creds, digest, fresh=False, jdk=java_home())
            state["security_config_sha256"] = digest
            layout.state_file.write_text(json.dumps(state, indent=2))
        return UpResult(
            url=target.url,
            already_up=True,
            seconds=time.monotonic() - started,
            version=distribution.version,
            installed_plugins=state.get("installed_plugins", []),
            unavailable_plugins=state.get("unavailable_plugins", {}),
            secure=secure,
            ca_certs=str(target.certificates.ca) if secure else "",
        )
    if _port_in_use(target.port):
        variable = "SIEM_OPENSEARCH_SECURE_PORT" if secure else "SIEM_OPENSEARCH_PORT"
        raise NodeError(
            f"port {target.port} is taken by another process (not a node this suite started); "
            f"stop it, or set {variable}, or point OPENSEARCH_URL at that cluster",
            where=f"127.0.0.1:{target.port}",
        )
    jdk = java_home()
    layout.home.mkdir(parents=True, exist_ok=True)
    plugins = distribution.plugins + (distribution.secure_plugins if secure else ())
    result = install(distribution, layout, plugins=plugins, strict=strict)
    extra: dict[str, object] | None = None
    if secure:
        if secure_node.SECURITY_PLUGIN not in result.installed:
            reason = result.unavailable.get(secure_node.SECURITY_PLUGIN, "not in distribution.json")
            raise NodeError(f"--secure needs this plugin: {reason}", where=secure_node.SECURITY_PLUGIN)
        fresh = not layout.data.is_dir() or not any(layout.data.iterdir())
        for private in (layout.data, layout.logs):
            # Index files hold what the security plugin guards: no other local account may read them.
            private.mkdir(parents=True, exist_ok=True)
            private.chmod(0o700)
        _, digest = secure_node.prepare(layout.home, layout.node_home, creds)
        extra = secure_node_settings()
    write_config(layout, port=target.port, extra=extra)
    _start(settings, layout, jdk)
    _wait_healthy(settings, target)
    state = {
        "version": distribution.version,
        "url": target.url,
        "installed_plugins": result.installed,
        "unavailable_plugins": result.unavailable,
    }
    if secure:
        _apply_security(target, creds, digest, fresh=fresh, jdk=jdk)
        state.update(secure=True, ca_certs=str(target.certificates.ca), security_config_sha256=digest)
    layout.state_file.write_text(json.dumps(state, indent=2))
    return UpResult(
        url=target.url,
        already_up=False,
        seconds=time.monotonic() - started,
        version=distribution.version,
        installed_plugins=result.installed,
        unavailable_plugins=result.unavailable,
        secure=secure,
        ca_certs=str(target.certificates.ca) if secure else "",
    )


def _apply_security(target: Target, creds: list[Credential], digest: str, *, fresh: bool, jdk: Path) -> None:
    secure_node.apply_config(
        url=target.url,
        port=target.port,
        node_home=target.layout.node_home,
        certs=target.certificates,
        creds=creds,
        digest=digest,
        recorded_digest=_read_state(target.layout).get("security_config_sha256"),
        fresh=fresh,
        jdk=jdk,
    )


def down(settings: NodeSettings, *, timeout: float = 60.0, secure: bool = False) -> bool:
    """Stop the node this suite started (by its pid, and only that); False when none was running."""
    layout = layout_for(settings, secure=secure)
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


def state(settings: NodeSettings, *, secure: bool = False) -> dict[str, object]:
    """What the last `up` recorded (installed and unavailable plugins)."""
    return _read_state(layout_for(settings, secure=secure))


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
    account = _give_to_service_user(settings, layout)
    uid = account.pw_uid if account is not None else None
    gid = account.pw_gid if account is not None else None
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
            user=uid,
            group=gid,
        )
    if done.returncode != 0:
        raise NodeError(
            f"the node did not start (exit {done.returncode}):\n{_tail(layout)}", where=str(layout.node_home)
        )
    deadline = time.monotonic() + 30
    while not pid_tmp.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not pid_tmp.is_file():
        raise NodeError(f"the node wrote no pid file:\n{_tail(layout)}", where=str(pid_tmp))
    layout.pid_file.write_text(pid_tmp.read_text().strip() + "\n")


def _give_to_service_user(
    settings: NodeSettings, layout: Layout, *, only: list[Path] | None = None
) -> pwd.struct_passwd | None:
    """When root runs the suite: the service account, owning the node's files (or `only`); None otherwise."""
    if os.geteuid() != 0:
        return None
    account = ensure_service_user(service_user(settings))
    chown_tree(only or [layout.node_home, layout.data, layout.logs], account.pw_uid, account.pw_gid)
    os.chown(layout.home, 0, 0)
    layout.home.chmod(0o755)
    return account


def _wait_healthy(settings: NodeSettings, target: Target) -> None:
    layout = target.layout
    deadline = time.monotonic() + settings.opensearch_start_timeout
    context = target.probe_context()
    while time.monotonic() < deadline:
        if _healthy(target.url, context):
            return
        if running_pid(layout) is None:
            raise NodeError(f"the node exited while starting:\n{_tail(layout)}", where=str(layout.logs))
        time.sleep(0.5)
    raise NodeError(
        f"the node did not become healthy (yellow) within {settings.opensearch_start_timeout:.0f}s "
        f"(SIEM_OPENSEARCH_START_TIMEOUT):\n{_tail(layout)}",
        where=target.url,
    )


def _healthy(url: str, context: ssl.SSLContext | None = None) -> bool:
    health = f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s"
    try:
        with urllib.request.urlopen(health, timeout=5, context=context) as response:
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
