"""The checked arguments of one `verify` or `taylor_test` call: `Call`, built by `prepare`.

f's arguments may be pytrees (dicts, tuples, lists of arrays). Their float leaves are what
handgrad draws and checks, named like `params['w']`; every other leaf (integer labels,
masks, Python ints and bools, a custom rule's nondiff_argnums) is passed as given. `prepare`
validates argnums and fixed= and reads f's output shape with jax.eval_shape (no FLOPs).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_SEED = 0
"""The seed of the drawn inputs (and of taylor_test's direction) when none is given."""


@dataclass(frozen=True)
class Call:
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

    def merged(self, floats: Sequence[Any], diff: Sequence[Any]) -> list[Any]:
        """The float leaves with the differentiated ones (at `argnums`) replaced by `diff`."""
        out = list(floats)
        for i, d in zip(self.argnums, diff, strict=True):
            out[i] = d
        return out

    @property
    def diff_names(self) -> tuple[str, ...]:
        return tuple(self.names[i] for i in self.argnums)


def parameter_names(f: Callable[..., Any], n: int) -> list[str]:
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


def is_float_dtype(dtype: Any) -> bool:
    import jax.numpy as jnp

    return bool(jnp.issubdtype(dtype, jnp.floating))


def _float_leaf(value: Any) -> np.ndarray | None:
    """The leaf as an array to draw, or None for a leaf passed as given (not floating point)."""
    if isinstance(value, bool) or isinstance(value, int):
        return None  # kept as the very object: a static argument must stay hashable
    if isinstance(value, float):
        return np.asarray(value, np.float64)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        if not is_float_dtype(value.dtype):  # (a typed PRNG key, jax.random.key, has no NumPy form)
            return None
        array = np.asarray(value)
        return array if is_float_dtype(array.dtype) else None
    return None


def _as_indices(argnums: Any) -> tuple[int, ...]:
    """argnums as a tuple of ints (NumPy integers too); () where it is not one or a sequence
    of them (bools are not positions)."""
    import operator

    items = argnums if isinstance(argnums, (list, tuple)) else (argnums,)
    try:
        if any(isinstance(n, (bool, np.bool_)) for n in items):
            return ()
        return tuple(operator.index(n) for n in items)
    except TypeError:
        return ()


def _rule_argnums(args: tuple[Any, ...], rule: Any, fixed: Any, names_all: Sequence[str], who: str) -> tuple[int, ...]:
    """The arguments a custom rule differentiates: those holding a float array with elements,
    neither fixed= nor in its nondiff_argnums (0 where none: prepare then says why)."""
    import jax

    static = set(getattr(rule, "nondiff_argnums", ()) or ())
    held = _held_positions(fixed, names_all, (), who)
    nums = tuple(
        n
        for n, arg in enumerate(args)
        if n not in static
        and n not in held
        and any((a := _float_leaf(leaf)) is not None and a.size > 0 for leaf in jax.tree_util.tree_leaves(arg))
    )
    return nums or (0,)


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


def _weak_floats(floats: list[np.ndarray], leaves: Sequence[Any]) -> list[np.ndarray]:
    """A Python float takes the dtype the array arguments share, as JAX's weak types do
    (x / 3.0 stays float32): made a float64 array, it promoted f's and grad's results where
    plain JAX would not (a red team's temperature argument was refused as "grad returns
    dtype float64 for x"). With no array argument, or arrays of several dtypes, float64."""
    strong = {a.dtype for a, leaf in zip(floats, leaves, strict=True) if type(leaf) is not float}
    if len(strong) != 1:
        return floats
    [dtype] = strong
    # (type, not isinstance: np.float64 is a float subclass and, as in JAX, not weak)
    return [a.astype(dtype) if type(leaf) is float else a for a, leaf in zip(floats, leaves, strict=True)]


def prepare(
    f: Any,
    args: tuple[Any, ...],
    argnums: int | Sequence[int] | None,
    rule: Any,
    who: str = "handgrad.verify",
    fixed: Any = (),
) -> Call:
    """`rule`: the custom_vjp/custom_jvp object whose rule is checked (None: f is plain);
    `fixed`: verify's fixed= (arguments kept at their given values). `argnums` None: 0 for a
    plain f; for a rule, every argument it differentiates (holding floats, not fixed, not in
    its nondiff_argnums): a rule answers for all of them at once."""
    import jax

    if not callable(f):
        raise TypeError(f"{who}: f must be a function, got {type(f).__name__}")
    if not args:
        raise TypeError(f"{who}: give example arguments after f: {who.split('.')[-1]}(f, x, ...)")
    primal = rule.fun if rule is not None else f
    names_all = parameter_names(primal, len(args))
    if argnums is None:
        argnums = 0 if rule is None else _rule_argnums(args, rule, fixed, names_all, who)
    if isinstance(argnums, (list, tuple)) and not argnums:
        raise ValueError(
            f"{who}: argnums={argnums!r} names no argument: give at least one argument to differentiate "
            "(argnums=0 for the first, argnums=(0, 1) for two)"
        )
    nums = _as_indices(argnums)
    if not nums:
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
    floats = _weak_floats(floats, [leaves_with_paths[pos][1] for pos in float_pos])
    for name, array, top in zip(names, floats, owner, strict=True):
        if top in nums and array.size == 0:
            raise ValueError(f"{who}: {name} has no elements (shape {array.shape}): nothing would be checked")
    subtrees = [jax.tree_util.tree_structure(args[n]) for n in nums]
    grad_tree = subtrees[0] if len(nums) == 1 else jax.tree_util.tree_structure(tuple(args[n] for n in nums))
    call = Call(
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
        raise ValueError(f"{who}: f fails on the example arguments: {short(exc)}{traced_note(exc, 'f')}") from None
    if isinstance(out, (tuple, list, dict)):
        key = "'name'" if isinstance(out, dict) else "0"
        raise TypeError(
            f"{who}: f must return one floating-point array, and it returns a {type(out).__name__} of "
            f"{len(out)}: check one output at a time (f_0 = lambda *a: f(*a)[{key}], with a grad= or rule for that "
            "output), or a scalar that combines them (their weighted sum)"
        )
    if not hasattr(out, "shape") or not is_float_dtype(out.dtype):
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


def traced_note(exc: BaseException, who: str) -> str:
    """Why a function that runs on arrays fails when JAX traces it, in one sentence."""
    if type(exc).__name__ in TRACED_ERRORS:
        return (
            f" ({who} runs under jax.jit and jax.vmap here: write it with jax.numpy, not numpy, float() "
            "or a Python `if` on its arguments)"
        )
    if "bwd rule must produce" in str(exc):  # (JAX's own words; a bare array where a tuple belongs)
        return " (a custom_vjp's bwd returns a tuple, one cotangent per argument: `return (ct,)` for one)"
    return ""


def _replace(call: Call, **changes: Any) -> Call:
    import dataclasses

    return dataclasses.replace(call, **changes)


def short(exc: BaseException) -> str:
    from handgrad.evaluate import describe_exception

    return describe_exception(exc, limit=300)


def check_seed(seed: object, who: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{who}: seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{who}: seed must be 0 or more, got {seed}")
