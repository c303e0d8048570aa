"""Verdicts kept between grades: a function whose code is unchanged since its last grade
keeps that grade's verdict instead of being checked again.

A student iterating on one derivation re-grades a file in which one function changed; the
other functions' checks would only repeat what the last grade found (issue 18: a re-grade
of the solution took 13-18 s, one function alone 2.4-3 s). So the `handgrad` command keeps,
for each function a worker graded, its verdict under a key of everything that verdict can
depend on, and a later grade whose key is the same reports the kept verdict and runs no
worker for it. `--recheck` (and `--no-cache`) checks every function anew; the report names
the kept functions and the seed their inputs were drawn with.

What the key holds (`function_keys`, from the staged copy the scan read):

- The engine (`engine_key`): handgrad's and the reference's source, the JAX, jaxlib,
  NumPy and ml_dtypes versions, the Python version, machine and processor, the environment
  that reaches XLA and the workers (ENVIRONMENT), the options a verdict depends on (strict,
  autodiff, timeout, memory, fail-fast, the rubric's weight and visibility of the function,
  its tiers and partial credit), the grading device, the sandbox, and the seed where
  `--seed` gave one (without it, a kept verdict keeps the seed it was drawn with).
- The file's name: the module's `__name__`, which code may read.
- In a one-file submission whose top-level names are certain (stubs.bindings' reading), the
  function's own definition; every other contract function its code names, directly or
  through top-level helpers; everything else in the file (imports, helpers, classes,
  constants, module-level code, every def's decorators, defaults and annotations, which run
  at import), but not the body of `if __name__ == "__main__":` (never run when graded; its
  `else` is kept); and every contract function whose code may run at import.

No key, so checked on every grade (code_groups): a function whose reach touches module
state, or any function where one reaches LIBRARY_STATE (state the libraries keep for the
whole process), because its verdict may depend on which functions ran before it in the
same worker (grader.grade_many reuses a worker while each function passes, and
grader._call_related calls a function's siblings in its worker), which --jobs, --function
and the rubric decide, not the code; every function of a package or of a file with a star
import (its state is not read); a contract function bound otherwise than by one top-level
def.

Six red teams (2026-12-07) found eighteen ways an edit, or a grade under other conditions,
could keep a verdict that --recheck did not give; each is closed by a rule above and pinned
by tests/test_verdicts.py (UNSEEN_EDITS).

The code is compared as its syntax tree (`ast.dump`): comments and layout do not count. A
verdict that is not a clean pass can quote a line number (an exception's "at file.py:42")
and the file's name, so it is kept only where the positions of every statement its key holds
and the file's name are the same too.

What is never kept: a verdict in which any check timed out, ran out of memory, crashed or
broke the protocol (FunctionGrade.steady: those depend on the machine's load), the scan's
and the stubs' verdicts (made anew each grade, in milliseconds), and anything from a grade
without a full sandbox (`--insecure`: the submission ran with the grader's rights and
could have written the store). The store is a folder of JSON files beside the compiled
programs (compile_cache.root()/verdicts, this user's alone), pruned to MAX_ENTRIES; a file
that is unreadable or not ours is a miss, never an error.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import functools
import hashlib
import json
import os
import platform
import re
import stat
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from handgrad.allowlist import NUMBER_DTYPE_NAME
from handgrad.grading.stubs import bindings

MAX_ENTRIES = 20000
"""Verdicts kept (the least recently graded go first); one is about 1-3 KB."""


@dataclasses.dataclass(frozen=True)
class Key:
    text: str
    """Digest of the code and engine the verdict depends on (syntax, not layout)."""
    layout: str
    """Digest of where that code sits and the file's name: a verdict that can quote a line
    is kept only where this is the same too."""


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()


@functools.cache
def _source_digest() -> str:
    """handgrad's and the reference's own source: a changed check or tolerance is another engine."""
    import handgrad
    import reference

    h = hashlib.sha256()
    for package in (handgrad, reference):
        root = Path(str(package.__file__)).parent
        for file in sorted(root.rglob("*.py")):
            h.update(str(file.relative_to(root)).encode())
            h.update(hashlib.sha256(file.read_bytes()).digest())
    return h.hexdigest()


def engine_key(options: Any, name: str, device: str, sandbox_mode: str) -> str:
    """What a verdict of `name` depends on besides the submission's code (grader.Options)."""
    import jax
    import jaxlib
    import ml_dtypes
    import numpy

    rubric = options.rubric
    return _digest(
        _source_digest(),
        repr((jax.__version__, jaxlib.__version__, numpy.__version__, ml_dtypes.__version__)),
        repr((sys.version, platform.machine(), platform.system(), _cpu(), _cores(), options.jobs)),
        repr(sorted((k, v) for k, v in os.environ.items() if k.startswith(ENVIRONMENT))),
        repr(
            (
                options.strict,
                options.allow_autodiff,
                options.fail_fast,
                options.limits.timeout,
                options.limits.memory,
                options.limits.budget,
                options.limits.startup,
            )
        ),
        repr((rubric.weights[name], rubric.visibility[name], sorted((rubric.tiers or {}).items()), rubric.partial)),
        repr((device, sandbox_mode, "any" if options.seed is None else options.seed)),
    )


