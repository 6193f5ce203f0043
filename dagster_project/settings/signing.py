"""SIEM_SIGNING_*: the Ed25519 key that signs integrity digests, and the public key that checks them."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class SigningSettings(SuiteSettings):
    """SIEM_SIGNING_KEY (PEM text) or SIEM_SIGNING_KEY_FILE; SIEM_SIGNING_PUBLIC_KEY_FILE for verifying only."""

    model_config = SettingsConfigDict(env_prefix="SIEM_SIGNING_")

    key: SecretStr = SecretStr("")
    """SIEM_SIGNING_KEY: the private key as PEM text (never logged); wins over the file."""
    key_file: str = ""
    """SIEM_SIGNING_KEY_FILE: the private key file (`siem integrity keygen` writes it)."""
    public_key_file: str = ""
    """SIEM_SIGNING_PUBLIC_KEY_FILE: a public key to verify with (default: the private key's public half)."""
