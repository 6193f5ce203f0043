"""Users and passwords: required admin, strength rules, bcrypt, and no password in any message or repr."""

from __future__ import annotations

import bcrypt
import pytest

from dagster_project.errors import ConfigurationError
from dagster_project.security.users import (
    Credential,
    bcrypt_hash,
    credentials,
    internal_users_document,
    load_users,
    weakness,
)

STRONG = "Vq7-rLx2!mZp9w"


def _env(**passwords: str) -> dict[str, str]:
    return {f"SIEM_{name.upper()}_PASSWORD": value for name, value in passwords.items()}


def test_users_file_names_the_six_users() -> None:
    users = {u.name: u for u in load_users()}
    assert list(users) == ["admin", "ingest", "analyst", "officer", "pipeline", "engineer"]
    assert users["admin"].required and users["admin"].reserved
    assert users["admin"].security_roles == ("all_access",)
    assert [u.name for u in users.values() if u.required] == ["admin"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!x", "shorter than"),
        ("alllowercaseletters", "three of"),
        ("Xk9!Analyst-2024", "user name"),
        ("MyPassword123!", "common word"),
        ("Qwerty!987654", "common word"),
        ("Aa1!Aa1!Aa1!Aa1!", "distinct"),
        (STRONG, None),
    ],
)
def test_weakness(password: str, reason: str | None) -> None:
    found = weakness(password, "analyst")
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found
        assert password not in found


def test_admin_password_is_required() -> None:
    with pytest.raises(ConfigurationError, match="SIEM_ADMIN_PASSWORD is not set"):
        credentials(load_users(), _env(analyst=STRONG))


def test_weak_admin_password_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        credentials(load_users(), _env(admin="hunter2"))
    assert "too weak" in str(caught.value) and caught.value.where == "SIEM_ADMIN_PASSWORD"
    assert "hunter2" not in str(caught.value)


def test_weak_optional_password_is_refused_too() -> None:
    with pytest.raises(ConfigurationError, match="user 'ingest' is too weak") as caught:
        credentials(load_users(), _env(admin=STRONG, ingest="password1"))
    assert "password1" not in str(caught.value)


def test_unset_optional_users_are_left_out() -> None:
    found = credentials(load_users(), _env(admin=STRONG, officer="Off1ce-r!Zq84w"))
    assert [c.spec.name for c in found] == ["admin", "officer"]


def test_credential_repr_hides_the_password() -> None:
    (cred,) = credentials(load_users()[:1], _env(admin=STRONG))
    assert STRONG not in repr(cred) and STRONG not in str(cred)


def test_bcrypt_hash_verifies_and_is_reused_when_unchanged() -> None:
    first = bcrypt_hash(STRONG)
    assert first.startswith("$2") and bcrypt.checkpw(STRONG.encode(), first.encode())
    assert bcrypt_hash(STRONG, first) == first
    assert bcrypt_hash("Other-pa55!word", first) != first
    assert bcrypt_hash(STRONG, "not-a-hash") != "not-a-hash"


def test_internal_users_document_holds_hashes_only() -> None:
    creds = credentials(load_users(), _env(admin=STRONG, analyst="An4lyst-x!Kq7"))
    document = internal_users_document(creds)
    assert document["_meta"] == {"type": "internalusers", "config_version": 2}
    assert set(document) == {"_meta", "admin", "analyst"}
    assert document["admin"]["reserved"] is True
    assert document["admin"]["opendistro_security_roles"] == ["all_access"]
    assert "opendistro_security_roles" not in document["analyst"]
    for cred in creds:
        entry = document[cred.spec.name]
        assert bcrypt.checkpw(cred.password.encode(), entry["hash"].encode())
        assert cred.password not in repr(document)


def test_previous_hashes_keep_the_document_stable() -> None:
    creds = [Credential(load_users()[0], STRONG)]
    first = internal_users_document(creds)
    again = internal_users_document(creds, {"admin": first["admin"]["hash"]})
    assert again == first
