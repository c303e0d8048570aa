"""Where an input is, in the checked dtype, a singular point of f (a rank-deficient matrix for
inv, solve, slogdet), the float64 truth is finite only by rounding and no answer in float32 holds
a digit of it: a NaN there is not judged (counted unchecked). A red team's jax.vjp of inv, solve
and slogdet failed verify's default low-rank family, told "a division by zero". A NaN where the
truth is well determined still fails."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from reference.compare import compare
from reference.tolerances import TOLERANCES

RNG = np.random.default_rng(8)
A = (RNG.standard_normal((4, 4)) + 4 * np.eye(4)).astype(np.float32)
B = RNG.standard_normal(4).astype(np.float32)
KW: dict[str, Any] = dict(devices=["cpu:0"])


def _inv(a: Any) -> Any:
    return jnp.linalg.inv(a)


def _logdet(a: Any) -> Any:
    return jnp.linalg.slogdet(a)[1]


def _solve(a: Any, b: Any) -> Any:
    return jnp.linalg.solve(a, b)


def test_autodiff_of_matrix_functions_passes_at_rank_deficient_draws() -> None:
    inv = handgrad.verify(_inv, A, grad=lambda a, g: jax.vjp(_inv, a)[1](g)[0], **KW)
    assert inv.ok, inv
    assert sum(r.unchecked for r in inv.results if r.case.family.name == "low-rank") > 0
    assert handgrad.verify(_logdet, A, grad=jax.grad(_logdet), **KW).ok
    solve = handgrad.verify(_solve, A, B, grad=lambda a, b, g: jax.vjp(_solve, a, b)[1](g), argnums=(0, 1), **KW)
    assert solve.ok, solve


def test_a_wrong_matrix_rule_still_fails() -> None:
    def no_transpose(a: Any, g: Any) -> Any:  # -A^-1 G A^-1, not -A^-T G A^-T
        ai = jnp.linalg.inv(a)
        return -ai @ g @ ai

    assert not handgrad.verify(_inv, A, grad=no_transpose, **KW).ok
    assert not handgrad.verify(_logdet, A, grad=lambda a: jnp.linalg.inv(a), **KW).ok  # A^-1, not A^-T


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_a_nan_where_the_truth_is_well_determined_still_fails(dtype: str) -> None:
    import ml_dtypes

    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    a, y = np.array([1.3, 0.5, -1.2, 2.0]), np.array([1.3, -0.7, 0.4, 2.0])
    want = 2 * (a - y)  # l2's gradient, 0 at the ties; S of the order of the inputs
    got = want.astype(np_dtype)
    got[0] = np.nan
    kw: dict[str, Any] = dict(dtype=dtype, tolerance=TOLERANCES[dtype], singular=True)
    found = compare(want, got, sensitivity=2 * np.abs(a) + 2 * np.abs(y), **kw)
    assert not found.ok and found.problem == "nonfinite"  # (a reviewer's: float16 once let it pass)
    lost = np.array([3e4, 1.0, -2.0, 0.5])  # (within float16's range)
    answer = lost.astype(np_dtype)
    answer[0] = np.nan
    sensitivity = np.array([1e32, 1.0, 1.0, 1.0])
    undetermined = compare(lost, answer, sensitivity=sensitivity, **kw)
    assert undetermined.ok and undetermined.undetermined == 1
    assert not compare(lost, answer, sensitivity=sensitivity, **{**kw, "singular": False}).ok


def test_a_nan_beside_a_wrong_shape_is_told_as_the_wrong_shape() -> None:
    """A reviewer's: a NaN in one leaf of a dict and a wrong shape in a later one raised from
    inside compare instead of a verdict."""
    want = {"a": np.array([1e14, 1.0]), "b": np.array([1.0, 2.0])}
    got = {"a": np.array([np.nan, 1.0], np.float32), "b": np.array([1.0, 2.0, 3.0], np.float32)}
    s = {"a": np.array([1e32, 1.0]), "b": np.ones(2)}
    found = compare(want, got, dtype="float32", tolerance=TOLERANCES["float32"], sensitivity=s, singular=True)
    assert not found.ok and found.problem == "nonfinite"  # (the first leaf's problem, as without S)
