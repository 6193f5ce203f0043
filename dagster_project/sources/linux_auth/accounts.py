"""Privilege and account messages: sudo, su, cron, and the shadow-utils tools (useradd, passwd, ...)."""

from __future__ import annotations

import re
from typing import Any

from dagster_project.sources.linux_auth.fields import (
    AUTH_SESSION,
    GROUP_CREATION,
    IAM,
    PROCESS,
    START,
    USER_CHANGE,
    USER_CREATION,
    USER_DELETION,
    Result,
    auth_fields,
    set_user,
    target_user,
)

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


def sudo(msg: str, doc: dict[str, Any]) -> Result | None:
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
    set_user(doc, name)
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
        auth_fields(doc)["sudo"] = sudo
    return ("sudo_command", PROCESS, START, "failure" if error is not None else "success")


def su(msg: str, doc: dict[str, Any]) -> Result | None:
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
    set_user(doc, name)["effective"] = {"name": target}
    if tty:
        auth_fields(doc)["su"] = {"tty": tty}
    return ("su_session", AUTH_SESSION, START, "success" if success else "failure")


def cron(msg: str, doc: dict[str, Any]) -> Result | None:
    """cron: `(user) CMD (command)`."""
    m = _CRON_CMD.fullmatch(msg)
    if m is None:
        return None
    name, command = m.groups()
    set_user(doc, name)
    doc["process"]["command_line"] = command
    return ("cron_command", PROCESS, START, "unknown")


def shadow(msg: str, doc: dict[str, Any]) -> Result | None:
    """useradd/groupadd/usermod/userdel/passwd and friends (shadow-utils messages)."""
    if msg.startswith("new user: "):
        values = dict(_COMMA_KV.findall(msg[10:]))
        name = values.get("name")
        if not name:
            return None
        target = target_user(doc, name)
        if "UID" in values:
            target["id"] = values["UID"]
        if "GID" in values:
            target["group"] = {"id": values["GID"]}
        useradd = {key: values[key] for key in ("home", "shell", "from") if values.get(key)}
        if useradd:
            auth_fields(doc)["useradd"] = useradd
        return ("user_created", IAM, USER_CREATION, "success")
    if msg.startswith("new group: "):
        values = dict(_COMMA_KV.findall(msg[11:]))
        name = values.get("name")
        if not name:
            return None
        group = {"name": name}
        if "GID" in values:
            group["id"] = values["GID"]
        doc["group"] = group
        return ("group_created", IAM, GROUP_CREATION, "success")
    m = _FAILED_ADDING.fullmatch(msg)
    if m is not None:
        target_user(doc, m.group(1))
        return ("user_created", IAM, USER_CREATION, "failure")
    m = _GROUP_MEMBER.fullmatch(msg)
    if m is not None:
        target_user(doc, m.group(2))
        doc["group"] = {"name": m.group(3)}
        return ("user_modified", IAM, USER_CHANGE, "success")
    if msg.startswith(("change user ", "lock user ", "unlock user ")):
        m = _QUOTED.search(msg)
        if m is None:
            return None
        target_user(doc, m.group(1))
        return ("user_modified", IAM, USER_CHANGE, "success")
    m = _DELETE_USER.fullmatch(msg)
    if m is not None:
        target_user(doc, m.group(1))
        return ("user_deleted", IAM, USER_DELETION, "success")
    m = _PASSWORD_BY.fullmatch(msg)
    if m is not None:
        target_user(doc, m.group(1))
        auth_fields(doc)["changed_by"] = m.group(2)
        return ("password_changed", IAM, USER_CHANGE, "success")
    return None
