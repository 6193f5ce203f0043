"""`siem serve`'s process group: the receiver, a Dagster code server, the daemon and the webserver, supervised.

The supervisor binds every listening socket itself (so a restarted receiver finds its ports bound and
senders' connection attempts wait in the backlog), holds the parked TCP connections (`collect.parking`),
restarts a child that dies (with a backoff while it keeps dying) and on SIGTERM/SIGINT stops them all:
the receiver spools what is buffered and seals its open segments before it exits. Every child is started
`collect.tethered` (from the main thread), so it gets the same SIGTERM from the kernel when the supervisor
dies without stopping them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from dagster_project.collect import codeserver, tethered
from dagster_project.collect.config import ReceiverConfig
from dagster_project.collect.listeners import Listener
from dagster_project.collect.parking import ParkingLot
from dagster_project.collect.receiver import bind, bound_address, receiver_arguments
from dagster_project.collect.spool import STATUS_FILE, read_json
from dagster_project.errors import ConfigurationError
from dagster_project.paths import repo_file
from dagster_project.settings import PROVIDERS
from dagster_project.storage import naming

log = logging.getLogger(__name__)

STOP_SECONDS = 30.0
READY_SECONDS = 60.0
CODE_SERVER = "dagster-code-server"
SERVE_DEQUEUE_SECONDS = 1
"""`siem serve`'s addition to the suite's instance: a sealed segment's queued run launches within a second."""


def service_environment(environ: dict[str, str], project_dir: Path) -> dict[str, str]:
    """The children's environment: `project_dir/.env` beneath the real environment, every wired variable set.

    Dagster's own commands load `.env` from their working directory *over* the environment, so a blank
    line of `.env.example` would clobber what the operator exported (SIEM_SPOOL_DIR, say). Here the
    environment wins, `.env` fills only what is unset, and the children run where there is no `.env`
    (their own folder), so relative paths in path settings are made absolute against `project_dir`.
    """
    dotenv = project_dir / ".env"
    env = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} if dotenv.is_file() else {}
    env |= environ
    for provider in PROVIDERS:
        for name in provider.env_names().values():
            env.setdefault(name, "")  # the code location wires them with dg.EnvVar: unset would refuse runs
        for name in provider.path_env_names():
            env[name] = ":".join(_absolute(part, project_dir) for part in env[name].split(":")) if env[name] else ""
    return env


def _absolute(path: str, base: Path) -> str:
    return path if not path or Path(path).expanduser().is_absolute() else str(base / path)


def instance_yaml() -> str:
    """The suite's dagster.yaml (run queue, pools, one spool run per source) with serve's prompt dequeue."""
    config = yaml.safe_load(repo_file("dagster.yaml").read_text())
    config["run_coordinator"].setdefault("config", {})["dequeue_interval_seconds"] = SERVE_DEQUEUE_SECONDS
    header = "# Written by `siem serve` when DAGSTER_HOME had no dagster.yaml: the checkout's, dequeued every second.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


def dagster_home(siem_home: Path) -> Path:
    """DAGSTER_HOME, else SIEM_HOME/dagster; gets the suite's dagster.yaml (`instance_yaml`) when it has none."""
    home = Path(os.environ.get("DAGSTER_HOME") or siem_home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_yaml())
    return home


def _no_op(_signum: int, _frame: Any) -> None:
    """Ignores the signal here, as SIG_IGN did; unlike SIG_IGN, a child does not inherit it across exec."""


@contextlib.contextmanager
def interrupts_restored_for_children() -> Iterator[None]:
    """Children started inside get SIGINT and SIGTERM at their defaults, even where `siem serve` has them ignored.

    A process started in the background by a shell (`cmd &`, CI scripts) has SIGINT ignored, and every child
    inherits that across exec. Dagster's code server and daemon then map SIGTERM to the ignored SIGINT, so the
    supervisor's SIGTERM went unanswered until its SIGKILL `STOP_SECONDS` later. Meanwhile this process
    ignores the signals as before (a no-op Python handler, which exec resets to the default). Main thread only.
    """
    ignored = [sig for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) == signal.SIG_IGN]
    for sig in ignored:
        signal.signal(sig, _no_op)
    try:
        yield
    finally:
        for sig in ignored:
            signal.signal(sig, signal.SIG_IGN)


