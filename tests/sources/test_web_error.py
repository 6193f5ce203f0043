"""web-error parser: Apache 2.2/2.4 and nginx error lines to exact ECS, rejects with reasons, the loghub sample."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dagster_project.sources import web_error
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, get_path, is_internal_error

LOGHUB = Path(__file__).parents[2].parent / "shared" / "data" / "web" / "apache_error_loghub"
SAMPLE = LOGHUB / "Apache_2k.lines0001-1000.log"
STRUCTURED = LOGHUB / "Apache_2k.lines0001-1000.log_structured.csv"
REFERENCE = datetime(2024, 6, 1, tzinfo=UTC)


def parse_line(line: str) -> Event | Rejected:
    """Parse one line."""
    return web_error.WebErrorParser(SourceContext("error.log", REFERENCE)).parse(RawRecord(1, 0, line))


def parse_one(line: str) -> Event:
    """Parse a single line that must become an event."""
    result = parse_line(line)
    assert isinstance(result, Event), result
    return result


def apache_event(error_type: str) -> dict[str, Any]:
    return {
        "kind": "event",
        "category": ["web"],
        "type": [error_type],
        "action": "error_log",
        "outcome": "unknown",
        "dataset": "apache.error",
        "module": "apache",
    }


NGINX_EVENT = {
    "kind": "event",
    "category": ["web"],
    "type": ["error"],
    "action": "error_log",
    "outcome": "unknown",
    "dataset": "nginx.error",
    "module": "nginx",
}


# --- golden: line in, exact document out --------------------------------------------------------


def test_apache_22_line_with_a_client() -> None:
    line = "[Mon Mar 02 09:15:07 2026] [error] [client 198.51.100.23] File does not exist: /srv/www/favicon.ico"
    event = parse_one(line)
    assert event.document() == {
        "@timestamp": "2026-03-02T09:15:07Z",
        "message": "File does not exist: /srv/www/favicon.ico",
        "log": {"level": "error"},
        "source": {"ip": "198.51.100.23"},
        "related": {"ip": ["198.51.100.23"]},
        "file": {"path": "/srv/www/favicon.ico"},
        "event": {**apache_event("error"), "original": line},
    }


def test_apache_22_line_without_a_client_is_info_below_warn() -> None:
    event = parse_one("[Tue Mar 03 23:59:59 2026] [notice] Apache/2.2.34 configured -- resuming normal operations")
    assert event.fields == {
        "message": "Apache/2.2.34 configured -- resuming normal operations",
        "log": {"level": "notice"},
        "event": apache_event("info"),
    }


def test_apache_24_line_with_module_pid_thread_client_code_and_referer() -> None:
    line = (
        "[Wed Mar 04 14:32:52.123456 2026] [core:error] [pid 35708:tid 4328636416] [client 203.0.113.7:51234] "
        "AH00124: Request exceeded the limit of 10 internal redirects, referer: https://shop.example.org/cart"
    )
    event = parse_one(line)
    assert event.document()["@timestamp"] == "2026-03-04T14:32:52.123456Z"
    assert event.fields == {
        "message": "AH00124: Request exceeded the limit of 10 internal redirects, referer: https://shop.example.org/cart",
        "log": {"level": "error"},
        "apache": {"error": {"module": "core"}},
        "process": {"pid": 35708, "thread": {"id": 4328636416}},
        "source": {"ip": "203.0.113.7", "port": 51234},
        "related": {"ip": ["203.0.113.7"]},
        "error": {"code": "AH00124"},
        "http": {"request": {"referrer": "https://shop.example.org/cart"}},
        "event": apache_event("error"),
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # An IPv6 client as Apache 2.4 writes it: unbracketed, the port after the last colon.
        (
            "[Thu Mar 05 01:02:03.5 2026] [ssl:warn] [pid 7] [client 2001:db8::17:443] AH01909: no name match",
            {"pid": 7, "ip": "2001:db8::17", "port": 443, "module": "ssl", "code": "AH01909", "type": "error"},
        ),
        # An IPv6 address that has no port (a custom ErrorLogFormat's %{c}a).
        (
            "[Thu Mar 05 01:02:03 2026] [ssl:info] [pid 7] [client 2001:db8::17] closing",
            {"pid": 7, "ip": "2001:db8::17", "port": None, "module": "ssl", "code": None, "type": "info"},
        ),
        # PHP logs with an empty module; trace levels.
        (
            "[Thu Mar 05 01:02:03 2026] [:error] [pid 8] [client 192.0.2.4:999] PHP Warning:  include(): failed",
            {"pid": 8, "ip": "192.0.2.4", "port": 999, "module": None, "code": None, "type": "error"},
        ),
        (
            "[Thu Mar 05 01:02:03 2026] [http:trace3] [pid 9:tid 10] request body read",
            {"pid": 9, "ip": None, "port": None, "module": "http", "code": None, "type": "info"},
        ),
    ],
)
def test_apache_24_variants(line: str, expected: dict[str, Any]) -> None:
    fields = parse_one(line).fields
    assert {
        "pid": get_path(fields, "process.pid"),
        "ip": get_path(fields, "source.ip"),
        "port": get_path(fields, "source.port"),
        "module": get_path(fields, "apache.error.module"),
        "code": get_path(fields, "error.code"),
        "type": get_path(fields, "event.type")[0],
    } == expected


def test_apache_24_os_error_before_the_client_stays_in_the_message() -> None:
    line = (
        "[Fri Mar 06 08:00:00 2026] [core:error] [pid 4:tid 5] (13)Permission denied: [client 192.0.2.9:40000] "
        "AH00035: access to /index.html denied"
    )
    fields = parse_one(line).fields
    assert fields["message"] == "(13)Permission denied: AH00035: access to /index.html denied"
    assert (fields["source"], fields["error"]) == ({"ip": "192.0.2.9", "port": 40000}, {"code": "AH00035"})


def test_nginx_line_with_its_request_context() -> None:
    line = (
        '2026/03/07 10:11:12 [error] 2201#2201: *4471 open() "/usr/share/nginx/html/wp-login.php" failed '
        "(2: No such file or directory), client: 198.51.100.77, server: www.example.net, "
        'request: "POST /wp-login.php?redirect_to=%2F HTTP/1.1", host: "www.example.net:8443", '
        'referrer: "https://www.example.net/"'
    )
    event = parse_one(line)
    assert event.document()["@timestamp"] == "2026-03-07T10:11:12Z"
    assert event.fields == {
        "message": line.partition("*4471 ")[2],
        "log": {"level": "error"},
        "process": {"pid": 2201, "thread": {"id": 2201}},
        "nginx": {"error": {"connection_id": 4471}},
        "source": {"ip": "198.51.100.77"},
        "related": {"ip": ["198.51.100.77"]},
        "destination": {"domain": "www.example.net"},
        "url": {
            "original": "/wp-login.php?redirect_to=%2F",
            "path": "/wp-login.php",
            "extension": "php",
            "query": "redirect_to=%2F",
            "domain": "www.example.net",
            "port": 8443,
        },
        "http": {"request": {"method": "POST", "referrer": "https://www.example.net/"}, "version": "1.1"},
        "event": NGINX_EVENT,
    }


def test_nginx_line_without_connection_or_request() -> None:
    event = parse_one("2026/03/07 23:00:01 [alert] 917#0: worker process 2304 exited on signal 11")
    assert event.fields == {
        "message": "worker process 2304 exited on signal 11",
        "log": {"level": "alert"},
        "process": {"pid": 917, "thread": {"id": 0}},
        "event": NGINX_EVENT,
    }


def test_nginx_upstream_and_a_request_line_that_is_not_http() -> None:
    line = (
        "2026/03/08 00:00:00 [warn] 5#5: *1 upstream timed out, client: unix:, server: , "
        'request: "\\x16\\x03\\x01", upstream: "http://127.0.0.1:9000/", host: "api.example.net"'
    )
    fields = parse_one(line).fields
    assert get_path(fields, "source") == {"address": "unix:"}
    assert get_path(fields, "nginx.error") == {"connection_id": 1, "upstream": "http://127.0.0.1:9000/"}
    assert get_path(fields, "url") == {"domain": "api.example.net"}
    assert "http" not in fields and "destination" not in fields


def test_times_without_an_offset_are_taken_as_utc() -> None:
    """Neither server writes an offset: the time is kept as written, as UTC (like RFC 3164 syslog)."""
    apache = parse_one("[Sun Dec 31 23:59:59.999999 2023] [core:notice] [pid 1] AH00094: Command line: 'httpd'")
    nginx = parse_one("2024/02/29 00:00:00 [notice] 1#1: signal process started")
    assert apache.timestamp == datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert apache.timestamp.tzinfo is UTC and nginx.timestamp == datetime(2024, 2, 29, tzinfo=UTC)


# --- rejects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('192.0.2.1 - - [01/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1', "not an Apache (2.2 or 2.4) or nginx"),
        ("Mar  1 10:00:00 host sshd[1]: hello", "not an Apache (2.2 or 2.4) or nginx"),
        ("[Sun Dec 04 04:47:44 2005] notice without brackets", "not an Apache (2.2 or 2.4) or nginx"),
        ("[Xyz Dec 04 04:47:44 2005] [error] bad weekday", "not an Apache (2.2 or 2.4) or nginx"),
        ("2026/03/07 10:11:12 [error] 2201: no thread", "not an Apache (2.2 or 2.4) or nginx"),
        ("[core:error] [pid 1] AH00001: from ErrorLog syslog", "Apache error line without its [time]"),
        ("[error] [client 192.0.2.1] from ErrorLog syslog", "Apache error line without its [time]"),
        ("[Mon Feb 30 10:00:00 2026] [error] no such day", "invalid date or time in [time] field"),
        ("[Mon Feb 02 24:00:00 2026] [error] no such hour", "invalid date or time in [time] field"),
        ("[Mon Foo 02 10:00:00 2026] [error] no such month", "invalid date or time in [time] field"),
        ("2026/13/01 10:00:00 [error] 1#1: no such month", "invalid date or time"),
        ("[Mon Mar 02 10:00:00 2026] [fatal] no such level", "unknown log level 'fatal'"),
        ("2026/03/01 10:00:00 [warning] 1#1: nginx says warn", "unknown log level 'warning'"),
        ("[Mon Mar 02 10:00:00 2026] [core:error] [pid 1]", "no message after the error log header"),
        ("[Mon Mar 02 10:00:00 2026] [error] [client 192.0.2.1]  ", "no message after the error log header"),
        ("2026/03/01 10:00:00 [error] 1#1: *5 ", "no message after the error log header"),
    ],
)
def test_rejects_say_why(line: str, reason: str) -> None:
    result = parse_line(line)
    assert isinstance(result, Rejected) and not is_internal_error(result)
    assert result.reason.startswith(reason), result.reason
    assert (result.line_no, result.raw) == (1, line)


# --- the loghub sample (read, never copied) ----------------------------------------------------------


def test_the_loghub_apache_sample_parses_without_a_reject_and_agrees_with_loghubs_own_parse() -> None:
    """Every line an event; its time, level, client and message are those of loghub's structured CSV."""
    assert SAMPLE.is_file() and STRUCTURED.is_file(), f"shared sample data missing: {LOGHUB}"
    parser = web_error.WebErrorParser(SourceContext(str(SAMPLE), REFERENCE))
    with SAMPLE.open("rb") as stream:
        results = [parser.parse(record) for record in parser.records(stream, str(SAMPLE))]
    assert [r for r in results if isinstance(r, Rejected)] == []
    with STRUCTURED.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(results) == len(rows) == 1000
    client = re.compile(r"\[client ([^\]]+)\] ")
    for event, row in zip(results, rows, strict=True):
        assert isinstance(event, Event)
        found = client.match(row["Content"])
        expected = {
            "time": datetime.strptime(row["Time"], "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC),
            "level": row["Level"],
            "ip": found.group(1) if found else None,
            "message": row["Content"][found.end() :] if found else row["Content"],
        }
        actual = {
            "time": event.timestamp,
            "level": get_path(event.fields, "log.level"),
            "ip": get_path(event.fields, "source.ip"),
            "message": event.fields["message"],
        }
        assert actual == expected, row["LineId"]
        assert event.fields["event"]["type"] == ["error" if row["Level"] == "error" else "info"]
