"""Real peers for the collection tests: `siem serve` as a subprocess, rsyslog run by hand, waiting with deadlines."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.collect.ingestion import ingest_segments
from dagster_project.collect.spool import read_entries, sealed_segments, segments, unpack_messages
from dagster_project.settings import RetentionSettings

BIN = Path(sys.executable).parent
RETENTION = RetentionSettings(retention_days=20_000, hot_days=90)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll until `predicate` returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(spool: Path, **extra: str) -> dict[str, str]:
    """The environment of a receiver writing to `spool`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIEM_SYSLOG", "SIEM_HTTP", "SIEM_SPOOL"))}
    return env | {"SIEM_SPOOL_DIR": str(spool), "SIEM_SPOOL_SEGMENT_SECONDS": "1"} | extra


class Serve:
    """`siem serve --json` in a subprocess: its listeners, its children's pids, a clean stop."""

    def __init__(self, spool: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None) -> None:
        self.spool = spool
        self.log = open(log or spool.parent / "serve.log", "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [str(BIN / "siem"), "serve", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env or env_for(spool),
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 120)
        line = self.process.stdout.readline() if ready else b""
        assert line, f"siem serve did not start (exit {self.process.poll()}); see {self.log.name}"
        self.info: dict[str, Any] = json.loads(line)

    def address(self, name: str) -> tuple[str, int]:
        """(host, port) of a listener."""
        item = next(i for i in self.info["listeners"] if i["name"] == name)
        host, port = item["address"].rsplit(":", 1)
        return host, int(port)

    def child(self, name: str) -> int:
        """The current pid of a child (from the receiver's status file for the receiver)."""
        if name == "receiver":
            return int(json.loads((self.spool / "receiver.json").read_text())["pid"])
        return int(self.info["children"][name])

    def kill_receiver(self) -> int:
        """SIGKILL the receiver; returns once the supervisor's replacement is listening."""
        old = self.child("receiver")
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: self._status().get("pid") not in (None, old) and self._status().get("ready"), 90, "restart")
        return old

    def kill_child(self, name: str) -> None:
        """SIGKILL a Dagster child and wait until the supervisor has started its replacement."""
        os.kill(self.child(name), signal.SIGKILL)
        log = Path(self.log.name)
        wait_for(lambda: log.read_text(errors="replace").count(f"started {name}") >= 2, 60, f"{name} restarted")

    def _status(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.spool / "receiver.json").read_text()))
        except (OSError, ValueError):
            return {}

    def stop(self) -> None:
        """SIGTERM and wait: every open segment is sealed when this returns."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()


def spooled_by_listener(spool: Path) -> dict[str, int]:
    """Messages/records in the spool's segments per listener name (open or sealed)."""
    counts: dict[str, int] = {}
    for segment in segments(spool):
        for entry in read_entries(segment.path):
            counts[entry.header["l"]] = counts.get(entry.header["l"], 0) + entry.records
    return counts


def spooled_messages(spool: Path) -> list[bytes]:
    """Every syslog message in the spool."""
    return [m for s in segments(spool) for e in read_entries(s.path) if e.kind == 1 for m in unpack_messages(e.payload)]


def ingest_all(client: OpenSearch, spool: Path) -> dict[str, int]:
    """Ingest every sealed segment, per source; the summed counts."""
    totals = {"acknowledged": 0, "read": 0, "indexed": 0, "quarantined": 0, "duplicates": 0}
    by_source: dict[str, list[str]] = {}
    for segment in sealed_segments(spool):
        by_source.setdefault(segment.source, []).append(segment.id)
    for ids in by_source.values():
        batch = ingest_segments(client, spool, ids, retention=RETENTION).as_json()
        for key in totals:
            totals[key] += int(batch[key])
    return totals


# The memory queue is large enough for the tests' bursts, so the disk assist stays a reserve (a queue in disk
# mode delivers through a second worker with a connection of its own). ResendLastMSGOnReconnect stays off:
# rsyslog 8.2302 then resends whole batches, or repeats one message in place of the next, on the same
# connection (seen in these tests), which no receiver can tell from real repeats.
RSYSLOG_ACTION = """\
input(type="imfile" File="{file}" Tag="{tag}:" Facility="local3" Severity="notice" ruleset="{name}")
ruleset(name="{name}") {{
  action(type="omfwd" Target="127.0.0.1" Port="{port}" Protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format" {tls}
         queue.type="LinkedList" queue.size="50000" queue.filename="{name}-queue" queue.saveOnShutdown="on"
         queue.maxDiskSpace="64m"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


class Rsyslog:
    """rsyslogd in the foreground with its own config and work directory: imfile -> omfwd (disk-assisted queue)."""

    def __init__(
        self,
        work: Path,
        actions: list[dict[str, str]],
        *,
        ca: Path | None = None,
        cert: Path | None = None,
        key: Path | None = None,
    ) -> None:
        work.mkdir(parents=True, exist_ok=True)
        tls_globals = ""
        if ca is not None:
            tls_globals = f' DefaultNetstreamDriverCAFile="{ca}"'
            if cert is not None and key is not None:
                tls_globals += f' DefaultNetstreamDriverCertFile="{cert}" DefaultNetstreamDriverKeyFile="{key}"'
        config = [
            f'global(workDirectory="{work}"{tls_globals})',
            'module(load="imfile" mode="polling" PollingInterval="1")',
        ]
        for action in actions:
            tls = ""
            if action.get("tls"):
                tls = (
                    'StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" '
                    'StreamDriverPermittedPeers="localhost"'
                )
            config.append(RSYSLOG_ACTION.format(tls=tls, **{k: v for k, v in action.items() if k != "tls"}))
        self.config = work / "rsyslog.conf"
        self.config.write_text("\n".join(config))
        self.log = open(work / "rsyslogd.log", "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            ["rsyslogd", "-n", "-f", str(self.config), "-i", str(work / "rsyslogd.pid")],
            stdout=self.log,
            stderr=self.log,
        )

    def log_tail(self, lines: int = 12) -> str:
        """The end of rsyslogd's own log."""
        self.log.flush()
        return " | ".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM and wait (the queue is saved to disk)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()
