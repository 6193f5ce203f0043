"""Linux authentication syslog (auth.log, secure, messages) as ECS events, `event.dataset: linux.auth`.

Accepted line formats
    * RFC 3164 / BSD: ``Mar 27 13:06:56 host sshd[123]: message`` (optionally with a leading ``<PRI>``),
      including old sysklogd tags such as ``sshd(pam_unix)[123]:`` or ``syslogd 1.4.1:``.
    * The ISO-8601 variant rsyslog and journald write: ``2024-03-27T13:06:56.123+01:00 host sshd[1]: ...``.
    * RFC 5424: ``<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd-id k="v"] message``.

Time zones
    RFC 3164 timestamps carry no zone and are taken as UTC (the same zone as the reference time).
    ISO-8601 and RFC 5424 timestamps carry an offset, which is applied; a timestamp without one is
    taken as UTC. Every event time is stored in UTC.

The year rule (RFC 3164 timestamps have no year)
    1. The first RFC 3164 line of a file gets the year of ``context.reference_time`` (the file's
       mtime, in UTC).
    2. Each later RFC 3164 line keeps the year of the line before; when the month goes backwards
       (a Dec line followed by a Jan line) the year increments.
    3. Whatever 1 or 2 gave: while the timestamp would be more than one day after the reference time,
       it belongs to the year before (a December line in a file last written in January). The day of
       slack absorbs the difference between the host's local syslog time and the UTC mtime.
    4. 29 February in a year that is not a leap year moves to the latest earlier leap year.
    The rule needs the lines of one file in order: make one parser per file and parse its records
    in order. Only RFC 3164 lines read or change this state.

Recognised messages set `event.action` as listed in docs/ecs-fields.md; any other valid syslog line
is an event with `event.action: syslog`, `event.category: []`, `event.type: [info]`. Lines that are
not syslog at all are rejected.

Field choices the contract leaves open
    * sudo and su: `user.name` is the invoking user, `user.effective.name` the user switched to.
    * PAM sessions: `user.name` is the session's user; the invoker of ``by alice(uid=1000)`` is in
      `linux.auth.pam.by_user` / `by_uid`.
    * useradd, usermod, userdel, passwd, chpasswd: the account acted on is both `user.name` (as the
      contract says) and `user.target.name`; ``changed by 'root'`` goes to `linux.auth.changed_by`.
      Of groupadd's three lines per group only ``new group:`` is a `group_created` event.
    * `linux.auth.repeated` is how many more times the line happened: ``message repeated N times: [..]``
      (the inner message is what gets recognised) and ``PAM N more authentication failures``.
    * `linux.auth.ssh.event` keeps sshd's verb (``Accepted``, ``Failed``, ``Invalid user``,
      ``Disconnected``, ``Received disconnect``, ``Connection closed``, ``Disconnecting``, ...).
    * A client that is not an IP address goes to `source.address` (and `source.domain` when it is a
      host name), never to `source.ip`.
"""

from __future__ import annotations

import re
from calendar import isleap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, BinaryIO

from dagster_project.sources.base import (
    MONTHS,
    Event,
    RawRecord,
    Rejected,
    SourceContext,
    SourceParser,
    canonical_ip,
    guarded_parse,
    iter_lines,
)

NAME = "linux-auth"
DATASET = "linux.auth"
MODULE = "linux"

# event.action, event.category, event.type, event.outcome
_Result = tuple[str, tuple[str, ...], tuple[str, ...], str]
_Handler = Callable[[str, dict[str, Any]], _Result | None]

_FACILITIES = (
    ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp")
    + ("ntp", "security", "console", "solaris-cron")
    + tuple(f"local{n}" for n in range(8))
)
_SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")

_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) "
    r"(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? +(\S+)(?: +(.*))?"
)
_ISO = re.compile(
    r"(?:<(\d{1,3})>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) +(\S+)(?: +(.*))?"
)
_SD_ELEMENT = r"\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\]"
_RFC5424 = re.compile(r"<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:" + _SD_ELEMENT + r")+)(?: (.*))?")
_RFC5424_START = re.compile(r"<\d{1,3}>\d{1,2} ")
_RFC5424_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)")
_SD_PARTS = re.compile(r"\[([^\s\]=\"]+)((?:\s+[^\s=\]\"]+=\"(?:[^\"\\]|\\.)*\")*)\s*\]")
_SD_PARAM = re.compile(r"([^\s=\]\"]+)=\"((?:[^\"\\]|\\.)*)\"")
_SD_UNESCAPE = re.compile(r"\\([\"\\\]])")
# TAG[PID]: -- one word, or two for old sysklogd tags such as "syslogd 1.4.1" and "-- root".
_TAG = re.compile(r"([^\s\[\]:]+(?: [^\s\[\]:]+)?)(?:\[([^\]\s]*)\])?:(?: +|$)")
_FRACTION = re.compile(r"\.(\d{7,})")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_.])?")

