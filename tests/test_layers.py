"""The architecture, enforced: layers point one way and no module imports itself in a circle.

Each module of ``grader`` belongs to one layer (the longest matching prefix
in LAYERS); it may import only from its own layer or a lower one, at module
level or inside a function (a function-level import is for laziness, never
to dodge a cycle).  Imports under ``if TYPE_CHECKING:`` are for annotations
only and do not count.  The checker is itself tested on a planted violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import ROOT

#: Lowest first: (layer name, module prefixes).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("grader", "grader.errors", "grader.events", "grader.verdict", "grader.interrupts",
              "grader.bundle")),
    ("transport", ("grader.net", "grader.udp", "grader.udp_server", "grader.codecs",
                   "grader.fakepeer")),
    ("launch", ("grader.launch", "grader.submission")),
    ("context", ("grader.readiness", "grader.context", "grader.probes.registry")),
    ("probes", ("grader.probes",)),
    ("model", ("grader.assignment",)),
    ("runner", ("grader.runner",)),
    ("reports", ("grader.report",)),
    ("settings", ("grader.settings",)),
    ("classroom", ("grader.classroom",)),
    ("cli", ("grader.cli", "grader.cli_bundle", "grader.__main__")),
)
PACKAGE = ROOT / "grader"


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest prefix matching ``module``."""
    best, length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    assert best >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str) -> set[str]:
    """The grader modules ``source`` imports at run time (TYPE_CHECKING blocks skipped)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.split(".")[0] == "grader")
            elif isinstance(child, ast.ImportFrom) and child.module:
                base = child.module
                if child.level:  # relative import
                    base = ".".join([*module.split(".")[: -child.level], child.module])
                if base.split(".")[0] == "grader":
                    found.add(base)
                    # "from grader.probes import stream" imports the submodule grader.probes.stream
                    for alias in child.names:
                        candidate = PACKAGE.parent / Path(*f"{base}.{alias.name}".split("."))
                        if candidate.with_suffix(".py").is_file() or candidate.is_dir():
                            found.add(f"{base}.{alias.name}")
            visit(child)

    visit(ast.parse(source))
    found.discard(module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p.read_text(), module_name(p))
            for p in sorted(PACKAGE.rglob("*.py"))}


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points to a higher layer, as text."""
    found = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            if layer_of(target) > layer_of(source):
                found.append(f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} "
                             f"({LAYERS[layer_of(target)][0]})")
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in edges:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_every_import_points_down_the_layers() -> None:
    assert violations(graph()) == []


def test_no_import_cycles() -> None:
    edges = graph()
    # a package's __init__ is imported by its submodules' import machinery, not by their code
    assert cycles(edges) == []


def test_launch_knows_nothing_of_the_command_line_or_assignments() -> None:
    edges = graph()
    for module, targets in edges.items():
        if module.startswith("grader.launch"):
            assert not {t for t in targets if t.startswith(("grader.cli", "grader.settings",
                                                            "grader.assignment"))}, module


@pytest.mark.parametrize(("module", "source", "caught"), [
    ("grader.net", "from grader.runner import Runner\n", True),
    ("grader.net", "def f():\n    from grader.cli import main\n", True),
    ("grader.net", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from grader.runner import Runner\n", False),
    ("grader.cli", "from grader.net import Conn\n", False),
])
def test_the_checker_catches_a_planted_violation(module: str, source: str, caught: bool) -> None:
    assert bool(violations({module: imports(source, module)})) is caught


def test_the_checker_catches_a_planted_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
