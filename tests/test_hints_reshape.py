"""A result near a truth that is its own reshaped transpose (one that hardly varies: a
float32 pi times cos of tiny inputs) is slightly off, never 'reshape where a transpose was
meant'."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_hints_arrays import _case, _hint


def _near_constant(kind: str) -> np.ndarray:
    x = np.random.default_rng(11).uniform(-1e-4, 1e-4, size=(4, 6))
    if kind == "pi-cos-tiny":
        return np.pi * np.cos(x)  # d/dx sum(pi sin x) at tiny x: pi everywhere
    return np.full((4, 6), -0.25)  # a constant gradient (a mean's 1/n)


@pytest.mark.parametrize("kind", ["pi-cos-tiny", "constant"])
def test_a_near_constant_truth_is_never_called_a_reshaped_transpose(kind: str) -> None:
    want = _near_constant(kind)
    got = np.float32(np.pi) / np.pi * want  # a float32 constant in a float64 formula
    hint = _hint(_case("cross_entropy_grad", "onehot-7x5"), want, got)
    assert "reshape" not in hint and "transpose" not in hint, hint


def test_a_reshaped_transpose_is_still_told() -> None:
    want = np.random.default_rng(12).normal(size=(4, 6))
    got = want.T.reshape(want.shape)
    assert "reshape" in _hint(_case("cross_entropy_grad", "onehot-7x5"), want, got)
