"""Starts, stops and reports on the local cluster: `siem opensearch up [--nodes N] [--secure] | down | status`.

The plain cluster lives in SIEM_HOME: one node on SIEM_OPENSEARCH_PORT, or N (`--nodes`, SIEM_OPENSEARCH_NODES)
laid out as `topology` says. The secure node (`--secure`: the security plugin, TLS, users, roles, audit log)
is one node in SIEM_HOME/secure on SIEM_OPENSEARCH_SECURE_PORT. They share the downloaded artifacts and nothing
else, so one never changes the other's plugins or data.

`up` starts only the nodes that are not running (a node that died rejoins its cluster) and waits for green
(yellow on one node: its replicas have nowhere to go); `down` stops every node `up` started, by pid.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dagster_project.errors import NodeError
from dagster_project.node.install import (
    InstallResult,
    Layout,
    chown_tree,
    ensure_service_user,
    install,
    write_config,
)
from dagster_project.node.java import java_home
from dagster_project.node.manifest import load_distribution
from dagster_project.node.topology import NodeSpec, extra_node_homes, node_settings, plan, prepare_config_dir
from dagster_project.security import node as secure_node
from dagster_project.security.certificates import CertificatePaths
from dagster_project.security.config import node_settings as secure_node_settings
from dagster_project.security.users import Credential
from dagster_project.settings import NodeSettings
from dagster_project.storage import naming

LOG_TAIL_LINES = 40


@dataclass
class UpResult:
    """What `up` did: the URL, whether it was already up, how long it took, what is missing, which nodes it started."""

    url: str
    already_up: bool
    seconds: float
    version: str
    installed_plugins: list[str] = field(default_factory=list)
    unavailable_plugins: dict[str, str] = field(default_factory=dict)
    secure: bool = False
    ca_certs: str = ""
    urls: list[str] = field(default_factory=list)
    """Every node's URL (what OPENSEARCH_URL can list)."""
    started: list[str] = field(default_factory=list)
    """The nodes this call started (none when it was already up)."""


@dataclass(frozen=True)
class Target:
    """The cluster this suite runs: its layout and nodes, and whether it is the secure node."""

    layout: Layout
    nodes: tuple[NodeSpec, ...]
    secure: bool

    @property
    def port(self) -> int:
        """The first node's HTTP port."""
        return self.nodes[0].http_port

    @property
    def url(self) -> str:
        """The first node's URL."""
        return f"https://{self.nodes[0].url.removeprefix('http://')}" if self.secure else self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        """Every node's URL."""
        return [self.url] if self.secure else [node.url for node in self.nodes]

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


def target_for(settings: NodeSettings, *, secure: bool = False, nodes: int | None = None) -> Target:
    """The plain cluster (SIEM_HOME, ports from SIEM_OPENSEARCH_PORT) or the secure node (SIEM_HOME/secure).

    The plain cluster has `nodes` nodes, else SIEM_OPENSEARCH_NODES, else as many as the last `up` started.
    """
    version = load_distribution().version
    if secure:
        port = settings.opensearch_secure_port
        layout = Layout(secure_node.secure_home(settings.home), version, cache=settings.home / "artifacts")
        return Target(layout, tuple(plan(layout, 1, http_port=port, transport_port=port + 100)), True)
    layout = Layout(settings.home, version)
    count = nodes or settings.opensearch_nodes or int(_read_state(layout).get("nodes", 1))
    specs = plan(layout, count, http_port=settings.opensearch_port, transport_port=settings.transport_port)
    return Target(layout, tuple(specs), False)


