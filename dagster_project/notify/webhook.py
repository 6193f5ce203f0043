"""Posts JSON to a webhook through elastic-transport: pooled connections, retries on 429/5xx, TLS verification."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import NodeConfig, Transport
from elastic_transport import TransportError as WebhookTransportError

from dagster_project.errors import SiemError
from dagster_project.settings import WebhookSettings

log = logging.getLogger(__name__)


class DeliveryError(SiemError):
    """A notification could not be delivered."""


class Webhook:
    """One webhook endpoint; reuse it for many posts, then `close()`."""

    def __init__(self, settings: WebhookSettings) -> None:
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError("SIEM_WEBHOOK_URL must be an http(s) URL", where="SIEM_WEBHOOK_URL")
        self._path = parts.path or "/"
        if parts.query:
            self._path += f"?{parts.query}"
        self._where = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"
        node = NodeConfig(
            parts.scheme,
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            ca_certs=settings.ca_certs or None,
            verify_certs=settings.verify_certs,
            request_timeout=settings.timeout,
        )
        self._transport = Transport([node], retry_on_status=(429, 502, 503, 504), retry_on_timeout=True, max_retries=3)
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        token = settings.token.get_secret_value()
        if token:
            self._headers["authorization"] = f"Bearer {token}"

    def post(self, payload: dict[str, Any]) -> int:
        """POST one JSON payload; returns the HTTP status; DeliveryError after retries fail or on a 4xx."""
        try:
            response = self._transport.perform_request("POST", self._path, body=payload, headers=self._headers)
        except WebhookTransportError as exc:
            raise DeliveryError(f"webhook delivery failed: {type(exc).__name__}", where=self._where) from exc
        status = response.meta.status
        if status >= 300:
            raise DeliveryError(f"webhook answered HTTP {status}", where=self._where)
        return status

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()
