"""SIEM_RULE_*: the rule packs run beside the curated rules, the lowest status run, how live events are detected."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings

RUN_STATUSES = ("experimental", "test", "stable")
"""The Sigma statuses a rule may run with, lowest first (`deprecated` and `unsupported` never run)."""


class RuleSettings(SuiteSettings):
    """SIEM_RULE_PACKS (none) and SIEM_RULE_MIN_STATUS (test): the rule packs installed and the statuses run."""

    model_config = SettingsConfigDict(env_prefix="SIEM_RULE_")

    packs: str = ""
    """SIEM_RULE_PACKS: folders of upstream Sigma rules (any layout, SigmaHQ's included), separated by `:`."""
    min_status: str = Field(default="test", pattern=r"^(experimental|test|stable)$")
    """SIEM_RULE_MIN_STATUS: the lowest status a rule runs with (`experimental`, `test` or `stable`)."""
    arrival: str = Field(default="hunt", pattern=r"^(percolate|hunt)$")
    """SIEM_RULE_ARRIVAL: how events received live are detected: `hunt` (a search per rule over the batch's
    time span; measured faster at 32 and at 2,436 rules) or `percolate` (where every node has the percolator
    module, else the hunt)."""

    def pack_paths(self) -> tuple[Path, ...]:
        """The pack folders, in the order given (empty entries ignored)."""
        return tuple(Path(part) for part in self.packs.split(":") if part.strip())

    def runs(self, status: str) -> bool:
        """True when a rule of this status runs (at least `min_status`; never deprecated or unsupported)."""
        return status in RUN_STATUSES and RUN_STATUSES.index(status) >= RUN_STATUSES.index(self.min_status)
