"""How the references turn a forward definition into a derivative: JAX autodiff only."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import Array


def elementwise_grad(f: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """x -> f'(x) for a scalar function applied to every element: vmap of jax.grad."""
    return jnp.vectorize(jax.grad(f))


def rowwise(f: Callable[..., Array], n_args: int) -> Callable[..., Array]:
    """Lift a per-example loss of vectors (n,) to any leading batch shape."""
    return jnp.vectorize(f, signature=",".join(["(n)"] * n_args) + "->()")


def rowwise_grad(f: Callable[..., Array], n_args: int) -> Callable[..., Array]:
    """Gradient of a per-example loss w.r.t. its first argument, per example (vmap of grad)."""
    return jnp.vectorize(jax.grad(f), signature=",".join(["(n)"] * n_args) + "->(n)")


def rowwise_jacobian(f: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """Jacobian (n, n) of a vector function (n,) -> (n,), per row (vmap of jacrev)."""
    return jnp.vectorize(jax.jacrev(f), signature="(n)->(n,n)")


def rowwise_vjp(f: Callable[[Array], Array]) -> Callable[[Array, Array], Array]:
    """(x, g) -> g @ df/dx per row, through jax.vjp."""

    def vjp_row(x: Array, g: Array) -> Array:
        _, pullback = jax.vjp(f, x)
        return pullback(g)[0]

    return jnp.vectorize(vjp_row, signature="(n),(n)->(n)")
