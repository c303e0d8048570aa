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
