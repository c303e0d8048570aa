"""Elements where autodiff of f's primal is NaN (engine._undefined_as_returned, FoundKink.
judged_by_slopes). Until 2026-12-06 every such element agreed with whatever came back: a
report could say "ok" having compared nothing (sqrt(|x|) written with the double-where trap
is NaN under autodiff at every x != 0). Now an element is judged by f's one-sided derivatives
where both settle: a derivative f has, or a kink's range; where one is infinite (a cusp)
it is still counted as not compared."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from handgrad.cases import case_inputs

ZEROS = np.zeros(4, np.float32)
SPREAD = np.linspace(-2.0, 2.0, 8).astype(np.float32)


def _sqrt_abs(x: Any) -> Any:  # finite and smooth for x != 0; its autodiff is NaN at every x != 0
    return jnp.sum(jnp.where(x < 0, jnp.sqrt(-x), jnp.sqrt(x)))


def _sqrt_abs_grad(x: Any) -> Any:
    return jnp.sign(x) / (2 * jnp.sqrt(jnp.abs(x)))


def _norm(x: Any) -> Any:  # autodiff NaN at 0: a kink in every direction, any |g| <= 1 valid
    return jnp.linalg.norm(x)


def _norm_squared(x: Any) -> Any:  # autodiff NaN at 0 (0 * inf), yet the derivative there is 0
    return jnp.linalg.norm(x) ** 2


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_a_wrong_gradient_where_autodiff_is_nan_everywhere_fails(dtype: str) -> None:
    report = handgrad.verify(_sqrt_abs, SPREAD, grad=lambda x: 0 * x, dtypes=[dtype], families=["given", "normal"])
    assert not report.ok and report.worst is not None
    assert report.worst.comparison is not None and report.worst.comparison.problem == "value"


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_the_right_gradient_there_passes_and_only_cusps_stay_unchecked(dtype: str) -> None:
    report = handgrad.verify(_sqrt_abs, SPREAD, grad=_sqrt_abs_grad, dtypes=[dtype])
    assert report.ok, report
    for result in report.results:  # only at x = 0 (drawn, or rounded to it) is the slope infinite
        zeros = int(np.sum(np.asarray(case_inputs(result.case, result.seed).args[0]) == 0))
        assert result.unchecked == zeros, result.case.id


@pytest.mark.parametrize(
    ("f", "grad", "ok"),
    [
        (_norm, lambda x: 0 * x, True),
        (_norm, lambda x: 0 * x + 0.45, True),  # length 0.9
        (_norm, lambda x: 0 * x + 1, False),  # each element alone in [-1, 1], length 2
        (_norm_squared, lambda x: 2 * x, True),
        (_norm_squared, lambda x: 0 * x + 1, False),
    ],
    ids=["norm-zero", "norm-inside-the-ball", "norm-ones", "norm-squared-2x", "norm-squared-ones"],
)
def test_at_zero_a_norm_is_judged_by_its_one_sided_derivatives(f: Any, grad: Any, ok: bool) -> None:
    report = handgrad.verify(f, ZEROS, grad=grad, families=["given"], dtypes=["float32", "float64"])
    assert report.ok == ok, report
    assert report.unchecked == 0


def test_a_derivation_where_f_is_flat_to_second_order_is_judged_with_its_curvature() -> None:
    """sum(x) * norm(x)**2 at 0 is a cubic: both one-sided quotients are h**2 (~1e-18), the
    derivative 0. The quotients' range excluded 0 until it was widened by what f's curvature
    puts between a quotient and the derivative (a second red team's find)."""
    report = handgrad.verify(
        lambda x: jnp.sum(x) * jnp.linalg.norm(x) ** 2, np.zeros(3), grad=lambda x: jnp.sum(x * x) + 2 * x * jnp.sum(x),
        families=["given", "zeros"], devices=["cpu:0"],
    )  # fmt: skip
    assert report.ok, report
    assert report.unchecked == 0


def test_a_bfloat16_rule_as_accurate_as_autodiff_passes_where_the_truth_is_tiny() -> None:
    """1 - tanh(x)**2 in bfloat16 is jax.grad's own answer bit for bit, and was failed in the
    overflow family (truth ~1e-10, the floor scaled to it): the allowance for autodiff's own
    rounding never applied in bfloat16, which NumPy does not count as a floating dtype."""
    x = np.linspace(-3.0, 3.0, 8).astype(jnp.bfloat16)

    def f(x: Any) -> Any:  # (named f, as found: the draws follow the function's name)
        return jnp.sum(jnp.tanh(x))

    def g(x: Any) -> Any:
        return 1 - jnp.tanh(x) ** 2

    report = handgrad.verify(f, x, grad=g, dtypes=["bfloat16"], devices=["cpu:0"], transforms=["eager"])
    assert report.ok, report


def _log_of_negative(x: Any) -> Any:  # NaN wherever it is asked: an empty domain
    return jnp.sum(jnp.log(-jnp.abs(x) - 1.0))


@pytest.mark.parametrize(
    ("f", "x", "families"),
    [
        (_log_of_negative, SPREAD, None),  # every family, every draw: f is NaN
        (_sqrt_abs, ZEROS, ["given"]),  # a cusp at every element asked: both slopes infinite
    ],
    ids=["f-nan-everywhere", "a-cusp-at-every-element"],
)
def test_a_report_that_compared_nothing_is_not_ok(f: Any, x: Any, families: Any) -> None:
    """Until 2026-12-06 a report whose every element was left uncompared said "48/48 cases
    agree" and ok=True, for a gradient returning 123 everywhere: no check is no agreement."""
    nonsense = lambda x: jnp.full_like(x, 123.0)  # noqa: E731
    report = handgrad.verify(f, x, grad=nonsense, families=families, devices=["cpu:0"])
    assert report.unchecked > 0 and not report.failures
    assert not report.ok, report
    text = str(report)
    assert "NOT CHECKED: no element of any of the" in text and "cases agree" not in text
    assert "not compared" in text.splitlines()[2]  # the table's first row says so, not "ok"
    with pytest.raises(AssertionError, match="NOT CHECKED"):
        handgrad.assert_gradient(f, x, grad=nonsense, families=families, devices=["cpu:0"])


def test_a_report_with_some_elements_compared_keeps_its_verdict() -> None:
    """The other side: SPREAD holds no zero, so the cusp rule leaves the right gradient's
    report ok, and where only the given family sits on the cusp the drawn families still count."""
    report = handgrad.verify(_sqrt_abs, ZEROS, grad=_sqrt_abs_grad, families=["given", "normal"], devices=["cpu:0"])
    assert report.ok and report.unchecked > 0, report
    assert any(r.nothing_compared for r in report.results) and not report.nothing_compared
