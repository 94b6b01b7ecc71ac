"""The package's import graph: no circles, rules and civilians below the engine, no library module above the
command line.

Every ``import``/``from ... import`` in ``simulation/**/*.py`` counts, wherever it is written: at the top,
inside functions, under ``if TYPE_CHECKING:`` (a circle of type hints is still a circle a reader must untangle),
and ``importlib.import_module("simulation....")`` with a literal name. ``from simulation.a import b`` is an
import of ``simulation.a.b`` if that is a module, else of ``simulation.a``.

Rules (issue 15, "Done when"):

1. no import circle (a strongly connected set of two or more modules, or a module importing itself);
2. ``simulation.rules`` and ``simulation.civilians`` import nothing of ``simulation.engine``, ``simulation.runs``,
   ``simulation.sweep``, ``simulation.calibration`` or ``simulation.app``;
3. no library module imports a command-line module (``simulation.cli``, ``simulation.<anything>.cli``); a
   command-line module may import another (the entry point loads its sub-commands).

Violations of main at d18d6ab that the restructuring under way removes are listed in ``BEING_FIXED``: each
rule's test fails on any other violation, and each listed one is a strict xfail, so it turns into a failure
(XPASS) the day it is fixed, and the entry is then deleted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulation"
LOWER = ("simulation.rules", "simulation.civilians")
HIGHER = ("simulation.engine", "simulation.runs", "simulation.sweep", "simulation.calibration", "simulation.app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The dotted names ``module``'s source imports anywhere (``from a import b`` gives ``a.b``)."""
    names = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.update(f"{base}.{a.name}" for a in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def import_graph() -> nx.DiGraph:
    """Modules of the package and who imports whom (edges importer -> imported, within the package)."""
    files = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in imported_names(tree, module, path.name == "__init__.py"):
            if not _within(name, "simulation"):
                continue
            parts = name.split(".")
            target = next((".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in files),
                          None)
            if target is not None:
                graph.add_edge(module, target)
    return graph


GRAPH = import_graph()


def circles(graph: nx.DiGraph) -> list[tuple[str, ...]]:
    """Each import circle as the sorted modules of a strongly connected set (self-imports included)."""
    out = [tuple(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    out += [(m,) for m in graph if graph.has_edge(m, m)]
    return sorted(out)


def describe(circle: tuple[str, ...]) -> str:
    """One way round the circle, as ``a -> b -> ... -> a``."""
    cycle = nx.find_cycle(GRAPH.subgraph(circle))
    return " -> ".join([cycle[0][0]] + [b for _, b in cycle])


def lower_importing_higher(graph: nx.DiGraph) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in graph.edges
                  if any(_within(a, low) for low in LOWER) and any(_within(b, high) for high in HIGHER))


def is_cli(module: str) -> bool:
    return module in ("simulation.cli", "simulation.__main__") or (module.startswith("simulation.")
                                                                    and module.endswith(".cli"))


def library_importing_cli(graph: nx.DiGraph) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in graph.edges if is_cli(b) and not is_cli(a))


# Violations on main at d18d6ab that the restructuring is removing (arch-engine: the engine's TYPE_CHECKING
# imports of the model; arch-ensemble: the calibration and app taking the command line's helpers). Delete an
# entry when its xfail turns into XPASS.
BEING_FIXED = {
    "circle": [],
    "lower": [],
    "cli": [],
}


def _known(kind: str) -> set:
    return {p.values[0] for p in BEING_FIXED[kind]}


def test_the_graph_sees_imports_inside_functions_and_under_type_checking():
    """The walk is not blind to the places where imports hide (else the rules below would pass vacuously)."""
    assert GRAPH.number_of_nodes() > 40
    assert GRAPH.has_edge("simulation.cli", "simulation.engine.model")  # inside cmd_run
    assert GRAPH.has_edge("simulation.runs.output", "simulation.engine.model")  # at the top
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from simulation.engine import model\n"
                     "def f():\n    from ..runs import output\n    import importlib\n"
                     "    importlib.import_module('simulation.app.cli')\n")
    assert imported_names(tree, "simulation.rules.x", False) >= {
        "simulation.engine.model", "simulation.runs.output", "simulation.app.cli"}


def test_the_rules_catch_what_they_forbid():
    g = nx.DiGraph([("simulation.rules.combat", "simulation.engine.model"), ("simulation.a", "simulation.b"),
                    ("simulation.b", "simulation.a"), ("simulation.civilians.x", "simulation.sweep"),
                    ("simulation.runs.output", "simulation.sweep.cli"), ("simulation.cli", "simulation.app.cli"),
                    ("simulation.engine.model", "simulation.rules.draws")])
    assert circles(g) == [("simulation.a", "simulation.b")]
    assert lower_importing_higher(g) == [("simulation.civilians.x", "simulation.sweep"),
                                         ("simulation.rules.combat", "simulation.engine.model")]
    assert library_importing_cli(g) == [("simulation.runs.output", "simulation.sweep.cli")]


def test_no_import_circle():
    new = [c for c in circles(GRAPH) if c not in _known("circle")]
    assert not new, "import circles: " + "; ".join(describe(c) for c in new)


@pytest.mark.parametrize("circle", BEING_FIXED["circle"])
def test_known_circle_is_gone(circle):
    assert circle not in circles(GRAPH)


def test_rules_and_civilians_do_not_import_engine_runs_sweep_calibration_or_app():
    new = [e for e in lower_importing_higher(GRAPH) if e not in _known("lower")]
    assert not new, "rules/civilians importing higher layers: " + ", ".join(f"{a} -> {b}" for a, b in new)


def test_no_library_module_imports_a_command_line_module():
    new = [e for e in library_importing_cli(GRAPH) if e not in _known("cli")]
    assert not new, "library modules importing command-line modules: " + ", ".join(f"{a} -> {b}" for a, b in new)


@pytest.mark.parametrize("edge", BEING_FIXED["cli"])
def test_known_library_import_of_a_cli_is_gone(edge):
    assert edge not in library_importing_cli(GRAPH)
