"""Finds a Java runtime for the node: OPENSEARCH_JAVA_HOME, JAVA_HOME or `java` on PATH, version 11 or later."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from dagster_project.errors import NodeError

MINIMUM_JAVA = 11
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_home() -> Path:
    """The JAVA_HOME to give the node; NodeError when Java is missing or older than 11."""
    candidates: list[Path] = []
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            candidates.append(Path(value) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve())
    for java in candidates:
        if java.is_file() and os.access(java, os.X_OK):
            major = java_major_version(java)
            if major < MINIMUM_JAVA:
                raise NodeError(
                    f"Java {major} is too old: OpenSearch needs Java {MINIMUM_JAVA}+ (17 recommended)",
                    where=str(java),
                )
            return java.parent.parent
    raise NodeError(
        "Java not found: install a JDK 17 (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        where="PATH",
    )


def java_major_version(java: Path) -> int:
    """The major version `java -version` reports (8 for 1.8)."""
    done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60, check=False)
    match = _VERSION.search(done.stderr + done.stdout)
    if not match:
        raise NodeError("could not read the Java version", where=str(java))
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
