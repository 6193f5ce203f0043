"""Internal users from `security/users.yml` with passwords from the environment: checked, hashed, applied.

A password is read when it is needed, never has a default, is never logged or put in an error message,
and leaves this process only as a bcrypt hash (the node's internal_users.yml, the security API) or as the
basic-auth header of a login check.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from opensearchpy import NotFoundError, OpenSearch
from opensearchpy.exceptions import AuthenticationException

from dagster_project.errors import ArtifactError, ConfigurationError
from dagster_project.security.artifacts import USERS_FILE, load_security_file, security_dir
from dagster_project.storage.changes import Change

log = logging.getLogger(__name__)

MIN_LENGTH = 12
BCRYPT_ROUNDS = 12
# Fragments that make a password guessable whatever its length.
COMMON_FRAGMENTS = (
    "password",
    "passw0rd",
    "admin",
    "changeme",
    "opensearch",
    "siem",
    "123456",
    "qwerty",
    "letmein",
)
API = "/_plugins/_security/api"


@dataclass(frozen=True)
class UserSpec:
    """One user from users.yml: its name, the variable that holds its password, and its direct roles."""

    name: str
    password_env: str
    description: str = ""
    required: bool = False
    reserved: bool = False
    security_roles: tuple[str, ...] = ()
    backend_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credential:
    """A user with its password from the environment (the password is kept out of repr)."""

    spec: UserSpec
    password: str = field(repr=False)


def load_users(root: Path | None = None) -> list[UserSpec]:
    """Every user in users.yml, in file order; ArtifactError naming the file when an entry is malformed."""
    where = str((root or security_dir()) / USERS_FILE)
    users = []
    for name, entry in load_security_file(USERS_FILE, root).items():
        if not isinstance(entry, dict) or not entry.get("password_env"):
            raise ArtifactError(f"user {name!r} needs a password_env", where=where)
        users.append(
            UserSpec(
                name=str(name),
                password_env=str(entry["password_env"]),
                description=str(entry.get("description", "")),
                required=bool(entry.get("required", False)),
                reserved=bool(entry.get("reserved", False)),
                security_roles=tuple(entry.get("opendistro_security_roles") or ()),
                backend_roles=tuple(entry.get("backend_roles") or ()),
            )
        )
    return users


def weakness(password: str, user: str) -> str | None:
    """Why a password is too weak, or None; the reason never quotes the password."""
    if len(password) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3:
        return "needs at least three of: lower case, upper case, digits, symbols"
    lowered = password.lower()
    if user and user.lower() in lowered:
        return "contains the user name"
    for fragment in COMMON_FRAGMENTS:
        if fragment in lowered:
            return "contains a common word or sequence"
    if len(set(password)) < 6:
        return "too few distinct characters"
    return None


def credentials(users: list[UserSpec], env: Mapping[str, str] | None = None) -> list[Credential]:
    """Users whose password is set; ConfigurationError when a required one is unset or any is weak."""
    env = os.environ if env is None else env
    found = []
    for spec in users:
        password = env.get(spec.password_env, "")
        if not password:
            if spec.required:
                raise ConfigurationError(
                    f"{spec.password_env} is not set: user {spec.name!r} needs a password (no default)",
                    where=spec.password_env,
                )
            continue
        reason = weakness(password, spec.name)
        if reason:
            raise ConfigurationError(
                f"the password for user {spec.name!r} is too weak: {reason}", where=spec.password_env
            )
        found.append(Credential(spec, password))
    return found


def bcrypt_hash(password: str, previous: str | None = None) -> str:
    """A bcrypt hash of the password; `previous` is kept when it already matches (stable config files)."""
    if previous:
        try:
            if bcrypt.checkpw(password.encode(), previous.encode()):
                return previous
        except ValueError:
            pass
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def internal_users_document(creds: list[Credential], previous: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The node's internal_users.yml (plugin format); `previous` maps user names to their old hashes."""
    previous = previous or {}
    document: dict[str, Any] = {"_meta": {"type": "internalusers", "config_version": 2}}
    for cred in creds:
        entry: dict[str, Any] = {
            "hash": bcrypt_hash(cred.password, previous.get(cred.spec.name)),
            "reserved": cred.spec.reserved,
            "description": cred.spec.description,
        }
        if cred.spec.backend_roles:
            entry["backend_roles"] = list(cred.spec.backend_roles)
        if cred.spec.security_roles:
            entry["opendistro_security_roles"] = list(cred.spec.security_roles)
        document[cred.spec.name] = entry
    return document


def apply_users(client: OpenSearch, env: Mapping[str, str] | None = None) -> list[Change]:
    """Create or update the non-reserved users whose password variable is set, through the security API.

    Idempotent: a user that can already log in with its password and has the same roles and description
    is `unchanged`. Users whose variable is unset, and reserved users (admin), are `skipped`.
    """
    env = os.environ if env is None else env
    specs = load_users()
    by_name = {c.spec.name: c for c in credentials([s for s in specs if not s.reserved], env)}
    changes = []
    for spec in specs:
        if spec.reserved:
            changes.append(
                Change("internal_user", spec.name, "skipped", "reserved: set by `siem opensearch up --secure`")
            )
        elif spec.name not in by_name:
            changes.append(Change("internal_user", spec.name, "skipped", f"{spec.password_env} not set"))
        else:
            changes.append(_apply_user(client, by_name[spec.name]))
    return changes


def _desired(spec: UserSpec) -> dict[str, Any]:
    return {
        "description": spec.description,
        "backend_roles": sorted(spec.backend_roles),
        "opendistro_security_roles": sorted(spec.security_roles),
    }


def _apply_user(client: OpenSearch, cred: Credential) -> Change:
    path = f"{API}/internalusers/{cred.spec.name}"
    desired = _desired(cred.spec)
    try:
        existing = client.transport.perform_request("GET", path)[cred.spec.name]
    except NotFoundError:
        existing = None
    if existing is not None:
        current = {
            "description": existing.get("description", ""),
            "backend_roles": sorted(existing.get("backend_roles") or []),
            "opendistro_security_roles": sorted(existing.get("opendistro_security_roles") or []),
        }
        if current == desired and can_log_in(client, cred):
            return Change("internal_user", cred.spec.name, "unchanged")
    # A hash, not the password: opensearch-py logs request bodies at debug level.
    client.transport.perform_request("PUT", path, body={**desired, "hash": bcrypt_hash(cred.password)})
    return Change("internal_user", cred.spec.name, "created" if existing is None else "updated")


def can_log_in(client: OpenSearch, cred: Credential) -> bool:
    """True when the cluster accepts this user's password (one authinfo request with basic auth)."""
    token = base64.b64encode(f"{cred.spec.name}:{cred.password}".encode()).decode()
    try:
        client.transport.perform_request(
            "GET", "/_plugins/_security/authinfo", headers={"authorization": f"Basic {token}"}
        )
    except AuthenticationException:
        return False
    return True