_REPEATED = re.compile(r"message repeated (\d+) times?: \[ ?(.*?) ?\]")

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

_PAM = re.compile(r"(pam_[\w-]+)\(([^:()]*):(\w+)\): (.*)")
_PAM_MORE = re.compile(r"PAM (\d+) more authentication failures?; (.*)")
_PAM_SESSION = re.compile(r"session (opened|closed) for user (.+?)(?:\(uid=(\d+)\))?(?: by (.*?)(?:\(uid=(\d+)\))?)?")
_KV = re.compile(r"(\w+)=(\S*)")
_PAM_KEYS = ("logname", "uid", "euid", "tty", "ruser", "rhost")
_CHAUTHTOK_NO_USER = re.compile(r"user \"(.*)\" does not exist in /etc/passwd")

_SUDO = re.compile(r"\s*(\S+) : (.*)")
_SU_BY = re.compile(r"(Successful su|FAILED su) for (\S+) by (\S+)")
_SU_TO = re.compile(r"(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)")
_CRON_CMD = re.compile(r"\((\S+?)\) CMD \((.*)\)")

_COMMA_KV = re.compile(r"(\w+)=([^,]*)")
_FAILED_ADDING = re.compile(r"failed adding user '(.*)', data deleted")
_GROUP_MEMBER = re.compile(r"(add|delete) '(.*?)' (?:to|from) (?:shadow )?group '(.*)'")
_QUOTED = re.compile(r"'([^']*)'")
_DELETE_USER = re.compile(r"delete user '(.*)'")
_PASSWORD_BY = re.compile(r"password for '(.*?)' changed by '(.*)'")
_PASSWORD_CHANGED = re.compile(r"password changed for (\S+)")

_AUTH = ("authentication",)
_SESSION = ("session",)
_AUTH_SESSION = ("authentication", "session")
_PROCESS = ("process",)
_IAM = ("iam",)
_START = ("start",)
_END = ("end",)
_INFO = ("info",)
_NONE: tuple[str, ...] = ()
_USER_CREATION = ("user", "creation")
_USER_CHANGE = ("user", "change")
_USER_DELETION = ("user", "deletion")
_GROUP_CREATION = ("group", "creation")

_SYSLOG: _Result = ("syslog", _NONE, _INFO, "unknown")
_NOT_SYSLOG = "not an RFC 3164/5424 syslog line"


def _set_source(doc: dict[str, Any], value: str | None, port: str | None = None) -> None:
    """Set `source.*` from an address that may be an IP or a host name."""
    if not value:
        return
    ip = canonical_ip(value)
    if ip is not None:
        source: dict[str, Any] = {"ip": ip}
    elif _HOSTNAME.fullmatch(value):
        source = {"address": value, "domain": value}
    else:
        source = {"address": value}
    if port is not None and len(port) <= 5 and int(port) <= 65535:
        source["port"] = int(port)
    doc["source"] = source


def _auth(doc: dict[str, Any]) -> dict[str, Any]:
    """The `linux.auth` object of a document, created on first use."""
    linux = doc.get("linux")
    if linux is None:
        auth: dict[str, Any] = {}
        doc["linux"] = {"auth": auth}
        return auth
    result: dict[str, Any] = linux["auth"]
    return result


def _user(doc: dict[str, Any], name: str | None) -> dict[str, Any]:
    """Set `user.name` and return the `user` object; an empty name (sshd logs them) sets nothing."""
    if not name:
        return {}
    user: dict[str, Any] = doc.setdefault("user", {})
    user["name"] = name
    return user


# --- sshd ---------------------------------------------------------------------------------------


