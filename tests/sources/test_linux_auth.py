"""linux-auth parser: golden lines to exact ECS, the RFC 3164 year rule, rejects, and the real samples."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dagster_project.sources import linux_auth
from dagster_project.sources.base import Event, RawRecord, Rejected, SourceContext, get_path

SHARED = Path(__file__).parents[2].parent / "shared" / "data" / "linux_auth"
FIXTURES = Path(__file__).parents[1] / "data" / "linux_auth"
ELASTIC = SHARED / "elastic_auth" / "auth.part1.log"
ELASTIC_SUMMARY = SHARED / "elastic_auth" / "auth.part1.summary.json"
OPENSSH = SHARED / "loghub_openssh" / "OpenSSH_2k.lines0001-1000.log"
LINUX = SHARED / "loghub_linux" / "Linux_2k.lines0001-1000.log"

REFERENCE = datetime(2017, 3, 31, 12, 0, tzinfo=UTC)
"""The elastic auth.log covers 27-30 March (of 2017, judging by the Filebeat 5.2.2 it installs)."""


def shared(path: Path) -> Path:
    """A shared sample file; a missing one fails the test (never a skip)."""
    assert path.is_file(), f"shared sample data missing: {path}"
    return path


def parse_lines(lines: Iterable[str], reference: datetime = REFERENCE) -> list[Event | Rejected]:
    """Parse lines in order with one parser, as ingestion does for one file."""
    parser = linux_auth.LinuxAuthParser(SourceContext("test.log", reference))
    return [parser.parse(RawRecord(n, 0, line)) for n, line in enumerate(lines, 1)]


def parse_one(line: str, reference: datetime = REFERENCE) -> Event:
    """Parse a single line that must become an event."""
    (result,) = parse_lines([line], reference)
    assert isinstance(result, Event), result
    return result


def parse_file(path: Path, reference: datetime) -> list[Event | Rejected]:
    """Parse a whole file through the parser's own record reader."""
    parser = linux_auth.LinuxAuthParser(SourceContext(str(path), reference))
    with path.open("rb") as stream:
        return [parser.parse(record) for record in parser.records(stream, str(path))]


def events_of(results: list[Event | Rejected]) -> list[Event]:
    """The events of a parse, asserting there is no reject."""
    rejects = [r for r in results if isinstance(r, Rejected)]
    assert rejects == []
    return [r for r in results if isinstance(r, Event)]


def stamp(event: Event) -> str:
    """The `@timestamp` of an event as indexed."""
    value: str = event.document()["@timestamp"]
    return value


# --- golden: line in, exact document out --------------------------------------------------------

