"""Static scan of a formula file, read as text by the grader: never imported, never run.

One of two independent signals for automatic differentiation (the other is a trace-level
hook inside the worker). It reports, per top-level function, what taints it, directly
or through anything at module level it refers to:

- "autodiff": an autodiff entry point (jax.grad, vjp, jacrev, custom_vjp, ...,
  torch.autograd, private jax modules);
- "dynamic": a construct that could reach one unseen (exec, eval, __import__,
  importlib, getattr with a computed name, dunder attributes): what cannot be verified
  is treated as autodiff;
- "system": a system module (os, sys, subprocess, socket, signal, ctypes, threading,
  multiprocessing, shutil, pathlib, io) or open(): a formula has no need of them, and
  they are how a submission would attack its sandbox;
- "project": the grader's own packages (handwritten, reference, handgrad, ...), which
  hold the answers.
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
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "globals", "vars", "locals", "setattr", "delattr"})
DYNAMIC_MODULES = frozenset({"importlib", "builtins", "inspect", "gc", "marshal", "pickle", "types", "runpy", "code"})
SYSTEM_MODULES = frozenset({
    "os", "sys", "subprocess", "socket", "signal", "ctypes", "cffi", "threading", "multiprocessing", "shutil",
    "pathlib", "io", "resource", "atexit", "pty", "fcntl", "mmap", "tempfile", "urllib", "http", "asyncio",
})  # fmt: skip
SYSTEM_CALLS = frozenset({"open", "exit", "quit", "input", "breakpoint"})
PROJECT_PACKAGES = frozenset({"handwritten", "reference", "handgrad", "benchmarks", "tests", "conftest"})
HARMLESS_DUNDERS = frozenset({"__name__", "__doc__", "__init__", "__call__", "__future__"})


@dataclass(frozen=True)
class Finding:
    line: int
    what: str
    kind: str = "autodiff"
    """autodiff | dynamic | system | project"""

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


def _module_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        return ",".join(a.name for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module or ""
    return None


def _import_findings(node: ast.Import | ast.ImportFrom, line: int) -> list[Finding]:
    found: list[Finding] = []
    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    for mod in modules:
        top = mod.split(".")[0]
        if mod.startswith(AUTODIFF_MODULES) or top in ("torch", "tensorflow", "autograd"):
            found.append(Finding(line, f"imports {mod}", "autodiff"))
        elif top in DYNAMIC_MODULES:
            found.append(Finding(line, f"imports {mod}", "dynamic"))
        elif top in SYSTEM_MODULES:
            found.append(Finding(line, f"imports {mod}", "system"))
        elif top in PROJECT_PACKAGES or (isinstance(node, ast.ImportFrom) and node.level > 0 and not mod):
            found.append(Finding(line, f"imports {mod or 'from its own package'}", "project" if mod else "dynamic"))
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if alias.name in AUTODIFF_NAMES or alias.name in ("_src", "interpreters"):
                found.append(Finding(line, f"imports {alias.name} from {node.module}", "autodiff"))
    return found


def _direct_findings(node: ast.AST) -> list[Finding]:
    """Autodiff, dynamic, system and project constructs anywhere inside `node`."""
    found: list[Finding] = []
    for sub in ast.walk(node):
        line = getattr(sub, "lineno", 0)
        if isinstance(sub, ast.Attribute):
            if sub.attr in AUTODIFF_NAMES or sub.attr in ("_src", "interpreters"):
                found.append(Finding(line, f"uses .{sub.attr}", "autodiff"))
            elif sub.attr.startswith("__") and sub.attr not in HARMLESS_DUNDERS:
                found.append(Finding(line, f"reaches into .{sub.attr}", "dynamic"))
        elif isinstance(sub, ast.Name):
            if sub.id in AUTODIFF_NAMES:
                found.append(Finding(line, f"uses {sub.id}", "autodiff"))
            elif sub.id.startswith("__") and sub.id not in HARMLESS_DUNDERS:
                found.append(Finding(line, f"uses {sub.id}", "dynamic"))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            name = sub.func.id
            if name in DYNAMIC_CALLS:
                found.append(Finding(line, f"calls {name}()", "dynamic"))
            elif name in SYSTEM_CALLS:
                found.append(Finding(line, f"calls {name}()", "system"))
            elif name == "getattr":
                if len(sub.args) < 2 or not isinstance(sub.args[1], ast.Constant):
                    found.append(Finding(line, "calls getattr() with a computed name", "dynamic"))
                elif str(sub.args[1].value) in AUTODIFF_NAMES:
                    found.append(Finding(line, f"uses getattr(..., {sub.args[1].value!r})", "autodiff"))
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            found += _import_findings(sub, line)
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
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {f: [] for f in functions}  # the worker's import reports the syntax error itself
    own: dict[str, list[Finding]] = {}
    refs: dict[str, set[str]] = {}
    bare: list[tuple[list[Finding], set[str]]] = []
    for stmt in tree.body:
        names = _defined_names(stmt)
        findings = _direct_findings(stmt)
        used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        if not names:
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                bare.append((findings, used))
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

    # Module-level code that defines nothing (a bare call such as sys.exit(0)) runs at
    # import, so what it touches taints every function.
    global_findings: list[Finding] = []
    for findings, used in bare:
        global_findings += findings
        for name in sorted(used):
            if name in own:
                global_findings += taint(name, frozenset({name}))
    return {f: global_findings + taint(f, frozenset({f})) for f in functions}


def scan_path(path: Path, functions: Iterable[str]) -> dict[str, list[Finding]]:
    """Scan a .py file or every .py file of a package directory (findings merged)."""
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    functions = list(functions)
    merged: dict[str, list[Finding]] = {f: [] for f in functions}
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        for name, findings in scan_source(text, functions).items():
            merged[name] += [Finding(f.line, f"{f.what} ({file.name})", f.kind) for f in findings]
    return merged
