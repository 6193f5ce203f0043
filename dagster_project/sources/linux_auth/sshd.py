"""sshd messages: logins, invalid users, disconnects and break-in warnings."""

from __future__ import annotations

import re
from typing import Any

from dagster_project.sources.linux_auth.fields import AUTH, INFO, START, Result, auth_fields, set_source, set_user
from dagster_project.sources.values import is_hostname

_SSH_AUTH = re.compile(
    r"(Accepted|Failed) (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)"
    r"(?: ssh\d?)?(?:: (.*?))?(?: \[preauth\])?"
)
_SSH_INVALID = re.compile(r"Invalid user (.*?) from (\S+)(?: port (\d+))?(?: \[preauth\])?")
_SSH_CLOSE_PORT = re.compile(
    r"(Received disconnect from|Disconnected from|Connection closed by|Connection reset by) "
    r"(?:(?:invalid user|authenticating user|user) (.*?) )?(\S+) port (\d+)(?:[: ].*)?"
)
_SSH_CLOSE_OLD = re.compile(
    r"(Received disconnect from|Disconnected from|Connection closed by|Connection reset by) "
    r"(\S+?)(?::? .*|:)?"
)
_SSH_DISCONNECTING = re.compile(
    r"Disconnecting(?: (?:invalid user|authenticating user|user) (.*?) (\S+) port (\d+))?"
    r": (.*?)(?: \[preauth\])?"
)
_SSH_MAXTRIES = re.compile(
    r"maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) port (\d+)"
    r"(?: ssh\d?)?(?: \[preauth\])?"
)
_SSH_REVERSE = re.compile(r"reverse mapping checking getaddrinfo for (\S+) \[([^\]]+)\] failed.*")
_SSH_MAPS = re.compile(r"Address (\S+) maps to (\S+), but this does not map back to the address.*")
_TOO_MANY_FOR = "Too many authentication failures for "


def sshd(msg: str, doc: dict[str, Any]) -> Result | None:
    """Recognise an sshd message and fill its fields."""
    if msg.startswith("error: "):
        msg = msg[7:]
    first = msg[:4]
    if first in ("Acce", "Fail"):
        m = _SSH_AUTH.fullmatch(msg)
        if m is None:
            return None
        verdict, method, invalid, name, address, port, signature = m.groups()
        ssh: dict[str, Any] = {"event": verdict, "method": method}
        if invalid:
            ssh["invalid_user"] = True
        if signature:
            ssh["signature"] = signature
        set_user(doc, name)
        set_source(doc, address, port)
        auth_fields(doc)["ssh"] = ssh
        outcome = "success" if verdict == "Accepted" else "failure"
        return ("ssh_login", AUTH, START, outcome)
    if first in ("Rece", "Disc", "Conn"):
        return _ssh_close(msg, doc)
    if first == "Inva":
        m = _SSH_INVALID.fullmatch(msg)
        if m is None:
            return None
        name, address, port = m.groups()
        set_user(doc, name)
        set_source(doc, address, port)
        auth_fields(doc)["ssh"] = {"event": "Invalid user", "invalid_user": True}
        return ("ssh_invalid_user", AUTH, INFO, "failure")
    if first == "maxi":
        m = _SSH_MAXTRIES.fullmatch(msg)
        if m is None:
            return None
        invalid, name, address, port = m.groups()
        set_user(doc, name)
        set_source(doc, address, port)
        ssh = {"event": "Maximum authentication attempts exceeded"}
        if invalid:
            ssh["invalid_user"] = True
        auth_fields(doc)["ssh"] = ssh
        return ("ssh_disconnect", AUTH, INFO, "failure")
    if "POSSIBLE BREAK-IN ATTEMPT" in msg:
        m = _SSH_REVERSE.fullmatch(msg)
        if m is not None:
            domain, address = m.groups()
        else:
            m = _SSH_MAPS.fullmatch(msg)
            address, domain = m.groups() if m is not None else (None, None)
        set_source(doc, address)
        if domain and "source" in doc and "ip" in doc["source"] and is_hostname(domain):
            doc["source"]["domain"] = domain
        auth_fields(doc)["ssh"] = {"event": "POSSIBLE BREAK-IN ATTEMPT"}
        return ("ssh_break_in_attempt", AUTH, INFO, "unknown")
    return None


def _ssh_close(msg: str, doc: dict[str, Any]) -> Result | None:
    """sshd: the end of a connection (closed, reset, disconnected, or cut for too many failures)."""
    if msg.startswith("Disconnecting"):
        m = _SSH_DISCONNECTING.fullmatch(msg)
        if m is None:
            return None
        name, address, port, reason = m.groups()
        if name is None and reason.startswith(_TOO_MANY_FOR):
            name = reason[len(_TOO_MANY_FOR) :]
        if name is not None:
            set_user(doc, name)
        set_source(doc, address, port)
        auth_fields(doc)["ssh"] = {"event": "Disconnecting"}
        outcome = "failure" if reason.startswith("Too many authentication failures") else "unknown"
        return ("ssh_disconnect", AUTH, INFO, outcome)
    m = _SSH_CLOSE_PORT.fullmatch(msg)
    if m is not None:
        event, name, address, port = m.groups()
    else:
        m = _SSH_CLOSE_OLD.fullmatch(msg)
        if m is None:
            return None
        event, address = m.groups()
        name = port = None
    if name:
        set_user(doc, name)
    set_source(doc, address, port)
    auth_fields(doc)["ssh"] = {"event": _CLOSE_EVENTS[event]}
    return ("ssh_disconnect", AUTH, INFO, "unknown")


_CLOSE_EVENTS = {
    "Received disconnect from": "Received disconnect",
    "Disconnected from": "Disconnected",
    "Connection closed by": "Connection closed",
    "Connection reset by": "Connection reset",
}
