"""The allowlist check of a submission, read as text by the grader: never imported, never run.

A formula may use only what `ALLOWED` lists (modules and their names), the builtins of
`ALLOWED_BUILTINS`, its own code and, in a package, its own modules (by relative import
or by the package's own name).
Everything else is refused with file:line and the rule broken; docs/allowlist.md is the
policy in words for students and instructors.

Each finding has a kind, which the grader turns into the failure it reports:

- "autodiff": a derivative computed by the machine (jax.grad, jax.jacobian, a
  custom_jvp rule, complex numbers for complex-step differentiation, ...);
- "dynamic": code that hides or changes what it reaches (getattr with a computed
  name, eval, __import__, double-underscore internals, module patching, importlib,
  pickle, ...): what cannot be verified is treated like autodiff;
- "system": anything else off the allowlist (os, sys, open, scipy, a package file that
  is not a .py source, ...);
- "project": the grader's own packages (reference, handwritten, ...), which hold answers;
- "unreadable": a file that cannot be decoded or parsed as Python (it cannot run either).

Where a refusal counts: a construct inside a top-level function's reach (its body, the
helpers it calls, the names it uses, in any module of a package) costs that function
only. A construct in code that runs at import (module-level statements, decorators,
default arguments, class bodies, and everything they refer to) costs every function.
Code under `if __name__ == "__main__":` is skipped: it never runs when graded (the
worker imports a submission under its own name, never as "__main__").
"""

from __future__ import annotations

import _string
import abc
import ast
import builtins
import dataclasses
import functools
import importlib
import importlib.util
import itertools
import math
import os
import re
import stat
import string
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from handgrad.allowlist import (
    ALLOWED,
    ALLOWED_BUILTINS,
    ALLOWED_DUNDER_ATTRIBUTES,
    ALLOWED_DUNDER_NAMES,
    ALLOWED_DUNDER_STORES,
    AUTODIFF_MODULES,
    AUTODIFF_NAMES,
    CALL_ONLY_BUILTINS,
    CLASS_DUNDERS,
    COMPLEX_NAMES,
    CONFIG_OPTIONS,
    CONTAINER_ATTRIBUTES,
    CONTAINER_BUILTINS,
    CONTAINER_ONLY_ATTRIBUTES,
    DIFFERENCE_QUOTIENTS,
    DYNAMIC_BUILTINS,
    DYNAMIC_MODULES,
    EXCEPTIONS,
    INSPECTORS,
    IS_LEAF_TAKERS,
    JAX_INTERNALS,
    LOOKUP_CODE_BUILTINS,
    NUMBER_DTYPE_NAME,
    NUMERICALLY,
    PROCESS_STATE_NAMES,
    PROJECT_PACKAGES,
    SELF_MATCHING,
    TYPE_CHECK_HOOKS,
    TYPE_ONLY,
    VALUE_ATTRIBUTES,
    VALUE_ATTRIBUTES_REFUSED,
    VALUE_NAMESPACES,
    AllExcept,
    names,
)
from handgrad.allowlist import DTYPE_PRODUCERS as DTYPE_PRODUCER_NAMES
from handgrad.interface import interface_problems

# ---- limits of the check -----------------------------------------------------------------

NUMPY_DTYPE_POSITIONS = {
    "asarray": 1, "array": 1, "zeros": 1, "ones": 1, "empty": 1, "full": 2, "zeros_like": 1, "ones_like": 1,
    "full_like": 2, "arange": 3, "linspace": 5, "eye": 3, "identity": 1, "sum": 2, "mean": 2, "prod": 2,
    "cumsum": 2,
}  # fmt: skip
"""NumPy's functions (of the allowlist) that make an array of a dtype they are given, and the
position of that dtype among their arguments (also `dtype=`). NumPy's own C code trusts what a
dtype says it is: a structured dtype whose fields' sizes overflow its item size (a red team's
`{"names": ["a"], "formats": [(np.float64, (2**28 - 1,))], "offsets": [16], "itemsize": 16}`)
made a 32-byte array with a writable 2 GiB field over the heap, and a StringDType array viewed
with another's dtype read outside its strings (2026-12-07). So wherever NumPy may be handed a
dtype, it must be one that is known to be plain (_static_dtype)."""
NUMERIC_DTYPE_STRING = re.compile(r"[<>=|]?(bool|u?int(8|16|32|64)|float(16|32|64)|bfloat16|[?]|b1|[iu][1248]|f[248])")
"""A dtype written as a string that names a plain number type ("float32", "f8", "<i4")."""
DTYPE_PRODUCERS = frozenset(f"jax.numpy.{name}" for name in DTYPE_PRODUCER_NAMES)
"""allowlist.DTYPE_PRODUCERS by path."""
DTYPE_FIELD_WHY = (
    "`obj.dtype` is taken for a plain dtype wherever NumPy may be given one, so an object of yours may"
    " keep only a named dtype (`jnp.float32`), `x.dtype` or `jnp.result_type(...)` under that name"
)
DTYPE_METHODS = {"astype": 0, "view": 0, "sum": 1, "mean": 1, "prod": 1, "cumsum": 1, "cumprod": 1, "std": 1, "var": 1}
"""Methods of arrays (NumPy's too) that take a dtype, and its position (`a.cumsum(0, "O")`)."""
DTYPE_KEEPERS = frozenset({"numpy.iinfo", "numpy.finfo", "jax.numpy.iinfo", "jax.numpy.finfo"})
"""Library classes that keep the dtype they are given as their `.dtype` (with jax.ShapeDtypeStruct):
a red team's `np.iinfo((np.int64, spec)).dtype` was an int64 with an overflowing field."""
DTYPE_MAKERS = frozenset({"numpy.dtype", "jax.numpy.dtype", "numpy.result_type", "numpy.promote_types"})
"""Library functions that make a dtype of what they are given (NumPy's own: jnp.result_type and
jnp.promote_types give only number types in the worker). Their every argument must be a static
dtype, so that no dtype a submission holds is anything else: a red team's `np.dtype(spec)`,
held as a value, made an array of itself through its `.type` (`np.void(data, dtype)`)."""
DTYPE_POSITIONS = {
    **{f"numpy.{f}": at for f, at in NUMPY_DTYPE_POSITIONS.items()},
    "jax.ShapeDtypeStruct": 1,
    **dict.fromkeys(DTYPE_KEEPERS, 0),
}
"""Where a library call takes its dtype, by the callee's path."""
DTYPE_CHECKING = ("jax.numpy.", "jax.lax.", "jax.random.", "jax.nn.", "jax.scipy.")
"""JAX's array functions, which refuse any dtype but a number type they are given."""
FORWARDERS = frozenset({"jax.numpy.piecewise", "jax.numpy.apply_along_axis", "jax.numpy.apply_over_axes"})
"""Among them, those that hand their other keywords to a function they are given (as
`jax.tree_util.Partial` and `jax.pure_callback` do: a red team's Partial gave
np.concatenate a structured `dtype=`)."""
CALLED_DIRECTLY = frozenset(
    {
        "jax.config.update", "jax.debug.print", "numpy.errstate", "collections.defaultdict", *IS_LEAF_TAKERS,
        *(f"numpy.{f}" for f in NUMPY_DTYPE_POSITIONS), "jax.ShapeDtypeStruct", *DTYPE_KEEPERS, *DTYPE_MAKERS,
    }
)  # fmt: skip
"""Library functions whose arguments the check reads at the call: used in any other way
(`partial(jax.config.update, name)`, a name bound to them, `map(jax.debug.print, ...)`) they
are refused. So are str's FORMATTERS (`fmt = str.format`), for the same reason."""
ERRSTATE_MODES = ("all", "divide", "over", "under", "invalid")
ERRSTATE_ACTIONS = ("ignore", "warn", "raise", "print")
"""What np.errstate may be given (its "call" and "log" actions and `call=` run a function of the
submission's from NumPy's C loops: _check_errstate)."""
LAZY_MAKERS = names("map filter")
"""Builtins whose objects run code of the submission's each time they are iterated."""
ITER = names("iter")
LAZY_WRAPPERS = names("zip enumerate reversed") | ITER
"""Builtins whose objects are lazy where an argument is (`zip(map(f, a), b)`)."""
LAZY_CONSUMERS = names("list tuple set frozenset dict sorted sum min max any all next")
"""Builtins that iterate a lazy argument to its end (or to its first item) where they are called,
holding what they iterate: _note_consumed."""
LAZY_ITERATING = LAZY_CONSUMERS | LAZY_MAKERS | LAZY_WRAPPERS
"""Builtins whose call takes its lazy arguments where they are made (a lazy one's own object
must be consumed in turn)."""
DEFAULT_FACTORIES = names("list dict set frozenset tuple int float bool str")
"""What a defaultdict may be given as its factory, named plainly (builtins that run no code of
the submission's): _check_defaultdict."""
MAX_FINDINGS = 500
"""Refusals recorded for one file: past these the file is refused as a whole (a file of
`eval` on every line once held 660,000 findings and 800 MiB in the grader)."""
MAX_SCOPE_DEPTH = 40
"""Functions, lambdas, classes and comprehensions nested deeper than this are not checked (each
name is looked up through every scope around it: the check's time is this times the size)."""
MAX_STAR_STEPS = 200_000
"""Steps the check may spend following names through star imports (each module imported by
star is searched for each name used): enough for any package that imports names it uses."""

COMPLEX_DTYPE_STRING = re.compile(
    r"[<>=|]?(c8|c16|c32|c64|complex(64|128|256|_)?|csingle|cdouble|clongdouble|cfloat|clongfloat|longcomplex|singlecomplex)"
)
COMPLEX_DTYPE_INSIDE = re.compile(r"complex(64|128|256)|\bc(8|16|32)\b")
"""A complex dtype's name inside a longer string (one a program could slice out)."""
COMPLEX_TYPE_CODE = re.compile(r"[<>=|]?[FDG]")
"""NumPy's one-letter codes for complex dtypes, refused where a dtype is expected."""
DTYPE_TAKERS = names(
    """asarray array zeros ones empty full zeros_like ones_like empty_like full_like astype view dtype
    convert_element_type arange linspace eye identity tri frombuffer fromstring iota broadcasted_iota
    result_type promote_types can_cast issubdtype isdtype finfo iinfo ShapeDtypeStruct normal uniform
    randint"""
)
"""Functions whose positional arguments may be dtypes (`jnp.result_type("D")` is complex128)."""
DUNDER_STRING = re.compile(r"__\w*|\w*__")
FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
"""A format field (`"{0.__class__}".format(x)`, `jax.debug.print("{x.__class__}", x=x)`):
str.format reads the attributes it names. Each pattern here runs in time linear in the
string's length (a student chooses the strings)."""
WORD = re.compile(r"\w+")
FORMATTERS = names("format format_map")
"""Methods of str that read the attributes their format fields name."""
POSITIONALS_READ = DTYPE_TAKERS | FORMATTERS | names("astype view dtype compile")
"""Callees whose positional arguments the check reads (a dtype, a format, XLA's options): a
computed `*args` in their call is refused (`jnp.zeros(*spec)` with spec = (3, "D"))."""
STRING_BUILDERS = names(
    """join format format_map decode encode replace translate upper lower swapcase title capitalize
    casefold strip lstrip rstrip center ljust rjust zfill expandtabs removeprefix removesuffix"""
)
"""Methods of str and bytes that make a new string (`"d".upper()` is NumPy's code for complex128)."""
TEXT_MAKERS = names("str repr type format chr")
"""Builtins whose result in a dtype's place is a type or string computed at run time."""
COMPLEX_STEP = "complex-step differentiation would find the derivative for you"
MAX_FILE_BYTES = 2 << 20
MAX_PACKAGE_FILES = 200
TOO_LARGE = "too many to check"
"""How a package refused as a whole for its size is described (nothing in it is then read)."""

# ---- findings ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    line: int
    what: str
    kind: str = "autodiff"
    """autodiff | dynamic | system | project | unreadable | interface (the contract's keyword
    parameter taken otherwise: handgrad/interface.py; not a refusal, the function's own failure)"""
    file: str = ""
    """The file, relative to the submission (a package's own path, or the file's name)."""

    def __post_init__(self) -> None:
        # File names and quoted source are the student's text, shown in the instructor's
        # terminal and reports: escape what is not printable (ANSI escapes, bidi overrides).
        object.__setattr__(self, "what", _printable(self.what))
        object.__setattr__(self, "file", _printable(self.file))

    def __str__(self) -> str:
        where = f"line {self.line}" if not self.file else f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.what}"


UNFOLLOWED = "refused with --allow-autodiff too: code the check cannot follow could reach anything"

NOTEBOOK_EXPORT = "a notebook exported to .py: delete or comment out the get_ipython() lines"
"""Said beside a refusal or an import error that involves get_ipython(): what nbconvert
writes for a magic (`get_ipython().system(...)`, `.run_line_magic(...)`)."""


def _calls_get_ipython(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "get_ipython" for n in ast.walk(node)
    )


def _findings(line: int, what: str, kind: str, file: str) -> list[Finding]:
    """A finding, and for dynamic access a second one of kind "system": `--allow-autodiff`
    lifts the autodiff and dynamic kinds, but `__import__("os")`, `eval`, `x.ctypes` or a
    module passed around reach what every other rule refuses, so they must stay refused."""
    found = [Finding(line, what, kind, file)]
    if kind == "dynamic":
        found.append(Finding(line, f"{what} ({UNFOLLOWED})", "system", file))
    return found


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _sort_key(f: Finding) -> tuple[str, int, str, str]:
    return (f.file, f.line, f.kind, f.what)


# ---- scopes: which binding a name refers to -------------------------------------------------

_Target = tuple[str, str, str | None]
"""What an import binds: ("lib", dotted path, None) for an allowlisted module or name;
("own", module key, name or None) for the submission's own module or name in it."""


class _TooComplex(Exception):
    """Code the check will not follow, for its cost: the file (or package) is refused as
    unreadable with this message, never checked for longer than its size allows."""

    line = 0


class _TooManyStars(_TooComplex):
    """Star imports that would cost more to follow than MAX_STAR_STEPS: the whole package is
    refused (on its __init__.py), whichever module the check was reading."""


@dataclass(eq=False)
class _Scope:
    kind: str  # module | class | function | comprehension
    parent: _Scope | None
    bound: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    imports: dict[str, list[_Target]] = field(default_factory=dict)
    depth: int = 0
    hows: dict[str, set[str]] = field(default_factory=dict)
    """How each name is bound here: "class" (a class statement or a namedtuple), "instance:C"
    (assigned a call of C), "param", or "other"."""
    self_name: str | None = None
    """A method's first parameter (`self`, or `cls` of a classmethod)."""
    self_kind: str = ""
    """"instance" (a plain method or a property) or "class" (a classmethod)."""
    self_decorators: tuple[str, ...] = ()
    """The method's decorators, each of which must be the builtin of that name."""
    plain_methods: set[str] = field(default_factory=set)
    """In a class body: its plain methods (which take any first argument when not bound)."""
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    """The class statements binding each name here (for their bases)."""
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    """The plain def statements binding each name here (for what they return)."""
    namedtuples: dict[str, ast.Call] = field(default_factory=dict)
    """The calls binding each name here that look like `namedtuple(...)` (checked where used)."""
    count: dict[str, int] = field(default_factory=dict)
    """How many statements bind each name here: a name bound twice (`def f` in an `if`, then
    again) may be either binding when it is used."""
    class_name: str = ""
    """A class body's class (its methods' `self` is own only where the class is)."""
    values: dict[str, list[tuple[ast.expr, _Scope] | None]] = field(default_factory=dict)
    """For each name bound here by a Name target: each binding's value and the scope it was
    written in, where it is a plain `name = value` (None for any other binding of it)."""

    def __post_init__(self) -> None:
        if self.parent is not None:
            self.depth = self.parent.depth + 1
            if self.depth > MAX_SCOPE_DEPTH:
                raise _TooComplex(f"functions, lambdas or comprehensions nested more than {MAX_SCOPE_DEPTH} deep")

    def bind(self, name: str, how: str = "other") -> None:
        self.bound.add(name)
        self.hows.setdefault(name, set()).add(how)
        self.count[name] = self.count.get(name, 0) + 1

    def resolve_all(self, name: str) -> list[_Scope | None]:
        """Every binding `name` may refer to here (None: a builtin). In a class body a name
        the class binds is looked up at run time in the class, then in the module, then in
        builtins (`class K: g = jax; jax = None` makes `K.g` the module): all of them."""
        scope = self.resolve(name)
        if scope is self and self.kind == "class" and name not in self.declared_nonlocal:
            module = self.module()
            return [scope, module if name in module.bound else None]
        return [scope]

    def resolve(self, name: str) -> _Scope | None:
        """The scope whose binding `name` refers to here; None for a builtin (or nothing)."""
        scope: _Scope | None = self
        first = True
        while scope is not None:
            if name in scope.declared_global:
                return scope.module() if name in scope.module().bound else None
            if (first or scope.kind != "class") and name in scope.bound:
                return scope
            first = False
            scope = scope.parent
        return None

    def home(self, name: str) -> _Scope:
        """The scope a binding of `name` here lands in (`global` and `nonlocal` move it)."""
        if name in self.declared_global:
            return self.module()
        if name in self.declared_nonlocal:
            scope = self.parent
            while scope is not None and scope.kind != "module":
                if scope.kind != "class" and (name in scope.bound or name in scope.declared_nonlocal):
                    return scope.home(name)
                scope = scope.parent
        return self

    def module(self) -> _Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class _Visit:
    node: ast.AST
    scope: _Scope
    owner: str | None
    """The top-level def or class whose body this is; None for code that runs at import."""
    cls: str | None = None
    """The top-level class whose body (running at import) this is."""
    skip_main: bool = False
    """On the module: skip the body of `if __name__ == "__main__":` (never run when graded)."""
    skip: frozenset[int] = frozenset()
    """Nodes that never run, by id, left unvisited (_never_run)."""


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    test = stmt.test
    sides = [test.left, *test.comparators]
    return (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    )


