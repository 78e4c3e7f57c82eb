"""No import cycle among the fleet server's modules (docs/architecture.md,
dependency direction): every module's imports — at module level and inside
functions, absolute and relative — are read with ``ast`` into a graph, which
must have no cycle. A lazy import inside a function still ties two modules
together: it only hides the cycle from Python's start-up, not from a reader.
Imports under ``if TYPE_CHECKING:`` are left out: they never run (a package
facade such as ``provisioning/__init__.py`` names its lazily loaded parts
there)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "fleet_server"

#: Imports known to close a cycle today, as (importer, imported); each is owed
#: a fix. An entry that no longer closes a cycle fails the test, so the list
#: only shrinks.
KNOWN: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / PACKAGE).rglob("*.py"))
        if "migrations" not in path.parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except what lies under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _statements(other)
            continue
        yield child
        yield from _statements(child)


def _imported(node: ast.AST, name: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for an import statement in ``name``."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, []
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = name.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        yield module, [alias.name for alias in node.names]


def graph() -> dict[str, set[str]]:
    """module -> the fleet_server modules it imports."""
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in _statements(tree):
            for module, names in _imported(node, name, path.name == "__init__.py"):
                if module != PACKAGE and not module.startswith(PACKAGE + "."):
                    continue
                # ``from a.b import c`` imports the module a.b.c when there is one
                targets = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
                if len(targets) < len(names) or not names:
                    targets.add(module)
                edges[name] |= {t for t in targets if t in known and t != name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(edges):
        if start in done:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        on_path = {start: 0}
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                del on_path[node]
                done.add(node)
            elif child in on_path:
                path = [n for n, _ in stack[on_path[child] :]]
                return [*path, child]
            elif child not in done:
                on_path[child] = len(stack)
                stack.append((child, iter(sorted(edges[child]))))
    return None


def _without(edges: dict[str, set[str]], drop: frozenset[tuple[str, str]]) -> dict[str, set[str]]:
    return {a: {b for b in targets if (a, b) not in drop} for a, targets in edges.items()}


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "fleet_server.cli_support" in edges["fleet_server.cli"]
    assert "fleet_server.engine.telemetry_rules" in edges["fleet_server.engine.storage"]


def test_no_import_cycle_among_server_modules() -> None:
    cycle = find_cycle(_without(graph(), KNOWN))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_known_cycles_are_still_cycles() -> None:
    """Each known exception still closes a cycle; fixed ones leave the list."""
    edges = _without(graph(), KNOWN)
    stale = []
    for importer, imported in sorted(KNOWN):
        if imported not in graph().get(importer, set()):
            stale.append(f"{importer} no longer imports {imported}")
            continue
        trial = {**edges, importer: edges[importer] | {imported}}
        if find_cycle(trial) is None:
            stale.append(f"{importer} -> {imported} closes no cycle any more")
    assert not stale, "remove from KNOWN:\n" + "\n".join(stale)


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
