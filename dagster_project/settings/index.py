"""SIEM_INDEX_PREFIX: the namespace of every index, alias, template and policy the suite creates."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings

DEFAULT_PREFIX = "siem"


class IndexSettings(SuiteSettings):
    """SIEM_INDEX_PREFIX (default `siem`): tests and benchmarks use their own so they never touch `siem-*`."""

    model_config = SettingsConfigDict(env_prefix="SIEM_INDEX_")

    prefix: str = Field(default=DEFAULT_PREFIX, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    """SIEM_INDEX_PREFIX: lower-case letters, digits, `_`; no `-`, so `siem-*` never matches another namespace."""
