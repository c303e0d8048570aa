"""The sensitivity S of reference/conditioning.py: known values, pytrees, kinks, non-finite points."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reference.conditioning import sensitivity


def test_product_and_sum_have_their_textbook_condition() -> None:
    x, y = np.array([3.0, -2.0]), np.array([0.5, 4.0])
    # d(xy)/dx * x + d(xy)/dy * y = 2|xy| per element.
    assert np.allclose(sensitivity(lambda a, b: a * b, (x, y)), 2 * np.abs(x * y))
    # A sum that cancels: 1 from terms of 1e8 is as sensitive as the terms are large.
    v = np.array([1e8, -1e8 + 1.0])
    assert np.allclose(sensitivity(jnp.sum, (v,)), 2e8)


def test_exp_is_sensitive_in_proportion_to_its_argument() -> None:
    x = np.array([1e-3, 1.0, 30.0])
    assert np.allclose(sensitivity(jnp.exp, (x,)), np.exp(x) * x)


def test_argnums_holds_the_other_arguments_fixed() -> None:
    x, y = np.array([3.0]), np.array([5.0])
    assert np.allclose(sensitivity(lambda a, b: a * b, (x, y), argnums=(0,)), 15.0)
    with pytest.raises(ValueError, match="argnums"):
        sensitivity(lambda a, b: a * b, (x, y), argnums=(2,))


def test_pytrees_in_and_out() -> None:
    params = {"w": np.array([2.0, -1.0]), "b": np.array(0.5)}
    x = np.array([1.0, 3.0])

    def f(p, x):  # type: ignore[no-untyped-def]
        return {"out": jnp.sum(p["w"] * x) + p["b"], "sq": p["w"] ** 2}

    s = sensitivity(f, (params, x))
    assert set(s) == {"out", "sq"} and s["sq"].shape == (2,)
    assert np.allclose(s["out"], 2 * (2 * 1 + 1 * 3) + 0.5)
    assert np.allclose(s["sq"], 2 * np.array([4.0, 1.0]))
    assert all(v.dtype == np.float64 for v in s.values())


def test_low_precision_inputs_are_promoted_to_float64() -> None:
    x = np.array([1.5, -30.0], np.float16)
    s = sensitivity(jnp.exp, (x,))
    assert s.dtype == np.float64 and np.allclose(s, np.exp(x.astype(np.float64)) * np.abs(x.astype(np.float64)))


def test_gradients_get_their_hessian_rows() -> None:
    # For a gradient function the sensitivity is |H| |x| row by row.
    def grad_of_quartic(x):  # type: ignore[no-untyped-def]
        return jax.grad(lambda v: jnp.sum(v**4) / 4)(x)

    x = np.array([2.0, -1.0])
    assert np.allclose(sensitivity(grad_of_quartic, (x,)), 3 * np.abs(x) ** 3)


def test_kinks_and_non_finite_derivatives_give_finite_zero_allowance() -> None:
    # relu at 0 and sqrt at 0: the input is 0, so a relative perturbation leaves it 0.
    assert sensitivity(jax.nn.relu, (np.array([0.0, 2.0]),)).tolist() == [0.0, 2.0]
    assert sensitivity(jnp.sqrt, (np.array([0.0, 4.0]),)).tolist() == [0.0, 1.0]
    # A NaN truth (0/0) gets no allowance either: the comparison checks NaN positions exactly.
    s = sensitivity(lambda a: a / jnp.linalg.norm(a), (np.zeros(3),))
    assert np.all(s == 0)


def _verdict(fn, exact, x32: np.ndarray, conditioning: bool = True) -> bool:  # type: ignore[no-untyped-def]
    """Does fn in float32 pass against exact (in float64), with or without the S allowance?"""
    from reference.compare import compare
    from reference.tolerances import TOLERANCES

    truth = np.asarray(exact(jnp.asarray(x32, jnp.float64)))
    got = np.asarray(fn(jnp.asarray(x32)))
    s = (lambda: sensitivity(exact, (x32,))) if conditioning else None
    return compare(truth, got, dtype="float32", tolerance=TOLERANCES["float32"], sensitivity=s).ok


def test_backward_stable_forms_pass_and_cancellation_beyond_the_inputs_fails() -> None:
    # exp(x - logsumexp(x)) at logits near -1e4 rounds the logsumexp by ~1e-3: the inputs'
    # own rounding, which S allows and the fixed tolerance alone does not.
    x = np.array([-1e4, -9999.0, -9998.0, -1e4, -1e4], np.float32)
    via_lse = lambda v: jnp.exp(v - jax.nn.logsumexp(v))  # noqa: E731
    assert _verdict(via_lse, jax.nn.softmax, x)
    assert not _verdict(via_lse, jax.nn.softmax, x, conditioning=False)
    # exp(x) - 1 for small x cancels far beyond what the rounding of x explains: it fails,
    # while expm1 passes.
    small = np.array([1e-5, -3e-6, 2e-7], np.float32)
    exact = lambda v: 1e6 * jnp.expm1(v)  # noqa: E731
    assert not _verdict(lambda v: 1e6 * (jnp.exp(v) - 1), exact, small)
    assert _verdict(exact, exact, small)
    # The naive softmax overflows: NaN where the truth is finite.
    assert not _verdict(lambda v: jnp.exp(v) / jnp.sum(jnp.exp(v)), jax.nn.softmax, -x)


def test_rows_by_reverse_mode_equal_the_whole_jacobians_rows() -> None:
    """sensitivity_rows_fn (S at chosen output elements, one pullback each: what a check uses
    where the whole Jacobian is too large) gives S's own values there, for a pytree output
    too, and 0 for padding rows past the output's size."""
    from jax.flatten_util import ravel_pytree

    from reference.conditioning import sensitivity_rows_fn

    rng = np.random.default_rng(3)
    w, x = rng.standard_normal((5, 4)), rng.standard_normal((3, 5))

    def f(w, x):  # type: ignore[no-untyped-def]
        h = jnp.tanh(x @ w)
        return {"h": h, "norm": jnp.sum(h * h, axis=0)}

    whole = ravel_pytree(sensitivity(f, (w, x)))[0]
    rows = np.array([0, 3, 7, 11, 12, 15, 99])  # 16 outputs: 99 is padding
    got = np.asarray(jax.jit(sensitivity_rows_fn(f))(rows, w, x))
    assert np.allclose(got[:-1], np.asarray(whole)[rows[:-1]], rtol=1e-12) and got[-1] == 0.0
    assert np.all(got[:-1] > 0)


