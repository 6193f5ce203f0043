"""web-access parser: golden lines to exact ECS, request splitting, rejects, and the real samples."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import web_access
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, get_path

SHARED = Path(__file__).parents[2].parent / "shared" / "data" / "web"
FIXTURES = Path(__file__).parents[1] / "data" / "web"
APACHE = SHARED / "apache_access_elastic" / "apache_logs.lines00001-05000.log"
TOMCAT = SHARED / "tomcat_access_attack" / "localhost_access_log.lines0001-1290.txt"
TOMCAT_SUMMARY = SHARED / "tomcat_access_attack" / "localhost_access_log.lines0001-1290.summary.json"
REFERENCE = datetime(2024, 1, 2, tzinfo=UTC)


def shared(path: Path) -> Path:
    """A shared sample file; a missing one fails the test (never a skip)."""
    assert path.is_file(), f"shared sample data missing: {path}"
    return path


def parse_line(line: str) -> Event | Rejected:
    """Parse one line."""
    return web_access.WebAccessParser(SourceContext("access.log", REFERENCE)).parse(RawRecord(1, 0, line))


def parse_one(line: str) -> Event:
    """Parse a single line that must become an event."""
    result = parse_line(line)
    assert isinstance(result, Event), result
    return result


def parse_file(path: Path) -> list[Event | Rejected]:
    """Parse a whole file through the parser's own record reader."""
    parser = web_access.WebAccessParser(SourceContext(str(path), REFERENCE))
    with path.open("rb") as stream:
        return [parser.parse(record) for record in parser.records(stream, str(path))]


def events_of(results: list[Event | Rejected]) -> list[Event]:
    """The events of a parse."""
    return [r for r in results if isinstance(r, Event)]


# --- golden: line in, exact document out --------------------------------------------------------

APACHE_LINE_1 = (
    '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
    'kibana-search.png HTTP/1.1" 200 203023 '
    '"http://semicomplete.com/presentations/logstash-monitorama-2013/" '
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/32.0.1700.77 Safari/537.36"'
)

GOLDEN: list[tuple[str, str, dict[str, Any]]] = [
    (
        "combined",
        APACHE_LINE_1,
        {
            "@timestamp": "2015-05-17T10:05:03Z",
            "message": APACHE_LINE_1,
            "event": {
                "kind": "event",
                "category": ["web"],
                "type": ["access"],
                "action": "access",
                "outcome": "success",
                "dataset": "apache.access",
                "module": "apache",
            },
            "source": {"ip": "83.149.9.216"},
            "url": {
                "original": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
                "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
                "extension": "png",
            },
            "http": {
                "version": "1.1",
                "request": {
                    "method": "GET",
                    "referrer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
                },
                "response": {"status_code": 200, "body": {"bytes": 203023}},
            },
            "user_agent": {
                "original": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 "
                "(KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"
            },
            "related": {"ip": ["83.149.9.216"]},
        },
    ),
    (
        "vhost_combined",
        'shop.example.com:8443 2001:DB8:0:0::1 - alice [10/Oct/2000:13:55:36 -0700] "POST '
        'https://bob:secret@shop.example.com:8443/cart/add?item=7&qty= HTTP/2.0" 401 - "-" "curl/8.5.0"',
        {
            "@timestamp": "2000-10-10T20:55:36Z",
            "event": {
                "kind": "event",
                "category": ["web"],
                "type": ["access"],
                "action": "access",
                "outcome": "failure",
                "dataset": "apache.access",
                "module": "apache",
            },
            "source": {"ip": "2001:db8::1"},
            "destination": {"domain": "shop.example.com", "port": 8443},
            "user": {"name": "alice"},
            "url": {
                "original": "https://bob:secret@shop.example.com:8443/cart/add?item=7&qty=",
                "scheme": "https",
                "username": "bob",
                "domain": "shop.example.com",
                "port": 8443,
                "path": "/cart/add",
                "query": "item=7&qty=",
            },
            "http": {
                "version": "2.0",
                "request": {"method": "POST"},
                "response": {"status_code": 401, "body": {"bytes": 0}},
            },
            "user_agent": {"original": "curl/8.5.0"},
            "related": {"ip": ["2001:db8::1"], "user": ["alice"], "hosts": ["shop.example.com"]},
        },
    ),
    (
        "common-malformed-request",
        'gw-3.example.net - - [01/Jan/1970:03:00:00 +0300] "-" 400 -',
        {
            "@timestamp": "1970-01-01T00:00:00Z",
            "event": {
                "kind": "event",
                "category": ["web"],
                "type": ["access"],
                "action": "access",
                "outcome": "failure",
                "dataset": "apache.access",
                "module": "apache",
            },
            "source": {"address": "gw-3.example.net", "domain": "gw-3.example.net"},
            "apache": {"access": {"request_line": "-"}},
            "http": {"response": {"status_code": 400, "body": {"bytes": 0}}},
            "related": {"hosts": ["gw-3.example.net"]},
        },
    ),
    (
        "binary-request",
        '192.0.2.11 frank - [01/Jan/2024:00:00:03 +0000] "\x16\x03\x01\x02\xa5\x01" 400 226',
        {
            "@timestamp": "2024-01-01T00:00:03Z",
            "event": {
                "kind": "event",
                "category": ["web"],
                "type": ["access"],
                "action": "access",
                "outcome": "failure",
                "dataset": "apache.access",
                "module": "apache",
            },
            "source": {"ip": "192.0.2.11"},
            "apache": {"access": {"request_line": "\x16\x03\x01\x02\xa5\x01", "identity": "frank"}},
            "http": {"response": {"status_code": 400, "body": {"bytes": 226}}},
            "related": {"ip": ["192.0.2.11"]},
        },
    ),
]


