"""The package layout holds: the matching engine's layers call only down, no source file grows
past the size the layout aims for, and import-linter fails the run on a broken layer rule."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENUE = ROOT / "bot4" / "venue"
# the engine's layers, bottom first: each class derives from the one before it
LAYERS = ["orderstate", "checks", "matching", "contingent", "engine"]
MAX_LINES = 700


def _methods(tree: ast.Module) -> set[str]:
    """The methods a module's classes implement (an abstract declaration is not one)."""
    return {node.name for cls in tree.body if isinstance(cls, ast.ClassDef)
            for node in cls.body if isinstance(node, ast.FunctionDef)
            and not any(isinstance(d, ast.Name) and d.id == "abstractmethod"
                        for d in node.decorator_list)}  # fmt: skip


def _self_calls(tree: ast.Module) -> set[str]:
    """The names of the methods a module calls on `self`."""
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"}  # fmt: skip


def test_the_engine_layers_call_only_down() -> None:
    """Matching and the layers under it never call up into contingent orders or the front:
    what fills set off is queued (`_trade_prices`, `_ended_legs`) and the layers above drain
    it; an OCO leg's fill ends its sibling through the order state below matching."""
    trees = {name: ast.parse((VENUE / f"{name}.py").read_text()) for name in LAYERS}
    for depth, name in enumerate(LAYERS):
        below = set().union(*(_methods(trees[n]) for n in LAYERS[: depth + 1]))
        above = set().union(*(_methods(trees[n]) for n in LAYERS[depth + 1 :])) - below
        assert not _self_calls(trees[name]) & above, name
    assert "_drain" in _self_calls(trees["engine"]) and "_drain" in _methods(trees["contingent"])


def test_no_source_file_is_over_the_size_the_layout_aims_for() -> None:
    sizes = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
             for path in (ROOT / "bot4").rglob("*.py")}  # fmt: skip
    assert max(sizes.values()) < MAX_LINES, max(sizes, key=sizes.__getitem__)


def test_a_broken_layer_rule_fails_lint_imports(tmp_path: Path) -> None:
    """A copy of the package whose core imports the venue: `lint-imports` (which `make lint`
    and so `make test` run) exits non-zero naming the broken contract."""
    shutil.copytree(ROOT / "bot4", tmp_path / "bot4",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    money = tmp_path / "bot4" / "core" / "money.py"
    money.write_text(money.read_text() + "\nfrom bot4.venue import book  # noqa: E402,F401\n")
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         timeout=300)  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "core is vocabulary: it imports nothing else of bot4 BROKEN" in run.stdout
    assert "bot4.core.money -> bot4.venue.book" in run.stdout
