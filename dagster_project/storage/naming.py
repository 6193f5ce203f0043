"""Every name the suite gives to things: indices, patterns, aliases, templates, policies, and its fixed names.

This module is the only place that spells a `siem-` name (a hygiene test holds every other module to it).

**The index namespace.** Everything the suite creates in OpenSearch is named `<prefix>-...`, where the
prefix is SIEM_INDEX_PREFIX (default `siem`), read at each call, so tests and benchmarks can work in a
namespace of their own (`siemtest-*`) beside a developer's `siem-*` data. Daily indices are named by the
event's UTC date, so retention can count from event time.

**Artefacts.** `index_templates/`, `security/` and `dashboards/` stay the single source of truth and are
written with the default prefix; their loaders pass the index names they hold (template names,
`index_patterns`, `composed_of`, aliases, ISM `ism_template` patterns, role index permissions, audit
index lists, index-pattern titles) through `in_namespace`, which is the identity under the default
prefix: with `siem`, what is applied is byte-for-byte the files.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from functools import lru_cache

from dagster_project.settings.index import DEFAULT_PREFIX, IndexSettings

PREFIX_ENV = IndexSettings.env_names()["prefix"]

# Fixed names: the same in every namespace (they name no index).
SUITE = "siem-suite"
"""The project's name, as it signs certificates and reports."""
SERVICE_USER = "siem-opensearch"
"""The unprivileged account the local node runs as when root starts it."""
CLUSTER_NAME = "siem-local"
NODE_NAME_PREFIX = "siem-node-"
"""The nodes of the local cluster are `siem-node-1`, `siem-node-2`, ... (`node_name`)."""
NODE_NAME = f"{NODE_NAME_PREFIX}1"
CA_COMMON_NAME = "siem-root-ca"
NODE_COMMON_NAME = "siem-node"
ADMIN_COMMON_NAME = "siem-admin"
COLLECTOR_COMMON_NAME = "siem-collector"
INSTALL_MARKER = ".siem-install.json"
"""The file that records what `siem opensearch up` installed in a node's home."""
SIGNING_KEY_FILE = "siem-signing.key"
SIGNING_PUBLIC_KEY_FILE = "siem-signing.pub"
DASHBOARDS_UPLOAD = "siem-dashboards.ndjson"
"""The file name of the saved objects upload (Dashboards wants `.ndjson`)."""
START_DASHBOARD = "siem-dash-soc-overview"
"""The saved-object id of the dashboard analysts open first."""
MULTIPART_BOUNDARY_PREFIX = "siem-"
SPOOL_PREFIX = "siem-evtx-"
"""Temporary files that spool .evtx input."""
SERVE_RUNTIME_PREFIX = "siem-serve-"
"""`siem serve`'s temporary folder: the code server's socket and the workspace file naming it."""
SIGMA_PIPELINE = "siem-ecs"
"""The pySigma processing pipeline's name."""
GX_DATA_SOURCE = "siem-sample"
REPORTS_SENDER = "siem-reports@localhost"
"""The From address of report e-mails when SIEM_SMTP_FROM is empty."""


def node_name(ordinal: int) -> str:
    """The name of local node number `ordinal` (1-based)."""
    return f"{NODE_NAME_PREFIX}{ordinal}"


def prefix() -> str:
    """The index namespace: SIEM_INDEX_PREFIX, validated, read now (default `siem`)."""
    return _validated(os.environ.get(PREFIX_ENV, ""))


@lru_cache(maxsize=16)
def _validated(raw: str) -> str:
    # Cached by the raw text: `events_index` runs once per event, validation once per value.
    return IndexSettings.from_text({"prefix": raw}).prefix


def is_default() -> bool:
    """True in the default namespace (`siem`), where artefacts are applied exactly as written."""
    return prefix() == DEFAULT_PREFIX


def name(suffix: str) -> str:
    """`<prefix>-<suffix>`: a name in the current namespace."""
    return f"{prefix()}-{suffix}"


def in_namespace(text: str) -> str:
    """An artefact's `siem-...` name or pattern (or comma-separated list of them) in the current namespace.

    Names that do not start with the default prefix are returned unchanged; under the default prefix
    everything is (so what the suite applies is then exactly what its files say).
    """
    current = prefix()
    if current == DEFAULT_PREFIX:
        return text
    default = f"{DEFAULT_PREFIX}-"
    parts = [f"{current}-{part[len(default) :]}" if part.startswith(default) else part for part in text.split(",")]
    return ",".join(parts)


def all_pattern() -> str:
    """Every index of the namespace: `siem-*`."""
    return name("*")


def events_alias() -> str:
    """The alias over every events index: `siem-events`."""
    return name("events")


def events_index(source: str, timestamp: datetime) -> str:
    """The daily events index for a source and an event time (UTC)."""
    return f"{prefix()}-events-{source}-{timestamp:%Y.%m.%d}"


def events_family(source: str) -> str:
    """The name every daily index of one source starts with: `siem-events-linux-auth`."""
    return name(f"events-{source}")


def events_pattern(source: str | None = None) -> str:
    """The index pattern of one source's events, or of all events."""
    return f"{events_family(source)}-*" if source else name("events-*")


def source_of_family(family: str) -> str | None:
    """The source of an events family (`siem-events-web-access` -> `web-access`), None for another name."""
    head = name("events-")
    return family[len(head) :] if family.startswith(head) else None


def quarantine_index(day: date) -> str:
    """The daily quarantine index for a day of ingestion (UTC)."""
    return name(f"quarantine-{day:%Y.%m.%d}")


def quarantine_pattern() -> str:
    """Every quarantine index."""
    return name("quarantine-*")


def findings_index() -> str:
    """Sigma findings: `siem-findings`."""
    return name("findings")


def percolator_index(source: str) -> str:
    """The plain rules of one source stored as percolator queries: `siem-rules-windows`."""
    return name(f"rules-{source}")


def alerts_index() -> str:
    """Alerts raised from findings: `siem-alerts`."""
    return name("alerts")


def dq_index() -> str:
    """Data-quality results: `siem-dq`."""
    return name("dq")


def integrity_index() -> str:
    """Integrity chain records: `siem-integrity`."""
    return name("integrity")


def digests_index() -> str:
    """Signed digests of the chain heads: `siem-integrity-digests`."""
    return name("integrity-digests")


def reports_index() -> str:
    """Records of the compliance reports produced: `siem-reports`."""
    return name("reports")


def audit_index() -> str:
    """The suite's own audit trail: `siem-audit`."""
    return name("audit")


def pattern(index: str) -> str:
    """A search pattern for an index and any rolled-over siblings: `siem-findings*`."""
    return f"{index}*"


def component_template_name(source: str) -> str:
    """The component template of a source's fields: `siem-linux-auth`."""
    return name(source)


def events_retention_policy() -> str:
    """The ISM policy of the events indices: `siem-events-retention`."""
    return name("events-retention")


def index_day(index: str) -> tuple[str, date] | None:
    """(family, day) of a dated suite index of the current namespace, or None for any other name."""
    match = _dated(prefix()).match(index)
    if not match:
        return None
    return match.group("family"), datetime.strptime(match.group("day"), "%Y.%m.%d").date()


@lru_cache(maxsize=16)
def _dated(current: str) -> re.Pattern[str]:
    return re.compile(
        rf"^(?P<family>{re.escape(current)}-(?:events-[a-z0-9-]+|quarantine))-(?P<day>\d{{4}}\.\d{{2}}\.\d{{2}})$"
    )
