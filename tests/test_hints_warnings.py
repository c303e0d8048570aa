"""Working out a hint never warns: an infinite truth or result (the gradient of x log x at 0
is -inf) is data here, not a reason for NumPy to print a RuntimeWarning."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import handwritten
from handgrad.cases import build_cases
from handgrad.engine import run_case
from reference.catalog import CATALOG
from tests.in_process import InProcess
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


EXTREME_RESULTS = {
    "largest": lambda v: jnp.full_like(v, jnp.finfo(v.dtype).max),
    "-largest": lambda v: jnp.full_like(v, -jnp.finfo(v.dtype).max),
    "inf": lambda v: jnp.full_like(v, jnp.inf),
    "nan": lambda v: jnp.full_like(v, jnp.nan),
}


@pytest.mark.parametrize("result", EXTREME_RESULTS)
def test_judging_any_result_makes_no_warning(result: str) -> None:
    """A red team's hinge_grad returning float32's largest number made the grader print
    NumPy's "overflow encountered in reduce" from the hinge's kink rule: the student's values
    wrote into the grader's own output. Judging (kink rules, comparison, hint) never warns,
    whatever came back, for every function of the contract that returns its first argument's
    shape."""
    form = EXTREME_RESULTS[result]
    entries = [e for e in CATALOG if e.layout != "network"]
    namespace = {**vars(handwritten), **{e.name: (lambda v, *rest, **kw: form(jnp.asarray(v))) for e in entries}}
    cases = build_cases(entries, dtypes=["float64", "float32", "float16"], transforms=["eager"], devices=["cpu:0"])
    evaluator = InProcess(namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        failed = [run_case(evaluator, case, seed=1) for case in cases]
    assert not [str(w.message) for w in caught]
    assert all(not r.ok for r in failed if r.case.entry.name not in ("relu", "l1", "hinge"))
