"""Reference softmax (jax.nn.softmax) and its Jacobian (jax.jacrev) and VJP (jax.vjp)."""

from __future__ import annotations

import jax
from jax import Array

from reference._autodiff import rowwise_jacobian, rowwise_vjp


def softmax(x: Array) -> Array:
    """Softmax over the last axis as jax.nn.softmax."""
    return jax.nn.softmax(x, axis=-1)


softmax_jacobian = rowwise_jacobian(softmax)
softmax_vjp = rowwise_vjp(softmax)
