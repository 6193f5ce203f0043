"""The registry of log sources: source name -> module that builds its parser."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from dagster_project.errors import ConfigurationError
from dagster_project.sources import cloudtrail, jsonl, linux_auth, web_access, windows
from dagster_project.sources.base import SourceContext, SourceParser
from dagster_project.storage import naming

SOURCE_MODULES: dict[str, ModuleType] = {
    "linux-auth": linux_auth,
    "web-access": web_access,
    "cloudtrail": cloudtrail,
    "windows": windows,
    "jsonl": jsonl,
}


def source_names() -> list[str]:
    """The names of all registered sources, in a stable order."""
    return list(SOURCE_MODULES)


def parser_factory(name: str) -> Callable[[SourceContext], SourceParser]:
    """The `make_parser` function of a source, or a ConfigurationError naming the known sources."""
    try:
        module = SOURCE_MODULES[name]
    except KeyError:
        known = ", ".join(SOURCE_MODULES)
        raise ConfigurationError(f"unknown source {name!r} (known: {known})", where="--source") from None
    factory: Callable[[SourceContext], SourceParser] = module.make_parser
    return factory


def index_family(name: str) -> str:
    """The index family (prefix) that holds a source's events, e.g. `siem-events-linux-auth`."""
    parser_factory(name)
    return naming.events_family(name)
