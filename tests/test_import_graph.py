"""Issue 16: the package's module-level imports form no cycle, and data flows one way.

The graph is read from the source with ``ast`` (imports at module level, outside
``if TYPE_CHECKING:``), so it is the structure a reader sees, independent of import order.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "gep"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _top_level_imports(tree: ast.Module, module: str, is_pkg: bool, modules=()):
    """Names imported when the module is imported (module body, try/if blocks included)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody
                         + [s for h in node.handlers for s in h.body])
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for a in node.names:
                sub = f"{prefix}.{a.name}"
                # ``from pkg import submodule`` needs the submodule; a name needs ``prefix``
                yield sub if sub in modules else prefix


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of gep it imports at module level}``."""
    files = {_module_name(p): p for p in PKG.rglob("*.py") if "migrations" not in p.parts}
    g = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _top_level_imports(tree, mod, path.name == "__init__.py", files):
            if name in files and name != mod:
                g[mod].add(name)
    return g


def descendants(g, start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for n in g[stack.pop()]:
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return seen


def cycles(g) -> list[list[str]]:
    """One cycle through each module that reaches itself (depth-first search)."""
    found, done = [], set()
    for start in sorted(g):
        if start in done or start not in descendants(g, start):
            continue
        path, stack = [start], [iter(sorted(g[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                path.pop()
            elif nxt == start:
                found.append(list(path))
                done.update(path)
                break
            elif nxt not in path and start in descendants(g, nxt) | {nxt}:
                path.append(nxt)
                stack.append(iter(sorted(g[nxt])))
    return found


def test_the_graph_is_read():
    g = import_graph()
    # a sanity check of the reader itself: edges it must see
    assert "gep.models" in g["gep.config"]
    assert "gep.money" in descendants(g, "gep.compensation.engine")
    assert sum(map(len, g.values())) > 100


def test_the_cycle_finder_finds_a_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in found[:10])


@pytest.mark.parametrize("upstream, downstream", [
    ("gep.models", "gep.compensation"),
    ("gep.models", "gep.ledger"),
    ("gep.valuation", "gep.compensation"),
    ("gep.compensation", "gep.report"),
    ("gep.compensation", "gep.portal"),
    ("gep.ledger", "gep.report"),
    ("gep.paths", "gep.pipeline"),
])
def test_data_flows_one_way(upstream, downstream):
    """Nothing upstream imports a later stage at module level."""
    g = import_graph()
    ups = [n for n in g if n == upstream or n.startswith(upstream + ".")]
    downs = {n for n in g if n == downstream or n.startswith(downstream + ".")}
    reach = {d for u in ups for d in descendants(g, u)} & downs
    assert not reach, f"{upstream} reaches {sorted(reach)}"
