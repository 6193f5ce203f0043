"""Fault scenarios against a real local cluster, after OpenSearch's `ClusterDisruptionIT.testAckedIndexing`.

Ingestion runs while a node dies (SIGKILL) or the cluster is restarted node by node; every id the cluster
acknowledged is recorded by wrapping the real client. After `siem opensearch up` brings the cluster back
to green: each acknowledged event is searchable exactly once, searchable == read - quarantined, every
shard's copies hold the same documents, reconciliation held, and the integrity chain verifies.

Used by `tests/cluster/` (which asserts) and `benchmarks/faults.py` (which prints the figures).
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError

from dagster_project.client import make_client
from dagster_project.cluster import nodes
from dagster_project.commands.detect_cmd import day_start
from dagster_project.errors import IngestError
from dagster_project.ingest.pipeline import IngestSummary, ingest
from dagster_project.integrity.verify import verify
from dagster_project.node import lifecycle
from dagster_project.settings import NodeSettings, RetentionSettings, default_home
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

SOURCE = "linux-auth"
EVENTS = int(os.environ.get("SIEM_FAULT_EVENTS", "200000"))
"""Records per fault scenario (the issue asks for at least 200,000)."""
MALFORMED_EVERY = 997
"""One record in this many is not syslog at all: it must end in quarantine, never in the events."""
NODES = 3
HEAP = "512m"
DEADLINE = float(os.environ.get("SIEM_FAULT_DEADLINE", "600"))
"""Seconds any one wait (ingestion, green, a node's exit) may take before the scenario fails (SIEM_FAULT_DEADLINE)."""
RETENTION = RetentionSettings(retention_days=365, hot_days=90, replicas=None)
"""Replicas left to the cluster default (1 on three nodes), whatever SIEM_REPLICAS the developer has set."""


@dataclass(frozen=True)
class ClusterConfig:
    """Where the test cluster lives: its SIEM_HOME and first HTTP and transport ports."""

    home: Path
    http_port: int
    transport_port: int

    @classmethod
    def from_env(cls) -> ClusterConfig:
        """SIEM_CLUSTER_TEST_HOME / _PORT / _TRANSPORT_PORT, defaulting beside the other test nodes."""
        return cls(
            Path(os.environ.get("SIEM_CLUSTER_TEST_HOME") or default_home().parent / "siem-cluster"),
            int(os.environ.get("SIEM_CLUSTER_TEST_PORT", "9271")),
            int(os.environ.get("SIEM_CLUSTER_TEST_TRANSPORT_PORT", "9371")),
        )

    def environment(self) -> dict[str, str]:
        """The variables that point the suite (in-process and CLI alike) at this cluster."""
        urls = cluster_urls(self)
        return {
            "SIEM_HOME": str(self.home),
            "SIEM_OPENSEARCH_PORT": str(self.http_port),
            "SIEM_OPENSEARCH_TRANSPORT_PORT": str(self.transport_port),
            "SIEM_OPENSEARCH_NODES": str(NODES),
            "SIEM_OPENSEARCH_HEAP": HEAP,
            "OPENSEARCH_URL": ",".join(urls),
            "OPENSEARCH_USER": "",
            "OPENSEARCH_PASSWORD": "",
            "OPENSEARCH_CA_CERTS": "",
        }


def cluster_urls(config: ClusterConfig) -> list[str]:
    """The HTTP URLs of the test cluster's nodes."""
    return [f"http://127.0.0.1:{config.http_port + i}" for i in range(NODES)]


@dataclass
class Figures:
    """One scenario's outcome; the first six keys are what `benchmarks/faults.py --json` promises."""

    scenario: str
    events_read: int = 0
    acknowledged: int = 0
    searchable: int = 0
    duplicates: int = 0
    """Ids stored more than once (must be 0)."""
    lost: int = 0
    """Acknowledged events not searchable after green (must be 0)."""
    seconds_to_green: float = 0.0
    """How long `siem opensearch up` took to bring the stopped node back and the cluster to green."""
    quarantined: int = 0
    reruns: int = 0
    """Ingestion runs that failed with a clear error and were run again (allowed once per file)."""
    conflicts: int = 0
    """409s the final run met: events an earlier attempt stored whose answer was lost."""
    copies_agree: bool = False
    verify_ok: bool = False
    reconciles: bool = False
    killed: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Plain data, rounded."""
        data = asdict(self)
        data["seconds_to_green"] = round(self.seconds_to_green, 1)
        return data


class AckRecorder:
    """Wraps the real client: every event id a bulk response acknowledged (2xx) is recorded."""

    def __init__(self, client: OpenSearch) -> None:
        self._client = client
        self.acked: set[str] = set()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        """The real `bulk`; its answer is read for acknowledged event ids and returned unchanged.

        The index of each document is read from the request (an answer is in the request's order), since
        ingestion asks the node to leave `_index` out of its answers.
        """
        response = self._client.bulk(*args, **kwargs)
        body = kwargs["body"]
        lines = (body.decode() if isinstance(body, bytes) else body).split("\n")
        indices = [next(iter(json.loads(line).values()))["_index"] for line in lines[0::2] if line]  # create + source
        items = response["items"]
        assert len(items) == len(indices), "one answer per action"
        acked = [
            result["_id"]
            for item, index in zip(items, indices, strict=True)
            for result in item.values()
            if 200 <= result.get("status", 0) < 300 and index.startswith(naming.name("events-"))
        ]
        with self._lock:
            self.acked.update(acked)
        return response


def write_auth_log(path: Path, count: int, start: datetime, span: timedelta) -> tuple[int, int]:
    """`count` distinct syslog auth records over `span` from `start`; returns (records, malformed ones).

    Mostly benign logins and failures from ever-changing addresses, plus what the linux rules look for:
    a burst of failures then a success from one address every 4,000 records, sudo to root by developers,
    user and group creation.
    """
    malformed = 0
    step = span / count
    with path.open("w") as out:
        for i in range(count):
            if i % MALFORMED_EVERY == MALFORMED_EVERY - 1:
                out.write(f"corrupted record {start:%Y%m%d%H%M%S}-{i} \x01 no syslog header\n")
                malformed += 1
                continue
            ts = start + step * i
            out.write(f"{ts:%b} {ts.day:2d} {ts:%H:%M:%S} app-{i % 7:02d} {_auth_message(i)}\n")
    return count, malformed


def _auth_message(i: int) -> str:
    a, b = divmod(i, 250)
    burst, attacker = i % 4000, f"192.0.2.{(i // 4000) % 250}"
    if burst < 6:
        return (
            f"sshd[{2000 + burst}]: Failed password for invalid user admin{i} from {attacker} port {40000 + burst} ssh2"
        )
    if burst == 6:
        return f"sshd[2100]: Accepted password for ops{i} from {attacker} port 40100 ssh2"
    if i % 1009 == 0:
        return f"sudo:    dev{i % 13} : TTY=pts/{i % 5} ; PWD=/srv/app ; USER=root ; COMMAND=/usr/bin/cat /etc/f{i}"
    if i % 2003 == 0:
        return f"useradd[{300 + i % 600}]: new user: name=svc{i}, UID={1000 + i % 50000}, GID=100, home=/home/svc{i}"
    if i % 3001 == 0:
        return f"groupadd[{300 + i % 600}]: new group: name=grp{i}, GID={2000 + i % 50000}"
    pid, port = 1000 + b, 1024 + b
    if i % 3 == 0:
        return f"sshd[{pid}]: Failed password for invalid user guest{i} from 198.51.{a % 250}.{b} port {port} ssh2"
    return f"sshd[{pid}]: Accepted publickey for deploy{i % 40} from 10.{a % 250}.{b}.{i % 250} port {port} ssh2"


def wipe(client: OpenSearch) -> None:
    """Remove the suite's data indices of the namespace (templates stay), so a scenario's counts are its own."""
    client.indices.delete(
        index=naming.all_pattern(), ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all"
    )


def cluster_client(config: ClusterConfig) -> OpenSearch:
    """A client to every node, from the suite's one client factory."""
    return make_client(config.environment()["OPENSEARCH_URL"], timeout=60)


def run_cli(*args: str, config: ClusterConfig, timeout: float = DEADLINE) -> dict[str, Any]:
    """Run `siem ARGS --json` against the cluster; its one JSON object (AssertionError with stderr otherwise)."""
    env = {**os.environ, **config.environment()}
    done = subprocess.run(
        [sys.executable, "-m", "dagster_project", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"siem {' '.join(args)} exited {done.returncode}: {done.stderr[-3000:]}"
    return json.loads(done.stdout)


@contextmanager
def environment(config: ClusterConfig) -> Iterator[None]:
    """os.environ pointed at the cluster for the block (so in-process settings see it), then restored."""
    saved = {name: os.environ.get(name) for name in config.environment()}
    os.environ.update(config.environment())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_cluster(config: ClusterConfig) -> lifecycle.UpResult:
    """`siem opensearch up --nodes 3` for the test cluster; NodeError (loud) when it cannot start."""
    with environment(config):
        return lifecycle.up(NodeSettings(), nodes=NODES)


def running_nodes(config: ClusterConfig) -> int:
    """How many nodes of the test cluster run now."""
    with environment(config):
        target = lifecycle.target_for(NodeSettings(), nodes=NODES)
    return sum(1 for spec in target.nodes if lifecycle.node_pid(spec) is not None)


def stop_cluster(config: ClusterConfig) -> None:
    """`siem opensearch down` for the test cluster."""
    with environment(config):
        lifecycle.down(NodeSettings())


def pick(client: OpenSearch, *, cluster_manager: bool) -> dict[str, Any]:
    """The elected cluster manager, or a data node that is not it."""
    members = nodes(client)
    chosen = [n for n in members if n["cluster_manager"] == cluster_manager and "data" in n["roles"]]
    assert chosen, f"no {'elected cluster manager' if cluster_manager else 'other data node'} in {members}"
    return chosen[0]


def events_indexed(client: OpenSearch) -> int:
    """Index operations the events' primaries have applied so far (live, no refresh needed)."""
    stats = client.indices.stats(index=naming.events_pattern(), metric="indexing", params={"allow_no_indices": "true"})
    return int(stats.get("_all", {}).get("primaries", {}).get("indexing", {}).get("index_total", 0))


def cluster_answers(client: OpenSearch | AckRecorder) -> bool:
    """True when some node answers a health request with an elected cluster manager (yellow or better)."""
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout="1s", request_timeout=5)
    except (OpenSearchConnectionError, TransportError):
        return False
    return health.get("status") in ("yellow", "green")


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll `predicate` until true; AssertionError naming `what` at the deadline.

    At the deadline every thread's stack goes to stderr first, so a stalled run shows where it stalled
    (CI keeps only the report).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            _report_stall(what)
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _report_stall(what: str) -> None:
    print(f"--- stalled waiting for {what}: every thread's stack ---", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)


class Ingestion(threading.Thread):
    """Files ingested one after another in the background through an AckRecorder.

    A run that fails with a clear IngestError is re-run once (the issue allows it; the re-run must complete).
    With `stop`, files after the one in progress are left when it is set.
    """

    def __init__(self, client: OpenSearch, paths: list[Path], stop: threading.Event | None = None) -> None:
        super().__init__(daemon=True)
        self.recorder = AckRecorder(client)
        self.paths = paths
        self.stop = stop or threading.Event()
        self.summaries: list[IngestSummary] = []
        self.failures: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        """Ingest each file (re-running a failed one once) until the files or `stop` run out."""
        try:
            for path in self.paths:
                self.summaries.append(self._ingest(path))
                if self.stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001  (re-raised by finish() in the caller's thread)
            self.error = exc

    def _ingest(self, path: Path) -> IngestSummary:
        for _ in range(2):
            try:
                return ingest(self.recorder, SOURCE, [path], retention=RETENTION)  # type: ignore[arg-type]
            except IngestError as exc:
                self.failures.append(str(exc)[:500])
                # As an operator would: re-run once the cluster answers again (a cluster manager is elected).
                wait_until(lambda: cluster_answers(self.recorder), "the cluster to answer before the re-run")
        raise AssertionError(f"ingestion of {path} failed twice: {self.failures}")

    def finish(self) -> list[IngestSummary]:
        """Wait for the runs; their final summaries, or the failure re-raised here."""
        self.join(DEADLINE)
        assert not self.is_alive(), f"ingestion still running after {DEADLINE:.0f}s"
        if self.error is not None:
            raise self.error
        return self.summaries


def bring_back(config: ClusterConfig, missing: str) -> float:
    """`siem opensearch up`: it must start exactly the missing node and return at green; the seconds it took."""
    result = run_cli("opensearch", "up", config=config)
    assert result["started"] == [missing], result
    return float(result["seconds"])


def check(
    client: OpenSearch, figures: Figures, summaries: list[IngestSummary], acked: set[str], malformed: int
) -> Figures:
    """Fill the after-green figures: searchable, duplicates, lost, copies agree, verify."""
    health = client.cluster.health(wait_for_status="green", timeout="120s", request_timeout=150)
    assert health["status"] == "green", health
    client.indices.refresh(index=naming.all_pattern(), ignore_unavailable=True, allow_no_indices=True)
    found: list[str] = [
        hit["_id"] for hit in helpers.scan(client, index=naming.events_pattern(), query={"_source": False}, size=5000)
    ]
    distinct = set(found)
    figures.events_read = sum(s.read for s in summaries)
    figures.quarantined = int(client.count(index=naming.quarantine_pattern())["count"])
    figures.searchable = int(client.count(index=naming.events_pattern())["count"])
    figures.acknowledged = len(acked)
    figures.duplicates = len(found) - len(distinct)
    figures.lost = len(acked - distinct)
    figures.conflicts = sum(s.duplicates for s in summaries)
    figures.reconciles = all(s.reconciles for s in summaries)
    figures.copies_agree = wait_for_copies(client)
    verifying = time.monotonic()
    report = verify(
        client, day_start(datetime.now(UTC).date()), day_start(datetime.now(UTC).date()) + timedelta(1), None
    )
    figures.verify_ok = report.ok
    figures.notes["seconds_verifying"] = round(time.monotonic() - verifying, 1)
    figures.notes["verify"] = {k: len(v) if isinstance(v, list) else v for k, v in report.as_json().items()}
    figures.notes["malformed_written"] = malformed
    return figures


def copies_agree(client: OpenSearch) -> bool:
    """Every shard of the namespace has two or more started copies holding the same operations and documents.

    Compared by sequence numbers (each copy's max_seq_no, all applied: local checkpoint == max_seq_no) and
    by document counts after a refresh: what ClusterDisruptionIT checks copy by copy.
    """
    client.indices.refresh(index=naming.all_pattern(), ignore_unavailable=True, allow_no_indices=True)
    stats = client.indices.stats(index=naming.all_pattern(), level="shards", metric="docs")  # seq_no comes too
    for shards in stats.get("indices", {}).values():
        for copies in shards.get("shards", {}).values():
            started = [c for c in copies if c["routing"]["state"] == "STARTED"]
            seen = {(c["seq_no"]["max_seq_no"], c["seq_no"]["local_checkpoint"], c["docs"]["count"]) for c in started}
            if len(started) < 2 or len(seen) != 1 or next(iter(seen))[0] != next(iter(seen))[1]:
                return False
    return True


def wait_for_copies(client: OpenSearch, timeout: float = 120.0) -> bool:
    """Poll until the copies agree (a rebalancing move may still be finishing after green); False at the deadline."""
    deadline = time.monotonic() + timeout
    while not copies_agree(client):
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def acked_indexing(
    config: ClusterConfig, workdir: Path, *, kill_cluster_manager: bool, events: int = EVENTS
) -> Figures:
    """Ingest `events` records; SIGKILL a node when a third are in; `siem opensearch up` a tenth later.

    So events are written with the node gone, and more while it rejoins and recovers. It comes back within
    the cluster's delayed-allocation timeout (1 minute), as a crashed node restarted by its supervisor would,
    so its shards recover from the operations they missed rather than being copied afresh.
    """
    scenario = "cluster_manager_killed" if kill_cluster_manager else "data_node_killed"
    client = cluster_client(config)
    try:
        wipe(client)
        bootstrap(client, RETENTION)
        path = workdir / f"{scenario}.log"
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
        _, malformed = write_auth_log(path, events, start, timedelta(days=4))
        victim = pick(client, cluster_manager=kill_cluster_manager)
        ingestion = Ingestion(cluster_client(config), [path])
        began = time.monotonic()
        ingestion.start()
        wait_until(lambda: events_indexed(client) >= events // 3 or not ingestion.is_alive(), "a third indexed")
        assert ingestion.is_alive(), "ingestion finished before the fault: raise SIEM_FAULT_EVENTS"
        os.kill(victim["pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: events_indexed(client) >= 13 * events // 30 or not ingestion.is_alive(), "more indexed")
        figures = Figures(scenario, killed=victim["name"])
        figures.notes["ingesting_while_down"] = ingestion.is_alive()
        figures.notes["seconds_down"] = round(time.monotonic() - killed_at, 1)
        figures.seconds_to_green = bring_back(config, victim["name"])
        summaries = ingestion.finish()
        figures.reruns = len(ingestion.failures)
        figures.notes["ingest_failures"] = ingestion.failures
        figures.notes["seconds_ingesting"] = round(time.monotonic() - began, 1)
        checked = time.monotonic()
        check(client, figures, summaries, ingestion.recorder.acked, malformed)
        figures.notes["seconds_checking"] = round(time.monotonic() - checked, 1)
        return figures
    finally:
        client.close()


def detect(config: ClusterConfig, start_day: str, end_day: str) -> dict[str, Any]:
    """`siem detect --no-alerts --json` over the range: findings written, and events matched in total and per rule.

    `findings` counts what this run created (0 where a previous run already wrote them); `matched` is the
    same on every run over the same events, so it is what runs are compared by.
    """
    data = run_cli("detect", "--from", start_day, "--to", end_day, "--no-alerts", config=config)
    return {
        "findings": data["findings"],
        "matched": data["matched"],
        "rules": {r["id"]: r["matched"] for r in data["rules"]},
    }


def _same_detection(run: dict[str, Any], quiet: dict[str, Any]) -> bool:
    return run["matched"] == quiet["matched"] and run["rules"] == quiet["rules"]


def finding_ids(client: OpenSearch) -> set[str]:
    """The ids in the findings index."""
    client.indices.refresh(index=naming.findings_index(), ignore_unavailable=True)
    return {
        h["_id"]
        for h in helpers.scan(client, index=naming.findings_index(), query={"_source": False}, ignore_unavailable=True)
    }


def rolling_restart(config: ClusterConfig, workdir: Path, *, events: int = 10_000, files: int = 10) -> Figures:
    """Stop and start each node in turn while ingestion runs; `siem detect` while each node is down.

    The hunted events are ingested and detected on the quiet cluster first; during the restart, files of
    `events` records (other days) are ingested one after another, and every detection over the hunted days
    must find exactly what the quiet one found.
    """
    client = cluster_client(config)
    try:
        wipe(client)
        bootstrap(client, RETENTION)
        now = datetime.now(UTC).replace(microsecond=0)
        hunted = now - timedelta(days=12)
        quiet_path = workdir / "quiet.log"
        _, quiet_malformed = write_auth_log(quiet_path, events, hunted, timedelta(days=2))
        quiet = Ingestion(cluster_client(config), [quiet_path])
        quiet.start()
        summaries = quiet.finish()
        client.indices.refresh(index=naming.all_pattern())
        days = (hunted.date().isoformat(), (hunted + timedelta(days=2)).date().isoformat())
        expected = detect(config, *days)
        quiet_ids = finding_ids(client)
        assert expected["findings"] > 0 and len(quiet_ids) == expected["findings"] == expected["matched"], expected
        client.indices.delete(index=naming.findings_index())
        busy = [workdir / f"busy-{k}.log" for k in range(files)]
        malformed = [
            write_auth_log(path, events, now - timedelta(days=6) + timedelta(hours=12 * k), timedelta(hours=12))[1]
            for k, path in enumerate(busy)
        ]
        stop = threading.Event()
        ingestion = Ingestion(cluster_client(config), busy, stop)
        ingestion.start()
        greens: dict[str, float] = {}
        hunts: list[dict[str, Any]] = []
        for member in nodes(client):
            name = member["name"]
            stopped = subprocess.run(
                [sys.executable, "-m", "dagster_project", "opensearch", "down", "--node", name],
                env={**os.environ, **config.environment()},
                capture_output=True,
                text=True,
                timeout=DEADLINE,
                check=False,
            )
            assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
            hunts.append(detect(config, *days))
            greens[name] = bring_back(config, name)
        stop.set()
        ingesting_throughout = ingestion.is_alive()
        busy_summaries = ingestion.finish()
        figures = Figures("rolling_restart", reruns=len(quiet.failures) + len(ingestion.failures))
        figures.seconds_to_green = max(greens.values())
        figures.notes["seconds_to_green_per_node"] = {name: round(s, 1) for name, s in greens.items()}
        figures.notes["ingesting_throughout"] = ingesting_throughout
        figures.notes["files_ingested_during_restart"] = len(busy_summaries)
        figures.notes["ingest_failures"] = ingestion.failures
        figures.notes["detect_runs"] = len(hunts)
        figures.notes["quiet_findings"] = expected["findings"]
        figures.notes["findings_per_run"] = [r["findings"] for r in hunts]
        figures.notes["matched_per_run"] = [r["matched"] for r in hunts]
        figures.notes["same_findings"] = (
            all(_same_detection(r, expected) for r in hunts) and finding_ids(client) == quiet_ids
        )
        acked = quiet.recorder.acked | ingestion.recorder.acked
        written = quiet_malformed + sum(malformed[: len(busy_summaries)])
        return check(client, figures, summaries + busy_summaries, acked, written)
    finally:
        client.close()
