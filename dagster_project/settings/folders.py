"""SIEM_LANDING_DIR, SIEM_REPORTS_DIR, SIEM_ARTIFACTS_DIR, SIEM_SAMPLES_DIR, SIEM_DEMO_OUT: the suite's folders."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class FolderSettings(SuiteSettings):
    """Folders the suite reads from and writes to; unset ones default under SIEM_HOME or beside the checkout."""

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    landing_dir: Path | None = None
    """SIEM_LANDING_DIR: files wait here to be ingested, as <source>/<YYYY-MM-DD>/... (default SIEM_HOME/landing)."""
    reports_dir: Path | None = None
    """SIEM_REPORTS_DIR: where delivered reports are kept (default SIEM_HOME/reports)."""
    artifacts_dir: Path | None = None
    """SIEM_ARTIFACTS_DIR: the folder holding index_templates/, dashboards/, detectors/, ... (default: the checkout)."""
    samples_dir: Path | None = None
    """SIEM_SAMPLES_DIR: sample logs `siem demo` ingests (default ../shared/data beside the checkout)."""
    demo_out: Path = Path("demo-output")
    """SIEM_DEMO_OUT: where `siem demo` writes its report."""

    def landing_root(self, home: Path) -> Path:
        """The landing directory (SIEM_LANDING_DIR, else `home`/landing)."""
        return self.landing_dir or home / "landing"

    def reports_root(self, home: Path) -> Path:
        """The reports directory (SIEM_REPORTS_DIR, else `home`/reports)."""
        return self.reports_dir or home / "reports"
