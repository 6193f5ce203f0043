"""Installs the node under SIEM_HOME: unpacks the distribution, installs plugins from local zips, writes config."""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from dagster_project.errors import NodeError
from dagster_project.node.artifacts import ArtifactNotPublished, fetch
from dagster_project.node.manifest import Artifact, Distribution, Module
from dagster_project.storage import naming

log = logging.getLogger(__name__)

MARKER = naming.INSTALL_MARKER
DESCRIPTOR = "plugin-descriptor.properties"


class NodeFolders:
    """A node's own folders under its `home` (SIEM_HOME for node 1): data, logs and the pid file."""

    home: Path

    @property
    def data(self) -> Path:
        """The node's data path."""
        return self.home / "data"

    @property
    def logs(self) -> Path:
        """The node's log path."""
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        """The pid of the node, written when the suite started it."""
        return self.home / "node.pid"


@dataclass
class Layout(NodeFolders):
    """Where the node's files live under SIEM_HOME (node 1's folders are SIEM_HOME's, as for a single node)."""

    home: Path
    version: str
    cache: Path | None = None
    """Where downloads go when not home/artifacts (the secure node shares the plain node's)."""

    @property
    def artifacts(self) -> Path:
        """Downloaded zips (kept across installs)."""
        return self.cache or self.home / "artifacts"

    @property
    def node_home(self) -> Path:
        """The unpacked distribution."""
        return self.home / f"opensearch-{self.version}"

    @property
    def state_file(self) -> Path:
        """What the last `up` installed and started."""
        return self.home / "node.json"


@dataclass
class InstallResult:
    """Which plugins are installed and which could not be had."""

    installed: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    """The core modules added to the distribution (distribution.json `modules`)."""


def install(
    distribution: Distribution, layout: Layout, *, plugins: tuple[Artifact, ...], strict: bool
) -> InstallResult:
    """Unpack the distribution and install `plugins` idempotently.

    A plugin that Maven Central does not publish is reported in `unavailable` (or raises when `strict`);
    any other download failure raises NodeError naming the artifact.
    """
    zip_path = fetch(distribution.distribution, layout.artifacts)
    if not (layout.node_home / "bin" / "opensearch").is_file():
        _unpack(zip_path, layout)
    marker = _read_marker(layout)
    result = InstallResult()
    wanted = {artifact.name for artifact in plugins}
    for name in sorted(set(marker) - wanted):
        _run_plugin_tool(layout, ["remove", name])
        marker.pop(name, None)
    for artifact in plugins:
        try:
            plugin_zip = fetch(artifact, layout.artifacts)
        except ArtifactNotPublished as exc:
            if strict:
                raise
            log.info("plugin %s is not available: %s", artifact.name, exc)
            result.unavailable[artifact.name] = str(exc)
            continue
        if (
            marker.get(artifact.name) != artifact.coordinates
            or not (layout.node_home / "plugins" / artifact.name).is_dir()
        ):
            if (layout.node_home / "plugins" / artifact.name).exists():
                _run_plugin_tool(layout, ["remove", artifact.name])
            _run_plugin_tool(layout, ["install", "--batch", plugin_zip.resolve().as_uri()])
            marker[artifact.name] = artifact.coordinates
        result.installed.append(artifact.name)
    (layout.node_home / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True))
    for module in distribution.modules:
        try:
            jars = [fetch(a, layout.artifacts) for a in (module.artifact, *module.dependencies)]
        except ArtifactNotPublished as exc:
            if strict:
                raise
            log.info("module %s is not available: %s", module.name, exc)
            result.unavailable[module.name] = str(exc)
            continue
        install_module(layout, module, jars, distribution.version)
        result.modules.append(module.name)
    return result


def module_descriptor(module: Module, version: str) -> str:
    """The plugin-descriptor.properties that makes the node load a module's jars as the real module."""
    fields = {
        "description": module.description,
        "version": version,
        "name": module.name,
        "classname": module.classname,
        "java.version": "11",
        "opensearch.version": version,
        "custom.foldername": "",
        "extended.plugins": "",
        "has.native.controller": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in fields.items())


def install_module(layout: Layout, module: Module, jars: list[Path], version: str) -> None:
    """Put a module's jars and descriptor in modules/<name>/ (left alone when already exactly so)."""
    target = layout.node_home / "modules" / module.name
    descriptor = module_descriptor(module, version)
    wanted = {jar.name for jar in jars} | {DESCRIPTOR}
    if (
        target.is_dir()
        and {p.name for p in target.iterdir()} == wanted
        and (target / DESCRIPTOR).read_text() == descriptor
    ):
        return
    staging = target.with_name(f".{module.name}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for jar in jars:
        shutil.copy2(jar, staging / jar.name)
    (staging / DESCRIPTOR).write_text(descriptor)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def write_config(config_dir: Path, settings: dict[str, object]) -> None:
    """Write a node's opensearch.yml (see `topology.node_settings` for what goes in it)."""
    lines = [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    (config_dir / "opensearch.yml").write_text("\n".join(lines) + "\n")


def ensure_service_user(name: str) -> pwd.struct_passwd:
    """The unprivileged account the node runs as when root starts it; created when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    done = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise NodeError(f"could not create the service user: {done.stderr.strip()}", where=name)
    return pwd.getpwnam(name)


def chown_tree(paths: list[Path], uid: int, gid: int) -> None:
    """Give the node's user ownership of its directories (it refuses to run as root)."""
    for top in paths:
        top.mkdir(parents=True, exist_ok=True)
        os.chown(top, uid, gid)
        for root, dirs, files in os.walk(top):
            for entry in dirs + files:
                os.chown(os.path.join(root, entry), uid, gid, follow_symlinks=False)


def _unpack(zip_path: Path, layout: Layout) -> None:
    staging = layout.home / f".unpack-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(staging)
    except zipfile.BadZipFile as exc:
        zip_path.unlink(missing_ok=True)
        raise NodeError("corrupt download, deleted; run again", where=str(zip_path)) from exc
    (top,) = [p for p in staging.iterdir() if p.is_dir()]
    for script in (top / "bin").iterdir():
        script.chmod(0o755)
    shutil.rmtree(layout.node_home, ignore_errors=True)
    top.rename(layout.node_home)
    shutil.rmtree(staging, ignore_errors=True)


def _read_marker(layout: Layout) -> dict[str, str]:
    path = layout.node_home / MARKER
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _run_plugin_tool(layout: Layout, args: list[str]) -> None:
    from dagster_project.node.java import java_home

    env = dict(os.environ, OPENSEARCH_JAVA_HOME=str(java_home()))
    tool = layout.node_home / "bin" / "opensearch-plugin"
    done = subprocess.run([str(tool), *args], capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        raise NodeError(f"opensearch-plugin {' '.join(args)} failed: {done.stderr.strip()[-800:]}", where=str(tool))