def _bound_names(node: ast.AST) -> list[str]:
    """The names a node binds other than by an assignment target (`ast.Name` stores are
    checked where they are): imports' aliases, `except ... as`, capture patterns, `global`
    and `nonlocal` declarations, function and class names."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    if isinstance(node, (ast.MatchAs, ast.MatchStar)):
        return [node.name] if node.name else []
    if isinstance(node, ast.MatchMapping):
        return [node.rest] if node.rest else []
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    return []


def _rebinds_module_name(tree: ast.Module) -> bool:
    """Whether anything in the module binds `__name__` (which the check refuses): then
    `if __name__ == "__main__":` may run when graded, and its body is checked too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id == "__name__":
            return True
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load) and node.attr == "__name__":
            return True  # another module's, which may be this one
        if "__name__" in _bound_names(node):
            return True
    return False


METHOD_DECORATORS = names("classmethod")
"""Builtin decorators after which a method's first parameter is still its own object (its class
for a classmethod); after any other (staticmethod, a wrapper of the student's) it may be anything."""
SAFE_BUILTIN_BASES = names("object tuple list dict Exception ValueError TypeError")
SAFE_LIBRARY_BASES = names("typing.NamedTuple typing.Generic typing.Protocol abc.ABC")
"""Bases an own class may have besides own classes: these builtins, and these library classes
by what they are (not by the name they are imported under)."""
DICT_LIBRARY_BASES = names("typing.TypedDict typing_extensions.TypedDict")
"""Bases whose classes make plain dicts (a TypedDict's instances are dicts): a class may be
built on them (_check_bases), though it is not one of the submission's own classes."""


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str | None]:
    return [d.id if isinstance(d, ast.Name) else None for d in node.decorator_list]


IMPLICIT_CLASSMETHODS = names("__init_subclass__ __class_getitem__")
"""Methods Python makes classmethods without a decorator: their first parameter is the class."""
IMPLICIT_STATIC = names("__new__")
"""A method Python makes a staticmethod: its first parameter is whatever the call passes."""


