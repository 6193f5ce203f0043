"""Live-collection benchmark: receive rates into the spool, RSS growth, and sent -> searchable / -> finding latency.

Run: `python benchmarks/collect.py [--quick] [--json]` with the node up (in the `siembench` namespace, wiped
before and after the end-to-end run, so what it leaves verifies). Prints one JSON object; every ratio
divides by a baseline measured in the same run:
* `tcp`: syslog messages/s over one TCP connection (octet-counted) into the spool, with `siem serve`'s real
  receiver; baseline: the same bytes read off a plain socket by a Python loop that does nothing with them.
  `messages_per_cpu_second` divides by the receiver's own CPU time (user + system): the "on one core"
  figure, which does not depend on what else the machine runs (wall-clock rates do).
* `http`: lines/s over HTTP in 1,000-line batches (keep-alive, one client); baseline: the same requests
  against an aiohttp handler that only reads the body; `lines_per_cpu_second` as above.
* `rss`: the receiver's VmRSS after 100k and after 1M TCP messages.
* `end_to_end`: `siem serve` with the Dagster daemon; syslog over TCP at a sustained rate; p50/p95 of
  sent -> searchable (event in OpenSearch) and sent -> finding (a rule-matching event's finding), both
  polled while sending; `stages` breaks a batch's time down (seal -> run, queue, run process launch,
  ingest, detect) from the Dagster event log; baseline `baseline_floor_s`: a segment's seal age plus one
  in-process ingestion of a segment's events (no sensor, queue, run process or detection).
  `--end-to-end-only --rate N --seconds S` runs only this part (the issue's figure: 2000 for 300 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import namespace  # first: the index namespace
from opensearchpy.exceptions import TransportError

from dagster_project.client import client_from_env
from dagster_project.settings import RetentionSettings
from dagster_project.storage import naming
from dagster_project.storage.bootstrap import bootstrap

BIN = Path(sys.executable).parent
LINE = "<38>Dec  1 10:00:00 bench-host sshd[4242]: Failed password for root from 198.51.100.{} port {} ssh2"


def frames(count: int, start: int = 0) -> bytes:
    """`count` octet-counted syslog frames."""
    out = []
    for i in range(start, start + count):
        message = LINE.format(i % 250, i).encode()
        out.append(f"{len(message)} ".encode() + message)
    return b"".join(out)


def start_serve(spool: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], dict]:
    """`siem serve --json` in a subprocess, once it listens."""
    environment = dict(env or os.environ) | {"SIEM_SPOOL_DIR": str(spool), "SIEM_SPOOL_MAX_BYTES": str(8 * 1024**3)}
    process = subprocess.Popen(
        [str(BIN / "siem"), "serve", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def receiver_pid(spool: Path) -> int:
    """The receiver child's pid."""
    return int(json.loads((spool / "receiver.json").read_text())["pid"])


def spooled(spool: Path) -> int:
    """Records the receiver has spooled (its status file, refreshed every second)."""
    try:
        return sum(item["spooled"] for item in json.loads((spool / "receiver.json").read_text())["listeners"])
    except (OSError, ValueError, KeyError):
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_spooled(spool: Path, count: int, timeout: float = 600) -> float:
    """Seconds until `count` records are spooled."""
    started = time.monotonic()
    while spooled(spool) < count:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"only {spooled(spool)} of {count} spooled")
        time.sleep(0.05)
    return time.monotonic() - started


