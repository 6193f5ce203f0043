"""One error hierarchy for the suite; every error says where it happened."""

from __future__ import annotations


class SiemError(Exception):
    """Root of the suite's errors; `where` names the file, line, artifact or endpoint involved."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigurationError(SiemError):
    """A setting or environment variable is missing or invalid."""


class NodeError(SiemError):
    """The local OpenSearch node could not be installed, started, stopped or reached."""


class ArtifactError(SiemError):
    """A JSON/YAML artefact (template, policy, rule, dashboard) is malformed or inconsistent."""


class IngestError(SiemError):
    """An ingestion run could not proceed (unreadable path, unknown source, unreachable cluster)."""


class ReconciliationError(IngestError):
    """An ingestion run's counts do not add up: read != indexed + quarantined + duplicates."""


class DetectionError(SiemError):
    """A Sigma rule could not be loaded, compiled or run."""


class ReportError(SiemError):
    """A compliance report could not be built or delivered."""
