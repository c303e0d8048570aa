"""How much a function's value may move when its inputs are rounded: its sensitivity.

For a function f of arrays x, the sensitivity of output element k is

    S_k = sum_i |d f_k / d x_i| * |x_i|,

the first-order change of f_k when every input element is perturbed by a relative
amount of at most 1. A backward-stable formula in a dtype with machine epsilon eps
returns f(x + dx) with |dx_i| <= c * eps * |x_i| for a small c, so it is off the
exact f(x) by at most about c * eps * S_k (plus rounding of the result itself): the
comparison allows exactly that much (reference/tolerances.py). An unstable formula
(an overflowing exponential, a cancellation the inputs do not justify) is off by far
more and still fails.

Everything here is generic: it knows nothing of the catalog, and works for any JAX
function of float arrays (or pytrees of them) that autodiff can differentiate.

Conventions:
- S is computed in float64 (jax_enable_x64 must be on) by forward-mode autodiff of
  `fn` itself: the full Jacobian, one column per input element. That is cheap for the
  sizes a gradient check uses (thousands of elements), not for large models.
- At a kink (relu at 0, |a - y| at a tie, a clip at its bound) the derivative is the
  one autodiff picks, which is one of the one-sided derivatives (0 for a step). S is a
  rounding allowance, not a verdict: at a kink the comparison already accepts the
  whole interval of valid subgradients (reference/kinks.py).
- Where a derivative is inf or NaN (sqrt at 0, a zero vector's norm), that input's
  term is dropped when the input element is exactly 0 (a relative perturbation of 0
  leaves it 0), and a sensitivity that is still not finite becomes 0: no allowance
  beyond the fixed tolerance there, rather than an infinite one. Where the truth
  itself is not finite, S is 0 (the comparison checks NaN and inf positions exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

Tree = Any


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def _to_float64(tree: Tree) -> Tree:
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if _is_float(a) else jnp.asarray(a), tree)


def sensitivity_fn(fn: Callable[..., Any], argnums: Sequence[int] | None = None) -> Callable[..., Tree]:
    """A JAX function of the same arguments as `fn` that returns S (see `sensitivity`).

    It can be wrapped in `jax.jit` and reused for every call with the same shapes.
    """

    def s(*args: Any) -> Tree:
        nums = tuple(range(len(args))) if argnums is None else tuple(argnums)
        nums = tuple(i for i in nums if all(_is_float(leaf) for leaf in jax.tree.leaves(args[i])))
        chosen = {i: args[i] for i in nums}
        flat, unravel = ravel_pytree(chosen)

        def f_flat(v: jax.Array) -> jax.Array:
            new = list(args)
            for i, a in unravel(v).items():
                new[i] = a
            return ravel_pytree(fn(*new))[0]

        out = fn(*args)
        out_flat, unravel_out = ravel_pytree(out)
        jac = jax.jacfwd(f_flat)(flat)  # (outputs, inputs)
        jac = jac.reshape(out_flat.shape[0], flat.shape[0])
        ax = jnp.abs(flat)[None, :]
        terms = jnp.where(ax == 0, 0.0, jnp.abs(jac) * ax)
        total = jnp.sum(terms, axis=1)
        total = jnp.where(jnp.isfinite(total) & jnp.isfinite(out_flat), total, 0.0)
        return unravel_out(total.astype(out_flat.dtype))

    return s


def sensitivity_rows_fn(fn: Callable[..., Any]) -> Callable[..., jax.Array]:
    """A JAX function `(rows, *args) -> S[rows]`: S (see `sensitivity`) at the flat output
    elements `rows` only (fn's outputs raveled, dict keys sorted, as ravel_pytree does), one
    reverse-mode pullback per row, 64 rows at a time. What a check needs where f is too large
    for its whole Jacobian (n outputs by n inputs: 8192 of each for two 64 x 64 matrices is
    512 MB and half a minute) and only some elements fail the fixed tolerance. Every
    argument counts as an input; rows past the output's size give 0 (padding)."""

    def s(rows: jax.Array, *args: Any) -> jax.Array:
        nums = tuple(i for i, a in enumerate(args) if all(_is_float(leaf) for leaf in jax.tree.leaves(a)))
        flat, unravel = ravel_pytree({i: args[i] for i in nums})

        def f_flat(v: jax.Array) -> jax.Array:
            new = list(args)
            for i, a in unravel(v).items():
                new[i] = a
            return ravel_pytree(fn(*new))[0]

        out_flat, pullback = jax.vjp(f_flat, flat)
        ax = jnp.abs(flat)
        n = out_flat.shape[0]

        def row(k: jax.Array) -> jax.Array:
            (g,) = pullback(jnp.zeros_like(out_flat).at[jnp.minimum(k, n - 1)].set(1.0))
            total = jnp.sum(jnp.where(ax == 0, 0.0, jnp.abs(g) * ax))
            ok = (k < n) & jnp.isfinite(total) & jnp.isfinite(out_flat[jnp.minimum(k, n - 1)])
            return jnp.where(ok, total, 0.0)

        return jax.lax.map(row, rows, batch_size=64)

    return s


def sensitivity(fn: Callable[..., Any], args: tuple[Any, ...], argnums: tuple[int, ...] | None = None) -> Tree:
    """S_k = sum_i |d fn(*args)_k / d x_i| * |x_i| for every output element k, in float64.

    fn: any JAX-differentiable function of arrays (or pytrees of arrays) returning an
        array or a pytree of arrays.
    args: its positional arguments; floating ones are promoted to float64 first, so the
        result does not depend on the dtype they came in (the caller rounds inputs to the
        dtype under test before, if it wants the sensitivity at the rounded point).
    argnums: which arguments count as inputs (default: all); the others are held fixed.

    Returns a pytree shaped like fn(*args) of float64 numpy arrays, >= 0 and finite.
    See the module docstring for kinks and non-finite derivatives. Needs jax_enable_x64.
    """
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("sensitivity needs jax_enable_x64 (it differentiates in float64)")
    if argnums is not None:
        bad = [i for i in argnums if not 0 <= i < len(args)]
        if bad:
            raise ValueError(f"argnums {bad} out of range for {len(args)} arguments")
    args64 = _to_float64(args)
    with jax.default_device(jax.devices("cpu")[0]):
        out = sensitivity_fn(fn, argnums)(*args64)
    return jax.tree.map(lambda a: np.asarray(a, np.float64), out)