ENVIRONMENT = ("XLA_", "JAX_", "TF_", "HANDGRAD_SANDBOX", "HANDGRAD_CGROUP", "HANDGRAD_ZYGOTE", "MALLOC_")
"""Environment variables that reach the grader's or a worker's JAX and XLA (XLA_FLAGS passes
to every worker: --xla_cpu_enable_fast_math changes log1p, a smaller --xla_cpu_max_isa the
float16 programs), or how a worker runs: part of the engine."""


def _cores() -> int:
    """Cores this process may use: with --jobs, they set each worker's share, and so its
    memory cap (pool.address_space) and XLA's threads."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@functools.cache
def _cpu() -> str:
    """The processor's model and instruction sets: XLA:CPU compiles for the host's."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read(1 << 20).splitlines()
    except OSError:
        return platform.processor()
    return "\n".join(sorted({ln for ln in lines if ln.startswith(("model name", "flags", "vendor_id"))}))


def _names(node: ast.AST) -> set[str]:
    """The names `node` reads or binds, annotations included (a nested def's run each time
    the def does, and a walrus in one binds a name)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


LIBRARY_STATE = re.compile(
    r"numpy\.random|jax\.config|warnings|numpy\.(errstate|seterr\w*)|jax\.tree_util\.register\w*"
    r"|numbers|abc|collections\.abc|__future__"
)
"""Library paths (a path or any of its prefixes matching) that hold state of the process which
the allowlist lets a function read or change: NumPy's global generator, JAX's settings, the
warnings filters (a filter set to "error" makes NumPy's own warnings raise in any function),
NumPy's error state, JAX's pytree registry, the abstract base classes' registries (what
isinstance answers), `__future__.all_feature_names` (a list: a walk of every allowed name
and its allowed attributes found no other mutable one but jax.config's). A function that
names one may change what any other function computes, and is part of every function's
code."""


FREE_CALLS = re.compile(
    r"jax\.numpy\.(" + NUMBER_DTYPE_NAME.pattern + r"|finfo|iinfo|asarray|array|sqrt|exp|log|log1p|expm1)"
    r"|numpy\.(" + NUMBER_DTYPE_NAME.pattern + r"|finfo|iinfo)|math\.\w+"
)
"""Calls whose value at module level is no state: JAX arrays and NumPy scalars (immutable),
dtypes and their limits, Python floats. Anything else a module-level name is bound to by a
call (a list from jax.tree_util, a NumPy array, a RandomState) is state."""


def _path(node: ast.AST, imported: dict[str, str]) -> str:
    """The library path an attribute chain rooted at an imported name spells ("" if none)."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in imported:
        return ""
    return ".".join([imported[node.id], *reversed(attrs)])


def _reaches_library_state(node: ast.AST, imported: dict[str, str]) -> bool:
    """Whether `node` names a LIBRARY_STATE path, through the module's imports or its own."""
    imported = imported | {n: m for s in ast.walk(node) if isinstance(s, ast.stmt) for n, m in _imports(s).items()}
    for n in ast.walk(node):
        if isinstance(n, (ast.Attribute, ast.Name)):
            path = _path(n, imported)
            parts = path.split(".") if path else []
            if any(LIBRARY_STATE.fullmatch(".".join(parts[:k])) for k in range(1, len(parts) + 1)):
                return True
    return False


def _state_free(value: ast.AST, free: set[str], imported: dict[str, str]) -> bool:
    """Whether a module-level value binds no state of its own: literals, arithmetic and
    tuples of them, names bound so, library attributes (`jnp.float16`: the library's
    object, which any function reaches through the import anyway) and FREE_CALLS of such
    values."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Name):
        return value.id in free or value.id in imported
    if isinstance(value, ast.UnaryOp):
        return _state_free(value.operand, free, imported)
    if isinstance(value, ast.BinOp):
        return _state_free(value.left, free, imported) and _state_free(value.right, free, imported)
    if isinstance(value, ast.Tuple):
        return all(_state_free(e, free, imported) for e in value.elts)
    if isinstance(value, ast.Attribute):
        return _state_free(value.value, free, imported)
    if isinstance(value, ast.Call):
        args = [*value.args, *(k.value for k in value.keywords)]
        path = _path(value.func, imported)
        if not FREE_CALLS.fullmatch(path):
            return False
        if path.startswith("jax."):  # (what JAX returns is immutable, whatever it was made of)
            return all(_state_free(a, free, imported) or _literal_list(a, free, imported) for a in args)
        # NumPy's: np.float32([0.0]) or of an array is a writable ndarray; of a number, a scalar.
        return all(_scalar(a) or (_path(a, imported) and _state_free(a, free, imported)) for a in args)
    return False


def _scalar(node: ast.AST) -> bool:
    """A number written out: 1.0, -2, 1e-7."""
    while isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool))


def _literal_list(node: ast.AST, free: set[str], imported: dict[str, str]) -> bool:
    """A list of state-free values passed to a FREE_CALL (`jnp.array([1.0, 2.0])`: copied)."""
    return isinstance(node, ast.List) and all(_state_free(e, free, imported) for e in node.elts)


Bodied = TypeVar("Bodied", bound=ast.stmt)


def _without_body(node: Bodied) -> Bodied:
    """`node` with its body left out: of a def, what runs at import (decorators, defaults,
    annotations) and the name it binds; of `if __name__ == "__main__":`, what runs when graded
    (its test and its `else`)."""
    bare = copy.copy(node)
    bare.body = [ast.Pass()]  # type: ignore[attr-defined]
    return bare


def _position(node: ast.AST) -> str:
    return ",".join(str(getattr(n, a, "")) for n in ast.walk(node) for a in ("lineno", "col_offset"))


def function_keys(
    path: Path, names: Iterable[str], engine: dict[str, str], siblings: Mapping[str, Iterable[str]] | None = None
) -> dict[str, Key]:
    """The key of each function in `engine` (its engine_key by name) for the submission at
    `path` (a .py file or a package folder), `names` being every contract function (those
    not graded now are still not helpers); {} where it cannot be read."""
    names = list(names)
    wanted = [n for n in names if n in engine]
    try:
        if path.is_dir():  # a package: its modules' state is not read, so nothing is kept
            return {}
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    read = code_groups(tree, names, siblings)
    if read is None:  # names the reading cannot be certain of (a star import): nothing is kept
        return {}
    # The file's name too: it is the module's __name__, which the code may read.
    base_text = _digest(
        path.name, *(ast.dump(s) for s in read.rest), *(ast.dump(_without_body(d)) for d in read.own.values())
    )
    base_layout = [path.name, *(_position(s) for s in read.rest)]
    keys: dict[str, Key] = {}
    for name in wanted:
        if name in read.own:
            if name not in read.groups:  # its verdict may depend on the order functions run in
                continue
            group = sorted(read.groups[name])
        elif name in read.unbound and read.missing_kept:  # what the file defines is its code
            group = sorted(read.at_import)
        else:  # bound otherwise (an assignment, two defs, an import): checked every time
            continue
        code = (f"{g}\0{ast.dump(read.own[g])}" for g in group)
        layout = _digest(*base_layout, *(_position(read.own[g]) for g in group))
        keys[name] = Key(_digest(engine[name], name, base_text, *code), layout)
    return keys


Def = ast.FunctionDef | ast.AsyncFunctionDef


@dataclasses.dataclass(frozen=True)
class Reading:
    groups: dict[str, frozenset[str]]
    """For each contract function defined once at the top level whose verdict can be kept, the
    contract functions whose whole code that verdict depends on: itself, those it names
    directly or through helpers, and those whose code runs at import (`at_import`)."""
    rest: list[ast.stmt]
    """The top-level statements every verdict depends on: all but those defs and the body of
    `if __name__ == "__main__":`."""
    own: dict[str, Def]
    """Those defs by name (kept or not)."""
    at_import: frozenset[str]
    """Contract functions whose code may run at import (named by module code or by a def's
    decorators, defaults or annotations; decorated otherwise than by a WRAPPER): whether the
    module imports, and what it binds, depend on them."""
    missing_kept: bool
    """Whether the verdict of a function the file does not define can be kept."""
    unbound: frozenset[str]
    """The contract functions nothing in the module binds (stubs.bindings' count): missing."""


def code_groups(
    tree: ast.Module, wanted: Iterable[str], siblings: Mapping[str, Iterable[str]] | None = None
) -> Reading | None:
    """How the module's contract functions in `wanted` depend on its code; None where a star
    import makes the module's names uncertain.

    A function whose reach touches state (module state, state a def keeps that others call
    it through, LIBRARY_STATE), or whose group holds one that does, gets no group: its
    verdict may depend on which functions ran before it in the same worker (grade_many
    reuses a worker while each function passes; _call_related calls a function's siblings
    in its worker), which --jobs, --function and the rubric decide, not the code; `siblings`
    (grader._related: the functions called in each one's worker before its first check is
    repeated) count as in its group for that. Such a function is checked on every grade. So
    is one whose reach catches what running short of memory raises (anything but NARROW_CATCHES: what it
    computes then depends on the memory left, which --jobs, the cgroup and its siblings
    decide), and one bound otherwise than by one top-level def.
    """
    from handgrad.scan import _is_main_guard, _rebinds_module_name

    counts: Counter[str] = Counter()
    if not bindings(tree, counts):
        return None
    once = {
        s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and counts[s.name] == 1
    }
    wanted = list(wanted)
    own = {n: once[n] for n in wanted if n in once}
    helpers = {n: d for n, d in once.items() if n not in own}
    main_runs = _rebinds_module_name(tree)
    rest = [s if main_runs or not _is_main_guard(s) else _without_body(s) for s in tree.body if s not in own.values()]

    # Module state: names bound at the top level to anything but a state-free value (a class,
    # a list, a NumPy array, a lambda, ...), every `global`, every module-level name some code
    # stores into (`S[0] = ...`, `S.x = ...`, `S += ...`, `del S[0]`), whatever it was bound to,
    # and defs that may keep state.
    imported = {n: m for s in rest for n, m in _imports(s).items() if counts[n] == 1}
    free: set[str] = set()
    for stmt in rest:
        if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) and counts[t.id] == 1 for t in stmt.targets):
            if _state_free(stmt.value, free, imported):
                free.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
            if path := _path(stmt.value, imported):  # `R = np.random`: R names what it names
                imported.update((t.id, path) for t in stmt.targets if isinstance(t, ast.Name))
    top = {n for s in rest for n in _bound_names_at_top(s)}
    declared = {n for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal)) for n in node.names}
    state = (top - free - set(imported) - set(helpers)) | declared | (_stored_into(tree) & top)
    state |= {n for n, d in once.items() if not _plain_def(d, free, imported)}

    def reach(start: Iterable[ast.AST]) -> tuple[set[str], set[str]]:
        """(contract functions, helpers) named from `start`, through helpers and those functions."""
        found: set[str] = set()
        seen: set[str] = set()
        todo = list(start)
        while todo:
            for name in _names(todo.pop()):
                if name in own and name not in found:
                    found.add(name)
                    todo.append(own[name])
                elif name in helpers and name not in seen:
                    seen.add(name)
                    todo.append(helpers[name])
        return found, seen

    def touches(node: ast.AST) -> bool:
        return any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in ast.walk(node)) or bool(_names(node) & state)

    # What runs at import: module code, every def's signature, and a def decorated otherwise
    # than by a WRAPPER (its decorator may call it), whole.
    called_at_import = {n for n, d in once.items() if not _wrapped_only(d, imported)}
    runs: list[ast.AST] = [s for s in rest if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    runs += [_without_body(d) for d in once.values()] + [once[n] for n in called_at_import]
    at_import = reach(runs)[0] | (called_at_import & set(own))
    # A def that keeps state is stateful once anything else names it (its callers share it).
    named = {n for s in [*rest, *own.values()] for n in _names(s)}
    reached = {n: reach([d]) for n, d in own.items()}
    code = {n: [d, *(helpers[h] for h in reached[n][1])] for n, d in own.items()}  # (its def and its helpers)
    # State the libraries keep for the process may change what any function computes.
    process = {n for n in own if any(_reaches_library_state(x, imported) for x in code[n])}
    stateful = process | {
        n for n in own if any(touches(x) or _catches_broadly(x) for x in code[n]) or (n in state and n in named)
    }
    if any(_catches_broadly(s) for s in runs):  # (module code that runs at import catching so: every function)
        stateful |= set(own)
    groups: dict[str, frozenset[str]] = {}
    for name in own:
        group = {name} | reached[name][0] | at_import | process
        if not (group | set((siblings or {}).get(name, ()))) & stateful:
            groups[name] = frozenset(group)
    missing_kept = not (at_import | process) & stateful
    return Reading(groups, rest, own, frozenset(at_import), missing_kept, frozenset(n for n in wanted if not counts[n]))


NARROW_CATCHES = frozenset({
    "ValueError", "TypeError", "KeyError", "IndexError", "LookupError", "AttributeError", "NameError",
    "UnboundLocalError", "ZeroDivisionError", "OverflowError", "FloatingPointError", "ArithmeticError",
    "AssertionError", "NotImplementedError", "StopIteration",
})  # fmt: skip
"""Exception classes a handler may catch and still not depend on the resources its worker has
left. Running short raises others (MemoryError, RecursionError, XLA's RESOURCE_EXHAUSTED as a
RuntimeError), and Exception, BaseException or a bare `except:` catch those too. A handler
counts as narrow only where its type is written out as these (a name, `builtins.X`, or a
tuple of them): a computed one (`(ValueError,) + (MemoryError,)`, `tuple([...])`) or a
class of the submission's own may catch anything."""


def _catches_broadly(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.ExceptHandler):
            caught = [] if n.type is None else n.type.elts if isinstance(n.type, ast.Tuple) else [n.type]
            plain = all(isinstance(c, (ast.Name, ast.Attribute)) for c in caught)
            if n.type is None or not plain or any(ast.unparse(c).split(".")[-1] not in NARROW_CATCHES for c in caught):
                return True
    return False


def _stored_into(tree: ast.AST) -> set[str]:
    """Names at the root of a subscript or attribute that something stores into or deletes,
    or that an augmented assignment rebinds."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            root = node.value
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name):
                found.add(root.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return found


def _imports(stmt: ast.stmt) -> dict[str, str]:
    """The names an import statement binds, each with the module path it names (relative
    imports start with a dot)."""
    if isinstance(stmt, ast.Import):
        return {a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        base = "." * stmt.level + (stmt.module or "")
        return {a.asname or a.name: f"{base}.{a.name}" for a in stmt.names}
    return {}


WRAPPERS = frozenset({"jit", "jax.jit", "vmap", "jax.vmap"})
"""Decorators from JAX that only wrap a function (they never call it at import), also as
`functools.partial(jax.jit, ...)`. Without keywords they keep no state a caller could see
(a trace cache gives what the function computes from the same shapes and dtypes); with
them (static_argnames, ...) the cache is keyed by static values that compare equal across
types, `(1.0,)` and `(np.float32(1.0),)`, so whichever caller traces first decides what
another gets: state, shared by everyone who calls the function."""


def _wrapper(dec: ast.expr, imported: dict[str, str]) -> tuple[bool, bool]:
    """(is a WRAPPER, keeps no state) for one decorator, taken from imports (not a name of
    the submission's own)."""
    keywords = False
    if isinstance(dec, ast.Call) and ast.unparse(dec.func) in ("partial", "functools.partial") and dec.args:
        if not _path(dec.func, imported) or len(dec.args) > 1:
            return False, False
        keywords, dec = bool(dec.keywords), dec.args[0]
    if ast.unparse(dec) not in WRAPPERS or not _path(dec, imported):
        return False, False
    return True, not keywords


def _wrapped_only(d: Def, imported: dict[str, str]) -> bool:
    """Whether every decorator of `d` is a WRAPPER: else one may call it at import."""
    return all(_wrapper(dec, imported)[0] for dec in d.decorator_list)


def _plain_def(d: Def, free: set[str], imported: dict[str, str]) -> bool:
    """Whether the def keeps no state of its own: state-free defaults, and only WRAPPERS
    without keywords."""
    defaults = [*d.args.defaults, *(v for v in d.args.kw_defaults if v is not None)]
    if not all(_state_free(v, free, imported) for v in defaults):
        return False
    return all(_wrapper(dec, imported)[1] for dec in d.decorator_list)


def _bound_names_at_top(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module (not inside functions, classes or
    lambdas): assignment targets and every other way the scan knows (imports, `except ...
    as`, match captures, defs; scan._bound_names)."""
    from handgrad.scan import _bound_names

    found: set[str] = set()
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        found.update(_bound_names(node))
        if node is not stmt and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # (their bodies bind their own names)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            break
        todo.extend(ast.iter_child_nodes(node))
    return found


class Store:
    """The kept verdicts: one JSON file per key in `folder` (this user's alone)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls) -> Store | None:
        """The store beside the compiled programs, pruned; None when the cache is off or the
        folder cannot be made ours."""
        from handgrad.grading import compile_cache

        base = compile_cache.root()
        if base is None:
            return None
        try:
            folder = compile_cache.private(base / "verdicts")
            _prune(folder, MAX_ENTRIES)
        except OSError:
            return None
        return cls(folder)

    def get(self, key: Key) -> Any:
        """The kept grade (grader.FunctionGrade, its feedback saying it was kept) or None."""
        from handgrad.grading.grader import FunctionGrade, TierVerdict

        file = self.folder / f"{key.text}.json"
        try:
            fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # (a link: refused, never followed)
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
                    return None
                doc = json.loads(f.read(1 << 20))
            fields = dict(doc["grade"])
            fields["tiers"] = tuple(TierVerdict(**{**t, "families": tuple(t["families"])}) for t in fields["tiers"])
            grade = FunctionGrade(**fields)
            seed, when = int(doc["seed"]), float(doc["when"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        if not grade.clean and doc.get("layout") != key.layout:  # its feedback may quote lines of another layout
            return None
        with contextlib.suppress(OSError):
            os.utime(file)  # read now: the last to be pruned
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
        note = (
            f"Kept from the grade of {stamp} (inputs drawn with seed {seed}): its code is unchanged since. "
            "--recheck checks it again."
        )
        return dataclasses.replace(grade, feedback=f"{grade.feedback}\n{note}", kept=True)

    def put(self, key: Key, grade: Any, seed: int) -> None:
        """Keep `grade` (a FunctionGrade a worker made) under `key`; never raises."""
        fields = dataclasses.asdict(grade)
        fields.pop("kept", None)
        doc = {"grade": fields, "layout": key.layout, "seed": seed, "when": time.time()}
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".new-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            os.replace(tmp, self.folder / f"{key.text}.json")
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


def _prune(folder: Path, keep: int) -> None:
    """Keep the `keep` most recently used verdicts in `folder`."""
    files = [
        f
        for f in folder.iterdir()
        if f.suffix == ".json" and not f.name.startswith(".new-") and f.is_file() and not f.is_symlink()
    ]  # (not another grade's entry being written)
    if len(files) <= keep:
        return
    for f in sorted(files, key=lambda f: f.stat().st_mtime)[: len(files) - keep]:
        with contextlib.suppress(OSError):
            f.unlink()
