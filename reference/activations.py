"""Reference activations: jax.nn / jax.numpy forwards, derivatives by jax.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from reference._autodiff import elementwise_grad


def sigmoid(x: Array) -> Array:
    """1 / (1 + e^{-x}) as exp(jax.nn.log_sigmoid(x)), for its derivative.

    Autodiff of this form computes s'(x) as s(x) s(-x) (log_sigmoid is softplus-based, and
    softplus's derivative is exp(y - softplus(y))), each factor accurate to a few eps in
    float64. Autodiff of jax.nn.sigmoid computes s (1 - s), whose 1 - s cancels: 1.2e-10
    relative at x = 14, 0.1% at x = 30, and 0 for 1.9e-22 at x = 50; through the network's
    saturated units that made the float64 truth itself 1e-10 off. The value is within 17 eps
    of s(x) at every x (worst near x = -33, where softplus(-x) rounds in its last bit).
    """
    return jnp.exp(jax.nn.log_sigmoid(x))


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
