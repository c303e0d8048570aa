"""Softmax over the last axis, its Jacobian and its vector-Jacobian product.

The seed's softmax page is garbled (erratum 5); these are the standard results.
Leading axes are batch axes and are kept.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from handwritten._util import as_rows, promoted, row_sums


def shifted_exp(x: Array) -> Array:
    """e^{x - max x} over the last axis: every exponent is <= 0, so nothing overflows, and
    softmax(x) = e / sum(e) (softmax is shift-invariant)."""
    return jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))


@jax.jit
def softmax(x: ArrayLike) -> Array:
    """s_i = e^{x_i} / sum_j e^{x_j} over the last axis, shape kept.

    The row maximum is subtracted first (softmax is shift-invariant), so every
    exponent is <= 0 and logits up to 1e4 in magnitude neither overflow nor give NaN.
    """
    x = as_rows(x, "softmax")
    e = shifted_exp(x)
    return e / jnp.sum(e, axis=-1, keepdims=True)


@jax.jit
def softmax_jacobian(x: ArrayLike) -> Array:
    """Jacobian of softmax, J[..., i, j] = ds_i/dx_j = s_i (delta_ij - s_j).

    Shape (..., n) -> (..., n, n): diag(s) - s s^T for each row.
    """
    s = softmax(as_rows(x, "softmax_jacobian"))
    n = s.shape[-1]
    return s[..., :, None] * (jnp.eye(n, dtype=s.dtype) - s[..., None, :])


@jax.jit
def softmax_vjp(x: ArrayLike, g: ArrayLike) -> Array:
    """Vector-Jacobian product g @ J = s * (g - <g, s>) without building J.

    (g J)_j = sum_i g_i s_i (delta_ij - s_j) = s_j (g_j - sum_i g_i s_i).
    x and g have the same shape (..., n); so does the result.

    Computed as s = e r with e = exp(x - max x) and r = 1 / sum e, and <g, s> = r <g, e>:
    both row sums read e, so XLA fuses them into one pass over the row. On the CPU the two
    sums are taken together (`row_sums`: one reduction on narrow rows); docs/benchmarks.md
    says why.
    """
    x, g = promoted(as_rows(x, "softmax_vjp"), g)
    if g.shape != x.shape:
        raise ValueError(f"softmax_vjp: x and g must have the same shape, got {x.shape} and {g.shape}")
    return lax.platform_dependent(x, g, cpu=_vjp_cpu, default=_vjp)


def _vjp(x: Array, g: Array) -> Array:
    e = shifted_exp(x)
    r = 1 / jnp.sum(e, axis=-1, keepdims=True)
    return (e * r) * (g - r * jnp.sum(g * e, axis=-1, keepdims=True))


def _vjp_cpu(x: Array, g: Array) -> Array:
    """The same, with both row sums taken together (`row_sums`: one reduction on narrow rows)."""
    e = shifted_exp(x)
    sum_e, sum_ge = row_sums(e, g * e)
    r = 1 / sum_e
    return (e * r) * (g - r * sum_ge)