def _method_self(scope: _Scope, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """Mark a method's own first parameter on its scope (`scope`): the instance for a plain method
    or a property, the class for a classmethod; none after another decorator or for a staticmethod."""
    decorators = _decorator_names(node)
    first = [*node.args.posonlyargs, *node.args.args][:1]
    if not first or not all(d in METHOD_DECORATORS for d in decorators) or node.name in IMPLICIT_STATIC:
        return
    scope.self_name = first[0].arg
    scope.self_kind = "class" if "classmethod" in decorators or node.name in IMPLICIT_CLASSMETHODS else "instance"
    scope.self_decorators = tuple(d for d in decorators if d is not None)


def _own_class_statement(node: ast.ClassDef) -> bool:
    """A class statement whose name stays bound to the class it makes, whose instances it makes
    itself: no keyword (a metaclass), no `__new__`, decorators and bases named plainly, a base
    perhaps subscripted (`Generic[T]`): which library names they are is checked where the
    class is used (_ModuleScan._own_class: only SAFE_DECORATORS, and SAFE_SUBSCRIPTED bases)."""
    new = "__new__" in _class_body_names(node)
    plain_bases = all(isinstance(b.value if isinstance(b, ast.Subscript) else b, ast.Name) for b in node.bases)
    plain_decorators = all(_dotted(d) is not None for d in node.decorator_list)
    return plain_decorators and not node.keywords and not new and plain_bases


def _class_body_names(node: ast.ClassDef) -> set[str]:
    """Every name a class body binds, in compound statements too (`if True: def __new__`),
    not in the functions, lambdas and classes nested in it."""
    return {name for n in _own_body(node) for name in _every_bound_name(n)}


def _dotted(expr: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    return [expr.id, *reversed(parts)] if isinstance(expr, ast.Name) else None


def _library_name(scope: _Scope, expr: ast.expr) -> str | None:
    """The library name `expr` (a name or attribute chain) means, looked up from `scope`,
    where its first name is bound only by imports of one library name; None otherwise."""
    parts = _dotted(expr)
    if parts is None:
        return None
    if len(scope.resolve_all(parts[0])) > 1:
        return None  # (in a class body that binds it: the module's name, or a builtin, until then)
    home = scope.resolve(parts[0])
    imported = home.imports.get(parts[0], []) if home is not None else []
    paths = {t[1] for t in imported if t[0] == "lib"}
    if home is None or home.hows.get(parts[0]) != {"import"} or len(paths) != 1 or len(imported) != len(paths):
        return None
    return ".".join([paths.pop(), *parts[1:]])


NAMEDTUPLE_MAKERS = names("collections.namedtuple typing.NamedTuple")
"""What a call must be, by what it is and not by its spelling, to make a namedtuple class."""
SAFE_DECORATORS: frozenset[str] = frozenset()
"""Class decorators that hand back the class they are given, unchanged (none since
register_pytree_node_class left the list: jaxlib's C++ calls the class's flatten on nodes it
does not own, IS_LEAF_TAKERS)."""
MAX_IMPORT_HOPS = 16
"""Imports followed from a name to the class statement it takes (`from .helpers import Scaled`)."""
METACLASS_BASES = names("typing.Protocol abc.ABC")
"""Safe library bases whose metaclass decides isinstance (ABCMeta): an ABC's `register` or a
runtime protocol makes objects of any type its instances."""
SAFE_SUBSCRIPTED = names("typing.Generic typing.Protocol")
"""Library bases an own class may name subscripted (`Generic[T]`: the class itself)."""


def _children_of(mod: _Module, package: _Package | None) -> dict[str, str]:
    """The direct submodules of a package's module (its __init__), by name: their keys."""
    if package is None or not mod.is_package:
        return {}
    prefix = f"{mod.key}." if mod.key else ""
    return {
        k[len(prefix) :]: k
        for k in package.keys
        if k.startswith(prefix) and k != mod.key and "." not in k[len(prefix) :]
    }


def _never_run(tree: ast.Module, children: frozenset[str] = frozenset()) -> frozenset[int]:
    """The nodes of a module that never run, by id: the body of a top-level `if
    TYPE_CHECKING:` (typing's constant False: imports for annotations only), where the module
    binds `TYPE_CHECKING` (or `typing`) by that import alone, has no `import *` and no submodule
    of that name (importing one binds it); and, under
    `from __future__ import annotations`, every annotation (kept as a string, never evaluated:
    `typing.get_type_hints` and `__annotations__` are refused)."""
    bindings: dict[str, list[ast.AST]] = {}
    stores = set()
    for node in ast.walk(tree):
        for name in _bound_names(node):
            bindings.setdefault(name, []).append(node)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bindings.setdefault(node.id, []).append(node)
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            stores.add(node.attr)
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return frozenset()

    def only_import(name: str, module: str, member: str | None) -> bool:
        found = bindings.get(name, [])
        return len(found) == 1 and any(
            (isinstance(n, ast.ImportFrom) and n.module == module and n.level == 0 and member is not None
             and any(a.name == member and (a.asname or a.name) == name for a in n.names))
            or (isinstance(n, ast.Import) and member is None and any(a.name == module and a.asname is None
                                                                      for a in n.names))
            for n in found
        )  # fmt: skip

    def type_checking(test: ast.expr) -> bool:
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            return only_import("TYPE_CHECKING", "typing", "TYPE_CHECKING")
        return (
            isinstance(test, ast.Attribute)
            and test.attr == "TYPE_CHECKING"
            and isinstance(test.value, ast.Name)
            and test.value.id == "typing"
            and only_import("typing", "typing", None)
        )

    skip = set()
    if "TYPE_CHECKING" not in stores and not children & {"TYPE_CHECKING", "typing"}:
        skip |= {id(s) for s in tree.body if isinstance(s, ast.If) and type_checking(s.test)}
    lazy = any(
        isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations" for a in s.names)
        for s in tree.body
    )
    if lazy:
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.annotation is not None:
                skip.add(id(node.annotation))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
                skip.add(id(node.returns))
            elif isinstance(node, ast.AnnAssign):
                skip.add(id(node.annotation))
    return frozenset(skip)


def _visits(tree: ast.Module, children: frozenset[str] = frozenset()) -> list[_Visit]:
    """Every node with its scope and owner, parents before children (no recursion).
    `children`: the names of a package module's submodules (_never_run)."""
    out: list[_Visit] = []
    skip_main = not _rebinds_module_name(tree)
    stack = [_Visit(tree, _Scope("module", None), None, skip_main=skip_main, skip=_never_run(tree, children))]
    while stack:
        v = stack.pop()
        out.append(v)
        try:
            stack.extend(reversed(_children(v)))
        except _TooComplex as exc:
            exc.line = getattr(v.node, "lineno", 0)
            raise
    return out


def _children(v: _Visit) -> list[_Visit]:
    node, scope, owner = v.node, v.scope, v.owner
    children: list[_Visit] = []

    def add(nodes: Iterable[ast.AST | None], s: _Scope = scope, o: str | None = owner, c: str | None = v.cls) -> None:
        children.extend(_Visit(n, s, o, c, skip=v.skip) for n in nodes if n is not None and id(n) not in v.skip)

    if isinstance(node, ast.Module):
        for stmt in node.body:
            never = isinstance(stmt, ast.If) and (id(stmt) in v.skip or (v.skip_main and _is_main_guard(stmt)))
            add(stmt.orelse if isinstance(stmt, ast.If) and never else [stmt])
    elif isinstance(node, ast.Lambda):
        add([*node.args.defaults, *node.args.kw_defaults])
        inner = _Scope("function", scope)
        add([node.args, node.body], inner, owner, None)  # at module level: part of its statement
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        add([*args.defaults, *args.kw_defaults, *node.decorator_list, node.returns])
        add([a.annotation for a in every if a is not None])
        inner = _Scope("function", scope)
        if scope.kind == "class":
            _method_self(inner, node)
        body_owner = owner if owner is not None else (v.cls or node.name)
        add([args, *node.body], inner, body_owner, None)
    elif isinstance(node, ast.ClassDef):
        add([*node.decorator_list, *node.bases, *node.keywords])
        body = _Scope("class", scope, class_name=node.name)
        add(node.body, body, owner, v.cls or (node.name if owner is None else None))
    elif isinstance(node, _COMPREHENSIONS):
        first, *rest = node.generators
        add([first.iter])
        elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        add([*elts, first.target, *first.ifs, *rest], _Scope("comprehension", scope))
    elif isinstance(node, ast.arguments):
        add([*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg])
    elif not isinstance(node, ast.arg):  # an argument's annotation belongs to the enclosing scope
        # (Load/Store/Del markers hold nothing: half of all nodes in name-heavy code, skipped.)
        add(n for n in ast.iter_child_nodes(node) if not isinstance(n, ast.expr_context))
    return children


# ---- one module ----------------------------------------------------------------------------


@dataclass
class _Unit:
    """A top-level def or class (by name): what its body uses and refers to."""

    findings: list[Finding] = field(default_factory=list)
    refs: set[tuple[str, str | None]] = field(default_factory=set)


@dataclass
class _Module:
    key: str
    """"" for the entry module; a package's other modules by dotted path ("impl", "sub.x")."""
    file: str
    is_package: bool
    import_time: _Unit = field(default_factory=_Unit)
    units: dict[str, _Unit] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    starred: set[str] = field(default_factory=set)
    """Names a star import of an own module may bind here (_ModuleScan.bind_stars)."""
    tree: ast.Module | None = None
    """Its parsed source, once read (None: unreadable, or not read)."""


class _Package:
    """What a module may import of its own package: its module keys, the package's name, and
    (once every module is bound) each module's top-level scope."""

    def __init__(self, keys: Iterable[str], name: str | None) -> None:
        self.keys = set(keys)
        self.name = name
        self.scopes: dict[str, _Scope] = {}
        self.own_attrs: set[str] = set()
        """Attribute names the package's own classes define (see _ModuleScan.own_attrs)."""
        self.plain_methods: set[str] = set()
        self.class_callables: set[str] = set()
        self.class_constants: set[str] = set()
        self.class_others: set[str] = set()
        self.steps = _Steps()
        self._library: dict[tuple[str, str], list[_Target]] = {}
        """library()'s answers, asked once every module is bound."""

    def shadowed(self, key: str, name: str) -> bool:
        """Whether module `key`, a package, binds `name`, one of its submodules, to anything but
        that submodule (`from .softmax import softmax`, `helpers = jax.jit(f)`, a star import).
        Python looks a package's attribute up before its submodule: `from . import helpers`,
        `import pkg.helpers as h` and `pkg.helpers` then all give that value."""
        child = f"{key}.{name}".strip(".")
        return child in self.keys and key in self.scopes and not self._binds_submodule(key, name, child, set())

    def _binds_submodule(self, key: str, name: str, child: str, seen: set[str]) -> bool:
        """Whether module `key` binds `name` to the module `child` and nothing else: by imports
        of it (`from . import helpers`), or by star imports of modules that do the same."""
        scope = self.scopes.get(key)
        hows = scope.hows.get(name, set()) if scope is not None else {"unknown"}
        if scope is None or key in seen or hows - {"import", "star"}:
            return False
        seen.add(key)
        parent = child.rpartition(".")[0]
        if not all(t in {("own", child, None), ("own", parent, name)} for t in scope.imports.get(name, [])):
            return False
        for star in scope.imports.get("*", []) if "star" in hows else []:
            self.steps.take()
            source = self.scopes.get(star[1])
            if source is None or (name in source.bound and not self._binds_submodule(star[1], name, child, seen)):
                return False
        return True

    def library(self, key: str, name: str) -> list[_Target]:
        """What `name` in module `key` is when it is a library import there (`import jax`,
        taken again by `from .impl import jax`, a star import or `helpers.jax`). A search
        over (module, name) pairs, each visited once: import chains that fork and join
        again cost their size, never their number of paths."""
        if (key, name) in self._library:
            return self._library[(key, name)]
        found: list[_Target] = []
        seen: set[tuple[str, str]] = set()
        pending = [(key, name)]
        while pending:
            ref = pending.pop()
            scope = self.scopes.get(ref[0])
            if scope is None or ref in seen:
                continue
            seen.add(ref)
            for target in scope.imports.get(ref[1], []):
                if target[0] == "lib":
                    found.append(target)
                elif target[2] is not None:
                    pending.append((target[1], target[2]))
            if ref[1] not in scope.bound or "star" in scope.hows.get(ref[1], ()):  # (bind_stars)
                stars = scope.imports.get("*", [])
                self.steps.take(len(stars))
                pending += [(star[1], ref[1]) for star in stars]
        self._library[(key, name)] = found
        return found


class _Steps:
    """A budget of steps through star imports, shared by everything that follows them."""

    def __init__(self) -> None:
        self.left = MAX_STAR_STEPS

    def take(self, count: int = 1) -> None:
        self.left -= count
        if self.left < 0:
            raise _TooManyStars("names followed through too many star imports: import the names you use")


def _literal_names(node: ast.expr) -> bool:
    """None, a string, or a tuple or list of strings, written in the source."""
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


def _text_or_none(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _own_body(node: ast.FunctionDef | ast.ClassDef) -> Iterator[ast.AST]:
    """The nodes of a function's or class's own body: not those of functions, lambdas or
    classes in it (their statements are, their bodies are not)."""
    return _own_nodes(node.body)


def _own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """These nodes and everything in them but the bodies of functions, lambdas and classes."""
    todo: list[ast.AST] = [*nodes]
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(n))


def _every_bound_name(node: ast.AST) -> list[str]:
    """The names a node binds in any way: an assignment target or a parameter, and whatever
    _bound_names lists (imports, `except ... as`, captures, declarations, defs and classes)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    return _bound_names(node)


def _type_nodes(expr: ast.expr | None) -> Iterator[int]:
    """The names and attribute chains (by id) an expression uses as types: itself, the members
    of a tuple (`isinstance(x, (A, B))`), both sides of `A | B`, a subscripted type and its
    arguments (`Optional[np.ndarray]`); never inside a call."""
    if isinstance(expr, (ast.Name, ast.Attribute)):
        yield id(expr)
    elif isinstance(expr, (ast.Tuple, ast.List)):
        for e in expr.elts:
            yield from _type_nodes(e)
    elif isinstance(expr, ast.Subscript):
        yield from _type_nodes(expr.value)
        yield from _type_nodes(expr.slice)
    elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        yield from _type_nodes(expr.left)
        yield from _type_nodes(expr.right)


_TRY_NODES: tuple[type, ...] = tuple(t for t in (ast.Try, vars(ast).get("TryStar")) if isinstance(t, type))
"""`try` and, from Python 3.11, `try` with `except*`."""


def _runs_when_dropped(node: ast.AST) -> bool:
    """A statement whose code runs when a generator paused inside it is closed: `try` with
    `finally` or `except`, and `with`."""
    if isinstance(node, _TRY_NODES):
        return bool(getattr(node, "finalbody", None) or getattr(node, "handlers", None))
    return isinstance(node, (ast.With, ast.AsyncWith))


def _header_names(node: ast.AST) -> list[str]:
    """The names a statement binds in its own scope, leaving out the statements of its body
    (each is read on its own): a def's or class's name, assignment, for, with and except
    targets, match captures, import names, and walrus targets in its expressions."""
    found: list[str] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    parts: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        parts = [*node.targets, node.value]
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        parts = [node.target, *([node.value] if node.value is not None else [])]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        parts = [node.target, node.iter]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        parts = list(node.items)
    elif isinstance(node, ast.Try):
        found += [h.name for h in node.handlers if h.name]
    elif isinstance(node, ast.Match):
        parts = [node.subject, *(c.pattern for c in node.cases), *(c.guard for c in node.cases if c.guard)]
    elif isinstance(node, (ast.If, ast.While)):
        parts = [node.test]
    elif isinstance(node, (ast.Expr, ast.Return)) and node.value is not None:
        parts = [node.value]
    for part in parts:
        for n in ast.walk(part):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                found.append(n.id)
            elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
                found.append(n.name)
            elif isinstance(n, ast.MatchMapping) and n.rest:
                found.append(n.rest)
    return found


def _charged_to_class(v: _Visit, cls: str | None) -> _Visit:
    """`v`, or for a module-level class statement or body (owner None) `v` charged to the class
    `cls` as its methods' findings are: a class's instances do harm only where used, so only the
    functions that use the class are refused, not every function."""
    return v if v.owner is not None or cls is None else dataclasses.replace(v, owner=cls)


def _yields_inside(node: ast.AST) -> bool:
    """Whether a statement holds a `yield` of its own function (not of a def, lambda or class in it)."""
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(ast.iter_child_nodes(node)))


def _is_constant(node: ast.expr) -> bool:
    """A number, string, bool or None written out, a sign or arithmetic on such, or a tuple of
    them (`HALF = 0.5`, `SHAPE = (3, 4)`, `TINY = 2.0**-20`); never a complex number."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (complex, bytes)) and node.value is not Ellipsis
    if isinstance(node, ast.UnaryOp):
        return _is_constant(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_constant(node.left) and _is_constant(node.right)
    if isinstance(node, ast.Tuple):
        return all(_is_constant(e) for e in node.elts)
    return False


def _is_display(node: ast.expr) -> bool:
    """A dict, list or set display or comprehension, a string or an f-string: a builtin
    container or string whatever any name is bound to."""
    displays = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp, ast.JoinedStr)
    return isinstance(node, displays) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _texts(node: ast.expr) -> list[str]:
    """The strings (and bytes, as latin-1) written in a dtype's place, inside tuples, lists and
    dicts too (a structured dtype's spec)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return [node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [t for e in node.elts for t in _texts(e)]
    if isinstance(node, ast.Dict):  # {"names": [...], "formats": ["D"]}
        return [t for e in node.values for t in _texts(e)]
    return []


def _dunder_field(text: str) -> str:
    """The first format field in `text` that names a double-underscore attribute, or reads
    one not listed for values (`{0.gi_frame.f_globals}`); "" if none. A field's attributes are
    read as str.format reads them (its name up to `!` or `:`, then each `.name`; fields nested
    in a format spec too), so a spec's `.3f` and a set written in a message (`{0.5, 1.0}`, no
    attribute a name could reach) read nothing."""
    if "{" not in text:
        return ""
    for match in FORMAT_FIELD.finditer(text):
        if any(_is_dunder(w) for w in WORD.findall(match.group())):
            return match.group()
    try:  # (in str.format's order: a malformed string raises there after the fields before it)
        for name in _field_names(text):
            _, rest = _string.formatter_field_name_split(name)
            if any(is_attr and str(key).isidentifier() and key not in VALUE_ATTRIBUTES for is_attr, key in rest):
                return "{" + name + "}"
    except ValueError:
        pass
    return ""


def _field_names(text: str) -> Iterator[str]:
    """The field names of a format string, those nested in a field's format spec included."""
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is not None:
            yield name
        if spec:
            yield from _field_names(spec)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_sunder(name: str) -> bool:
    """`_type_`, `_fields_`: one underscore each side, the names ctypes (and enum) reserve for
    what a class declares to library code."""
    return len(name) > 2 and name[0] == name[-1] == "_" and name[1] != "_" and name[-2] != "_"


SUNDER_WHY = (
    "one underscore each side is how a class declares itself to library code (NumPy takes a class with"
    " `_type_` for a ctypes type, and `_type_ = 'D'` makes it a complex dtype): rename it"
)


def _number(node: ast.expr) -> float | None:
    """The value of a real number written in the source (`-1`, `1 / 3`, `-(2.0 - 3)`), in
    floating point (never a large integer power); None where it is not one."""
    if isinstance(node, ast.Constant):
        value = node.value
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        try:
            return float(value)
        except OverflowError:  # an integer literal beyond float's range
            return math.inf if value > 0 else -math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left, right = _number(node.left), _number(node.right)
        if left is None or right is None:
            return None
        try:
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            return left * right if isinstance(node.op, ast.Mult) else left / right
        except (ArithmeticError, ValueError):
            return None
    return None


def _allowed_in(module: str, name: str) -> bool:
    entry = ALLOWED.get(module)
    if isinstance(entry, AllExcept):
        # A name the module lacks raises AttributeError, whose `.obj` is the module itself.
        return name in entry and name in _public_names(module)
    return entry is not None and name in entry


KNOWN_NAMES: dict[str, frozenset[str]] = {}
"""Public names of modules, given by the grader to its scan child (scan_budget), so that the
child need not import JAX to learn them: about 1 s of every submission's scan."""


@functools.cache
def _public_names(module: str) -> frozenset[str]:
    """The names an allowlisted module has in this interpreter (the grader's, as the worker's)."""
    if module in KNOWN_NAMES:
        return KNOWN_NAMES[module]
    try:
        return frozenset(dir(importlib.import_module(module)))
    except ImportError:
        return frozenset()


IMPORT_ONLY = names(
    """time timeit random pprint unittest doctest argparse sys os pathlib statistics textwrap
    string decimal fractions json csv datetime logging numpy.testing jax.test_util"""
)
"""Modules not on the allowlist whose import does nothing but define names (or whose import
the interpreter has done already): `import time` at the top for a timing under `__main__` is
refused only where a name it binds is used in code that runs, costing those functions alone.
A dotted `import numpy.testing` binds `numpy` itself: not among them."""


def _refused_module(mod: str) -> tuple[str, str] | None:
    """(kind, why) when `import mod` is refused; None when it is allowed."""
    if mod in ALLOWED:
        return None
    top = mod.split(".")[0]
    parts = mod.split(".")
    if top in PROJECT_PACKAGES:
        return "project", f"`{mod}` is part of the grader (it holds the answers): a formula may not import it"
    if any(p in COMPLEX_NAMES for p in parts[1:]):
        return "autodiff", f"`{mod}` is complex arithmetic, which complex-step differentiation needs: not allowed"
    if top in AUTODIFF_MODULES or (top == "jax" and any(p in AUTODIFF_NAMES for p in parts)):
        return "autodiff", f"`{mod}` is automatic differentiation: derive the formula by hand"
    if top == "jax" and any(p.startswith("_") or p in JAX_INTERNALS for p in parts):
        return "autodiff", f"`{mod}` is JAX's internals, where its differentiation lives: not allowed"
    if top in DYNAMIC_MODULES or mod in DYNAMIC_MODULES:
        return "dynamic", f"`{mod}` reaches code dynamically (imports, reflection or serialized code): not allowed"
    why = f"`{mod}` is not on the allowlist of modules a formula may use (see docs/allowlist.md)"
    if not _installed(top):
        why += (
            f"; no module `{top}` is installed here: if it is a file of yours, a one-file submission cannot "
            f"import other files (paste its code into this file, or hand in a folder with __init__.py that "
            f"imports it as `from . import {top}`)"
        )
    return "system", why


def _installed(top: str) -> bool:
    """Whether `top` names a standard-library module or a top-level module of an installed
    distribution (read from metadata: nothing is imported)."""
    return top in sys.stdlib_module_names or top in _distributed_tops()


@functools.cache
def _distributed_tops() -> frozenset[str]:
    import importlib.metadata

    return frozenset(importlib.metadata.packages_distributions())


def _refused_name(module: str, name: str, shown: str = "") -> tuple[str, str]:
    full = f"{module}.{name}"
    path = f"`{full}`" if not shown or shown == full else f"`{shown}` (that is `{full}`)"
    if name in COMPLEX_NAMES:
        return "autodiff", f"{path} is complex arithmetic, which complex-step differentiation needs: not allowed"
    if name in AUTODIFF_NAMES:
        return "autodiff", f"{path} is automatic differentiation: derive the formula by hand"
    if name in DIFFERENCE_QUOTIENTS and module.startswith("jax.numpy"):
        return "autodiff", f"{path} {NUMERICALLY} (finite differences): derive the formula by hand"
    if name in PROCESS_STATE_NAMES and module.startswith("jax.numpy"):
        why = "sets how the whole process prints arrays (a formatter is your code, run inside NumPy's C code)"
        return "dynamic", f"{path} {why}: not allowed"
    internal = name.startswith("_") or name in JAX_INTERNALS or module.rsplit(".", 1)[-1] in JAX_INTERNALS
    if module.startswith("jax") and internal:
        return "autodiff", f"{path} is JAX's internals, where its differentiation lives: not allowed"
    if name.startswith("_"):
        return "dynamic", f"{path} is private to `{module}`: not allowed"
    return "system", f"{path} is not on the allowlist for `{module}` (see docs/allowlist.md)"


class _ModuleScan:
    """Checks one parsed module and records its units, import-time code and references."""

    def __init__(self, mod: _Module, tree: ast.Module, package: _Package | None) -> None:
        """Binds every name; `check` then runs once every module of the package is bound."""
        self.mod = mod
        self.package = package
        self.redeclared = {
            n for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal)) for n in node.names
        }
        """Names some scope declares global or nonlocal: bound from there, in whatever order the
        check meets the statements, they are never a known container or own object."""
        self.children = _children_of(mod, package)
        """A package module's direct submodules, by name and key: importing one anywhere binds
        its name here (`from .jnp.linalg import x` rebinds an `import jax.numpy as jnp`)."""
        self.visits = _visits(tree, frozenset(self.children))
        self.chain_inner: set[int] = set()
        self.attr_base: set[int] = set()
        self.approved: set[int] = set()
        self.docstrings: set[int] = set()
        self.direct_calls: set[int] = set()
        """`jax.config.update` where called directly (its option is checked there); anywhere else
        it is refused."""
        self.consumed: set[int] = set()
        """Lazy iterables (generators, map and filter objects) iterated where they are made."""
        self.type_uses: set[int] = set()
        """Names and chains used only as types (_type_nodes): where a TYPE_ONLY class may be."""
        self.inspected: set[int] = set()
        """Expressions only looked at (compared, named, printed): where `type(x)` may stand."""
        self.own_attrs: set[str] = package.own_attrs if package is not None else set()
        """Attribute names the submission's own code defines: its classes' methods and class
        attributes, what it stores on `self`, its namedtuples' fields. Readable only on its own
        objects (`_own_receiver`)."""
        self.plain_methods: set[str] = package.plain_methods if package is not None else set()
        """Own names that are plain methods somewhere: never read on a class, where they are unbound."""
        self.class_callables: set[str] = package.class_callables if package is not None else set()
        """Own names of classmethods and staticmethods: readable on an own class too."""
        self.class_constants: set[str] = package.class_constants if package is not None else set()
        self.class_others: set[str] = package.class_others if package is not None else set()
        """Names a class body binds to a constant (`HALF = 0.5`), and any other way: a name only
        ever bound to constants is readable on an own class too (`Const.HALF`)."""
        self.constant_targets: set[int] = set()
        """Targets in a class body assigned a constant (pass 1)."""
        self.shadowed: set[str] | None = None
        """Every name bound anywhere in this module (made when first needed: _container)."""
        self.assigned: dict[int, str] = {}
        self.plain_values: dict[int, ast.expr] = {}
        """The value of each Name target of a plain assignment (`dt = x.dtype`, `a = b = v`), by id."""
        """How an assignment target is bound, where it is a class or an instance (_Scope.hows)."""
        self.namedtuple_calls: dict[int, ast.Call] = {}
        """Targets assigned a call that looks like `namedtuple(...)`, and the call (pass 1)."""
        self.line = 0
        """The line being checked (where a construct too deep to check is reported)."""
        self.found = 0
        """Refusals recorded in this file so far (MAX_FINDINGS at most)."""
        for v in self.visits:
            self._bind(v)
        module_scope = self.visits[0].scope
        for name, key in self.children.items():
            module_scope.bind(name, "import")
            module_scope.imports.setdefault(name, []).append(("own", key, None))
        mod.public = {n for n in module_scope.bound if not n.startswith("_")}
        if package is not None:
            package.scopes[mod.key] = module_scope

    def bind_stars(self) -> bool:
        """Bind here, as "star", every name the package's modules that this one star-imports
        (`from .tools import *`) bind: one of them may rebind a builtin (`def dict`) or a
        class of this module's. Returns whether any was new (the caller repeats until none
        is: a star-imported module may star-import another)."""
        if self.package is None:
            return False
        module_scope = self.visits[0].scope
        added = False
        for target in module_scope.imports.get("*", []):  # (kept by _bind, the own ones only)
            source = self.package.scopes.get(target[1])
            self.package.steps.take(len(source.bound) if source is not None else 1)
            for name in sorted(source.bound if source is not None else ()):
                if "star" not in module_scope.hows.get(name, set()):
                    module_scope.bind(name, "star")
                    self.mod.starred.add(name)
                    added = True
        return added

    def check(self) -> None:
        for v in self.visits:
            self.line = getattr(v.node, "lineno", self.line)
            self._check(v)

    # -- where a finding or a reference goes

    def _unit(self, owner: str | None) -> _Unit:
        if owner is None:
            return self.mod.import_time
        return self.mod.units.setdefault(owner, _Unit())

    def _find(self, v: _Visit, node: ast.AST, kind: str, what: str) -> None:
        if isinstance(node, ast.expr) and _calls_get_ipython(node):
            what = f"{what} ({NOTEBOOK_EXPORT})"
        self._add(self._unit(v.owner), getattr(node, "lineno", 0), what, kind)

    def _add(self, unit: _Unit, line: int, what: str, kind: str) -> None:
        self.found += 1
        if self.found > MAX_FINDINGS:  # a file of refusals: said once, not listed (nor held) in full
            raise _TooComplex(f"more than {MAX_FINDINGS} refused constructs in one file")
        unit.findings.extend(_findings(line, what, kind, self.mod.file))

    # -- imports

    def _own_base(self, level: int) -> str | None:
        """The package key `level` dots refer to from this module; None if outside it."""
        if self.package is None:
            return None
        parts = self.mod.key.split(".") if self.mod.key else []
        if not self.mod.is_package:
            parts = parts[:-1]
        up = level - 1
        if up > len(parts):
            return None
        return ".".join(parts[: len(parts) - up])

    def _own_targets(self, base: str, names_: list[ast.alias]) -> list[tuple[str, _Target | None]]:
        out: list[tuple[str, _Target | None]] = []
        assert self.package is not None
        for alias in names_:
            sub = f"{base}.{alias.name}".strip(".")
            if sub in self.package.keys:
                out.append((alias.asname or alias.name, ("own", sub, None)))
            # `from . import helpers` takes the package's attribute `helpers` where it has one
            # (`import jax as helpers` in __init__.py), the submodule only where it has none.
            out.append((alias.asname or alias.name, ("own", base, alias.name)))
        return out

    def _import_targets(self, node: ast.Import | ast.ImportFrom) -> list[tuple[str, _Target | None, str, str]]:
        """(bound name, target or None if refused, kind, why) for each name the import binds."""
        out: list[tuple[str, _Target | None, str, str]] = []
        own_name = self.package.name if self.package else None
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                bound = alias.asname or top
                if self.package and own_name and top == own_name:
                    sub = alias.name[len(own_name) + 1 :]
                    target: _Target = ("own", sub if alias.asname else "", None)
                    ok = sub == "" or sub in self.package.keys
                    out.append(
                        (bound, target if ok else None, "system", f"`{alias.name}` is not a module of this package")
                    )
                    continue
                refused = _refused_module(alias.name)
                if refused:
                    out.append((bound, None, *refused))
                else:
                    out.append((bound, ("lib", alias.name if alias.asname else top, None), "", ""))
            return out
        module = node.module or ""
        if node.level or (own_name and module.split(".")[0] == own_name):
            if node.level:
                base = self._own_base(node.level)
                if base is None:
                    why = (
                        "a relative import needs a package: submit a directory with __init__.py"
                        if self.package is None
                        else f"`from {'.' * node.level}{module} import ...` reaches outside your package"
                    )
                    return [(a.asname or a.name, None, "system", why) for a in node.names]
                full = f"{base}.{module}".strip(".")
            else:
                full = module[len(own_name) + 1 :] if own_name else ""
            assert self.package is not None
            if full not in self.package.keys:
                path = "/".join(full.split("."))
                why = (
                    f"`{module or '.'}` is not a module of your package: the upload holds no {path}.py or "
                    f"{path}/__init__.py (a file left out of the upload?)"
                )
                return [(a.asname or a.name, None, "system", why) for a in node.names]
            if any(a.name == "*" for a in node.names):
                return [("*", ("own", full, "*"), "", "")]
            return [(b, t, "", "") for b, t in self._own_targets(full, list(node.names))]
        refused = _refused_module(module)
        if refused:
            return [(a.asname or a.name, None, *refused) for a in node.names]
        for alias in node.names:
            bound = alias.asname or alias.name
            if alias.name == "*":
                out.append(
                    (bound, None, "system", f"`from {module} import *` is not allowed: import the names you use")
                )
            elif f"{module}.{alias.name}" in ALLOWED:
                out.append((bound, ("lib", f"{module}.{alias.name}", None), "", ""))
            elif _allowed_in(module, alias.name):
                out.append((bound, ("lib", f"{module}.{alias.name}", None), "", ""))
            else:
                out.append((bound, None, *_refused_name(module, alias.name)))
        return out

    # -- pass 1: bindings

    def _is_docstring(self, node: ast.Constant) -> bool:
        return id(node) in self.docstrings

    def _bind(self, v: _Visit) -> None:
        node, scope = v.node, v.scope
        self._bind_own(v)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                self.docstrings.add(id(first.value))
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            scope.home(node.id).bind(node.id, self.assigned.get(id(node), "other"))
            value = self.plain_values.get(id(node))
            scope.home(node.id).values.setdefault(node.id, []).append(None if value is None else (value, scope))
            if id(node) in self.namedtuple_calls:
                scope.home(node.id).namedtuples[node.id] = self.namedtuple_calls[id(node)]
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            home = scope
            while home.kind == "comprehension" and home.parent is not None:
                home = home.parent
            home.bind(node.target.id)
        elif isinstance(node, ast.arg):
            scope.bind(node.arg, "param")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            home = scope.home(node.name)
            own = isinstance(node, ast.ClassDef) and _own_class_statement(node)
            home.bind(node.name, "class" if own else "other" if isinstance(node, ast.ClassDef) else "def")
            if isinstance(node, ast.ClassDef):
                home.classes[node.name] = node
            elif isinstance(node, ast.FunctionDef):
                home.functions[node.name] = node
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.home(node.name).bind(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            scope.home(node.name).bind(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            scope.home(node.rest).bind(node.rest)
        elif isinstance(node, ast.Global):
            scope.declared_global.update(node.names)
            for name in node.names:
                scope.module().bind(name)
        elif isinstance(node, ast.Nonlocal):
            scope.declared_nonlocal.update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for bound, found, _, _ in self._import_targets(node):
                home = scope.home(bound)  # `global jax` then `import jax` binds the module's jax
                if bound != "*":
                    home.bind(bound, "import" if found is not None else "refused-import")
                if found is not None:
                    home.imports.setdefault(bound, []).append(found)
        elif isinstance(node, ast.Attribute) and id(node) not in self.chain_inner:
            inner = node.value  # the outermost attribute of a chain marks the rest: linear in its length
            while isinstance(inner, ast.Attribute):
                self.chain_inner.add(id(inner))
                inner = inner.value
            if isinstance(inner, ast.Name):
                self.attr_base.add(id(inner))

    def _bind_own(self, v: _Visit) -> None:
        """Record the attribute names the submission defines, and targets that are bound to
        one of its classes or to an instance of one."""
        node, scope = v.node, v.scope
        if scope.kind == "class":
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_constant(node.value):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    self.constant_targets.add(id(target))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.own_attrs.add(node.name)
                self.class_others.add(node.name)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.own_attrs.add(node.id)
                (self.class_constants if id(node) in self.constant_targets else self.class_others).add(node.id)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = _decorator_names(node)
                if "classmethod" in decorators or "staticmethod" in decorators:
                    self.class_callables.add(node.name)
                else:
                    self.plain_methods.add(node.name)
                    scope.plain_methods.add(node.name)

        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            self.own_attrs.add(node.attr)  # (stored on `self` only: _check_value_chain)
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            func = node.value.func
            made = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if made in ("namedtuple", "NamedTuple"):
                for given in [*node.value.args[1:2], *(k.value for k in node.value.keywords if k.arg == "field_names")]:
                    self.own_attrs.update(w for t in _texts(given) for w in WORD.findall(t))
            how = (
                "class"
                if made in ("namedtuple", "NamedTuple")
                else f"instance:{func.id}"
                if isinstance(func, ast.Name)
                else ""
            )
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if how and isinstance(target, ast.Name):
                    self.assigned[id(target)] = how
                    if how == "class":
                        self.namedtuple_calls[id(target)] = node.value
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    self.plain_values[id(target)] = node.value
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_display(node.value):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    self.assigned[id(target)] = "container"
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and _is_display(node.value):
            # (`d |= {...}`: a container stays one. Not `s += obj`: str and set fall back on
            # obj.__radd__ / __ror__, which may return anything)
            self.assigned[id(node.target)] = "augmented"

    # -- pass 2: checks

    def _check(self, v: _Visit) -> None:
        node = v.node
        self._note_type_uses(v)
        self._note_consumed(v, node)
        if self._lazy(v, node) and id(node) not in self.consumed:
            self._find(
                v,
                node,
                "dynamic",
                "a generator, `map` or `filter` object may only be used where it is made: iterate it in a"
                " `for` or a comprehension, unpack it, or hand it straight to list, tuple, sorted, sum, ..."
                " (library C code iterated a stored one while holding values it does not own)",
            )
        if isinstance(node, ast.ClassDef):
            self._check_bases(v, node)
        if isinstance(node, _COMPREHENSIONS):
            stores = [
                t for g in node.generators for t in ast.walk(g.target) if isinstance(t, (ast.Attribute, ast.Subscript))
            ]
            for t in stores:
                why = "a comprehension's `for` may bind only names (`for k, v in ...`), not store into an object"
                self._find(v, t, "dynamic", f"{why}: it stores where no other statement may")
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With, ast.Global)) or (
            isinstance(node, ast.stmt) and v.scope.kind in ("module", "class")
        ):
            self._check_dtype_stores(v, node)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            why = "is not allowed: build and return a list (library C code runs a generator while holding values"
            self._find(v, node, "dynamic", f"a generator function (`yield`) {why} it does not own)")
        if isinstance(node, ast.Compare):
            # `==`, `in`, `<` hand each operand to the other's methods: `type(x) == Catch()` gives
            # Catch.__eq__ the library's class. `is` calls nothing; nor do builtins and constants.
            operands = [node.left, *node.comparators]
            if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops) or all(self._inert(v, e) for e in operands):
                self.inspected.update(id(e) for e in operands)
                self.inspected.update(id(e) for c in node.comparators if isinstance(c, ast.Tuple) for e in c.elts)
        elif isinstance(node, ast.FormattedValue):
            self.inspected.add(id(node.value))
        elif isinstance(node, ast.Attribute) and node.attr == "__name__" and isinstance(node.ctx, ast.Load):
            self.inspected.add(id(node.value))
        if isinstance(node, ast.Attribute) and node.attr in FORMATTERS and id(node) not in self.direct_calls:
            # Taken as a value (`fmt = str.format`, `map("{0}".format, xs)`), its format is not checked.
            why = f"`.{node.attr}` may only be called where it is written, with its format in the source"
            self._find(v, node, "dynamic", f'{why} (`"{{0.shape}}".format(x)`)')
        if isinstance(node, ast.Constant):
            self._check_constant(v, node)
        elif isinstance(node, ast.Name):
            self._check_name(v, node)
        elif isinstance(node, ast.Attribute) and id(node) not in self.chain_inner:
            self._check_chain(v, node)
        elif isinstance(node, ast.Call):
            self._check_call(v, node)
            builtin_pow = isinstance(node.func, ast.Name) and node.func.id == "pow" and v.scope.resolve("pow") is None
            if builtin_pow or "operator.pow" in self._library_paths(v, node.func):
                self._check_power(v, node, node.args[:2])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            self._check_power(v, node, [node.left, node.right])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self._check_import(v, node)
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and v.scope.kind == "class"
            and node.name in VALUE_ATTRIBUTES
            and not {"staticmethod", "classmethod", "property"} & set(filter(None, _decorator_names(node)))
        ):
            # `Box.keys(obj, x)`, or through any alias of Box, passes the value-attribute check and
            # runs the method with obj as its `self`, on which every own name is then readable.
            why = f"a method named `{node.name}`, like a method of builtin values, runs with any object as its `self`"
            self._find(v, node, "dynamic", f"{why} when read on its class (`Box.{node.name}(obj)`): rename it")
        elif v.scope.kind == "class" and (name := self._value_named_callable(v, node)) is not None:
            # Library code calls such names on what it is given: NumPy's dtype builder calls a dict's
            # `.items()` from Python while its C caller holds list items; a red team's staticmethod
            # `items` on a dict subclass cleared that list and freed what NumPy then kept.
            why = "like a method of builtin values, is called by library code on objects it is given (NumPy calls"
            self._find(
                _charged_to_class(v, v.cls),
                node,
                "dynamic",
                f"a class attribute named `{name}`, {why} a dict's `.items()` while it holds what it does not own):"
                " rename it",
            )
        elif v.scope.kind == "class" and (name := next(filter(_is_sunder, _header_names(node)), None)):
            self._find(_charged_to_class(v, v.cls), node, "dynamic", f"a class attribute named `{name}`: {SUNDER_WHY}")
        elif _runs_when_dropped(node) and _yields_inside(node):
            # A paused generator runs these when its last reference goes, from whatever C code drops
            # it: a red team's `finally` rewrote NumPy's index array in the middle of an assignment.
            why = "runs whenever the generator is dropped, inside library C code that does not expect it"
            self._find(
                v, node, "dynamic", f"a `yield` inside `try` with `finally`/`except` or inside `with`: the block {why}"
            )
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and v.scope.kind == "class":
            # A def under it binds a function elsewhere whose body the check charges to the class.
            why = "in a class body binds its names outside the class, out of the check's sight"
            self._find(
                v, node, "dynamic", f"`{'global' if isinstance(node, ast.Global) else 'nonlocal'}` {why}: not allowed"
            )
        elif isinstance(node, ast.MatchClass):
            # `case object(jvp=rule)` reads an attribute by name, like `x.jvp`.
            # Only where its isinstance is Python's own: an ABC's or a Protocol's asks the library
            # (`register`, a runtime protocol), and lets in objects that merely have the names.
            own = (
                "instance"
                if isinstance(node.cls, ast.Name)
                and self._own_class(v.scope, node.cls.id)
                and not self._library_bases(v.scope, node.cls.id) & METACLASS_BASES
                else ""
            )
            for attr in node.kwd_attrs:
                listed = attr in VALUE_ATTRIBUTES or self._own_readable(attr, own)
                if not listed or _is_dunder(attr) or attr in VALUE_ATTRIBUTES_REFUSED:
                    self._find(v, node, "dynamic", f"a class pattern reading `{attr}` is not allowed")
            # `case P(rule)` reads the attributes P.__match_args__ names, out of sight (a dataclass
            # field `jvp`, a namedtuple's "jvp"), on whatever P's isinstance lets through.
            cls = node.cls
            self_matching = (
                isinstance(cls, ast.Name)
                and cls.id in SELF_MATCHING
                and v.scope.resolve(cls.id) is None
                and len(node.patterns) == 1
            )
            if node.patterns and not self_matching:
                why = "a class pattern with positional sub-patterns reads attributes named elsewhere"
                self._find(v, node, "dynamic", f"{why} (`__match_args__`): name them (`case Point(x=x, y=y)`)")
        self._check_bindings(v)
        self._check_identifier(v)

    def _inert(self, v: _Visit, node: ast.expr) -> bool:
        """An operand whose comparison with a class runs none of the student's code: a constant,
        a builtin or library name, `type(...)`, a `__name__`, or a tuple of these."""
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return all(self._inert(v, e) for e in node.elts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type":
            return v.scope.resolve("type") is None and len(node.args) == 1
        if isinstance(node, ast.Attribute) and node.attr == "__name__":
            return True  # a string
        if isinstance(node, ast.Name) and v.scope.resolve(node.id) is None and not self._targets(v, node.id):
            return node.id in _BUILTINS
        return bool(self._library_paths(v, node))

    def _check_identifier(self, v: _Visit) -> None:
        """An identifier named like a complex dtype: Python turns identifiers into strings
        (`complex128.__name__` of a function so named, keyword names, dataclass fields), and a
        string naming a complex dtype makes one."""
        node = v.node
        name = (
            node.id
            if isinstance(node, ast.Name)
            else node.arg
            if isinstance(node, (ast.arg, ast.keyword))
            else node.name
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            else node.attr
            if isinstance(node, ast.Attribute)
            else None
        )
        if isinstance(node, (ast.Import, ast.ImportFrom)):  # a module of your own named complex64
            found = [p for a in node.names for p in [*a.name.split("."), a.asname or ""]]
            found += (node.module or "").split(".") if isinstance(node, ast.ImportFrom) else []
            name = next((p for p in found if COMPLEX_DTYPE_STRING.fullmatch(p)), None)
        builtin = isinstance(node, ast.Name) and name == "complex"  # refused as the builtin
        # `c8`, `c16` are also a polynomial's coefficients: refused only where Python makes the
        # name a string (a def or class, a keyword, a class attribute such as a dataclass field).
        plain = isinstance(node, (ast.arg, ast.Attribute)) or (isinstance(node, ast.Name) and v.scope.kind != "class")
        if plain and name is not None and re.fullmatch(r"c\d+", name):
            return
        if name is not None and not builtin and COMPLEX_DTYPE_STRING.fullmatch(name):
            self._find(v, node, "autodiff", f"the name `{name}` is a complex dtype's: {COMPLEX_STEP}")
        # A class attribute, method or dataclass field named like an attribute refused on values:
        # dataclasses (`astuple`), pytrees and patterns read it by that name on whatever object
        # holds it, a library's own (`functools.wraps(jax.nn.relu)` copies its `jvp`).
        in_class = v.scope.kind == "class" and (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            or (isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load))
        )
        if in_class and name in VALUE_ATTRIBUTES_REFUSED:
            kind, why = VALUE_ATTRIBUTES_REFUSED[name]
            self._find(v, node, kind, f"a class attribute named `{name}` (the name of one that {why}): rename it")

    def _note_type_uses(self, v: _Visit) -> None:
        """Mark what a node uses as a type (before its children are checked): the class argument
        of the builtin isinstance or issubclass, a class pattern's class, an annotation."""
        node = v.node
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and v.scope.resolve(node.func.id) is None
            and len(node.args) == 2
        ):
            self.type_uses.update(_type_nodes(node.args[1]))
        elif isinstance(node, ast.MatchClass):
            self.type_uses.update(_type_nodes(node.cls))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # (its annotations come before its args)
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            for annotation in [node.returns, *(a.annotation for a in every if a is not None)]:
                self.type_uses.update(_type_nodes(annotation))
        elif isinstance(node, ast.AnnAssign):
            self.type_uses.update(_type_nodes(node.annotation))

    def _check_bindings(self, v: _Visit) -> None:
        """A double-underscore name bound other than by assignment (`import x as __name__`,
        `except E as __getattr__`, `case __name__:`, `global __path__`): these rebind
        what Python itself reads (the module's name, its attribute hook, its search path)."""
        node = v.node
        for name in _bound_names(node):
            if not _is_dunder(name) or name in ALLOWED_DUNDER_STORES:
                continue
            if name in TYPE_CHECK_HOOKS:
                what = f"`{name}` makes isinstance answer as you say and hands you the classes it is asked about"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if v.scope.home(name).kind == "class" and name in CLASS_DUNDERS and not isinstance(node, ast.ClassDef):
                    continue  # a class's own `__init__`, `__call__`, `__add__`, ...
                if v.scope.home(name).kind == "class":
                    what = (
                        f"a method `{name}` is looked up and trusted by library code (NumPy reads the memory an"
                        " `__array_interface__` names; NumPy's loops over object arrays call `__lt__`, `__add__`,"
                        " `__float__` on elements they do not own): a class of yours may define only"
                        f" {', '.join(sorted(CLASS_DUNDERS))} (docs/allowlist.md)"
                    )  # (charged to what uses the class, as its methods' bodies are)
                    self._add(self._unit(v.owner if v.owner is not None else v.cls), node.lineno, what, "dynamic")
                    continue
                elif v.scope.home(name).kind != "module":
                    continue  # (a function's local def of such a name is refused where it is read or bound)
                else:
                    what = f"defining `{name}` at module level changes how the module is imported: not allowed"
            elif isinstance(node, ast.Import) and name in ALLOWED:
                continue  # `import __future__`
            else:
                what = f"binding `{name}` changes how Python runs the module: not allowed"
            self._find(v, node, "dynamic", what)

    def _check_power(self, v: _Visit, node: ast.AST, operands: list[ast.expr]) -> None:
        """Python's `**` and `pow` give a complex number for a negative base and a fractional
        exponent (`(-1) ** 0.5` is 1j): refused where both are numbers written in the source."""
        if len(operands) != 2:
            return
        base, exponent = (_number(o) for o in operands)
        if base is not None and exponent is not None and base < 0 and not exponent.is_integer():
            self._find(v, node, "autodiff", "a negative number to a fractional power is complex: " + COMPLEX_STEP)

    def _check_constant(self, v: _Visit, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, complex):
            self._find(v, node, "autodiff", f"the complex number `{value!r}` is not allowed: " + COMPLEX_STEP)
        elif isinstance(value, (str, bytes)):
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if COMPLEX_DTYPE_STRING.fullmatch(text):
                self._find(v, node, "autodiff", f"the complex dtype {text!r} is not allowed: " + COMPLEX_STEP)
            elif COMPLEX_DTYPE_INSIDE.search(text) and not self._is_docstring(node):
                self._find(v, node, "autodiff", f"the string {text[:40]!r} names a complex dtype: " + COMPLEX_STEP)
            elif (dunder := _dunder_field(text)) and not self._is_docstring(node):
                self._find(
                    v,
                    node,
                    "dynamic",
                    f"the format field {dunder[:40]!r} reads a Python internal (double underscores) or an"
                    " attribute not on the allowlist of attributes: refused",
                )
            elif len(text) < 64 and DUNDER_STRING.fullmatch(text) and text != "__main__":
                self._find(
                    v, node, "dynamic", f"the string {text!r} names a Python internal (double underscores): not allowed"
                )
            elif text in VALUE_ATTRIBUTES_REFUSED and not self._is_docstring(node):
                # Read by name where a name is given as a string: `functools.wraps(f, assigned=("jvp",))`,
                # `register_dataclass(..., data_fields=["jvp"])`, `namedtuple("P", "jvp")`.
                kind, why = VALUE_ATTRIBUTES_REFUSED[text]
                self._find(v, node, kind, f"the string {text!r} names an attribute that {why}: not allowed")

    def _targets(self, v: _Visit, name: str) -> list[_Target]:
        """What `name` is bound to by imports where it is used, with the submission's own
        names that are library imports in their module resolved to those libraries."""
        scopes = v.scope.resolve_all(name)
        found = [t for scope in scopes if scope is not None for t in scope.imports.get(name, [])]
        if self.package is None:
            return found
        for target in list(found):
            if target[0] == "own" and target[2] is not None:
                found += self.package.library(target[1], target[2])
        starred = any(s is not None and s.kind == "module" and "star" in s.hows.get(name, ()) for s in scopes)
        if None in scopes or starred:  # (followed through star imports, as before bind_stars)
            found += self.package.library(self.mod.key, name)
        return found

    def _check_name(self, v: _Visit, node: ast.Name) -> None:
        name = node.id
        if _is_dunder(name):
            allowed = ALLOWED_DUNDER_NAMES if isinstance(node.ctx, ast.Load) else ALLOWED_DUNDER_STORES
            if name not in allowed:
                self._find(v, node, "dynamic", f"`{name}` is a Python internal (double underscores): not allowed")
            return
        if not isinstance(node.ctx, ast.Load):
            return
        scopes = v.scope.resolve_all(name)
        scope = scopes[0]
        if scope is v.scope and scope.kind == "class" and name in scope.plain_methods:
            why = "runs with any first argument as its `self`: call it on an instance, after the class"
            self._find(v, node, "dynamic", f"the method `{name}` used in its own class body {why}")
        targets = self._targets(v, name)
        refused_too = scope is not None and "refused-import" in scope.hows.get(name, set())
        own_module_base = (
            id(node) in self.attr_base
            and targets
            and all(t[0] == "own" and t[2] is None for t in targets)
            and not refused_too  # (`import pkg.helpers as os` beside `import os`: both may be it)
        )
        if scope is None or scope.kind in ("module", "class"):
            if any(s is None or s.kind == "module" for s in scopes) and not own_module_base:
                self._unit(v.owner).refs.add((self.mod.key, name))
            # A module or class body looks a name up at run time, then in builtins: a
            # builtin a formula may not use stays refused even where the module binds it.
            permitted = (name in ALLOWED_BUILTINS or name in EXCEPTIONS) and name not in CALL_ONLY_BUILTINS
            if name in _BUILTINS and not permitted:
                if id(node) not in self.approved:
                    self._refuse_builtin(v, node, name)
                return
        for target in targets:
            if target[0] == "own":
                if id(node) not in self.attr_base:
                    self._unit(v.owner).refs.add((target[1], target[2]))
                if id(node) not in self.attr_base and target[2] is None and isinstance(node.ctx, ast.Load):
                    # A module object carries whatever it imported (jax among them): name what you use.
                    self._find(
                        v,
                        node,
                        "dynamic",
                        f"the module `{name}` is used as a value: use its names directly (`{name}.f`)",
                    )
            elif target[1] in CALLED_DIRECTLY and id(node) not in self.direct_calls:
                self._refuse_indirect(v, node, target[1])
            elif target[1] in TYPE_ONLY and id(node) not in self.attr_base:
                self._check_type_only(v, node, name)
            elif id(node) not in self.attr_base and target[1] in ALLOWED and target[1] not in VALUE_NAMESPACES:
                self._find(
                    v,
                    node,
                    "dynamic",
                    f"the module `{name}` is used as a value: call its functions directly (`{name}.f(x)`)",
                )

    def _refuse_builtin(self, v: _Visit, node: ast.AST, name: str) -> None:
        if name == "type":
            self._find(
                v,
                node,
                "dynamic",
                "the builtin `type` is allowed only as `type(x)`, to look at a type (`type(x) is T`,"
                " `type(x).__name__`): it creates and changes classes",
            )
        elif name in LOOKUP_CODE_BUILTINS:
            self._find(
                v,
                node,
                "dynamic",
                f"`{name}` runs your code whenever anything reads the attribute, library C code too (NumPy"
                " reads `.dtype` from items it does not own): use a method or a plain attribute",
            )
        elif name == "iter":
            self._find(
                v,
                node,
                "dynamic",
                "`iter` is allowed only as `iter(x)`, called with one argument: `iter(f, sentinel)` calls f from"
                " C code that does not keep f alive while it runs (a red team freed a cached function mid-call that"
                " way and forged an object from its memory); write a loop",
            )
        elif name in LAZY_MAKERS:
            self._find(
                v,
                node,
                "dynamic",
                f"`{name}` is allowed only called by its name (`{name}(f, xs)`), where the check sees where its"
                " object goes: through another name a red team's map ran inside NumPy's dtype builder and freed"
                " what it was reading",
            )
        elif name in ("getattr", "hasattr"):
            self._find(
                v,
                node,
                "dynamic",
                f"`{name}` is allowed only with an attribute on the allowlist of attributes, named by a string"
                f' (`{name}(x, "shape")`): not with a computed name or another attribute',
            )
        elif name == "complex":
            self._find(v, node, "autodiff", "`complex` is not allowed: " + COMPLEX_STEP)
        elif name in DYNAMIC_BUILTINS:
            self._find(v, node, "dynamic", f"the builtin `{name}` reaches code or attributes dynamically: not allowed")
        else:
            self._find(v, node, "system", f"the builtin `{name}` is not allowed in a formula (see docs/allowlist.md)")

    def _check_chain(self, v: _Visit, node: ast.Attribute) -> None:
        attrs: list[ast.Attribute] = []
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            attrs.append(inner)
            inner = inner.value
        attrs.reverse()
        for a in attrs:
            stored = not isinstance(a.ctx, ast.Load)  # `m.__name__ = "__main__"` runs m's main block
            if _is_dunder(a.attr) and (a.attr not in ALLOWED_DUNDER_ATTRIBUTES or stored):
                self._find(v, a, "dynamic", f"`.{a.attr}` is a Python internal (double underscores): not allowed")
                return
        targets = self._targets(v, inner.id) if isinstance(inner, ast.Name) else []
        if not any(t[0] == "lib" for t in targets):
            for a in attrs:
                if a.attr in VALUE_ATTRIBUTES_REFUSED:
                    kind, why = VALUE_ATTRIBUTES_REFUSED[a.attr]
                    self._find(v, a, kind, f"`.{a.attr}` {why}: not allowed")
                    return
        modules = [t for t in targets if t[0] == "lib" or t[2] is None]
        shadowed = self.package is not None and any(
            t[0] == "own" and t[2] is not None and self.package.shadowed(t[1], t[2]) for t in targets
        )  # (`from . import helpers` takes the package's value of that name first)
        if not modules or shadowed:  # a value: its own object, or one whose type the check cannot know
            if not self._refused_import(v, inner):  # (`import time` is refused where it is, once)
                self._check_value_chain(v, attrs, self._own_receiver(v, inner))
        shown = inner.id if isinstance(inner, ast.Name) else ""  # (modules are reached by name only)
        for target in modules:
            if target[0] == "lib":
                self._walk_library(v, node, target[1], shown, attrs)
            else:
                self._walk_own(v, node, target[1], shown, attrs)

    @staticmethod
    def _refused_import(v: _Visit, expr: ast.expr) -> bool:
        """Whether `expr` is a name bound only by imports the check refused."""
        if not isinstance(expr, ast.Name):
            return False
        scope = v.scope.resolve(expr.id)
        return scope is not None and scope.hows.get(expr.id) == {"refused-import"}

    def _own_receiver(self, v: _Visit, expr: ast.expr) -> str:
        """What `expr` is, where the submission's own code made it: "instance" (a plain method's
        `self`, `super()` there, a call of an own class, a name bound only to such calls),
        "class" (an own class, a classmethod's `cls`), or "" (anything else, where the check
        cannot know). A name counts only where nothing else is ever bound to it."""
        if _is_display(expr):
            return "container"
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and self._container({f"instance:{expr.func.id}"})
        ):
            return "container"  # (`str(x.dtype).upper()`)
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Name) and func.id == "super" and v.scope.resolve("super") is None:
                return "instance" if self._plain_super(v, expr) else ""
            return "instance" if isinstance(func, ast.Name) and self._own_class(v.scope, func.id) else ""
        if not isinstance(expr, ast.Name):
            return ""
        scope = v.scope.resolve(expr.id)
        if scope is None or len(v.scope.resolve_all(expr.id)) > 1:
            return ""  # (a class body's own name is the module's until the body binds it)
        hows = scope.hows.get(expr.id, set())
        if hows == {"param"} and scope.self_name == expr.id and self._builtin_decorators(scope):
            return scope.self_kind
        if hows in ({"class"}, {"import"}):  # (a class of yours imported from another module too)
            return "class" if self._own_class(v.scope, expr.id) else ""
        if expr.id in self.redeclared:  # (bound from inner scopes, in any order: not known)
            return ""
        if self._container(hows):
            return "container"
        made = {h.removeprefix("instance:") for h in hows}
        own = (
            hows
            and all(h.startswith("instance:") for h in hows)
            and all(self._own_class(scope, c) or self._makes_own(scope, c) for c in made)
        )
        return "instance" if own else ""

    def _plain_super(self, v: _Visit, call: ast.Call) -> bool:
        """Whether `super(...)` here is the method's own instance seen from its class: `super()`
        or `super(C, self)` (C an own class) in a plain method whose `self` is never bound again.
        Python's `super()` reads the method's first variable as it is when called: `self = Sub`
        first, or `super(Sub, Sub)`, gives the class's plain functions unbound, to be called
        with any object as their `self`."""
        scope = v.scope
        me = scope.self_name
        if scope.self_kind != "instance" or me is None or not self._builtin_decorators(scope):
            return False
        if scope.hows.get(me) != {"param"} or scope.count.get(me) != 1 or me in self.redeclared:
            return False
        if call.keywords or call.args == []:
            return not call.keywords
        if len(call.args) != 2:
            return False
        cls, inst = call.args
        return (
            isinstance(cls, ast.Name)
            and self._own_class(scope, cls.id)
            and isinstance(inst, ast.Name)
            and inst.id == me
        )

    def _builtin_decorators(self, method: _Scope) -> bool:
        """Whether a method's decorators (classmethod, property) are the builtins of those names,
        and its class is an own class (not built on a library's class)."""
        body = method.parent
        assert body is not None and body.parent is not None
        own = self._own_class(body.parent, body.class_name)
        return own and all(body.resolve(d) is None for d in method.self_decorators)

    def _makes_own(self, scope: _Scope, name: str) -> bool:
        """Whether `name`, looked up from `scope`, is bound only by one plain undecorated def
        (not a generator) whose every `return` is a call of an own class that the function
        does not bind itself: `def _forward(...): ... return Cache(z1, a1)`, so that
        `cache = _forward(...)` then `cache.z1` reads an own object's field."""
        home = scope.resolve(name)
        node = home.functions.get(name) if home is not None else None
        if home is None or node is None or home.hows.get(name) != {"def"} or node.decorator_list:
            return False
        if len(scope.resolve_all(name)) > 1:
            return False
        if home.count.get(name) != 1:  # (another def of the name, never run or not, may be the one called)
            return False
        inside = list(_own_body(node))
        returns = [n for n in inside if isinstance(n, ast.Return)]
        if not returns or any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in inside):
            return False
        local = {t for n in ast.walk(node) for t in _every_bound_name(n)}
        return all(
            isinstance(r.value, ast.Call)
            and isinstance(r.value.func, ast.Name)
            and r.value.func.id not in local
            and self._own_class(home, r.value.func.id)
            for r in returns
        )

    def _own_class(self, scope: _Scope, name: str, seen: frozenset[tuple[int, str]] = frozenset()) -> bool:
        """Whether `name`, looked up from `scope`, is bound only by a class statement of the
        submission's (see _own_class_statement) or a namedtuple, whose bases are own classes
        or SAFE_BASES."""
        found = self._class_home(scope, name)
        if found is None or (id(found[0]), found[1]) in seen:
            return False
        home, name = found
        seen = seen | {(id(home), name)}  # (by where it is bound: two modules may each have a Scaled)
        if home.hows.get(name) != {"class"} or home.imports.get(name) or home.count.get(name) != 1:
            return False  # (two class statements: only the last is in `classes`)
        node = home.classes.get(name)
        if node is None:  # a namedtuple, where the call is the library's
            call = home.namedtuples.get(name)
            return call is not None and _library_name(home, call.func) in NAMEDTUPLE_MAKERS
        if any(_library_name(home, d) not in SAFE_DECORATORS for d in node.decorator_list):
            return False
        for base in node.bases:
            if isinstance(base, ast.Subscript):
                if _library_name(home, base.value) in SAFE_SUBSCRIPTED:
                    continue
                return False
            assert isinstance(base, ast.Name)  # (_own_class_statement)
            if self._safe_base(home, base.id):
                continue
            if not self._own_class(home, base.id, seen):
                return False
        return True

    def _class_home(self, scope: _Scope, name: str) -> tuple[_Scope, str] | None:
        """Where `name`, looked up from `scope`, is bound other than by an import from one of the
        package's modules (`from .helpers import Scaled`, taken again elsewhere), and its name
        there; None where a name is bound in more ways than by that one import."""
        if len(scope.resolve_all(name)) > 1:
            return None  # (a name a class body binds is the module's, or a builtin, until it does)
        home = scope.resolve(name)
        for _ in range(MAX_IMPORT_HOPS):
            if home is None or home.hows.get(name) != {"import"} or self.package is None:
                break
            targets = home.imports.get(name, [])
            if len(targets) != 1 or targets[0][0] != "own" or targets[0][2] is None or home.count.get(name) != 1:
                return None
            home, name = self.package.scopes.get(targets[0][1]), targets[0][2]
        return None if home is None else (home, name)

    def _library_bases(self, scope: _Scope, name: str, seen: frozenset[tuple[int, str]] = frozenset()) -> set[str]:
        """The library classes an own class is built on, through its own bases (by what they
        are: `typing.Protocol`, `abc.ABC`); builtins by name. Only for a name _own_class took."""
        found_home = self._class_home(scope, name)
        home, name = found_home if found_home is not None else (None, name)
        node = home.classes.get(name) if home is not None else None
        if home is None or node is None or (id(home), name) in seen:
            return set()
        seen = seen | {(id(home), name)}
        found: set[str] = set()
        for base in node.bases:
            inner = base.value if isinstance(base, ast.Subscript) else base
            library = _library_name(home, inner)
            if library is not None:
                found.add(library)
            elif isinstance(inner, ast.Name):
                found |= self._library_bases(home, inner.id, seen)
        return found

    @staticmethod
    def _safe_base(scope: _Scope, name: str) -> bool:
        """Whether `name`, looked up from `scope`, is a builtin of SAFE_BUILTIN_BASES or is bound
        only to imports of SAFE_LIBRARY_BASES (`from typing import NamedTuple`)."""
        home = scope.resolve(name)
        if home is None:
            return name in SAFE_BUILTIN_BASES
        imported = home.imports.get(name, [])
        return (
            home.hows.get(name) == {"import"}
            and bool(imported)
            and all(t[0] == "lib" and t[1] in SAFE_LIBRARY_BASES for t in imported)
        )

    def _own_readable(self, name: str, receiver: str) -> bool:
        """An own attribute name, readable on this kind of own object: any on an instance; on a
        class only a classmethod, a staticmethod or a constant that every class body binding
        the name assigns, and not a name its metaclass has (`mro` of every class, `register`
        of an ABC's, which makes any class its subclass): a plain method read on the class is
        unbound and would run with any first argument as its `self`."""
        if receiver == "instance":
            return name in self.own_attrs
        if receiver == "class":
            constant = name in self.class_constants and name not in self.class_others
            metaclass = hasattr(abc.ABCMeta, name)  # (`register`, `mro`: the class's class's, not yours)
            return (name in self.class_callables or constant) and name not in self.plain_methods and not metaclass
        return False

    def _container(self, hows: set[str]) -> bool:
        """Whether a name bound in these ways (_Scope.hows) is always a builtin container or
        string: each binding a display, or a call of a builtin of CONTAINER_BUILTINS that no
        code of the submission binds, or an augmented assignment of one (`d |= {...}`)."""
        made = hows - {"augmented"}
        if self.shadowed is None:  # (every name bound anywhere in this module)
            self.shadowed = {n for s in {id(v.scope): v.scope for v in self.visits}.values() for n in s.bound}
            self.shadowed |= self.redeclared
        return bool(made) and all(
            h == "container"
            or (h.removeprefix("instance:") in CONTAINER_BUILTINS and h.removeprefix("instance:") not in self.shadowed)
            for h in made
        )

    def _check_value_chain(self, v: _Visit, attrs: list[ast.Attribute], receiver: str) -> None:
        """Attributes read or stored on a value: listed ones (VALUE_ATTRIBUTES) on any value; the
        submission's own attribute names first on its own object (`self.w`, `Model().forward`),
        not on what they return; a store only on its own instance (`self.w = w`)."""
        for i, a in enumerate(attrs):
            stored = not isinstance(a.ctx, ast.Load)
            here = receiver if i == 0 else ""
            if stored and here != "instance":
                why = "storing an attribute is allowed only on your own object (`self.w = w` in a method)"
                self._find(v, a, "dynamic", f"`.{a.attr} = ...`: {why}")
                return
            if stored and a.attr in CONTAINER_ATTRIBUTES:
                # On a dict or list subclass it hides the method library code calls by that name
                # (NumPy's dtype builder calls a dict's `.items()`): see _value_named_callable.
                why = "would hide the method of dicts, lists and strings library code calls by that name"
                self._find(v, a, "dynamic", f"`self.{a.attr} = ...` {why}: rename the attribute")
                return
            if stored and _is_sunder(a.attr):
                self._find(v, a, "dynamic", f"`self.{a.attr} = ...`: {SUNDER_WHY}")
                return
            if a.attr == "__init__" and here != "instance":
                why = "is called only on your own object (`super().__init__()`): not on a class or another value"
                self._find(v, a, "dynamic", f"`.__init__` {why}")
                return
            if a.attr in VALUE_ATTRIBUTES or self._own_readable(a.attr, here) or _is_dunder(a.attr):
                continue  # (double underscores are checked in _check_chain)
            if here == "container" and a.attr in CONTAINER_ONLY_ATTRIBUTES:
                continue
            where = {
                "": "on a value of unknown type",
                "container": "on a dict, list, set or string",
                "instance": "on your object: your classes do not define it",
                "class": "on your class: read it on an instance (`Model().name`) or `self`",
            }[here]
            self._find(v, a, "system", f"`.{a.attr}` {where} is not on the allowlist of attributes (docs/allowlist.md)")
            return

    def _walk_own(self, v: _Visit, node: ast.Attribute, key: str, shown: str, attrs: list[ast.Attribute]) -> None:
        """An attribute chain on the submission's own module: to its submodules and names, and
        on into a library where the name is a library import in that module."""
        assert self.package is not None
        if not isinstance(node.ctx, ast.Load):
            why = "rebinds a name of your own module from outside it (the check reads each module's names in it)"
            self._find(
                v, node, "dynamic", f"assigning to `{shown}.{'.'.join(a.attr for a in attrs)}` {why}: not allowed"
            )
            return
        for i, a in enumerate(attrs):
            shown = f"{shown}.{a.attr}"
            sub = f"{key}.{a.attr}".strip(".")
            if sub in self.package.keys:
                # The parent may bind the submodule's name to something else after importing it.
                for target in self.package.library(key, a.attr):
                    self._walk_library(v, node, target[1], shown, attrs[i + 1 :])
                if self.package.shadowed(key, a.attr):  # (a value there: a jitted function's `lower`)
                    self._check_value_chain(v, attrs[i + 1 :], "")
                key = sub
                continue
            self._unit(v.owner).refs.add((key, a.attr))
            libraries = self.package.library(key, a.attr)
            for target in libraries:
                self._walk_library(v, node, target[1], shown, attrs[i + 1 :])
            if not libraries:  # a name of the module's own: a value, or one of its classes
                scope = self.package.scopes.get(key)
                own = scope is not None and self._own_class(scope, a.attr)
                self._check_value_chain(v, attrs[i + 1 :], "class" if own else "")
            return
        self._unit(v.owner).refs.add((key, None))

    def _walk_library(self, v: _Visit, node: ast.Attribute, path: str, shown: str, attrs: list[ast.Attribute]) -> None:
        """An attribute chain on an allowlisted module: each step must be listed."""
        for a in attrs:
            shown = f"{shown}.{a.attr}"
            if path in ALLOWED:
                full = f"{path}.{a.attr}"
                if full in ALLOWED or _allowed_in(path, a.attr):
                    path = full
                    continue
                self._find(v, a, *_refused_name(path, a.attr, shown))
                return
            if a.attr in VALUE_ATTRIBUTES_REFUSED:
                kind, why = VALUE_ATTRIBUTES_REFUSED[a.attr]
                self._find(v, a, kind, f"`{shown}` {why}: not allowed")
            else:
                self._find(v, a, "system", f"`{shown}`: attributes of `{path}` are not allowed")
            return
        if not isinstance(node.ctx, ast.Load):
            self._find(v, node, "dynamic", f"assigning to `{shown}` changes a library: not allowed")
        elif path in CALLED_DIRECTLY and id(node) not in self.direct_calls:
            self._refuse_indirect(v, node, path)
        elif path in TYPE_ONLY:
            self._check_type_only(v, node, shown)
        elif path in ALLOWED and path not in VALUE_NAMESPACES:
            self._find(v, node, "dynamic", f"the module `{shown}` is used as a value: call its functions directly")

    def _check_type_only(self, v: _Visit, node: ast.expr, shown: str) -> None:
        """A TYPE_ONLY class anywhere but where a type is looked at (_note_type_uses)."""
        if id(node) not in self.type_uses and id(node) not in self.inspected:
            why = "may only be named as a type (`isinstance(x, np.ndarray)`, an annotation)"
            self._find(v, node, "dynamic", f"`{shown}` {why}: called, it builds an array over any buffer")

    def _library_paths(self, v: _Visit, expr: ast.expr) -> set[str]:
        """The allowlisted library names an expression (`jax.config.update`, `cfg.update`
        after `from jax import config as cfg`) may stand for."""
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.insert(0, expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return set()
        return {".".join([t[1], *attrs]) for t in self._targets(v, expr.id) if t[0] == "lib"}

    def _check_config(self, v: _Visit, node: ast.Call) -> None:
        """`jax.config.update` only for the options a formula may need, named by a literal:
        other options write files (a compilation cache), log, or change what JAX runs."""
        option = node.args[0] if node.args else None
        name = option.value if isinstance(option, ast.Constant) else None
        if name not in CONFIG_OPTIONS:
            shown = repr(name) if isinstance(name, str) else "a computed option"
            self._find(
                v,
                node,
                "system",
                f"`jax.config.update` of {shown} is not allowed: only {', '.join(sorted(CONFIG_OPTIONS))}",
            )
        elif name == "jax_enable_x64":
            value = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(value, ast.Constant) and value.value is True):
                self._find(
                    v,
                    node,
                    "system",
                    "`jax.config.update('jax_enable_x64', ...)` may only turn float64 on (True): the checks run "
                    "with it on, since every function must take float64, and turning it off fails them all",
                )

    def _check_errstate(self, v: _Visit, node: ast.Call) -> None:
        """`np.errstate` only with its modes written in the call, none of them "call" or "log",
        and no `call=`: NumPy calls that function from C in the middle of a loop (a cast that
        overflows), while it holds pointers it does not own; a red team's callback freed the
        object array's element being cast and forged an object from its memory (exec, jax.grad)."""
        plain = not node.args and all(
            k.arg in ERRSTATE_MODES and isinstance(k.value, ast.Constant) and k.value.value in ERRSTATE_ACTIONS
            for k in node.keywords
        )
        if not plain:
            self._find(
                v,
                node,
                "dynamic",
                "`np.errstate` is allowed only with its modes written as strings in the call"
                f' ({", ".join(ERRSTATE_ACTIONS)}), not with `call=` or "call"/"log": NumPy calls that'
                " function from C code in the middle of an array loop (a red team forged an object there)",
            )

    def _check_bases(self, v: _Visit, node: ast.ClassDef) -> None:
        """A class is built only on the submission's own classes (_own_class), SAFE_BUILTIN_BASES
        and SAFE_LIBRARY_BASES. Other library classes bring special methods written
        in Python that call plain methods the class may define: collections.abc's Generator
        iterates by calling `send`, its Set computes `-` by calling `_from_iterable`, so a red
        team's class ran its code inside NumPy's dtype builder and its object-array loops,
        which hold what they do not own, and freed what they were reading."""
        for base in node.bases:
            inner = base.value if isinstance(base, ast.Subscript) else base
            library = _library_name(v.scope, inner)
            if library is not None:
                safe = library in SAFE_LIBRARY_BASES or library in DICT_LIBRARY_BASES
            elif isinstance(inner, ast.Name) and v.scope.resolve(inner.id) is None:
                safe = inner.id in SAFE_BUILTIN_BASES
            else:  # a class of the submission's (its own bases are checked at its statement)
                safe = isinstance(inner, ast.Name) and self._own_class(v.scope, inner.id)
            if not safe:
                name = library or ast.unparse(inner)
                self._find(
                    _charged_to_class(v, node.name),
                    base,
                    "dynamic",
                    f"a class built on `{name}` is not allowed: build on your own classes, object, tuple, list,"
                    " dict, Exception, ValueError, TypeError, NamedTuple, Generic, Protocol or ABC (library"
                    " classes bring special methods written in Python that call yours from inside library C code)",
                )

    def _value_named_callable(self, v: _Visit, node: ast.AST) -> str | None:
        """The name of VALUE_ATTRIBUTES a class-body statement binds, where it may be bound to
        something callable; None otherwise. Only a plain assignment to that one name of data is
        let through: a constant, an attribute (`dtype = jnp.float32`), a display, or (but for
        CONTAINER_ATTRIBUTES, the methods library code calls on mappings and sequences) a name
        bound only by assignments (`eps = _EPS`). Any other way of binding it is refused: a def
        under any decorator, a nested class, a lambda, a call (`staticmethod(f)`), unpacking
        (`items, _ = f, 0`), a for target, a with or except target, a match capture, a walrus."""
        named = [n for n in _header_names(node) if n in VALUE_ATTRIBUTES]
        if not named:
            return None
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(target, ast.Name):
            return named[0]
        value = node.value
        name = named[0]
        if named != [target.id]:
            return name  # (a walrus inside the value: `shape = ((items := f),)`)
        if value is None or isinstance(value, (ast.Constant, ast.Attribute, ast.List, ast.Tuple, ast.Dict, ast.Set)):
            return None
        if isinstance(value, ast.Name) and name not in CONTAINER_ATTRIBUTES:
            home = v.scope.resolve(value.id)
            if home is not None and home.hows.get(value.id, set()) <= {"other"}:
                return None  # (a module constant, `eps = _EPS`)
        return name

    def _builtin_call(self, v: _Visit, node: ast.AST, among: frozenset[str]) -> bool:
        """Whether `node` calls a builtin of `among`, by a name no code of the submission binds."""
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in among
            and v.scope.resolve(node.func.id) is None
        )

    def _lazy(self, v: _Visit, node: ast.AST) -> bool:
        """Whether `node` makes a lazy iterable that runs code of the submission's when iterated:
        a generator expression, a map or filter object, or a zip, enumerate, reversed or iter of one."""
        if isinstance(node, ast.GeneratorExp) or self._builtin_call(v, node, LAZY_MAKERS):
            return True
        if self._builtin_call(v, node, LAZY_WRAPPERS):
            assert isinstance(node, ast.Call)
            return any(self._lazy(v, a.value if isinstance(a, ast.Starred) else a) for a in node.args)
        return False

    def _note_consumed(self, v: _Visit, node: ast.AST) -> None:
        """Mark the lazy iterables `node` iterates where it stands (parents are checked before
        their children): a for loop's or a comprehension's iterable, the value of an unpacking
        assignment, a starred item, and the arguments of LAZY_CONSUMERS, of lazy builtins (whose
        own object must be consumed in turn) and of a written string's `join`. A lazy iterable anywhere else
        (bound to a name, in a list or dict, returned, given to a library function) could be
        iterated later by library C code: NumPy's dtype builder consumes a dict's "names" while
        holding the items of the list it was given, which a red team's defaultdict factory
        freed in the same place a map's function can."""
        consumed = self.consumed
        if isinstance(node, (ast.For, ast.AsyncFor)):
            consumed.add(id(node.iter))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            consumed.update(id(g.iter) for g in node.generators)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], (ast.Tuple, ast.List))
        ):
            consumed.add(id(node.value))
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            consumed.update(id(e.value) for e in node.elts if isinstance(e, ast.Starred))
        elif isinstance(node, ast.Call):
            consumed.update(id(a.value) for a in node.args if isinstance(a, ast.Starred))
            iterating = self._builtin_call(v, node, LAZY_ITERATING) or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "join"
                and isinstance(node.func.value, ast.Constant)
                and isinstance(node.func.value.value, str)
            )
            if iterating:
                consumed.update(id(a) for a in node.args if not isinstance(a, ast.Starred))

    def _check_defaultdict(self, v: _Visit, node: ast.Call) -> None:
        """`collections.defaultdict` only with no factory, None, or a builtin type of
        DEFAULT_FACTORIES named in the call: a defaultdict calls its factory whenever anything
        reads a key it lacks, C code too, which then holds pointers it does not own. NumPy's
        structured-dtype builder reads a dict's optional keys while holding the items of the
        list it was given; a red team's factory cleared that list, and the dtype kept a freed
        item, from which it forged an object (jax.grad, os.system)."""
        factory = node.args[0] if node.args else None
        plain = not any(isinstance(a, ast.Starred) for a in node.args) and (
            factory is None
            or (isinstance(factory, ast.Constant) and factory.value is None)
            or (
                isinstance(factory, ast.Name)
                and factory.id in DEFAULT_FACTORIES
                and v.scope.resolve(factory.id) is None
            )
        )
        if not plain:
            self._find(
                v,
                node,
                "dynamic",
                "`defaultdict` is allowed only with a builtin type as its factory, named in the call"
                f" ({', '.join(sorted(DEFAULT_FACTORIES))}): it calls any other factory from inside"
                " library C code that reads a missing key (a red team forged an object there)",
            )

    def _check_dtypes(
        self, v: _Visit, node: ast.Call, paths: set[str], positional: list[ast.expr], keywords: list[ast.keyword]
    ) -> None:
        """Where a dtype may reach NumPy, it must be a plain one the check can see
        (_static_dtype): the `dtype=` of any call but JAX's array functions (which refuse any
        dtype but a number type), the dtype positions of DTYPE_POSITIONS (NumPy's array
        makers, and the classes that keep the dtype they are given), every argument of
        DTYPE_MAKERS, and the dtype position of DTYPE_METHODS on any value (a NumPy array's
        are NumPy's)."""
        func = node.func
        given = [k.value for k in keywords if k.arg == "dtype"]
        if given and paths and all(p.startswith(DTYPE_CHECKING) and p not in FORWARDERS for p in paths):
            given = []  # (JAX's array functions check the dtype themselves)
        for path in paths:
            at = DTYPE_POSITIONS.get(path)
            if at is not None and len(positional) > at:
                given.append(positional[at])
        if paths & DTYPE_KEEPERS:
            given += [k.value for k in keywords if k.arg != "dtype"]  # (`np.iinfo(int_type=...)`)
        if paths & DTYPE_MAKERS:
            given += [*positional, *(k.value for k in keywords if k.arg != "dtype")]
        at_method = DTYPE_METHODS.get(func.attr) if isinstance(func, ast.Attribute) and not paths else None
        if at_method is not None and len(positional) > at_method:
            given.append(positional[at_method])
        if any(isinstance(a, ast.Starred) for a in node.args) and (given or paths & CALLED_DIRECTLY):
            given.append(node)  # (`np.zeros(*args)`: its dtype could be any of them)
        for arg in given:
            if not self._static_dtype(v, arg):
                why = (
                    "a dtype NumPy may be given must be one the check can see is a plain number type: a named"
                    " dtype (`jnp.float32`, `np.float64`), `x.dtype` of an array, `jnp.result_type(...)`, or a"
                    " name assigned one of these, not a parameter (NumPy trusts what a structured or string"
                    " dtype says of its size, and a red team's read and wrote memory outside an array that way)"
                )
                self._find(v, arg, "dynamic", why)

    def _check_dtype_stores(self, v: _Visit, node: ast.AST) -> None:
        """`x.dtype` counts as a plain dtype (_static_dtype), so whatever a submission's own
        code may read as `something.dtype` must hold one: `self.dtype = ...`, and a module's
        or class body's `dtype` (read as `helpers.dtype`, `Cls.dtype`), only as a plain
        assignment of a static dtype (not a def, an import, a loop target, a `global`), and
        no NamedTuple field, annotated class attribute or namedtuple field named `dtype` (its
        value would be whatever it was given). A namedtuple's field names must be written
        out, so that the check sees them."""
        if isinstance(node, ast.Call):  # namedtuple("P", "dtype shape"), NamedTuple("P", [("dtype", ...)])
            given = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "field_names")]
            fields = [k.arg for k in node.keywords if k.arg not in ("field_names", "rename", "defaults", "module")]
            for spec in given:
                items = spec.elts if isinstance(spec, (ast.List, ast.Tuple)) else [spec]
                items = [i.elts[0] if isinstance(i, ast.Tuple) and i.elts else i for i in items]
                if not all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
                    self._find(v, spec, "dynamic", f"a namedtuple's field names must be written out: {DTYPE_FIELD_WHY}")
                    return
                fields += [w for i in items if isinstance(i, ast.Constant) for w in WORD.findall(str(i.value))]
            if "dtype" in fields:
                self._find(v, node, "dynamic", f"a namedtuple field named `dtype`: {DTYPE_FIELD_WHY}")
            return
        if isinstance(node, ast.Global) and "dtype" in node.names:
            self._find(v, node, "dynamic", f"`global dtype`: {DTYPE_FIELD_WHY}")
            return
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        at = _charged_to_class(v, v.cls) if v.scope.kind == "class" else v  # (a class body's: the class's)
        plain = (isinstance(node, ast.Assign) and len(node.targets) == 1) or isinstance(node, ast.AnnAssign)
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if v.scope.kind in ("module", "class") and "dtype" in _header_names(node):
            if not (plain and isinstance(target, ast.Name) and value is not None and self._static_dtype(v, value)):
                self._find(at, node, "dynamic", f"`dtype` given something else: {DTYPE_FIELD_WHY}")
        if isinstance(node, ast.Assign):
            targets: list[ast.expr] = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = [node.target]
        elif isinstance(node, ast.With):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        else:
            return
        for whole in targets:
            for t in ast.walk(whole):
                if not (isinstance(t, ast.Attribute) and t.attr == "dtype"):
                    continue
                if t is whole and plain and value is not None and self._static_dtype(v, value):
                    continue
                self._find(at, t, "dynamic", f"an attribute named `dtype` given something else: {DTYPE_FIELD_WHY}")

    def _static_dtype(self, v: _Visit, expr: ast.expr, depth: int = 0) -> bool:
        """Whether `expr` is a dtype known to be a plain number type: None, `float`/`int`/`bool`,
        a NUMBER_DTYPE_NAME of numpy or jax.numpy, a NUMERIC_DTYPE_STRING literal, any
        value's `.dtype` (own objects may keep only such a dtype under that name), a
        DTYPE_PRODUCERS call, `np.dtype`/`jnp.dtype` of one of these, or a name whose every
        binding is a plain assignment of one of these."""
        if depth > 8:
            return False
        if isinstance(expr, ast.Constant):
            return expr.value is None or (
                isinstance(expr.value, str) and bool(NUMERIC_DTYPE_STRING.fullmatch(expr.value))
            )
        if isinstance(expr, ast.Attribute) and expr.attr == "dtype":
            return True
        paths = self._library_paths(v, expr)
        if paths:
            return all(
                bool(NUMBER_DTYPE_NAME.fullmatch(p.rsplit(".", 1)[-1]))
                and p.rsplit(".", 1)[0] in ("numpy", "jax.numpy")
                for p in paths
            )
        if isinstance(expr, ast.Call):
            called = self._library_paths(v, expr.func)
            if called and called <= DTYPE_PRODUCERS:
                return True
            if called and called <= {"numpy.dtype", "jax.numpy.dtype"}:
                return len(expr.args) == 1 and not expr.keywords and self._static_dtype(v, expr.args[0], depth + 1)
            return False
        if not isinstance(expr, ast.Name):
            return False
        if expr.id in self.redeclared or (expr.id in _BUILTINS and expr.id not in ("float", "int", "bool")):
            return False  # (`if False: object = np.float64` leaves `object` the builtin)
        for home in v.scope.resolve_all(expr.id):  # (a class body reads the module's until it binds its own)
            if home is None:
                if expr.id not in ("float", "int", "bool"):
                    return False
                continue
            bindings = home.values.get(expr.id, [])
            if not bindings or len(bindings) != home.count.get(expr.id, 0):
                return False  # (a parameter, a loop variable, an import, a def, ...)
            static = (self._static_dtype(_Visit(b[0], b[1], v.owner), b[0], depth + 1) for b in bindings if b)
            if None in bindings or not all(static):
                return False
        return True

    def _refuse_indirect(self, v: _Visit, node: ast.AST, path: str) -> None:
        if path == "collections.defaultdict":
            self._find(v, node, "dynamic", "`defaultdict` may only be called directly, with its factory named")
        elif path == "numpy.errstate":
            self._find(
                v, node, "dynamic", "`np.errstate` may only be called directly, with its modes written in the call"
            )
        elif path == "jax.config.update":
            self._find(v, node, "system", "`jax.config.update` may only be called directly, with its option named")
        elif path == "jax.debug.print":
            why = "may only be called directly, with its format written in the call"
            self._find(v, node, "dynamic", f'`jax.debug.print` {why} (`jax.debug.print("{{}}", x)`)')
        elif path in IS_LEAF_TAKERS:
            why = "may only be called directly (its `is_leaf` is checked at the call)"
            self._find(v, node, "dynamic", f"`{path}` {why}")
        elif path.startswith("numpy.") or path == "jax.ShapeDtypeStruct" or path in DTYPE_KEEPERS | DTYPE_MAKERS:
            why = "may only be called directly (the dtype it is given is checked at the call)"
            self._find(v, node, "dynamic", f"`{path}` {why}")
        else:  # (CALLED_DIRECTLY holds nothing else)
            raise AssertionError(path)

    def _own_function(self, v: _Visit, func: ast.expr) -> bool:
        """Whether `func` names only a function or class the submission defines (def, class)."""
        if not isinstance(func, ast.Name) or self._targets(v, func.id):
            return False
        scope = v.scope.resolve(func.id)
        if scope is None or not scope.hows.get(func.id) or not scope.hows[func.id] <= {"def", "class"}:
            return False
        fn = scope.functions.get(func.id)
        if fn is not None and fn.decorator_list:
            return False  # (a decorator may return anything: `jax.jit`, which takes the options)
        if fn is None and scope.hows[func.id] == {"def"}:
            return False  # (an async def, or a def the check did not keep)
        node = scope.classes.get(func.id)  # (a class decorated by anything but SAFE_DECORATORS is not)
        return node is None or all(_library_name(scope, d) in SAFE_DECORATORS for d in node.decorator_list)

    def _check_unpacked(self, v: _Visit, node: ast.Call, paths: set[str]) -> list[ast.keyword]:
        """`f(*args)` and `f(**options)` hide from the check what it reads at a call (a format,
        a dtype, `compiler_options`). A computed sequence is refused where the check reads the
        call's positional arguments (POSITIONALS_READ: a format, a dtype); a computed mapping
        in a call of anything but a builtin or the submission's own functions (a library
        function, a method, a name bound to one: `jit = jax.jit; jit(f, **options)`). A literal
        one (`*[x, 0]`, `**{"axis": 0}`, `**dict(axis=0)`) is read as if written out; `zip(*rows)`,
        `x.reshape(*shape)` and `helper(*args)` are fine. Returns the keywords the literal
        mappings hold, for the checks of named arguments."""
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        builtin = isinstance(func, ast.Name) and v.scope.resolve(func.id) is None and func.id in _BUILTINS
        own = builtin or self._own_function(v, func)
        reads_positionals = bool(paths & CALLED_DIRECTLY) or callee in POSITIONALS_READ
        spelled: list[ast.keyword] = []
        for a in node.args:
            if isinstance(a, ast.Starred) and not isinstance(a.value, (ast.List, ast.Tuple)) and reads_positionals:
                why = f"`*` of a computed sequence in a call of `{callee}` is not allowed"
                self._find(v, a, "dynamic", f"{why}: write its arguments in the call")
        for k in node.keywords:
            if k.arg is not None:
                continue
            value = k.value
            keys = [_text_or_none(key) for key in value.keys] if isinstance(value, ast.Dict) else [None]
            if isinstance(value, ast.Dict) and all(key is not None for key in keys):
                spelled += [ast.keyword(arg=key, value=d) for key, d in zip(keys, value.values, strict=True)]
            elif (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "dict"
                and v.scope.resolve("dict") is None
                and not value.args
                and all(kw.arg is not None for kw in value.keywords)
            ):
                spelled += value.keywords
            elif not own:
                why = "`**` of a computed mapping is not allowed outside your own functions"
                self._find(v, value, "dynamic", f"{why}: name the arguments in the call")
        return spelled

    def _check_call(self, v: _Visit, node: ast.Call) -> None:
        func = node.func
        paths = self._library_paths(v, func)
        if paths & CALLED_DIRECTLY or (isinstance(func, ast.Attribute) and func.attr in FORMATTERS):
            self.direct_calls.add(id(func))
        keywords = [k for k in node.keywords if k.arg is not None] + self._check_unpacked(v, node, paths)
        positional = [
            e
            for a in node.args
            for e in (
                a.value.elts if isinstance(a, ast.Starred) and isinstance(a.value, (ast.List, ast.Tuple)) else [a]
            )
        ]
        if "jax.config.update" in paths:
            self._check_config(v, node)
        if "numpy.errstate" in paths:
            self._check_errstate(v, node)
        if "collections.defaultdict" in paths:
            self._check_defaultdict(v, node)
        self._check_dtypes(v, node, paths, positional, keywords)
        if paths & NAMEDTUPLE_MAKERS:
            self._check_dtype_stores(v, node)
        for path in paths & set(IS_LEAF_TAKERS):
            limit = IS_LEAF_TAKERS[path]
            if any(k.arg in ("is_leaf", "is_leaf_takes_path") for k in keywords) or (
                limit is not None and len(positional) > limit
            ):
                why = (
                    "jaxlib calls it on items of the tree it does not own: one that empties the tree frees them"
                    " (a red team forged an object from one)"
                )
                self._find(v, node, "dynamic", f"`{path}` with an `is_leaf` callback is not allowed: {why}")
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and v.scope.resolve(func.id) is None:
            if len(node.args) >= 2 and not node.keywords:
                attr = node.args[1]
                if isinstance(attr, ast.Constant) and isinstance(attr.value, str) and attr.value.isidentifier():
                    own = self._own_readable(attr.value, self._own_receiver(v, node.args[0]))
                    if attr.value in VALUE_ATTRIBUTES or (own and attr.value not in VALUE_ATTRIBUTES_REFUSED):
                        self.approved.add(id(func))
        if self._builtin_call(v, node, ITER):
            if len(node.args) == 1 and not isinstance(node.args[0], ast.Starred) and not node.keywords:
                self.approved.add(id(func))
        if self._builtin_call(v, node, LAZY_MAKERS):
            self.approved.add(id(func))  # (its object is checked where it goes: _note_consumed)
        if isinstance(func, ast.Name) and func.id == "type" and v.scope.resolve("type") is None:
            if len(node.args) == 1 and not node.keywords and id(node) in self.inspected:
                self.approved.add(id(func))
        if isinstance(func, ast.Name) and func.id in INSPECTORS:
            self.inspected.update(id(a) for a in node.args)
            self.inspected.update(id(e) for a in node.args if isinstance(a, ast.Tuple) for e in a.elts)
        # str.format reads the attributes its fields name: only a format written in the source is
        # checked, so one computed at run time (`("{0._" + "_class__}").format(x)`) is refused.
        fmt: ast.expr | None = None
        if isinstance(func, ast.Attribute) and func.attr in FORMATTERS:
            fmt = func.value
        elif "jax.debug.print" in self._library_paths(v, func):
            fmt = positional[0] if positional else next((k.value for k in keywords if k.arg == "fmt"), None)
        if fmt is not None and not (isinstance(fmt, ast.Constant) and isinstance(fmt.value, str)):
            why = "a format computed at run time is not allowed: write the format string in the call"
            self._find(v, fmt, "dynamic", f'{why} (`"{{0.shape}}".format(x)`)')
        for k in keywords:
            if k.arg == "compiler_options":
                why = "`compiler_options` is not allowed: XLA's options write files and change the compiler"
                self._find(v, k.value, "system", why)
        callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        named = [k.value for k in keywords if k.arg == "dtype"]  # (f(**{"dtype": "D"}) too)
        if callee in ("astype", "view", "dtype"):
            named += positional[:1]
        for arg in [*named, *(positional if callee in DTYPE_TAKERS else [])]:
            for text in _texts(arg):  # "D", b"D", ("D", 1): a dtype's code, alone or in a spec
                if COMPLEX_TYPE_CODE.fullmatch(text):
                    self._find(v, arg, "autodiff", f"the complex dtype {text!r} is not allowed: {COMPLEX_STEP}")
        for arg in [*named, *(positional if callee in DTYPE_TAKERS else [])]:
            made = isinstance(arg, ast.JoinedStr) or (
                isinstance(arg, ast.Call)
                and (
                    (isinstance(arg.func, ast.Attribute) and arg.func.attr in STRING_BUILDERS)
                    or (isinstance(arg.func, ast.Name) and arg.func.id in TEXT_MAKERS)
                )
            )
            computed = made or (
                any(arg is n for n in named) and isinstance(arg, (ast.BinOp, ast.Subscript, ast.IfExp, ast.BoolOp))
            )
            if computed:
                self._find(
                    v,
                    arg,
                    "dynamic",
                    "a dtype given by a computed string or type is not allowed: name the dtype (`jnp.float32`)",
                )

    def _check_import(self, v: _Visit, node: ast.Import | ast.ImportFrom) -> None:
        if v.scope.kind == "class":
            # The class would carry the module as an attribute (`K.jax.grad`), out of sight.
            self._find(v, node, "dynamic", "an import inside a class body is not allowed: import at module level")
            return
        at_top = v.owner is None and v.scope.kind == "module"
        targets = self._import_targets(node)
        for bound, target, _, _ in targets if isinstance(node, ast.Import) else []:
            parts = target[1].split(".") if target is not None and target[0] == "own" and target[1] else []
            steps = [(".".join(parts[:i]), part) for i, part in enumerate(parts)]
            if self.package is not None and any(self.package.shadowed(k, n) for k, n in steps):
                why = "is a value its package binds (Python takes a package's attribute before its submodule)"
                self._find(v, node, "dynamic", f"`import ... as {bound}`: the module {why}: import its names instead")
        if isinstance(node, ast.Import):  # (`import a.b` binds `a`: its name is not b's to answer for)
            modules = [a.name if a.asname or "." not in a.name else "" for a in node.names]
        else:
            modules = [node.module or "" if not node.level else ""] * len(node.names)
        if len(modules) != len(targets):
            modules = [""] * len(targets)
        for (bound, target, kind, why), module in zip(targets, modules, strict=True):
            if target is None:
                # Importing a module that is not allowed runs its code at import: every function
                # pays. A refused name of an allowed module costs only the functions that use it,
                # as does a module of IMPORT_ONLY (`import time` for a timing under __main__).
                # (A star import binds names unseen: every function pays for it too.)
                runs_code = isinstance(node, ast.Import) or node.level or _refused_module(node.module or "") is not None
                runs_code = runs_code and module not in IMPORT_ONLY
                if at_top and not runs_code and bound != "*":
                    self._add(self._unit(bound), node.lineno, why, kind)
                else:
                    self._find(v, node, kind, why)
            elif target[0] == "own" and at_top:
                if bound == "*":
                    self.mod.units.setdefault("*", _Unit()).refs.add((target[1], "*"))
                else:
                    self._unit(bound).refs.add((target[1], target[2]))
            elif target[0] == "own":
                self._unit(v.owner).refs.add((target[1], target[2] if bound != "*" else None))


