"""verify's `shifted` family: every argument near 300 or 1000 with a spread of order 1. A red
team's layer-norm VJP with its variance as mean(x^2) - mean(x)^2 passed every other default
family (all centred on 0) and failed only where the user thought to pass such rows. Forms that
expand a square or a product of centred values must fail by default; their two-pass forms pass."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad

RNG = np.random.default_rng(15)
X = RNG.standard_normal((4, 8)).astype(np.float32)
KW: dict[str, Any] = dict(dtypes=["float32", "float64"], devices=["cpu:0"], transforms=["jit"])


def _layer_norm(x: Any) -> Any:
    xc = x - jnp.mean(x, -1, keepdims=True)
    return xc / jnp.sqrt(jnp.mean(xc * xc, -1, keepdims=True) + 1e-5)


def _layer_norm_vjp(expanded: bool) -> Any:
    def vjp(x: Any, g: Any) -> Any:
        mu = jnp.mean(x, -1, keepdims=True)
        xc = x - mu
        var = jnp.mean(x * x, -1, keepdims=True) - mu * mu if expanded else jnp.mean(xc * xc, -1, keepdims=True)
        r = 1 / jnp.sqrt(var + 1e-5)
        xh = xc * r
        return r * (g - jnp.mean(g, -1, keepdims=True) - xh * jnp.mean(g * xh, -1, keepdims=True))

    return vjp


def _correlation(x: Any, y: Any) -> Any:
    xc, yc = x - jnp.mean(x), y - jnp.mean(y)
    return jnp.sum(xc * yc) / jnp.sqrt(jnp.sum(xc * xc) * jnp.sum(yc * yc))


def _correlation_grad(expanded: bool) -> Any:
    def grad(x: Any, y: Any) -> Any:  # d r / d x = (yc - r sy/sx xc) / (sx sy), sums over n
        n = x.size
        if expanded:  # sums of products, less n times the means' product
            sxy = jnp.sum(x * y) - n * jnp.mean(x) * jnp.mean(y)
            sxx = jnp.sum(x * x) - n * jnp.mean(x) ** 2
            syy = jnp.sum(y * y) - n * jnp.mean(y) ** 2
        else:
            xc0, yc0 = x - jnp.mean(x), y - jnp.mean(y)
            sxy, sxx, syy = jnp.sum(xc0 * yc0), jnp.sum(xc0 * xc0), jnp.sum(yc0 * yc0)
        xc, yc = x - jnp.mean(x), y - jnp.mean(y)
        return (yc - sxy / sxx * xc) / jnp.sqrt(sxx * syy)

    return grad


@pytest.mark.parametrize("expanded", [False, True], ids=["two-pass", "expanded"])
def test_a_layer_norm_vjp_that_expands_its_variance_fails_on_shifted_inputs(expanded: bool) -> None:
    report = handgrad.verify(_layer_norm, X, grad=_layer_norm_vjp(expanded), **KW)
    assert report.ok != expanded, report
    if expanded:
        failed = [r for r in report.results if not r.ok]
        assert {r.case.family.name for r in failed} == {"shifted"}, report
        assert any("an expanded square cancels" in r.hint for r in failed), report


@pytest.mark.parametrize("expanded", [False, True], ids=["two-pass", "expanded"])
def test_a_correlation_gradient_from_raw_sums_fails_on_shifted_inputs(expanded: bool) -> None:
    x, y = RNG.standard_normal(12), RNG.standard_normal(12)
    report = handgrad.verify(_correlation, x, y, grad=_correlation_grad(expanded), argnums=0, **KW)
    assert report.ok != expanded, report


def test_a_nan_on_shifted_inputs_is_told_in_their_words() -> None:
    """A reviewer's: a NaN on shifted inputs was told only as an exp overflow, where it may as
    well be the sqrt or log of a variance that cancelled to 0 or below: the words name both."""

    def naive(x: Any) -> Any:  # softmax without the shift: e^1000 / e^1000
        e = jnp.exp(x)
        return e / jnp.sum(e)

    report = handgrad.verify(jax.nn.logsumexp, RNG.standard_normal(6), grad=naive, families=["shifted"], **KW)
    nonfinite = [r for r in report.results if not r.ok and r.problem == "nonfinite"]
    assert nonfinite and all("inputs sit far from 0" in r.hint and "cancelled" in r.hint for r in nonfinite), report