def up(settings: NodeSettings, *, strict: bool = False, secure: bool = False, nodes: int | None = None) -> UpResult:
    """Install (downloading what is missing) and start every node of the local cluster that is not running.

    A no-op when all are up and healthy. Blocks until the cluster is green (yellow on one node) with all its
    nodes, or `opensearch_start_timeout` passes. Raises NodeError with an actionable message: Java missing/too
    old, a port taken by another process, a failed download (naming the artifact), fewer nodes than the
    cluster in SIEM_HOME has, or a node that does not become healthy (with the tail of its log).
    With `secure`, starts the secure node instead (see the module docstring): ConfigurationError before
    anything else when SIEM_ADMIN_PASSWORD is unset or any SIEM_*_PASSWORD is weak; an already running
    secure node gets changed users or roles through securityadmin.sh.
    """
    started = time.monotonic()
    distribution = load_distribution()
    if secure and (nodes or 1) > 1:
        raise NodeError("the secure node runs as one node; --nodes applies to the plain cluster", where="--secure")
    target = target_for(settings, secure=secure, nodes=nodes)
    layout = target.layout
    creds = secure_node.checked_credentials() if secure else []
    state = _read_state(layout)
    recorded_nodes = int(state.get("nodes", 1))
    if not secure:
        _refuse_shrinking(layout, len(target.nodes), recorded_nodes)
    running = [spec for spec in target.nodes if node_pid(spec) is not None]
    if len(running) == len(target.nodes):
        if not _healthy(target, target.probe_context()):
            _wait_healthy(settings, target, [])  # e.g. a replica still recovering after a restart
        if secure:
            _, digest = secure_node.prepare(layout.home, layout.node_home, creds)
            _give_to_service_user(settings, layout, only=[layout.node_home / "config"])
            _apply_security(target, creds, digest, fresh=False, jdk=java_home())
            state["security_config_sha256"] = digest
            layout.state_file.write_text(json.dumps(state, indent=2))
        return _result(target, started, distribution.version, state, already_up=True)
    if len(target.nodes) > 1 and recorded_nodes == 1 and target.nodes[0] in running:
        # A single node runs with discovery.type single-node and accepts no peers: restart it as a member.
        _stop([target.nodes[0]], timeout=60.0)
        running.remove(target.nodes[0])
    missing = [spec for spec in target.nodes if spec not in running]
    for spec in missing:
        _check_ports_free(spec, secure=secure)
    jdk = java_home()
    layout.home.mkdir(parents=True, exist_ok=True)
    plugins = distribution.plugins + (distribution.secure_plugins if secure else ())
    if running and state.get("version") == distribution.version:
        # Members are running on this install: a node rejoining must run the same plugins, never a changed set.
        result = InstallResult(
            list(state.get("installed_plugins", [])),
            dict(state.get("unavailable_plugins", {})),
            list(state.get("installed_modules", [])),
        )
    else:
        result = install(distribution, layout, plugins=plugins, strict=strict)
    extra: dict[str, object] = {}
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
    forming = not any(spec.has_data() for spec in target.nodes)
    # Recorded first: if a start fails, the next `up` still knows how many nodes this cluster has.
    layout.state_file.write_text(json.dumps({**state, "nodes": len(target.nodes)}, indent=2))
    for spec in missing:
        prepare_config_dir(spec, layout.node_home)
        write_config(spec.config_dir, {**node_settings(spec, target.nodes, bootstrap=forming), **extra})
    if missing:
        _give_to_service_user(settings, layout, missing)
    # Each launcher runs a JVM of its own before the node's: start them side by side.
    with ThreadPoolExecutor(max_workers=len(missing) or 1) as pool:
        list(pool.map(lambda spec: _start(settings, layout, spec, jdk), missing))
    _wait_healthy(settings, target, missing)
    state = {
        "version": distribution.version,
        "url": target.url,
        "nodes": len(target.nodes),
        "installed_plugins": result.installed,
        "installed_modules": result.modules,
        "unavailable_plugins": result.unavailable,
    }
    if secure:
        _apply_security(target, creds, digest, fresh=fresh, jdk=jdk)
        state.update(secure=True, ca_certs=str(target.certificates.ca), security_config_sha256=digest)
    layout.state_file.write_text(json.dumps(state, indent=2))
    return _result(target, started, distribution.version, state, already_up=False, started=missing)


def _result(
    target: Target,
    since: float,
    version: str,
    state: dict[str, object],
    *,
    already_up: bool,
    started: list[NodeSpec] | None = None,
) -> UpResult:
    installed = state.get("installed_plugins", [])
    unavailable = state.get("unavailable_plugins", {})
    return UpResult(
        url=target.url,
        already_up=already_up,
        seconds=time.monotonic() - since,
        version=version,
        installed_plugins=list(installed) if isinstance(installed, list) else [],
        unavailable_plugins=dict(unavailable) if isinstance(unavailable, dict) else {},
        secure=target.secure,
        ca_certs=str(target.certificates.ca) if target.secure else "",
        urls=target.urls,
        started=[spec.name for spec in started or []],
    )