@pytest.mark.parametrize(("line", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_document(line: str, expected: dict[str, Any]) -> None:
    document = parse_one(line).document()
    assert document == {"message": line, **expected, "event": {**expected["event"], "original": line}}
    json.dumps(document)


# --- request splitting and field rules ------------------------------------------------------------

P = '192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "'
CASES: list[tuple[str, dict[str, Any]]] = [
    (
        P + 'GET /search?q=a+b&lang= HTTP/1.1" 200 12 "-" "-"',
        {
            "url.path": "/search",
            "url.query": "q=a+b&lang=",
            "http.request.referrer": None,
            "user_agent": None,
        },
    ),
    (P + 'GET /empty? HTTP/1.1" 200 1', {"url.path": "/empty", "url.query": ""}),
    (P + 'GET /no-query HTTP/1.0" 200 1', {"url.query": None, "http.version": "1.0"}),
    (P + 'GET /a b HTTP/1.1" 400 1', {"url.original": "/a b", "url.path": "/a b", "http.version": "1.1"}),
    (P + 'GET /old" 200 1', {"http.request.method": "GET", "url.path": "/old", "http.version": None}),
    (P + 'GET /examples/jsp/num/numguess.jsp " 200 357', {"url.path": "/examples/jsp/num/numguess.jsp"}),
    (P + 'OPTIONS * HTTP/1.1" 200 0', {"url.original": "*", "url.path": None}),
    (
        P + 'CONNECT mail.example.com:443 HTTP/1.1" 405 0',
        {"url.original": "mail.example.com:443", "url.path": None},
    ),
    (P + 'connect XXXX" 400 -', {"http.request.method": "connect", "url.original": "XXXX"}),
    (P + 'PRI * HTTP/2.0" 505 -', {"http.request.method": "PRI", "http.version": "2.0"}),
    (
        P + 'GET http://[2001:db8::5]:81/x HTTP/1.1" 200 1',
        {"url.domain": "2001:db8::5", "url.port": 81, "url.path": "/x", "url.scheme": "http"},
    ),
    (
        P + 'GET HTTP://Example.COM HTTP/1.1" 200 1',
        {"url.scheme": "http", "url.domain": "Example.COM", "url.path": None},
    ),
    (
        P + 'GET /a\\"b HTTP/1.1" 200 12 "-" "Mozilla/5.0 \\"quoted\\""',
        {"url.original": '/a\\"b', "user_agent.original": 'Mozilla/5.0 \\"quoted\\"'},
    ),
    (
        P + 'GET /x?postdata="><script>foo</script> HTTP/1.1" 404 997',
        {"url.query": 'postdata="><script>foo</script>', "http.response.status_code": 404},
    ),
    (
        P + 'some invalid request" 505 -',
        {"apache.access.request_line": "some invalid request", "http.request.method": None, "url": None},
    ),
    (P + 'Secure * Secure-HTTP/1.4" 505 -', {"apache.access.request_line": "Secure * Secure-HTTP/1.4"}),
    (P + '" 400 -', {"apache.access.request_line": "", "event.outcome": "failure"}),
    (P + 'GET / HTTP/1.1" - -', {"http.response.status_code": None, "event.outcome": "unknown"}),
    (P + 'GET /a/b.tar.gz?x=1.exe HTTP/1.1" 200 1', {"url.path": "/a/b.tar.gz", "url.extension": "gz"}),
    (P + 'GET /.htaccess HTTP/1.1" 403 1', {"url.extension": "htaccess"}),
    (P + 'GET /a.d/run HTTP/1.1" 200 1', {"url.extension": None}),
    (P + 'GET /file. HTTP/1.1" 200 1', {"url.extension": None}),
    (
        P + 'GET http://dl.example.hopto.org:8080/x/Setup.EXE HTTP/1.1" 200 1',
        {"url.domain": "dl.example.hopto.org", "url.port": 8080, "url.path": "/x/Setup.EXE", "url.extension": "EXE"},
    ),
    (
        P + 'CONNECT pastebin.com:443 HTTP/1.1" 200 5120',
        {"url.original": "pastebin.com:443", "url.domain": "pastebin.com", "url.port": 443, "url.path": None},
    ),
    (P + 'CONNECT [2001:db8::1]:443 HTTP/1.1" 200 1', {"url.domain": "2001:db8::1", "url.port": 443}),
    (P + 'GET example.org:443 HTTP/1.1" 400 1', {"url.original": "example.org:443", "url.domain": None}),
    (P + 'GET / HTTP/1.1" 399 -', {"event.outcome": "success", "http.response.body.bytes": 0}),
    (P + 'GET / HTTP/1.1" 304 0', {"event.outcome": "success", "http.response.body.bytes": 0}),
    (
        P + 'GET / HTTP/1.1" 200 153 "-" "curl/8.5.0" 0.001 "10.0.0.1"',
        {"user_agent.original": "curl/8.5.0", "http.response.body.bytes": 153},
    ),
    (
        '::ffff:192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        {"source.ip": "::ffff:c000:209", "related.ip": ["::ffff:c000:209"]},
    ),
    (
        'www.example.com 192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"',
        {"destination.domain": "www.example.com", "destination.port": None},
    ),
    (
        '[2001:db8::80]:443 192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        {"destination.domain": "2001:db8::80", "destination.port": 443},
    ),
    (
        '- - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        {"source": None, "related": None},
    ),
    (
        '192.0.2.9 - - [10/Oct/2000:13:55:36.250 +0530] "GET / HTTP/1.1" 200 1',
        {"@timestamp": "2000-10-10T08:25:36.250000Z"},
    ),
    (
        '192.0.2.9 - - [10/Oct/2000:13:55:36 -0000] "GET / HTTP/1.1" 200 1',
        {"@timestamp": "2000-10-10T13:55:36Z"},
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_fields(line: str, expected: dict[str, Any]) -> None:
    document = parse_one(line).document()
    assert {key: get_path(document, key) for key in expected} == expected
    assert document["message"] == line


# --- rejects --------------------------------------------------------------------------------------

NOT_ACCESS_LOG = "not an Apache/nginx access log line (common, combined or vhost_combined)"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", NOT_ACCESS_LOG),
        ("GET / HTTP/1.1", NOT_ACCESS_LOG),
        ('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200', NOT_ACCESS_LOG),
        ('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 200 1', NOT_ACCESS_LOG),
        ('192.0.2.1 - - 10/Oct/2000:13:55:36 -0700 "GET / HTTP/1.1" 200 1', NOT_ACCESS_LOG),
        ('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 2000 1', NOT_ACCESS_LOG),
        ('a b c d e [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1', NOT_ACCESS_LOG),
        (
            '192.0.2.1 - - [31/Feb/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
            "invalid timestamp in [time] field",
        ),
        (
            '192.0.2.1 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
            "invalid timestamp in [time] field",
        ),
        (
            '192.0.2.1 - - [10/Oct/2000:13:55:36 +2400] "GET / HTTP/1.1" 200 1',
            "invalid timestamp in [time] field",
        ),
        ('192.0.2.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.1" 200 1', "invalid timestamp in [time] field"),
        # A valid local time whose UTC falls before year 1 or after 9999 (it once crashed the parser).
        ('192.0.2.1 - - [01/Jan/0001:00:00:00 +0100] "GET / HTTP/1.1" 200 1', "invalid timestamp in [time] field"),
        ('192.0.2.1 - - [31/Dec/9999:23:59:59 -0100] "GET / HTTP/1.1" 200 1', "invalid timestamp in [time] field"),
        ('300.1.2.3 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1', "invalid IP in client field"),
        ('192.0.2 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1', "invalid IP in client field"),
        ('2001:db8::g - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1', "invalid IP in client field"),
        (
            'bad/host - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
            "client field is neither an IP address nor a host name",
        ),
    ],
)
def test_rejects_with_precise_reason(line: str, reason: str) -> None:
    assert parse_line(line) == Rejected(reason, 1, line)


def test_record_with_reader_error_is_rejected_with_that_error() -> None:
    parser = web_access.WebAccessParser(SourceContext("x.log", REFERENCE))
    record = RawRecord(3, 10, 'x - - [..] "\\x00"', error="binary data (NUL bytes)")
    assert parser.parse(record) == Rejected("binary data (NUL bytes)", 3, record.text)


_TEXT = st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=200)


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXT)
def test_parse_never_raises(text: str) -> None:
    result = parse_line(text)
    assert isinstance(result, Event | Rejected)
    if isinstance(result, Rejected):
        assert not result.reason.startswith("internal error"), result


