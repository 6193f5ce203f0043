"""Where reports go besides their output folder: the officers who receive them, and a reports directory.

Recipients per framework come from `reports/recipients.yaml`, overridden by SIEM_REPORT_RECIPIENTS_<FRAMEWORK>
(comma-separated; e.g. SIEM_REPORT_RECIPIENTS_PCI_DSS). The e-mail itself goes through `notify.email`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from dagster_project.errors import ReportError
from dagster_project.paths import repo_dir

log = logging.getLogger(__name__)
RECIPIENTS_ENV_PREFIX = "SIEM_REPORT_RECIPIENTS_"


def recipients_file() -> Path:
    """`reports/recipients.yaml`."""
    return repo_dir("reports") / "recipients.yaml"


def recipients_for(
    framework: str, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The officers who receive a framework's reports: the environment override, else the recipients file."""
    env = os.environ if environ is None else environ
    override = env.get(RECIPIENTS_ENV_PREFIX + framework.upper().replace("-", "_"))
    if override is not None:
        return tuple(a.strip() for a in override.split(",") if a.strip())
    file = path or recipients_file()
    if not file.is_file():
        return ()
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ReportError("the recipients file must map framework names to lists of addresses", where=str(file))
    listed = data.get(framework) or []
    if not isinstance(listed, list) or not all(isinstance(a, str) and "@" in a for a in listed):
        raise ReportError(f"{framework}: expected a list of e-mail addresses", where=str(file))
    return tuple(listed)


def copy_to_directory(source: Path, target: Path) -> Path:
    """Copy a report's folder (files, evidence, manifest) to `target`; nothing is copied onto itself."""
    if source.resolve() == target.resolve():
        return target
    shutil.copytree(source, target, dirs_exist_ok=True)
    log.info("report copied to %s", target)
    return target