@dataclass
class Child:
    """One supervised process: how to start it, the running process, its restarts."""

    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    backoff: float = 0.5
    due: float = 0.0
    extra_env: dict[str, str] = field(default_factory=dict)


class Supervisor:
    """Starts, watches, restarts and stops the long-running services of `siem serve`."""

    def __init__(
        self,
        config: ReceiverConfig,
        listeners: list[Listener],
        *,
        daemon: bool = True,
        webserver: str | None = "127.0.0.1:3000",
    ) -> None:
        self.config = config
        self.listeners = listeners
        self.sockets: dict[str, socket.socket] = {}
        for listener in listeners:
            try:
                self.sockets[listener.name] = bind(listener)
            except OSError as exc:
                self.close()
                raise ConfigurationError(f"cannot listen on {listener.address}: {exc}", where=listener.name) from exc
        self.parking = ParkingLot()
        self.children: list[Child] = []
        self.stopping = False
        self.home = dagster_home(config.home) if daemon or webserver else None
        self.code_dir: Path | None = None
        """The code server's socket and the workspace file naming it (short: a socket path has ~100 bytes)."""
        bin_dir = Path(sys.executable).parent
        self.children.append(Child("receiver", [sys.executable, "-m", "dagster_project.collect.receiver"]))
        workspace: list[str] = []
        if daemon or webserver:
            self.code_dir = Path(tempfile.mkdtemp(prefix=naming.SERVE_RUNTIME_PREFIX))
            workspace_file = self.code_dir / codeserver.WORKSPACE_NAME
            workspace_file.write_text(codeserver.workspace_yaml(self.code_socket))
            workspace = ["-w", str(workspace_file)]
            self.children.append(Child(CODE_SERVER, codeserver.command(bin_dir / "dagster", self.code_socket)))
        if daemon:
            self.children.append(Child("dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", *workspace]))
        if webserver:
            host, _, port = webserver.rpartition(":")
            command = [str(bin_dir / "dagster-webserver"), *workspace, "-h", host or "127.0.0.1", "-p", port]
            self.children.append(Child("dagster-webserver", command))
        self.webserver = webserver

    @property
    def code_socket(self) -> Path:
        """The Unix socket the code server serves on."""
        assert self.code_dir is not None
        return self.code_dir / codeserver.SOCKET_NAME

    def addresses(self) -> list[dict[str, Any]]:
        """Where each listener listens (the real port when 0 was asked for) and which source it feeds."""
        found = []
        for listener in self.listeners:
            host, port = bound_address(self.sockets[listener.name])
            found.append(
                {"name": listener.name, "address": f"{host}:{port}", "source": listener.source or "<source> in the URL"}
            )
        return found

    def describe(self) -> dict[str, Any]:
        """The JSON that `siem serve --json` prints once everything is up."""
        return {
            "pid": os.getpid(),
            "listeners": self.addresses(),
            "spool": str(self.config.root),
            "dagster_home": str(self.home) if self.home else None,
            "dagster_webserver": f"http://{self.webserver}" if self.webserver else None,
            "children": {c.name: c.process.pid if c.process else None for c in self.children},
        }

    def start(self) -> None:
        """Start every child: the receiver and the code server first, the rest once the code server answers.

        The daemon reads its workspace once a minute: started before the code server answers, it would
        see no code location (no sensor) for up to a minute.
        """
        early = [c for c in self.children if c.name in ("receiver", CODE_SERVER)]
        for child in early:
            self._spawn(child)
        self._wait_ready(self.children[0])
        code_server = next((c for c in early if c.name == CODE_SERVER), None)
        if code_server is not None:
            self._wait_code_server(code_server)
        for child in self.children:
            if child not in early:
                self._spawn(child)

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT, then stop everything; the exit status."""
        selector = selectors.DefaultSelector()
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        previous = signal.set_wakeup_fd(wake_w.fileno())
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        selector.register(self.parking.channel, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        try:
            while not self.stopping:
                for key, _ in selector.select(timeout=0.2):
                    if key.fileobj is self.parking.channel:
                        self.parking.handle()
                    else:
                        with contextlib.suppress(BlockingIOError):
                            wake_r.recv(64)
                if not self.stopping:
                    self._watch()
        finally:
            signal.set_wakeup_fd(previous)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            selector.close()
            wake_r.close()
            wake_w.close()
        self.stop()
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stopping = True

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if now >= child.due:
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started > 30:
                    child.backoff = 0.5  # it has stayed up: the next crash restarts it quickly again
                continue
            log.warning(
                "%s (pid %d) exited with %s; restarting in %.1fs", child.name, child.process.pid, code, child.backoff
            )
            child.process = None
            child.restarts += 1
            child.due = now + child.backoff
            child.backoff = min(child.backoff * 2, 30.0)

    def _spawn(self, child: Child) -> None:
        env = service_environment(dict(os.environ), Path.cwd()) | self.config.as_env()
        if self.home is not None:
            env["DAGSTER_HOME"] = str(self.home)
        fds: list[int] = []
        command = list(child.command)
        if child.name == "receiver":
            for sock in self.sockets.values():
                sock.set_inheritable(True)
            listening = {name: sock.fileno() for name, sock in self.sockets.items()}
            parked = {conn_id: sock.fileno() for conn_id, sock in self.parking.inherited().items()}
            channel = self.parking.receiver_end.fileno()
            command += receiver_arguments(listening, channel, parked)
            fds = [*listening.values(), channel, *parked.values()]
        elif child.name == CODE_SERVER:
            self.code_socket.unlink(missing_ok=True)  # a killed server's socket: its replacement binds anew
        cwd = self.home if self.home is not None else None  # Dagster would re-read a `.env` found in its cwd
        # Dagster's code server and daemon log to stdout, which is `siem serve --json`'s one object: every
        # child's stdout goes to stderr.
        # Tethered: a supervisor that dies unwarned (SIGKILL, the OOM killer) leaves no child running on.
        command = tethered.command(os.getpid(), command)
        with interrupts_restored_for_children():
            child.process = subprocess.Popen(command, env=env, pass_fds=fds, cwd=cwd, stdout=sys.stderr.fileno())
        child.started = time.monotonic()
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def _wait_ready(self, receiver: Child) -> None:
        status_path = self.config.root / STATUS_FILE

        def listening() -> bool:
            status = read_json(status_path)
            pid = receiver.process.pid if receiver.process is not None else None
            return status.get("pid") == pid and bool(status.get("ready"))

        self._wait_until(receiver, listening, "the receiver", "did not start listening in time", every=0.05)

    def _wait_code_server(self, child: Child) -> None:
        answering = functools.partial(codeserver.serving, self.code_socket)
        self._wait_until(child, answering, "the Dagster code server", "did not answer in time", every=0.1)

    def _wait_until(self, child: Child, ready: Callable[[], bool], who: str, late: str, every: float) -> None:
        """Poll `ready` until it holds; stop everything and raise if `child` exits first or READY_SECONDS pass."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert child.process is not None
            if child.process.poll() is not None:
                self.stop()
                raise ConfigurationError(
                    f"{who} exited with {child.process.returncode} (see its log above)", where="siem serve"
                )
            if ready():
                return
            time.sleep(every)
        self.stop()
        raise ConfigurationError(f"{who} {late}", where="siem serve")

    def stop(self) -> None:
        """SIGTERM every child, wait for them (SIGKILL after a deadline), release every socket."""
        self.stopping = True
        for sock in self.sockets.values():
            sock.close()  # the receiver holds the last reference: its stop closes them, and reconnects are refused
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
                child.process.kill()
                child.process.wait()
        self.close()

    def close(self) -> None:
        """Release the listening sockets and parked connections (and the code server's folder)."""
        for sock in self.sockets.values():
            sock.close()
        code_dir = getattr(self, "code_dir", None)
        if code_dir is not None:
            shutil.rmtree(code_dir, ignore_errors=True)
        parking = getattr(self, "parking", None)
        if parking is not None:
            parking.close()