GOLDEN: list[tuple[str, dict[str, Any]]] = [
    (
        "Mar 27 13:08:09 ip-10-77-20-248 sshd[1361]: Accepted publickey for ubuntu from 85.245.107.41 "
        "port 54259 ssh2: RSA SHA256:Kl8kPGZrTiz7g4FO1hyqHdsSBBb5Fge6NWOobN03XJg",
        {
            "@timestamp": "2017-03-27T13:08:09Z",
            "message": "Accepted publickey for ubuntu from 85.245.107.41 port 54259 ssh2: "
            "RSA SHA256:Kl8kPGZrTiz7g4FO1hyqHdsSBBb5Fge6NWOobN03XJg",
            "event": {
                "kind": "event",
                "category": ["authentication"],
                "type": ["start"],
                "action": "ssh_login",
                "outcome": "success",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "ip-10-77-20-248", "hostname": "ip-10-77-20-248"},
            "process": {"name": "sshd", "pid": 1361},
            "log": {"syslog": {"appname": "sshd", "procid": "1361"}},
            "user": {"name": "ubuntu"},
            "source": {"ip": "85.245.107.41", "port": 54259},
            "linux": {
                "auth": {
                    "ssh": {
                        "event": "Accepted",
                        "method": "publickey",
                        "signature": "RSA SHA256:Kl8kPGZrTiz7g4FO1hyqHdsSBBb5Fge6NWOobN03XJg",
                    }
                }
            },
            "related": {"ip": ["85.245.107.41"], "user": ["ubuntu"], "hosts": ["ip-10-77-20-248"]},
        },
    ),
    (
        "Mar 27 13:10:24 ip-10-77-20-248 sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; "
        "COMMAND=/usr/bin/apt-get update",
        {
            "@timestamp": "2017-03-27T13:10:24Z",
            "message": "ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/usr/bin/apt-get update",
            "event": {
                "kind": "event",
                "category": ["process"],
                "type": ["start"],
                "action": "sudo_command",
                "outcome": "success",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "ip-10-77-20-248", "hostname": "ip-10-77-20-248"},
            "process": {
                "name": "sudo",
                "command_line": "/usr/bin/apt-get update",
                "working_directory": "/home/ubuntu",
            },
            "log": {"syslog": {"appname": "sudo"}},
            "user": {"name": "ubuntu", "effective": {"name": "root"}},
            "linux": {"auth": {"sudo": {"tty": "pts/0"}}},
            "related": {"user": ["ubuntu", "root"], "hosts": ["ip-10-77-20-248"]},
        },
    ),
    (
        "Mar 29 10:36:43 ip-10-77-20-248 useradd[750]: new user: name=elastic_user_0, UID=1001, GID=1001, "
        "home=/home/elastic_user_0, shell=/bin/bash",
        {
            "@timestamp": "2017-03-29T10:36:43Z",
            "message": "new user: name=elastic_user_0, UID=1001, GID=1001, home=/home/elastic_user_0, shell=/bin/bash",
            "event": {
                "kind": "event",
                "category": ["iam"],
                "type": ["user", "creation"],
                "action": "user_created",
                "outcome": "success",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "ip-10-77-20-248", "hostname": "ip-10-77-20-248"},
            "process": {"name": "useradd", "pid": 750},
            "log": {"syslog": {"appname": "useradd", "procid": "750"}},
            "user": {
                "name": "elastic_user_0",
                "target": {"name": "elastic_user_0", "id": "1001", "group": {"id": "1001"}},
            },
            "linux": {"auth": {"useradd": {"home": "/home/elastic_user_0", "shell": "/bin/bash"}}},
            "related": {"user": ["elastic_user_0"], "hosts": ["ip-10-77-20-248"]},
        },
    ),
    (
        "Mar 29 23:18:33 ip-10-77-20-248 sshd[6402]: message repeated 5 times: [ Failed password for root "
        "from 218.60.136.106 port 56338 ssh2]",
        {
            "@timestamp": "2017-03-29T23:18:33Z",
            "message": "message repeated 5 times: [ Failed password for root from 218.60.136.106 port 56338 ssh2]",
            "event": {
                "kind": "event",
                "category": ["authentication"],
                "type": ["start"],
                "action": "ssh_login",
                "outcome": "failure",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "ip-10-77-20-248", "hostname": "ip-10-77-20-248"},
            "process": {"name": "sshd", "pid": 6402},
            "log": {"syslog": {"appname": "sshd", "procid": "6402"}},
            "user": {"name": "root"},
            "source": {"ip": "218.60.136.106", "port": 56338},
            "linux": {"auth": {"ssh": {"event": "Failed", "method": "password"}, "repeated": 5}},
            "related": {"ip": ["218.60.136.106"], "user": ["root"], "hosts": ["ip-10-77-20-248"]},
        },
    ),
    (
        # Old sysklogd PAM format (RHEL 4 era /var/log/messages); synthetic line.
        "Jun 15 03:10:00 oldbox sshd(pam_unix)[4711]: authentication failure; logname= uid=0 euid=0 "
        "tty=NODEVssh ruser= rhost=host-7.example.net  user=root",
        {
            "@timestamp": "2016-06-15T03:10:00Z",
            "message": "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
            "rhost=host-7.example.net  user=root",
            "event": {
                "kind": "event",
                "category": ["authentication"],
                "type": ["info"],
                "action": "pam_authentication_failure",
                "outcome": "failure",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "oldbox", "hostname": "oldbox"},
            "process": {"name": "sshd", "pid": 4711},
            "log": {"syslog": {"appname": "sshd(pam_unix)", "procid": "4711"}},
            "user": {"name": "root"},
            "source": {"address": "host-7.example.net", "domain": "host-7.example.net"},
            "linux": {
                "auth": {
                    "pam": {
                        "module": "pam_unix",
                        "service": "sshd",
                        "uid": "0",
                        "euid": "0",
                        "tty": "NODEVssh",
                        "rhost": "host-7.example.net",
                    }
                }
            },
            "related": {"user": ["root"], "hosts": ["oldbox", "host-7.example.net"]},
        },
    ),
    (
        '<86>1 2024-02-03T04:05:06.789+01:00 bastion.example.com sshd 4242 AUTH [meta@32473 seq="7" '
        'note="a \\"quoted\\" \\] bracket"] \ufeffInvalid user guest from 2001:db8:0:0::7 port 2222',
        {
            "@timestamp": "2024-02-03T03:05:06.789000Z",
            "message": "Invalid user guest from 2001:db8:0:0::7 port 2222",
            "event": {
                "kind": "event",
                "category": ["authentication"],
                "type": ["info"],
                "action": "ssh_invalid_user",
                "outcome": "failure",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "bastion.example.com", "hostname": "bastion.example.com"},
            "process": {"name": "sshd", "pid": 4242},
            "log": {
                "syslog": {
                    "priority": 86,
                    "facility": {"code": 10, "name": "authpriv"},
                    "severity": {"code": 6, "name": "informational"},
                    "version": "1",
                    "msgid": "AUTH",
                    "structured_data": {"meta@32473": {"seq": "7", "note": 'a "quoted" ] bracket'}},
                    "appname": "sshd",
                    "procid": "4242",
                }
            },
            "user": {"name": "guest"},
            "source": {"ip": "2001:db8::7", "port": 2222},
            "linux": {"auth": {"ssh": {"event": "Invalid user", "invalid_user": True}}},
            "related": {"ip": ["2001:db8::7"], "user": ["guest"], "hosts": ["bastion.example.com"]},
        },
    ),
    (
        "2024-03-27T13:06:56.123456+02:00 db-2 systemd-logind[1118]: New session 12 of user alice.",
        {
            "@timestamp": "2024-03-27T11:06:56.123456Z",
            "message": "New session 12 of user alice.",
            "event": {
                "kind": "event",
                "category": [],
                "type": ["info"],
                "action": "syslog",
                "outcome": "unknown",
                "dataset": "linux.auth",
                "module": "linux",
            },
            "host": {"name": "db-2", "hostname": "db-2"},
            "process": {"name": "systemd-logind", "pid": 1118},
            "log": {"syslog": {"appname": "systemd-logind", "procid": "1118"}},
            "related": {"hosts": ["db-2"]},
        },
    ),
]


@pytest.mark.parametrize(("line", "expected"), GOLDEN, ids=[g[1]["event"]["action"] for g in GOLDEN])
def test_golden_document(line: str, expected: dict[str, Any]) -> None:
    document = parse_one(line).document()
    assert document == {**expected, "event": {**expected["event"], "original": line}}
    json.dumps(document)


# --- recognised messages: the fields that matter, per action -------------------------------------

