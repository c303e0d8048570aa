"""The agreement matrix: every catalog entry x dtype x transform x device x input family.

A Case names one cell. Its inputs and its expected value (the reference, in float64, on
the inputs as rounded to the case's dtype) are computed once and cached. Everything
here is the grader's side: nothing in this module calls a formula under test.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from handgrad.evaluate import SHARDED, TRANSFORMS, default_devices, shard_count
from reference.catalog import CATALOG, Entry
from reference.conditioning import sensitivity_fn, sensitivity_rows_fn
from reference.families import Family, Inputs

STACK = 4
"""Examples stacked along a new leading axis for vmap and for sharded inputs."""

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Case:
    entry: Entry
    dtype: str
    transform: str
    device: str
    family: Family

    @property
    def id(self) -> str:
        return f"{self.entry.name}-{self.dtype}-{self.transform}-{self.device}-{self.family.name}"

    @property
    def stacked(self) -> bool:
        """vmap and sharded cases get STACK examples along a new leading axis."""
        return self.transform == "vmap" or self.device == SHARDED


def applicable(entry: Entry, transform: str, device: str) -> bool:
    # The network takes one example; only vmap gives it a batch to shard.
    return not (device == SHARDED and not entry.batch_polymorphic and transform != "vmap")


def build_cases(
    entries: Iterable[Entry] = CATALOG,
    *,
    dtypes: Sequence[str] | None = None,
    transforms: Sequence[str] = TRANSFORMS,
    devices: Sequence[str] | None = None,
    families: Sequence[str] | None = None,
) -> list[Case]:
    """Every applicable cell, in catalog order; None means all (devices: default_devices())."""
    devices = default_devices() if devices is None else devices
    return [
        Case(entry, dtype, transform, device, family)
        for entry in entries
        for dtype in entry.dtypes
        if dtypes is None or dtype in dtypes
        for transform in transforms
        for device in devices
        if applicable(entry, transform, device)
        for family in entry.families
        if (families is None or family.name in families)
        and (family.dtypes is None or dtype in family.dtypes)
        and (family.transforms is None or transform in family.transforms)
    ]


class _PerEntry:
    """A cache of fn(entry, *key) held per entry, so that one entry's values go with it
    while the catalog's stay. handgrad.verify makes entries of a user's functions, and what
    was kept for them (jitted references and, through the functions, JAX's compiled
    programs: three memory maps each) must go with its report, not live as long as the
    process: a notebook or test process that verified thousands of functions ran out of
    memory maps (vm.max_map_count) and XLA aborted it. Entries are held weakly, and
    forget() drops one at once (a value that refers back to its entry would keep it).
    At most `size` values in all; past that everything is dropped and computed again."""

    def __init__(self, fn: Callable[..., Any], size: int) -> None:
        self._fn, self._size = fn, size
        self._values: weakref.WeakKeyDictionary[Entry, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()
        self._count = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    def __call__(self, entry: Entry, *key: Any) -> Any:
        with self._lock:
            mine = self._values.get(entry)
            if mine is not None and key in mine:
                return mine[key]
        value = self._fn(entry, *key)
        with self._lock:
            if self._count >= self._size:  # (entries gone with their owner are not counted off)
                self._count = sum(len(v) for v in self._values.values())
                if self._count >= self._size:
                    self._values.clear()
                    self._count = 0
            mine = self._values.setdefault(entry, {})
            if key not in mine:
                mine[key] = value
                self._count += 1
        return value

    def forget(self, entry: Entry) -> None:
        with self._lock:
            self._count -= len(self._values.pop(entry, {}))

    def forget_all(self) -> None:
        with self._lock:
            self._values.clear()
            self._count = 0


def _per_entry(size: int) -> Callable[[Callable[..., Any]], _PerEntry]:
    return lambda fn: _PerEntry(fn, size)


def _rng(entry: Entry, family: Family, draw: int, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(f"{entry.name}/{family.name}".encode()), draw, seed])


def _cast(tree: Any, dtype: str) -> Any:
    return jax.tree.map(lambda a: np.asarray(a, dtype=jnp.dtype(dtype)), tree)


def _args(entry: Entry, inputs: Inputs) -> tuple[Any, ...]:
    return inputs.args[: len(entry.args)]


def _stack_size(case: Case) -> int:
    if not case.stacked:
        return 0
    stack = case.family.stack or STACK
    return math.lcm(stack, shard_count()) if case.device == SHARDED else stack


def case_inputs(case: Case, seed: int = DEFAULT_SEED) -> Inputs:
    """The case's arguments in its dtype (numpy); stacked along axis 0 where it is stacked."""
    return _inputs(case.entry, case.family, case.dtype, _stack_size(case), seed)