def _sshd(msg: str, doc: dict[str, Any]) -> _Result | None:
    """sshd: logins, invalid users, disconnects and break-in warnings."""
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
        _user(doc, name)
        _set_source(doc, address, port)
        _auth(doc)["ssh"] = ssh
        outcome = "success" if verdict == "Accepted" else "failure"
        return ("ssh_login", _AUTH, _START, outcome)
    if first in ("Rece", "Disc", "Conn"):
        return _ssh_close(msg, doc)
    if first == "Inva":
        m = _SSH_INVALID.fullmatch(msg)
        if m is None:
            return None
        name, address, port = m.groups()
        _user(doc, name)
        _set_source(doc, address, port)
        _auth(doc)["ssh"] = {"event": "Invalid user", "invalid_user": True}
        return ("ssh_invalid_user", _AUTH, _INFO, "failure")
    if first == "maxi":
        m = _SSH_MAXTRIES.fullmatch(msg)
        if m is None:
            return None
        invalid, name, address, port = m.groups()
        _user(doc, name)
        _set_source(doc, address, port)
        ssh = {"event": "Maximum authentication attempts exceeded"}
        if invalid:
            ssh["invalid_user"] = True
        _auth(doc)["ssh"] = ssh
        return ("ssh_disconnect", _AUTH, _INFO, "failure")
    if "POSSIBLE BREAK-IN ATTEMPT" in msg:
        m = _SSH_REVERSE.fullmatch(msg)
        if m is not None:
            domain, address = m.groups()
        else:
            m = _SSH_MAPS.fullmatch(msg)
            address, domain = m.groups() if m is not None else (None, None)
        _set_source(doc, address)
        if domain and "source" in doc and "ip" in doc["source"] and _HOSTNAME.fullmatch(domain):
            doc["source"]["domain"] = domain
        _auth(doc)["ssh"] = {"event": "POSSIBLE BREAK-IN ATTEMPT"}
        return ("ssh_break_in_attempt", _AUTH, _INFO, "unknown")
    return None


def _ssh_close(msg: str, doc: dict[str, Any]) -> _Result | None:
    """sshd: the end of a connection (closed, reset, disconnected, or cut for too many failures)."""
    if msg.startswith("Disconnecting"):
        m = _SSH_DISCONNECTING.fullmatch(msg)
        if m is None:
            return None
        name, address, port, reason = m.groups()
        if name is None and reason.startswith(_TOO_MANY_FOR):
            name = reason[len(_TOO_MANY_FOR) :]
        if name is not None:
            _user(doc, name)
        _set_source(doc, address, port)
        _auth(doc)["ssh"] = {"event": "Disconnecting"}
        outcome = "failure" if reason.startswith("Too many authentication failures") else "unknown"
        return ("ssh_disconnect", _AUTH, _INFO, outcome)
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
        _user(doc, name)
    _set_source(doc, address, port)
    _auth(doc)["ssh"] = {"event": _CLOSE_EVENTS[event]}
    return ("ssh_disconnect", _AUTH, _INFO, "unknown")


_CLOSE_EVENTS = {
    "Received disconnect from": "Received disconnect",
    "Disconnected from": "Disconnected",
    "Connection closed by": "Connection closed",
    "Connection reset by": "Connection reset",
}


# --- PAM ----------------------------------------------------------------------------------------


def _pam_fields(doc: dict[str, Any], module: str, service: str, kind: str | None) -> dict[str, Any]:
    """Create `linux.auth.pam` with the module, service and PAM management group."""
    pam: dict[str, Any] = {"module": module, "service": service}
    if kind:
        pam["type"] = kind
    _auth(doc)["pam"] = pam
    return pam


def _pam_failure_kv(body: str, doc: dict[str, Any], pam: dict[str, Any]) -> None:
    """Copy the `key=value` pairs of a PAM authentication failure into ECS and `linux.auth.pam`."""
    values = dict(_KV.findall(body))
    for key in _PAM_KEYS:
        value = values.get(key)
        if value:
            pam[key] = value
    name = values.get("user")
    if name:
        _user(doc, name)
    _set_source(doc, values.get("rhost"))