H = "Mar 27 13:06:56 srv "
CASES: list[tuple[str, dict[str, Any]]] = [
    (
        H + "sshd[9]: Failed password for invalid user admin from 203.0.113.5 port 4444 ssh2",
        {
            "event.action": "ssh_login",
            "event.outcome": "failure",
            "user.name": "admin",
            "source.ip": "203.0.113.5",
            "source.port": 4444,
            "linux.auth.ssh.method": "password",
            "linux.auth.ssh.invalid_user": True,
        },
    ),
    (
        H + "sshd[9]: Failed password for invalid user  from 203.0.113.5 port 4444 ssh2",
        {"event.action": "ssh_login", "event.outcome": "failure", "user": None, "source.ip": "203.0.113.5"},
    ),
    (
        H + "sshd[9]: Failed none for invalid user x from 1.2.3.4 from 203.0.113.5 port 22 ssh2",
        {"event.action": "ssh_login", "user.name": "x from 1.2.3.4", "source.ip": "203.0.113.5"},
    ),
    (
        H + "sshd[9]: Accepted keyboard-interactive/pam for bob from gw.example.org port 22 ssh2",
        {
            "event.action": "ssh_login",
            "event.outcome": "success",
            "linux.auth.ssh.method": "keyboard-interactive/pam",
            "source.domain": "gw.example.org",
            "source.ip": None,
            "related.hosts": ["srv", "gw.example.org"],
        },
    ),
    (
        H + "sshd[9]: Invalid user test9 from 198.51.100.4",
        {
            "event.action": "ssh_invalid_user",
            "event.outcome": "failure",
            "user.name": "test9",
            "source.port": None,
        },
    ),
    (
        H + "sshd[9]: Invalid user  from 198.51.100.4 port 1022",
        {"event.action": "ssh_invalid_user", "user": None, "source.port": 1022},
    ),
    (
        H + "sshd[9]: Connection closed by authenticating user root 198.51.100.4 port 1022 [preauth]",
        {
            "event.action": "ssh_disconnect",
            "event.outcome": "unknown",
            "user.name": "root",
            "linux.auth.ssh.event": "Connection closed",
        },
    ),
    (
        H + "sshd[9]: Connection closed by 198.51.100.4 [preauth]",
        {"event.action": "ssh_disconnect", "source.ip": "198.51.100.4", "source.port": None},
    ),
    (
        H + "sshd[9]: Received disconnect from 2001:db8::9: 11: Bye Bye [preauth]",
        {
            "event.action": "ssh_disconnect",
            "source.ip": "2001:db8::9",
            "linux.auth.ssh.event": "Received disconnect",
        },
    ),
    (
        H + "sshd[9]: Disconnected from user alice 198.51.100.4 port 50000",
        {"event.action": "ssh_disconnect", "user.name": "alice", "source.port": 50000},
    ),
    (
        H + "sshd[9]: Connection reset by 198.51.100.4 port 50000 [preauth]",
        {"event.action": "ssh_disconnect", "linux.auth.ssh.event": "Connection reset"},
    ),
    (
        H + "sshd[9]: Disconnecting invalid user admin 198.51.100.4 port 5: Too many authentication failures [preauth]",
        {
            "event.action": "ssh_disconnect",
            "event.outcome": "failure",
            "user.name": "admin",
            "source.port": 5,
        },
    ),
    (
        H + "sshd[9]: Disconnecting: Too many authentication failures for root [preauth]",
        {"event.action": "ssh_disconnect", "event.outcome": "failure", "user.name": "root", "source": None},
    ),
    (
        H + "sshd[9]: error: maximum authentication attempts exceeded for invalid user admin from 198.51.100.4 "
        "port 5 ssh2 [preauth]",
        {"event.action": "ssh_disconnect", "event.outcome": "failure", "linux.auth.ssh.invalid_user": True},
    ),
    (
        H + "sshd[9]: Address 198.51.100.7 maps to evil.example.com, but this does not map back to the address "
        "- POSSIBLE BREAK-IN ATTEMPT!",
        {
            "event.action": "ssh_break_in_attempt",
            "event.outcome": "unknown",
            "source.ip": "198.51.100.7",
            "source.domain": "evil.example.com",
        },
    ),
    (
        H + "sshd[9]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.4",
        {"event.action": "pam_authentication_failure", "linux.auth.repeated": 1, "source.ip": "198.51.100.4"},
    ),
    (
        H + "sshd[9]: pam_unix(sshd:auth): check pass; user unknown",
        {"event.action": "syslog", "event.category": [], "linux": None},
    ),
    (
        H + "sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 "
        "ruser=alice rhost=  user=alice",
        {
            "event.action": "pam_authentication_failure",
            "user.name": "alice",
            "source": None,
            "linux.auth.pam.service": "sudo",
            "linux.auth.pam.type": "auth",
            "linux.auth.pam.tty": "/dev/pts/0",
        },
    ),
    (
        H + "sudo:    alice : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c 'a ; b'",
        {
            "event.action": "sudo_command",
            "event.outcome": "failure",
            "linux.auth.sudo.error": "user NOT in sudoers",
            "process.command_line": "/bin/sh -c 'a ; b'",
            "user.effective.name": "root",
        },
    ),
    (
        H + "sudo[77]: alice : TTY=unknown ; PWD=/ ; USER=postgres ; ENV=A=1 ; COMMAND=/usr/bin/psql",
        {"event.action": "sudo_command", "event.outcome": "success", "user.effective.name": "postgres"},
    ),
    (
        H + "sudo: unable to resolve host srv: Name or service not known",
        {"event.action": "syslog", "user": None},
    ),
    (
        H + "su[5]: FAILED su for root by mallory",
        {"event.action": "su_session", "event.outcome": "failure", "user.name": "mallory"},
    ),
    (
        H + "su: (to root) alice on pts/0",
        {
            "event.action": "su_session",
            "event.outcome": "success",
            "user.name": "alice",
            "user.effective.name": "root",
            "linux.auth.su.tty": "pts/0",
        },
    ),
    (
        H + "su: FAILED SU (to root) alice on pts/0",
        {"event.action": "su_session", "event.outcome": "failure"},
    ),
    (
        H + "su[5]: pam_unix(su:session): session opened for user root by alice(uid=1000)",
        {
            "event.action": "pam_session_opened",
            "event.category": ["session"],
            "event.type": ["start"],
            "user.name": "root",
            "linux.auth.pam.by_user": "alice",
            "linux.auth.pam.by_uid": "1000",
            "related.user": ["root", "alice"],
        },
    ),
    (
        H + "CRON[5]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
        {
            "event.action": "pam_session_opened",
            "user.name": "root",
            "user.id": "0",
            "linux.auth.pam.by_user": None,
        },
    ),
    (
        H + "CRON[5]: pam_unix(cron:session): session closed for user root",
        {"event.action": "pam_session_closed", "event.type": ["end"]},
    ),
    (
        H + "CRON[5]: (www-data) CMD (php /var/www/cron.php > /dev/null 2>&1)",
        {
            "event.action": "cron_command",
            "user.name": "www-data",
            "process.command_line": "php /var/www/cron.php > /dev/null 2>&1",
        },
    ),
    (
        H + "useradd[5]: failed adding user 'bob', data deleted",
        {"event.action": "user_created", "event.outcome": "failure", "user.target.name": "bob"},
    ),
    (
        H + "groupadd[5]: new group: name=ops, GID=1011",
        {"event.action": "group_created", "group.name": "ops", "group.id": "1011", "user": None},
    ),
    (
        H + "groupadd[5]: group added to /etc/group: name=ops, GID=1011",
        {"event.action": "syslog", "group": None},
    ),
    (
        H + "usermod[5]: add 'bob' to shadow group 'sudo'",
        {"event.action": "user_modified", "user.target.name": "bob", "group.name": "sudo"},
    ),
    (
        H + "usermod[5]: change user 'bob' shell from '/bin/sh' to '/bin/bash'",
        {"event.action": "user_modified", "user.target.name": "bob"},
    ),
    (
        H + "userdel[5]: delete user 'bob'",
        {"event.action": "user_deleted", "event.type": ["user", "deletion"], "user.name": "bob"},
    ),
    (
        H + "passwd[5]: password for 'bob' changed by 'root'",
        {"event.action": "password_changed", "user.target.name": "bob", "linux.auth.changed_by": "root"},
    ),
    (
        H + 'chpasswd[5]: pam_unix(chpasswd:chauthtok): user "nobody2" does not exist in /etc/passwd',
        {"event.action": "password_changed", "event.outcome": "failure", "user.target.name": "nobody2"},
    ),
    (
        H + "/usr/sbin/cron[5]: (root) CMD (true)",
        {"event.action": "cron_command", "process.name": "cron", "process.executable": "/usr/sbin/cron"},
    ),
    (
        "Jul  7 09:00:00 srv  -- root[3001]: ROOT LOGIN ON tty1",
        {
            "event.action": "syslog",
            "process.name": None,
            "process.pid": 3001,
            "log.syslog.appname": "-- root",
        },
    ),
    (
        "Jun 20 05:00:00 srv syslogd 1.4.1: restart.",
        {"event.action": "syslog", "process.name": "syslogd", "message": "restart."},
    ),
    (
        "Mar  2 10:00:00 srv last message repeated 3 times",
        {"event.action": "syslog", "process": None, "message": "last message repeated 3 times"},
    ),
    (
        "<13>Mar  2 10:00:00.250 srv logger: hello",
        {
            "@timestamp": "2017-03-02T10:00:00.250000Z",
            "log.syslog.priority": 13,
            "log.syslog.facility.name": "user",
            "log.syslog.severity.name": "notice",
        },
    ),
    (
        "Mar  2 10:00:00 srv",
        {"event.action": "syslog", "message": "", "host.name": "srv"},
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_recognised_fields(line: str, expected: dict[str, Any]) -> None:
    document = parse_one(line).document()
    assert {key: get_path(document, key) for key in expected} == expected
    assert document["event"]["dataset"] == "linux.auth"


# --- the year rule (RFC 3164 has no year) -------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "lines", "expected"),
    [
        pytest.param(
            datetime(2024, 6, 15, 12, 0, tzinfo=UTC),
            ["Jun 16 11:00:00 h x: a"],
            ["2024-06-16T11:00:00Z"],
            id="within-a-day-after-reference-keeps-its-year",
        ),
        pytest.param(
            datetime(2024, 6, 15, 12, 0, tzinfo=UTC),
            ["Jun 16 12:00:01 h x: a"],
            ["2023-06-16T12:00:01Z"],
            id="more-than-a-day-after-reference-is-last-year",
        ),
        pytest.param(
            datetime(2024, 1, 2, 8, 0, tzinfo=UTC),
            ["Dec 31 23:59:58 h x: a", "Jan  1 00:00:02 h x: b", "Jan  2 07:00:00 h x: c"],
            ["2023-12-31T23:59:58Z", "2024-01-01T00:00:02Z", "2024-01-02T07:00:00Z"],
            id="across-new-year",
        ),
        pytest.param(
            datetime(2024, 1, 20, tzinfo=UTC),
            ["Dec 24 10:00:00 h x: a", "Dec 25 10:00:00 h x: b"],
            ["2023-12-24T10:00:00Z", "2023-12-25T10:00:00Z"],
            id="december-lines-in-a-january-file",
        ),
        pytest.param(
            datetime(2025, 3, 1, tzinfo=UTC),
            [
                "Nov 30 10:00:00 h x: a",
                "Dec 31 10:00:00 h x: b",
                "Jan  1 10:00:00 h x: c",
                "Feb 28 10:00:00 h x: d",
            ],
            ["2024-11-30T10:00:00Z", "2024-12-31T10:00:00Z", "2025-01-01T10:00:00Z", "2025-02-28T10:00:00Z"],
            id="month-going-backwards-increments-the-year",
        ),
        pytest.param(
            datetime(2020, 12, 31, tzinfo=UTC),
            ["Jan  5 10:00:00 h x: a", "Dec 30 10:00:00 h x: b", "Jan  6 10:00:00 h x: c"],
            ["2020-01-05T10:00:00Z", "2020-12-30T10:00:00Z", "2020-01-06T10:00:00Z"],
            id="increment-never-passes-the-reference",
        ),
        pytest.param(
            datetime(2025, 3, 10, tzinfo=UTC),
            ["Feb 29 12:00:00 h x: a"],
            ["2024-02-29T12:00:00Z"],
            id="feb-29-goes-to-the-last-leap-year",
        ),
        pytest.param(
            datetime(2024, 1, 2, tzinfo=UTC),
            ["Dec 31 23:00:00 h x: a", "2024-01-01T00:30:00+01:00 h x: b", "Jan  1 01:00:00 h x: c"],
            ["2023-12-31T23:00:00Z", "2023-12-31T23:30:00Z", "2024-01-01T01:00:00Z"],
            id="iso-lines-do-not-touch-the-state",
        ),
        pytest.param(
            datetime(2024, 3, 27),
            ["Mar 27 13:06:56 h x: a"],
            ["2024-03-27T13:06:56Z"],
            id="naive-reference-is-utc",
        ),
    ],
)
def test_year_rule(reference: datetime, lines: list[str], expected: list[str]) -> None:
    results = parse_lines(lines, reference)
    assert [stamp(e) for e in events_of(results)] == expected


def test_year_state_carries_new_year_written_in_a_zone_ahead_of_utc() -> None:
    # A host at UTC+10 writes local times; the file's mtime (UTC) is still 31 December.
    reference = datetime(2024, 12, 31, 19, 0, tzinfo=UTC)
    in_order = events_of(parse_lines(["Dec 31 23:30:00 h x: a", "Jan  1 04:59:00 h x: b"], reference))
    assert [stamp(e) for e in in_order] == ["2024-12-31T23:30:00Z", "2025-01-01T04:59:00Z"]
    # Without the line before, the reference alone cannot tell: the state is per parser (per file).
    assert stamp(parse_one("Jan  1 04:59:00 h x: b", reference)) == "2024-01-01T04:59:00Z"


@pytest.mark.parametrize(
    "reference",
    [datetime(2005, 7, 9, 12, 20, tzinfo=UTC), datetime(2006, 1, 15, tzinfo=UTC)],
    ids=["mtime-just-after-last-line", "copied-next-january"],
)
def test_year_rule_on_real_data_matches_the_years_written_in_messages(reference: datetime) -> None:
    # loghub Linux /var/log/messages (Jun-Jul 2005): ftpd writes the full date into its messages.
    embedded = re.compile(r" at (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})$")
    checked = 0
    for event in events_of(parse_file(shared(LINUX), reference)):
        m = embedded.search(event.fields["message"])
        if m is None:
            continue
        written = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
        assert abs((event.timestamp - written).total_seconds()) <= 2, event.original
        checked += 1
    assert checked == 371


# --- timezones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Mar 27 13:06:56 h x: a", "2017-03-27T13:06:56Z"),
        ("2024-03-27T13:06:56+0100 h x: a", "2024-03-27T12:06:56Z"),
        ("2024-03-27T13:06:56.123456789-05:30 h x: a", "2024-03-27T18:36:56.123456Z"),
        ("2024-03-27T13:06:56Z h x: a", "2024-03-27T13:06:56Z"),
        ("2024-03-27T13:06:56 h x: a", "2024-03-27T13:06:56Z"),
        (
            "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed",
            "2003-10-11T22:14:15.003000Z",
        ),
    ],
)
def test_timestamps_are_utc(line: str, expected: str) -> None:
    assert stamp(parse_one(line)) == expected