@settings(max_examples=500, deadline=None, database=None)
@given(request=_TEXT, referrer=_TEXT, agent=_TEXT, combined=st.booleans())
def test_well_formed_structure_always_makes_an_event(request: str, referrer: str, agent: str, combined: bool) -> None:
    tail = f' "{referrer}" "{agent}"' if combined else ""
    event = parse_one(f'192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "{request}" 200 5{tail}')
    json.dumps(event.document())


# --- fixtures in tests/data -----------------------------------------------------------------------


def test_fixture_sample_from_elastic_apache_log() -> None:
    results = parse_file(FIXTURES / "access.sample.log")
    assert all(isinstance(r, Event) for r in results)
    summary = [
        (
            get_path(e.fields, "http.request.method"),
            get_path(e.fields, "http.response.status_code"),
            get_path(e.fields, "http.response.body.bytes"),
        )
        for e in events_of(results)
    ]
    assert summary == [
        ("GET", 200, 203023),
        ("GET", 200, 12251),
        ("HEAD", 200, 0),
        ("GET", 404, 294),
        ("GET", 304, 0),
        ("GET", 200, 0),
    ]


def test_fixture_synthetic_file() -> None:
    path = FIXTURES / "synthetic.log"
    parser = web_access.WebAccessParser(SourceContext(str(path), REFERENCE))
    with path.open("rb") as stream:
        results = {record.line_no: parser.parse(record) for record in parser.records(stream, str(path))}
    assert 8 not in results  # the blank line is skipped but counted
    rejects = {n: r.reason for n, r in results.items() if isinstance(r, Rejected)}
    assert rejects == {7: NOT_ACCESS_LOG, 9: "invalid IP in client field"}
    summary = {
        n: (
            r.document()["@timestamp"],
            get_path(r.fields, "source.ip") or get_path(r.fields, "source.domain"),
            get_path(r.fields, "http.request.method"),
            get_path(r.fields, "url.original"),
            get_path(r.fields, "event.outcome"),
        )
        for n, r in results.items()
        if isinstance(r, Event)
    }
    assert summary == {
        1: ("2024-01-01T04:59:59Z", "2001:db8::1", "GET", "/index.html?lang=en", "success"),
        2: ("2024-01-01T00:00:01Z", "proxy.example.net", "POST", "/login", "success"),
        3: ("2023-12-31T23:00:02Z", "192.0.2.10", None, None, "failure"),
        4: ("2024-01-01T00:00:03Z", "192.0.2.11", None, None, "failure"),
        5: ("2024-01-01T00:00:04Z", "192.0.2.12", "GET", "http://203.0.113.5:8080/proxy?x=1", "failure"),
        6: ("2024-01-01T00:00:05Z", "192.0.2.13", "GET", '/a\\"b', "success"),
        10: ("2024-01-01T00:00:08Z", "192.0.2.15", "GET", "/favicon.ico", "failure"),
    }
    # Line 4 is not UTF-8: the reader decodes it as latin-1 and the junk request is kept.
    junk = results[4]
    assert isinstance(junk, Event)
    assert get_path(junk.fields, "apache.access.request_line") == "\x16\x03\x01\x02\xa5\x01"