@_per_entry(4096)
def _inputs(entry: Entry, family: Family, dtype: str, stack: int, seed: int) -> Inputs:
    if not stack:
        drawn = family.draw(_rng(entry, family, 0, seed))
        return Inputs(_cast(_args(entry, drawn), dtype), drawn.kwargs)
    draws = [family.draw(_rng(entry, family, i, seed)) for i in range(stack)]
    args = []
    for pos, axis in enumerate(entry.vmap_axes):
        if axis is None:
            args.append(_args(entry, draws[0])[pos])
        else:
            args.append(np.stack([_args(entry, d)[pos] for d in draws]))
    return Inputs(_cast(tuple(args), dtype), draws[0].kwargs)


@_per_entry(256)
def _reference(entry: Entry, kwargs: tuple[tuple[str, Any], ...], stacked: bool) -> Any:
    f = functools.partial(entry.reference, **dict(kwargs))
    return jax.jit(jax.vmap(f, in_axes=entry.vmap_axes) if stacked else f)


def reference_at(entry: Entry, kwargs: Mapping[str, Any], args: Sequence[np.ndarray]) -> Any:
    """The reference on float64 `args` of any shape it takes (not stacked: a row-wise function
    takes a stack as more rows), as numpy: the jitted object `expected` uses, compiled once per
    shape for the process (and kept by the grader's compilation cache), where calling it op by
    op cost a hint tens of milliseconds per failing check."""
    ref = _reference(entry, tuple(sorted(kwargs.items())), False)
    with jax.default_device(jax.devices("cpu")[0]):
        return jax.tree.map(np.asarray, ref(*(np.asarray(a, np.float64) for a in args)))


def reference_shape(entry: Entry, kwargs: tuple[tuple[str, Any], ...], stacked: bool, args: tuple[Any, ...]) -> Any:
    """What the reference returns (a pytree of jax.ShapeDtypeStruct) for float64 arguments
    shaped as `args` (a pytree of ShapeDtypeStruct): traced by the same jitted object, in the
    same context, as `expected` computes it, so the trace is made once for both."""
    with jax.default_device(jax.devices("cpu")[0]):
        return _reference(entry, kwargs, stacked).eval_shape(*args)


def expected(case: Case, seed: int = DEFAULT_SEED) -> Any:
    """The truth: the reference in float64 on the case's (rounded) inputs, as numpy."""
    return _expected(case.entry, case.family, case.dtype, _stack_size(case), seed)


@_per_entry(4096)
def _expected(entry: Entry, family: Family, dtype: str, stack: int, seed: int) -> Any:
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("handgrad needs jax_enable_x64 for its float64 references")
    inputs = _inputs(entry, family, dtype, stack, seed)
    args64 = _cast(inputs.args, "float64")
    ref = _reference(entry, tuple(sorted(inputs.kwargs.items())), bool(stack))
    with jax.default_device(jax.devices("cpu")[0]):
        out = ref(*args64)
    return jax.tree.map(np.asarray, out)


