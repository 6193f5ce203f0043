"""Linux authentication syslog (auth.log, secure, messages) as ECS events, `event.dataset: linux.auth`.

The syslog header (formats, time zones, the year rule) is read by `dagster_project.sources.syslog`; this
package recognises the messages of the programs that matter for authentication: `sshd`, PAM (`pam`),
sudo, su, cron and the shadow-utils tools (`accounts`).

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
from collections.abc import Iterator
from typing import Any, BinaryIO

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected, SourceContext
from dagster_project.sources.linux_auth.accounts import cron, shadow, su, sudo
from dagster_project.sources.linux_auth.fields import INFO, NONE, Handler, Result, auth_fields
from dagster_project.sources.linux_auth.pam import PAM_PREFIX, pam_message, pam_more
from dagster_project.sources.linux_auth.sshd import sshd
from dagster_project.sources.readers import iter_lines
from dagster_project.sources.spec import SigmaLogsource, SourceSpec
from dagster_project.sources.syslog import SyslogParser

NAME = "linux-auth"
DATASET = "linux.auth"
MODULE = "linux"

_REPEATED = re.compile(r"message repeated (\d+) times?: \[ ?(.*?) ?\]")
_SYSLOG: Result = ("syslog", NONE, INFO, "unknown")

HANDLERS: dict[str, Handler] = {
    "sshd": sshd,
    "sudo": sudo,
    "su": su,
    "CRON": cron,
    "cron": cron,
    "crond": cron,
    "CROND": cron,
    **{
        name: shadow
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
"""The handler of each program (the process name its syslog tag gives)."""


class LinuxAuthParser(GuardedParser):
    """Parses the syslog lines of one file in order (the syslog year rule needs them in order)."""

    name = NAME

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self._syslog = SyslogParser(context.reference_time)

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Split a (decompressed) binary stream into lines."""
        return iter_lines(stream)

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Turn one syslog line into an ECS event, or a reject with a reason."""
        line = self._syslog.parse(record.text)
        if isinstance(line, str):
            return Rejected(line, record.line_no, record.text)
        timestamp, doc, program = line
        body = doc["message"]
        repeated = None
        if body.startswith("message repeated "):
            m = _REPEATED.fullmatch(body)
            if m is not None:
                repeated = int(m.group(1))
                body = m.group(2)
        # Handlers match their whole message before they write a field, so a None leaves `doc` untouched.
        result = None
        if program is not None and program.name is not None:
            result = _classify(program.name, program.module, body, doc)
        if result is None:
            result = _SYSLOG
        elif repeated is not None:
            auth_fields(doc)["repeated"] = repeated
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
        related = _related(doc)
        if related:
            doc["related"] = related
        return Event(timestamp=timestamp, original=record.text, fields=doc)


def _classify(program: str, module: str | None, body: str, doc: dict[str, Any]) -> Result | None:
    """Recognise the message of a known program; None for anything else."""
    if module is not None:
        # Old sysklogd PAM format: `sshd(pam_unix)[123]: authentication failure; ...`.
        return pam_message(module, program, None, body, doc)
    if body.startswith("pam_"):
        m = PAM_PREFIX.fullmatch(body)
        if m is None:
            return None
        pam_module, service, kind, rest = m.groups()
        return pam_message(pam_module, service, kind, rest, doc)
    if body.startswith("PAM "):
        return pam_more(body, doc, program)
    handler = HANDLERS.get(program)
    if handler is None:
        return None
    return handler(body, doc)


def _related(doc: dict[str, Any]) -> dict[str, list[str]]:
    """`related.ip`, `related.user` and `related.hosts` from the fields already set."""
    related: dict[str, list[str]] = {}
    host = doc.get("host")
    hosts = [host["name"]] if host is not None else []
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


SIGMA_FIELDS = {
    name: name
    for name in (
        "event.action",
        "event.outcome",
        "process.name",
        "process.command_line",
        "user.name",
        "user.effective.name",
        "user.target.name",
        "group.name",
        "source.ip",
        "host.name",
    )
}
"""Linux auth logs have no Sigma field convention (SigmaHQ's Linux rules search the raw message), so rules
for them use our ECS names, listed here so that a misspelt field still fails compilation."""

SPEC = SourceSpec(
    name=NAME,
    description="Linux authentication syslog (auth.log, secure, messages)",
    parser=LinuxAuthParser,
    datasets=(DATASET,),
    syslog=True,
    # sshd, sudo and cron write to the auth log (`secure`, `messages`) this source reads.
    # Rules naming only the product search every Linux log; keyword searches look in the message.
    logsources=(
        SigmaLogsource("linux", product="linux", fields=SIGMA_FIELDS, keywords="message"),
        *(
            SigmaLogsource(
                f"linux_{service}", product="linux", service=service, fields=SIGMA_FIELDS, keywords="message"
            )
            for service in ("auth", "sshd", "sudo", "cron", "syslog")
        ),
    ),
    samples=(
        "linux_auth/elastic_auth/auth.part1.log",
        "linux_auth/loghub_openssh/OpenSSH_2k.lines0001-1000.log",
        "linux_auth/loghub_linux/Linux_2k.lines0001-1000.log",
    ),
)