SITE_BUILTINS = names("help license copyright credits exit quit")
"""Builtins that the `site` module adds at start-up: a builtin whatever the grader's own
interpreter was started with (`python -S` lacks them, a worker may not)."""
_BUILTINS = frozenset(dir(builtins)) | SITE_BUILTINS


# ---- files -------------------------------------------------------------------------------


def _parse(data: bytes, shown: str) -> tuple[ast.Module | None, Finding | None]:
    """Parse as the import system does: from bytes, honouring a BOM or coding cookie."""
    try:
        return ast.parse(data, filename=shown), None
    except SyntaxError as exc:
        return None, Finding(exc.lineno or 0, f"cannot be read as Python: {exc.msg}", "unreadable", shown)
    except (ValueError, UnicodeError, LookupError) as exc:
        return None, Finding(0, f"cannot be read as Python: {exc}", "unreadable", shown)
    except (RecursionError, MemoryError):
        return None, Finding(0, "cannot be read as Python: too deeply nested", "unreadable", shown)


def check_package_files(path: Path) -> list[Finding]:
    """What a submission may hold: a regular .py file, or a directory of .py files and
    sub-directories only (no compiled files, no links, no data or special files)."""
    return _walk_package(path)[0]


def _walk_package(path: Path) -> tuple[list[Finding], list[Path]]:
    """check_package_files' findings, and the .py sources it accepted. One walk, with no
    recursion and no more than MAX_PACKAGE_FILES entries read, however deep or wide the
    tree (a 3,000-deep chain of folders once overflowed the stack of a recursive glob)."""
    found: list[Finding] = []
    sources: list[Path] = []
    total = [0]  # bytes of the sources seen so far

    def refuse(p: Path, why: str) -> None:
        rel = p.name if p == path else str(p.relative_to(path))
        found.append(Finding(0, why, "system", rel))

    def check(p: Path, st: os.stat_result) -> bool:
        if stat.S_ISLNK(st.st_mode):
            refuse(p, "a symbolic link: a submission may hold only .py files and directories")
        elif stat.S_ISDIR(st.st_mode):
            return True
        elif not stat.S_ISREG(st.st_mode):
            refuse(p, "a special file: a submission may hold only .py files and directories")
        elif p.suffix in (".pyc", ".pyo"):
            refuse(p, "compiled Python: submit the .py sources only (delete __pycache__)")
        elif p.suffix != ".py":
            refuse(p, "not a .py file: a package may hold only .py files (no data, libraries or notes)")
        elif st.st_size > MAX_FILE_BYTES:
            refuse(p, f"larger than {MAX_FILE_BYTES >> 20} MiB: too large to check")
        else:
            total[0] += st.st_size
            sources.append(p)
        return False

    try:
        top = path.lstat()
    except OSError as exc:
        return [Finding(0, f"cannot be read: {exc.strerror}", "unreadable", path.name)], []
    if not check(path, top):
        return found, sources
    count = 0
    pending = [path]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:  # a folder of a million entries is not read whole
                entries = sorted(itertools.islice(listing, MAX_PACKAGE_FILES + 1 - count), key=lambda e: e.name)
        except OSError as exc:
            refuse(directory, f"cannot be listed: {exc.strerror}")
            continue
        for entry in entries:
            count += 1
            if count > MAX_PACKAGE_FILES:
                refuse(path, f"more than {MAX_PACKAGE_FILES} files: {TOO_LARGE}")
                return found, sources
            p = Path(entry.path)
            if entry.name.startswith("."):
                refuse(p, "a hidden file: a package may hold only .py files and directories")
            elif check(p, entry.stat(follow_symlinks=False)):
                pending.append(p)
            if total[0] > MAX_FILE_BYTES:
                refuse(path, f"more than {MAX_FILE_BYTES >> 20} MiB of sources in all: {TOO_LARGE}")
                return found, sources
    return found, sources


