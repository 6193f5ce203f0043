"""The registry of log sources: the `SPEC` of every module in `dagster_project.sources`, by name.

Nothing lists the sources by hand: a module (or package) of this package that declares a `SPEC` is
a source. They are found once, in name order, and checked to be unique.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache

from dagster_project import sources
from dagster_project.errors import ConfigurationError
from dagster_project.sources.base import SourceContext, SourceParser
from dagster_project.sources.spec import SourceSpec


@cache
def specs() -> tuple[SourceSpec, ...]:
    """Every source's spec, in name order; a ConfigurationError when two share a name or a log source."""
    found: list[SourceSpec] = []
    for info in pkgutil.iter_modules(sources.__path__, prefix=f"{sources.__name__}."):
        spec = getattr(importlib.import_module(info.name), "SPEC", None)
        if isinstance(spec, SourceSpec):
            found.append(spec)
    for label, names in (
        ("source", [spec.name for spec in found]),
        ("Sigma log source", [ls.name for spec in found for ls in spec.logsources]),
    ):
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigurationError(f"{label} names declared twice: {repeated}", where=sources.__name__)
    return tuple(sorted(found, key=lambda spec: spec.name))


def source_names() -> list[str]:
    """The names of all registered sources, in a stable order."""
    return [spec.name for spec in specs()]


def source_spec(name: str) -> SourceSpec:
    """The spec of a source, or a ConfigurationError naming the known sources."""
    for spec in specs():
        if spec.name == name:
            return spec
    raise ConfigurationError(f"unknown source {name!r} (known: {', '.join(source_names())})", where="--source")


def parser_factory(name: str) -> Callable[[SourceContext], SourceParser]:
    """The parser factory of a source, or a ConfigurationError naming the known sources."""
    return source_spec(name).parser
