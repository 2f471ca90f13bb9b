"""The package's shape: no import cycles, no module over 800 lines, every verb's options in
the options table (docs/architecture.md)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import causalinterp
from causalinterp import options

PACKAGE = Path(causalinterp.__file__).resolve().parent
MAX_LINES = 800
#: Known departures, owned by modules being reworked elsewhere; each test asserts the list is
#: exactly what it finds, so a new departure fails and a fixed one must be struck off here.
PENDING_CYCLES: list[list[str]] = []
PENDING_LONG: dict[str, int] = {}
#: Keyword arguments of public verbs that are inputs or results, not options.
INPUTS = {
    "model", "features", "model_seed", "effects", "directions", "analyze_options", "data",
    "min_rows", "level", "heterogeneity", "analysis", "curve_results",
}
#: Public verbs whose keywords are not yet the table's names: verb -> {keyword: why}.
PENDING_KEYWORDS: dict[str, dict[str, str]] = {}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules ``tree`` imports, at any depth (inside functions too), except
    under ``if TYPE_CHECKING:`` (types only, never executed)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                # ``from package import module`` imports the module itself.
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
        visit(node)

    visit(tree)
    return {name for name in found if name in known and name != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8")), name, is_package, known)
        for name, (path, is_package) in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    import networkx as nx

    g = nx.DiGraph([(a, b) for a, targets in graph.items() for b in targets])
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


def test_the_import_walk_sees_function_level_and_relative_imports():
    # The check below can fail: a module importing another inside a function, relatively.
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from causalinterp.report import Report\n"
        "def f():\n    from .refit import constrain\n    import causalinterp.pipeline\n"
    )
    known = {"causalinterp.domain.refit", "causalinterp.pipeline", "causalinterp.report"}
    found = _imports(tree, "causalinterp.domain.check", False, known)
    assert found == {"causalinterp.domain.refit", "causalinterp.pipeline"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert cycles == PENDING_CYCLES, f"import cycles: {cycles}"


def test_the_command_lines_sit_on_top():
    graph = _graph()
    commands = {"causalinterp.cli", "causalinterp.domain.cli", "causalinterp.explain.cli",
                "causalinterp.monitoring.cli"}
    for name, targets in graph.items():
        if name not in commands:
            assert not targets & commands, f"{name} imports a command line: {targets & commands}"
    assert "causalinterp.explain" not in {t.rsplit(".", 1)[0] for t in graph["causalinterp.report"]}


def test_no_module_is_over_800_lines():
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, (path, _) in _modules().items()
    }
    long = {name: n for name, n in lengths.items() if n > MAX_LINES}
    assert long.keys() == PENDING_LONG.keys(), f"modules over {MAX_LINES} lines: {long}"


def _verbs() -> dict[str, object]:
    return {
        name: getattr(causalinterp, name)
        for name in causalinterp.__all__
        if inspect.isfunction(getattr(causalinterp, name)) and name != "monitor"
    }


def test_every_public_verb_names_its_options_as_the_table_does():
    """A verb's keyword for an option is the option's table name with the table's default;
    seed, n_jobs, backend and progress mean and default the same everywhere."""
    verbs = _verbs()
    assert {"analyze", "explain_rows", "constrain", "check_graph", "attribute_model",
            "refute_effects", "estimate_effects"} <= set(verbs)
    departures: dict[str, dict[str, str]] = {}
    for name, verb in verbs.items():
        for param in inspect.signature(verb).parameters.values():
            if param.kind is not param.KEYWORD_ONLY or param.name in INPUTS:
                continue
            if param.name not in {o.name for o in options.OPTIONS}:
                departures.setdefault(name, {})[param.name] = "not in the options table"
            elif param.default is not param.empty and param.default != options.default(
                param.name
            ):
                departures.setdefault(name, {})[param.name] = f"default {param.default!r}"
    expected = {verb: set(keywords) for verb, keywords in PENDING_KEYWORDS.items()}
    assert {verb: set(keywords) for verb, keywords in departures.items()} == expected, departures


def test_every_public_verb_is_in_the_architecture_map():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in [*_verbs(), "monitor"]:
        assert f"`{name}`" in text, name
