"""A symmetric truth (a softmax Jacobian) is its own transpose: a result near it is
slightly off, never "transposed"."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_hints_arrays import _case, _hint


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _symmetric(kind: str) -> np.ndarray:
    x = np.random.default_rng(5).normal(size=5)
    if kind == "softmax-jacobian":
        s = _softmax(x)
        return np.diag(s) - np.outer(s, s)
    if kind == "diagonal":
        return np.diag(x)
    s = _softmax(np.random.default_rng(6).normal(size=(7, 5)))  # a batch of softmax Jacobians
    return s[..., :, None] * (np.eye(5) - s[..., None, :])


@pytest.mark.parametrize("kind", ["softmax-jacobian", "diagonal", "batched"])
def test_a_symmetric_truth_is_never_called_transposed(kind: str) -> None:
    want = _symmetric(kind)
    got = want * (1 + 3e-7)  # a float32 intermediate: slightly off, not transposed
    family = "normal-7x5" if kind == "batched" else "normal-5"
    hint = _hint(_case("softmax_jacobian", family), want, got)
    assert "transpose" not in hint, hint


def test_a_transposed_result_is_still_called_transposed() -> None:
    want = np.random.default_rng(7).normal(size=(5, 5))
    assert "transposed" in _hint(_case("softmax_jacobian", "normal-5"), want, want.T.copy())
