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
