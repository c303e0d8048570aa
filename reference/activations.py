"""Reference activations: jax.nn / jax.numpy forwards, derivatives by jax.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from reference._autodiff import elementwise_grad


def sigmoid(x: Array) -> Array:
    """1 / (1 + e^{-x}) as jax.nn.sigmoid."""
    return jax.nn.sigmoid(x)


def tanh(x: Array) -> Array:
    """tanh as jax.numpy's primitive."""
    return jnp.tanh(x)


def relu(x: Array) -> Array:
    """max(x, 0) as jax.nn.relu."""
    return jax.nn.relu(x)


sigmoid_grad = elementwise_grad(sigmoid)
tanh_grad = elementwise_grad(tanh)
# At x = 0 autodiff picks one subgradient; the catalog's kink rule decides what passes.
relu_grad = elementwise_grad(relu)
