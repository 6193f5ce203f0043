"""The suite's own audit trail: one `siem-audit` document per administrative action (bootstrap, delivery...).

The security plugin's audit log (security-auditlog-*) records who accessed which index; this index records
what the suite itself did, in its own words, and is readable by officers (role siem_officer).
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch

from dagster_project.ids import stable_id
from dagster_project.storage import naming

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
# Detail keys whose values never reach the index (matched as substrings, case-insensitively).
SECRET_MARKERS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "private_key",
)


def record(
    client: OpenSearch,
    action: str,
    *,
    actor: str,
    target: str,
    details: dict[str, Any],
    key: str | None = None,
    timestamp: datetime | None = None,
) -> None:
    """Write one action to `siem-audit` (blocking; retried as `dagster_project.retries` states).

    Pass `key` when the action is naturally idempotent (e.g. the content hash of the template that
    bootstrap applied): the id is then a hash of (action, target, key), so recording it again overwrites
    the same document. Without `key` each call is its own document, with an id hashed from its content
    and time, so the client's retries of that one request cannot duplicate it. Detail values under
    secret-looking keys (password, token, ...) are replaced by "[redacted]".
    """
    when = timestamp or datetime.now(UTC)
    clean = redact(details)
    document = {
        "@timestamp": when.isoformat(),
        "action": action,
        "actor": actor,
        "target": target,
        "host": socket.gethostname(),
        "details": clean,
    }
    doc_id = audit_id(action, target, key) if key is not None else audit_id(action, target, _canonical(document))
    client.index(index=naming.audit_index(), id=doc_id, body=document)
    log.info("audit %s by %s on %s", action, actor, target)


def audit_id(action: str, target: str, key: str) -> str:
    """The document id of an action: a SHA-256 of (action, target, key)."""
    return stable_id(json.dumps([action, target, key]), length=64)


def redact(details: dict[str, Any]) -> dict[str, Any]:
    """A copy of `details` with the values of secret-looking keys replaced, at any depth."""
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if any(marker in str(name).lower() for marker in SECRET_MARKERS):
            clean[name] = REDACTED
        elif isinstance(value, dict):
            clean[name] = redact(value)
        elif isinstance(value, list):
            clean[name] = [redact(v) if isinstance(v, dict) else v for v in value]
        else:
            clean[name] = value
    return clean


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, default=str)
