"""Ed25519 signing keys: made by `siem integrity keygen`, read from PEM text or a file (SIEM_SIGNING_*)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dagster_project.errors import ConfigurationError
from dagster_project.settings import SigningSettings
from dagster_project.storage import naming


def generate(directory: Path) -> tuple[Path, Path]:
    """Write a new key pair (private 0600, public 0644) into `directory`; refuses to overwrite."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / naming.SIGNING_KEY_FILE, directory / naming.SIGNING_PUBLIC_KEY_FILE
    if private_path.exists():
        raise ConfigurationError("a signing key already exists; move it away first", where=str(private_path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(public_pem(key.public_key()))
    public_path.chmod(0o644)
    return private_path, public_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (what is published with the reports)."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def private_key(settings: SigningSettings) -> Ed25519PrivateKey:
    """SIEM_SIGNING_KEY (PEM text) or SIEM_SIGNING_KEY_FILE; ConfigurationError when neither is usable."""
    pem = settings.key.get_secret_value().encode()
    where = "SIEM_SIGNING_KEY"
    if not pem:
        path = settings.key_file
        where = path or "SIEM_SIGNING_KEY_FILE"
        if not path:
            raise ConfigurationError(
                "no signing key: set SIEM_SIGNING_KEY_FILE (see `siem integrity keygen`)", where=where
            )
        pem = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise ConfigurationError("not a PEM private key", where=where) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError("the signing key must be Ed25519", where=where)
    return key


def public_key(settings: SigningSettings) -> Ed25519PublicKey:
    """SIEM_SIGNING_PUBLIC_KEY_FILE, else the public half of the configured private key."""
    path = settings.public_key_file
    if not path:
        return private_key(settings).public_key()
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError("the public key must be Ed25519", where=path)
    return key


def private_key_from_env() -> Ed25519PrivateKey:
    """The private key the environment configures (the CLI's way in)."""
    return private_key(SigningSettings())


def public_key_from_env() -> Ed25519PublicKey:
    """The public key the environment configures (the CLI's way in)."""
    return public_key(SigningSettings())


def public_key_if_configured(settings: SigningSettings | None = None) -> Ed25519PublicKey | None:
    """The verifying key when any SIEM_SIGNING_* setting is set (default: the environment's), else None.

    A key that is set but unusable is a ConfigurationError.
    """
    settings = settings or SigningSettings()
    if not (settings.public_key_file or settings.key.get_secret_value() or settings.key_file):
        return None
    try:
        return public_key(settings)
    except OSError as exc:
        raise ConfigurationError(f"signing key not readable: {exc.strerror}", where=str(exc.filename)) from exc
    except ValueError as exc:
        raise ConfigurationError(f"not a PEM public key: {exc}", where="SIEM_SIGNING_PUBLIC_KEY_FILE") from exc
