"""Imports the saved objects into OpenSearch Dashboards through its saved objects API, with elastic-transport.

`POST /api/saved_objects/_import?overwrite=true` takes one multipart file upload (an `.ndjson` file) and the
header `osd-xsrf: true`. elastic-transport serialises bodies by mimetype and has no multipart serialiser, so
the body is built here (one part, a random boundary) and handed over as bytes through a pass-through
serialiser registered for `multipart/form-data`; the transport adds pooled connections, TLS verification and
retries (429/502/503/504 and timeouts, with backoff). Overwriting makes a re-run idempotent.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from elastic_transport import NodeConfig, SerializationError, Serializer, Transport, TransportError

from dagster_project.dashboards.objects import SavedObject, load_saved_objects, ndjson_payload
from dagster_project.dashboards.validate import validate
from dagster_project.errors import ArtifactError, ConfigurationError, SiemError
from dagster_project.storage import naming

log = logging.getLogger(__name__)

IMPORT_PATH = "/api/saved_objects/_import"
UPLOAD_NAME = naming.DASHBOARDS_UPLOAD
"""Dashboards refuses uploads whose file name does not end in `.ndjson`."""


class DashboardsError(SiemError):
    """Dashboards could not be reached, refused the upload, or reported objects it did not import."""


@dataclass(frozen=True)
class ImportResult:
    """What Dashboards reported: objects imported (by type) and the URL they went to."""

    url: str
    imported: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Objects imported in all."""
        return sum(self.imported.values())


class _BytesSerializer(Serializer):
    """Passes an already-encoded multipart body through unchanged."""

    mimetype: ClassVar[str] = "multipart/form-data"

    def loads(self, data: bytes) -> bytes:
        return data

    def dumps(self, data: Any) -> bytes:
        if not isinstance(data, bytes):
            raise SerializationError(f"a multipart body must be bytes, not {type(data).__name__}")
        return data


def multipart_body(payload: bytes, filename: str = UPLOAD_NAME) -> tuple[bytes, str]:
    """A multipart/form-data body with one file field `file`; returns (body, content-type header)."""
    boundary = f"{naming.MULTIPART_BOUNDARY_PREFIX}{uuid.uuid4().hex}"
    while boundary.encode() in payload:  # astronomically unlikely; a boundary must not occur in the content
        boundary = f"{naming.MULTIPART_BOUNDARY_PREFIX}{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class DashboardsClient:
    """One Dashboards server; reuse it for several imports, then `close()`."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        ca_certs: str = "",
        verify_certs: bool = True,
        timeout: float = 60.0,
        max_retries: int = 3,
        retry_backoff: float = 1.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"{url!r} is not an http(s) URL", where="OPENSEARCH_DASHBOARDS_URL")
        self.url = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path.rstrip('/')}"
        https = parts.scheme == "https"
        node = NodeConfig(
            parts.scheme,
            parts.hostname,
            parts.port or (443 if https else 80),
            path_prefix=parts.path.rstrip("/"),
            ca_certs=(ca_certs or None) if https else None,  # TLS options are refused on plain http
            verify_certs=verify_certs,
            request_timeout=timeout,
        )
        self._transport = Transport(
            [node],
            serializers={_BytesSerializer.mimetype: _BytesSerializer()},
            retry_on_status=(429, 502, 503, 504),
            retry_on_timeout=True,
            max_retries=max_retries,
            retry_backoff_base=retry_backoff,
            retry_backoff_cap=30.0,
            meta_header=False,
        )
        self._headers = {"osd-xsrf": "true", "accept": "application/json"}
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._headers["authorization"] = f"Basic {token}"
        if https and not verify_certs:
            log.warning("TLS certificate verification is OFF for %s", self.url)

    def import_objects(self, payload: bytes, *, overwrite: bool = True) -> ImportResult:
        """Upload ndjson `payload` (blocking, retried on 429/5xx); DashboardsError unless all imported."""
        body, content_type = multipart_body(payload)
        target = f"{IMPORT_PATH}?overwrite={'true' if overwrite else 'false'}"
        where = f"{self.url}{IMPORT_PATH}"
        try:
            response = self._transport.perform_request(
                "POST", target, body=body, headers={**self._headers, "content-type": content_type}
            )
        except (TransportError, SerializationError) as exc:
            raise DashboardsError(f"import request failed: {exc}", where=where) from exc
        status, answer = response.meta.status, response.body
        if status >= 300:
            raise DashboardsError(f"Dashboards answered HTTP {status}: {_message(answer)}", where=where)
        if not isinstance(answer, dict) or "success" not in answer:
            raise DashboardsError(f"unexpected import response: {str(answer)[:300]}", where=where)
        errors = answer.get("errors") or []
        if errors or answer.get("success") is not True:
            details = "; ".join(_describe(e) for e in errors[:10]) or "success is false"
            more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
            raise DashboardsError(f"{len(errors)} of the objects were not imported: {details}{more}", where=where)
        imported = Counter(str(r.get("type")) for r in answer.get("successResults", []))
        log.info("imported %d saved objects into %s", sum(imported.values()), self.url)
        return ImportResult(self.url, dict(sorted(imported.items())))

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()


def deploy(
    url: str,
    *,
    user: str = "",
    password: str = "",
    ca_certs: str = "",
    verify_certs: bool = True,
    timeout: float = 60.0,
    objects: list[SavedObject] | None = None,
) -> ImportResult:
    """Validate the saved objects (default: `dashboards/`) and import them all in one request (overwrite)."""
    if not url:
        raise ConfigurationError("no Dashboards URL: set OPENSEARCH_DASHBOARDS_URL", where="OPENSEARCH_DASHBOARDS_URL")
    objects = objects if objects is not None else load_saved_objects()
    offenders = validate(objects)
    if offenders:
        raise ArtifactError(f"{len(offenders)} problems, nothing deployed: {offenders[0]}", where="dashboards/")
    client = DashboardsClient(
        url, user=user, password=password, ca_certs=ca_certs, verify_certs=verify_certs, timeout=timeout
    )
    try:
        result = client.import_objects(ndjson_payload(objects))
    finally:
        client.close()
    if result.count != len(objects):
        raise DashboardsError(f"sent {len(objects)} objects, Dashboards reports {result.count}", where=result.url)
    return result


def _message(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or answer)[:300]
    return str(answer)[:300]


def _describe(error: dict[str, Any]) -> str:
    detail = error.get("error", {})
    kind = detail.get("type", "unknown")
    what = f"{error.get('type')} {error.get('id')!r}"
    if kind == "missing_references":
        missing = ", ".join(f"{r.get('type')} {r.get('id')!r}" for r in detail.get("references", []))
        return f"{what}: missing references {missing}"
    return f"{what}: {kind}{': ' + str(detail['message']) if detail.get('message') else ''}"
