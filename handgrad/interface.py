"""The contract's keyword parameters, read from a submission's source before anything runs.

The contract fixes `huber(a, y, delta=1.0)` and `huber_grad(a, y, delta=1.0)`: a caller may
pass delta by position or by name. The grader's checks pass it by name, so a function whose
delta sits elsewhere (`huber_grad(a, y, scale=1.0, delta=1.0)`), is keyword-only (`*, delta`)
or positional-only (`delta, /`) passed every check while `huber_grad(a, y, 0.5)` gives its
callers a wrong answer or a TypeError. This module finds those in a top-level `def` of the
contract's name (decorated or not) and says what a caller would meet. A function bound any
other way (an assignment, an import, a lambda) or taking `*args` is left to the checks, which
pass delta by name; so is a default other than the contract's, which the checks that leave
delta out catch by its values.

Only the parser runs here (no import), so the scan's child calls it (handgrad/scan.py).
"""

from __future__ import annotations

import ast

from reference.names import KEYWORDS


def _problem(name: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    keyword, position, default = KEYWORDS[name]
    given = ", ".join("ayzw"[:position])  # the contract's arrays before the keyword (huber: a, y)
    contract = f"(the contract: {name}({given}, {keyword}={default}))"
    by_position, by_name = f"{name}({given}, 0.5)", f"{name}({given}, {keyword}=0.5)"
    a = node.args
    positional = [p.arg for p in (*a.posonlyargs, *a.args)]
    if keyword in positional:
        at = positional.index(keyword)
        if at != position:
            took = positional[position] if position < len(positional) else None
            what = f"binds 0.5 to {took!r}" if took else "is a TypeError"
            where = f"{keyword} is parameter {at + 1} of {name}, not {position + 1}"
            return f"{where}: a caller's {by_position} {what} {contract}"
        if at < len(a.posonlyargs):
            return f"{keyword} is positional-only: a caller's {by_name} is a TypeError {contract}"
        return ""
    if a.vararg is not None:
        return ""
    if keyword in (p.arg for p in a.kwonlyargs) or a.kwarg is not None:
        return f"{keyword} is taken only by name: a caller's {by_position} is a TypeError {contract}"
    return f"{name} has no parameter {keyword}: a caller's {by_name} is a TypeError {contract}"


def _bindings(tree: ast.Module) -> dict[str, int]:
    """How many times each contract name with a keyword is bound anywhere in the module."""
    count = dict.fromkeys(KEYWORDS, 0)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names = [node.id]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names = list(node.names)
        for n in names:
            if n in count:
                count[n] += 1
    return count


def interface_problems(tree: ast.Module) -> dict[str, list[tuple[int, str]]]:
    """(line, what a caller would meet) per contract function with a keyword parameter whose
    one binding in the module is a top-level def that does not take the keyword as the
    contract says. A name bound more than once (redefined, reassigned, declared global) is left
    to the checks: which binding a caller meets is decided at run time."""
    bound = _bindings(tree)
    found: dict[str, list[tuple[int, str]]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and bound.get(node.name) == 1:
            problem = _problem(node.name, node)
            if problem:
                found[node.name] = [(node.lineno, problem)]
    return found
