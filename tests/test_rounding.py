"""The running error bound R of reference/rounding.py: hand-computed values, what it follows
through, where it gives up, and that it bounds a float32 program's real error."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reference.rounding import rounding, rounding_terms


def test_a_matrix_product_rounds_its_terms_not_its_result() -> None:
    a = np.array([[1.0, -2.0], [3.0, 4.0]])
    b = np.array([[2.0, 1.0], [1.0, -1.0]])
    # Entry (0, 0) is 1*2 - 2*1 = 0, but its partial sums round terms of |1*2| + |-2*1| = 4.
    assert np.allclose(rounding(lambda a, b: a @ b, (a, b)), np.abs(a) @ np.abs(b))


def test_a_sum_that_cancels_to_zero_keeps_the_size_of_its_terms() -> None:
    x = np.array([1.0, -3.0, 2.5])
    # Each sum rounds terms of sum|x| = 6.5; the subtraction's exact result is 0.
    assert np.allclose(rounding(lambda x: jnp.sum(x) - jnp.sum(x), (x,)), 13.0)


def test_each_rounding_is_carried_with_its_derivative() -> None:
    x = np.array([0.5, 2.0])
    # exp rounds once (e^x); times 3 carries 3 e^x and rounds 3 e^x again.
    assert np.allclose(rounding(jnp.exp, (x,)), np.exp(x))
    assert np.allclose(rounding(lambda x: 3.0 * jnp.exp(x), (x,)), 6 * np.exp(x))
    # log(exp(x)): exp's rounding e^x reaches log with 1/e^x, log rounds |x| once more.
    assert np.allclose(rounding(lambda x: jnp.log(jnp.exp(x)), (x,)), 1.0 + np.abs(x))


def test_inputs_and_moves_round_nothing() -> None:
    x = np.array([[1.0, -2.0, 3.0]])
    # The inputs' rounding is S's part (reference/conditioning.py), and reshapes, negation,
    # max and selection move values without rounding them.
    moved = lambda x: jnp.where(x > 0, -x.T, jnp.maximum(x.T, 0.0))  # noqa: E731
    assert np.all(rounding(moved, (x,)) == 0.0)


def test_stop_gradient_passes_its_rounding_on() -> None:
    x = np.array([0.3, 1.7])
    plain = rounding(lambda x: 2.0 * jnp.exp(x), (x,))
    stopped = rounding(lambda x: 2.0 * jax.lax.stop_gradient(jnp.exp(x)), (x,))
    assert np.allclose(stopped, plain) and np.all(plain > 0)


def test_nested_programs_are_followed_inside() -> None:
    x = np.array([1.0, -3.0, 2.5])
    inner = jax.jit(lambda x: jnp.sum(x) - jnp.sum(x))
    assert np.allclose(rounding(lambda x: inner(x), (x,)), 13.0)


def test_a_bound_that_is_not_finite_is_no_bound() -> None:
    # exp overflows to inf, and 0 * inf is NaN: R there is 0 (no allowance beyond S), not inf.
    x = np.array([1000.0, 1.0])
    r = rounding(lambda x: 0.0 * jnp.exp(x) + x, (x,))
    assert r[0] == 0.0 and np.isfinite(r[1]) and r[1] > 0


def test_pytrees_and_integer_outputs() -> None:
    x = np.array([2.0, -1.0])
    out = rounding(lambda x: {"e": jnp.exp(x), "n": jnp.argmax(x)}, (x,))
    assert np.allclose(out["e"], np.exp(x)) and out["n"] == 0


def test_an_operation_it_cannot_follow_gives_no_bound() -> None:
    def host(x):  # type: ignore[no-untyped-def]
        return jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    assert rounding_terms(host)((np.array([1.0, 2.0]),)) is None


def _layer_norm_grad(x: jax.Array, w: jax.Array) -> jax.Array:
    def loss(x: jax.Array) -> jax.Array:
        c = x - jnp.mean(x)
        return jnp.sum(w * c / jnp.sqrt(jnp.mean(c * c) + 1e-5))

    return jax.grad(loss)(x)


def _softmax_vjp(x: jax.Array, v: jax.Array) -> jax.Array:
    return jax.vjp(jax.nn.softmax, x)[1](v)[0]


def _logsumexp_hvp(x: jax.Array, v: jax.Array) -> jax.Array:
    return jax.jvp(jax.grad(jax.nn.logsumexp), (x,), (v,))[1]


def _net_grad(x: jax.Array, w: jax.Array) -> jax.Array:
    return jax.grad(lambda w: jnp.sum(jax.nn.sigmoid(jnp.tanh(x @ w) @ w.T)))(w)


@pytest.mark.parametrize("fn", [_layer_norm_grad, _softmax_vjp, _logsumexp_hvp, _net_grad], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n", [8, 300])
def test_it_bounds_the_error_of_the_same_program_in_float32(fn, n: int) -> None:  # type: ignore[no-untyped-def]
    # What R is for: the float32 run of a program is off from its float64 run (on the same
    # float32 inputs) by at most eps32 * R, also where the exact result cancels to 0.
    rng = np.random.default_rng(n)
    x = (rng.normal(size=(n,)) * 3).astype(np.float32)
    other = (rng.normal(size=(n, n)) / np.sqrt(n) if fn is _net_grad else rng.normal(size=(n,))).astype(np.float32)
    if fn is _softmax_vjp:
        other = np.ones(n, np.float32)  # sum(softmax) has gradient 0: all cancellation
    args = (x.reshape(1, n), other) if fn is _net_grad else (x, other)
    got = np.asarray(fn(*args), np.float64)
    exact = np.asarray(fn(*(a.astype(np.float64) for a in args)))
    r = rounding(fn, args)
    err = np.abs(got - exact)
    assert np.all(err <= 2.0**-23 * r), float(np.max(err / (2.0**-23 * r)))
