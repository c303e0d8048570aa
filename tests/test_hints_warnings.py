"""Working out a hint never warns: an infinite truth or result (the gradient of x log x at 0
is -inf) is data here, not a reason for NumPy to print a RuntimeWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.test_hints_arrays import _case, _hint

INFINITE = {
    # d/dx x log x at 0 is -inf, missing its +1 elsewhere
    "-inf-truth": (np.array([[-np.inf, 1 + np.log(0.5), 1.0, 1 + np.log(2.0), 1 + np.log(3.0)]] * 3).T, -1.0),
    # an overflowed truth in a matrix whose result overflows elsewhere
    "inf-both": (np.array([[np.inf, 2.0, -3.0], [4.0, np.inf, 1.5], [0.5, -1.0, 7.0], [2.5, 3.5, 1.0]]), 0.5),
}


@pytest.mark.parametrize("kind", INFINITE)
def test_an_infinite_value_makes_no_warning(kind: str) -> None:
    want, shift = INFINITE[kind]
    got = want + shift
    if kind == "inf-both":
        got[3, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _hint(_case("cross_entropy_grad", "onehot-7x5"), want, got)
