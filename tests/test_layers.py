"""The house's layering holds (docs/architecture.md): imports point one way, no module
takes part in an import cycle, and no file in planner/ outgrows 600 lines.

Every import statement counts, function-local and ``TYPE_CHECKING`` ones included: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "planner"

#: Each part of planner/ (a top-level module or subpackage) and its layer. A part may
#: import parts of its own layer and of lower layers, never of a higher one.
LAYERS: dict[str, int] = {
    # the floor: errors, checked fields, units, progress, closed vocabularies, safe output,
    # intervals, the version
    "(root)": 0, "errors": 0, "fields": 0, "units": 0, "keys": 0, "progress": 0,
    "vocabulary": 0,
    "output": 0, "intervals": 0,
    # data and their rules
    "profile": 1, "options": 1, "scoring": 1, "splits": 1, "spec": 1, "synthetic": 1,
    # the shared floor of measure and runtime: problems, record formats, tokens, test lines
    "problems": 1, "records": 1, "tokens": 1, "testlines": 1,
    # the estimator
    "cascade": 2, "estimate": 2,
    # the search methods
    "search": 3,
    # planning: request, context, predictions, specs, fronts, comparisons, plan(); and
    # choosing among plans on the planning problems (selectors, honest predictions)
    "planning": 4, "selection": 4,
    # what is built on plans: replaying them, tables and plots, evaluating selections
    "replay": 5, "report": 5, "evaluation": 5, "run_prediction": 5,
    # the command line
    "cli": 6, "__main__": 6,
}
#: Parts beside the planning stack: they may use the floor and the data layer (and each
#: other), and nothing of the estimator, search or planning imports them.
BESIDE = {"sandbox", "measure", "runtime", "serve", "collect"}
BESIDE_MAY_USE = 1
#: Modules allowed to import upwards, with the reason.
COMPAT_SHIMS = {
    "planner.search.api": "the planning API's old home: re-exports planner.planning",
}
#: Files over the size limit that are being split elsewhere (remove them from here when
#: they are), and the one that must stay whole.
MAX_LINES = 600
OVERSIZE_ALLOWED = {
    "sandbox/runner.py": "the single-file runner copied into the sandbox",
}


def _module_name(path: Path) -> str:
    parts = ["planner", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Project modules each module imports (``from pkg import sub`` counts as ``pkg.sub``
    when ``sub`` is a module, else as ``pkg``)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                           for a in node.names]
            else:
                continue
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def test_every_part_has_a_place():
    parts = {_part(m) for m in _modules()}
    unplaced = sorted(parts - set(LAYERS) - BESIDE)
    assert not unplaced, (f"{unplaced} are in no layer: add them to LAYERS or BESIDE in "
                          "tests/test_layers.py and to docs/architecture.md")


def test_imports_point_down_the_layers():
    modules = _modules()
    wrong = []
    for module, targets in _imports(modules).items():
        if module in COMPAT_SHIMS:
            continue
        src = _part(module)
        for target in targets:
            dst = _part(target)
            if src == dst or not {src, dst} <= set(LAYERS) | BESIDE:
                continue  # the same part, or one test_every_part_has_a_place reports
            if src in BESIDE:
                ok = dst in BESIDE or LAYERS[dst] <= BESIDE_MAY_USE
            elif dst in BESIDE:
                ok = src in ("cli", "__main__")
            else:
                ok = LAYERS[dst] <= LAYERS[src]
            if not ok:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    modules = _modules()
    edges = _imports(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_no_file_outgrows_the_limit():
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    too_long = {f: n for f, n in sizes.items() if n > MAX_LINES and f not in OVERSIZE_ALLOWED}
    assert not too_long, f"files over {MAX_LINES} lines: {too_long}"
    stale = [f for f in OVERSIZE_ALLOWED if sizes.get(f, 0) <= MAX_LINES
             and f != "sandbox/runner.py"]
    assert not stale, f"no longer over the limit (or gone): drop {stale} from OVERSIZE_ALLOWED"


@pytest.mark.parametrize("shim", sorted(COMPAT_SHIMS))
def test_compat_shims_only_re_export(shim):
    """A compatibility module defines nothing: it imports and lists names."""
    path = _modules()[shim]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        assert isinstance(node, ast.Expr | ast.ImportFrom | ast.Import | ast.Assign), (
            f"{shim} defines {type(node).__name__} at line {node.lineno}")
