"""Package hygiene, read from the source (ast): one owner for names, no import cycles, settings read in one
place, one e-mail sender, Dagster's public API only. Each test ends in one `assert offenders == []`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dagster_project"
NAMES_OWNER = PACKAGE / "storage" / "naming.py"

ENVIRONMENT_READERS = {
    "storage/naming.py": "SIEM_INDEX_PREFIX, read at every call (validated by settings.IndexSettings)",
    "settings/node.py": "XDG_CACHE_HOME: where the default SIEM_HOME is",
    "node/java.py": "JAVA_HOME / OPENSEARCH_JAVA_HOME: the machine's Java, not a suite setting",
    "node/install.py": "the environment handed on to the OpenSearch plugin installer",
    "node/lifecycle.py": "PATH handed on to the node process",
    "security/node.py": "the environment handed on to securityadmin.sh",
    "security/users.py": "SIEM_*_PASSWORD: the variable names come from security/users.yml",
    "reports/deliver.py": "SIEM_REPORT_RECIPIENTS_<FRAMEWORK>: the names follow reports/frameworks/",
    "collect/supervisor.py": "the environment handed on to siem serve's receiver and Dagster processes; DAGSTER_HOME",
}
"""The modules besides pydantic-settings' that read `os.environ`, and why each must."""


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return modules


MODULES = _modules()


def _docstrings(tree: ast.Module) -> set[int]:
    """Ids of the string expressions that are documentation (module, class, function and attribute docstrings)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def _imports(name: str, tree: ast.Module) -> set[str]:
    """The suite's modules that `name` imports (anywhere in the file), resolved to module names."""
    found: set[str] = set()
    package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


def test_no_siem_name_is_spelt_outside_its_owner() -> None:
    """Every `siem-` string (plain or f-string, docstrings aside) lives in storage/naming.py."""
    offenders = []
    for path, tree in MODULES.values():
        if path == NAMES_OWNER:
            continue
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            if literal and "siem-" in node.value:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value[:60]!r}")
    assert offenders == []


def test_the_hygiene_check_sees_literals_and_fstrings() -> None:
    """The check above finds both forms (so it cannot pass by looking at nothing)."""
    tree = ast.parse('"""doc"""\nA = "siem-x"\nB = f"siem-{A}"\n')
    docs = _docstrings(tree)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docs and "siem-" in str(n.value)]
    assert len(found) == 2


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, tree) for name, (_, tree) in MODULES.items()}


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_package_imports_no_cycle() -> None:
    """The import graph of the package (every import statement, at any depth) has no cycle."""
    graph = _graph()
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []
    assert sum(len(t) for t in graph.values()) > 200, "the walk found the imports"


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check above sees a circle when there is one."""
    components = _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(sorted(c) for c in components if len(c) > 1) == [["a", "b", "c"]]


def test_command_modules_import_no_other_command_module_and_not_the_cli() -> None:
    """Each `commands/<name>_cmd.py` stands alone: only `cli.py` assembles them."""
    offenders = []
    for name, (_, tree) in MODULES.items():
        if name.startswith("dagster_project.commands.") and name.endswith("_cmd"):
            bad = {t for t in _imports(name, tree) if t.endswith("_cmd") or t == "dagster_project.cli"}
            offenders += [f"{name} imports {t}" for t in sorted(bad)]
    assert offenders == []


def test_the_environment_is_read_by_the_settings_package_only() -> None:
    """`os.environ` / `os.getenv` appear only in the listed modules, each for its reason."""
    offenders = []
    for path, tree in MODULES.values():
        where = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(tree):
            reads = (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")) and (
                isinstance(node.value, ast.Name) and node.value.id == "os"
            )
            if reads and where not in ENVIRONMENT_READERS:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


def test_one_smtp_sender() -> None:
    """Alerts and reports send e-mail through notify/email.py; no other module speaks SMTP or builds messages."""
    offenders = []
    for path, tree in MODULES.values():
        if path == PACKAGE / "notify" / "email.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "smtplib" for a in node.names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: imports smtplib")
            if isinstance(node, ast.ImportFrom) and node.module == "smtplib":
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: imports smtplib")
            if isinstance(node, ast.FunctionDef) and node.name in ("send_email", "send_message", "build_message"):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: defines {node.name}")
    assert offenders == []


@pytest.mark.parametrize("private", ["dagster._", "dagster_shared"])
def test_dagster_public_api_only(private: str) -> None:
    """No module imports Dagster internals."""
    offenders = []
    for path, tree in MODULES.values():
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [module or ""]
            if any(n.startswith(private) for n in names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


def test_scrolls_go_through_the_one_that_checks_every_page() -> None:
    """No module but searches.py scrolls: `helpers.scan` and a bare `scroll` miss a failed shard on a hit-less page."""
    owner = PACKAGE / "searches.py"
    offenders = []
    for path, tree in MODULES.values():
        if path == owner:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("scan", "scroll"):
                base = node.value
                named = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
                if named != "searches":
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {named}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "opensearchpy.helpers":
                offenders += [
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: imports {a.name}"
                    for a in node.names
                    if a.name == "scan"
                ]
    assert offenders == []
