"""Check anyone's gradient: `handgrad.verify`, `handgrad.assert_gradient`, `handgrad.taylor_test`.

`verify` turns the user's function into a catalog-style entry (a `Target`: the truth is
JAX autodiff of the function in float64, the formula under test is the user's gradient or
custom rule) and runs it through the same engine as `handgrad check`, the agreement
matrix and the grader: the same input families, dtypes, transforms, devices, kink rule,
tolerance and explanation of the worst element. See docs/verify.md.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handgrad.engine import CaseResult, InProcess, run_all
from handgrad.modes import Check, Extra
from reference.catalog import Entry
from reference.families import Family, Inputs
from reference.kinks import Kink
from reference.tolerances import DTYPES, TOLERANCES

FAMILIES: tuple[str, ...] = ("given", "normal", "wide", "extreme", "tiny", "zeros", "size-1", "labels", "one-hot")
"""The input families verify draws from the example arguments' shapes (see _family)."""

ALL_FAMILIES: tuple[str, ...] = (*FAMILIES, "broadcast")
"""FAMILIES and those drawn only when named in families= ("broadcast": handgrad/broadcast.py)."""

EXTREME_MAGNITUDES = np.array([11.0, 12.0, 22.0, 88.0, 90.0, 177.0, 709.0, 711.0, 1420.0])
"""Around ln(largest finite number) of float16 (11.1), float32 and bfloat16 (88.7) and
float64 (709.8), and twice those: where exp overflows, and a form that divides two
overflowed terms (inf/inf) turns NaN, in each dtype."""

DEFAULT_SEED = 0


class Report:
    """The outcome of `verify`: `ok`, the case results, and `str(report)`, the table and
    the explanation of each failing case as `handgrad check` prints them."""

    def __init__(self, name: str, results: Sequence[CaseResult], show: int = 5, about: str = "") -> None:
        self.name = name
        self.results = tuple(results)
        self.show = show
        self.about = about
        """How grad was read (as a VJP for a non-scalar f), said under a failure."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def worst(self) -> CaseResult | None:
        """The failing case furthest outside its tolerance (None when every case passes)."""
        failed = self.failures
        return max(failed, key=lambda r: r.ratio) if failed else None

    @property
    def unchecked(self) -> int:
        return sum(r.unchecked for r in self.results)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        from handgrad.table import check_table

        failed = self.failures
        worst = self.worst
        ordered = ([worst] if worst is not None else []) + [r for r in failed if r is not worst]
        parts = [check_table(self.results)]
        parts += [r.message() for r in ordered[: self.show]]
        if len(failed) > self.show:
            parts.append(f"... and {len(failed) - self.show} more failed cases")
        if failed and self.about:
            parts.append(self.about)
        summary = f"{self.name}: {len(self.results) - len(failed)}/{len(self.results)} cases agree"
        if self.unchecked:
            summary += f"; {self.unchecked} elements not compared where f is not finite or its autodiff is NaN"
        parts.append(summary)
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<Report {self.name}: {'ok' if self.ok else f'{len(self.failures)} failed'} of {len(self.results)}>"


@dataclass(frozen=True, eq=False)
class Target(Entry):
    """A user's function as a catalog entry: `reference` is the float64 truth (autodiff),
    `formula` the function under test; both return {argument name: gradient}."""

    formula: Callable[..., Any] = lambda *a: None
    directions: tuple[str, ...] = ()
    """The arguments drawn beside f's own (cotangent, tangents, v): shown whole in a failure."""
    where: str = ""
    """Which extra example the target checks (" on examples[0]"; the end of its name)."""

    @property
    def batch_polymorphic(self) -> bool:
        # A user's function takes one example: batches come only from vmap.
        return False

    @property
    def signature(self) -> str:
        label = self.name[: len(self.name) - len(self.where)]
        return f"{label}({', '.join(self.args)}){self.where}"


@dataclass(frozen=True)
class _Call:
    """The checked arguments of one `verify` call. Arguments may be pytrees (dicts, tuples,
    lists of arrays): handgrad works on their leaves, named like `params['w']`."""

    f: Callable[..., Any]
    primal: Callable[..., Any]
    """f itself, or the primal definition of f's custom_vjp/custom_jvp rule."""
    name: str
    names: tuple[str, ...]
    """Names of the float leaves (the ones handgrad draws and checks)."""
    floats: tuple[np.ndarray, ...]
    float_pos: tuple[int, ...]
    """Positions of the float leaves among all leaves of the arguments."""
    fixed: dict[int, Any]
    """Other leaves (integer labels, masks, Python ints and bools, static arguments): passed
    as given, never drawn."""
    treedef: Any
    """The structure of the arguments tuple, to rebuild it from its leaves."""
    argnums: tuple[int, ...]
    """Positions among the float leaves that are differentiated."""
    grad_tree: Any
    """The structure grad must return: the differentiated argument (a tuple of them for several)."""
    pytree: bool
    """Some differentiated argument is a pytree, not one array."""
    out_shape: tuple[int, ...]
    out_dtype: Any
    scalar: bool
    held: frozenset[int] = frozenset()
    """Float leaves (indices into floats) of the arguments named in verify's `fixed=`: every
    family passes them at their given values (cast to the case's dtype), never redrawn."""

    def full(self, floats: Sequence[Any]) -> list[Any]:
        leaves: list[Any] = [None] * (len(self.floats) + len(self.fixed))
        for pos, value in zip(self.float_pos, floats, strict=True):
            leaves[pos] = value
        for pos, value in self.fixed.items():
            leaves[pos] = value
        return list(self.treedef.unflatten(leaves))

    @property
    def diff_names(self) -> tuple[str, ...]:
        return tuple(self.names[i] for i in self.argnums)


def _x64() -> contextlib.AbstractContextManager[Any]:
    import jax

    ctx: Any = getattr(jax, "enable_x64", None)
    if ctx is None:  # older jax keeps it in jax.experimental
        import jax.experimental

        ctx = jax.experimental.enable_x64  # type: ignore[attr-defined,unused-ignore]
    return ctx(True)


@contextlib.contextmanager
def _checking() -> Iterator[None]:
    """For this call only: float64 on, float32 matmuls at full precision, and XLA's
    default optimizations (what the user's code runs with, even where the process has
    turned them off for speed, as `configure_for_checking` does: the float32 rounding of
    a formula can differ between the two)."""
    import jax

    unoptimized = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        with _x64(), jax.default_matmul_precision("highest"):
            yield
    finally:
        jax.config.update("jax_disable_most_optimizations", unoptimized)


def _parameter_names(f: Callable[..., Any], n: int) -> list[str]:
    try:
        params = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names = params[:n] if len(params) >= n else []
    return names or [f"arg{i}" for i in range(n)]


def _is_float_dtype(dtype: Any) -> bool:
    import jax.numpy as jnp

    return bool(jnp.issubdtype(dtype, jnp.floating))


def _float_leaf(value: Any) -> np.ndarray | None:
    """The leaf as an array to draw, or None for a leaf passed as given (not floating point)."""
    if isinstance(value, bool) or isinstance(value, int):
        return None  # kept as the very object: a static argument must stay hashable
    if isinstance(value, float):
        return np.asarray(value, np.float64)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        array = np.asarray(value)
        return array if _is_float_dtype(array.dtype) else None
    return None


