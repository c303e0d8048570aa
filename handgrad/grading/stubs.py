"""Functions left as stubs, found from the source alone: reported at once, never run.

A student's file usually holds a few derivations and many untouched stubs (the template's
`raise NotImplementedError`). Running a stub in its own sealed worker costs a worker start
(a JAX import) to learn what the source already says, so the grader reads it here: a
contract function is a stub when

- it is a plain top-level `def` (no decorator) whose body, after an optional docstring, is
  only `raise NotImplementedError`, `pass`, `...` or a bare `return` / `return None`; and
- nothing else anywhere in the submission binds its name (no second def, assignment,
  import, `global`, `del`), and no file star-imports (which could rebind it unseen).

Anything less certain is left to the worker, which finds the same stub by calling it. The
verdict is the grader's own reading of the text, made before any student code runs, so a
submission cannot influence it except by writing a stub, which only costs its own marks.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Literal

StubKind = Literal["raises", "returns-none"]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _raises_not_implemented(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.Raise) or stmt.cause is not None or stmt.exc is None:
        return False
    exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _does_nothing(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
        return True
    return isinstance(stmt, ast.Return) and (
        stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
    )


def stub_kind(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> StubKind | None:
    """What the body of `fn` does when it is a stub, else None."""
    if fn.decorator_list:
        return None
    body = fn.body[1:] if fn.body and _is_docstring(fn.body[0]) else fn.body
    if len(body) == 1 and _raises_not_implemented(body[0]):
        return "raises"
    if all(_does_nothing(s) for s in body):
        return "returns-none"
    return None


def bindings(tree: ast.AST, counts: Counter[str]) -> bool:
    """Count every binding of every name in `tree`; False when a star import makes the
    bindings unknowable."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] += 1
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            counts[node.id] += 1
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return False
                counts[alias.asname or alias.name.split(".")[0]] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            counts.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            counts[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            counts[node.rest] += 1
        elif isinstance(node, ast.ExceptHandler) and node.name:
            counts[node.name] += 1
    return True


def find_stubs(path: Path, names: tuple[str, ...] | list[str]) -> dict[str, StubKind]:
    """The contract functions in the submission at `path` (a .py file or a package
    directory) that are certainly stubs. Unreadable or unparsable files make the answer
    empty: the worker (or the scan) will say what is wrong with them."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if p.is_file())
    counts: Counter[str] = Counter()
    found: dict[str, StubKind] = {}
    wanted = set(names)
    for file in files:
        try:
            tree = ast.parse(file.read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            return {}
        if not bindings(tree, counts):
            return {}
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in wanted:
                kind = stub_kind(stmt)
                if kind is not None:
                    found[stmt.name] = kind
    return {name: kind for name, kind in found.items() if counts[name] == 1}
