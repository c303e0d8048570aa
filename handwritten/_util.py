"""Input checks shared by the hand-written formulas (no math lives here)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike


def as_float(x: ArrayLike) -> Array:
    """`x` as a JAX array with a floating dtype; floating inputs keep theirs."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def pred_target(pred: ArrayLike, target: ArrayLike, name: str) -> tuple[Array, Array]:
    """Both loss arguments as float arrays of the same shape, with at least one axis.

    Raises a ValueError naming both shapes instead of broadcasting silently:
    `(n, 1)` against `(n,)` would otherwise give an `(n, n)` loss.
    """
    a, y = as_float(pred), as_float(target)
    if a.shape != y.shape:
        raise ValueError(f"{name}: pred and target must have the same shape, got pred {a.shape} and target {y.shape}")
    if a.ndim == 0:
        raise ValueError(f"{name}: pred and target need a last axis to reduce, got shape ()")
    return a, y
