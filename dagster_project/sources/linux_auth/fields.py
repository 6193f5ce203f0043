"""What the auth-message handlers share: their result type, ECS vocabularies and the fields they fill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagster_project.sources.values import canonical_ip, is_hostname

Result = tuple[str, tuple[str, ...], tuple[str, ...], str]
"""What a recognised message is: `event.action`, `event.category`, `event.type`, `event.outcome`."""
Handler = Callable[[str, dict[str, Any]], Result | None]
"""A program's handler: its message and the document to fill; None (document untouched) when not recognised."""

AUTH = ("authentication",)
SESSION = ("session",)
AUTH_SESSION = ("authentication", "session")
PROCESS = ("process",)
IAM = ("iam",)
START = ("start",)
END = ("end",)
INFO = ("info",)
NONE: tuple[str, ...] = ()
USER_CREATION = ("user", "creation")
USER_CHANGE = ("user", "change")
USER_DELETION = ("user", "deletion")
GROUP_CREATION = ("group", "creation")


def set_source(doc: dict[str, Any], value: str | None, port: str | None = None) -> None:
    """Set `source.*` from an address that may be an IP or a host name."""
    if not value:
        return
    ip = canonical_ip(value)
    if ip is not None:
        source: dict[str, Any] = {"ip": ip}
    elif is_hostname(value):
        source = {"address": value, "domain": value}
    else:
        source = {"address": value}
    if port is not None and len(port) <= 5 and int(port) <= 65535:
        source["port"] = int(port)
    doc["source"] = source


def auth_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The `linux.auth` object of a document, created on first use."""
    linux = doc.get("linux")
    if linux is None:
        auth: dict[str, Any] = {}
        doc["linux"] = {"auth": auth}
        return auth
    result: dict[str, Any] = linux["auth"]
    return result


def set_user(doc: dict[str, Any], name: str | None) -> dict[str, Any]:
    """Set `user.name` and return the `user` object; an empty name (sshd logs them) sets nothing."""
    if not name:
        return {}
    user: dict[str, Any] = doc.setdefault("user", {})
    user["name"] = name
    return user


def target_user(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """Set the account acted on as `user.name` and `user.target.name`; return `user.target`."""
    target: dict[str, Any] = {"name": name}
    doc["user"] = {"name": name, "target": target}
    return target
