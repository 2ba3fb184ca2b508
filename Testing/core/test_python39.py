"""Slicer 5.8 runs Python 3.9: the code must not use what only later Pythons understand.

``.ci/compat`` runs the tests on 3.9 itself; this check reads the source, so that ``make test`` on
any Python catches the usual slips: ``X | Y`` evaluated at run time (annotations without
``from __future__ import annotations``, ``isinstance``), ``match``, ``zip(strict=...)``,
``dataclass(slots=/kw_only=)``, ``itertools.pairwise`` and ``int.bit_count``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from repo_paths import REPO_ROOT

SOURCE_FOLDERS = ("LesionAICore", "SeverityScoring", "LesionSegmentation", "NoduleFusion", "Testing", "benchmarks")
NEWER_KEYWORDS = {"zip": {"strict"}, "dataclass": {"slots", "kw_only"}}
NEWER_ATTRIBUTES = {"pairwise", "bit_count"}


def python_files() -> list[Path]:
    return sorted(path for folder in SOURCE_FOLDERS for path in (REPO_ROOT / folder).rglob("*.py")
                  if "__pycache__" not in path.parts)


def has_union(node: ast.AST | None) -> bool:
    return node is not None and any(isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr)
                                    for part in ast.walk(node))


def annotations(tree: ast.AST) -> list[ast.AST]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg,
                         node.args.kwarg]
            found += [argument.annotation for argument in arguments if argument is not None] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return found


def newer_python_uses(tree: ast.AST, postponed: bool) -> list[str]:
    """``line: what`` for each construct Python 3.9 rejects or evaluates differently."""
    uses = [f"{node.lineno}: X | Y annotation" for node in annotations(tree) if not postponed and has_union(node)]
    for node in ast.walk(tree):
        name = getattr(node, "func", None)
        name = getattr(name, "id", getattr(name, "attr", None))
        if isinstance(node, ast.Call) and name in ("isinstance", "issubclass") and has_union(node.args[1]):
            uses.append(f"{node.lineno}: {name} with X | Y")
        if isinstance(node, ast.Call) and {k.arg for k in node.keywords} & NEWER_KEYWORDS.get(name, set()):
            uses.append(f"{node.lineno}: {name}() keyword from Python 3.10")
        if isinstance(node, ast.Attribute) and node.attr in NEWER_ATTRIBUTES:
            uses.append(f"{node.lineno}: {node.attr} (Python 3.10)")
        if type(node).__name__ == "Match":
            uses.append(f"{node.lineno}: match statement")
    return uses


def test_source_runs_on_python_3_9():
    offenders = {}
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        uses = newer_python_uses(ast.parse(text), "from __future__ import annotations" in text)
        if uses:
            offenders[path.relative_to(REPO_ROOT).as_posix()] = uses
    assert not offenders, f"these need Python 3.10+, Slicer 5.8 has 3.9: {offenders}"


def test_the_check_sees_what_3_9_rejects():
    sample = "def f(a: int | None) -> None:\n    isinstance(a, int | str)\n    zip(a, a, strict=True)\n"
    assert len(newer_python_uses(ast.parse(sample), postponed=False)) == 3
    assert len(newer_python_uses(ast.parse(sample), postponed=True)) == 2
    if sys.version_info >= (3, 10):  # 3.9 cannot even parse a match statement
        assert newer_python_uses(ast.parse("match a:\n    case _:\n        pass\n"), postponed=True) == \
            ["1: match statement"]
