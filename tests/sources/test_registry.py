"""The registry (`dagster_project.sources.registry`): every source is declared once and derived everywhere.

Adding a source is its module (parser + `SPEC`) and its templates. These tests prove it: every
registered source reaches the CLI's registry, detection routing, the Dagster assets and the demo,
and no module outside `dagster_project/sources/` names a source, so there is no list to forget.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.assets.detection import findings
from dagster_project.commands.demo_cmd import demo_inputs
from dagster_project.definitions import defs
from dagster_project.detection.pipeline import LOGSOURCES, logsource_target
from dagster_project.errors import ConfigurationError
from dagster_project.sources.base import GuardedParser, SourceContext
from dagster_project.sources.registry import parser_factory, source_names, source_spec, specs
from dagster_project.storage import naming
from dagster_project.storage.artifacts import load_artifacts

PACKAGE = Path(__file__).resolve().parents[2] / "dagster_project"
SOURCES = PACKAGE / "sources"
CONTEXT = SourceContext(path="x", reference_time=datetime(2024, 6, 1, tzinfo=UTC))


def test_every_parser_is_registered_by_its_spec() -> None:
    """A module of the sources package that defines a parser declares its SPEC (else it would be invisible)."""
    registered = {spec.parser(CONTEXT).__class__ for spec in specs()}
    parsers = {
        obj
        for info in pkgutil.iter_modules([str(SOURCES)], prefix="dagster_project.sources.")
        for obj in vars(importlib.import_module(info.name)).values()
        if isinstance(obj, type) and issubclass(obj, GuardedParser) and obj is not GuardedParser
    }
    assert parsers and parsers <= registered, parsers - registered
    assert source_names() == sorted(source_names()) and len(set(source_names())) == len(specs())


def test_every_source_is_derived_everywhere(shared_data: Path) -> None:
    """Each spec reaches its parser, its templates, routing, the Dagster graph and the demo; one offenders list."""
    offenders: list[str] = []
    components = {a.name for a in load_artifacts("component_template")}
    index_templates = {a.name: a for a in load_artifacts("index_template")}
    graph = defs.resolve_asset_graph()
    findings_inputs = graph.get(findings.key).parent_keys
    demo = {item.source: item for item in demo_inputs(shared_data)}
    for spec in specs():
        parser = parser_factory(spec.name)(CONTEXT)
        if not isinstance(parser, GuardedParser) or parser.name != spec.name:
            offenders.append(f"{spec.name}: its parser is not a GuardedParser named after the source")
        template = index_templates.get(naming.events_family(spec.name))
        if template is None:
            offenders.append(f"{spec.name}: no index template {naming.events_family(spec.name)}")
        elif template.body["index_patterns"] != [naming.events_pattern(spec.name)]:
            offenders.append(f"{spec.name}: index template patterns {template.body['index_patterns']}")
        for component in map(naming.component_template_name, spec.component_templates):
            if component not in components:
                offenders.append(f"{spec.name}: no component template {component}")
            elif template is not None and component not in template.body["composed_of"]:
                offenders.append(f"{spec.name}: index template is not composed of {component}")
        for logsource in spec.logsources:
            target = LOGSOURCES.get(logsource.name)
            if target is None or target.source != spec.name or target.index != naming.events_pattern(spec.name):
                offenders.append(f"{spec.name}: Sigma log source {logsource.name} is not routed to it")
            elif logsource_target(logsource.product, logsource.service, logsource.category) is not target:
                offenders.append(f"{spec.name}: a rule naming {logsource.name}'s log source is routed elsewhere")
        key = dg.AssetKey(f"{spec.name.replace('-', '_')}_events")
        if not graph.has(key):
            offenders.append(f"{spec.name}: no ingestion asset {key.to_user_string()} in the Dagster definitions")
        if key not in findings_inputs:
            offenders.append(f"{spec.name}: the findings asset does not depend on {key.to_user_string()}")
        if spec.samples:
            item = demo.get(spec.name)
            if item is None or not item.files or item.unmatched:
                offenders.append(f"{spec.name}: the demo finds no file for {item.unmatched if item else spec.samples}")
    routed = {target.source for target in LOGSOURCES.values()}
    if routed - set(source_names()):
        offenders.append(f"log sources routed to unknown sources: {sorted(routed - set(source_names()))}")
    assert offenders == []


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module (f-string parts included), with its line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_module_outside_the_sources_names_a_source() -> None:
    """Source names, their asset names and their Sigma log source names appear only in `dagster_project/sources/`.

    A hand-kept list elsewhere is how a source once went missing from the findings lineage.
    """
    names = set()
    for spec in specs():
        names |= {spec.name, spec.name.replace("-", "_"), f"{spec.name.replace('-', '_')}_events"}
        names |= {logsource.name for logsource in spec.logsources}
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {value!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if SOURCES not in path.parents
        for line, value in _literals(path)
        if value in names
    ]
    offenders += [
        str(path.relative_to(PACKAGE.parent))
        for suffix in ("*.yaml", "*.yml", "*.json")
        for path in sorted(PACKAGE.rglob(suffix))
        if SOURCES not in path.parents and any(f'"{name}"' in path.read_text() for name in names)
    ]
    assert offenders == []


def test_an_unknown_source_is_an_error_naming_the_known_ones() -> None:
    """`--source nope` says which sources exist."""
    with pytest.raises(ConfigurationError, match="unknown source 'nope' \\(known: cloudtrail, jsonl, linux-auth"):
        source_spec("nope")
