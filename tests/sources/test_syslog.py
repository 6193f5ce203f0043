"""The standalone syslog parser (`dagster_project.sources.syslog`), as files and receivers use it.

The linux-auth tests cover the same formats through that source; these pin the parts a receiver
relies on: the header's pieces, `<PRI>`, the year rule and the reasons a line is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import syslog
from dagster_project.sources.syslog import Program, SyslogLine, SyslogParser

REFERENCE = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def parse(line: str, reference: datetime = REFERENCE) -> SyslogLine | str:
    """One line through a fresh parser."""
    return SyslogParser(reference).parse(line)


def test_rfc3164_with_priority() -> None:
    """`<PRI>` gives facility and severity by name; the tag's `[pid]` is split off the message."""
    assert parse("<38>Mar 27 13:06:56 web-01 sshd[4721]: Accepted password for alice") == (
        datetime(2024, 3, 27, 13, 6, 56, tzinfo=UTC),
        {
            "message": "Accepted password for alice",
            "host": {"name": "web-01", "hostname": "web-01"},
            "process": {"name": "sshd", "pid": 4721},
            "log": {
                "syslog": {
                    "priority": 38,
                    "facility": {"code": 4, "name": "auth"},
                    "severity": {"code": 6, "name": "informational"},
                    "appname": "sshd",
                    "procid": "4721",
                }
            },
        },
        Program("sshd", None, None),
    )


def test_rfc5424_with_structured_data() -> None:
    """Version, msgid and structured data are kept; `-` fields are absent; the BOM is not part of MSG."""
    line = '<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" a="x\\"y"] \ufeffhi'
    parsed = parse(line)
    assert not isinstance(parsed, str)
    timestamp, fields, program = parsed
    assert timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert fields["message"] == "hi" and fields["host"]["name"] == "mymachine"
    assert program == Program("evntslog", None, None)
    assert fields["log"]["syslog"] == {
        "priority": 165,
        "facility": {"code": 20, "name": "local4"},
        "severity": {"code": 5, "name": "notice"},
        "version": "1",
        "msgid": "ID47",
        "structured_data": {"exampleSDID@32473": {"iut": "3", "a": 'x"y'}},
        "appname": "evntslog",
    }


def test_iso_variant_applies_its_offset() -> None:
    """rsyslog's ISO 8601 timestamps carry an offset, which is applied."""
    parsed = parse("2024-03-27T13:06:56.123+01:00 host cron[1]: x")
    assert not isinstance(parsed, str)
    assert parsed[0] == datetime(2024, 3, 27, 12, 6, 56, 123000, tzinfo=UTC)


def test_the_year_rolls_over_and_never_lands_in_the_future() -> None:
    """A file last written on 2 January: December lines belong to the year before, January to this one."""
    parser = SyslogParser(datetime(2024, 1, 2, 8, 0, tzinfo=UTC))
    lines = [parser.parse(f"{day} 10:00:00 h x: y") for day in ("Dec 30", "Dec 31", "Jan  1", "Jan  2")]
    assert [line[0].date().isoformat() for line in lines if not isinstance(line, str)] == [
        "2023-12-30",
        "2023-12-31",
        "2024-01-01",
        "2024-01-02",
    ]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("sshd", Program("sshd", None, None)),
        ("sshd(pam_unix)", Program("sshd", None, "pam_unix")),
        ("/usr/sbin/cron", Program("cron", "/usr/sbin/cron", None)),
        ("syslogd 1.4.1", Program("syslogd", None, None)),
        ("-- root", Program(None, None, None)),
    ],
)
def test_program_of_a_tag(tag: str, expected: Program) -> None:
    """A tag names a process, a path, or (old sysklogd) a PAM module in parentheses."""
    assert syslog.program(tag) == expected


def test_a_path_tag_names_the_executable() -> None:
    """A tag that is a path gives `process.executable` and its last part as `process.name`."""
    parsed = parse("<86>Mar 27 13:06:56 host /usr/sbin/sshd[12]: hello")
    assert not isinstance(parsed, str)
    _, fields, program = parsed
    assert program == Program("sshd", "/usr/sbin/sshd", None)
    assert fields["process"] == {"name": "sshd", "executable": "/usr/sbin/sshd", "pid": 12}
    assert fields["log"]["syslog"]["facility"] == {"code": 10, "name": "authpriv"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("hello world", syslog.NOT_SYSLOG),
        ("<192>Mar 27 13:06:56 host sshd[1]: x", "syslog priority 192 out of range (0-191)"),
        ("Feb 30 13:06:56 host sshd[1]: x", "invalid date or time in RFC 3164 timestamp"),
        ("<34>1 - host app - - - msg", "RFC 5424 line without a timestamp"),
        ("<34>1 2003-10-11T22:14:15Z host app", "malformed RFC 5424 header or structured data"),
        # Valid text whose UTC falls before year 1 or after 9999: refused, where it once crashed the parser.
        ("<13>1 0001-01-01T00:00:00+01:00 host app - - - msg", "invalid RFC 5424 timestamp"),
        ("<13>1 9999-12-31T23:59:59-01:00 host app - - - msg", "invalid RFC 5424 timestamp"),
        ("<13>0001-01-01T00:00:00+01:00 host app: msg", "invalid ISO 8601 timestamp"),
    ],
)
def test_refused_lines_say_why(line: str, reason: str) -> None:
    """A line that is not syslog is a reason, never an exception."""
    assert parse(line) == reason


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(["", "<0>", "<13>", "<191>", "<13>1 "]),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["", "Z", "+01:00", "-12:00", "+14:00"]),
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=60),
)
def test_any_timestamp_is_a_message_or_a_reason(prefix: str, moment: datetime, zone: str, rest: str) -> None:
    """ISO and RFC 5424 lines with times anywhere in the calendar parse to a message or a reason."""
    result = parse(f"{prefix}{moment.isoformat()}{zone} host {rest}")
    assert isinstance(result, tuple | str)