def _layout_findings(root: Path, files: list[Path]) -> list[Finding]:
    """Files the check could not tell apart the way Python's import does: each .py file must
    be the one module its path names. Refused: a name that is not an identifier (`a.b.py`
    would pass for `a/b.py`), and a module that is both `x.py` and a directory `x/` (Python
    imports one of them and the check would read the other)."""
    found: list[Finding] = []
    claimed: dict[str, str] = {}
    for file in files:
        rel = file.relative_to(root)
        parts = [*rel.parts[:-1], rel.stem]
        # Python reads an identifier in NFKC form (fullwidth letters as ASCII): a file named otherwise is not it.
        bad = [p for p in parts if not p.isidentifier() or unicodedata.normalize("NFKC", p) != p]
        if bad:
            why = f"`{bad[0]}` is not a name Python can import: name modules and folders as identifiers"
            found.append(Finding(0, why, "system", str(rel)))
            continue
        dtype = [p for p in parts if COMPLEX_DTYPE_STRING.fullmatch(p)]
        if dtype:  # its __name__ would end in the dtype's name
            why = f"the name `{dtype[0]}` is a complex dtype's: {COMPLEX_STEP}"
            found.append(Finding(0, why, "autodiff", str(rel)))
        for i in range(1, len(parts)):  # the directories above the file, as modules
            claimed.setdefault(".".join(parts[:i]), "/".join(parts[:i]) + "/")
    for file in files:
        rel = file.relative_to(root)
        key, is_package = _module_key(root, file)
        if not is_package and key in claimed and all(p.isidentifier() for p in key.split(".")):
            why = f"`{rel}` and the folder `{claimed[key]}` are the same module: keep one of them"
            found.append(Finding(0, why, "system", str(rel)))
    return found


