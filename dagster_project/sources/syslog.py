"""Syslog lines into their parts (time, host, tag, pid, message, `<PRI>`): one parser for files and receivers.

Accepted line formats
    * RFC 3164 / BSD: ``Mar 27 13:06:56 host sshd[123]: message`` (optionally with a leading ``<PRI>``),
      including old sysklogd tags such as ``sshd(pam_unix)[123]:`` or ``syslogd 1.4.1:``.
    * The ISO-8601 variant rsyslog and journald write: ``2024-03-27T13:06:56.123+01:00 host sshd[1]: ...``.
    * RFC 5424: ``<34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd-id k="v"] message``.

Time zones
    RFC 3164 timestamps carry no zone and are taken as UTC (the same zone as the reference time).
    ISO-8601 and RFC 5424 timestamps carry an offset, which is applied; a timestamp without one is
    taken as UTC. Every time is returned in UTC.

The year rule (RFC 3164 timestamps have no year)
    1. The first RFC 3164 line gets the year of the reference time (a file's mtime, or the time a
       receiver got the line; in UTC).
    2. Each later RFC 3164 line keeps the year of the line before; when the month goes backwards
       (a Dec line followed by a Jan line) the year increments.
    3. Whatever 1 or 2 gave: while the timestamp would be more than one day after the reference time,
       it belongs to the year before (a December line in a file last written in January). The day of
       slack absorbs the difference between the host's local syslog time and the UTC reference.
    4. 29 February in a year that is not a leap year moves to the latest earlier leap year.
    The rule needs the lines of one stream in order: make one `SyslogParser` per file (or per sender)
    and parse its lines in order. Only RFC 3164 lines read or change this state.
"""

from __future__ import annotations

import re
from calendar import isleap
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from dagster_project.sources.values import MONTHS, parse_timestamp

FACILITIES = (
    ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp")
    + ("ntp", "security", "console", "solaris-cron")
    + tuple(f"local{n}" for n in range(8))
)
"""Syslog facility names by code (RFC 5424 table 1)."""
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")
"""Syslog severity names by code (RFC 5424 table 2)."""

NOT_SYSLOG = "not an RFC 3164/5424 syslog line"

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


class Program(NamedTuple):
    """What a syslog tag says about the process that logged the line."""

    name: str | None
    executable: str | None
    module: str | None
    """The parenthesised part of an old sysklogd tag: `pam_unix` in `sshd(pam_unix)`."""


SyslogLine = tuple[datetime, dict[str, Any], Program | None]
"""A parsed line: its time (UTC), the ECS fields of its header, and what its tag says about the program.

The fields are `message` (MSG without surrounding whitespace or RFC 5424's BOM), `host.name` and
`host.hostname`, `process.name`/`executable`/`pid` (from the tag), and `log.syslog`: `priority`,
`facility`, `severity` (from `<PRI>`), RFC 5424's `version`, `msgid`, `structured_data`, and `appname`,
`procid` (the tag and the pid as written).
"""


class SyslogParser:
    """Parses the syslog lines of one stream in order; holds the RFC 3164 year state (module docstring)."""

    def __init__(self, reference_time: datetime) -> None:
        if reference_time.tzinfo is None:
            reference_time = reference_time.replace(tzinfo=UTC)
        self._reference = reference_time.astimezone(UTC)
        self._limit = self._reference + timedelta(days=1)
        self._year: int | None = None
        self._month = 0

    def parse(self, text: str) -> SyslogLine | str:
        """The time and header fields of one line, or the reason it is not a syslog line."""
        m = _RFC3164.fullmatch(text)
        if m is not None:
            pri, mon, day, hh, mm, ss, frac, host, content = m.groups()
            syslog = priority_fields(pri)
            if isinstance(syslog, str):
                return syslog
            micro = int(frac[:6].ljust(6, "0")) if frac else 0
            try:
                timestamp = self._rfc3164_time(MONTHS[mon], int(day), int(hh), int(mm), int(ss), micro)
            except ValueError:
                return "invalid date or time in RFC 3164 timestamp"
            return _tagged(timestamp, host, content or "", syslog)
        m = _RFC5424.fullmatch(text)
        if m is not None:
            return _rfc5424(m)
        if _RFC5424_START.match(text):
            return "malformed RFC 5424 header or structured data"
        m = _ISO.fullmatch(text)
        if m is not None:
            pri, stamp, host, content = m.groups()
            syslog = priority_fields(pri)
            if isinstance(syslog, str):
                return syslog
            iso_time = parse_timestamp(stamp)
            if iso_time is None:
                return "invalid ISO 8601 timestamp"
            return _tagged(iso_time, host, content or "", syslog)
        return NOT_SYSLOG

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


