"""Which contract functions call which, read from the submission's source: a broken helper
told once, not as four unrelated mistakes.

A student who writes softmax once and calls it from softmax_jacobian, softmax_vjp and
cross_entropy_grad sees all four fail on the same inputs when softmax overflows. Each
function's own feedback is right, but the cause is one function. The grader reads, for each
contract function defined at the top level of a one-file submission, the other contract
functions its body names, directly or through top-level helpers of the same file (a
`_shifted_exp` both use). SubmissionGrade.summary then says "softmax_vjp calls softmax, which
fails too: fix softmax first".

This is the grader's reading of the text, made before any student code runs; it only adds
words to the feedback, never changes a mark. Anything it cannot read for certain (a package,
a name defined twice, a star import, a syntax error) gives no calls, and so no such words.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from handgrad.grading.stubs import bindings


def _top_level_defs(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The module's top-level functions by name, each bound nowhere else in the module (stubs'
    reading: a second def, an assignment, an import, a `global`); None where a star import
    makes the bindings unknowable (which def runs is then not certain from the text)."""
    counts: Counter[str] = Counter()
    if not bindings(tree, counts):
        return None
    return {
        stmt.name: stmt
        for stmt in tree.body
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and counts[stmt.name] == 1
    }


def _named(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def contract_calls(path: Path, names: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each contract function in `names` defined at the top level of the submission at
    `path` (a .py file), the other contract functions it names, directly or through top-level
    helpers that are not contract functions. {} where the file cannot be read for certain."""
    if not path.is_file():
        return {}
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    defs = _top_level_defs(tree)
    if defs is None:
        return {}
    contract = set(names)
    found: dict[str, frozenset[str]] = {}
    for name in contract & set(defs):
        reached: set[str] = set()
        seen = {name}
        todo = [defs[name]]
        while todo:
            for other in _named(todo.pop()) & set(defs):
                if other in contract:
                    reached.add(other)
                elif other not in seen:  # a helper: what it calls is what the function calls
                    seen.add(other)
                    todo.append(defs[other])
        reached.discard(name)
        if reached:
            found[name] = frozenset(reached)
    return found


def shared_causes(calls: Mapping[str, frozenset[str]], failed: Iterable[str]) -> list[str]:
    """One sentence per failing function that failing functions call, in `failed`'s order:
    'softmax_jacobian and softmax_vjp call softmax, which fails too: fix softmax first (their
    failures may be its own).' Only names in `failed` appear (the caller leaves hidden ones out)."""
    failing = list(dict.fromkeys(failed))
    lines = []
    for callee in failing:
        callers = [f for f in failing if callee in calls.get(f, ())]
        if not callers:
            continue
        who = callers[0] if len(callers) == 1 else ", ".join(callers[:-1]) + " and " + callers[-1]
        verb, their = ("calls", "its failures") if len(callers) == 1 else ("call", "their failures")
        lines.append(f"{who} {verb} {callee}, which fails too: fix {callee} first ({their} may be its own).")
    return lines
