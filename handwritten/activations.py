"""Elementwise activations and their derivatives (seed part B, page 1).

Every function takes an array of any shape and returns one of the same shape and
floating dtype. The exponentials are taken of non-positive numbers, or (tanh_grad)
overflow only to an infinity whose limit is exact: the values stay finite and accurate
for |x| up to 1e4 in float32, float16 and bfloat16. float16 and bfloat16 are computed in
float32 and rounded once (`widened`), so that they are correctly rounded there, as
XLA's own exp and tanh are: a formula built on them (1 - tanh(x)^2) gets no extra error.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from handwritten._util import as_float, widened


@jax.jit
def sigmoid(x: ArrayLike) -> Array:
    """Logistic sigmoid, s(x) = 1 / (1 + e^{-x}).

    Domain: all reals. With e = e^{-|x|} in (0, 1], s = 1/(1+e) for x >= 0 and
    e/(1+e) for x < 0: the naive 1/(1+e^{-x}) overflows e^{-x} for x << 0.
    """
    x = as_float(x)
    w = widened(x)
    e = jnp.exp(-jnp.abs(w))
    return jnp.where(w >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


@jax.jit
def sigmoid_grad(x: ArrayLike) -> Array:
    """Derivative of the sigmoid, s'(x) = s(x)(1 - s(x)) (seed (1a)).

    s(1-s) = e^{-x}/(1+e^{-x})^2 is even in x, so it is computed as e/(1+e)^2 with
    e = e^{-|x|}: no overflow, and no cancellation in 1 - s for large x (the naive
    product rounds to 0 in float32 from x ~ 17 while the true value is ~4e-8).
    """
    x = as_float(x)
    e = jnp.exp(-jnp.abs(widened(x)))
    return (e / jnp.square(1 + e)).astype(x.dtype)


@jax.jit
def tanh(x: ArrayLike) -> Array:
    """Hyperbolic tangent, (e^x - e^{-x}) / (e^x + e^{-x}).

    Written with m = expm1(-2|x|) in (-1, 0]: tanh x = sign(x) * (-m) / (2 + m).
    expm1 keeps full relative accuracy for tiny x, where 1 - e^{-2|x|} would cancel.
    """
    x = as_float(x)
    w = widened(x)
    m = jnp.expm1(-2 * jnp.abs(w))
    return (jnp.sign(w) * (-m) / (2 + m)).astype(x.dtype)


@jax.jit
def tanh_grad(x: ArrayLike) -> Array:
    """Derivative of tanh, 1 - tanh(x)^2 (seed (1b)).

    Equal to sech^2 x = 4s(1 - s) with s = 1/(1 + e^{2|x|}) in (0, 1/2], which is how it
    is computed: 1 - t^2 cancels catastrophically once t rounds to 1 (x > ~9 in float32),
    while s <= 1/2 keeps 1 - s exact to rounding. e^{2|x|} overflows to inf for large |x|,
    and 1/(1 + inf) = 0 is the exact limit. float16 and bfloat16 are evaluated in float32
    (`widened`): float16's e^{2|x|} overflows from |x| ~ 5.5, where sech^2 x is still a
    float16 subnormal.
    (One exp and one division: the cheapest form found that keeps full relative
    accuracy; docs/benchmarks.md compares it with autodiff's 1 - t^2.)
    """
    x = as_float(x)
    s = 1 / (1 + jnp.exp(2 * jnp.abs(widened(x))))
    return (4 * (s - s * s)).astype(x.dtype)


@jax.jit
def relu(x: ArrayLike) -> Array:
    """Rectified linear unit, max(x, 0). NaN in, NaN out."""
    x = as_float(x)
    return jnp.maximum(x, jnp.zeros_like(x))


@jax.jit
def relu_grad(x: ArrayLike) -> Array:
    """Derivative of relu: 1 for x > 0, 0 for x < 0 (seed (1c)).

    Kink: at x = 0 (and -0.0) any value in [0, 1] is a subgradient; the convention,
    as in the seed and in jax.nn.relu, is 0.
    """
    x = as_float(x)
    return (x > 0).astype(x.dtype)
