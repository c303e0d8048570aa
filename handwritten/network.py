"""The seed's two-layer sigmoid network and its backpropagation (seed pages 8-14).

params = {"W1": (d_in, h), "b1": (h,), "W2": (h, d_out), "b2": (d_out,)}; W1[i, j]
connects input i to hidden unit j (the seed's w^1_ij). One example at a time:
x has shape (d_in,) and y shape (d_out,); use jax.vmap over x and y for a batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from handwritten._util import as_float
from handwritten.activations import sigmoid, sigmoid_grad

PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _unpack(params: Mapping[str, ArrayLike], x: ArrayLike, name: str) -> tuple[Array, ...]:
    missing = [k for k in PARAM_KEYS if k not in params]
    if missing:
        raise ValueError(f"{name}: params is missing {missing}; it needs keys {list(PARAM_KEYS)}")
    w1, b1, w2, b2 = (as_float(params[k]) for k in PARAM_KEYS)
    x = as_float(x)
    ok = (
        w1.ndim == 2
        and w2.ndim == 2
        and b1.shape == (w1.shape[1],)
        and w2.shape[0] == w1.shape[1]
        and b2.shape == (w2.shape[1],)
        and x.shape == (w1.shape[0],)
    )
    if not ok:
        shapes = {k: tuple(jnp.shape(params[k])) for k in PARAM_KEYS}
        raise ValueError(
            f"{name}: expected W1 (d_in, h), b1 (h,), W2 (h, d_out), b2 (d_out,) and x (d_in,); "
            f"got {shapes} and x {x.shape}"
        )
    return w1, b1, w2, b2, x


def _target(y: ArrayLike, d_out: int, name: str) -> Array:
    y = as_float(y)
    if y.shape != (d_out,):
        raise ValueError(f"{name}: y must have shape ({d_out},) to match the output, got {y.shape}")
    return y


@jax.jit
def two_layer_forward(params: Mapping[str, ArrayLike], x: ArrayLike) -> Array:
    """a = sigmoid(sigmoid(x @ W1 + b1) @ W2 + b2), shape (d_out,)."""
    w1, b1, w2, b2, x = _unpack(params, x, "two_layer_forward")
    return sigmoid(sigmoid(x @ w1 + b1) @ w2 + b2)


@jax.jit
def two_layer_loss(params: Mapping[str, ArrayLike], x: ArrayLike, y: ArrayLike) -> Array:
    """L = sum_k (a_k - y_k)^2, the seed's L2 with reduction 'sum'; a scalar."""
    a = two_layer_forward(params, x)
    return jnp.sum(jnp.square(a - _target(y, a.shape[0], "two_layer_loss")))


@jax.jit
def two_layer_grads(params: Mapping[str, ArrayLike], x: ArrayLike, y: ArrayLike) -> dict[str, Array]:
    """Gradient of two_layer_loss by backpropagation, a dict shaped like params.

    With z1 = x W1 + b1, a1 = s(z1), z2 = a1 W2 + b2, a = s(z2):
      d2 = dL/dz2 = 2 (a - y) * s'(z2)          dL/dW2 = a1^T d2,  dL/db2 = d2
      d1 = dL/dz1 = (W2 d2) * s'(z1)            dL/dW1 = x^T d1,   dL/db1 = d1
    so dL/dW1[i, j] = sum_k 2(a_k - y_k) s'(z2_k) W2[j, k] s'(z1_j) x_i. Erratum 3: the
    seed's general layer-1 formula has w^1_ji where the hidden-to-output weight
    w^2_j1 (here W2[j, k]) belongs, as its own worked cases (5)-(9) use.
    s' is sigmoid_grad, stable for large |z|, rather than a (1 - a).
    """
    w1, b1, w2, b2, x = _unpack(params, x, "two_layer_grads")
    z1 = x @ w1 + b1
    a1 = sigmoid(z1)
    z2 = a1 @ w2 + b2
    y = _target(y, z2.shape[0], "two_layer_grads")
    d2 = 2 * (sigmoid(z2) - y) * sigmoid_grad(z2)
    d1 = (w2 @ d2) * sigmoid_grad(z1)
    return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
