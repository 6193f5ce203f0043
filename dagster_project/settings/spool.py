"""SIEM_SPOOL_*: the receivers' durable spool on local disk (where, how big, how often it is fsynced)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings


class SpoolSettings(SuiteSettings):
    """Segments per source, sealed by size and age, capped in total; the fsync policy of acknowledgements."""

    model_config = SettingsConfigDict(env_prefix="SIEM_SPOOL_")

    dir: Path | None = None
    """SIEM_SPOOL_DIR: the spool directory (default SIEM_HOME/spool)."""
    segment_seconds: float = Field(default=2.0, gt=0)
    """SIEM_SPOOL_SEGMENT_SECONDS: an open segment is sealed (and becomes ingestible) at this age.

    Half of it is what an event waits on average before its segment can be ingested; sealing more often
    than the sensor's 5 s tick costs nothing but more (smaller) segments per batch.
    """
    segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    """SIEM_SPOOL_SEGMENT_BYTES: an open segment is sealed at this size."""
    max_bytes: int = Field(default=1024**3, ge=65536)
    """SIEM_SPOOL_MAX_BYTES: the spool's cap; at it HTTP answers 503, TCP stops reading, UDP drops (counted)."""
    fsync: str = "batch"
    """SIEM_SPOOL_FSYNC: `batch` (fsync before every acknowledgement) or `<N>ms` (at most every N ms)."""
    archive_dir: Path | None = None
    """SIEM_SPOOL_ARCHIVE_DIR: where ingested segments are moved (empty = deleted once their run reconciled)."""

    @field_validator("fsync")
    @classmethod
    def _fsync(cls, value: str) -> str:
        if value != "batch" and not (value.endswith("ms") and value[:-2].isdigit() and int(value[:-2]) > 0):
            raise ValueError("SIEM_SPOOL_FSYNC must be `batch` or a positive interval such as `100ms`")
        return value

    @property
    def fsync_interval(self) -> float | None:
        """Seconds between fsyncs, or None for an fsync before every acknowledgement."""
        return None if self.fsync == "batch" else int(self.fsync[:-2]) / 1000

    def root(self, home: Path) -> Path:
        """The spool directory (SIEM_SPOOL_DIR, else `home`/spool)."""
        return self.dir or home / "spool"

    def as_env(self, home: Path) -> dict[str, str]:
        """These settings as environment variables, the directory resolved (what `siem serve`'s children get)."""
        env = {}
        for name, variable in self.env_names().items():
            value = getattr(self, name)
            if value is None:
                continue
            env[variable] = str(value)
        env[self.env_names()["dir"]] = str(self.root(home))
        return env
