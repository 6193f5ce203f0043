"""PAM module messages: authentication failures, sessions, password changes."""

from __future__ import annotations

import re
from typing import Any

from dagster_project.sources.linux_auth.fields import (
    AUTH,
    END,
    IAM,
    INFO,
    SESSION,
    START,
    USER_CHANGE,
    Result,
    auth_fields,
    set_source,
    set_user,
    target_user,
)

PAM_PREFIX = re.compile(r"(pam_[\w-]+)\(([^:()]*):(\w+)\): (.*)")
"""`pam_unix(sshd:auth): ...`: a PAM module message that names its service and management group."""
_PAM_MORE = re.compile(r"PAM (\d+) more authentication failures?; (.*)")
_PAM_SESSION = re.compile(r"session (opened|closed) for user (.+?)(?:\(uid=(\d+)\))?(?: by (.*?)(?:\(uid=(\d+)\))?)?")
_KV = re.compile(r"(\w+)=(\S*)")
_PAM_KEYS = ("logname", "uid", "euid", "tty", "ruser", "rhost")
_PASSWORD_CHANGED = re.compile(r"password changed for (\S+)")
_CHAUTHTOK_NO_USER = re.compile(r"user \"(.*)\" does not exist in /etc/passwd")


def _fields(doc: dict[str, Any], module: str, service: str, kind: str | None) -> dict[str, Any]:
    """Create `linux.auth.pam` with the module, service and PAM management group."""
    pam: dict[str, Any] = {"module": module, "service": service}
    if kind:
        pam["type"] = kind
    auth_fields(doc)["pam"] = pam
    return pam


def _failure_kv(body: str, doc: dict[str, Any], pam: dict[str, Any]) -> None:
    """Copy the `key=value` pairs of a PAM authentication failure into ECS and `linux.auth.pam`."""
    values = dict(_KV.findall(body))
    for key in _PAM_KEYS:
        value = values.get(key)
        if value:
            pam[key] = value
    name = values.get("user")
    if name:
        set_user(doc, name)
    set_source(doc, values.get("rhost"))


def pam_message(module: str, service: str, kind: str | None, body: str, doc: dict[str, Any]) -> Result | None:
    """A PAM module message: authentication failures, sessions, password changes."""
    if body.startswith("authentication failure;"):
        pam = _fields(doc, module, service, kind)
        _failure_kv(body, doc, pam)
        return ("pam_authentication_failure", AUTH, INFO, "failure")
    if body.startswith("session "):
        m = _PAM_SESSION.fullmatch(body)
        if m is None:
            return None
        verb, name, uid, by_name, by_uid = m.groups()
        user = set_user(doc, name)
        if uid is not None:
            user["id"] = uid
        pam = _fields(doc, module, service, kind)
        if by_name:
            pam["by_user"] = by_name
        if by_uid is not None:
            pam["by_uid"] = by_uid
        if verb == "opened":
            return ("pam_session_opened", SESSION, START, "success")
        return ("pam_session_closed", SESSION, END, "success")
    if kind == "chauthtok":
        m = _PASSWORD_CHANGED.fullmatch(body)
        if m is not None:
            target_user(doc, m.group(1))
            _fields(doc, module, service, kind)
            return ("password_changed", IAM, USER_CHANGE, "success")
        m = _CHAUTHTOK_NO_USER.fullmatch(body)
        if m is not None:
            target_user(doc, m.group(1))
            _fields(doc, module, service, kind)
            return ("password_changed", IAM, USER_CHANGE, "failure")
    return None


def pam_more(msg: str, doc: dict[str, Any], program: str) -> Result | None:
    """`PAM 5 more authentication failures; ...`: the failures PAM folded into one line."""
    m = _PAM_MORE.fullmatch(msg)
    if m is None:
        return None
    count, body = m.groups()
    pam = _fields(doc, "pam_unix", program, "auth")
    _failure_kv(body, doc, pam)
    auth_fields(doc)["repeated"] = int(count)
    return ("pam_authentication_failure", AUTH, INFO, "failure")