def priority_fields(text: str | None) -> dict[str, Any] | str:
    """The `log.syslog` priority fields for a PRI value (empty without one), or a reject reason."""
    if text is None:
        return {}
    value = int(text)
    if value > 191:
        return f"syslog priority {value} out of range (0-191)"
    facility, severity = divmod(value, 8)
    return {
        "priority": value,
        "facility": {"code": facility, "name": FACILITIES[facility]},
        "severity": {"code": severity, "name": SEVERITIES[severity]},
    }


@lru_cache(maxsize=1024)
def program(tag: str) -> Program:
    """What a syslog tag names: the process name, its path when the tag is one, an old-style PAM module."""
    module = None
    name: str | None = tag
    if " " in tag:
        # Old sysklogd tags: "syslogd 1.4.1" names a program, "-- root" does not.
        first, _, second = tag.partition(" ")
        return Program(first if second[:1].isdigit() else None, None, None)
    if tag.endswith(")") and "(" in tag:
        name, _, module = tag[:-1].partition("(")
    executable = None
    if tag.startswith("/"):
        executable = tag
        name = tag.rsplit("/", 1)[1] or tag
    return Program(name or None, executable, module)


def _dated(year: int, month: int, day: int, hh: int, mm: int, ss: int, micro: int) -> datetime:
    """A UTC datetime; 29 February of a non-leap year moves to the latest earlier leap year."""
    if month == 2 and day == 29:
        while not isleap(year):
            year -= 1
    return datetime(year, month, day, hh, mm, ss, micro, tzinfo=UTC)


def _rfc5424(m: re.Match[str]) -> SyslogLine | str:
    """The time and fields of an RFC 5424 line matched by the header regex."""
    pri, version, stamp, host, app, procid, msgid, sd, msg = m.groups()
    syslog = priority_fields(pri)
    if isinstance(syslog, str):
        return syslog
    if stamp == "-":
        return "RFC 5424 line without a timestamp"
    if not _RFC5424_TIME.fullmatch(stamp):
        return "invalid RFC 5424 timestamp"
    timestamp = parse_timestamp(stamp)
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
    return _header(
        timestamp,
        None if host == "-" else host,
        None if app == "-" else app,
        None if procid == "-" else procid,
        msg.strip(),
        syslog,
    )


def _structured_data(text: str) -> dict[str, dict[str, str]]:
    """RFC 5424 STRUCTURED-DATA as {sd-id: {param: value}}."""
    result: dict[str, dict[str, str]] = {}
    for sd_id, params in _SD_PARTS.findall(text):
        result[sd_id] = {key: _SD_UNESCAPE.sub(r"\1", value) for key, value in _SD_PARAM.findall(params)}
    return result


def _tagged(timestamp: datetime, host: str, content: str, syslog: dict[str, Any]) -> SyslogLine:
    """An RFC 3164 / ISO line's time and fields: split the TAG[PID]: prefix off the content."""
    m = _TAG.match(content)
    if m is None:
        return _header(timestamp, host, None, None, content.strip(), syslog)
    tag, pid = m.groups()
    return _header(timestamp, host, tag, pid, content[m.end() :].strip(), syslog)


def _header(
    timestamp: datetime, host: str | None, tag: str | None, pid: str | None, text: str, syslog: dict[str, Any]
) -> SyslogLine:
    """The ECS fields of a line's header (see `SyslogLine`) and its program."""
    doc: dict[str, Any] = {"message": text}
    if host:
        doc["host"] = {"name": host, "hostname": host}
    found = None
    if tag:
        syslog["appname"] = tag
        found = program(tag)
        process: dict[str, Any] = {"name": found.name} if found.name else {}
        if found.executable:
            process["executable"] = found.executable
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
    return timestamp, doc, found
