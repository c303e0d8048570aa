"""Static scan of a formula file for automatic differentiation, read as text by the grader.

One of two independent signals (the other is a trace-level hook inside the worker).
The scan never imports or runs the file. It reports, per top-level function, whether
it (or anything it refers to at module level) touches an autodiff entry point, or
uses a dynamic construct (exec, eval, __import__, importlib, getattr with a computed
name, sys.modules, private jax modules) that would let it reach one unseen: what
cannot be verified is treated as autodiff.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

AUTODIFF_NAMES = frozenset(
    {
        "grad",
        "value_and_grad",
        "vjp",
        "jvp",
        "jacrev",
        "jacfwd",
        "jacobian",
        "hessian",
        "linearize",
        "linear_transpose",
        "custom_vjp",
        "custom_jvp",
        "custom_gradient",
        "defvjp",
        "defjvp",
        "closure_convert",
        "checkpoint",
        "remat",
        "backward",
        "autograd",
        "GradientTape",
        "gradient",
        "jet",
    }
)
AUTODIFF_MODULES = (
    "torch",
    "tensorflow",
    "autograd",
    "jax._src",
    "jax.interpreters",
    "jax.experimental.jet",
    "jax.extend",
)
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "globals", "vars", "setattr", "delattr"})
DYNAMIC_MODULES = ("importlib", "sys", "builtins", "ctypes", "inspect", "gc", "marshal", "pickle", "types")


@dataclass(frozen=True)
class Finding:
    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def _module_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        return ",".join(a.name for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module or ""
    return None


def _direct_findings(node: ast.AST) -> list[Finding]:
    """Autodiff and dynamic constructs anywhere inside `node`."""
    found: list[Finding] = []
    for sub in ast.walk(node):
        line = getattr(sub, "lineno", 0)
        if isinstance(sub, ast.Attribute) and sub.attr in AUTODIFF_NAMES:
            found.append(Finding(line, f"uses .{sub.attr}"))
        elif isinstance(sub, ast.Attribute) and sub.attr in (
            "_src",
            "interpreters",
            "__dict__",
            "__globals__",
            "__builtins__",
            "modules",
        ):
            found.append(Finding(line, f"reaches into .{sub.attr}"))
        elif isinstance(sub, ast.Name) and sub.id in AUTODIFF_NAMES | {"__builtins__"}:
            found.append(Finding(line, f"uses {sub.id}"))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in DYNAMIC_CALLS:
            found.append(Finding(line, f"calls {sub.func.id}()"))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "getattr":
            if len(sub.args) < 2 or not isinstance(sub.args[1], ast.Constant):
                found.append(Finding(line, "calls getattr() with a computed name"))
            elif str(sub.args[1].value) in AUTODIFF_NAMES:
                found.append(Finding(line, f"uses getattr(..., {sub.args[1].value!r})"))
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            module = _module_name(sub) or ""
            names = [a.name for a in sub.names]
            for mod in module.split(","):
                if mod.startswith(AUTODIFF_MODULES) or mod.split(".")[0] in ("torch", "tensorflow", "autograd"):
                    found.append(Finding(line, f"imports {mod}"))
                elif mod.split(".")[0] in DYNAMIC_MODULES:
                    found.append(Finding(line, f"imports {mod}"))
            for name in names:
                if name in AUTODIFF_NAMES or name in ("_src", "interpreters"):
                    found.append(Finding(line, f"imports {name} from {module}"))
    return found


def _defined_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    return []


def scan_source(source: str, functions: Iterable[str]) -> dict[str, list[Finding]]:
    """For each requested top-level function: the findings that taint it (empty = clean).

    A module-level statement that is not a def (an import, an assignment, a bare call)
    taints the names it defines; a function is tainted by its own body and by every
    module-level name it refers to that is tainted, transitively. Module-level code
    that defines nothing (a bare call) taints every function.
    """
    tree = ast.parse(source)
    own: dict[str, list[Finding]] = {}
    refs: dict[str, set[str]] = {}
    global_findings: list[Finding] = []
    for stmt in tree.body:
        names = _defined_names(stmt)
        findings = _direct_findings(stmt)
        used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        if not names:
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                global_findings += findings
            continue
        for name in names:
            own.setdefault(name, []).extend(findings)
            refs.setdefault(name, set()).update(used - {name})
    tainted: dict[str, list[Finding]] = {}

    def taint(name: str, seen: frozenset[str]) -> list[Finding]:
        if name in tainted:
            return tainted[name]
        result = list(own.get(name, []))
        for other in sorted(refs.get(name, ())):
            if other in own and other not in seen:
                result += taint(other, seen | {other})
        tainted[name] = result
        return result

    return {f: global_findings + taint(f, frozenset({f})) for f in functions}


def scan_path(path: Path, functions: Iterable[str]) -> dict[str, list[Finding]]:
    """Scan a .py file or every .py file of a package directory (findings merged)."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    functions = list(functions)
    merged: dict[str, list[Finding]] = {f: [] for f in functions}
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        for name, findings in scan_source(text, functions).items():
            merged[name] += [Finding(f.line, f"{f.what} ({file.name})") for f in findings]
    return merged