def _held_positions(fixed: Any, names_all: Sequence[str], nums: tuple[int, ...], who: str) -> set[int]:
    """The argument positions verify's `fixed=` names (ints or parameter names)."""
    if isinstance(fixed, (int, str)):
        items: tuple[Any, ...] = (fixed,)
    elif isinstance(fixed, (list, tuple)):
        items = tuple(fixed)
    else:
        raise TypeError(f"{who}: fixed= takes argument positions or names, got {fixed!r}")
    positions = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"{who}: fixed= takes argument positions or names, got {item!r}")
        if isinstance(item, str):
            if item not in names_all:
                raise ValueError(f"{who}: fixed={item!r} names no argument; they are {', '.join(names_all)}")
            position = list(names_all).index(item)
        elif not -len(names_all) <= item < len(names_all):
            raise ValueError(f"{who}: fixed={item} is out of range for {len(names_all)} arguments")
        else:
            position = item % len(names_all)
        if position in nums:
            raise ValueError(
                f"{who}: argument {position} ({names_all[position]}) is differentiated (argnums): it cannot be fixed"
            )
        positions.add(position)
    return positions


def _prepare(
    f: Any,
    args: tuple[Any, ...],
    argnums: int | Sequence[int],
    rule: Any,
    who: str = "handgrad.verify",
    fixed: Any = (),
) -> _Call:
    """`rule`: the custom_vjp/custom_jvp object whose rule is checked (None: f is plain);
    `fixed`: verify's fixed= (arguments kept at their given values)."""
    import jax

    if not callable(f):
        raise TypeError(f"{who}: f must be a function, got {type(f).__name__}")
    if not args:
        raise TypeError(f"{who}: give example arguments after f: {who.split('.')[-1]}(f, x, ...)")
    primal = rule.fun if rule is not None else f
    names_all = _parameter_names(primal, len(args))
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(n, int) for n in nums):
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"{who}: argnums {n} is out of range for {len(args)} arguments")
    nums = tuple(n % len(args) for n in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{who}: argnums {argnums!r} names an argument twice")
    held_args = _held_positions(fixed, names_all, nums, who)
    static = set(getattr(rule, "nondiff_argnums", ()) or ())
    for n in nums:
        if n in static:
            raise ValueError(f"{who}: argument {n} ({names_all[n]}) is in the rule's nondiff_argnums")
    leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(tuple(args))
    names, floats, float_pos, fixed, owner = [], [], [], {}, []
    for pos, (path, leaf) in enumerate(leaves_with_paths):
        top = path[0].idx
        array = None if top in static else _float_leaf(leaf)
        if array is None:
            fixed[pos] = leaf
            if top in nums:
                where = f"argument {top} ({names_all[top]}{jax.tree_util.keystr(path[1:])})"
                raise TypeError(f"{who}: {where} {_not_float(leaf)}")
            continue
        names.append(names_all[top] + jax.tree_util.keystr(path[1:]))
        floats.append(array)
        float_pos.append(pos)
        owner.append(top)
    for n in nums:
        if n not in owner:
            raise TypeError(f"{who}: argument {n} ({names_all[n]}) holds no floating-point array to differentiate")
    for name, array, top in zip(names, floats, owner, strict=True):
        if top in nums and array.size == 0:
            raise ValueError(f"{who}: {name} has no elements (shape {array.shape}): nothing would be checked")
    subtrees = [jax.tree_util.tree_structure(args[n]) for n in nums]
    grad_tree = subtrees[0] if len(nums) == 1 else jax.tree_util.tree_structure(tuple(args[n] for n in nums))
    call = _Call(
        f=f,
        primal=primal,
        name=str(_name_of(f) or _name_of(primal) or "f"),
        names=tuple(names),
        floats=tuple(floats),
        float_pos=tuple(float_pos),
        fixed=fixed,
        treedef=treedef,
        argnums=tuple(i for i, top in enumerate(owner) if top in nums),
        grad_tree=grad_tree,
        pytree=not all(jax.tree_util.treedef_is_leaf(t) for t in subtrees),
        out_shape=(),
        out_dtype=None,
        scalar=True,
        held=frozenset(i for i, top in enumerate(owner) if top in held_args),
    )
    try:
        out = jax.eval_shape(lambda *fl: f(*call.full(fl)), *call.floats)
    except Exception as exc:
        raise ValueError(f"{who}: f fails on the example arguments: {_short(exc)}{_traced_note(exc, 'f')}") from None
    if not hasattr(out, "shape") or not _is_float_dtype(out.dtype):
        raise TypeError(f"{who}: f must return one floating-point array, got {out!r}")
    return _replace(call, out_shape=tuple(out.shape), out_dtype=out.dtype, scalar=out.shape == ())


def _name_of(f: Any) -> str | None:
    """f's name, or the name of the function a functools.partial or jax.jit wraps."""
    for candidate in (f, getattr(f, "func", None), getattr(f, "__wrapped__", None)):
        name = getattr(candidate, "__name__", None)
        if isinstance(name, str):
            return name
    return None


def _not_float(leaf: Any) -> str:
    """Why a leaf cannot be differentiated, and what to pass instead."""
    if hasattr(leaf, "dtype"):
        kind = np.dtype(leaf.dtype).kind
        what = f"has dtype {leaf.dtype}"
        if kind == "c":
            return what + "; complex arguments are not supported: split them into real and imaginary parts"
        if kind in "iub":
            return what + "; only floating-point arguments can be differentiated (cast it: x.astype(np.float32))"
        return what + "; only floating-point arguments can be differentiated"
    if isinstance(leaf, (bool, int)):
        return (
            f"is the Python {type(leaf).__name__} {leaf!r}; only floats can be differentiated (write {float(leaf)!r})"
        )
    return f"is a {type(leaf).__name__}; only floating-point arrays and numbers can be differentiated"


TRACED_ERRORS = ("TracerArrayConversionError", "ConcretizationTypeError", "TracerBoolConversionError",
                 "TracerIntegerConversionError")  # fmt: skip


def _traced_note(exc: BaseException, who: str) -> str:
    """Why a function that runs on arrays fails when JAX traces it, in one sentence."""
    if type(exc).__name__ in TRACED_ERRORS:
        return (
            f" ({who} runs under jax.jit and jax.vmap here: write it with jax.numpy, not numpy, float() "
            "or a Python `if` on its arguments)"
        )
    return ""


def _replace(call: _Call, **changes: Any) -> _Call:
    import dataclasses

    return dataclasses.replace(call, **changes)


def _short(exc: BaseException) -> str:
    from handgrad.evaluate import describe_exception

    return describe_exception(exc, limit=300)


class _ReturnError(TypeError):
    """grad or hvp returned the wrong structure; the message says what was expected."""


def _as_dict(out: Any, call: _Call, who: str) -> dict[str, Any]:
    """What `who` (grad) returned, as {leaf name: array}; its structure must be the
    differentiated argument's (a tuple of them for several argnums)."""
    import jax

    single_array = jax.tree_util.treedef_is_leaf(call.grad_tree)
    if single_array and isinstance(out, (tuple, list)) and len(out) == 1:
        out = out[0]  # (g,) for one array argument, as a custom_vjp bwd returns it
    if isinstance(out, list) and len(call.diff_names) > 1:
        out = tuple(out)
    leaves, tree = jax.tree_util.tree_flatten(out)
    if tree != call.grad_tree:
        args = ", ".join(call.diff_names)
        raise _ReturnError(
            f"{who} must return the gradient shaped like the differentiated arguments ({args}): "
            f"{call.grad_tree}, got {tree}"
        )
    return dict(zip(call.diff_names, leaves, strict=True))


def _gradient_functions(call: _Call, grad: Callable[..., Any] | None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(formula, truth): each takes the float arguments (and the cotangent when f is not
    scalar) and returns {name: gradient}. The truth differentiates `call.primal`."""
    import jax

    names = call.diff_names

    def undefined_where_f_is(value: Any, grads: Sequence[Any]) -> list[Any]:
        """NaN (not compared: counted as unchecked) where f's own value is not finite, outside
        its domain: elementwise where the shapes match, else everywhere."""
        import jax.numpy as jnp

        bad = ~jnp.isfinite(value)
        return [jnp.where(bad if jnp.shape(t) == jnp.shape(bad) else bad.any(), jnp.nan, t) for t in grads]

    def autodiff(fn: Callable[..., Any], truth: bool = False) -> Callable[..., Any]:
        def through(*fl_ct: Any) -> dict[str, Any]:
            fl = fl_ct if call.scalar else fl_ct[:-1]
            diff = [fl[i] for i in call.argnums]

            def g(*d: Any) -> Any:
                merged = list(fl)
                for i, v in zip(call.argnums, d, strict=True):
                    merged[i] = v
                return fn(*call.full(merged))

            if call.scalar:
                value, grads = jax.value_and_grad(g, argnums=tuple(range(len(diff))))(*diff)
            else:
                value, pullback = jax.vjp(g, *diff)
                grads = pullback(fl_ct[-1])
            if truth:
                grads = undefined_where_f_is(value, grads)
            return dict(zip(names, grads, strict=True))

        return through

    truth = autodiff(call.primal, truth=True)
    if grad is None:
        return autodiff(call.f), truth

    def formula(*fl_ct: Any) -> dict[str, Any]:
        fl = fl_ct if call.scalar else fl_ct[:-1]
        extra = () if call.scalar else (fl_ct[-1],)
        return _as_dict(grad(*call.full(fl), *extra), call, "grad")

    return formula, truth


def _hvp_functions(call: _Call, hvp: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    import jax

    (i,) = call.argnums
    name = call.names[i]

    def truth(*fl_v: Any) -> dict[str, Any]:
        fl, v = list(fl_v[:-1]), fl_v[-1]

        def g(x: Any) -> Any:
            merged = list(fl)
            merged[i] = x
            return call.primal(*call.full(merged))

        return {name: jax.jvp(jax.grad(g), (fl[i],), (v,))[1]}

    def formula(*fl_v: Any) -> dict[str, Any]:
        return _as_dict(hvp(*call.full(fl_v[:-1]), fl_v[-1]), call, "hvp")

    return formula, truth


def _calling(call: _Call, who: str, n_args: int) -> str:
    """How verify calls the user's grad or hvp, and what it must return, in one sentence."""
    params = ", ".join(_parameter_names(call.primal, n_args))
    if who == "hvp":
        return f"hvp is called as hvp({params}, v) and returns the Hessian of f times v"
    if call.scalar:
        return f"f returns a scalar, so grad is called as grad({params}) and returns the gradient of f"
    return (
        f"f returns shape {call.out_shape}, not a scalar, so grad is its vector-Jacobian product: "
        f"grad({params}, cotangent) returns the cotangent (shaped like f's output) pulled back to the arguments"
    )


def _check_returns(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    want: dict[str, Any],
    who: str,
    user_fn: Callable[..., Any],
    calling: str = "",
) -> None:
    """The user's grad/hvp on the example arguments: its shapes and dtypes, up front.
    `calling` says how it is called, for an error that looks like a wrong signature."""
    import jax

    if not callable(user_fn):
        raise TypeError(f"handgrad.verify: {who} must be a function, got {type(user_fn).__name__}")
    try:
        got = jax.eval_shape(fn, *args)
    except _ReturnError as exc:
        raise TypeError(f"handgrad.verify: {exc}") from None
    except TypeError as exc:
        arity = "positional argument" in str(exc) or "unexpected keyword" in str(exc)
        note = f" ({calling})" if arity and calling else _traced_note(exc, who)
        raise TypeError(f"handgrad.verify: {who} on the example arguments: {_short(exc)}{note}") from None
    except Exception as exc:
        note = _traced_note(exc, who)
        raise ValueError(f"handgrad.verify: {who} fails on the example arguments: {_short(exc)}{note}") from None
    for k, w in want.items():
        g = got[k]
        if not hasattr(g, "shape") or g.shape != w.shape:
            raise ValueError(
                f"handgrad.verify: {who} returns shape {getattr(g, 'shape', type(g).__name__)} for {k}, "
                f"expected {w.shape} (the shape of {k})"
            )
        if g.dtype != w.dtype:
            raise TypeError(f"handgrad.verify: {who} returns dtype {g.dtype} for {k}, expected {w.dtype}")


def _size_one(call: _Call) -> tuple[list[tuple[int, ...]], tuple[int, ...]] | None:
    """The float arguments' shapes with a batch axis cut to length 1, and f's output shape
    there. The batch axis is a leading axis of length n > 1, cut in every float argument
    whose leading axis is n (logits and labels (8, 5) -> (1, 5); weights (5, 3) beside inputs
    (8, 5) keep theirs); the differentiated arguments' leading lengths are tried first, then
    the others', and the first that f takes is used. None where f takes none (an integer
    label array is passed as given, at its full length). A length that lines up, counted from
    the right, with the same length in an argument not cut is a broadcast, not a batch (a bias
    (2,) beside rows (5, 2)): passed over here, the broadcast family's (handgrad/broadcast.py)."""
    import jax

    from handgrad.broadcast import lines_up

    order = [call.floats[i] for i in call.argnums] + list(call.floats)
    candidates = list(dict.fromkeys(a.shape[0] for a in order if a.ndim and a.shape[0] > 1))
    for n in candidates:
        cut = [i for i, a in enumerate(call.floats) if a.ndim and a.shape[0] == n]
        if any(lines_up(call, i, 0, [j for j in range(len(call.floats)) if j not in cut]) for i in cut):
            continue
        shapes = [(1, *a.shape[1:]) if a.ndim and a.shape[0] == n else a.shape for a in call.floats]
        specs = [jax.ShapeDtypeStruct(s, a.dtype) for s, a in zip(shapes, call.floats, strict=True)]
        try:
            out = jax.eval_shape(lambda *fl: call.f(*call.full(fl)), *specs)
        except Exception:
            continue
        return shapes, tuple(getattr(out, "shape", ()))
    return None


def _label_like(call: _Call) -> dict[int, str]:
    """The float arguments, not differentiated and not fixed, whose example holds only 0 and
    1: "one-hot" where every row (last axis) sums to 1, else "binary"."""
    return {
        i: _label_like_kind(g)
        for i, g in enumerate(call.floats)
        if i not in call.argnums and i not in call.held and g.size >= 2 and np.isin(g, (0.0, 1.0)).all()
    }


def _label_like_kind(g: np.ndarray) -> str:
    return "one-hot" if g.ndim >= 1 and bool((g.sum(axis=-1) == 1).all()) else "binary"


def _draw_labels(rng: np.random.Generator, like: np.ndarray, kind: str) -> np.ndarray:
    """Labels shaped like `like`: random one-hot rows, or random 0s and 1s."""
    if kind == "one-hot":
        rows = like.reshape(-1, like.shape[-1])
        out = np.zeros(rows.shape)
        out[np.arange(len(rows)), rng.integers(like.shape[-1], size=len(rows))] = 1.0
        return out.reshape(like.shape)
    return rng.integers(0, 2, like.shape).astype(np.float64)


Cut = tuple[list[tuple[int, ...]], tuple[int, ...]]
"""Shapes other than the example's: every float argument's, and f's output there."""


def _family(name: str, call: _Call, extras: Sequence[Extra], cut: Cut | None = None, shown: str = "") -> Family:
    """Draw every float argument, then the extras (cotangent, tangents, directions), each
    shaped like the leaf it follows (or f's output). "size-1" and "broadcast": standard normal
    at `cut`'s shapes (the caller found them). `shown`: the family's name in the report
    ("broadcast:y"), `name` by default."""
    shapes = [a.shape for a in call.floats]
    out_shape = call.out_shape
    if name in ("size-1", "broadcast"):
        assert cut is not None
        shapes, out_shape = cut
    extra_shapes = [out_shape if e.like is None else shapes[e.like] for e in extras]

    labels = _label_like(call) if name == "labels" else {}

    def values(rng: np.random.Generator, shape: tuple[int, ...], given: np.ndarray, scale: float) -> np.ndarray:
        if name == "given":
            return given.astype(np.float64)
        if name in ("normal", "one-hot", "size-1", "broadcast"):
            return rng.standard_normal(shape)
        if name == "tiny":  # every argument small at once, at one scale (atan2(y, x) with both near 0)
            return rng.standard_normal(shape) * scale
        if name in ("wide", "labels"):  # (label-like arguments themselves are drawn as labels)
            return rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-3, 4, shape)
        if name == "extreme":
            return rng.choice([-1.0, 1.0], shape) * rng.choice(EXTREME_MAGNITUDES, shape)
        # zeros: about half the elements exactly +0.0 or -0.0, the rest standard normal
        x = rng.standard_normal(shape)
        zero = rng.random(shape) < 0.5
        return np.where(zero, np.where(rng.random(shape) < 0.5, 0.0, -0.0), x)

    def one(rng: np.random.Generator, i: int, shape: tuple[int, ...], given: np.ndarray, scale: float) -> np.ndarray:
        if i in call.held:  # as given (its first row where the batch is cut to one)
            return given[: shape[0] if shape else None].astype(np.float64)
        if i in labels:
            return _draw_labels(rng, given, labels[i])
        return values(rng, shape, given, scale)

    def draw(rng: np.random.Generator) -> Inputs:
        scale = 10.0 ** rng.uniform(-8, -2) if name == "tiny" else 1.0
        args = [one(rng, i, s, g, scale) for i, (s, g) in enumerate(zip(shapes, call.floats, strict=True))]
        if name != "one-hot":
            args += [rng.standard_normal(s) for s in extra_shapes]
        else:  # each group one-hot as a whole: one element of all its leaves together
            drawn: list[Any] = [None] * len(extras)
            for group in dict.fromkeys(e.group for e in extras):
                members = [k for k, e in enumerate(extras) if e.group == group]
                sizes = [int(np.prod(extra_shapes[k])) for k in members]
                flat = np.zeros(sum(sizes))
                flat[rng.integers(flat.size)] = 1.0
                for k, part in zip(members, np.split(flat, np.cumsum(sizes)[:-1]), strict=True):
                    drawn[k] = part.reshape(extra_shapes[k])
            args += drawn
        return Inputs(tuple(args))

    return Family(shown or name, draw, _ABOUT[name])


_ABOUT = {
    "given": "the example arguments as given",
    "normal": "standard normal",
    "wide": "magnitudes from 1e-3 to 1e4, both signs",
    "extreme": "+-11 ... +-1420, around ln(max) of each float dtype",
    "tiny": "standard normal times one scale from 1e-8 to 1e-2, every argument at once",
    "zeros": "half the elements exactly +-0.0",
    "size-1": "standard normal with the batch axis of length 1 (a .squeeze() that drops too much)",
    "labels": "label-like arguments (0/1 in the example) drawn as 0/1 or one-hot rows; the rest wide",
    "one-hot": "standard normal, one-hot cotangent/direction",
    "broadcast": "standard normal with one argument cut to length 1 where f broadcasts it against the others",
}


@dataclass(frozen=True)
class _KinkRule:
    mask: Callable[..., Any]
    range: tuple[float, float] | Callable[..., tuple[Any, Any]]


def _unused(*args: Any) -> Any:
    raise AssertionError("a _TreeKink answers expected_at itself")


@dataclass(frozen=True)
class _TreeKink(Kink):
    """The user's kink declaration over verify's {argument name: gradient} outputs.

    At a kink element the valid values are c * [lo, hi], c being the cotangent element
    there (1 for a scalar f): [lo, hi] is the range of the derivative of the output
    element with respect to that input element. Strict: autodiff's value of f's primal.
    """

    call: Any = None
    declared: Any = None

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        call, declared = self.call, self.declared
        fl = args if call.scalar else args[:-1]
        ct = None if call.scalar else np.asarray(args[-1], np.float64)
        stacked = np.ndim(fl[0]) == call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        examples = [list(fl)] if not stacked else [[np.asarray(a)[k] for a in fl] for k in range(len(fl[0]))]
        masks, values = {}, {}
        for which, name in enumerate(call.diff_names):
            shape = got[name].shape
            per_mask, per_lo, per_hi = [], [], []
            for ex in examples:
                full = call.full([np.asarray(a) for a in ex])
                m = declared.mask(*full)
                per_mask.append(np.asarray(m[which] if isinstance(m, (tuple, list)) else m, bool))
                lo, hi = declared.range if isinstance(declared.range, tuple) else declared.range(*full)
                per_lo.append(np.asarray(lo, np.float64))
                per_hi.append(np.asarray(hi, np.float64))
            one = shape[1:] if stacked else shape

            def pick(xs: list[np.ndarray], one: tuple[int, ...] = one) -> np.ndarray:
                return np.stack([np.broadcast_to(x, one) for x in xs]) if stacked else np.broadcast_to(xs[0], one)

            mask, lo_, hi_ = pick(per_mask), pick(per_lo), pick(per_hi)
            c = 1.0 if ct is None else ct
            a, b = np.minimum(c * lo_, c * hi_), np.maximum(c * lo_, c * hi_)
            g = got[name]
            masks[name] = np.zeros(shape, bool) if strict else mask
            values[name] = np.where(np.isfinite(g), np.clip(np.nan_to_num(g), a, b), np.nan)
        return masks, values


MAX_KINK_PROBES = 1024
"""Elements of one argument probed for kinks (two evaluations of f each); past that, none is found."""
FOUND_KINK_RULE = (
    "f has a kink there (its one-sided derivatives differ, found by handgrad): any value between them "
    "is a valid derivative (strict: only autodiff's value)"
)


@dataclass(frozen=True)
class _FoundKink(Kink):
    """Kinks found, not declared: at each element of a differentiated argument, the one-sided
    derivatives of f (of sum(cotangent * f) for a non-scalar f) along that element, in float64,
    from f's values a small step either side. Where they differ by more than the difference
    quotients' own rounding explains, the element is a kink and any value between the two is
    valid (a subgradient); elsewhere the truth stands. Strict: no element is a kink."""

    call: Any = None
    _probes: dict[tuple[int, bool], Any] = field(default_factory=dict, compare=False, hash=False)

    def _probe(self, i: int, cotangent: bool) -> Any:
        import jax
        import jax.numpy as jnp

        key = (i, cotangent)
        if key not in self._probes:
            call = self.call

            def value(xi: Any, fl: list[Any], c: Any) -> Any:
                xs = list(fl)
                xs[i] = xi
                out = call.primal(*call.full(xs))
                return jnp.sum(out * c) if cotangent else out

            self._probes[key] = jax.jit(jax.vmap(value, in_axes=(0, None, None)))
        return self._probes[key]

    def slopes(self, fl: list[np.ndarray], c: np.ndarray | None, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(low, high, kink): the range between the one-sided derivatives at every element of
        fl[i], widened by their rounding error, and where they differ (the kinks)."""
        x = fl[i]
        m = x.size
        nothing = np.zeros(x.shape, bool)
        if m == 0 or m > MAX_KINK_PROBES:
            return np.zeros(x.shape), np.zeros(x.shape), nothing
        h = 1e-7 * np.maximum(np.abs(x), 1e-2).ravel()
        steps = (np.eye(m) * h).reshape(m, *x.shape)
        points = np.concatenate([x + steps, x - steps, x[None]])
        try:
            values = np.asarray(self._probe(i, c is not None)(points, fl, 0.0 if c is None else c), np.float64)
        except Exception:  # f cannot be evaluated this way: no kink is found, the truth stands
            return np.zeros(x.shape), np.zeros(x.shape), nothing
        up, down, here = values[:m], values[m : 2 * m], values[-1]
        with np.errstate(all="ignore"):  # (inf - inf where f overflows: no kink there)
            right, left = (up - here) / h, (here - down) / h
            rounding = 16 * np.finfo(np.float64).eps * (np.abs(up) + np.abs(down) + 2 * np.abs(here)) / h
            kink = np.abs(right - left) > 1e-3 * np.maximum(np.abs(right), np.abs(left)) + rounding
        kink &= np.isfinite(right) & np.isfinite(left)
        # The slopes are estimates, off by up to their rounding: the range is widened by it, so
        # that relu's exact 1 at 0 is inside although the quotient says 0.99999997.
        low, high = np.minimum(left, right) - rounding, np.maximum(left, right) + rounding
        return low.reshape(x.shape), high.reshape(x.shape), kink.reshape(x.shape)

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        call = self.call
        fl = [np.asarray(a, np.float64) for a in (args if call.scalar else args[:-1])]
        ct = None if call.scalar else np.asarray(args[-1], np.float64)
        stacked = np.ndim(fl[0]) == call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        examples = (
            [(fl, ct)]
            if not stacked
            else [([a[k] for a in fl], None if ct is None else ct[k]) for k in range(len(fl[0]))]
        )
        masks, values = {}, {}
        for which, name in enumerate(call.diff_names):
            i = call.argnums[which]
            found = [self.slopes(ex, c, i) for ex, c in examples] if not strict else []
            g = got[name]
            if strict or not found:
                masks[name], values[name] = np.zeros(g.shape, bool), np.zeros(g.shape)
                continue
            left, right, kink = (np.stack([f[j] for f in found]) if stacked else found[0][j] for j in range(3))
            a, b = np.minimum(left, right), np.maximum(left, right)
            masks[name] = kink
            values[name] = np.where(np.isfinite(g), np.clip(np.nan_to_num(g), a, b), (a + b) / 2)
        return masks, values


def _tree_kink(call: _Call, declared: _KinkRule) -> _TreeKink:
    r = declared.range
    text = f"any value in [{r[0]:g}, {r[1]:g}]" if isinstance(r, tuple) else "any value in the declared range"
    scale = "" if call.scalar else " times the cotangent"
    rule = f"a declared kink: {text}{scale} is a valid derivative (strict: only autodiff's value)"
    return _TreeKink(rule, _unused, _unused, _unused, call=call, declared=declared)


def _found_kink(call: _Call) -> _FoundKink:
    return _FoundKink(FOUND_KINK_RULE, _unused, _unused, _unused, call=call)


def _validate_names(kind: str, given: Sequence[str] | None, known: Sequence[str]) -> tuple[str, ...]:
    if given is None:
        return tuple(known)
    if isinstance(given, str):
        given = (given,)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise ValueError(f"handgrad.verify: unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
    if not given:
        raise ValueError(f"handgrad.verify: {kind}s is empty")
    return tuple(given)


def _default_dtypes(*calls: _Call) -> tuple[str, ...]:
    own = {np.dtype(a.dtype).name for call in calls for a in call.floats}
    return tuple(d for d in DTYPES if d in own | {"float32", "float64"})


def _kink_rule(call: _Call, kinks: Callable[..., Any] | None, kink_range: Any) -> _KinkRule | None:
    if kinks is None:
        if kink_range is not None:
            raise ValueError("handgrad.verify: kink_range without kinks: say where the kinks are (kinks=lambda x: ...)")
        return None
    if call.pytree:
        raise ValueError("handgrad.verify: kinks= needs the differentiated arguments to be arrays, not pytrees")
    if not callable(kinks):
        raise TypeError(f"handgrad.verify: kinks must be a function of the arguments returning a mask, got {kinks!r}")
    if kink_range is None:
        raise ValueError("handgrad.verify: kinks needs kink_range=(lo, hi): the valid derivatives at a kink")
    if not callable(kink_range):
        if not (isinstance(kink_range, (tuple, list)) and len(kink_range) == 2):
            raise TypeError(
                f"handgrad.verify: kink_range must be (lo, hi) or a function returning it, got {kink_range!r}"
            )
        lo, hi = (float(v) for v in kink_range)
        if not lo <= hi:
            raise ValueError(f"handgrad.verify: kink_range ({lo}, {hi}) needs lo <= hi")
        kink_range = (lo, hi)
    if not call.scalar:
        for i in call.argnums:
            if call.floats[i].shape != call.out_shape:
                raise ValueError(
                    "handgrad.verify: kinks for a non-scalar f need f's output shaped like the argument "
                    f"(an elementwise f); {call.names[i]} has shape {call.floats[i].shape}, f returns {call.out_shape}"
                )
    return _KinkRule(kinks, kink_range)


def _check_seed(seed: object, who: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{who}: seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{who}: seed must be 0 or more, got {seed}")


def verify(
    f: Callable[..., Any],
    *args: Any,
    grad: Callable[..., Any] | None = None,
    argnums: int | Sequence[int] = 0,
    hvp: Callable[..., Any] | None = None,
    dtypes: Sequence[str] | None = None,
    kinks: Callable[..., Any] | None = None,
    kink_range: tuple[float, float] | Callable[..., tuple[Any, Any]] | None = None,
    strict: bool = False,
    families: Sequence[str] | None = None,
    transforms: Sequence[str] | None = None,
    devices: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    fixed: int | str | Sequence[int | str] = (),
    order: int = 1,
    modes: Sequence[str] = ("rev",),
    examples: Sequence[Sequence[Any]] = (),
) -> Report:
    """Check a hand-written gradient (or f's own custom_vjp/custom_jvp rule, or a
    Hessian-vector product) against JAX autodiff in float64, on every dtype, transform,
    device and input family; docs/verify.md has the details and an example.

    f: the function; `*args`: example arguments (arrays, numbers, or pytrees of them)
        fixing shapes and dtypes; non-float leaves (and a custom rule's nondiff_argnums)
        are passed as given and never drawn or differentiated.
    grad: `grad(*args)` -> the gradient of a scalar f with respect to `argnums`, shaped
        like that argument (a tuple for several); for a non-scalar f, `grad(*args, cotangent)` -> the VJP. None: f's
        own custom rule, against autodiff of its primal (`f.fun`).
    hvp: `hvp(*args, v)` -> the Hessian of a scalar f (one argnum) times v, against
        `jax.jvp(jax.grad(f), (x,), (v,))`.
    kinks, kink_range: `kinks(*args)` -> mask of the input elements where the derivative
        is set-valued (a tuple of masks for several argnums); `kink_range=(lo, hi)` (or a
        function of the arguments returning it) -> the valid derivatives of an output
        element with respect to that input element, times the cotangent for a non-scalar
        (elementwise) f. `strict`: at kinks only autodiff's value passes.
    dtypes, families, transforms, devices: what to check (default: the arguments' float
        dtypes with float32 and float64; every family of FAMILIES, transform and device
        present). "broadcast" (ALL_FAMILIES) is drawn only when named: each argument f
        broadcasts against another, cut to length 1 (handgrad/broadcast.py).
    seed: seed of the drawn inputs. Returns a Report (`.ok`, `print(report)`).
    fixed: arguments (positions or parameter names, not differentiated ones) passed at their
        given values in every family, cast to each dtype checked: labels exactly 0 and 1, a
        mask, a temperature. Other float arguments are redrawn in every family.
    order, modes: as in `jax.test_util.check_grads(f, args, order, modes)`, for grad= or f's
        rule (hvp= is checked as before). "rev" (the default): grad against autodiff's VJP,
        labelled grad(f) (rule(f)). "fwd": grad as a directional derivative, sum_i <g_i, t_i>
        against jax.jvp(f, x, t) for tangents t (<g(x, c), t> against <c, jax.jvp(f, x, t)>
        for a VJP), or for a custom_jvp rule jax.jvp(f, x, t) itself (tangent and primal
        output) against jax.jvp(f.fun, x, t); labelled fwd(grad(f)); at a kink along t any
        value between the one-sided directional derivatives passes (not strict). Not for a
        custom_vjp rule (JAX has no forward mode for it). order=2 also differentiates the
        formula once more by autodiff, reverse mode for "rev" (vjp(grad(f)): the VJP of grad
        with cotangent v, against H v) and forward mode for "fwd" (jvp(fwd(grad(f))): v^T H t):
        a gradient right in value but not differentiable right (stop_gradient, a cast) fails
        there. handgrad/modes.py has the table.
    examples: more example argument tuples, each like `args` (same number of arguments, any
        shapes): every check runs on each through the same families, labelled
        "grad(f) on examples[0]"; grad's calling convention is checked on `args` alone.
    """
    _check_seed(seed, "handgrad.verify")
    import jax

    from handgrad import broadcast
    from handgrad.cases import build_cases
    from handgrad.evaluate import TRANSFORMS, available_devices, forget
    from handgrad.modes import check_modes, check_order

    order = check_order(order)
    mode_names = check_modes(modes)
    more = _check_examples(examples, len(args))
    rule_of_f = _rule_of(f)
    check_rule = grad is None and rule_of_f is not None
    if grad is None and hvp is None and not check_rule:
        if callable(f):
            raise TypeError(
                "handgrad.verify: give grad= (your gradient) or hvp=, or pass a function with a "
                "jax.custom_vjp/custom_jvp rule to check the rule against autodiff of its primal "
                f"({getattr(f, '__name__', 'f')} is neither a custom_vjp/custom_jvp function nor a jax.jit or "
                "functools.wraps wrapper of one; a function that only calls one inside: pass that one)"
            )
        raise TypeError(f"handgrad.verify: f must be a function, got {type(f).__name__}")
    if check_rule and "fwd" in mode_names and isinstance(rule_of_f, jax.custom_vjp):
        raise ValueError(
            "handgrad.verify: modes='fwd' checks a rule through jax.jvp, and JAX has no forward mode for a "
            "jax.custom_vjp function; check its rule with modes=('rev',) (the default)"
        )
    first_order = grad is not None or check_rule
    if order == 2 and not first_order:
        raise ValueError(
            "handgrad.verify: order=2 differentiates grad= (or f's custom rule) once more; with hvp= alone there is "
            "nothing to differentiate (hvp= is checked as a second derivative already)"
        )
    strict = bool(strict)
    dtype_names = _validate_names("dtype", dtypes, DTYPES) if dtypes is not None else None
    transform_names = _validate_names("transform", transforms, TRANSFORMS)
    family_names = FAMILIES if families is None else _validate_names("family", families, ALL_FAMILIES)
    with _checking():
        rule_object = rule_of_f if check_rule else None
        call = _prepare(f, args, argnums, rule_object, fixed=fixed)
        calls = [(call, "")]
        for k, example in enumerate(more):
            who = f"handgrad.verify: examples[{k}]"
            calls.append((_prepare(f, example, argnums, rule_object, who=who, fixed=fixed), f" on examples[{k}]"))
        dtype_names = dtype_names or _default_dtypes(*(c for c, _ in calls))
        device_names = _validate_names("device", devices, available_devices())
        if first_order:
            formula, truth = _gradient_functions(call, grad)
            example = call.floats + (() if call.scalar else (np.ones(call.out_shape, call.out_dtype),))
            example = tuple(np.asarray(a) for a in example)
            try:
                want = jax.eval_shape(truth, *example)
            except Exception as exc:
                raise ValueError(
                    f"handgrad.verify: JAX cannot differentiate {call.name} ({_short(exc)}); "
                    "check the gradient with handgrad.taylor_test instead"
                ) from None
            if grad is not None:
                _check_returns(formula, example, want, "grad", grad, _calling(call, "grad", len(args)))
        if hvp is not None:
            if not call.scalar or len(call.argnums) != 1 or call.pytree:
                raise ValueError("handgrad.verify: hvp= needs a scalar f and one argnum that is one array")
            formula, truth = _hvp_functions(call, hvp)
            (i,) = call.argnums
            example = (*call.floats, call.floats[i])
            want = jax.eval_shape(truth, *example)
            _check_returns(formula, example, want, "hvp", hvp, _calling(call, "hvp", len(args)))
        targets = []
        for each, where in calls:
            rule = _kink_rule(each, kinks, kink_range)
            cuts = _Cuts(each)
            found = 0
            for check in _checks(each, grad if first_order else None, hvp, rule, mode_names, order, first_order):
                if each is call:
                    _truth_runs(check, call)
                target = _target(check, each, dtype_names, family_names, cuts, where)
                if target is not None:  # (else none of the families asked for applies to this check)
                    targets.append((each, rule, target))
                    found += 1
            if not found:
                raise ValueError(
                    f"handgrad.verify: no family left to draw{where}: 'one-hot' needs a cotangent, tangent or v to "
                    "draw (a non-scalar f, modes=('fwd',), order=2 or hvp=), 'size-1' a batch axis f accepts at "
                    "length 1, 'labels' an argument holding only 0 and 1, 'broadcast' an argument f broadcasts "
                    "against another at length 1"
                )
        results: list[CaseResult] = []
        for each, rule, target in targets:
            cases = build_cases([target], dtypes=dtype_names, transforms=transform_names, devices=device_names)
            try:
                done = run_all(
                    InProcess({target.name: target.formula}), cases, strict=strict, seed=seed, nan_truth_unchecked=True
                )
            finally:
                forget(target.formula)
            if rule is None and target.name.startswith("hvp("):  # (the others find their kinks)
                done = [_with_kink_note(r, each.names) for r in done]
            results += [broadcast.with_note(r) for r in done]
    about = []
    if not call.scalar and grad is not None:
        about.append(
            f"{call.name} returns shape {call.out_shape}, not a scalar: grad was checked as its vector-Jacobian "
            "product, grad(*args, cotangent) (for a loss, return a scalar: shape (), not (1,))"
        )
    failed = {r.case.entry.name for r in results if not r.ok}
    for k, (each, where) in enumerate(calls[1:]):
        if any(name.endswith(where) for name in failed):
            shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(each.names, each.floats, strict=True))
            about.append(f"examples[{k}] (extra example arguments): {shapes}")
    return Report(call.name, results, about="\n".join(about))


def _checks(
    call: _Call,
    grad: Callable[..., Any] | None,
    hvp: Callable[..., Any] | None,
    rule: _KinkRule | None,
    modes: Sequence[str],
    order: int,
    first_order: bool,
) -> list[Check]:
    """What verify checks on one example: for grad= (or f's rule, `first_order` without grad)
    each mode at order 1 and, at order 2, each mode's derivative (handgrad/modes.py); hvp=."""
    from handgrad.modes import forward, second_fwd, second_rev

    checks = []
    if first_order:
        formula, truth = _gradient_functions(call, grad)
        label = f"grad({call.name})" if grad is not None else f"rule({call.name})"
        cotangent = () if call.scalar else (Extra("cotangent", "cotangent", None),)
        kink = _tree_kink(call, rule) if rule is not None else _found_kink(call)
        if "rev" in modes:
            checks.append(Check(label, formula, truth, cotangent, kink))
        fwd = forward(call, label, formula if grad is not None else None, set(call.names)) if "fwd" in modes else None
        if fwd is not None:
            checks.append(fwd)
        if order == 2 and "rev" in modes:
            checks.append(second_rev(call, label, formula, truth, set(call.names)))
        if order == 2 and fwd is not None:
            checks.append(second_fwd(call, fwd))
    if hvp is not None:
        formula, truth = _hvp_functions(call, hvp)
        checks.append(Check(f"hvp({call.name})", formula, truth, (Extra("v", "v", call.argnums[0]),), None))
    return checks


def _truth_runs(check: Check, call: _Call) -> None:
    """The check's truth traces on the example (autodiff of f's primal, in the check's mode and
    order): else say so up front, not in the middle of the run."""
    import jax

    extras = [np.ones(call.out_shape if e.like is None else call.floats[e.like].shape) for e in check.extras]
    try:
        jax.eval_shape(check.truth, *(np.asarray(a, np.float64) for a in call.floats), *extras)
    except Exception as exc:
        raise ValueError(
            f"handgrad.verify: JAX cannot compute {check.label}'s truth from {call.name}'s primal "
            f"({_short(exc)}); check that mode or order another way (handgrad.taylor_test)"
        ) from None


def _check_examples(examples: Any, n: int) -> list[tuple[Any, ...]]:
    """verify's `examples=`: a list of argument tuples, each like the example's (n arguments)."""
    if not isinstance(examples, (list, tuple)):
        raise TypeError(
            f"handgrad.verify: examples= takes a list of argument tuples, e.g. examples=[(x2, y2)]; "
            f"got {type(examples).__name__}"
        )
    out = []
    for k, example in enumerate(examples):
        if not isinstance(example, (tuple, list)):
            raise TypeError(
                f"handgrad.verify: examples[{k}] must be a tuple of {n} argument(s) like the example's "
                f"(examples=[(x2,)] for one argument), got {type(example).__name__}"
            )
        if len(example) != n:
            raise ValueError(
                f"handgrad.verify: examples[{k}] has {len(example)} argument(s), the example has {n}: give each "
                "example as a tuple of f's arguments"
            )
        out.append(tuple(example))
    return out


KINK_NOTE = (
    "the input there is exactly 0, where f may have a kink (abs, relu, max, a norm): there any valid "
    "subgradient is right, but autodiff picks one; declare kinks= and kink_range= (docs/verify.md). "
    "A smooth f has no kink there: then the gradient is wrong at 0"
)


def _with_kink_note(result: CaseResult, names: Sequence[str]) -> CaseResult:
    """A failure at an input element that is exactly 0, with no kink declared: the likely
    cause is a kink of f there, not a wrong formula (say so instead of guessing a term)."""
    import dataclasses

    if result.ok or result.comparison is None or result.comparison.problem not in ("value", "nonfinite"):
        return result
    at = [v for k, v in result.inputs_at_worst.items() if any(k.startswith(n) for n in names)]
    if any(np.size(v) == 1 and float(np.asarray(v, np.float64)) == 0.0 for v in at):
        return dataclasses.replace(result, hint=KINK_NOTE)
    return result


def _rule_of(f: Any) -> Any:
    """The jax.custom_vjp/custom_jvp object f is, or wraps (jax.jit, functools.wraps); else None."""
    import jax

    for _ in range(8):  # a few wrappers deep; a cycle of __wrapped__ ends here
        if isinstance(f, (jax.custom_vjp, jax.custom_jvp)):
            return f
        f = getattr(f, "__wrapped__", None)
        if f is None:
            return None
    return None


class _Cuts:
    """The shapes other than the example's that a call's families draw at, found once per call
    (each is a trace of f per candidate): the size-1 batch cut, and the broadcast cuts."""

    def __init__(self, call: _Call) -> None:
        self.call = call

    @functools.cached_property
    def size_one(self) -> Cut | None:
        return _size_one(self.call)

    @functools.cached_property
    def broadcast(self) -> list[tuple[int, Cut]]:
        from handgrad.broadcast import broadcast_cuts

        return broadcast_cuts(self.call)


def _target(
    check: Check, call: _Call, dtypes: Sequence[str], family_names: Sequence[str], cuts: _Cuts, where: str = ""
) -> Target | None:
    """The check as a catalog-style entry, with the families it can draw: "one-hot" needs an
    extra, "labels" a label-like argument, "size-1" and "broadcast" a shape f takes; None where
    none is left. `where`: which extra example (" on examples[0]"), appended to the label."""
    from handgrad.broadcast import PREFIX

    fams: list[Family] = []
    for name in family_names:
        if (name == "one-hot" and not check.extras) or (name == "labels" and not _label_like(call)):
            continue
        if name == "size-1":
            cut = cuts.size_one
            fams += [_family(name, call, check.extras, cut)] if cut is not None else []
        elif name == "broadcast":
            fams += [_family(name, call, check.extras, cut, PREFIX + call.names[i]) for i, cut in cuts.broadcast]
        else:
            fams.append(_family(name, call, check.extras))
    if not fams:
        return None
    directions = tuple(e.name for e in check.extras)
    return Target(
        name=check.label + where,
        reference=check.truth,
        args=(*call.names, *directions),
        layout="elementwise",
        families=tuple(fams),
        dtypes=tuple(dtypes),
        kink=check.kink,
        tolerance=TOLERANCES,
        of=call.name,
        formula=check.formula,
        directions=directions,
        where=where,
    )


def assert_gradient(f: Callable[..., Any], *args: Any, **options: Any) -> Report:
    """`verify(f, *args, **options)`; raises AssertionError with the report when not ok."""
    report = verify(f, *args, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report


# ---- Taylor test ----------------------------------------------------------------------


@dataclass(frozen=True)
class TaylorResult:
    """|f(x + h v) - f(x) - h <g, v>| for h over several decades, and the observed orders
    log(r_k / r_{k+1}) / log(h_k / h_{k+1}): about 2 for a right gradient, 1 (or 0)
    for a wrong one."""

    hs: tuple[float, ...]
    residuals: tuple[float, ...]
    orders: tuple[float, ...]
    """Between successive h; NaN where a residual is at rounding level (not informative)."""
    exact: bool = False
    """Every residual at rounding level: the first-order model is exact (f is linear in v)."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> float:
        """The median observed order (inf when exact)."""
        finite = [o for o in self.orders if math.isfinite(o)]
        if self.exact:
            return math.inf
        return float(np.median(finite)) if finite else math.nan

    @property
    def ok(self) -> bool:
        return self.exact or self.order >= 1.8

    def __str__(self) -> str:
        lines = ["h          residual     order"]
        for k, (h, r) in enumerate(zip(self.hs, self.residuals, strict=True)):
            o = f"{self.orders[k - 1]:.2f}" if k else ""
            lines.append(f"{h:<9.1e}  {r:<11.3e}  {o}")
        verdict = "ok" if self.ok else "FAIL: the gradient's first-order term is wrong"
        lines.append(f"observed order {self.order:.2f} (2 for a right gradient, 1 or 0 for a wrong one): {verdict}")
        return "\n".join(lines)


def taylor_test(
    f: Callable[..., Any],
    *args: Any,
    grad: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    hs: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
    seed: int = DEFAULT_SEED,
) -> TaylorResult:
    """Check `grad` without autodiff: the remainder of the first-order Taylor model of f
    along a random direction v must fall as h^2. Runs in float64. f need not be
    differentiable by JAX (a pure_callback, an external kernel). For a non-scalar f,
    `grad(*args, cotangent)` is a VJP and the test runs on <cotangent, f>."""
    if not callable(f):
        raise TypeError(f"handgrad.taylor_test: f must be a function, got {type(f).__name__}")
    if not callable(grad):
        raise TypeError(f"handgrad.taylor_test: grad must be a function, got {type(grad).__name__}")
    _check_seed(seed, "handgrad.taylor_test")
    hs = tuple(float(h) for h in hs)
    if len(hs) < 2 or any(not h > 0 for h in hs):
        raise ValueError("handgrad.taylor_test: hs needs at least two positive step sizes")
    import jax.numpy as jnp

    with _checking():
        call = _prepare(f, args, argnums, None, who="handgrad.taylor_test")
        rng = np.random.default_rng([zlib.crc32(call.name.encode()), seed])
        x64 = [jnp.asarray(a, jnp.float64) for a in call.floats]
        ct = None if call.scalar else jnp.asarray(rng.standard_normal(call.out_shape))
        vs = {i: jnp.asarray(rng.standard_normal(call.floats[i].shape)) for i in call.argnums}

        def phi(fl: Sequence[Any]) -> float:
            out = jnp.asarray(f(*call.full(fl)), jnp.float64)
            return float(out if ct is None else jnp.vdot(ct, out))

        try:
            g = _as_dict(grad(*call.full(x64), *(() if ct is None else (ct,))), call, "grad")
        except _ReturnError as exc:
            raise TypeError(f"handgrad.taylor_test: {exc}") from None
        except Exception as exc:
            note = f" ({_calling(call, 'grad', len(args))})" if "positional argument" in str(exc) else ""
            raise ValueError(
                f"handgrad.taylor_test: grad fails on the example arguments: {_short(exc)}{note}"
            ) from None
        for name, given in zip(call.names, call.floats, strict=True):
            if name in g and np.shape(g[name]) != given.shape:
                raise ValueError(
                    f"handgrad.taylor_test: grad returns shape {np.shape(g[name])} for {name}, "
                    f"expected {given.shape} (the shape of {name})"
                )
        slope = sum(float(jnp.vdot(jnp.asarray(g[call.names[i]], jnp.float64), vs[i])) for i in call.argnums)
        f0 = phi(x64)
        # The size of the terms f sums, to first order: f(x) can round at eps * sum|g_i x_i| even
        # where it cancels to about 0 (sum(x) of symmetric x); such a residual is noise, not an order.
        terms = sum(float(jnp.sum(jnp.abs(jnp.asarray(g[call.names[i]], jnp.float64) * x64[i]))) for i in call.argnums)
        residuals = []
        scale = []
        for h in hs:
            moved = [a + h * vs[i] if i in vs else a for i, a in enumerate(x64)]
            fh = phi(moved)
            residuals.append(abs(fh - f0 - h * slope))
            scale.append(abs(fh) + abs(f0) + abs(h * slope) + terms)
    eps = float(np.finfo(np.float64).eps)
    noisy = [r <= 64 * eps * s for r, s in zip(residuals, scale, strict=True)]
    orders = tuple(
        math.nan
        if noisy[k] or noisy[k + 1] or residuals[k + 1] == 0
        else math.log(residuals[k] / residuals[k + 1]) / math.log(hs[k] / hs[k + 1])
        for k in range(len(hs) - 1)
    )
    return TaylorResult(hs, tuple(residuals), orders, exact=all(noisy), details={"slope": slope})
