"""Apache and nginx error logs as ECS events, `event.dataset: apache.error` or `nginx.error`.

Accepted formats, told apart per line by how it begins (the fields Filebeat's apache and nginx error
modules give them in brackets):
    * Apache 2.2: ``[Sun Dec 04 04:47:44 2005] [error] [client 192.0.2.1] message``
    * Apache 2.4 (its default `ErrorLogFormat`): ``[Wed Oct 11 14:32:52.123456 2000] [core:error]
      [pid 35708:tid 4328636416] (13)Permission denied: [client 192.0.2.1:5678] AH00124: message``;
      the module may be empty (``[:error]``, PHP), the thread id, the OS error and the client absent.
    * nginx: ``2024/01/02 03:04:05 [error] 1234#5678: *9 message, client: 192.0.2.1, server: x,
      request: "GET / HTTP/1.1", host: "y"`` (the connection number and the request context optional).

`message` is the text after the header fields (`[client ...]` taken out, an OS error kept), as logged.
Apache 2.4's ``AHnnnnn:`` is also `error.code`, its ``, referer: URL`` `http.request.referrer`, and
``File does not exist: PATH`` `file.path`; nginx's request context gives `source.ip`, `url.*`,
`http.request.method`, `http.version`, `destination.domain` (the `server` block) and the referrer.
Apache 2.4 writes the client as ``ADDRESS:PORT`` with IPv6 addresses unbracketed, so the port is what
follows the last colon; Apache 2.2 writes the address alone.

Time zones: neither server writes an offset. As for RFC 3164 syslog (`sources.syslog`) and as Filebeat
does without `event.timezone`, the time is taken as UTC.

Rejected: a line of neither shape, an impossible date, a level neither server logs, and a line with
no message after its header. Apache's `ErrorLog syslog` leaves its time out of the line, so its lines
are rejected, saying so; nginx's `error_log syslog:` keeps its time in the message, so nginx lines received
by syslog are read as they are in a file (a syslog listener feeding this source hands over the message).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected
from dagster_project.sources.readers import iter_lines
from dagster_project.sources.spec import SigmaLogsource, SourceSpec
from dagster_project.sources.values import MONTHS, canonical_ip, is_hostname, parse_timestamp
from dagster_project.sources.web_access import host_port, split_request

NAME = "web-error"
APACHE_DATASET = "apache.error"
NGINX_DATASET = "nginx.error"

_APACHE = re.compile(
    r"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) (\d\d) (\d\d:\d\d:\d\d(?:\.\d{1,6})?) (\d{4})\] "
    r"\[(?:([^\]:\s]*):)?([a-z]+\d?)\]"
    r"(?: \[pid (\d+)(?::tid (\d+))?\])?"
    r"(?: (\(-?\d+\)[^\[]*?:))?"
    r"(?: \[client ([^\]\s]+)\])?"
    r"(?: (.*))?"
)
_NGINX = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d:\d\d:\d\d) \[([a-z]+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)")
_NGINX_CONTEXT = re.compile(
    r", client: ([^,\s]+)(?:, server: ([^,\s]*))?(?:, request: \"([^\"]*)\")?(?:, subrequest: \"[^\"]*\")?"
    r"(?:, upstream: \"([^\"]*)\")?(?:, host: \"([^\"]*)\")?(?:, referrer: \"([^\"]*)\")?$"
)
_APACHE_WITHOUT_TIME = re.compile(r"\[(?:[^\]:\s]*:)?[a-z]+\d?\] ")
_AH_CODE = re.compile(r"(AH\d{5}): ")
_REFERER = re.compile(r", referer: (\S+)$")
_NOT_FOUND = re.compile(r"File does not exist: ([^,\s]+)")

LEVELS = frozenset(
    ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", *(f"trace{n}" for n in range(1, 9)))
)
"""The levels Apache logs (2.4 adds trace1-8); nginx logs the first eight."""
_ERROR_LEVELS = frozenset(("emerg", "alert", "crit", "error", "warn"))
"""Filebeat's apache module: lines at these levels are `event.type: error`, the others `info`."""

_NOT_ERROR_LOG = "not an Apache (2.2 or 2.4) or nginx error log line"


class WebErrorParser(GuardedParser):
    """Parses error log lines of either server; stateless, so one instance may serve any number of files."""

    name = NAME

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into lines."""
        return iter_lines(stream)

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """The event of one error log line, or a reject."""
        text = record.text
        result = _apache(text) if text.startswith("[") else _nginx(text)
        if isinstance(result, str):
            return Rejected(result, record.line_no, text)
        timestamp, fields = result
        return Event(timestamp=timestamp, original=text, fields=fields)


def _time(year: str, month: int, day: str, clock: str) -> datetime | None:
    """An offset-less local time as UTC (module docstring), None when it is no valid date."""
    return parse_timestamp(f"{year}-{month:02d}-{day}T{clock}")


def _unfit(level: str, message: str) -> str | None:
    """The reason a line's level or message makes it no error log line, None when both are good."""
    if level not in LEVELS:
        return f"unknown log level {level!r}"
    if not message.strip():
        return "no message after the error log header"
    return None