def baseline_socket_rate(payload: bytes, messages: int) -> float:
    """Messages/s a do-nothing Python reader takes off one TCP connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    done = threading.Event()

    def read() -> None:
        conn, _ = server.accept()
        while conn.recv(262144):
            pass
        done.set()

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    with socket.create_connection(server.getsockname()) as client:
        client.sendall(payload)
    done.wait()
    server.close()
    return messages / (time.monotonic() - started)


def tcp_benchmark(work: Path, messages: int, rss_points: tuple[int, int]) -> dict[str, Any]:
    """Receive rate over one TCP connection and RSS growth between two message counts."""
    spool = work / "tcp-spool"
    process, info = start_serve(spool, "--no-daemon", "--no-webserver", "--syslog-tcp", "127.0.0.1:0")
    try:
        host, port = info["listeners"][0]["address"].rsplit(":", 1)
        chunk = 100_000
        sent = 0
        rss: dict[int, int] = {}
        pid = receiver_pid(spool)
        payloads = [frames(chunk, start) for start in range(0, max(messages, rss_points[1]), chunk)]
        cpu = cpu_seconds(pid)
        started = time.monotonic()
        with socket.create_connection((host, int(port))) as client:
            for payload in payloads:
                client.sendall(payload)
                sent += chunk
                if sent in rss_points:
                    wait_spooled(spool, sent)
                    rss[sent] = rss_kib(pid)
                if sent == messages:
                    elapsed = time.monotonic() - started + wait_spooled(spool, sent)
                    rate = messages / elapsed
                    cpu_rate = messages / (cpu_seconds(pid) - cpu)
        baseline = baseline_socket_rate(frames(messages), messages)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    low, high = rss_points
    return {
        "messages": messages,
        "messages_per_second": round(rate),
        "messages_per_cpu_second": round(cpu_rate),
        "baseline_plain_socket_per_second": round(baseline),
        "ratio": round(rate / baseline, 3),
        "rss_kib": {str(k): v for k, v in rss.items()},
        "rss_growth_mib": round((rss.get(high, 0) - rss.get(low, 0)) / 1024, 1),
    }


async def _post_batches(port: int, batches: list[bytes], path: str = "/v1/logs/linux-auth") -> float:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        for body in batches:
            async with session.post(f"http://127.0.0.1:{port}{path}", data=body) as response:
                assert response.status == 200, await response.text()
                await response.read()
        return time.monotonic() - started


async def _baseline_http(batches: list[bytes]) -> float:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"accepted": 0})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/logs/{source}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        return await _post_batches(port, batches)
    finally:
        await runner.cleanup()


def http_benchmark(work: Path, lines: int) -> dict[str, Any]:
    """Lines/s over HTTP in 1,000-line batches, and the do-nothing aiohttp baseline."""
    batch = 1000
    batches = [
        "".join(LINE.format(i % 250, i)[4:] + "\n" for i in range(start, start + batch)).encode()
        for start in range(0, lines, batch)
    ]
    spool = work / "http-spool"
    process, info = start_serve(spool, "--no-daemon", "--no-webserver", "--http", "127.0.0.1:0")
    try:
        port = int(info["listeners"][0]["address"].rsplit(":", 1)[1])
        pid = receiver_pid(spool)
        cpu = cpu_seconds(pid)
        seconds = asyncio.run(_post_batches(port, batches))
        cpu = cpu_seconds(pid) - cpu
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    baseline = asyncio.run(_baseline_http(batches))
    return {
        "lines": lines,
        "lines_per_second": round(lines / seconds),
        "lines_per_cpu_second": round(lines / cpu),
        "baseline_read_only_per_second": round(lines / baseline),
        "ratio": round(baseline / seconds, 3),
    }


def end_to_end(work: Path, rate: int, seconds: int) -> dict[str, Any]:
    """Sustained syslog over TCP through `siem serve` (daemon on): sent -> searchable and sent -> finding."""
    client = client_from_env()
    namespace.wipe(client)  # what it leaves must verify: it starts from an empty namespace and wipes it after
    bootstrap(client, RetentionSettings())
    spool, home, archive = work / "e2e-spool", work / "dagster", work / "e2e-archive"
    env = dict(os.environ) | {"DAGSTER_HOME": str(home), "SIEM_SPOOL_ARCHIVE_DIR": str(archive)}
    process, info = start_serve(spool, "--no-webserver", "--syslog-tcp", "127.0.0.1:0", env=env)
    run = f"bench{int(time.time())}"
    probes: dict[str, float] = {}
    matches: dict[str, float] = {}
    sending = threading.Event()
    polled: list[list[float]] = []
    targets = [(naming.events_pattern("linux-auth"), probes), (naming.findings_index(), matches)]
    poller = threading.Thread(target=lambda: polled.extend(_latencies(client_from_env(), targets, sending, 240)))
    try:
        host, port = info["listeners"][0]["address"].rsplit(":", 1)
        poller.start()
        with socket.create_connection((host, int(port))) as sender:
            started = time.monotonic()
            sent = 0
            while time.monotonic() - started < seconds:
                second = int(time.monotonic() - started)
                batch = []
                stamp = time.strftime("%b %e %H:%M:%S", time.gmtime())
                for i in range(rate // 10):
                    n = sent + i
                    batch.append(
                        f"<38>{stamp} bench-host sshd[{n}]: Accepted password for u{n} from 192.0.2.1 port 22 ssh2"
                    )
                name = f"{run}x{second}"
                if name not in probes:
                    probes[name] = time.time()
                    batch.append(
                        f"<38>{stamp} bench-host sshd[1]: Accepted password for {name} from 192.0.2.2 port 22 ssh2"
                    )
                    if second % 5 == 0:
                        matches[f"{name}m"] = time.time()
                        batch.append(
                            f"<86>{stamp} bench-host useradd[9]: new user: name={name}m, UID=1001, GID=1001, "
                            "home=/home/x, shell=/bin/bash"
                        )
                sender.sendall(b"".join(f"{len(m.encode())} {m}".encode() for m in batch))
                sent += len(batch)
                time.sleep(max(0.0, started + (sent / rate) - time.monotonic()))
        sending.set()
        poller.join()
        searchable, finding = polled
        stages = run_stages(home, archive)
        floor = latency_floor(client, work, rate)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        namespace.wipe(client)
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "sent": sent,
        "sent_to_searchable_s": _percentiles(searchable),
        "sent_to_finding_s": _percentiles(finding),
        "stages": stages,
        "baseline_floor_s": floor,
        "ratio_p50_to_floor": _ratio(searchable, floor, 0.5),
        "ratio_p95_to_floor": _ratio(searchable, floor, 0.95),
        "targets_s": {"sent_to_searchable_p95": 30, "sent_to_finding_p95": 60},
    }


def latency_floor(client: Any, work: Path, rate: int) -> float:
    """The baseline: a segment's age at sealing plus one in-process `ingest` of a segment's events from a file.

    What an event would wait with no sensor, queue, run process or detection between the spool and the
    pipeline (measured in the same run, on the same node and load): the end-to-end figures divide by it.
    """
    from dagster_project.ingest.pipeline import ingest
    from dagster_project.settings.spool import SpoolSettings

    seal_after = SpoolSettings().segment_seconds
    stamp = time.strftime("%b %e %H:%M:%S", time.gmtime())
    path = work / "floor" / "auth.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    count = int(rate * seal_after)
    path.write_text(
        "".join(
            f"{stamp} floor-host sshd[{n}]: Accepted password for f{n} from 192.0.2.3 port 22 ssh2\n"
            for n in range(count)
        )
    )
    summary = ingest(client, "linux-auth", [path], refresh=True)
    return round(seal_after + summary.seconds, 1)


def _ratio(values: list[float], floor: float, quantile: float) -> float | None:
    if not values or floor <= 0:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(quantile * (len(ordered) - 1))))] / floor, 2)


def run_stages(home: Path, archive: Path) -> dict[str, Any]:
    """Where a batch's time goes, from the Dagster instance's run records and event log (p50/p95 over the runs).

    Per spool-ingestion run: `queued` (run created by the sensor -> the daemon launches it), `launch`
    (launched -> the run worker's start event: process start and loading the code location), `setup` (-> its
    first step: resources), `ingest` / `detect` (the two steps), `finish` (last step -> run end);
    `ingest_events_per_second` divides the events a batch read by its ingest step. `seal_to_run` is the age
    of a batch's newest segment (the seal: its header's `created` plus
    SIEM_SPOOL_SEGMENT_SECONDS) when the run was created: the sensor's tick and the wait for the previous run.
    """
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from dagster_project.collect.spool import read_header
    from dagster_project.settings.spool import SpoolSettings

    seal_after = SpoolSettings().segment_seconds

    instance = DagsterInstance.from_config(str(home))
    names = ("seal_to_run", "queued", "launch", "setup", "ingest", "detect", "finish")
    stages: dict[str, list[float]] = {k: [] for k in names}
    rates: list[float] = []
    segments: list[float] = []
    records = instance.get_run_records(filters=RunsFilter(job_name="spool_ingestion"))
    for record in records:
        if record.dagster_run.status != DagsterRunStatus.SUCCESS:
            continue
        logs = instance.all_logs(record.dagster_run.run_id)
        first: dict[str, float] = {}
        steps: dict[str, list[float]] = {}
        read = 0
        for entry in logs:
            event = entry.dagster_event
            kind = event.event_type_value if event else "LOG"
            first.setdefault(kind, entry.timestamp)
            if event and event.step_key and kind in ("STEP_START", "STEP_SUCCESS"):
                steps.setdefault(event.step_key, []).append(entry.timestamp)
            if event and kind == "ASSET_MATERIALIZATION" and event.step_key == "spool_events":
                meta = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
                read = int(meta["read"].value)
        ingest, detect = steps.get("spool_events", []), steps.get("spool_findings", [])
        if len(ingest) != 2 or len(detect) != 2 or "PIPELINE_STARTING" not in first:
            continue
        launched, worker = first["PIPELINE_STARTING"], first.get("PIPELINE_START", ingest[0])
        newest = record.dagster_run.run_config["ops"]["spool_events"]["config"]["segments"][-1]
        source, _, seq = newest.rpartition("-")
        sealed = read_header(archive / source / f"{seq}.sealed")["created"] + seal_after
        stages["seal_to_run"].append(record.create_timestamp.timestamp() - sealed)
        stages["queued"].append(launched - record.create_timestamp.timestamp())
        stages["launch"].append(worker - launched)
        stages["setup"].append(ingest[0] - worker)
        stages["ingest"].append(ingest[1] - ingest[0])
        stages["detect"].append(detect[1] - detect[0])
        stages["finish"].append(record.end_time - detect[1] if record.end_time else 0.0)
        rates.append(read / max(ingest[1] - ingest[0], 1e-6))
        segments.append(float(record.dagster_run.tags.get("siem/segments", 0)))
    summary = {name: _percentiles(values) for name, values in stages.items()}
    summary["ingest_events_per_second"] = _percentiles(rates)
    summary["segments_per_run"] = _percentiles(segments)
    summary["runs"] = len(rates)
    return summary


def _latencies(
    client: Any, targets: list[tuple[str, dict[str, float]]], sent: threading.Event, timeout: float
) -> list[list[float]]:
    """Per (index, {user.name: sent at}): seconds from sending to the first search that finds each name.

    Polls every 0.5 s while the sender still adds names (so nothing waits for the sending to end), then
    until every name is found or `timeout` seconds after the sending ended.
    """
    seen: list[dict[str, float]] = [{} for _ in targets]
    deadline = float("inf")
    while time.time() < deadline:
        if sent.is_set():
            deadline = min(deadline, time.time() + timeout)
            if all(len(s) == len(t) for s, (_, t) in zip(seen, targets, strict=True)):
                break
        for found_at, (index, sent_at) in zip(seen, targets, strict=True):
            missing = [name for name in dict(sent_at) if name not in found_at]
            if not missing:
                continue
            try:
                found = client.search(
                    index=index,
                    body={"size": len(missing), "query": {"terms": {"user.name": missing}}, "_source": ["user.name"]},
                    ignore_unavailable=True,
                    allow_no_indices=True,
                )
            except TransportError as exc:
                if exc.status_code != 503:  # a daily index just created, its shard not yet started: next poll
                    raise
                continue
            now = time.time()
            for hit in found["hits"]["hits"]:
                found_at.setdefault(hit["_source"]["user"]["name"], now)
        time.sleep(0.5)
    return [
        [found_at[name] - sent_at[name] for name in found_at]
        for found_at, (_, sent_at) in zip(seen, targets, strict=True)
    ]


def _percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"observed": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"observed": len(values), "p50": round(statistics.median(ordered), 1), "p95": round(p95, 1)}


def main() -> None:
    """Run the benchmarks and print one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="Small counts and a 30 s end-to-end run.")
    parser.add_argument("--json", action="store_true", help="Print the one JSON object (what it always prints).")
    parser.add_argument(
        "--end-to-end-only", action="store_true", help="Only the end-to-end run (with --rate and --seconds)."
    )
    parser.add_argument("--rate", type=int, default=2000, help="End-to-end events/s (default 2000).")
    parser.add_argument("--seconds", type=int, default=300, help="End-to-end duration (default 300).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="siem-bench-collect-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        if args.end_to_end_only:
            result = {"end_to_end": end_to_end(work, args.rate, args.seconds)}
        elif args.quick:
            result = {
                "tcp": tcp_benchmark(work, 200_000, (100_000, 200_000)),
                "http": http_benchmark(work, 50_000),
                "end_to_end": end_to_end(work, 500, 30),
            }
        else:
            result = {
                "tcp": tcp_benchmark(work, 1_000_000, (100_000, 1_000_000)),
                "http": http_benchmark(work, 500_000),
                "end_to_end": end_to_end(work, args.rate, args.seconds),
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
