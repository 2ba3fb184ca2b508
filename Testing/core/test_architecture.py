"""The shape of the package: arrows point down, and functions stay short.

Core modules (everything in ``lesionai`` that is not a task package) never import a task package,
except :mod:`lesionai.tasks`, the one table where the shared machinery meets the tasks. A task
package (and its training recipes) imports the core and itself, never another task.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from repo_paths import CORE_SOURCE

PACKAGE = CORE_SOURCE / "lesionai"
TASK_PACKAGES = ("severity", "spine", "nodule")
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def dotted(path: Path) -> str:
    parts = path.relative_to(CORE_SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = dotted(path).split(".") if path.name == "__init__.py" else dotted(path).split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def task_of(module: str) -> str | None:
    """The task a ``lesionai...`` module belongs to (its package or its training recipes), or None."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in TASK_PACKAGES:
        return parts[1]
    if len(parts) > 2 and parts[1] in ("training", "phantoms") and parts[2] in TASK_PACKAGES:
        return parts[2] if parts[1] == "training" else None
    return None


def test_the_walk_sees_the_package():
    names = {dotted(path) for path in modules()}
    assert {"lesionai.tasks", "lesionai.severity.pipeline", "lesionai.mrml.volumes"} <= names


@pytest.mark.parametrize("path", modules(), ids=lambda path: dotted(path))
def test_arrows_point_down(path):
    own = task_of(dotted(path))
    if dotted(path) == "lesionai.tasks":
        return
    reached = {task_of(name) for name in imported_modules(path) if name.startswith("lesionai.")} - {None, own}
    assert not reached, f"{dotted(path)} imports task package(s) {sorted(reached)}"


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_is_longer_than_60_lines():
    offenders = {dotted(path): long_functions(path) for path in modules() if long_functions(path)}
    assert not offenders, f"split these into named steps: {offenders}"
