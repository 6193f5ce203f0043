"""Apache / nginx / Tomcat access logs as ECS events, `event.dataset: apache.access`.

Accepted formats, told apart per line by the number of fields before ``[time]``:
    * common: ``%h %l %u %t "%r" %>s %b``
    * combined: common + ``"%{Referer}i" "%{User-agent}i"`` (what nginx writes by default too)
    * vhost_combined: ``%v:%p`` + combined
Trailing fields after these (e.g. a response time) are accepted and ignored.

Values are kept as logged: Apache's escapes (``\\"``, ``\\xhh``) in the request, referrer and user
agent are not undone. A ``-`` field is treated as absent, except bytes: ``-`` (Apache's ``%b`` for no
body) is 0. The time ``[10/Oct/2000:13:55:36 -0700]`` carries its offset and is converted to UTC.

A request line that is not ``METHOD TARGET [HTTP/x.y]`` (``"-"``, TLS handshakes sent to an HTTP port,
scanner junk) still makes an event: the raw request goes to `apache.access.request_line` and the
method and URL fields stay empty. Only a line whose overall structure is broken, whose time is not a
valid date, or whose client field is neither an IP address nor a host name is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, BinaryIO

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected
from dagster_project.sources.readers import iter_lines
from dagster_project.sources.spec import SigmaLogsource, SourceSpec
from dagster_project.sources.values import MONTHS, canonical_ip, is_hostname, utc

NAME = "web-access"
DATASET = "apache.access"
MODULE = "apache"

_LINE = re.compile(
    r"(?:(\S+) )?(\S+) (\S+) (\S+) \[([^\]]*)\] "
    r"\"(.*?)\" (\d{3}|-) (\d+|-)"
    r"(?: \"(.*?)\" \"(.*?)\")?"
    r"(?: .*)?"
)
_TIME = re.compile(r"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? ([+-])(\d\d)(\d\d)")
_REQUEST = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (?:(.+?) HTTP/(\d+(?:\.\d+)?)|(\S+)) *")
_ABSOLUTE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)")
_PORT = re.compile(r"(.*):(\d{1,5})")
_IP_LIKE = re.compile(r"[\d.]+|.*:.*")

_NOT_ACCESS_LOG = "not an Apache/nginx access log line (common, combined or vhost_combined)"


@lru_cache(maxsize=4096)
def _time(text: str) -> datetime | None:
    """`10/Oct/2000:13:55:36 -0700` as a UTC datetime, or None when it is not a valid time."""
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, frac, sign, off_h, off_m = m.groups()
    month = MONTHS.get(mon)
    if month is None:
        return None
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    if offset >= timedelta(hours=24):
        return None
    micro = int(frac.ljust(6, "0")) if frac else 0
    try:
        local = datetime(
            int(year),
            month,
            int(day),
            int(hh),
            int(mm),
            int(ss),
            micro,
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except ValueError:
        return None
    return utc(local)


def host_port(value: str) -> tuple[str, int | None]:
    """Split `host:port` (also `[v6]:port`); the port is None when absent or out of range."""
    m = _PORT.fullmatch(value)
    if m is not None and (value.startswith("[") or ":" not in m.group(1)):
        host, port = m.groups()
        number = int(port)
        return host.strip("[]"), number if number <= 65535 else None
    return value.strip("[]"), None


def _extension(path: str) -> str | None:
    """ECS `url.extension`: what follows the last dot of the path's last segment (`gz` of `a.tar.gz`), if anything."""
    name = path.rpartition("/")[2]
    _, dot, extension = name.rpartition(".")
    return extension if dot and extension else None


def _url(target: str, method: str) -> dict[str, Any]:
    """ECS `url.*` for a request target: origin form (`/p?q`), absolute form (`http://h/p?q`, sent to a
    forward proxy) or a CONNECT's authority form (`host:443`, the tunnel a proxy opens for HTTPS)."""
    url: dict[str, Any] = {"original": target}
    rest = target
    if not target.startswith("/"):
        m = _ABSOLUTE.fullmatch(target)
        if m is None:
            if method.upper() == "CONNECT" and "/" not in target and "@" not in target:
                host, port = host_port(target)
                if host:
                    url["domain"] = host
                if port is not None:
                    url["port"] = port
            # Otherwise the asterisk form (OPTIONS *) or junk: no path.
            return url
        scheme, authority, rest = m.groups()
        url["scheme"] = scheme.lower()
        userinfo, has_userinfo, hostport = authority.rpartition("@")
        if has_userinfo and userinfo:
            # Only the user name: a password in the URL is not copied into another field.
            url["username"] = userinfo.partition(":")[0]
        host, port = host_port(hostport)
        if host:
            url["domain"] = host
        if port is not None:
            url["port"] = port
        if not rest:
            return url
    path, has_query, query = rest.partition("?")
    if path:
        url["path"] = path
        extension = _extension(path)
        if extension is not None:
            url["extension"] = extension
    if has_query:
        url["query"] = query
    return url


def split_request(request: str) -> tuple[str, str | None, dict[str, Any]] | None:
    """The method, HTTP version (None for HTTP/0.9's `GET /`) and ECS `url.*` of a request line
    `METHOD TARGET [HTTP/x.y]`; None when it is not one."""
    r = _REQUEST.fullmatch(request)
    if r is None:
        return None
    method, target, version, bare_target = r.groups()
    return method, version, _url(target if target is not None else bare_target, method)


