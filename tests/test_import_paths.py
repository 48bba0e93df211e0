"""Old import paths keep working, and imports inside ``benchmarks`` flow one way between its parts.

``tests/data/legacy/public_names.json`` lists every public top-level name of every flat
``benchmarks`` module at 66bef20 (before the sub-packages); each must still import from its old path.
Import lines in the README, the docs, the scripts and the released dataset card must run as printed.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = json.loads((ROOT / "tests" / "data" / "legacy" / "public_names.json").read_text())
LAYERS = {"storage": 0, "analysis": 1, "pipeline": 2, "published": 3, "commands": 4}
"""Sub-packages of ``benchmarks``, lowest first: a part imports only parts at its level or below."""


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_name_of_an_old_module_imports_from_its_old_path(module: str) -> None:
    old = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(old, name)]
    assert not missing, f"{module} lost {missing}"


def test_old_paths_are_the_moved_modules_themselves() -> None:
    import benchmarks.storage.store
    import benchmarks.storage.table
    import benchmarks.store
    import benchmarks.table

    assert benchmarks.table is benchmarks.storage.table and benchmarks.store is benchmarks.storage.store
    from benchmarks.build import BuildSpec
    from benchmarks.pipeline import BuildSpec as moved

    assert BuildSpec is moved


def _import_lines(text: str) -> list[str]:
    """Every ``from benchmarks... import ...`` statement in ``text`` (parenthesised ones joined)."""
    found = re.findall(r"^\s*(from benchmarks[\w.]* import (?:\([^)]*\)|[^\n#]+))", text, re.MULTILINE)
    return [" ".join(line.split()) for line in found]


def _documented() -> list[tuple[str, str]]:
    sources = {"README.md": (ROOT / "README.md").read_text()}
    for path in [*sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "scripts").glob("*.py"))]:
        sources[str(path.relative_to(ROOT))] = path.read_text()
    # The dataset card's code block is a list of string literals in the card's writer.
    card = (ROOT / "benchmarks" / "storage" / "release.py").read_text()
    sources["dataset card"] = "\n".join(re.findall(r'"(from benchmarks[^"#]*)', card))
    return sorted({(where, line) for where, text in sources.items() for line in _import_lines(text)})


@pytest.mark.parametrize(("where", "line"), _documented())
def test_documented_imports_run(where: str, line: str) -> None:
    exec(line, {})


def test_the_dataset_card_prints_the_public_path() -> None:
    assert any("from benchmarks.table import open_table" in line for _, line in _documented())


def _benchmarks_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("benchmarks"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("benchmarks"))
    return names


@pytest.mark.parametrize("part", sorted(LAYERS))
def test_imports_inside_benchmarks_flow_one_way(part: str) -> None:
    wrong = []
    for path in sorted((ROOT / "benchmarks" / part).glob("*.py")):
        for name in _benchmarks_imports(path):
            pieces = name.split(".")
            target = pieces[1] if len(pieces) > 1 else ""
            if target not in LAYERS or LAYERS[target] > LAYERS[part]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def _runtime_imports(path: Path, package: str, modules: set[str]) -> set[str]:
    """Modules of ``package`` that ``path`` imports at run time (anywhere but ``if TYPE_CHECKING:``).

    ``from pkg import module`` counts as an import of ``pkg.module`` (a package's ``__init__`` runs
    before any of its modules anyway, so it is not an edge of its own).
    """
    tree = ast.parse(path.read_text())
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & modules
            found.update(submodules or {node.module})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
    return found


@pytest.mark.parametrize("package", ["benchmarks", "proxies"])
def test_no_import_cycles(package: str) -> None:
    """No module reaches itself through run-time imports (lazy ones included) inside ``package``."""
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (ROOT / package).rglob("*.py")
    }
    graph = {m: _runtime_imports(p, package, set(files)) & set(files) - {m} for m, p in files.items()}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [module, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
