"""f's own custom rule is checked for everything it answers for (a red team's findings,
2026-12-06): every argument it differentiates, not only the first, and for a scalar f with a
cotangent other than 1. Both passed before: a bwd with the wrong sign for y, and a bwd that
ignores its cotangent g, had "ok" reports."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad

QUICK: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float32", "float64"], families=["normal"])
X = np.linspace(-1.5, 2.0, 6).astype(np.float32)
Y = np.linspace(0.5, 3.0, 6).astype(np.float32)


def _mul_vjp(wrong_y: bool) -> Any:
    @jax.custom_vjp
    def mul(x: Any, y: Any) -> Any:
        return x * y

    def fwd(x: Any, y: Any) -> Any:
        return mul(x, y), (x, y)

    def bwd(res: Any, g: Any) -> Any:
        x, y = res
        return g * y, (-g * x if wrong_y else g * x)

    mul.defvjp(fwd, bwd)
    return mul


def _mul_jvp(wrong_y: bool) -> Any:
    @jax.custom_jvp
    def mul(x: Any, y: Any) -> Any:
        return x * y

    @mul.defjvp
    def _(primals: Any, tangents: Any) -> Any:
        (x, y), (tx, ty) = primals, tangents
        return x * y, tx * y + (-1.0 if wrong_y else 1.0) * x * ty

    return mul


@pytest.mark.parametrize("make", [_mul_vjp, _mul_jvp], ids=["custom_vjp", "custom_jvp"])
def test_a_rule_is_checked_for_every_argument_it_differentiates(make: Any) -> None:
    assert handgrad.verify(make(False), X, Y, **QUICK).ok
    wrong = handgrad.verify(make(True), X, Y, **QUICK)
    assert not wrong.ok and wrong.worst is not None
    assert next(iter(wrong.worst.inputs_at_worst)).startswith("y["), wrong.worst.message()


def test_a_rules_nondiff_argument_is_passed_as_given_not_differentiated() -> None:
    scaled_nondiff = jax.custom_vjp(lambda x, s: jnp.sin(x) * s, nondiff_argnums=(1,))
    scaled_nondiff.defvjp(lambda x, s: (jnp.sin(x) * s, x), lambda s, x, g: (g * jnp.cos(x) * s,))
    report = handgrad.verify(scaled_nondiff, X, 2.5, **QUICK)
    assert report.ok, report
    assert {r.case.entry.args for r in report.results} <= {("x", "cotangent"), ("x",)}


def _sum_softplus(ignores_g: bool) -> Any:
    @jax.custom_vjp
    def sum_softplus(x: Any) -> Any:
        return jnp.sum(jnp.logaddexp(x, 0.0))

    def bwd(x: Any, g: Any) -> Any:
        return (jax.nn.sigmoid(x) if ignores_g else g * jax.nn.sigmoid(x),)

    sum_softplus.defvjp(lambda x: (sum_softplus(x), x), bwd)
    return sum_softplus


def test_a_scalar_rule_is_pulled_back_with_a_cotangent_other_than_one() -> None:
    assert handgrad.verify(_sum_softplus(False), X, **QUICK).ok
    report = handgrad.verify(_sum_softplus(True), X, **QUICK)
    assert not report.ok and report.worst is not None
    assert "ignores its cotangent" in report.worst.hint, report.worst.message()


def test_argnums_takes_numpy_integers_and_refuses_bools() -> None:
    f, grad = (lambda x: jnp.sum(jnp.sin(x))), (lambda x: jnp.cos(x))
    assert handgrad.verify(f, X, grad=grad, argnums=np.int64(0), **QUICK).ok
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints, got True"):
        handgrad.verify(f, X, grad=grad, argnums=True, **QUICK)


# ---- a wrapper of a rule is the rule only where it computes the same (red team, 2026-12-06) ----


@jax.custom_vjp
def _softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


_softplus.defvjp(lambda x: (_softplus(x), x), lambda x, g: (g * jax.nn.sigmoid(x),))


def _with_temperature(t: float) -> Any:
    import functools

    def decorate(fn: Any) -> Any:
        @functools.wraps(fn)  # keeps the name and __wrapped__: the rule's primal is not this function
        def tempered(x: Any) -> Any:
            return t * fn(x / t)

        return tempered

    return decorate


def test_a_decorator_that_changes_the_value_is_checked_as_itself_not_as_the_rule_it_wraps() -> None:
    x = np.random.default_rng(1).standard_normal((3, 4))
    soft = _with_temperature(0.5)(_softplus)
    # Its gradient needs the 1/t: a red team's gradient without it passed against softplus's autodiff.
    assert handgrad.verify(soft, x, grad=lambda x, g: g * jax.nn.sigmoid(x / 0.5), **QUICK).ok
    assert not handgrad.verify(soft, x, grad=lambda x, g: g * jax.nn.sigmoid(x), **QUICK).ok
    with pytest.raises(TypeError, match="computes something else"):
        handgrad.verify(soft, x, **QUICK)  # no rule of its own to check: the one it wraps is another function's
    # A wrapper that computes the same is the rule: jax.jit of it, checked without grad=.
    assert handgrad.verify(jax.jit(_softplus), x, **QUICK).ok


def test_vmap_and_grad_of_a_rule_take_their_own_arguments() -> None:
    @jax.custom_vjp
    def lse(v: Any) -> Any:
        return jax.nn.logsumexp(v)

    lse.defvjp(lambda v: (lse(v), v), lambda v, g: (g * jax.nn.softmax(v),))
    rows = np.random.default_rng(2).standard_normal((3, 4))
    # Refused before as "JAX cannot differentiate lse": the rule's primal takes one row.
    by_rows = handgrad.verify(jax.vmap(lse), rows, grad=lambda X, g: g[:, None] * jax.nn.softmax(X, -1), **QUICK)
    assert by_rows.ok, by_rows

    def softmax_vjp(v: Any, c: Any) -> Any:
        s = jax.nn.softmax(v)
        return s * (c - jnp.dot(s, c))

    assert handgrad.verify(jax.grad(lse), rows[0], grad=softmax_vjp, **QUICK).ok
    assert not handgrad.verify(jax.grad(lse), rows[0], grad=lambda v, c: jax.nn.softmax(v) * c, **QUICK).ok


def test_a_rule_not_linear_in_its_tangent_is_told_so_not_called_a_stub() -> None:
    @jax.custom_jvp
    def square(x: Any) -> Any:
        return x * x

    @square.defjvp
    def square_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return x * x, 2 * x * jnp.abs(t)  # |t|: JAX cannot transpose it for reverse mode

    report = handgrad.verify(square, np.linspace(-1.0, 1.0, 6), **QUICK)
    assert not report.ok and report.worst is not None
    assert "linear in the tangents" in report.worst.hint and "stub" not in report.worst.hint, report.worst.hint