class WebAccessParser(GuardedParser):
    """Parses access log lines; stateless, so one instance may serve any number of files."""

    name = NAME

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into lines."""
        return iter_lines(stream)

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """The event of one access log line, or a reject."""
        result = _parse(record.text)
        if isinstance(result, str):
            return Rejected(result, record.line_no, record.text)
        timestamp, fields = result
        return Event(timestamp=timestamp, original=record.text, fields=fields)


def _parse(text: str) -> tuple[datetime, dict[str, Any]] | str:
    """The event time and ECS fields of an access log line, or a reject reason."""
    m = _LINE.fullmatch(text)
    if m is None:
        return _NOT_ACCESS_LOG
    vhost, client, ident, auth_user, stamp, request, status, size, referrer, agent = m.groups()
    timestamp = _time(stamp)
    if timestamp is None:
        return "invalid timestamp in [time] field"

    doc: dict[str, Any] = {"message": text}
    related_ip: list[str] = []
    hosts: list[str] = []
    if client != "-":
        ip = canonical_ip(client)
        if ip is not None:
            doc["source"] = {"ip": ip}
            related_ip.append(ip)
        elif _IP_LIKE.fullmatch(client):
            return "invalid IP in client field"
        elif is_hostname(client):
            doc["source"] = {"address": client, "domain": client}
            hosts.append(client)
        else:
            return "client field is neither an IP address nor a host name"

    if vhost is not None:
        server, port = host_port(vhost)
        destination: dict[str, Any] = {"domain": server}
        if port is not None:
            destination["port"] = port
        doc["destination"] = destination
        if server not in hosts:
            hosts.append(server)

    http: dict[str, Any] = {}
    http_request: dict[str, Any] = {}
    split = split_request(request)
    if split is not None:
        method, version, doc["url"] = split
        http_request["method"] = method
        if version is not None:
            http["version"] = version
    else:
        doc["apache"] = {"access": {"request_line": request}}
    if referrer is not None and referrer != "-":
        http_request["referrer"] = referrer
    if http_request:
        http["request"] = http_request
    response: dict[str, Any] = {"body": {"bytes": 0 if size == "-" else int(size)}}
    if status == "-":
        outcome = "unknown"
    else:
        code = int(status)
        response["status_code"] = code
        outcome = "failure" if code >= 400 else "success"
    http["response"] = response
    doc["http"] = http
    if agent is not None and agent != "-":
        doc["user_agent"] = {"original": agent}

    related: dict[str, list[str]] = {}
    if auth_user != "-":
        doc["user"] = {"name": auth_user}
        related["user"] = [auth_user]
    if ident != "-":
        doc.setdefault("apache", {}).setdefault("access", {})["identity"] = ident
    if related_ip:
        related["ip"] = related_ip
    if hosts:
        related["hosts"] = hosts
    if related:
        doc["related"] = related
    doc["event"] = {
        "kind": "event",
        "category": ["web"],
        "type": ["access"],
        "action": "access",
        "outcome": outcome,
        "dataset": DATASET,
        "module": MODULE,
    }
    return timestamp, doc


SIGMA_FIELDS = {
    "cs-method": "http.request.method",
    "cs-uri": "url.original",
    "cs-uri-stem": "url.path",
    "cs-uri-query": "url.query",
    "sc-status": "http.response.status_code",
    "c-ip": "source.ip",
    "cs-user-agent": "user_agent.original",
    "cs-referer": "http.request.referrer",
    "cs-username": "user.name",
    "cs-host": "destination.domain",
}
"""Sigma's webserver rules use W3C extended log field names: the ECS field of each."""

PROXY_FIELDS: dict[str, str | tuple[str, ...]] = {
    "c-uri": ("url.original", "url.path"),
    "cs-uri": ("url.original", "url.path"),
    "c-uri-stem": "url.path",
    "cs-uri-stem": "url.path",
    "c-uri-query": "url.query",
    "cs-uri-query": "url.query",
    "c-uri-extension": "url.extension",
    "cs-host": "url.domain",
    "r-dns": "url.domain",
    "cs-method": "http.request.method",
    "cs-version": "http.version",
    "cs-referrer": "http.request.referrer",
    "c-useragent": "user_agent.original",
    "sc-status": "http.response.status_code",
    "sc-bytes": "http.response.body.bytes",
    "src_ip": "source.ip",
    "c-ip": "source.ip",
    "cs-username": "user.name",
}
"""Sigma's proxy rules' field names (W3C as proxies log them) in ECS. A forward proxy's access log in the common
or combined format (Squid's `logformat combined`, nginx as a proxy) logs the absolute URL asked for, so the
requested host is `url.domain` (`cs-host`), not the server's own name. What those formats do not log (cookies
`cs-cookie`, the upstream server's address `dst_ip`, request bytes `cs-bytes`) is left unmapped: a rule on it
fails compilation, named, instead of never matching. SigmaHQ's rules give `c-uri`/`cs-uri` both as the whole URL
(`startswith: http`, `ipfs.io/...`) and as its path (`/news.php`): either matching is a match."""

PROXY_REQUESTS: tuple[dict[str, tuple[str, ...]], ...] = (
    {"url.scheme": ("*",)},
    {"http.request.method": ("CONNECT",)},
)
"""The requests only a forward proxy receives (RFC 9112 3.2): an absolute URL, or a CONNECT to `host:port`.
Proxy rules search these, not the requests a web server receives for its own pages."""

SPEC = SourceSpec(
    name=NAME,
    description="Apache, nginx and Tomcat access logs, and forward proxies' in those formats (Squid combined)",
    parser=WebAccessParser,
    datasets=(DATASET,),
    logsources=(
        SigmaLogsource("webserver", category="webserver", fields=SIGMA_FIELDS, keywords="message"),
        SigmaLogsource("proxy", category="proxy", fields=PROXY_FIELDS, keywords="message", selects=PROXY_REQUESTS),
    ),
    samples=("web/apache_access_elastic/*.log", "web/tomcat_access_attack/*.txt"),
)