def _client(doc: dict[str, Any], address: str, port: int | None) -> None:
    """`source.*` and `related.*` of the client: `source.ip` for an address, else `source.address`."""
    source: dict[str, Any] = {}
    ip = canonical_ip(address)
    if ip is not None:
        source["ip"] = ip
        doc["related"] = {"ip": [ip]}
    else:
        source["address"] = address
        if is_hostname(address):
            source["domain"] = address
    if port is not None:
        source["port"] = port
    doc["source"] = source


def _event(dataset: str, error_type: str) -> dict[str, Any]:
    return {
        "kind": "event",
        "category": ["web"],
        "type": [error_type],
        "action": "error_log",
        "outcome": "unknown",
        "dataset": dataset,
        "module": dataset.partition(".")[0],
    }


def _apache(text: str) -> tuple[datetime, dict[str, Any]] | str:
    """The time and ECS fields of an Apache error log line, or a reject reason."""
    m = _APACHE.fullmatch(text)
    if m is None:
        if _APACHE_WITHOUT_TIME.match(text):
            return "Apache error line without its [time] (as `ErrorLog syslog` writes it): ship the log file's lines"
        return _NOT_ERROR_LOG
    mon, day, clock, year, module, level, pid, tid, os_error, client, rest = m.groups()
    month = MONTHS.get(mon)
    timestamp = _time(year, month, day, clock) if month is not None else None
    if timestamp is None:
        return "invalid date or time in [time] field"
    message = f"{os_error} {rest}" if os_error and rest else os_error or rest or ""
    reason = _unfit(level, message)
    if reason is not None:
        return reason
    doc: dict[str, Any] = {"message": message, "log": {"level": level}}
    if module:
        doc["apache"] = {"error": {"module": module}}
    if pid is not None:
        doc["process"] = {"pid": int(pid)} | ({"thread": {"id": int(tid)}} if tid is not None else {})
    if client is not None:
        address, port = client, None
        if pid is not None or module is not None:  # 2.4: ADDRESS:PORT, an IPv6 address unbracketed
            head, colon, tail = client.rpartition(":")
            if colon and tail.isdigit() and int(tail) <= 65535 and (canonical_ip(head) or not canonical_ip(client)):
                address, port = head, int(tail)
        _client(doc, address, port)
    code = _AH_CODE.match(rest or "")
    if code is not None:
        doc["error"] = {"code": code.group(1)}
    referer = _REFERER.search(message)
    if referer is not None:
        doc["http"] = {"request": {"referrer": referer.group(1)}}
    missing = _NOT_FOUND.search(message)
    if missing is not None:
        doc["file"] = {"path": missing.group(1)}
    doc["event"] = _event(APACHE_DATASET, "error" if level in _ERROR_LEVELS else "info")
    return timestamp, doc


def _nginx(text: str) -> tuple[datetime, dict[str, Any]] | str:
    """The time and ECS fields of an nginx error log line, or a reject reason."""
    m = _NGINX.fullmatch(text)
    if m is None:
        return _NOT_ERROR_LOG
    year, month, day, clock, level, pid, tid, connection, message = m.groups()
    timestamp = _time(year, int(month), day, clock)
    if timestamp is None:
        return "invalid date or time"
    reason = _unfit(level, message)
    if reason is not None:
        return reason
    doc: dict[str, Any] = {
        "message": message,
        "log": {"level": level},
        "process": {"pid": int(pid), "thread": {"id": int(tid)}},
    }
    if connection is not None:
        doc["nginx"] = {"error": {"connection_id": int(connection)}}
    context = _NGINX_CONTEXT.search(message)
    if context is not None:
        _nginx_request(doc, *context.groups())
    # Filebeat's nginx module makes every line of the error log `event.type: error`.
    doc["event"] = _event(NGINX_DATASET, "error")
    return timestamp, doc


def _nginx_request(
    doc: dict[str, Any],
    client: str,
    server: str | None,
    request: str | None,
    upstream: str | None,
    host: str | None,
    referrer: str | None,
) -> None:
    """The fields of the request context nginx appends to a message logged while serving one."""
    _client(doc, client, None)
    if server:
        doc["destination"] = {"domain": server}
    http: dict[str, Any] = {}
    split = split_request(request) if request else None
    if split is not None:
        method, version, url = split
        http["request"] = {"method": method}
        if version is not None:
            http["version"] = version
        doc["url"] = url
    if host:
        domain, port = host_port(host)
        url = doc.setdefault("url", {})
        url.setdefault("domain", domain)
        if port is not None:
            url.setdefault("port", port)
    if referrer:
        http.setdefault("request", {})["referrer"] = referrer
    if http:
        doc["http"] = http
    if upstream:
        doc.setdefault("nginx", {}).setdefault("error", {})["upstream"] = upstream


SPEC = SourceSpec(
    name=NAME,
    description="Apache (2.2 and 2.4) and nginx error logs",
    parser=WebErrorParser,
    datasets=(APACHE_DATASET, NGINX_DATASET),
    logsources=(
        SigmaLogsource("apache", service="apache", dataset=APACHE_DATASET, keywords="message"),
        SigmaLogsource("nginx", service="nginx", dataset=NGINX_DATASET, keywords="message"),
    ),
    samples=("web/apache_error_loghub/*.log",),
)
"""SigmaHQ's error log rules are keyword searches (`service: apache`, `service: nginx`, no product): they look
in `message`. No rule names a field, so none is mapped: one that does fails compilation, named."""
