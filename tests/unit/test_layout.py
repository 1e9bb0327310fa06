"""The house rules of the layout, checked on the source: no import cycles, on-disk state (store/)
below everything that uses it, no module named like a standard-library one, and test modules that
stand alone (they import tests.support, never each other)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT

PACKAGE = PROJECT / "audiobook"
# what store/ may import besides itself: the data types, the errors and where user state lives
STORE_MAY_IMPORT = {"audiobook.errors", "audiobook.paths", "audiobook.models"}


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p, PROJECT): p for p in PACKAGE.rglob("*.py")}


def _imports(module: str, path: Path) -> set[str]:
    """The project modules `module` imports when it runs (at the top or inside functions; imports
    under `if TYPE_CHECKING:` are for the type checker only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    type_only = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                 and getattr(stmt.test, "id", "") == "TYPE_CHECKING" for node in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(GRAPH[module]):
            if state.get(imported) == 1:
                cycle = path[path.index(imported):] + [imported]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_the_store_imports_nothing_above_it() -> None:
    upward = {module: sorted(i for i in imported if not i.startswith("audiobook.store") and i not in STORE_MAY_IMPORT)
              for module, imported in GRAPH.items() if module.startswith("audiobook.store")}
    assert {m: i for m, i in upward.items() if i} == {}


def test_no_module_is_named_like_a_standard_library_module() -> None:
    assert sorted(p.relative_to(PROJECT).as_posix() for p in PACKAGE.rglob("*.py")
                  if p.stem in sys.stdlib_module_names) == []


def test_test_modules_import_no_other_test_module() -> None:
    offenders = []
    for path in (PROJECT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                last = name.rpartition(".")[2]
                if last.startswith("test_") or last == "conftest":
                    offenders.append(f"{path.relative_to(PROJECT)} imports {name}")
    assert offenders == []