# --- rejects --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "not an RFC 3164/5424 syslog line"),
        ("hello world", "not an RFC 3164/5424 syslog line"),
        ("Foo 27 13:06:56 host sshd[1]: x", "not an RFC 3164/5424 syslog line"),
        ("Mar 27 13:06 host sshd[1]: x", "not an RFC 3164/5424 syslog line"),
        ("Feb 30 13:06:56 host sshd[1]: x", "invalid date or time in RFC 3164 timestamp"),
        ("Mar 27 24:06:56 host sshd[1]: x", "invalid date or time in RFC 3164 timestamp"),
        ("<192>Mar 27 13:06:56 host sshd[1]: x", "syslog priority 192 out of range (0-191)"),
        ("<34>1 - host app - - - msg", "RFC 5424 line without a timestamp"),
        ("<34>1 2003-13-11T22:14:15Z host app - - - msg", "invalid RFC 5424 timestamp"),
        ("<34>1 2003-10-11T22:14:15 host app - - - msg", "invalid RFC 5424 timestamp"),
        (
            '<34>1 2003-10-11T22:14:15Z host app - - [x@1 a="b] msg',
            "malformed RFC 5424 header or structured data",
        ),
        ("<34>1 2003-10-11T22:14:15Z host app", "malformed RFC 5424 header or structured data"),
        ("2024-02-30T10:00:00Z host sshd[1]: x", "invalid ISO 8601 timestamp"),
    ],
)
def test_rejects_with_precise_reason(line: str, reason: str) -> None:
    (result,) = parse_lines([line])
    assert result == Rejected(reason, 1, line)


