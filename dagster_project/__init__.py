"""An OpenSearch-backed SIEM suite orchestrated by Dagster."""

__version__ = "0.1.0"
