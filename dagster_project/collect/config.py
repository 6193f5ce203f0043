"""What a receiver is configured by: the listeners' settings, the spool's, and SIEM_HOME (the spool's default home)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster_project.collect.listeners import Listener, configured_listeners
from dagster_project.settings import CollectSettings, NodeSettings, SpoolSettings


@dataclass(frozen=True)
class ReceiverConfig:
    """The settings of one receiver (or of `siem serve`), read once."""

    collect: CollectSettings
    spool: SpoolSettings
    home: Path

    @classmethod
    def from_environment(cls, **overrides: str) -> ReceiverConfig:
        """The settings from the environment; `overrides` are CollectSettings fields (the flags of `siem serve`)."""
        return cls(CollectSettings(**overrides), SpoolSettings(), NodeSettings().home)  # type: ignore[arg-type]

    @property
    def root(self) -> Path:
        """The spool directory."""
        return self.spool.root(self.home)

    def listeners(self) -> list[Listener]:
        """The configured listeners (ConfigurationError for a bad one)."""
        return configured_listeners(self.collect)

    def as_env(self) -> dict[str, str]:
        """Every setting as the environment variable that sets it: what `siem serve` hands its receiver."""
        home = {NodeSettings.env_names()["home"]: str(self.home)}
        return self.collect.as_env() | self.spool.as_env(self.home) | home