def test_record_with_reader_error_is_rejected_with_that_error() -> None:
    parser = linux_auth.LinuxAuthParser(SourceContext("x.log", REFERENCE))
    record = RawRecord(7, 100, "Mar 27 13:06:56 host sshd[1]: \\x00", error="binary data (NUL bytes)")
    assert parser.parse(record) == Rejected("binary data (NUL bytes)", 7, record.text)


_LINE_TEXT = st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=200)


@settings(max_examples=300, deadline=None, database=None)
@given(_LINE_TEXT)
def test_parse_never_raises(text: str) -> None:
    (result,) = parse_lines([text])
    assert isinstance(result, Event | Rejected)
    if isinstance(result, Rejected):
        assert not result.reason.startswith("internal error"), result


@settings(max_examples=500, deadline=None, database=None)
@given(
    program=st.sampled_from(
        [
            "sshd",
            "sudo",
            "su",
            "CRON",
            "useradd",
            "groupadd",
            "usermod",
            "userdel",
            "passwd",
            "chpasswd",
            "x(pam_unix)",
        ]
    ),
    prefix=st.sampled_from(
        [
            "",
            "Accepted password for ",
            "Failed publickey for invalid user ",
            "Invalid user ",
            "Connection closed by ",
            "Received disconnect from ",
            "Disconnecting",
            "error: maximum authentication attempts exceeded for ",
            "message repeated 2 times: [ ",
            "PAM 2 more authentication failures; ",
            "pam_unix(sshd:auth): authentication failure; ",
            "pam_unix(su:session): session opened for user ",
            "pam_unix(passwd:chauthtok): ",
            "authentication failure; ",
            "session closed for user ",
            "POSSIBLE BREAK-IN ATTEMPT ",
            " alice : TTY=",
            "(to ",
            "(root) CMD (",
            "new user: ",
            "new group: ",
            "add '",
            "change user '",
            "password for '",
        ]
    ),
    body=_LINE_TEXT,
)
def test_valid_syslog_header_always_makes_an_event(program: str, prefix: str, body: str) -> None:
    event = parse_one(f"Mar 27 13:06:56 host {program}[42]: {prefix}{body}")
    json.dumps(event.document())


