"""The source declaration (`dagster_project.sources.spec`): validated when it is made, immutable after."""

from __future__ import annotations

import pytest

from dagster_project.errors import ConfigurationError
from dagster_project.sources.jsonl import JsonlParser
from dagster_project.sources.spec import SigmaLogsource, SourceSpec


def test_a_spec_names_its_own_component_template_by_default() -> None:
    """Without `component_templates` a source's mappings are in the component named after it."""
    assert SourceSpec("my-source", "d", JsonlParser).component_templates == ("my-source",)
    assert SourceSpec("x", "d", JsonlParser, component_templates=("a", "b")).component_templates == ("a", "b")


def test_a_logsource_matches_what_it_leaves_unset() -> None:
    """A log source with only a category takes rules of any product for that category."""
    webserver = SigmaLogsource("webserver", category="webserver")
    assert webserver.matches("apache", None, "webserver")
    assert webserver.matches(None, None, "webserver")
    assert not webserver.matches(None, None, "proxy")


def test_field_mappings_cannot_be_changed_after_declaration() -> None:
    """The mapping a spec declares is the one detection uses: it is frozen on construction."""
    fields = {"EventID": "event.code"}
    logsource = SigmaLogsource("windows_x", product="windows", fields=fields)
    fields["Image"] = "process.executable"
    assert dict(logsource.fields) == {"EventID": "event.code"}
    with pytest.raises(TypeError):
        logsource.fields["Image"] = "process.executable"  # type: ignore[index]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SourceSpec("Bad_Name", "d", JsonlParser), "source 'Bad_Name': name must be lowercase"),
        (lambda: SigmaLogsource("bad-name", product="x"), "Sigma log source 'bad-name': name must be lowercase"),
        (lambda: SigmaLogsource("nothing"), "needs a product, a service or a category"),
        (lambda: SigmaLogsource("x", product="p", fields={"A": ""}), "fields without an ECS name: \\['A'\\]"),
        (
            lambda: SourceSpec(
                "s", "d", JsonlParser, datasets=("a.b",), logsources=(SigmaLogsource("x", product="p", dataset="c.d"),)
            ),
            "narrows to dataset 'c.d', which is not one of \\['a.b'\\]",
        ),
        (
            lambda: SourceSpec(
                "s", "d", JsonlParser, logsources=(SigmaLogsource("x", product="p"), SigmaLogsource("x", product="q"))
            ),
            "Sigma log source names repeat",
        ),
        (lambda: SourceSpec("s", "d", JsonlParser, samples=("../secret/*",)), "must be relative to the samples folder"),
        (lambda: SourceSpec("s", "d", JsonlParser, samples=("/etc/*",)), "must be relative to the samples folder"),
    ],
)
def test_a_bad_declaration_is_refused_naming_it(build: object, message: str) -> None:
    """What the registry, routing or demo could not use is an error when the module is imported."""
    with pytest.raises(ConfigurationError, match=message):
        build()  # type: ignore[operator]
