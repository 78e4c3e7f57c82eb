"""The layout docs/architecture.md describes, checked: the HTTP layer holds
no SQL, the domain never imports the HTTP layer, the server never imports the
edge agent outside the simulator, and modules stay a readable size."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "fleet_server"
API = SERVER / "api"

#: Statements PostgreSQL would run; matched in string literals.
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|ON\s+CONFLICT)\b",
    re.IGNORECASE | re.DOTALL,
)
#: Where a module says why it is longer than the limit.
LONG_REASON = "Longer than 400 lines:"
MAX_LINES = 400


def _modules(root: Path) -> Iterator[Path]:
    yield from sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                for v in node.values
            )
            yield node.lineno, text


def _docstrings(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                lines.add(body[0].value.lineno)
    return lines


def _imports(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_sql_in_the_http_layer() -> None:
    found = []
    for path in _modules(API):
        tree = ast.parse(path.read_text(), str(path))
        skip = _docstrings(tree)
        for line, text in _strings(tree):
            if line not in skip and SQL.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany", "copy"}
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}(…)")
    assert not found, "SQL belongs in a feature's storage module:\n" + "\n".join(sorted(set(found)))


#: Entry points that assemble the processes (they start the API app); nothing
#: imports them back.
COMPOSITION_ROOTS = {SERVER / "cli.py", SERVER / "demo.py"}


def test_the_domain_does_not_import_the_http_layer() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(SERVER)
        if API not in path.parents and path not in COMPOSITION_ROOTS
        for name in _imports(ast.parse(path.read_text()))
        if name == "fleet_server.api" or name.startswith(("fleet_server.api.", "fastapi"))
    ]
    assert not found, "\n".join(found)


def test_nothing_imports_the_composition_roots() -> None:
    roots = {"fleet_server.cli", "fleet_server.demo"}
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(SERVER)
        if path != SERVER / "cli.py"  # the command line starts the demo
        for name in _imports(ast.parse(path.read_text()))
        if name in roots
    ]
    assert not found, "\n".join(found)


def test_console_never_imports_routers() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(API / "console")
        for name in _imports(ast.parse(path.read_text()))
        if name.startswith("fleet_server.api.routers")
    ]
    assert not found, "\n".join(found)


def test_the_server_imports_the_agent_only_in_the_simulator() -> None:
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(SERVER)
        if "simulator" not in path.relative_to(SERVER).parts
        for name in _imports(ast.parse(path.read_text()))
        if name == "edge_agent" or name.startswith("edge_agent.")
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("package", ["fleet_server", "fleet_protocol"])
def test_modules_stay_readable(package: str) -> None:
    long = []
    for path in _modules(ROOT / package):
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_LINES and LONG_REASON not in text:
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not long, (
        f"over {MAX_LINES} lines without a stated reason (split it, or say why in the "
        f"docstring with {LONG_REASON!r}):\n" + "\n".join(long)
    )