def _module_key(root: Path, file: Path) -> tuple[str, bool]:
    rel = file.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


# ---- the call graph ------------------------------------------------------------------------


class _Graph:
    """Units of every module, and what each reaches: a plain graph search, so the answer for
    a function never depends on which functions were asked about or in what order."""

    def __init__(self, modules: dict[str, _Module]) -> None:
        self.modules = modules
        self.steps = _Steps()
        self.defined = {n for mod in modules.values() for n in mod.units} | {k.rsplit(".", 1)[-1] for k in modules}
        """Names some module defines: only these are searched for through star imports."""

    def _edges(self, ref: tuple[str, str | None]) -> Iterator[tuple[str, str | None]]:
        key, name = ref
        mod = self.modules.get(key)
        if mod is None:
            return
        if name is None:  # the whole module
            for unit_name in mod.units:
                yield (key, unit_name)
            return
        if name == "*":
            for public in sorted(mod.public):
                yield (key, public)
            return
        if f"{key}.{name}".strip(".") in self.modules:
            yield (f"{key}.{name}".strip("."), None)
        starred = name in mod.starred  # (a def of the name here, run or not, does not hide the star's)
        if (name not in mod.units or starred) and "*" in mod.units and name in self.defined:
            for star in sorted(mod.units["*"].refs):
                self.steps.take()
                yield (star[0], name)

    def reach(self, starts: Iterable[tuple[str, str | None]]) -> list[Finding]:
        seen: set[tuple[str, str | None]] = set()
        pending = list(starts)
        found: set[Finding] = set()
        while pending:
            ref = pending.pop()
            if ref in seen:
                continue
            seen.add(ref)
            key, name = ref
            mod = self.modules.get(key)
            unit = mod.units.get(name) if mod is not None and name is not None else None
            if unit is not None:
                found.update(unit.findings)
                pending.extend(unit.refs)
            pending.extend(self._edges(ref))
        return sorted(found, key=_sort_key)

    def at_import(self) -> list[Finding]:
        found: list[Finding] = []
        starts: list[tuple[str, str | None]] = []
        for mod in self.modules.values():
            found += mod.import_time.findings
            starts += mod.import_time.refs
        return sorted(set(found) | set(self.reach(starts)), key=_sort_key)


