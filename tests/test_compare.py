"""The comparison itself, in pairs: a case that must pass beside one that must fail."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from reference.compare import compare
from reference.kinks import HINGE, L1, RELU
from reference.tolerances import TOLERANCES

F32 = TOLERANCES["float32"]


def cmp(expected, got, dtype="float32", **kw):  # type: ignore[no-untyped-def]
    return compare(expected, got, dtype=dtype, tolerance=TOLERANCES[dtype], **kw)


@pytest.mark.parametrize("dtype", list(TOLERANCES))
def test_tolerance_is_per_dtype_and_per_element(dtype: str) -> None:
    tol = TOLERANCES[dtype]
    np_dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    exp = np.full(1000, 0.75)
    inside = exp * (1 + 0.5 * tol.rtol)
    outside = exp.copy()
    outside[123] = 0.75 + 3 * tol.allowed(np.array(0.75))
    assert cmp(exp, inside.astype(np_dtype), dtype).ok
    bad = cmp(exp, outside.astype(np_dtype), dtype)
    assert not bad.ok and bad.problem == "value"
    assert bad.worst is not None and bad.worst.index == (123,)


def test_tolerance_does_not_grow_with_size() -> None:
    # One wrong element among a million is still wrong.
    exp = np.ones(1_000_000)
    got = exp.astype(np.float32)
    got[-1] = 1.001
    assert not cmp(exp, got).ok


def test_worst_element_named_with_index_expected_got_and_errors() -> None:
    exp = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = np.array([[1.0, 2.0], [3.0, 4.5]], np.float32)
    res = cmp(exp, got)
    assert not res.ok
    w = res.worst
    assert w is not None
    assert (w.index, w.expected, w.got) == ((1, 1), 4.0, 4.5)
    assert w.abs_err == pytest.approx(0.5) and w.rel_err == pytest.approx(0.125)
    assert "[1, 1]" in res.detail and "expected 4" in res.detail and "got 4.5" in res.detail


def test_shape_must_match_exactly_no_broadcasting() -> None:
    assert cmp(np.zeros((3,)), np.zeros((3,), np.float32)).ok
    res = cmp(np.zeros((3,)), np.zeros((3, 1), np.float32))
    assert (res.ok, res.problem) == (False, "shape")
    assert not cmp(np.zeros(()), np.zeros((1,), np.float32)).ok


def test_dtype_must_match_exactly() -> None:
    assert cmp(np.ones(3), np.ones(3, np.float64), "float64").ok
    res = cmp(np.ones(3), np.ones(3, np.float32), "float64")
    assert (res.ok, res.problem) == (False, "dtype")
    assert "float64" in res.detail and "float32" in res.detail
    assert cmp(np.ones(3), np.ones(3, np.int32), "float32").problem == "dtype"


def test_non_array_return_is_a_structure_problem() -> None:
    res = cmp(np.ones(3), [1.0, 1.0, 1.0])
    assert (res.ok, res.problem) == (False, "structure")


@pytest.mark.parametrize(
    ("expected", "got", "ok"),
    [
        ([np.nan, 1.0], [np.nan, 1.0], True),
        ([np.inf, -np.inf], [np.inf, -np.inf], True),
        ([0.0, 1.0], [np.nan, 1.0], False),
        ([np.nan, 1.0], [0.0, 1.0], False),
        ([1e30, 1.0], [np.inf, 1.0], False),
        ([np.inf, 1.0], [-np.inf, 1.0], False),
    ],
    ids=["nan-both", "inf-both", "nan-got", "nan-expected", "inf-got", "inf-sign"],
)
def test_nan_and_inf_patterns_must_match(expected, got, ok) -> None:  # type: ignore[no-untyped-def]
    res = cmp(np.array(expected), np.array(got, np.float32))
    assert res.ok is ok
    if not ok:
        assert res.problem == "nonfinite"


def test_dicts_compare_leaf_by_leaf_and_name_the_leaf() -> None:
    exp = {"W1": np.ones((2, 3)), "b1": np.zeros(3)}
    good = {"W1": np.ones((2, 3), np.float32), "b1": np.zeros(3, np.float32)}
    assert cmp(exp, good).ok
    bad = {"W1": np.ones((2, 3), np.float32), "b1": np.array([0, 0.5, 0], np.float32)}
    res = cmp(exp, bad)
    assert not res.ok and res.worst is not None and res.worst.leaf == "b1"
    assert res.detail.startswith("b1[1]")
    assert cmp(exp, {"W1": good["W1"]}).problem == "structure"
    assert cmp(exp, good["W1"]).problem == "structure"


def test_sensitivity_allows_rounding_of_ill_conditioned_elements_only() -> None:
    # S = 1e3: a backward-stable float32 result may be off by C * eps * 1e3 ~ 5e-4 there.
    exp = np.array([0.0, 0.0])
    got = np.array([1e-5, 0.0], np.float32)
    assert not cmp(exp, got).ok
    assert cmp(exp, got, sensitivity=np.array([1e3, 1e3])).ok
    assert not cmp(exp, np.array([0.1, 0.0], np.float32), sensitivity=np.array([1e3, 1e3])).ok
    # Per element: a large S at one element does not widen another.
    assert not cmp(exp, np.array([0.0, 1e-5], np.float32), sensitivity=np.array([1e3, 0.0])).ok


def test_sensitivity_is_computed_only_when_the_fixed_tolerance_fails() -> None:
    calls = []

    def s():  # type: ignore[no-untyped-def]
        calls.append(1)
        return np.array([1e3, 1e3])

    assert cmp(np.ones(2), np.ones(2, np.float32), sensitivity=s).ok and not calls
    assert cmp(np.zeros(2), np.array([1e-5, 0], np.float32), sensitivity=s).ok and calls == [1]


@pytest.mark.parametrize(("dtype", "value"), [("float16", 1e7), ("float16", -7e4), ("bfloat16", 1e39)])
def test_truth_beyond_the_dtype_range_is_expected_as_inf(dtype: str, value: float) -> None:
    np_dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    exp = np.array([value, 1.0])
    inf = np.array([np.sign(value) * np.inf, 1.0]).astype(np_dtype)
    assert cmp(exp, inf, dtype).ok
    finfo = ml_dtypes.finfo(np_dtype)
    assert cmp(exp, np.array([np.sign(value) * float(finfo.max), 1.0]).astype(np_dtype), dtype).problem == "nonfinite"
    assert not cmp(exp, (-inf).astype(np_dtype), dtype).ok


def test_relu_kink_accepts_any_value_in_0_1_unless_strict() -> None:
    x = np.array([0.0, -0.0, 1.0])
    for value, lenient_ok in [(0.0, True), (1.0, True), (0.5, True), (1.5, False), (-0.1, False), (np.nan, False)]:
        got = np.array([value, value, 1.0])
        mask, at = RELU.expected_at((x,), got, strict=False)
        assert mask.tolist() == [True, True, False]
        assert bool(np.all(np.abs(np.where(mask, at, 1.0) - got) < 1e-12)) is lenient_ok, value
        _, strict_at = RELU.expected_at((x,), got, strict=True)
        assert np.all(strict_at[mask] == 0.0)


def test_l1_kink_interval_is_minus_one_to_one() -> None:
    a, y = np.array([1.0, 2.0]), np.array([1.0, 3.0])
    mask, at = L1.expected_at((a, y), np.array([-1.0, -1.0]), strict=False)
    assert mask.tolist() == [True, False] and at[0] == -1.0
    _, at = L1.expected_at((a, y), np.array([-2.0, -1.0]), strict=False)
    assert at[0] == -1.0  # the nearest valid value, so -2 is 1 away: fails


def test_hinge_kink_needs_one_mix_per_example() -> None:
    y = np.array([[1.0, -1.0, 1.0]])
    a = np.array([[0.5, 0.25, 0.75]])  # margin exactly 1
    mask, at = HINGE.expected_at((a, y), -0.3 * y, strict=False)
    assert mask.all() and np.allclose(at, -0.3 * y)
    # Different mixing weights per element are not a subgradient.
    got = np.array([[-1.0, 0.0, 0.0]])
    _, at = HINGE.expected_at((a, y), got, strict=False)
    assert np.abs(at - got).max() > 0.1
    _, at = HINGE.expected_at((a, y), -y, strict=True)
    assert np.all(at == 0)


def test_hinge_kink_only_where_margin_is_one() -> None:
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    a = np.array([[3.0, 1.0], [3.0, 0.9]])
    mask = HINGE.locate((a, y))
    assert mask.tolist() == [[True, True], [False, False]]


def test_hinge_band_is_the_margins_own_rounding() -> None:
    import ml_dtypes

    # A one-hot target's margin is one element of a, exact in any dtype: no band. The
    # reviewer's bfloat16 row (margin 0.98046875) was counted as a kink and strict mode then
    # failed the right answer -y there.
    a = np.array([[-1.257812, 0.980469, -0.730469, 1.328125]]).astype(ml_dtypes.bfloat16)
    y = np.array([[0.0, 1.0, 0.0, 0.0]]).astype(ml_dtypes.bfloat16)
    assert not HINGE.locate((a, y)).any()
    # Targets of +-1 summed in bfloat16: a margin within the sum's rounding of 1 is a kink,
    # and strict mode takes the convention (0) or the other one-sided value (-y), whichever
    # side the formula's own sum fell on, but no mix of them.
    y_pm = np.array([[1.0, -1.0, 1.0, 1.0]])
    a_pm = np.array([[0.5, 0.25, 0.75, 0.0]]) + np.array([[0.0, 0.0, 0.0, 2.0**-9]])
    a16, y16 = a_pm.astype(ml_dtypes.bfloat16), y_pm.astype(ml_dtypes.bfloat16)
    assert HINGE.locate((a16, y16)).all()  # margin 1 + 2^-9, within bfloat16's rounding of 1
    for got, ok in [(np.zeros((1, 4)), True), (-y_pm, True), (-0.5 * y_pm, False)]:
        _, at = HINGE.expected_at((a16, y16), got, strict=True)
        assert bool(np.allclose(at, got)) is ok, got  # margin 1 + 2^-9 exactly: a bfloat16 sum may give 1 - ...
    a_below = a_pm - np.array([[0.0, 0.0, 0.0, 2.0**-8]])  # margin 1 - 2^-9
    a16 = a_below.astype(ml_dtypes.bfloat16)
    for got, ok in [(np.zeros((1, 4)), True), (-y_pm, True), (-0.5 * y_pm, False)]:
        _, at = HINGE.expected_at((a16, y16), got, strict=True)
        assert bool(np.allclose(at, got)) is ok, got
    # In float64 the same margins are far outside the band: plain derivatives, no kink.
    assert not HINGE.locate((a_below, y_pm)).any()
    # Exact partial sums: a bfloat16 margin of 1.203125 is no rounding of 1, so -y (where the
    # only derivative is 0) is wrong there; a band of 2 eps per rounding had called it a kink.
    a_far = np.array([[1.0, -1.0, 1.0, -1.0, 1.203125]]).astype(ml_dtypes.bfloat16)
    assert not HINGE.locate((a_far, np.ones((1, 5)).astype(ml_dtypes.bfloat16))).any()


def test_an_allowance_near_zero_fails_the_element_without_a_warning() -> None:
    # An exact answer's allowance can be a subnormal (an input floor at x = 1e-300): the
    # ratio error/allowance overflows, the element fails, and numpy says nothing to the user
    # (the suite turns warnings into errors).
    import dataclasses

    tight = dataclasses.replace(TOLERANCES["float32"], atol=np.array([1e-310, 1e-310]), rtol=0.0)
    result = compare(np.array([0.0, 0.0]), np.array([1.0, 0.0], np.float32), dtype="float32", tolerance=tight)
    assert not result.ok and result.worst is not None and result.worst.index == (0,)


def test_a_nan_allowance_leaves_no_other_element_unjudged() -> None:
    # An input floor at a NaN input was NaN: argmax picked that element, its ratio failed every
    # comparison, and a grossly wrong answer elsewhere passed (a red team's find, 2026-12-06).
    import dataclasses

    from reference.tolerances import input_floor

    x = np.array([np.nan, 1.0, 2.0])
    want, got = np.array([np.nan, 0.197, 0.105]), np.array([np.nan, 5.0, -7.0], np.float32)
    floored = compare(want, got, dtype="float32", tolerance=input_floor(TOLERANCES["float32"], x, "float32"))
    assert not floored.ok and floored.worst is not None and floored.worst.index == (2,)
    nan_atol = dataclasses.replace(TOLERANCES["float32"], atol=np.array([np.nan, np.nan, 1e-6]), rtol=0.0)
    right = np.array([0.5, 0.25, 1.0], np.float32)
    assert compare(np.array([0.5, 0.25, 1.0]), right, dtype="float32", tolerance=nan_atol).ok  # exact: nothing to allow
    off = compare(np.array([0.5, 0.25, 1.0]), right + np.float32(0.125), dtype="float32", tolerance=nan_atol)
    assert not off.ok and off.worst is not None and off.worst.index in ((0,), (1,))


@pytest.mark.parametrize(
    ("dtype", "shown"), [("float32", "0.14200198"), ("float16", "0.142"), ("float64", "0.14200198358145644")]
)
def test_a_nonfinite_mismatch_shows_the_truth_to_the_dtypes_digits(dtype: str, shown: str) -> None:
    np_dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    result = cmp(np.array([0.14200198358145644, 1.0]), np.array([np.nan, 1.0]).astype(np_dtype), dtype)
    assert result.problem == "nonfinite" and f"expected {shown}, got nan" in result.detail, result.detail


def test_a_truth_past_the_dtypes_range_beside_a_zero_warns_nothing() -> None:
    """A red team saw "RuntimeWarning: invalid value encountered in multiply" from compare:
    the overflowed truth was made as sign(truth) * inf, which is 0 * inf at a zero."""
    import warnings

    want = np.array([0.0, 1e300, -1e300, 2.0])
    got = np.array([0.0, np.inf, -np.inf, 2.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cmp(want, got)
    assert result.ok, result
