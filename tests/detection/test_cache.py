"""The compiled-rule cache: it serves exactly what compiling gives, compiles each content once, and misses on change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dagster_project.detection.cache import cache_dir, compiled, from_json, rule_key, to_json
from dagster_project.detection.compile import CompiledRule, compile_rule
from dagster_project.detection.rules import Rule, RuleSource, load_rules


class CountingCompiler:
    """The real compiler, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, rule: Rule) -> CompiledRule:
        self.calls += 1
        return compile_rule(rule)


def test_cached_rules_equal_freshly_compiled_ones_and_compile_once(tmp_path: Path) -> None:
    rules = list(load_rules())
    compiler = CountingCompiler()
    first = compiled(rules, compiler, home=tmp_path)
    second = compiled(rules, compiler, home=tmp_path)
    assert first == second == [compile_rule(rule) for rule in rules]
    assert compiler.calls == len(rules)
    assert any(rule.correlation for rule in rules), "the round trip must cover correlations"
    assert all(from_json(to_json(c)) == c for c in first)


def test_a_changed_rule_is_compiled_again(tmp_path: Path) -> None:
    rule = load_rules()[0]
    source = rule.sources[0]
    edited = dataclasses.replace(
        rule, sources=(RuleSource(source.path, source.text.replace(rule.title, rule.title + " (edited)")),)
    )
    assert rule_key(edited) != rule_key(rule)
    moved = dataclasses.replace(rule, sources=(RuleSource(Path("/elsewhere.yml"), source.text),))
    assert rule_key(moved) == rule_key(rule)
    compiler = CountingCompiler()
    compiled([rule], compiler, home=tmp_path)
    assert compiled([edited, rule], compiler, home=tmp_path) == [compile_rule(edited), compile_rule(rule)]
    assert compiler.calls == 2


def test_an_unreadable_entry_is_compiled_again(tmp_path: Path) -> None:
    rule = load_rules()[0]
    compiler = CountingCompiler()
    compiled([rule], compiler, home=tmp_path)
    entries = list(cache_dir(tmp_path).rglob("*.json"))
    assert len(entries) == 1
    entries[0].write_text("{not json")
    assert compiled([rule], compiler, home=tmp_path) == [compile_rule(rule)]
    assert compiler.calls == 2