# --- fixtures in tests/data -----------------------------------------------------------------------


def test_fixture_sample_from_elastic_auth_log() -> None:
    results = events_of(parse_file(FIXTURES / "auth.sample.log", REFERENCE))
    assert [e.fields["event"]["action"] for e in results] == [
        "ssh_login",
        "pam_session_opened",
        "sudo_command",
        "ssh_login",
        "ssh_invalid_user",
        "ssh_disconnect",
        "group_created",
        "user_created",
        "su_session",
        "pam_session_opened",
        "password_changed",
        "ssh_login",
        "syslog",
    ]
    assert [e.fields["event"]["outcome"] for e in results if e.fields["event"]["action"] == "ssh_login"] == [
        "success",
        "failure",
        "failure",
    ]


def test_fixture_synthetic_file_lines_offsets_and_rejects() -> None:
    path = FIXTURES / "synthetic.log"
    data = path.read_bytes()
    parser = linux_auth.LinuxAuthParser(SourceContext(str(path), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)))
    with path.open("rb") as stream:
        records = list(parser.records(stream, str(path)))
    for record in records:
        assert data[record.offset :].startswith(record.text.encode())
    results = {r.line_no: parser.parse(r) for r in records}
    assert 5 not in results  # the blank line is skipped but counted
    assert results[12] == Rejected("not an RFC 3164/5424 syslog line", 12, "this is not syslog")
    summary = {
        n: (stamp(r), r.fields["event"]["action"], r.fields["event"]["outcome"])
        for n, r in results.items()
        if isinstance(r, Event)
    }
    assert summary == {
        1: ("2023-12-31T23:59:58Z", "ssh_login", "failure"),
        2: ("2024-01-01T00:00:03Z", "ssh_disconnect", "unknown"),
        3: ("2024-01-01T00:01:10Z", "sudo_command", "failure"),
        4: ("2024-01-01T00:02:00Z", "su_session", "failure"),
        6: ("2024-01-01T00:03:00Z", "user_modified", "success"),
        7: ("2024-01-01T00:04:00Z", "user_deleted", "success"),
        8: ("2024-01-01T00:05:00Z", "ssh_break_in_attempt", "unknown"),
        9: ("2024-01-01T00:06:00Z", "syslog", "unknown"),
        10: ("2023-12-31T23:07:00.250000Z", "ssh_login", "success"),
        11: ("2024-01-01T00:08:00.500000Z", "cron_command", "unknown"),
        13: ("2024-01-01T00:09:00Z", "password_changed", "success"),
    }


# --- the real samples -----------------------------------------------------------------------------

