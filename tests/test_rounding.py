"""R of reference/rounding.py, the rounding of a program's own operations: sizes against
hand-computed terms, roundings that cancel along two paths, deep chains, what it follows, and
that it bounds a float32 program's real error."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reference.rounding import FACTOR, rounding, rounding_terms


def test_a_matrix_product_rounds_its_terms_not_its_result() -> None:
    a = np.array([[1.0, -2.0], [3.0, 4.0]])
    b = np.array([[2.0, 1.0], [1.0, -1.0]])
    # Entry (0, 0) is 1*2 - 2*1 = 0, but its partial sums round terms of |1*2| + |-2*1| = 4.
    # One rounding of m, moved uniformly: R = FACTOR * m * rms(w), about 1.7 m.
    r, terms = rounding(lambda a, b: a @ b, (a, b)), np.abs(a) @ np.abs(b)
    assert np.all((r > 0.5 * terms) & (r < FACTOR * terms)), r / terms


def test_a_sum_that_cancels_to_zero_keeps_the_size_of_its_terms() -> None:
    x = np.array([1.0, -3.0, 2.5])
    # The sum rounds terms of sum|x| = 6.5, the two additions results of 2 and 0.5: R is about
    # FACTOR * sqrt((6.5^2 + 2^2 + 0.5^2) / 3) = 12.
    assert 6.5 < rounding(lambda x: jnp.sum(x) - (x[0] + x[1] + x[2]), (x,)) < FACTOR * 9.0
    # The same operation on the same values rounds alike, as in a real run: this is exactly 0.
    assert rounding(lambda x: jnp.sum(x) - jnp.sum(x), (x,)) == 0.0


def test_a_rounding_that_cancels_along_two_paths_counts_for_nothing() -> None:
    # 2 (1 - s) / (1 - s) at z = 30, where 1 - s ~ 1e-13 is one rounded value used twice: its
    # rounding cancels exactly, as in autodiff's sigmoid'(z) / (1 - s). Only the product's and
    # the quotient's own roundings, of size 2, are left (adding |derivative| path by path gave
    # R ~ 1e13 here).
    z = np.array([30.0, 1.0])
    r = rounding(lambda z: 2 * (1 - jax.nn.sigmoid(z)) / (1 - jax.nn.sigmoid(z)), (z,))
    assert np.all(r < 2 * FACTOR * 2), r


def test_a_deep_chain_counts_the_product_of_its_derivatives() -> None:
    # A 12-layer tanh network's gradient: R stays within a few hundred times the gradient (the
    # product of |W| over the layers, the path-by-path bound, was 1e17 times it).
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=(32, 32)) / np.sqrt(32) for _ in range(12)]

    def loss(x):  # type: ignore[no-untyped-def]
        for w in ws:
            x = jnp.tanh(w @ x)
        return jnp.sum(x**2)

    x = rng.normal(size=(32,))
    g, r = np.abs(np.asarray(jax.grad(loss)(x))), rounding(jax.grad(loss), (x,))
    assert np.median(r / g) < 300, np.median(r / g)


def test_a_choice_that_a_move_flips_gives_no_allowance() -> None:
    # a * b lies 1e-13 above c: a move of 2^-30 flips the comparison, and the result jumps by
    # 200 a. That is no rounding of the formula's (float64's 2^-53 would not flip it), and an
    # R of the jump's size would let any answer pass there: R is 0 where the moves flip a
    # choice, and the same as ever where they do not.
    a, b, c = np.array([1.0, 3.0]), np.array([0.1, 1.0]), np.array([0.1 + 1e-13, 1.0])
    r = rounding(lambda a: jnp.where(a * b > c, 100.0 * a, -100.0 * a), (a,))
    assert r[0] == 0.0 and 150.0 < r[1] < FACTOR * 300.0, r
    assert rounding(lambda x: jnp.floor(jnp.exp(x) * 2.0), (np.array([np.log(1.5)]),)) == 0.0


def test_inputs_and_moves_round_nothing() -> None:
    x = np.array([[1.0, -2.0, 3.0]])
    # The inputs' rounding is S's part (reference/conditioning.py), and reshapes, negation,
    # max and selection move values without rounding them.
    moved = lambda x: jnp.where(x > 0, -x.T, jnp.maximum(x.T, 0.0))  # noqa: E731
    assert np.all(rounding(moved, (x,)) == 0.0)


def test_stop_gradient_and_jit_change_nothing() -> None:
    # stop_gradient's value still carries its rounding; a jit-nested program is followed inside.
    x = np.array([0.3, 1.7, -2.0])
    plain = rounding(lambda x: 2.0 * jnp.exp(x) - jnp.sum(x), (x,))
    stopped = rounding(lambda x: 2.0 * jax.lax.stop_gradient(jnp.exp(x)) - jnp.sum(x), (x,))
    nested = rounding(lambda x: jax.jit(lambda x: 2.0 * jnp.exp(x))(x) - jnp.sum(x), (x,))
    assert np.all(plain > 0)
    np.testing.assert_array_equal(stopped, plain)
    np.testing.assert_array_equal(nested, plain)


def test_a_bound_that_is_not_finite_is_no_bound() -> None:
    # exp overflows to inf: R there is 0 (no allowance beyond S), not inf or NaN.
    x = np.array([1000.0, 1.0])
    r = rounding(lambda x: jnp.exp(x) * 2.0, (x,))
    assert r[0] == 0.0 and np.isfinite(r[1]) and r[1] > 0


def test_pytrees_and_integer_outputs() -> None:
    x = np.array([2.0, -1.0])
    out = rounding(lambda x: {"e": jnp.exp(x), "n": jnp.argmax(x)}, (x,))
    assert np.all(out["e"] > np.exp(x) / 2) and out["n"] == 0


def test_loops_and_solves_are_one_operation_each() -> None:
    # Nothing is differentiated: a while_loop and a linear solve (which reverse mode refuses,
    # or cannot differentiate again) are rounded at their results, and the sum(softmax) of a
    # solve, exactly 1, gets the size of its terms.
    p = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 5.0]])
    x = np.array([0.5, -1.0, 2.0])

    def looped(x):  # type: ignore[no-untyped-def]
        y = jax.lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 1.5), (0, jnp.exp(x)))[1]
        return jnp.sum(jax.nn.softmax(jnp.linalg.solve(p, y)))

    assert 0.5 < rounding(looped, (x,)) < 100.0
    assert rounding_terms(looped)((x,)) is not None


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
    n = min(n, 40) if fn is _net_grad else n  # (its output is n x n: one pullback per element)
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
