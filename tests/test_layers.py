"""The package's shape, as docs/architecture.md draws it (issue 21).

Read from the source, not from a running interpreter: every ``import`` and
``from ... import`` of the package counts, at module level or inside a function
(a lazy import is still a dependency), except those under ``if TYPE_CHECKING:``
(annotations only, never run). These tests fail, naming the module and line,
when a change imports a higher layer, closes a circle, talks to a warehouse
driver outside ``backends/``, names a backend's classes outside it, or lets a
module grow past the size a reader can hold in mind.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "egregora_pipeline"

LAYERS: dict[str, int] = {
    # 0: foundations every layer may use (no warehouse, no schema)
    "errors": 0,
    "sql": 0,
    "defaults": 0,
    "names": 0,
    "ids": 0,
    "processes": 0,
    "lazy_exports": 0,
    "compute_engine": 0,  # DuckDB as the parser's engine, bounded (not the warehouse)
    # 1: the declared schema
    "schema": 1,
    # 2: one package per backend, behind backends/base.py
    "backends": 2,
    # 3: settings, parsed once into a backend's typed target
    "settings": 3,
    # 4: the Dagster-free libraries, side by side (neither imports the other)
    "migrations": 4,
    "ingestion": 4,
    "quality": 4,
    "references": 4,  # the frozen import path revision files use (see its docstring)
    # 5: the Dagster layer; definitions.py only wires it
    "orchestration": 5,
    "definitions": 5,
    # 6: the command line
    "cli": 6,
}
"""Each top-level module or folder of the package and its layer: a module may import
its own layer and lower ones, except that the libraries never import each other."""
LIBRARIES = 4

REVISIONS = "egregora_pipeline.migrations.versions."
"""Revision files are scripts, as Alembic's are: a data step may call the library's
ingestion rules (0002 derives author ids as the loader does). Nothing imports them."""

MAX_LINES = 520
DRIVERS = ("duckdb", "psycopg", "psycopg2", "psycopg_pool")
COMPUTE_ENGINE = "compute engine"
"""DuckDB is also the WhatsApp parser's compute engine (never the warehouse there): a
module outside ``backends/`` may import it only to run SQL on it as such, and says so in
its docstring (``compute_engine.py``, the parser's modules)."""


@dataclass(frozen=True)
class Import:
    source: str
    line: int
    target: str


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST) -> Iterator[tuple[int, str, str | None]]:
    """(line, dotted name, its parent module for ``from`` imports), TYPE_CHECKING left out."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}", node.module
        pending.extend(ast.iter_child_nodes(node))


def _imports(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for line, name, parent in _imported_names(tree):
        # ``from pkg import sub`` depends on the submodule; ``from mod import name`` on mod
        target = name if name in MODULES or parent is None else parent
        found.append(Import(module, line, target))
    return found


IMPORTS: dict[str, list[Import]] = {module: _imports(module) for module in MODULES}


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _where(item: Import) -> str:
    return f"{MODULES[item.source].relative_to(REPO_ROOT)}:{item.line}"


def test_every_top_level_module_and_folder_has_a_layer() -> None:
    folders = {_folder(module) for module in MODULES} - {""}
    assert folders - set(LAYERS) == set(), "add it to LAYERS here and to docs/architecture.md"
    assert set(LAYERS) - folders == set(), "a layer names a module that is gone"


def test_no_module_imports_a_higher_layer_or_a_sibling_library() -> None:
    wrong = []
    for module, imports in IMPORTS.items():
        if module.startswith(REVISIONS) or not _folder(module):
            continue
        mine = _folder(module)
        for item in imports:
            if item.target not in MODULES or not _folder(item.target):
                continue
            theirs = _folder(item.target)
            sideways = LAYERS[theirs] == LAYERS[mine] == LIBRARIES
            if theirs != mine and (LAYERS[theirs] > LAYERS[mine] or sideways):
                wrong.append(f"{_where(item)}: {mine} (layer {LAYERS[mine]}) imports {item.target}")
    assert wrong == []


def _circles() -> list[list[str]]:
    """Strongly connected components of the module graph (Tarjan), larger than one."""
    graph = {
        module: sorted({i.target for i in imports if i.target in MODULES and i.target != module})
        for module, imports in IMPORTS.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    assert _circles() == []


def _says_compute_engine(module: str) -> bool:
    docstring = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    return docstring is not None and COMPUTE_ENGINE in docstring


def test_warehouse_drivers_are_imported_only_inside_backends() -> None:
    wrong = []
    for module, imports in IMPORTS.items():
        if _folder(module) == "backends":
            continue
        for item in imports:
            driver = item.target.split(".")[0]
            if driver not in DRIVERS:
                continue
            if driver == "duckdb" and _says_compute_engine(module):
                continue
            wrong.append(f"{_where(item)}: imports {item.target}")
    assert wrong == []


def test_outside_backends_only_the_interface_is_imported() -> None:
    """The registry (``backends``) and the interface modules (``backends/*.py``), never a
    backend's own package: the callers ask the interface, not one backend."""
    wrong = [
        f"{_where(item)}: imports {item.target}"
        for module, imports in IMPORTS.items()
        if _folder(module) != "backends"
        for item in imports
        if item.target.startswith("egregora_pipeline.backends.") and item.target.count(".") >= 3
    ]
    assert wrong == []


def _backend_package(module: str) -> str | None:
    parts = module.split(".")
    in_backends = parts[0] == "egregora_pipeline" and parts[1:2] == ["backends"]
    return parts[2] if in_backends and len(parts) >= 4 else None


def test_a_backend_package_never_imports_another_backend_package() -> None:
    """So a third backend is one folder: it shares only what ``backends/*.py`` offers."""
    wrong = [
        f"{_where(item)}: imports {item.target}"
        for module, imports in IMPORTS.items()
        if (mine := _backend_package(module)) is not None
        for item in imports
        if (theirs := _backend_package(item.target)) is not None and theirs != mine
    ]
    assert wrong == []


def _backend_classes() -> set[str]:
    """Class names defined in a backend's own package (``backends/<name>/``)."""
    names = set()
    for module, path in MODULES.items():
        if module.count(".") >= 3 and _folder(module) == "backends":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names |= {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    return names


def test_outside_backends_nothing_names_one_backends_classes() -> None:
    classes = _backend_classes()
    assert {"DuckDBImpl", "PostgresImpl", "DuckDBSink", "PostgresSink"} <= classes
    wrong = []
    for module, path in MODULES.items():
        if _folder(module) == "backends":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in classes:
                wrong.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.id}")
    assert wrong == []


def test_no_module_is_longer_than_a_reader_holds_in_mind() -> None:
    too_long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
