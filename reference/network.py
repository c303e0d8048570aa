"""Reference two-layer sigmoid network; its gradient is jax.grad of the loss."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from jax import Array

from reference.activations import sigmoid


def two_layer_forward(params: Mapping[str, Array], x: Array) -> Array:
    """sigmoid(sigmoid(x W1 + b1) W2 + b2) for one example x of shape (d_in,)."""
    hidden = sigmoid(jnp.dot(x, params["W1"]) + params["b1"])
    return sigmoid(jnp.dot(hidden, params["W2"]) + params["b2"])


def two_layer_loss(params: Mapping[str, Array], x: Array, y: Array) -> Array:
    """Sum over outputs of the squared error."""
    return jnp.sum((two_layer_forward(params, x) - y) ** 2)


two_layer_grads = jax.grad(two_layer_loss)