SAMPLES = {
    "elastic_auth": (ELASTIC, REFERENCE),
    "loghub_openssh": (OPENSSH, datetime(2016, 1, 5, tzinfo=UTC)),
    "loghub_linux": (LINUX, datetime(2005, 7, 9, 12, 20, tzinfo=UTC)),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_real_sample_line_parses(name: str) -> None:
    path, reference = SAMPLES[name]
    lines = [line for line in shared(path).read_bytes().split(b"\n") if line.strip()]
    results = parse_file(path, reference)
    assert [r for r in results if isinstance(r, Rejected)] == []
    assert len(results) == len(lines)


@pytest.fixture(scope="module")
def elastic() -> list[Event]:
    """Every event of the elastic auth.log sample."""
    return events_of(parse_file(shared(ELASTIC), REFERENCE))


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The derived counts shipped with the elastic sample (computed independently, by regex)."""
    loaded: dict[str, Any] = json.loads(shared(ELASTIC_SUMMARY).read_text())
    return loaded


def _count(events: list[Event], **wanted: Any) -> int:
    """How many events have all the wanted values (`a__b=v` means field `a.b` equals v)."""
    return sum(all(get_path(e.fields, k.replace("__", ".")) == v for k, v in wanted.items()) for e in events)


def test_elastic_counts_match_summary(elastic: list[Event], summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    assert len(elastic) == summary["lines"]
    assert _count(elastic, event__action="ssh_login", event__outcome="success") == counts["sshd_accepted"]
    assert (
        _count(elastic, event__action="ssh_login", event__outcome="failure", linux__auth__ssh__method="password")
        == counts["sshd_failed_password"]
    )
    assert _count(elastic, event__action="ssh_invalid_user") == counts["sshd_invalid_user"]
    assert _count(elastic, event__action="sudo_command") == counts["sudo_command"]
    assert _count(elastic, process__name="CRON") == counts["cron"]
    assert _count(elastic, process__name="useradd") == counts["useradd"]
    # The summary's disconnect count takes "Received disconnect" and "Disconnected from" lines only.
    assert (
        _count(elastic, event__action="ssh_disconnect", linux__auth__ssh__event="Received disconnect")
        + _count(elastic, event__action="ssh_disconnect", linux__auth__ssh__event="Disconnected")
        == counts["sshd_disconnect"]
    )
    # The summary's count is of lines containing "authentication failure", which also matches sshd's
    # "Disconnecting: Too many authentication failures" (an ssh_disconnect here).
    assert (
        _count(elastic, event__action="pam_authentication_failure")
        + _count(elastic, event__action="ssh_disconnect", linux__auth__ssh__event="Disconnecting")
        == counts["pam_authentication_failure"]
    )


def test_elastic_failed_passwords_by_ip_and_user_match_summary(elastic: list[Event], summary: dict[str, Any]) -> None:
    failed = [
        e.fields
        for e in elastic
        if e.fields["event"]["action"] == "ssh_login"
        and e.fields["event"]["outcome"] == "failure"
        and e.fields["linux"]["auth"]["ssh"]["method"] == "password"
    ]
    by_ip = Counter(f["source"]["ip"] for f in failed)
    by_user = Counter(f["user"]["name"] for f in failed)
    assert sorted(by_ip.items()) == sorted(map(tuple, summary["failed_password_by_source_ip_top20"]))
    assert sorted(by_user.items()) == sorted(map(tuple, summary["failed_password_by_user_top20"]))
    assert sorted(ip for ip, n in by_ip.items() if n >= 10) == sorted(summary["sources_with_>=10_failed_passwords"])


def test_elastic_accepted_logins_match_summary(elastic: list[Event], summary: dict[str, Any]) -> None:
    accepted = Counter(
        f"{get_path(e.fields, 'user.name')}@{get_path(e.fields, 'source.ip')} "
        f"({get_path(e.fields, 'linux.auth.ssh.method')})"
        for e in elastic
        if e.fields["event"]["action"] == "ssh_login" and e.fields["event"]["outcome"] == "success"
    )
    assert sorted(accepted.items()) == sorted(map(tuple, summary["accepted_logins"]))


def test_elastic_first_and_last_timestamps(elastic: list[Event], summary: dict[str, Any]) -> None:
    first = datetime.strptime(f"2017 {summary['first']}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    last = datetime.strptime(f"2017 {summary['last']}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    assert (elastic[0].timestamp, elastic[-1].timestamp) == (first, last)


# loghub ground truth: EventId (template) -> (event.action, event.outcome).
OPENSSH_ACTIONS = {
    "E1": ("ssh_login", "success"),
    "E2": ("ssh_disconnect", "unknown"),
    "E3": ("syslog", "unknown"),
    "E4": ("ssh_disconnect", "failure"),
    "E5": ("ssh_disconnect", "failure"),
    "E6": ("ssh_disconnect", "unknown"),
    "E7": ("ssh_disconnect", "unknown"),
    "E8": ("ssh_login", "failure"),
    "E9": ("ssh_login", "failure"),
    "E10": ("ssh_login", "failure"),
    "E11": ("syslog", "unknown"),
    "E12": ("syslog", "unknown"),
    "E13": ("ssh_invalid_user", "failure"),
    "E14": ("ssh_login", "failure"),
    "E15": ("pam_authentication_failure", "failure"),
    "E16": ("pam_authentication_failure", "failure"),
    "E17": ("pam_authentication_failure", "failure"),
    "E18": ("syslog", "unknown"),
    "E19": ("pam_authentication_failure", "failure"),
    "E20": ("pam_authentication_failure", "failure"),
    "E21": ("syslog", "unknown"),
    "E22": ("pam_session_closed", "success"),
    "E23": ("pam_session_opened", "success"),
    "E24": ("ssh_disconnect", "unknown"),
    "E25": ("ssh_disconnect", "unknown"),
    "E26": ("ssh_disconnect", "unknown"),
    "E27": ("ssh_break_in_attempt", "unknown"),
}
# Which <*> of a template holds which field ("source" = source.ip, or source.domain for a host name).
OPENSSH_SLOTS: dict[str, dict[str, int]] = {
    "E1": {"user.name": 0, "source": 1, "source.port": 2},
    "E2": {"source": 0},
    "E8": {"user.name": 0, "source": 1, "source.port": 2},
    "E9": {"user.name": 0, "source": 1, "source.port": 2},
    "E10": {"user.name": 0, "source": 1, "source.port": 2},
    "E13": {"user.name": 0, "source": 1},
    "E6": {"source": 0},
    "E7": {"source": 0},
    "E14": {"source": 1},
    "E15": {"source": 3},
    "E16": {"source": 3},
    "E17": {"source": 3},
    "E19": {"source": 2},
    "E20": {"source": 2, "user.name": 3},
    "E22": {"user.name": 0},
    "E23": {"user.name": 0},
    "E24": {"source": 0},
    "E25": {"source": 0},
    "E26": {"source": 0},
    "E27": {"source.domain": 0, "source": 1},
}
LINUX_ACTIONS = {
    "E16": ("pam_authentication_failure", "failure"),
    "E17": ("pam_authentication_failure", "failure"),
    "E18": ("pam_authentication_failure", "failure"),
    "E19": ("pam_authentication_failure", "failure"),
    "E101": ("pam_session_closed", "success"),
    "E102": ("pam_session_opened", "success"),
    "E103": ("pam_session_opened", "success"),
}
LINUX_SLOTS: dict[str, dict[str, int]] = {
    "E16": {"source": 0},
    "E17": {"source": 0},
    "E18": {"source": 0},
    "E19": {"source": 0},
    "E101": {"user.name": 0},
    "E102": {"user.name": 0},
    "E103": {"user.name": 0},
}


def _template_values(template: str, content: str) -> list[str]:
    """The values of a loghub template's `<*>` slots in one message."""
    pattern = "(.*?)".join(re.escape(part) for part in template.split("<*>"))
    m = re.fullmatch(pattern, content)
    assert m is not None, (template, content)
    # rstrip: templates have one space where the log has two ("rhost=<*> user=" for "rhost=X  user=").
    return [value.rstrip() for value in m.groups()]


def _expected_fields(template: str, content: str, slots: dict[str, int]) -> dict[str, Any]:
    """The ECS values a message must produce, read from its loghub template slots."""
    values = _template_values(template, content)
    expected: dict[str, Any] = {}
    for field, slot in slots.items():
        value = values[slot]
        if field == "source":
            try:
                expected["source.ip"] = str(ip_address(value))
            except ValueError:
                expected["source.domain"] = value
        elif field == "source.port":
            expected[field] = int(value)
        else:
            expected[field] = value
    return expected


def _loghub_rows(path: Path) -> list[dict[str, str]]:
    """loghub's per-line ground truth (`*_structured.csv`) for a sample log."""
    with shared(Path(f"{path}_structured.csv")).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_loghub_openssh_matches_ground_truth_line_by_line() -> None:
    rows = _loghub_rows(OPENSSH)
    results = events_of(parse_file(shared(OPENSSH), SAMPLES["loghub_openssh"][1]))
    assert len(rows) == len(results) == 1000
    mismatches = []
    for row, event in zip(rows, results, strict=True):
        doc = event.document()
        got = {
            "action": (doc["event"]["action"], doc["event"]["outcome"]),
            "message": doc["message"],
            "host.name": doc["host"]["name"],
            "process.pid": doc["process"]["pid"],
            "@timestamp": doc["@timestamp"],
        }
        expected = {
            "action": OPENSSH_ACTIONS[row["EventId"]],
            "message": row["Content"],
            "host.name": row["Component"],  # loghub's OpenSSH "Component" column holds the host
            "process.pid": int(row["Pid"]),
            "@timestamp": f"2015-12-{int(row['Day']):02d}T{row['Time']}Z",
        }
        fields = _expected_fields(row["EventTemplate"], row["Content"], OPENSSH_SLOTS.get(row["EventId"], {}))
        got.update({key: get_path(doc, key) for key in fields})
        expected.update(fields)
        if got != expected:
            mismatches.append((row["LineId"], got, expected))
    assert mismatches == []


def test_loghub_linux_matches_ground_truth_line_by_line() -> None:
    rows = _loghub_rows(LINUX)
    results = events_of(parse_file(shared(LINUX), SAMPLES["loghub_linux"][1]))
    assert len(rows) == len(results) == 1000
    mismatches = []
    for row, event in zip(rows, results, strict=True):
        doc = event.document()
        got = {
            "action": (doc["event"]["action"], doc["event"]["outcome"]),
            "message": doc["message"],
            "host.name": doc["host"]["name"],
            "log.syslog.appname": get_path(doc, "log.syslog.appname"),
            "process.pid": get_path(doc, "process.pid"),
        }
        expected = {
            "action": LINUX_ACTIONS.get(row["EventId"], ("syslog", "unknown")),
            "message": row["Content"],
            "host.name": row["Level"],  # loghub's Linux "Level" column holds the host
            "log.syslog.appname": row["Component"],
            "process.pid": int(row["PID"]) if row["PID"] else None,
        }
        fields = _expected_fields(row["EventTemplate"], row["Content"], LINUX_SLOTS.get(row["EventId"], {}))
        user = re.search(r"user=(\w+)$", row["EventTemplate"])
        if user:
            fields["user.name"] = user.group(1)
        got.update({key: get_path(doc, key) for key in fields})
        expected.update(fields)
        if got != expected:
            mismatches.append((row["LineId"], got, expected))
    assert mismatches == []
