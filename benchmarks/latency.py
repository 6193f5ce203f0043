"""Detection latency of the suite's own near-real-time path: event indexed -> finding -> alert at a webhook.

The `new_events_detection` sensor runs this path for newly indexed events (it is evaluated every 60 s), so the
end-to-end latency is at most one sensor interval plus what this measures. Run with a node up; prints one JSON
object. Works in its own index namespace (benchmarks/namespace.py), never in siem-*.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import namespace  # first: the index namespace

from dagster_project.client import client_from_env
from dagster_project.detection.alerts import raise_alerts
from dagster_project.detection.hunt import hunt, select_rules
from dagster_project.detection.notifications import notify
from dagster_project.ingest.pipeline import ingest
from dagster_project.settings import RetentionSettings, SmtpSettings, WebhookSettings
from dagster_project.storage.bootstrap import bootstrap

RECEIVED: list[float] = []


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        RECEIVED.append(time.perf_counter())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    """Index one audit-log-cleared event now, run the minute path, time each stage."""
    client = client_from_env()
    bootstrap(client, RetentionSettings())
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    now = datetime.now(UTC)
    record = {
        "Event": {
            "System": {
                "EventID": 1102,
                "Channel": "Security",
                "Computer": "bench-host",
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Eventlog"}},
                "TimeCreated": {"#attributes": {"SystemTime": now.isoformat().replace("+00:00", "Z")}},
                "EventRecordID": int(now.timestamp()),
            },
            "UserData": {"LogFileCleared": {"SubjectUserName": "bench-user", "SubjectDomainName": "BENCH"}},
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cleared.jsonl"
        path.write_text(json.dumps(record) + "\n")
        started = time.perf_counter()
        summary = ingest(client, "windows", [path])
        indexed = time.perf_counter()
    assert summary.indexed == 1, summary
    rules = [pair for pair in select_rules() if "log" in pair[0].title.lower() and "clear" in pair[0].title.lower()]
    end = datetime.now(UTC) + timedelta(minutes=5)
    deadline = time.perf_counter() + 60
    # Poll as the minute schedule would (it cannot see the event before the index refreshes, every 5 s).
    while True:
        result = hunt(client, end - timedelta(minutes=20), end, rules=rules)
        if result.findings or time.perf_counter() > deadline:
            break
    found = time.perf_counter()
    changes = raise_alerts(client, end - timedelta(minutes=20), end)
    notify(client, changes, webhook=WebhookSettings(url=f"http://127.0.0.1:{server.server_port}/"), smtp=SmtpSettings())
    delivered = RECEIVED[0] if RECEIVED else float("nan")
    server.shutdown()
    namespace.wipe(client)
    print(
        json.dumps(
            {
                "ingest_seconds": round(indexed - started, 3),
                "index_to_finding_seconds": round(found - indexed, 3),
                "index_to_webhook_seconds": round(delivered - indexed, 3),
                "findings": result.findings,
                "new_alerts": sum(c.created for c in changes),
                "worst_case_with_minute_schedule_seconds": round(delivered - indexed + 60, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
