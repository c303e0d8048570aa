"""Reference losses: one example's loss written plainly, batched and differentiated by JAX.

Each `_row` function takes vectors of shape (n,) and returns a scalar; `rowwise` lifts it
to any batch shape and `rowwise_grad` differentiates it with jax.grad per example.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import Array

from reference._autodiff import rowwise, rowwise_grad


def _cross_entropy_row(z: Array, y: Array) -> Array:
    return -jnp.dot(y, jax.nn.log_softmax(z))


def _l2_row(a: Array, y: Array) -> Array:
    return jnp.sum((a - y) ** 2)


def _l1_row(a: Array, y: Array) -> Array:
    return jnp.sum(jnp.abs(a - y))


def _hinge_row(a: Array, y: Array) -> Array:
    return jax.nn.relu(1.0 - jnp.dot(y, a))


def _huber_row(a: Array, y: Array, delta: float) -> Array:
    r = jnp.abs(a - y)
    return jnp.mean(jnp.where(r <= delta, 0.5 * r**2, delta * r - 0.5 * delta**2))


def _cosine_row(a: Array, y: Array) -> Array:
    return jnp.dot(a, y) / (jnp.linalg.norm(a) * jnp.linalg.norm(y))


cross_entropy = rowwise(_cross_entropy_row, 2)
cross_entropy_grad = rowwise_grad(_cross_entropy_row, 2)
l2 = rowwise(_l2_row, 2)
l2_grad = rowwise_grad(_l2_row, 2)
l1 = rowwise(_l1_row, 2)
l1_grad = rowwise_grad(_l1_row, 2)
hinge = rowwise(_hinge_row, 2)
hinge_grad = rowwise_grad(_hinge_row, 2)
cosine_similarity = rowwise(_cosine_row, 2)
cosine_similarity_grad = rowwise_grad(_cosine_row, 2)


def huber(a: Array, y: Array, delta: float = 1.0) -> Array:
    """Mean over the last axis of the Huber function of a - y."""
    return rowwise(functools.partial(_huber_row, delta=delta), 2)(a, y)


def huber_grad(a: Array, y: Array, delta: float = 1.0) -> Array:
    """jax.grad of `huber` per example."""
    return rowwise_grad(functools.partial(_huber_row, delta=delta), 2)(a, y)
