"""The import direction of `pipeline/` (docs/architecture.md): arrows point one way, no circle.

Layers, from the bottom: the base (`errors`, `result`, `rules`), then `read` (and `synth`, beside
it), `screen`, `validate`, `publish`, `run` (and `report`, beside it), and `cli` on top. A module
may import its own stage and any stage below it, never one above or beside it. Imports inside
functions count too: a lazy import is still an arrow. Read with `ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"

# stage -> rank; stages of equal rank are siblings and may not import each other.
RANKS = {
    "errors": 0,
    "result": 0,
    "rules": 0,
    "read": 1,
    "synth": 1,
    "screen": 2,
    "validate": 3,
    "publish": 4,
    "run": 5,
    "report": 5,
    "cli": 6,
}
BASE = {"errors", "result", "rules"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PIPELINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports_of(path: Path) -> set[str]:
    """Every `pipeline.*` module the file imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline":
                found |= {f"pipeline.{a.name}" for a in node.names}
            elif node.module.startswith("pipeline."):
                found.add(node.module)
    return found


MODULES = {module_name(p): p for p in sorted(PIPELINE.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_stage_has_a_rank():
    stages = {stage_of(m) for m in MODULES} - {None}
    assert stages <= set(RANKS), f"give these stages a rank: {sorted(stages - set(RANKS))}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    stage = stage_of(module)
    if stage is None:
        return
    upward = []
    for target in sorted(GRAPH[module]):
        other = stage_of(target)
        if other is None or other == stage or (stage in BASE and other in BASE):
            continue
        if RANKS[other] >= RANKS[stage]:
            upward.append(target)
    assert not upward, f"{module} imports a stage above or beside it: {upward}"


def test_no_import_circle():
    def resolve(target: str) -> str | None:
        # `from pipeline.read import normalize` names the module pipeline.read.normalize.
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        return target or None

    edges = {m: {t for t in map(resolve, GRAPH[m]) if t and t != m} for m in GRAPH}
    seen: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> None:
        if node in on_path:
            cycle = [*path[path.index(node) :], node]
            pytest.fail("import circle: " + " -> ".join(cycle))
        if node in seen:
            return
        seen.add(node)
        path.append(node)
        on_path.add(node)
        for nxt in sorted(edges[node]):
            visit(nxt)
        path.pop()
        on_path.discard(node)

    for module in sorted(edges):
        visit(module)


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from pipeline.run.engine import screen_extract\n")
    assert imports_of(bad) == {"pipeline.run.engine"}
    assert RANKS[stage_of("pipeline.run.engine") or ""] > RANKS["screen"]
