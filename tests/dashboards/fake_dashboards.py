"""A small HTTP server that answers the saved objects import API the way OpenSearch Dashboards does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request as the server saw it, and the ndjson objects of its upload (when it had one)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    filename: str | None = None
    part_type: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeDashboards:
    """Records every request, keeps imported objects by (type, id), answers scripted replies first."""

    base_path: str = ""
    received: list[Received] = field(default_factory=list)
    stored: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    scripted: list[tuple[int, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, request: Received, body: bytes) -> tuple[int, Any]:
        """The status and JSON Dashboards would send back."""
        if self.scripted:
            return self.scripted.pop(0)
        if request.method != "POST" or request.path != f"{self.base_path}/api/saved_objects/_import":
            return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
        if request.headers.get("osd-xsrf") != "true":
            return 400, {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "Request must contain a osd-xsrf header.",
            }
        content_type = request.headers.get("content-type", "")
        message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        parts = list(message.iter_parts()) if message.is_multipart() else []
        files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1:
            return 400, {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "[request body.file]: expected value",
            }
        upload = files[0]
        request.filename = upload.get_filename()
        request.part_type = upload.get_content_type()
        if not (request.filename or "").endswith(".ndjson"):
            return 400, {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension .json"}
        payload = upload.get_payload(decode=True)
        request.objects = [json.loads(line) for line in payload.decode().splitlines() if line.strip()]
        uploaded = {(o["type"], o["id"]) for o in request.objects}
        errors, results = [], []
        for obj in request.objects:
            key = (obj["type"], obj["id"])
            missing = [
                {"type": r["type"], "id": r["id"]}
                for r in obj.get("references", [])
                if (r["type"], r["id"]) not in uploaded and (r["type"], r["id"]) not in self.stored
            ]
            if missing:
                errors.append(
                    {
                        "id": obj["id"],
                        "type": obj["type"],
                        "title": obj["attributes"].get("title"),
                        "error": {"type": "missing_references", "references": missing},
                    }
                )
            elif key in self.stored and request.query.get("overwrite") != ["true"]:
                errors.append({"id": obj["id"], "type": obj["type"], "error": {"type": "conflict"}})
            else:
                results.append(
                    {
                        "type": obj["type"],
                        "id": obj["id"],
                        "meta": {"title": obj["attributes"].get("title")},
                        **({"overwrite": True} if key in self.stored else {}),
                    }
                )
        if not errors:
            for obj in request.objects:
                self.stored[(obj["type"], obj["id"])] = obj
        answer: dict[str, Any] = {"success": not errors, "successCount": len(results)}
        if results:
            answer["successResults"] = results
        if errors:
            answer["errors"] = errors
        return 200, answer


@contextmanager
def running(fake: FakeDashboards) -> Iterator[FakeDashboards]:
    """Serve `fake` on a free loopback port for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            self._handle()

        def do_GET(self) -> None:  # noqa: N802
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = Received(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
            )
            fake.received.append(request)
            status, answer = fake.answer(request, body)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{fake.base_path}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
