"""Losses over the last axis and their gradients with respect to the prediction.

`loss(pred, target)` reduces the last axis and keeps every leading (batch) axis:
inputs of shape (..., n) give a loss of shape (...) and a gradient of shape (..., n),
the gradient of each example's own loss. pred and target must have the same shape;
anything else is a ValueError naming both shapes (no silent broadcasting).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import Array, lax
from jax.typing import ArrayLike

from handwritten._util import pred_target, row_sums
from handwritten.softmax import shifted_exp


def _log_softmax(z: Array) -> Array:
    """log softmax(z) = z - max - log sum e^{z - max}: finite for logits up to 1e4."""
    shifted = z - jnp.max(z, axis=-1, keepdims=True)
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


@jax.jit
def cross_entropy(z: ArrayLike, y: ArrayLike) -> Array:
    """Cross-entropy of logits z against target probabilities y: -sum_i y_i log softmax(z)_i.

    y may be one-hot or any probability vector (or any non-negative weights).
    Computed through a shifted log-softmax, never log(softmax), which is -inf once
    a probability underflows.
    """
    z, y = pred_target(z, y, "cross_entropy")
    return -jnp.sum(y * _log_softmax(z), axis=-1)


@jax.jit
def cross_entropy_grad(z: ArrayLike, y: ArrayLike) -> Array:
    """d/dz of cross_entropy: softmax(z) * sum(y) - y (seed page 3).

    For a target that sums to 1 this is the familiar p - y; the seed derived it for
    one-hot y as p_j - 1 on the true label and p_j elsewhere.
    """
    z, y = pred_target(z, y, "cross_entropy_grad")
    return lax.platform_dependent(z, y, cpu=_cross_entropy_grad_cpu, default=_cross_entropy_grad)


def _cross_entropy_grad(z: Array, y: Array) -> Array:
    e = shifted_exp(z)  # softmax(z) = e / sum e, scaled once by sum(y) / sum e
    return e * (jnp.sum(y, axis=-1, keepdims=True) / jnp.sum(e, axis=-1, keepdims=True)) - y


def _cross_entropy_grad_cpu(z: Array, y: Array) -> Array:
    """The same, with both row sums taken together (`row_sums`: one reduction on narrow rows)
    and y subtracted as + (-y): XLA:CPU's YNNPACK fusion rewrites add(multiply(a, b), c) into
    one multiply-add, and e r + (-y) measured faster than e r - y (docs/benchmarks.md)."""
    e = shifted_exp(z)
    sum_y, sum_e = row_sums(y, e)
    return e * (sum_y / sum_e) + (-y)


@jax.jit
def l2(a: ArrayLike, y: ArrayLike) -> Array:
    """Squared error with reduction 'sum': sum_i (a_i - y_i)^2."""
    a, y = pred_target(a, y, "l2")
    return jnp.sum(jnp.square(a - y), axis=-1)


@jax.jit
def l2_grad(a: ArrayLike, y: ArrayLike) -> Array:
    """d/da of l2: 2 (a - y).

    Erratum 1: the seed writes 2|a_i - y_i|, which loses the sign for a_i < y_i.
    """
    a, y = pred_target(a, y, "l2_grad")
    return 2 * (a - y)


@jax.jit
def l1(a: ArrayLike, y: ArrayLike) -> Array:
    """Absolute error with reduction 'sum': sum_i |a_i - y_i|."""
    a, y = pred_target(a, y, "l1")
    return jnp.sum(jnp.abs(a - y), axis=-1)


@jax.jit
def l1_grad(a: ArrayLike, y: ArrayLike) -> Array:
    """d/da of l1: sign(a - y) (seed page 4).

    Kink: where a_i = y_i any value in [-1, 1] is a subgradient; the convention is 0,
    which is what sign gives.
    """
    a, y = pred_target(a, y, "l1_grad")
    return jnp.sign(a - y)


@jax.jit
def hinge(a: ArrayLike, y: ArrayLike) -> Array:
    """Hinge loss max(0, 1 - <y, a>) for targets y one-hot or in {-1, +1}^n."""
    a, y = pred_target(a, y, "hinge")
    return jnp.maximum(1 - jnp.sum(y * a, axis=-1), 0)


@jax.jit
def hinge_grad(a: ArrayLike, y: ArrayLike) -> Array:
    """d/da of hinge: -y where the margin <y, a> < 1, else 0 (seed page 5).

    Kink: at <y, a> = 1 exactly any convex mix t * (-y), t in [0, 1], is a
    subgradient; the convention is 0 (the seed's ">= 1" branch).
    """
    a, y = pred_target(a, y, "hinge_grad")
    margin = jnp.sum(y * a, axis=-1, keepdims=True)
    return jnp.where(margin < 1, -y, jnp.zeros_like(y))


def _check_delta(delta: float | Array, name: str) -> None:
    if isinstance(delta, (int, float)) and not delta > 0:
        raise ValueError(f"{name}: delta must be a positive number, got {delta!r}")


@partial(jax.jit, static_argnames=("delta",))
def huber(a: ArrayLike, y: ArrayLike, delta: float = 1.0) -> Array:
    """Huber loss, mean over the last axis of 0.5 r^2 (|r| <= delta) else delta (|r| - delta/2).

    r = a - y; delta > 0. Written with q = min(|r|, delta) as 0.5 q^2 + delta (|r| - q),
    which equals both branches and has no seam to select between.
    """
    _check_delta(delta, "huber")
    a, y = pred_target(a, y, "huber")
    abs_r = jnp.abs(a - y)
    q = jnp.minimum(abs_r, delta)
    return jnp.mean(0.5 * jnp.square(q) + delta * (abs_r - q), axis=-1)


@partial(jax.jit, static_argnames=("delta",))
def huber_grad(a: ArrayLike, y: ArrayLike, delta: float = 1.0) -> Array:
    """d/da of huber: clip(a - y, -delta, delta) / n.

    Erratum 2: the seed's linear branch is -sign(y_i - a) without the factor delta;
    correct is delta * sign(a - y), which clip gives. The two branches meet at
    |r| = delta with the same value, so there is no kink.
    """
    _check_delta(delta, "huber_grad")
    a, y = pred_target(a, y, "huber_grad")
    return jnp.clip(a - y, -delta, delta) / a.shape[-1]


def _unit(v: Array) -> tuple[Array, Array]:
    """(v / |v|, |v|) over the last axis, scaled by max|v| first.

    The scaling keeps sum(v^2) from overflowing (|v_i| > ~1e19 in float32) or
    underflowing to 0 (|v_i| < ~1e-19). The zero vector gives NaN (0/0).
    """
    scale = jnp.max(jnp.abs(v), axis=-1, keepdims=True)
    w = v / scale
    norm_w = jnp.sqrt(jnp.sum(jnp.square(w), axis=-1, keepdims=True))
    return w / norm_w, scale * norm_w


def _nonempty(a: Array, y: Array, name: str) -> tuple[Array, Array]:
    if a.shape[-1] == 0:
        raise ValueError(f"{name}: the vectors need at least one element, got shape {a.shape}")
    return a, y


@jax.jit
def cosine_similarity(a: ArrayLike, y: ArrayLike) -> Array:
    """cos(a, y) = <a, y> / (|a| |y|) over the last axis (|.| the Euclidean norm).

    Undefined when a or y is the zero vector: the result there is NaN, on purpose,
    so that the degenerate case is never mistaken for a similarity of 0.
    """
    a, y = _nonempty(*pred_target(a, y, "cosine_similarity"), "cosine_similarity")
    a_hat, _ = _unit(a)
    y_hat, _ = _unit(y)
    return jnp.sum(a_hat * y_hat, axis=-1)


@jax.jit
def cosine_similarity_grad(a: ArrayLike, y: ArrayLike) -> Array:
    """d/da of cos(a, y): y/(|a||y|) - cos(a, y) a/|a|^2 (the seed's boxed result, page 7).

    Computed as (y_hat - cos * a_hat) / |a| with unit vectors a_hat, y_hat (scaled by
    max|v| first, so no square overflows); on the CPU from the plain sums first, scaled only
    when a row needs it. Erratum 6: the seed's expansion doubles then halves the
    a.da/|a|^2 term; the box is right. NaN where a or y is the zero vector, like
    cosine_similarity.
    """
    a, y = _nonempty(*pred_target(a, y, "cosine_similarity_grad"), "cosine_similarity_grad")
    # On the CPU, try the plain sums first (see _cosine_grad_checked); a GPU runs the scaled
    # form as fast as autodiff (measured on an H200), so it keeps that alone.
    return lax.platform_dependent(a, y, cpu=_cosine_grad_checked, default=_cosine_grad_scaled)


def _cosine_grad_scaled(a: Array, y: Array) -> Array:
    """(y_hat - cos a_hat) / |a| from unit vectors scaled by max|v| first: never overflows."""
    a_hat, norm_a = _unit(a)
    y_hat, _ = _unit(y)
    cos = jnp.sum(a_hat * y_hat, axis=-1, keepdims=True)
    return (y_hat - cos * a_hat) / norm_a


def _cosine_grad_plain(a: Array, y: Array) -> Array:
    """(y - (<a,y>/|a|^2) a) / (|a||y|) from the plain sums, NaN in every row they cannot serve.

    That is y/(|a||y|) - cos a/|a|^2: the part of y orthogonal to a, over |a||y|. A row is
    served when |a|^2 and |y|^2 lie in [tiny/eps, sqrt(max)] of the dtype: no square has
    overflowed, the sums lost nothing to underflow, and 1/(|a||y|) is a normal number, so the
    result is as accurate as the scaled form. Any other row (out of range, NaN, inf, a zero
    vector) is made NaN by the square root of a negative number, not by a comparison, so that
    XLA:CPU keeps the sums and the output in one fused pass (a compare or select would split it).
    """
    aa, yy, ay = row_sums(a * a, y * y, a * y)
    info = jnp.finfo(a.dtype)
    low, high = info.tiny / info.eps, jnp.sqrt(info.max)
    margin = jnp.minimum(jnp.minimum(aa - low, high - aa), jnp.minimum(yy - low, high - yy))
    served = jnp.sqrt(margin) * 0 + 1  # 1 in range, NaN outside
    return (y + a * (-(ay / aa))) * (served / (jnp.sqrt(aa) * jnp.sqrt(yy)))


def _cosine_grad_checked(a: Array, y: Array) -> Array:
    """The plain form; the scaled form for the whole batch when any row came out NaN.

    One pass (autodiff's cost) plus a look at the first column of the result: a row the plain
    form cannot serve is NaN in every element. `lax.cond` runs one branch (under vmap, both).
    """
    plain = _cosine_grad_plain(a, y)
    return lax.cond(jnp.any(jnp.isnan(plain[..., 0])), _cosine_grad_scaled, lambda a, y: plain, a, y)