def _scan_modules(modules: dict[str, _Module], functions: Iterable[str]) -> dict[str, list[Finding]]:
    functions = list(functions)
    graph = _Graph(modules)
    try:
        everywhere = graph.at_import()
        result: dict[str, list[Finding]] = {}
        for name in functions:
            own = graph.reach([("", name)])
            result[name] = sorted(set(everywhere) | set(own), key=_sort_key)
    except _TooComplex as exc:
        found = Finding(0, f"too complex to check: {exc}", "unreadable", modules[""].file if "" in modules else "")
        return {name: [found] for name in functions}
    return result


def _check_all(sources: list[tuple[_Module, bytes]], package: _Package | None) -> None:
    """Bind every module first (a package's modules see each other's imports), then check."""
    scans: list[tuple[_Module, _ModuleScan]] = []
    root = next((mod for mod, _ in sources if mod.key == ""), None)
    for mod, data in sources:
        tree, problem = _parse(data, mod.file)
        if problem is not None:
            mod.import_time.findings.append(problem)
            continue
        assert tree is not None
        mod.tree = tree
        try:
            scans.append((mod, _ModuleScan(mod, tree, package)))
        except _TooComplex as exc:
            found = Finding(exc.line, f"too complex to check: {exc}", "unreadable", mod.file)
            mod.import_time.findings.append(found)
        except Exception as exc:  # RecursionError among them
            what = f"could not be checked ({type(exc).__name__} in the check; please report it)"
            mod.import_time.findings.append(Finding(0, what, "unreadable", mod.file))
    try:
        for _ in range(len(scans)):  # (star imports of star imports: until nothing is new)
            if not any([scan.bind_stars() for _, scan in scans]):
                break
    except _TooManyStars as exc:  # the package's cost: said once, on its root
        where = root or scans[0][0]
        where.import_time.findings.append(Finding(0, f"too complex to check: {exc}", "unreadable", where.file))
        return
    for mod, scan in scans:
        try:
            scan.check()
        except RecursionError:
            found = Finding(scan.line, "too deeply nested to check", "unreadable", mod.file)
            mod.import_time.findings.append(found)
        except _TooManyStars as exc:  # the package's cost, not this module's: said once, on its root
            where = root or mod
            where.import_time.findings.append(Finding(0, f"too complex to check: {exc}", "unreadable", where.file))
            return
        except _TooComplex as exc:
            mod.import_time.findings.append(Finding(scan.line, f"too complex to check: {exc}", "unreadable", mod.file))
        except Exception as exc:  # a fault of the check must refuse this file, not stop the grader
            what = f"could not be checked ({type(exc).__name__} in the check; please report it)"
            mod.import_time.findings.append(Finding(scan.line, what, "unreadable", mod.file))