def _refuse_shrinking(layout: Layout, wanted: int, recorded: int) -> None:
    """A formed cluster cannot lose voting nodes by being started smaller; say how to get what was meant."""
    if wanted >= recorded:
        return
    raise NodeError(
        f"SIEM_HOME holds a {recorded}-node cluster; start it with --nodes {recorded} (or SIEM_OPENSEARCH_NODES="
        f"{recorded}), or `siem opensearch down` and delete {layout.data} and {layout.home / 'nodes'} "
        f"to start a new {wanted}-node one",
        where=str(layout.home),
    )


def _check_ports_free(spec: NodeSpec, *, secure: bool) -> None:
    for port, variable in (
        (spec.http_port, "SIEM_OPENSEARCH_SECURE_PORT" if secure else "SIEM_OPENSEARCH_PORT"),
        (spec.transport_port, "SIEM_OPENSEARCH_SECURE_PORT" if secure else "SIEM_OPENSEARCH_TRANSPORT_PORT"),
    ):
        if _port_in_use(port):
            raise NodeError(
                f"port {port} is taken by another process (not a node this suite started; {spec.name} needs it); "
                f"stop it, or set {variable}, or point OPENSEARCH_URL at that cluster",
                where=f"127.0.0.1:{port}",
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


def down(settings: NodeSettings, *, timeout: float = 60.0, secure: bool = False, node: str | None = None) -> bool:
    """Stop the nodes this suite started (by their pids, and only those), or only `node`; False when none ran.

    Blocks until they exited (SIGTERM, then SIGKILL after `timeout` seconds).
    """
    target = target_for(settings, secure=secure)
    specs = list(target.nodes) if secure else _present_nodes(settings, target)
    if node is not None:
        specs = [spec for spec in specs if spec.name == node]
        if not specs:
            raise NodeError(f"no node named {node!r} in this cluster", where=str(target.layout.home))
    return _stop(specs, timeout=timeout) > 0


def _present_nodes(settings: NodeSettings, target: Target) -> list[NodeSpec]:
    """Every node of the plain cluster that has a folder (more than `target` names after `up --nodes` grew it)."""
    count = max(len(target.nodes), 1 + len(extra_node_homes(target.layout)))
    return plan(target.layout, count, http_port=settings.opensearch_port, transport_port=settings.transport_port)


def _stop(specs: list[NodeSpec], *, timeout: float) -> int:
    """SIGTERM every running node of `specs` at once, wait for all, SIGKILL the ones still alive; how many ran."""
    pids = {spec.name: pid for spec in specs if (pid := node_pid(spec)) is not None}
    for pid in pids.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids.values():
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    for spec in specs:
        spec.pid_file.unlink(missing_ok=True)
    return len(pids)


def running_pid(layout: Layout) -> int | None:
    """The pid of the (first) node this suite started under `layout`, if that process is still the node."""
    return node_pid(plan(layout, 1, http_port=0, transport_port=0)[0])


def node_pid(spec: NodeSpec) -> int | None:
    """The pid in the node's pid file, if that process is alive and runs with this node's config folder."""
    try:
        pid = int(spec.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if f"-Dopensearch.path.conf={spec.config_dir}\0".encode() in cmdline else None


def state(settings: NodeSettings, *, secure: bool = False) -> dict[str, object]:
    """What the last `up` recorded (installed and unavailable plugins, how many nodes)."""
    return _read_state(layout_for(settings, secure=secure))


def _read_state(layout: Layout) -> dict:  # type: ignore[type-arg]
    try:
        return json.loads(layout.state_file.read_text())
    except (OSError, ValueError):
        return {}


def _start(settings: NodeSettings, layout: Layout, spec: NodeSpec, jdk: Path) -> None:
    spec.data.mkdir(parents=True, exist_ok=True)
    spec.logs.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENSEARCH_JAVA_HOME": str(jdk),
        "OPENSEARCH_JAVA_OPTS": f"-Xms{settings.opensearch_heap} -Xmx{settings.opensearch_heap}",
        "OPENSEARCH_PATH_CONF": str(spec.config_dir),
        "HOME": str(layout.home),
    }
    account = _service_account(settings)
    uid = account.pw_uid if account is not None else None
    gid = account.pw_gid if account is not None else None
    startup_log = spec.logs / "startup.out"
    pid_tmp = spec.logs / "node.pid"
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
            f"{spec.name} did not start (exit {done.returncode}):\n{_tail(spec)}", where=str(layout.node_home)
        )
    # `opensearch -d` returns once the JVM is forked; the JVM writes the pid file itself, which takes well
    # over 30 s on a loaded machine: waiting less left a starting node behind that no pid file named.
    deadline = time.monotonic() + settings.opensearch_start_timeout
    while not pid_tmp.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not pid_tmp.is_file():
        raise NodeError(f"{spec.name} wrote no pid file:\n{_tail(spec)}", where=str(pid_tmp))
    spec.pid_file.write_text(pid_tmp.read_text().strip() + "\n")


