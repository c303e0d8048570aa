"""Hints asked directly of hand-built arrays (no formula is run): `_case` and `_hint` build
the failing case, and the tests here hold an error of the output's size where 0 was
expected apart from a result that is merely close."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from handgrad.cases import Case, build_cases
from handgrad.hints import hint_for
from handgrad.results import CaseResult
from reference.catalog import BY_NAME
from reference.compare import Comparison, Worst

jax.config.update("jax_enable_x64", True)


def _case(function: str, family: str, dtype: str = "float64", transform: str = "eager") -> Case:
    cases = build_cases([BY_NAME[function]], dtypes=[dtype], transforms=[transform], devices=["cpu:0"])
    return next(c for c in cases if c.family.name == family)


def _failed(case: Case, want: np.ndarray, got: np.ndarray, **inputs: object) -> CaseResult:
    """A value failure at the element furthest from the truth."""
    both = np.isfinite(want) & np.isfinite(got)
    err = np.abs(np.where(both, got, 0.0) - np.where(both, want, 0.0))
    index = np.unravel_index(int(np.argmax(err)), want.shape) if want.ndim else ()
    e, g = float(want[index]), float(got[index])
    worst = Worst("", tuple(int(i) for i in index), e, g, abs(g - e), abs(g - e) / max(abs(e), 1e-30), 1e-9)
    comparison = Comparison(False, "value", f"expected {e}, got {g}", worst)
    return CaseResult(case, comparison, inputs_at_worst=dict(inputs))


def _hint(case: Case, want: np.ndarray, got: np.ndarray, **inputs: object) -> str:
    return hint_for(_failed(case, want, got, **inputs), want, got)


def _hinge(a: np.ndarray, y: np.ndarray, margin: np.ndarray) -> np.ndarray:
    return np.where(margin < 1, -y, 0.0)


ZERO_EXPECTED = [
    # hinge_grad with the margin taken at argmax(y) instead of <y, a>: right wherever the
    # gradient is not 0, -y where it is 0.
    ("hinge_grad", "pm1", "argmax-margin"),
    # relu_grad with x > -0.5: 1 where 0 belongs, right where the value is 1.
    ("relu_grad", "normal-7", "shifted-threshold"),
]


@pytest.mark.parametrize(("function", "family", "form"), ZERO_EXPECTED)
def test_an_error_of_the_outputs_size_where_0_was_expected_is_not_close(function: str, family: str, form: str) -> None:
    rng = np.random.default_rng(3)
    if form == "argmax-margin":
        y = rng.choice([-1.0, 1.0], size=(6, 5))
        a = rng.normal(size=(6, 5))
        want = _hinge(a, y, (y * a).sum(-1, keepdims=True))
        got = want.copy()
        zero_rows = ~want.any(axis=-1)
        got[zero_rows] = -y[zero_rows]
        assert zero_rows.any() and (~zero_rows).any()
    else:
        x = np.linspace(-2.0, 2.0, 7)
        want, got = (x > 0).astype(float), (x > -0.5).astype(float)
    hint = _hint(_case(function, family), want, got)
    assert "close" not in hint and "precision" not in hint, hint
    assert "should be 0" in hint, hint
