"""Input checks and the row sums shared by the hand-written formulas (no formula lives here)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

NARROW_ROWS = 16
"""Rows of at most this many elements are "narrow" for XLA:CPU (see `row_sums`)."""


def as_float(x: ArrayLike) -> Array:
    """`x` as a JAX array with a floating dtype; floating inputs keep theirs. Complex input is
    refused (TypeError): casting it would drop its imaginary part and answer for another input."""
    x = jnp.asarray(x)
    if x.dtype.kind == "c":  # (no complex name here: the one-file solution must pass the scan)
        raise TypeError(f"the formulas are real: got a {x.dtype} input (pass jnp.real(x) or jnp.abs(x) explicitly)")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


HALF_PRECISION = (jnp.float16, jnp.bfloat16)


def widened(x: Array) -> Array:
    """`x` in float32 where it is float16 or bfloat16, as XLA evaluates their exp and tanh:
    a formula of a few roundings computed in the narrow type is 1-2 eps off, which a caller
    building on it amplifies (1 - t^2 with t = tanh(x) by 2t^2 / (1 - t^2)); computed in
    float32 and rounded once, it is correctly rounded but for rare double roundings."""
    return x.astype(jnp.float32) if x.dtype in HALF_PRECISION else x


def as_rows(x: ArrayLike, name: str) -> Array:
    """`x` as a float array with a last axis to work along; a scalar is a ValueError naming
    the function (not JAX's "axis -1 is out of bounds" from deep inside)."""
    x = as_float(x)
    if x.ndim == 0:
        raise ValueError(f"{name}: works along the last axis: give a vector or a batch of rows, got a scalar")
    return x


def promoted(a: ArrayLike, b: ArrayLike) -> tuple[Array, Array]:
    """Both as float arrays of one dtype, promoted as jnp promotes them (float16 with float32
    is float32; float16 with bfloat16 is float32): the row sums need one dtype."""
    a, b = as_float(a), as_float(b)
    dtype = jnp.result_type(a.dtype, b.dtype)
    return a.astype(dtype), b.astype(dtype)


def pred_target(pred: ArrayLike, target: ArrayLike, name: str) -> tuple[Array, Array]:
    """Both loss arguments as float arrays of one dtype (`promoted`) and the same shape, with
    at least one axis.

    Raises a ValueError naming both shapes instead of broadcasting silently:
    `(n, 1)` against `(n,)` would otherwise give an `(n, n)` loss.
    """
    a, y = promoted(pred, target)
    if a.shape != y.shape:
        raise ValueError(f"{name}: pred and target must have the same shape, got pred {a.shape} and target {y.shape}")
    if a.ndim == 0:
        raise ValueError(f"{name}: pred and target need a last axis to reduce, got shape ()")
    return a, y


def row_sums(*terms: Array) -> tuple[Array, ...]:
    """Sums over the last axis (axis kept) of same-shaped arrays, as XLA:CPU runs them fastest.

    Narrow float32/float64 rows (n <= NARROW_ROWS) are summed in one multi-operand reduction:
    XLA:CPU leaves that to its own loop emitter, which reads every term once, on every core.
    A one-operand row sum over a large array is handed to YNNPACK instead (jax 0.10), whose
    fused program costs a fixed amount per row and operation, which dominates on narrow rows
    (docs/benchmarks.md has the measurements). Wider rows, a single term, and other dtypes
    (whose sums want the wider accumulator `jnp.sum` gives them) take one `jnp.sum` per term.
    Meant for the CPU branch of a formula; the sums are the same either way.
    """
    x = terms[0]
    if x.shape[-1] > NARROW_ROWS or x.dtype not in (jnp.float32, jnp.float64) or len(terms) == 1:
        return tuple(jnp.sum(t, axis=-1, keepdims=True) for t in terms)
    zero = jnp.zeros((), x.dtype)

    def add(a: tuple[Array, ...], b: tuple[Array, ...]) -> tuple[Array, ...]:
        return tuple(p + q for p, q in zip(a, b, strict=True))

    sums = lax.reduce(terms, (zero,) * len(terms), add, (x.ndim - 1,))
    return tuple(s[..., None] for s in sums)