# --- the real samples -----------------------------------------------------------------------------


def test_every_apache_sample_line_parses() -> None:
    lines = [line for line in shared(APACHE).read_bytes().split(b"\n") if line.strip()]
    results = parse_file(APACHE)
    assert [r for r in results if isinstance(r, Rejected)] == []
    assert len(results) == len(lines) == 5000


def test_apache_sample_counts() -> None:
    # Expected values counted with awk over the raw file, independently of this parser.
    events = events_of(parse_file(shared(APACHE)))
    fields = [e.fields for e in events]
    assert Counter(get_path(f, "http.response.status_code") for f in fields) == {
        200: 4450,
        304: 305,
        301: 113,
        404: 108,
        206: 21,
        500: 2,
        403: 1,
    }
    assert Counter(get_path(f, "http.request.method") for f in fields) == {"GET": 4980, "HEAD": 20}
    assert sum(get_path(f, "http.response.body.bytes") for f in fields) == 1312869333
    assert sum(get_path(f, "http.response.body.bytes") == 0 for f in fields) == 432  # all from "-"
    assert len({get_path(f, "source.ip") for f in fields}) == 965
    assert sum(get_path(f, "http.request.referrer") is None for f in fields) == 2172
    assert sum(get_path(f, "user_agent.original") is None for f in fields) == 142
    assert sum(get_path(f, "url.query") is not None for f in fields) == 720
    assert events[0].document()["@timestamp"] == "2015-05-17T10:05:03Z"