def test_a_check_too_large_for_the_whole_jacobian_keeps_every_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the dense limit at 0 every check takes S at its failing elements alone: the same
    verdicts as the whole Jacobian's, for a right float32 gradient of a matrix product (which
    needs S) and a wrong one."""
    import handgrad
    from handgrad import cases

    rng = np.random.default_rng(0)
    w = (rng.standard_normal((6, 6)) / 3).astype(np.float32)
    x = (rng.standard_normal((6, 6)) * 1e3).astype(np.float32)

    def f(w, x):  # type: ignore[no-untyped-def]
        return jnp.sum(jnp.tanh(x @ w) * x[:, :1])

    def right(w, x):  # type: ignore[no-untyped-def]
        return x.T @ ((1 - jnp.tanh(x @ w) ** 2) * x[:, :1])

    def wrong(w, x):  # type: ignore[no-untyped-def]
        return x.T @ ((1 - jnp.tanh(x @ w)) * x[:, :1])

    kw = dict(dtypes=["float32"], devices=["cpu:0"], transforms=["jit"], families=["given", "normal", "wide"])
    dense = [handgrad.verify(f, w, x, grad=g, **kw) for g in (right, wrong)]
    monkeypatch.setattr(cases, "DENSE_JACOBIAN", 0)
    asked = []
    at = cases._sensitivity_at
    monkeypatch.setattr(cases, "_sensitivity_at", lambda *a: asked.append(1) or at(*a))
    by_rows = [handgrad.verify(f, w, x, grad=g, **kw) for g in (right, wrong)]
    assert asked, "no check needed S: the test does not reach the rows"
    assert [r.ok for r in dense] == [r.ok for r in by_rows] == [True, False]
    assert [[c.ok for c in r.results] for r in dense] == [[c.ok for c in r.results] for r in by_rows]
