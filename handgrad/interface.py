"""The contract's keyword parameters, read from a submission's source before anything runs.

The contract fixes `huber(a, y, delta=1.0)` and `huber_grad(a, y, delta=1.0)`: a caller may
pass delta by position or by name. The grader's checks passed it by name only, so a function whose
delta sits elsewhere (`huber_grad(a, y, scale=1.0, delta=1.0)`), is keyword-only (`*, delta`)
or positional-only (`delta, /`) passed every check while `huber_grad(a, y, 0.5)` gives its
callers a wrong answer or a TypeError. This module finds those in the module's one binding of
the contract's name, a `def` at module scope (inside a module-level `if` or `try` too), and
says what a caller would meet.

Left to the checks, which pass delta by name in most families and by position in the others
(reference/keywords.py), since the source alone cannot say what a caller meets:
a name bound more than once at module scope (redefined, reassigned, declared `global`) or in
a module with a star import; a def with a decorator other than jax's own (`jit`,
`custom_jvp`, `custom_vjp`, `partial(jit, ...)`: they keep the signature), since a decorator
may change it; a def whose body reads its `*args`, or taking `**kwargs` beside a
positional-only delta; a default other than the contract's, which the checks that leave
delta out catch by its values.

Only the parser's tree is read (no import): the scan's child calls this (handgrad/scan.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from reference.names import KEYWORDS

KEEPS_SIGNATURE = frozenset({"jit", "custom_jvp", "custom_vjp"})
"""Decorators (by their last name: `jax.jit`, `jit`) that keep the def's parameters."""

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


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
            what = (
                f"binds 0.5 to {took!r}" if took else f"puts 0.5 in *{a.vararg.arg}" if a.vararg else "is a TypeError"
            )
            where = f"{keyword} is parameter {at + 1} of {name}, not {position + 1}"
            return f"{where}: a caller's {by_position} {what} {contract}"
        if at < len(a.posonlyargs) and a.kwarg is None:
            return f"{keyword} is positional-only: a caller's {by_name} is a TypeError {contract}"
        return ""
    if a.vararg is not None and _reads(node, a.vararg.arg):
        return ""
    if keyword in (p.arg for p in a.kwonlyargs) or a.kwarg is not None:
        if a.vararg is not None:  # (never read: 0.5 is dropped without an error)
            what = f"puts 0.5 in *{a.vararg.arg}, which it never reads, and keeps the default {keyword}"
            return f"{keyword} is taken only by name: a caller's {by_position} {what} {contract}"
        return f"{keyword} is taken only by name: a caller's {by_position} is a TypeError {contract}"
    return f"{name} has no parameter {keyword}: a caller's {by_name} is a TypeError {contract}"


def _reads(node: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether the def's body (nested functions included) reads `name`."""
    return any(isinstance(n, ast.Name) and n.id == name for stmt in node.body for n in ast.walk(stmt))


def _keeps_signature(decorator: ast.expr) -> bool:
    if isinstance(decorator, ast.Call):  # partial(jax.jit, static_argnames=...)
        called = decorator.func
        is_partial = isinstance(called, (ast.Name, ast.Attribute)) and _last(called) == "partial"
        return is_partial and bool(decorator.args) and _keeps_signature(decorator.args[0])
    return isinstance(decorator, (ast.Name, ast.Attribute)) and _last(decorator) in KEEPS_SIGNATURE


def _last(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _module_scope(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node that runs in the module's own scope: not the bodies of its functions,
    classes and lambdas (their defs and names are yielded; their bodies are not). Without
    recursion: a hostile file may nest deeper than Python's stack."""
    stack: list[ast.AST] = [tree]
    while stack:
        for child in ast.iter_child_nodes(stack.pop()):
            yield child
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _bound_names(node: ast.AST) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def interface_problems(tree: ast.Module) -> dict[str, list[tuple[int, str]]]:
    """(line, what a caller would meet) per contract function with a keyword parameter whose
    one module-scope binding is a def that does not take the keyword as the contract says."""
    count = dict.fromkeys(KEYWORDS, 0)
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in _module_scope(tree):
        names = _bound_names(node)
        if "*" in names:  # a star import may bind any name
            return {}
        for n in names:
            if n in count:
                count[n] += 1
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defs[n] = node
    found: dict[str, list[tuple[int, str]]] = {}
    for name, node in defs.items():
        if count[name] != 1 or not all(_keeps_signature(d) for d in node.decorator_list):
            continue
        problem = _problem(name, node)
        if problem:
            found[name] = [(node.lineno, problem)]
    if found:  # `global huber` in a function rebinds the module's name (walked only when it matters)
        declared = {n for node in ast.walk(tree) if isinstance(node, ast.Global) for n in node.names}
        found = {n: problems for n, problems in found.items() if n not in declared}
    return found