@_per_entry(256)
def _sensitivity_program(entry: Entry, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    f = functools.partial(entry.reference, **dict(kwargs))
    return jax.jit(sensitivity_fn(f))


def sensitivity(case: Case, seed: int = DEFAULT_SEED, needed: Any = None) -> Any:
    """The truth's sensitivity S to relative rounding of the case's inputs (float64, numpy),
    shaped like the truth: see reference/conditioning.py and reference/tolerances.py.

    `needed` (boolean masks shaped like the truth, or None for all): where S is asked for.
    Where one example's whole Jacobian has more than DENSE_JACOBIAN entries, S is computed at
    those elements alone, by reverse mode, and is 0 elsewhere (S only widens an allowance: an
    element that passes without it passes with it)."""
    whole = whole_sensitivity(case, seed)
    if whole is not None:
        return whole
    if needed is None:
        return _sensitivity(case.entry, case.family, case.dtype, _stack_size(case), seed)
    return _sensitivity_at(case, seed, needed)


def whole_sensitivity(case: Case, seed: int = DEFAULT_SEED) -> Any:
    """S at every element, where one example's Jacobian is small enough to be computed whole
    and kept (DENSE_JACOBIAN); None where it is not (then ask `sensitivity` with `needed`)."""
    if _jacobian_entries(case, seed) > DENSE_JACOBIAN:
        return None
    return _sensitivity(case.entry, case.family, case.dtype, _stack_size(case), seed)


DENSE_JACOBIAN = 1 << 22
"""Entries of one example's Jacobian (outputs by inputs) up to which S is computed whole, by
forward mode, and kept for every check of the case: 32 MB in float64."""


def _jacobian_entries(case: Case, seed: int) -> int:
    inputs, want = case_inputs(case, seed), expected(case, seed)
    stack = _stack_size(case)
    n_in = sum(
        np.size(leaf) // (stack if stack and axis is not None else 1)
        for arg, axis in zip(inputs.args, case.entry.vmap_axes, strict=True)
        for leaf in jax.tree.leaves(arg)
        if np.issubdtype(np.asarray(leaf).dtype, np.floating)
    )
    n_out = sum(np.size(leaf) for leaf in jax.tree.leaves(want)) // max(stack, 1)
    return n_in * n_out


def _sensitivity_at(case: Case, seed: int, needed: Any) -> Any:
    """S at the `needed` elements (0 elsewhere), one reverse-mode row each."""
    from jax.flatten_util import ravel_pytree

    entry, stack = case.entry, _stack_size(case)
    inputs = case_inputs(case, seed)
    program = _sensitivity_rows_program(entry, tuple(sorted(inputs.kwargs.items())))
    args64 = _cast(inputs.args, "float64")
    want = expected(case, seed)
    mask = jax.tree.map(lambda w, m: np.broadcast_to(np.asarray(m, bool), np.shape(w)), want, needed)
    examples = range(stack) if stack else [None]
    per = []
    with jax.default_device(jax.devices("cpu")[0]):
        for i in examples:
            one = args64 if i is None else tuple(
                a if axis is None else jax.tree.map(lambda v, i=i: v[i], a)
                for a, axis in zip(args64, entry.vmap_axes, strict=True)
            )  # fmt: skip
            here = mask if i is None else jax.tree.map(lambda m, i=i: m[i], mask)
            flat, unravel = ravel_pytree(jax.tree.map(lambda m: np.asarray(m, np.float64), here))
            rows = np.flatnonzero(np.asarray(flat) > 0)
            s = np.zeros(flat.shape[0])
            if rows.size:
                padded = np.full(max(64, 1 << (int(rows.size) - 1).bit_length()), flat.shape[0], np.int64)
                padded[: rows.size] = rows
                s[rows] = np.asarray(program(padded, *one), np.float64)[: rows.size]
            per.append(_with_cancelled(entry, one, jax.tree.map(np.asarray, unravel(jax.numpy.asarray(s)))))
    return per[0] if not stack else jax.tree.map(lambda *leaves: np.stack(leaves), *per)


@_per_entry(256)
def _sensitivity_rows_program(entry: Entry, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    f = functools.partial(entry.reference, **dict(kwargs))
    return jax.jit(sensitivity_rows_fn(f))


@_per_entry(1024)
def _sensitivity(entry: Entry, family: Family, dtype: str, stack: int, seed: int) -> Any:
    # Examples are independent, so a stacked case's S is each example's S stacked: one
    # small Jacobian per draw, compiled once per shape, instead of one of the whole batch.
    inputs = _inputs(entry, family, dtype, stack, seed)
    program = _sensitivity_program(entry, tuple(sorted(inputs.kwargs.items())))
    args64 = _cast(inputs.args, "float64")
    with jax.default_device(jax.devices("cpu")[0]):
        if not stack:
            return _with_cancelled(entry, args64, jax.tree.map(np.asarray, program(*args64)))
        per = []
        for i in range(stack):
            one = tuple(
                a if axis is None else jax.tree.map(lambda v, i=i: v[i], a)
                for a, axis in zip(args64, entry.vmap_axes, strict=True)
            )
            per.append(_with_cancelled(entry, one, jax.tree.map(np.asarray, program(*one))))
    return jax.tree.map(lambda *leaves: np.stack(leaves), *per)


def _with_cancelled(entry: Entry, args64: Any, s: Any) -> Any:
    """S of one example (or of a batch-polymorphic entry's whole batch) plus the terms its
    formula may cancel (Entry.cancelled), leaf by leaf."""
    if entry.cancelled is None:
        return s
    extra = entry.cancelled(tuple(jax.tree.map(lambda a: np.asarray(a, np.float64), a) for a in args64))
    if extra is None:
        return s
    return jax.tree.map(lambda a, b: np.asarray(a, np.float64) + np.asarray(b, np.float64), s, extra)


_CACHES = (_inputs, _reference, _expected, _sensitivity_program, _sensitivity, _sensitivity_rows_program)


def forget(entry: Entry) -> None:
    """Drop what was computed for `entry` (handgrad.verify's own entries, once checked)."""
    for cache in _CACHES:
        cache.forget(entry)


def forget_all() -> None:
    """Drop what was computed for every entry (handgrad.clear_caches)."""
    for cache in _CACHES:
        cache.forget_all()
