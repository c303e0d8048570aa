"""How large the terms are that a function's own computation rounds: a running error bound.

The sensitivity S (reference/conditioning.py) says how far a result may move when the
*inputs* are rounded. It sees nothing of rounding inside the computation, and where the
exact result is 0 by cancellation (the gradient of sum(softmax(x)), of a layer norm's sum)
S is 0 too, while any program that computes it, autodiff's own in float64 included, returns
rounding noise of the size of the terms it cancelled. A numerical analyst's answer is the
running error bound: every operation rounds its result by a relative eps, and each rounding
reaches output k scaled by |d out_k / d that result|. This module computes

    R_k = sum over the operations j of |d out_k / d v_j| * m_j

where v_j is operation j's result and m_j its magnitude (|v_j|; for a sum or a matrix
product, the sum of the magnitudes of its terms, sum |x_i| or |A| |B|, which its partial
sums round), as one forward pass beside the function's own: a magnitude r_v >= 0 carried
with every value, with r = 0 at the inputs (their rounding is S's part), and at each
operation

    r_out = sum_i |d out / d in_i| r_in_i + m_out,

where |d out / d in_i| r is exact for elementwise operations, for those that move or add
elements with coefficient 1 (reshape, gather, reduce_sum, ...) and for the bilinear ones
(mul, dot_general, conv: |B| r_A + |A| r_B); for any other operation (a solve, an
eigendecomposition, a loop) it is taken as |J r|, which can be smaller than |J| r (the
allowance is then what S alone gives, as before). Operations that only move or pick values
(reshape, select, max, neg) round nothing (m = 0). Nested programs (jit, custom_jvp,
custom_vjp) are followed inside; stop_gradient passes its r on, since a value that autodiff
does not differentiate still carries its rounding.

An upper bound in the elementwise sense (each rounding counted with |coefficient|, never
cancelled against another), so R >= the error of the function's own program to first
order, up to a factor of the summations' depth. Where R is not finite (an intermediate
inf, 0 * inf), it is 0: no allowance beyond S there. Everything runs in float64 and
can be jitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

Tree = Any

EXACT = frozenset(
    {
        "reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims", "slice", "pad", "concatenate",
        "rev", "gather", "dynamic_slice", "dynamic_update_slice", "select_n", "copy", "copy_p", "neg", "abs",
        "sign", "max", "min", "reduce_max", "reduce_min", "argmax", "argmin", "clamp", "floor", "ceil", "round",
        "sort", "stop_gradient", "convert_element_type", "sharding_constraint", "optimization_barrier",
        "cummax", "cummin", "real", "imag", "conj", "scatter", "reduce_precision", "iota", "eq", "ne", "lt",
        "le", "gt", "ge",
    }
)  # fmt: skip
"""Operations whose result is one of their inputs' values, moved or picked, never rounded
(convert_element_type: float64 to float64 here)."""

PASS_THROUGH = frozenset({"stop_gradient", "optimization_barrier", "reduce_precision", "copy", "copy_p"})
"""Operations whose r is their input's, whatever autodiff says of them (stop_gradient has no
derivative but its value still carries the rounding it was computed with)."""

BILINEAR = frozenset({"mul", "dot_general", "conv_general_dilated"})
"""Sums of products of two inputs: |d out / d A| r_A = op(r_A, |B|), and the terms' magnitude
is op(|A|, |B|)."""

ADDS = frozenset({"add", "add_any", "sub"})
"""One addition per element: r adds up, and the result is rounded once (m = |out|)."""

SUMS = frozenset({"reduce_sum", "cumsum"})
"""Many additions per element: r passes through the op, and the partial sums round terms of
magnitude op(|x|)."""

NESTED = {
    "jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
    "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr", "checkpoint": "jaxpr", "remat": "jaxpr",
}  # fmt: skip
"""Primitives that hold a program run once with their inputs: followed inside."""


def _is_float(x: Any) -> bool:
    return bool(jnp.issubdtype(jnp.result_type(x), jnp.inexact))


def rounding_fn(fn: Callable[..., Any]) -> Callable[..., Tree]:
    """A JAX function of `fn`'s arguments returning R (module docstring), shaped like
    fn(*args): float64, >= 0, finite (0 where the bound is not). Integer outputs get 0."""

    def r(*args: Any) -> Tree:
        closed, shape = jax.make_jaxpr(fn, return_shape=True)(*args)
        flat = jax.tree.leaves(args)
        zeros = [jnp.zeros(jnp.shape(a), jnp.float64) if _is_float(a) else None for a in flat]
        _, bounds = _run(closed.jaxpr, closed.consts, flat, zeros)
        leaves, tree = jax.tree.flatten(shape)
        out = []
        for leaf, b in zip(leaves, bounds, strict=True):
            b = jnp.zeros(leaf.shape, jnp.float64) if b is None else jnp.asarray(b, jnp.float64)
            out.append(jnp.where(jnp.isfinite(b), b, 0.0))
        return jax.tree.unflatten(tree, out)

    return r


def rounding(fn: Callable[..., Any], args: Sequence[Any]) -> Tree:
    """R of `fn` at `args` (floating arguments promoted to float64), as numpy arrays."""
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("rounding needs jax_enable_x64 (it runs in float64)")
    args64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if _is_float(a) else jnp.asarray(a), tuple(args))
    with jax.default_device(jax.devices("cpu")[0]):
        out = jax.jit(rounding_fn(fn))(*args64)
    return jax.tree.map(lambda a: np.asarray(a, np.float64), out)


def _run(
    jaxpr: Jaxpr, consts: Sequence[Any], args: Sequence[Any], bounds: Sequence[Any]
) -> tuple[list[Any], list[Any]]:
    """Evaluate `jaxpr` on `args`, carrying r beside every floating value (None: not a float)."""
    env: dict[Any, tuple[Any, Any]] = {}

    def read(v: Any) -> tuple[Any, Any]:
        if isinstance(v, Literal):
            return v.val, (jnp.zeros(jnp.shape(v.val), jnp.float64) if _is_float(v.val) else None)
        return env[v]

    for v, c in zip(jaxpr.constvars, consts, strict=True):
        env[v] = (c, jnp.zeros(jnp.shape(c), jnp.float64) if _is_float(c) else None)
    for v, a, b in zip(jaxpr.invars, args, bounds, strict=True):
        env[v] = (a, b)
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        values, rs = [x for x, _ in ins], [b for _, b in ins]
        name = eqn.primitive.name
        inner = eqn.params.get(NESTED[name]) if name in NESTED else None
        if inner is not None:
            sub = inner if isinstance(inner, ClosedJaxpr) else ClosedJaxpr(inner, ())
            outs, out_rs = _run(sub.jaxpr, sub.consts, values, rs)
        else:
            outs, out_rs = _step(eqn, values, rs)
        for v, x, b in zip(eqn.outvars, outs, out_rs, strict=True):
            env[v] = (x, b if _is_float(x) else None)
    results = [read(v) for v in jaxpr.outvars]
    return [x for x, _ in results], [b for _, b in results]


def _bind(eqn: Any) -> Callable[..., list[Any]]:
    """The equation's primitive as a function of its inputs, always returning a list."""
    got = eqn.primitive.get_bind_params(eqn.params)
    subfuns, params = got if isinstance(got, tuple) else ((), got)  # (JAX before 0.7: subfuns too)

    def call(*xs: Any) -> list[Any]:
        out = eqn.primitive.bind(*subfuns, *xs, **params)
        return list(out) if eqn.primitive.multiple_results else [out]

    return call


