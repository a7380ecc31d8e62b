"""The house's layering: no import cycles between vidgen's packages, no source file over ~600 lines.

Imports are read from the source (``ast``), function-level ones included: a lazy import still
makes one package depend on another. The registry is the one hub allowed to point back: it
imports the packages whose decorators fill it (data, models, metrics), and they import it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "vidgen"
MAX_LINES = 620  # "files of roughly 150 to 700 lines; none over ~600"


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "vidgen" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (SRC / name).is_dir() or (SRC / f"{name}.py").is_file() else None


def import_graph() -> dict[str, set[str]]:
    """Package (or top-level module) -> the vidgen packages it imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("").parts
        if rel[0] in ("__init__", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                unit = _unit(name)
                if unit and unit != rel[0]:
                    edges[rel[0]].add(unit)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_packages():
    edges = import_graph()
    assert {"io", "data", "metrics", "api", "train", "models"} <= set(edges)
    without_hub = {k: v - {"registry"} if k != "registry" else set() for k, v in edges.items()}
    assert _cycle(without_hub) is None, " -> ".join(_cycle(without_hub))


def test_the_layers_point_one_way():
    edges = import_graph()
    assert "api" not in edges["registry"] and "api" not in edges["metrics"]  # metrics need no API
    assert "data" not in edges["io"]  # conversions live below both (vidgen.convert)
    config_imports = {
        n for node in ast.walk(ast.parse((SRC / "train" / "config.py").read_text()))
        if isinstance(node, ast.ImportFrom) and node.module for n in [node.module]}
    assert not {m for m in config_imports if m.startswith("vidgen.metrics")}  # train scores metrics; its config does not import them
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]  # the check itself finds a cycle


def test_no_source_file_is_over_600_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long