def _pam(module: str, service: str, kind: str | None, body: str, doc: dict[str, Any]) -> _Result | None:
    """A PAM module message: authentication failures, sessions, password changes."""
    if body.startswith("authentication failure;"):
        pam = _pam_fields(doc, module, service, kind)
        _pam_failure_kv(body, doc, pam)
        return ("pam_authentication_failure", _AUTH, _INFO, "failure")
    if body.startswith("session "):
        m = _PAM_SESSION.fullmatch(body)
        if m is None:
            return None
        verb, name, uid, by_name, by_uid = m.groups()
        user = _user(doc, name)
        if uid is not None:
            user["id"] = uid
        pam = _pam_fields(doc, module, service, kind)
        if by_name:
            pam["by_user"] = by_name
        if by_uid is not None:
            pam["by_uid"] = by_uid
        if verb == "opened":
            return ("pam_session_opened", _SESSION, _START, "success")
        return ("pam_session_closed", _SESSION, _END, "success")
    if kind == "chauthtok":
        m = _PASSWORD_CHANGED.fullmatch(body)
        if m is not None:
            _target_user(doc, m.group(1))
            _pam_fields(doc, module, service, kind)
            return ("password_changed", _IAM, _USER_CHANGE, "success")
        m = _CHAUTHTOK_NO_USER.fullmatch(body)
        if m is not None:
            _target_user(doc, m.group(1))
            _pam_fields(doc, module, service, kind)
            return ("password_changed", _IAM, _USER_CHANGE, "failure")
    return None


def _pam_more(msg: str, doc: dict[str, Any], program: str) -> _Result | None:
    """`PAM 5 more authentication failures; ...`: the failures PAM folded into one line."""
    m = _PAM_MORE.fullmatch(msg)
    if m is None:
        return None
    count, body = m.groups()
    pam = _pam_fields(doc, "pam_unix", program, "auth")
    _pam_failure_kv(body, doc, pam)
    _auth(doc)["repeated"] = int(count)
    return ("pam_authentication_failure", _AUTH, _INFO, "failure")


# --- sudo, su, cron -----------------------------------------------------------------------------


def _sudo(msg: str, doc: dict[str, Any]) -> _Result | None:
    """sudo: `user : [error ;] TTY=... ; PWD=... ; USER=... ; COMMAND=...`."""
    m = _SUDO.fullmatch(msg)
    if m is None:
        return None
    name, rest = m.groups()
    head, has_command, command = rest.partition("COMMAND=")
    values: dict[str, str] = {}
    error = None
    for part in head.split(" ; "):
        part = part.strip(" ;")
        if not part:
            continue
        key, eq, value = part.partition("=")
        if eq and key.isupper() and key.isalpha():
            values[key] = value
        elif error is None:
            error = part
    if not has_command and "USER" not in values and "TTY" not in values:
        return None
    _user(doc, name)
    target = values.get("USER")
    if target:
        doc["user"]["effective"] = {"name": target}
    process: dict[str, Any] = doc["process"]
    if has_command:
        process["command_line"] = command
    pwd = values.get("PWD")
    if pwd:
        process["working_directory"] = pwd
    sudo: dict[str, Any] = {}
    tty = values.get("TTY")
    if tty:
        sudo["tty"] = tty
    if error is not None:
        sudo["error"] = error
    if sudo:
        _auth(doc)["sudo"] = sudo
    return ("sudo_command", _PROCESS, _START, "failure" if error is not None else "success")


def _su(msg: str, doc: dict[str, Any]) -> _Result | None:
    """su: `Successful su for X by Y`, `FAILED su for X by Y`, `(to X) Y on pts/0`."""
    m = _SU_BY.fullmatch(msg)
    if m is not None:
        verdict, target, name = m.groups()
        tty = None
        success = verdict == "Successful su"
    else:
        m = _SU_TO.fullmatch(msg)
        if m is None:
            return None
        failed, target, name, tty = m.groups()
        success = failed is None
    _user(doc, name)["effective"] = {"name": target}
    if tty:
        _auth(doc)["su"] = {"tty": tty}
    return ("su_session", _AUTH_SESSION, _START, "success" if success else "failure")


def _cron(msg: str, doc: dict[str, Any]) -> _Result | None:
    """cron: `(user) CMD (command)`."""
    m = _CRON_CMD.fullmatch(msg)
    if m is None:
        return None
    name, command = m.groups()
    _user(doc, name)
    doc["process"]["command_line"] = command
    return ("cron_command", _PROCESS, _START, "unknown")


# --- shadow-utils: useradd, groupadd, usermod, userdel, passwd ----------------------------------