def _zero_if_none(r: Any, x: Any) -> Any:
    return jnp.zeros(jnp.shape(x), jnp.float64) if r is None else r


def _step(eqn: Any, values: list[Any], rs: list[Any]) -> tuple[list[Any], list[Any]]:
    """One equation: its results and their r."""
    call = _bind(eqn)
    outs = call(*values)
    name = eqn.primitive.name
    as64 = lambda x: jnp.asarray(x, jnp.float64)  # noqa: E731
    all_float = all(_is_float(x) for x in values)
    if name in PASS_THROUGH:
        return outs, [rs[0] if _is_float(o) else None for o in outs]
    if name in ADDS and all_float:
        a, b = (_zero_if_none(r, x) for r, x in zip(rs, values, strict=True))
        return outs, [a + b + jnp.abs(as64(outs[0]))]
    if name in SUMS and all_float:
        (x,), (r,) = values, rs
        (through,) = call(_zero_if_none(r, x).astype(jnp.result_type(x)))
        (terms,) = call(jnp.abs(x))
        return outs, [as64(through) + jnp.abs(as64(terms))]
    if name in BILINEAR and all_float:
        a, b = values
        ra, rb = (_zero_if_none(r, x).astype(jnp.result_type(x)) for r, x in zip(rs, values, strict=True))
        (terms,) = call(jnp.abs(a), jnp.abs(b))
        (from_a,) = call(ra, jnp.abs(b))
        (from_b,) = call(jnp.abs(a), rb)
        return outs, [as64(from_a) + as64(from_b) + as64(terms)]
    totals = [jnp.zeros(jnp.shape(o), jnp.float64) if _is_float(o) else None for o in outs]
    for i, (x, r) in enumerate(zip(values, rs, strict=True)):
        if r is None or not _is_float(x):
            continue

        def along(y: Any, i: int = i) -> list[Any]:
            return call(*values[:i], y, *values[i + 1 :])

        _, tangents = jax.jvp(along, (x,), (jnp.asarray(r, jnp.result_type(x)),))
        totals = [
            t if t is None or not _is_float(d) else t + jnp.abs(as64(d)) for t, d in zip(totals, tangents, strict=True)
        ]
    if name not in EXACT:
        totals = [t if t is None else t + jnp.abs(as64(o)) for t, o in zip(totals, outs, strict=True)]
    return outs, totals


def rounding_terms(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...]], Tree | None]:
    """`args -> R of fn at args` (float64 numpy, shaped like fn's output), compiled once per
    shape; None where R cannot be computed (an operation this module cannot follow through:
    the allowance is then S alone, as it was)."""
    program = jax.jit(rounding_fn(fn))

    def terms(args: tuple[Any, ...]) -> Tree | None:
        try:
            with jax.default_device(jax.devices("cpu")[0]):
                out = program(*args)
        except Exception:
            return None
        return jax.tree.map(lambda a: np.asarray(a, np.float64), out)

    return terms
