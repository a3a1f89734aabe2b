"""The tree is the architecture: imports only go down the layers of docs/architecture.md, and never in a loop.

Every import in src/parzen counts, those inside functions included (a deferred import is
a dependency all the same); those under ``if TYPE_CHECKING:`` do not (they name types,
nothing runs). The two documented exceptions are listed in `EXCEPTIONS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Bottom to top; a module belongs to the longest prefix that names it. A module may import
# its own layer (no loops, checked below) and the layers under it.
LAYERS: list[tuple[str, ...]] = [
    ("parzen._remote",),  # runs on executors: standard library only
    ("parzen.exceptions", "parzen._validation", "parzen._aliases", "parzen._output"),
    ("parzen.space", "parzen.hp"),
    ("parzen.trial",),
    ("parzen.algorithms",),
    ("parzen._hyperopt",),
    ("parzen.storage",),
    ("parzen.executors",),
    ("parzen.pruning",),
    ("parzen.driver",),
    ("parzen.tracking", "parzen.view"),
    ("parzen.driver.fmin",),  # the composition root: it wires storage, executors, pruning and tracking
    ("parzen.plotting", "parzen.sklearn", "parzen.integration"),
    ("parzen.cli", "parzen.testing"),
]
EXCEPTIONS = {
    ("parzen._hyperopt.trials", "parzen.driver.fmin"): "hyperopt's Trials.fmin(fn, space, ...) calls fmin",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/architecture.md")
    return found


def _type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(path: Path) -> set[str]:
    """Every parzen module `path` imports, at any depth, outside ``if TYPE_CHECKING:``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "parzen")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if base.split(".")[0] == "parzen":
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if _is_module(candidate) else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(module)
    return found


def _is_module(name: str) -> bool:
    path = SRC / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in SRC.rglob("*.py") if module_name(p) != "parzen"}


def test_imports_only_go_down_the_layers():
    climbing = []
    for module, targets in graph().items():
        for target in targets:
            if target != "parzen" and layer(target) > layer(module) and (module, target) not in EXCEPTIONS:
                climbing.append(f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})")
    assert not climbing, "\n".join(sorted(climbing))


def test_no_module_imports_another_in_a_loop():
    edges = {module: targets - {t for m, t in EXCEPTIONS if m == module} for module, targets in graph().items()}
    loops: list[list[str]] = []
    state: dict[str, int] = {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                loops.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            walk(start, [start])
    assert not loops, "\n".join(" -> ".join(loop) for loop in loops)


def test_what_runs_on_executors_imports_only_the_standard_library():
    import sys

    allowed = set(sys.stdlib_module_names) | {"pyspark", "pyarrow", "mlflow", "parzen"}
    for path in (SRC / "parzen" / "_remote").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}: executors may not have it"
                if top == "parzen":
                    assert name.startswith("parzen._remote"), f"{path.name} imports {name} (not shipped to executors)"


@pytest.mark.parametrize("pair", sorted(EXCEPTIONS))
def test_each_exception_is_still_needed(pair):
    module, target = pair
    assert target in graph()[module], f"{module} no longer imports {target}: drop the exception"