def _target_user(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """Set the account acted on as `user.name` and `user.target.name`; return `user.target`."""
    target: dict[str, Any] = {"name": name}
    doc["user"] = {"name": name, "target": target}
    return target


def _shadow(msg: str, doc: dict[str, Any]) -> _Result | None:
    """useradd/groupadd/usermod/userdel/passwd and friends (shadow-utils messages)."""
    if msg.startswith("new user: "):
        values = dict(_COMMA_KV.findall(msg[10:]))
        name = values.get("name")
        if not name:
            return None
        target = _target_user(doc, name)
        if "UID" in values:
            target["id"] = values["UID"]
        if "GID" in values:
            target["group"] = {"id": values["GID"]}
        useradd = {key: values[key] for key in ("home", "shell", "from") if values.get(key)}
        if useradd:
            _auth(doc)["useradd"] = useradd
        return ("user_created", _IAM, _USER_CREATION, "success")
    if msg.startswith("new group: "):
        values = dict(_COMMA_KV.findall(msg[11:]))
        name = values.get("name")
        if not name:
            return None
        group = {"name": name}
        if "GID" in values:
            group["id"] = values["GID"]
        doc["group"] = group
        return ("group_created", _IAM, _GROUP_CREATION, "success")
    m = _FAILED_ADDING.fullmatch(msg)
    if m is not None:
        _target_user(doc, m.group(1))
        return ("user_created", _IAM, _USER_CREATION, "failure")
    m = _GROUP_MEMBER.fullmatch(msg)
    if m is not None:
        _target_user(doc, m.group(2))
        doc["group"] = {"name": m.group(3)}
        return ("user_modified", _IAM, _USER_CHANGE, "success")
    if msg.startswith(("change user ", "lock user ", "unlock user ")):
        m = _QUOTED.search(msg)
        if m is None:
            return None
        _target_user(doc, m.group(1))
        return ("user_modified", _IAM, _USER_CHANGE, "success")
    m = _DELETE_USER.fullmatch(msg)
    if m is not None:
        _target_user(doc, m.group(1))
        return ("user_deleted", _IAM, _USER_DELETION, "success")
    m = _PASSWORD_BY.fullmatch(msg)
    if m is not None:
        _target_user(doc, m.group(1))
        _auth(doc)["changed_by"] = m.group(2)
        return ("password_changed", _IAM, _USER_CHANGE, "success")
    return None


_HANDLERS: dict[str, _Handler] = {
    "sshd": _sshd,
    "sudo": _sudo,
    "su": _su,
    "CRON": _cron,
    "cron": _cron,
    "crond": _cron,
    "CROND": _cron,
    **{
        name: _shadow
        for name in (
            "useradd",
            "groupadd",
            "usermod",
            "userdel",
            "groupmod",
            "groupdel",
            "gpasswd",
            "passwd",
            "chpasswd",
            "chage",
        )
    },
}


@lru_cache(maxsize=1024)
def _program(tag: str) -> tuple[str | None, str | None, str | None]:
    """Split a syslog tag into (process name, executable path, old-style PAM module)."""
    module = None
    name: str | None = tag
    if " " in tag:
        # Old sysklogd tags: "syslogd 1.4.1" names a program, "-- root" does not.
        first, _, second = tag.partition(" ")
        return (first if second[:1].isdigit() else None), None, None
    if tag.endswith(")") and "(" in tag:
        name, _, module = tag[:-1].partition("(")
    executable = None
    if tag.startswith("/"):
        executable = tag
        name = tag.rsplit("/", 1)[1] or tag
    return name or None, executable, module


def _priority(text: str | None) -> dict[str, Any] | str:
    """The `log.syslog` priority fields for a PRI value, or a reject reason."""
    if text is None:
        return {}
    value = int(text)
    if value > 191:
        return f"syslog priority {value} out of range (0-191)"
    facility, severity = divmod(value, 8)
    return {
        "priority": value,
        "facility": {"code": facility, "name": _FACILITIES[facility]},
        "severity": {"code": severity, "name": _SEVERITIES[severity]},
    }


def _iso_time(text: str) -> datetime | None:
    """An ISO-8601 / RFC 3339 timestamp in UTC (UTC when it has no offset), or None when invalid."""
    if "." in text:
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 STRUCTURED-DATA as {sd-id: {param: value}}."""
    result: dict[str, dict[str, str]] = {}
    for sd_id, params in _SD_PARTS.findall(text):
        result[sd_id] = {key: _SD_UNESCAPE.sub(r"\1", value) for key, value in _SD_PARAM.findall(params)}
    return result


class LinuxAuthParser:
    """Parses the syslog lines of one file in order; holds the RFC 3164 year state (module docstring)."""

    name = NAME

    def __init__(self, context: SourceContext) -> None:
        reference = context.reference_time
        if reference.tzinfo is None:
            reference = reference.replace(tzinfo=UTC)
        self._reference = reference.astimezone(UTC)
        self._limit = self._reference + timedelta(days=1)
        self._year: int | None = None
        self._month = 0

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into lines."""
        return iter_lines(stream)

    def parse(self, record: RawRecord) -> Event | Rejected:
        """Turn one syslog line into an ECS event, or a reject with a reason; never raises."""
        return guarded_parse(record, self._event, "linux-auth")

    def _event(self, record: RawRecord) -> Event | Rejected:
        result = self._parse(record.text)
        if isinstance(result, str):
            return Rejected(result, record.line_no, record.text)
        timestamp, fields = result
        return Event(timestamp=timestamp, original=record.text, fields=fields)

    def _rfc3164_time(self, month: int, day: int, hh: int, mm: int, ss: int, micro: int) -> datetime:
        """Apply the year rule of the module docstring; raises ValueError for impossible dates."""
        if self._year is None:
            year = self._reference.year
        else:
            year = self._year + 1 if month < self._month else self._year
        value = _dated(year, month, day, hh, mm, ss, micro)
        while value > self._limit:
            value = _dated(value.year - 1, month, day, hh, mm, ss, micro)
        self._year = value.year
        self._month = month
        return value

    def _parse(self, text: str) -> tuple[datetime, dict[str, Any]] | str:
        """The event time and ECS fields of a line, or a reject reason."""
        m = _RFC3164.fullmatch(text)
        if m is not None:
            pri, mon, day, hh, mm, ss, frac, host, content = m.groups()
            syslog = _priority(pri)
            if isinstance(syslog, str):
                return syslog
            micro = int(frac[:6].ljust(6, "0")) if frac else 0
            try:
                timestamp = self._rfc3164_time(MONTHS[mon], int(day), int(hh), int(mm), int(ss), micro)
            except ValueError:
                return "invalid date or time in RFC 3164 timestamp"
            return timestamp, _tagged(host, content or "", syslog)
        m = _RFC5424.fullmatch(text)
        if m is not None:
            return _rfc5424(m)
        if _RFC5424_START.match(text):
            return "malformed RFC 5424 header or structured data"
        m = _ISO.fullmatch(text)
        if m is not None:
            pri, stamp, host, content = m.groups()
            syslog = _priority(pri)
            if isinstance(syslog, str):
                return syslog
            iso_time = _iso_time(stamp)
            if iso_time is None:
                return "invalid ISO 8601 timestamp"
            return iso_time, _tagged(host, content or "", syslog)
        return _NOT_SYSLOG


def _dated(year: int, month: int, day: int, hh: int, mm: int, ss: int, micro: int) -> datetime:
    """A UTC datetime; 29 February of a non-leap year moves to the latest earlier leap year."""
    if month == 2 and day == 29:
        while not isleap(year):
            year -= 1
    return datetime(year, month, day, hh, mm, ss, micro, tzinfo=UTC)


def _rfc5424(m: re.Match[str]) -> tuple[datetime, dict[str, Any]] | str:
    """The event time and ECS fields of an RFC 5424 line matched by the header regex."""
    pri, version, stamp, host, app, procid, msgid, sd, msg = m.groups()
    syslog = _priority(pri)
    if isinstance(syslog, str):
        return syslog
    if stamp == "-":
        return "RFC 5424 line without a timestamp"
    if not _RFC5424_TIME.fullmatch(stamp):
        return "invalid RFC 5424 timestamp"
    timestamp = _iso_time(stamp)
    if timestamp is None:
        return "invalid RFC 5424 timestamp"
    syslog["version"] = version
    if msgid != "-":
        syslog["msgid"] = msgid
    if sd != "-":
        syslog["structured_data"] = _structured_data(sd)
    msg = msg or ""
    if msg.startswith("\ufeff"):
        msg = msg[1:]
    return timestamp, _event(
        None if host == "-" else host,
        None if app == "-" else app,
        None if procid == "-" else procid,
        msg.strip(),
        syslog,
    )


def _tagged(host: str, content: str, syslog: dict[str, Any]) -> dict[str, Any]:
    """ECS fields of an RFC 3164 / ISO line: split the TAG[PID]: prefix off the content."""
    m = _TAG.match(content)
    if m is None:
        return _event(host, None, None, content.strip(), syslog)
    tag, pid = m.groups()
    return _event(host, tag, pid, content[m.end() :].strip(), syslog)


def _event(host: str | None, tag: str | None, pid: str | None, msg: str, syslog: dict[str, Any]) -> dict[str, Any]:
    """Build the ECS fields: syslog header, then the message recognised by program."""
    doc: dict[str, Any] = {"message": msg}
    if host:
        doc["host"] = {"name": host, "hostname": host}
    program = None
    module = None
    if tag:
        syslog["appname"] = tag
        program, executable, module = _program(tag)
        process: dict[str, Any] = {"name": program} if program else {}
        if executable:
            process["executable"] = executable
        if pid:
            syslog["procid"] = pid
            if pid.isdigit() and len(pid) < 19:
                process["pid"] = int(pid)
        if process:
            doc["process"] = process
    elif pid:
        syslog["procid"] = pid
    if syslog:
        doc["log"] = {"syslog": syslog}

    body = msg
    repeated = None
    if msg.startswith("message repeated "):
        m = _REPEATED.fullmatch(msg)
        if m is not None:
            repeated = int(m.group(1))
            body = m.group(2)

    # Handlers match their whole message before they write a field, so a None leaves `doc` untouched.
    result = _classify(program, module, body, doc)
    if result is None:
        result = _SYSLOG
    elif repeated is not None:
        _auth(doc)["repeated"] = repeated
    action, category, kind, outcome = result
    doc["event"] = {
        "kind": "event",
        "category": list(category),
        "type": list(kind),
        "action": action,
        "outcome": outcome,
        "dataset": DATASET,
        "module": MODULE,
    }
    related = _related(doc, host)
    if related:
        doc["related"] = related
    return doc


def _classify(program: str | None, module: str | None, body: str, doc: dict[str, Any]) -> _Result | None:
    """Recognise the message of a known program; None for anything else."""
    if program is None:
        return None
    if module is not None:
        # Old sysklogd PAM format: `sshd(pam_unix)[123]: authentication failure; ...`.
        return _pam(module, program, None, body, doc)
    if body.startswith("pam_"):
        m = _PAM.fullmatch(body)
        if m is None:
            return None
        pam_module, service, kind, rest = m.groups()
        return _pam(pam_module, service, kind, rest, doc)
    if body.startswith("PAM "):
        return _pam_more(body, doc, program)
    handler = _HANDLERS.get(program)
    if handler is None:
        return None
    return handler(body, doc)


def _related(doc: dict[str, Any], host: str | None) -> dict[str, list[str]]:
    """`related.ip`, `related.user` and `related.hosts` from the fields already set."""
    related: dict[str, list[str]] = {}
    hosts = [host] if host else []
    source = doc.get("source")
    if source is not None:
        if "ip" in source:
            related["ip"] = [source["ip"]]
        domain = source.get("domain")
        if domain and domain not in hosts:
            hosts.append(domain)
    if hosts:
        related["hosts"] = hosts
    users: list[str] = []
    user = doc.get("user")
    if user is not None:
        for name in (
            user.get("name"),
            (user.get("effective") or {}).get("name"),
            (user.get("target") or {}).get("name"),
        ):
            if name and name not in users:
                users.append(name)
    auth = (doc.get("linux") or {}).get("auth")
    if auth is not None:
        pam = auth.get("pam")
        extra = [auth.get("changed_by")]
        if pam is not None:
            extra += [pam.get("by_user"), pam.get("ruser")]
        for name in extra:
            if name and name not in users:
                users.append(name)
    if users:
        related["user"] = users
    return related


def make_parser(context: SourceContext) -> SourceParser:
    """A linux-auth parser for one file (it keeps the RFC 3164 year state of that file)."""
    return LinuxAuthParser(context)