def _own_name(path: Path) -> str | None:
    """The package's directory name, when `import <name>` would import this directory: a
    name the interpreter finds elsewhere (jax, math, an installed package) is not its own."""
    name = path.name
    if not name.isidentifier() or name in ALLOWED or name in sys.stdlib_module_names:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return name
    places = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    inside = all(Path(p).resolve().is_relative_to(path.resolve()) for p in places)
    return name if places and inside else None


def scan_source(source: str | bytes, functions: Iterable[str], file: str = "") -> dict[str, list[Finding]]:
    """For each requested top-level function of a one-file submission: the findings that
    refuse it (empty = allowed)."""
    mod = _Module("", file, is_package=False)
    _check_all([(mod, source.encode() if isinstance(source, str) else source)], None)
    return _with_interface(_scan_modules({"": mod}, functions), mod)


def _with_interface(found: dict[str, list[Finding]], root: _Module) -> dict[str, list[Finding]]:
    """`found` and, for each function whose contract keyword the root module's def takes
    otherwise, an "interface" finding (handgrad/interface.py)."""
    if root.tree is None:  # unreadable: already said
        return found
    for name, problems in interface_problems(root.tree).items():
        if name in found:
            found[name] = found[name] + [Finding(line, what, "interface", root.file) for line, what in problems]
    return found


def scan_path(path: Path, functions: Iterable[str]) -> dict[str, list[Finding]]:
    """Scan a .py file or a package directory: its files (check_package_files) and the
    code of every .py file in it, with calls followed across its modules."""
    functions = list(functions)
    content, accepted = _walk_package(path)
    if path.is_symlink() or not path.is_dir():
        if content:
            return {f: list(content) for f in functions}
        try:
            data = path.read_bytes()
        except OSError as exc:
            return {f: [Finding(0, f"cannot be read: {exc.strerror}", "unreadable", path.name)] for f in functions}
        return scan_source(data, functions, path.name)
    if any(TOO_LARGE in f.what for f in content):
        return {f: list(content) for f in functions}
    files = sorted(accepted)
    refused = {f.file for f in content}
    content += _layout_findings(path, [f for f in files if _printable(str(f.relative_to(path))) not in refused])
    keys = {_module_key(path, f)[0] for f in files}
    # A directory without __init__.py is a namespace package: importable, with no code.
    namespaces = {".".join(k.split(".")[:i]) for k in keys for i in range(1, k.count(".") + 1)} - keys
    package = _Package(keys | namespaces, _own_name(path))
    modules: dict[str, _Module] = {k: _Module(k, k.replace(".", "/") + "/", True) for k in namespaces}
    sources: list[tuple[_Module, bytes]] = []
    for file in files:
        key, is_package = _module_key(path, file)
        mod = _Module(key, str(file.relative_to(path)), is_package)
        if not any(f.file == _printable(mod.file) for f in content) and key not in modules:
            try:
                sources.append((mod, file.read_bytes()))
            except OSError as exc:
                mod.import_time.findings.append(Finding(0, f"cannot be read: {exc.strerror}", "unreadable", mod.file))
            modules[key] = mod
    _check_all(sources, package)
    modules.setdefault("", _Module("", "__init__.py", True))
    modules[""].import_time.findings.extend(content)
    return _with_interface(_scan_modules(modules, functions), modules[""])
