"""A hint that blames one condition (a batch, extreme inputs) must not be given when the
function fails the same way without it: the feedback then names one cause, not two."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from handgrad.hints import ALSO_AT_EXTREMES, hint_for, related
from handgrad.report import Report
from handgrad.results import CaseResult
from reference.compare import Comparison, Worst
from tests.test_hints_arrays import _case, _failed

PASSED = Comparison(True, "", "")


def _raised(function: str, family: str, transform: str, error: str) -> CaseResult:
    result = CaseResult(_case(function, family, transform=transform), error_kind="exception", error=error)
    return dataclasses.replace(result, hint=hint_for(result, None, None))


def _causes(results: list[CaseResult]) -> set[tuple[str, str]]:
    return {(r.problem, r.hint) for r in results if not r.ok}


RAISES = [
    ("tanh", "normal-7", "ValueError: always raises"),
    ("softmax_vjp", "normal-7x5", "RecursionError: maximum recursion depth exceeded"),
    ("two_layer_grads", "seed", "TypeError: dot_general requires contracting dimensions to have the same shape"),
]


@pytest.mark.parametrize(("function", "family", "error"), RAISES, ids=[r[0] for r in RAISES])
def test_a_vmap_call_raising_as_the_eager_call_does_is_one_cause(function: str, family: str, error: str) -> None:
    eager = _raised(function, family, "eager", error)
    batch = _raised(function, family, "vmap", error)
    assert "batch" not in eager.hint
    assert len(_causes(related([eager, batch]))) == 1
    assert not any("batch" in r.hint for r in related([eager, batch]))


def test_a_vmap_call_raising_alone_still_blames_the_batch() -> None:
    eager = CaseResult(_case("tanh", "normal-7"), PASSED)
    batch = _raised("tanh", "normal-7", "vmap", "ValueError: shapes do not match")
    assert "batch" in related([eager, batch])[1].hint


def _nan(function: str, family: str, x: float) -> CaseResult:
    worst = Worst("", (), 0.2, float("nan"), float("nan"), float("nan"), 1e-6)
    result = CaseResult(
        _case(function, family, dtype="float32"),
        Comparison(False, "nonfinite", "expected 0.2, got nan", worst),
        inputs_at_worst={"x": np.float32(x)},
    )
    return dataclasses.replace(result, hint=hint_for(result, 0.2, np.nan))


@pytest.mark.parametrize("function", ["sigmoid_grad", "tanh_grad"])
def test_nan_at_an_ordinary_input_of_an_extreme_family_is_not_blamed_on_extreme_inputs(function: str) -> None:
    assert "extreme" not in _nan(function, "wide", 0.499).hint


@pytest.mark.parametrize("function", ["sigmoid_grad", "tanh_grad"])
def test_nan_in_an_extreme_family_when_ordinary_inputs_give_nan_too(function: str) -> None:
    ordinary = _nan(function, "normal-scalar", -1.575)
    # At an ordinary input of the extreme family (x = 0.9): the same mistake, one cause.
    assert len(_causes(related([ordinary, _nan(function, "wide", 0.9)]))) == 1
    # At x = 600 it may be a second mistake (an overflow, as e / (1 + e)^2 gives inf/inf): a
    # cause of its own, neither blamed on the inputs alone nor hidden behind the first.
    extreme = _nan(function, "wide", 600.0)
    assert "NaN/inf only at extreme inputs" in extreme.hint  # on its own, blamed on the inputs
    results = related([ordinary, extreme])
    assert len(_causes(results)) == 2 and results[1].hint == ALSO_AT_EXTREMES
    kept = related([CaseResult(ordinary.case, PASSED), extreme])[1]
    assert "only at extreme inputs" in kept.hint  # finite at ordinary inputs: the extreme ones are to blame


def _wrong(function: str, family: str, seed: int) -> CaseResult:
    rng = np.random.default_rng(seed)
    want = rng.normal(size=(3, 4))
    got = want + rng.normal(size=(3, 4))  # no pattern: a term is wrong
    result = _failed(_case(function, family, dtype="float32"), want, got)
    return dataclasses.replace(result, hint=hint_for(result, want, got))


@pytest.mark.parametrize(
    ("function", "ordinary", "extreme"),
    [("cross_entropy_grad", "onehot-7x5", "wide"), ("softmax_vjp", "normal-7x5", "wide")],
)
def test_a_derivation_error_is_not_also_blamed_on_stability(function: str, ordinary: str, extreme: str) -> None:
    results = [_wrong(function, ordinary, 1), _wrong(function, extreme, 2)]
    assert "inaccurate at extreme inputs" in results[1].hint  # on its own, it would be blamed on the inputs
    folded = related(results)[1].hint
    assert folded == ALSO_AT_EXTREMES and "same mistake" in folded  # (its inputs are not known here)
    report = Report(function, results)
    assert not any("inaccurate at extreme inputs" in r.hint for r in report.results), str(report)
