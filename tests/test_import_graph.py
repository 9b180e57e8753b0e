"""The service's packages import one way with no circle, and no module grows past a reader's page.

lint-imports checks the layers (store never imports handlers ...), but not circles inside a
layer: `a` importing `b` that imports `a` back (even only for type checking) means neither can be
read, tested or moved alone. The graph is built from the source with `ast` -- every import
statement, those under `if TYPE_CHECKING:` and inside functions included -- and its strongly
connected components are the circles. Run this file alone to print them:
`python tests/test_import_graph.py`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "store", "handlers", "sender", "cli", "web")
MAX_LINES = 400


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of PACKAGES by dotted name (a package by its own name, for its __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that module `name` imports, anywhere in its source.

    `from a import b` is an edge to a.b when that is a module, else to a. A parent package is not
    counted as imported by its submodules (Python runs its __init__ first, but nothing in it can
    depend on the submodule being half-loaded unless the __init__ imports it, which is an edge).
    """
    is_package = path.name == "__init__.py"
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            # `from a import b`: an edge to module a.b if there is one, else to a (b is a name in a)
            targets = submodules if len(submodules) == len(node.names) else [*submodules, base]
        else:
            continue
        for target in targets:
            # the longest known module the target names (`import a.b.c` of a name that is no module)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
    return edges


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imported(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def long_modules(root: Path = ROOT) -> list[tuple[str, int]]:
    """Modules of PACKAGES longer than MAX_LINES, longest first."""
    lengths = [(name, len(path.read_text().splitlines())) for name, path in modules(root).items()]
    return sorted(((name, n) for name, n in lengths if n > MAX_LINES), key=lambda item: -item[1])


def test_no_import_circle() -> None:
    found = circles(import_graph())
    assert not found, "import circles (each line one strongly connected component):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_no_module_over_the_limit() -> None:
    found = long_modules()
    assert not found, f"modules over {MAX_LINES} lines (split them by concern):\n" + "\n".join(
        f"{name}: {n}" for name, n in found
    )


def test_a_circle_is_found(tmp_path: Path) -> None:
    """The checker itself: a circle through a TYPE_CHECKING import, and a relative one, are found."""
    package = tmp_path / "store"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from store.b import B\n")
    (package / "b.py").write_text("from store import c\n")
    (package / "c.py").write_text("from . import a\n")
    (package / "d.py").write_text("from store.a import x\nfrom store import a, d\n")
    (package / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert circles(import_graph(tmp_path)) == [["store.a", "store.b", "store.c"]]
    assert import_graph(tmp_path)["store.d"] == {"store.a"}
    assert long_modules(tmp_path) == [("store.long", MAX_LINES + 1)]


if __name__ == "__main__":
    for component in circles(import_graph()):
        print(" <-> ".join(component))
    for name, n in long_modules():
        print(f"{name}: {n} lines")
    sys.exit(0)