def _service_account(settings: NodeSettings) -> pwd.struct_passwd | None:
    """When root runs the suite: the unprivileged account the nodes run as (created when missing); else None."""
    return ensure_service_user(service_user(settings)) if os.geteuid() == 0 else None


def _give_to_service_user(
    settings: NodeSettings, layout: Layout, specs: list[NodeSpec] | None = None, *, only: list[Path] | None = None
) -> pwd.struct_passwd | None:
    """When root runs the suite: the service account, owning the nodes' files (or `only`); None otherwise."""
    account = _service_account(settings)
    if account is None:
        return None
    paths = only or [layout.node_home, layout.data, layout.logs]
    if specs is not None and only is None:
        own = {folder for spec in specs for folder in (spec.config_dir, spec.data, spec.logs)}
        paths = [layout.node_home, *sorted(own - {layout.node_home / "config"})]
    for spec in specs or []:
        spec.data.mkdir(parents=True, exist_ok=True)
        spec.logs.mkdir(parents=True, exist_ok=True)
    chown_tree(paths, account.pw_uid, account.pw_gid)
    os.chown(layout.home, 0, 0)
    layout.home.chmod(0o755)
    return account


def _wait_healthy(settings: NodeSettings, target: Target, started: list[NodeSpec]) -> None:
    deadline = time.monotonic() + settings.opensearch_start_timeout
    context = target.probe_context()
    while time.monotonic() < deadline:
        if _healthy(target, context):
            return
        for spec in started:
            if node_pid(spec) is None:
                raise NodeError(f"{spec.name} exited while starting:\n{_tail(spec)}", where=str(spec.logs))
        time.sleep(0.5)
    wanted = "yellow" if len(target.nodes) == 1 else f"green with {len(target.nodes)} nodes"
    raise NodeError(
        f"the cluster did not become healthy ({wanted}) within {settings.opensearch_start_timeout:.0f}s "
        f"(SIEM_OPENSEARCH_START_TIMEOUT):\n" + "\n".join(_tail(spec) for spec in started or target.nodes[:1]),
        where=target.url,
    )


def _healthy(target: Target, context: ssl.SSLContext | None = None) -> bool:
    """True when a node of `target` reports every node joined and green (yellow enough for one node)."""
    count = len(target.nodes)
    query = "wait_for_status=yellow" if count == 1 else f"wait_for_status=green&wait_for_nodes={count}"
    for url in target.urls:
        try:
            with urllib.request.urlopen(
                f"{url}/_cluster/health?{query}&timeout=1s", timeout=5, context=context
            ) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            continue  # 408 (not there yet) or no answer: ask the next node
        return body.get("status") in ("yellow", "green") and not body.get("timed_out", False)
    return False


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


def _tail(spec: NodeSpec) -> str:
    lines: list[str] = []
    for path in sorted(spec.logs.glob("*.log")) + [spec.logs / "startup.out"]:
        if path.is_file() and path.stat().st_size:
            content = path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            lines.append(f"--- {path} (last {len(content)} lines)")
            lines.extend(content)
    return "\n".join(lines) or f"(no log written by {spec.name})"


def as_dict(result: UpResult) -> dict[str, object]:
    """The result as plain data for --json."""
    return asdict(result)