def test_tomcat_attack_sample() -> None:
    summary = json.loads(shared(TOMCAT_SUMMARY).read_text())
    results = parse_file(shared(TOMCAT))
    assert len(results) == summary["lines"]
    # Two scanner requests carry NUL bytes; the shared reader (base.iter_lines) flags such lines, and
    # a flagged record is rejected with the reader's reason. Both are "400 -" responses.
    rejects = [(r.line_no, r.reason) for r in results if isinstance(r, Rejected)]
    assert rejects == [(27, "binary data (NUL bytes)"), (853, "binary data (NUL bytes)")]
    fields = [e.fields for e in events_of(results)]
    expected_status = Counter({int(code): n for code, n in summary["status_codes"].items()})
    expected_status[400] -= 2
    assert Counter(get_path(f, "http.response.status_code") for f in fields) == expected_status
    assert Counter(get_path(f, "source.ip") for f in fields) == {
        ip: n - 2 for ip, n in summary["requests_by_client_ip"]
    }
    # The summary's first-word-of-request counts; line 853 (a GET) is one of the rejects, "-" requests
    # and the ones that are not METHOD TARGET [HTTP/x] keep their raw request line instead of a method.
    methods = Counter(get_path(f, "http.request.method") for f in fields)
    for method, count in summary["methods_top15"]:
        if method == "GET":
            count -= 1
        if method in {'-"', "Secure", "some"} or method.startswith("\x16"):
            continue
        assert methods[method] == count, method
    assert Counter(get_path(f, "apache.access.request_line") for f in fields if "apache" in f) == {
        "-": 3,
        "Secure * Secure-HTTP/1.4": 1,
        "some invalid request": 1,
    }
    assert sum(methods.values()) - methods[None] == len(fields) - 5
    timestamps = [e.document()["@timestamp"] for e in events_of(results)]
    assert (timestamps[0], timestamps[-1]) == ("2018-07-11T05:41:28Z", "2018-07-11T06:32:56Z")
