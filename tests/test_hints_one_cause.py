"""One mistake, one cause, in words that fit it: a third red team (2026-12-06) graded 71
copies of the solution with a student's mistake each; every verdict was right, but one
mistake was often told as several causes (an unnamed factor per batch size, float16 naming a
coincidental 1/n beside float32's words, "also at extreme inputs" as a second cause), or in
words for another mistake. Each test grades a form in this process as the grader would."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
import handwritten
from handgrad.grading.grader import Options, grade_function
from reference.catalog import BY_NAME
from tests.in_process import InProcessPrograms


def _grade(name: str, formula: Any) -> Any:
    return grade_function(InProcessPrograms({**vars(handwritten), name: formula}), BY_NAME[name], Options(), 1, "cpu:0")


def _hints(grade: Any) -> list[str]:
    return re.findall(r"likely mistake: (.*)", grade.feedback)


def _ce_over_rows(z: Any, y: Any) -> Any:  # divided by z.shape[0]: a mean over the batch
    return -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1) / z.shape[0]


def test_a_loss_divided_by_the_batch_size_is_named_so() -> None:
    grade = _grade("cross_entropy", _ce_over_rows)
    assert grade.score == 0
    # Rows of 5 (one example: n and the rows coincide) and batches of 7 and 3 rows: until now
    # "a factor of 1/n", "a constant factor of 0.1429", "of 0.3333" and 8 more causes.
    assert any("one over the number of rows (x.shape[0])" in h for h in _hints(grade)), grade.feedback
    assert "0.1429" not in grade.feedback and "more distinct causes" not in grade.feedback


def _ce_grad_probabilities(z: Any, y: Any) -> Any:  # right only where the target sums to 1
    return jax.nn.softmax(z, axis=-1) - y


def test_float16_takes_float32s_words_for_the_same_inputs() -> None:
    grade = _grade("cross_entropy_grad", _ce_grad_probabilities)
    assert grade.score == 0
    assert all("right only when the target sums to 1" in h for h in _hints(grade)), grade.feedback
    assert "Another cause" not in grade.feedback


def _softmax_over_everything(x: Any) -> Any:  # the sum over every axis, not the last
    e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
    return e / jnp.sum(e)


def test_the_same_mistake_at_extreme_inputs_is_not_a_second_cause() -> None:
    grade = _grade("softmax", _softmax_over_everything)
    assert grade.score == 0
    assert "Another cause" not in grade.feedback, grade.feedback
    assert "show this same problem" in grade.feedback


def _hinge_grad_per_element(a: Any, y: Any) -> Any:  # y_i a_i per element, not the row's <y, a>
    return jnp.where(y * a < 1, -y, jnp.zeros_like(y))


def test_a_hint_never_says_zero_where_the_values_shown_are_nonzero_too() -> None:
    grade = _grade("hinge_grad", _hinge_grad_per_element)
    assert grade.score == 0
    # Its pm1 check is 0 where -y belongs and -y where 0 belongs: "zero in 4 of 95 elements
    # where the value is not" was shown beside "expected 0, got 1".
    assert not [h for h in _hints(grade) if h.startswith("zero")], grade.feedback


def _softmax_vjp_without_the_dot(s_in: Any, g: Any) -> Any:  # s * g: the -s <g, s> term missing
    return jax.nn.softmax(s_in, axis=-1) * g


def test_a_leftover_term_in_a_function_without_branches_is_not_told_as_only_a_branch() -> None:
    grade = _grade("softmax_vjp", _softmax_vjp_without_the_dot)
    left_over = [h for h in _hints(grade) if "where it should be 0" in h]
    assert all("a term that should vanish there is left over" in h for h in left_over), grade.feedback


def _cosine_grad_first_term(a: Any, y: Any) -> Any:  # y / (|a| |y|) alone, norms from squares
    na = jnp.sqrt(jnp.sum(a * a, axis=-1, keepdims=True))
    ny = jnp.sqrt(jnp.sum(y * y, axis=-1, keepdims=True))
    return y / (na * ny)


def test_far_scales_name_the_norm_computed_from_squares() -> None:
    options = Options(strict=True)
    grade = grade_function(
        InProcessPrograms({"cosine_similarity_grad": _cosine_grad_first_term}),
        BY_NAME["cosine_similarity_grad"],
        options,
        1,
        "cpu:0",
    )
    far = grade.feedback.split("inputs far-scales", 1)
    assert len(far) == 2 and "a norm or a variance computed from x * x" in far[1], grade.feedback
    assert "log of an underflowed probability" not in far[1].split("Another cause", 1)[0]


def _huber_grad_linear_without_delta(a: Any, y: Any, delta: float = 1.0) -> Any:  # seed erratum 2
    r = a - y
    return jnp.where(jnp.abs(r) <= delta, r, jnp.sign(r)) / a.shape[-1]


def _huber_grad_delta_in_the_quadratic_branch(a: Any, y: Any, delta: float = 1.0) -> Any:
    r = a - y
    return jnp.where(jnp.abs(r) <= delta, delta * r, delta * jnp.sign(r)) / a.shape[-1]


def test_a_factor_equal_to_the_option_is_named_once_whatever_its_value() -> None:
    # Off by 1/delta on the linear branch: "a factor of 2" at delta 0.5, "of 0.4" at 2.5 were two causes.
    missing = _grade("huber_grad", _huber_grad_linear_without_delta)
    assert missing.score == 0 and "Another cause" not in missing.feedback, missing.feedback
    assert all("a factor delta missing" in h for h in _hints(missing)), missing.feedback
    extra = _grade("huber_grad", _huber_grad_delta_in_the_quadratic_branch)
    assert all("a factor delta too many" in h for h in _hints(extra)), extra.feedback


def _huber_without_half_summed(a: Any, y: Any, delta: float = 1.0) -> Any:  # r^2, and a sum, not the mean
    r = jnp.abs(a - y)
    return jnp.sum(jnp.where(r <= delta, r**2, 2 * delta * r - delta**2), axis=-1)


def _huber_grad_2r_summed(a: Any, y: Any, delta: float = 1.0) -> Any:  # its gradient: 2r, no 1/n
    r = a - y
    return jnp.where(jnp.abs(r) <= delta, 2 * r, 2 * delta * jnp.sign(r))


def _huber_grad_halved(a: Any, y: Any, delta: float = 1.0) -> Any:  # an extra 1/2 alone
    return 0.5 * jnp.clip(a - y, -delta, delta) / a.shape[-1]


def test_two_factors_at_once_are_one_cause_named_by_the_row_length() -> None:
    # Rows of 5 and 4: a factor of 10 and of 8, until now two causes ("a constant factor of 10",
    # "of 8", and "not a constant factor" for the scalar of one row).
    for name, formula in (("huber", _huber_without_half_summed), ("huber_grad", _huber_grad_2r_summed)):
        grade = _grade(name, formula)
        assert grade.score == 0
        assert _hints(grade) and all("factor of 2n" in h and "mean vs sum" in h for h in _hints(grade)), grade.feedback
        assert "Another cause" not in grade.feedback
    halved = _grade("huber_grad", _huber_grad_halved)  # rows of 4: 1/2, not "2/n"
    assert all("constant factor of 1/2" in h for h in _hints(halved)), halved.feedback


def test_a_ratio_of_two_over_n_in_verify_is_no_mean_taken_as_a_sum() -> None:
    # A red team's scatter that drops repeated indices (.set where .add belongs) keeps one of
    # x[2]'s three terms: a ratio of 1/3 = 2/n with n = 6, which verify's functions (no rows
    # of a mean) must not explain as a mean and a factor 2.
    import numpy as np

    import handgrad

    idx = np.array([0, 2, 2, 5, 1, 2])
    report = handgrad.verify(
        lambda x, idx: jnp.sum(jnp.sin(x[idx])),
        np.random.default_rng(1).standard_normal(6),
        idx,
        grad=lambda x, idx: jnp.zeros_like(x).at[idx].set(jnp.cos(x[idx])),
        devices=["cpu:0"], transforms=["jit"], dtypes=["float64"], families=["normal"],
    )  # fmt: skip
    assert not report.ok and report.worst is not None
    assert "2/n" not in report.worst.hint and "mean" not in report.worst.hint, report.worst.hint


def _cosine_grad_without_one_over_ny(a: Any, y: Any) -> Any:  # y/|a| - cos a/|a|^2: the 1/|y| lost
    na = jnp.linalg.norm(a, axis=-1, keepdims=True)
    ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
    cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
    return y / na - cos * a / na**2


def test_values_below_the_dtypes_floor_name_no_wrong_axis() -> None:
    # A red team's: in bfloat16 `extreme` the gradient is ~1e-4, below bfloat16's floor of 8e-3,
    # where the truth over axis 0 "explained" every element within rounding: told a wrong axis.
    grade = _grade("cosine_similarity_grad", _cosine_grad_without_one_over_ny)
    assert grade.score == 0
    assert not any("wrong axis" in h for h in _hints(grade)), grade.feedback


def _tanh_expm1(x: Any) -> Any:  # accurate near 0, inf/inf once e^{2x} overflows: eager, jit and vmap alike
    e = jnp.expm1(2 * x)
    return e / (e + 2)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_grade_stopped_at_its_first_failure_says_nowhere_the_failures_are_confined(seed: int) -> None:
    # A red team's: with fail_fast the pattern line was read off one failure and the passes
    # before it ("Fails only under vmap" in seed 1, "only in float32" in seed 2).
    options = Options(fail_fast=True)
    grade = grade_function(
        InProcessPrograms({**vars(handwritten), "tanh": _tanh_expm1}), BY_NAME["tanh"], options, seed, "cpu:0"
    )
    assert grade.score == 0 and "stopped at the first failing check" in grade.feedback
    assert "Fails only" not in grade.feedback, grade.feedback


def _tanh_textbook(x: Any) -> Any:  # (e^2x - 1) / (e^2x + 1): inf / inf once e^2x overflows
    e = jnp.exp(2 * x)
    return (e - 1) / (e + 1)


def test_a_float16_overflow_at_moderate_inputs_is_told_as_an_overflow() -> None:
    # A red team's: float16 `tails` (x = 8.75, where e^(2x) passes 65504) was told "NaN/inf at
    # ordinary inputs: a division by zero?", a second cause beside the extreme inputs' overflow.
    grade = _grade("tanh", _tanh_textbook)
    assert grade.score == 0
    assert not any("division by zero" in h for h in _hints(grade)), grade.feedback
    assert sum("overflows" in h for h in _hints(grade)) == 1, grade.feedback  # one cause, float16's tails in it


def _hinge_grad_max_margin(a: Any, y: Any) -> Any:  # the margin as max(y * a), not <y, a>
    margin = jnp.max(y * a, axis=-1, keepdims=True)
    return jnp.where(margin < 1, -y, jnp.zeros_like(y))


def _relu_grad_capped(x: Any) -> Any:  # 1 only for 0 < x < 3: the large inputs' branch taken wrong
    return jnp.where((x > 0) & (x < 3), 1.0, 0.0).astype(x.dtype)


BRANCHES = [("hinge_grad", _hinge_grad_max_margin), ("relu_grad", _relu_grad_capped)]


@pytest.mark.parametrize(("name", "formula"), BRANCHES, ids=["hinge", "relu"])
def test_a_piecewise_gradient_zero_where_it_is_not_names_the_branch_condition(name: str, formula: Any) -> None:
    grade = _grade(name, formula)
    assert grade.score == 0
    zeros = [h for h in _hints(grade) if h.startswith("zero in")]
    # (a red team's hinge was told only "a missing term?"; nothing is missing: the branch is taken wrong)
    assert zeros and all("a wrong branch condition" in h for h in zeros), grade.feedback


def _net_on_jax_sigmoid(params: Any, x: Any, y: Any) -> Any:
    """The network's gradients, right in every dtype's algebra, each sigmoid' as s(z) s(-z)
    from jax.nn.sigmoid, which is 0 in float16 at z = -14 where the truth is a subnormal."""
    s = jax.nn.sigmoid
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = x @ w1 + b1
    a1 = s(z1)
    z2 = a1 @ w2 + b2
    d2 = 2 * (s(z2) - y) * s(z2) * s(-z2)
    d1 = (w2 @ d2) * s(z1) * s(-z1)
    return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}


PRECISION_WORDS = "right in float32 and float64 on the same family, wrong in float16: the formula holds"


def test_a_float16_underflow_in_a_right_network_is_not_told_a_missing_term() -> None:
    """A red team's (F2): "zero where the value is not: a missing term" under a tier header
    that said low-precision underflow. Nothing is missing: float32 and float64 pass there."""
    grade = _grade("two_layer_grads", _net_on_jax_sigmoid)
    assert grade.score == 0, grade.feedback
    hints = _hints(grade)
    assert hints and all(h.startswith(PRECISION_WORDS) for h in hints), grade.feedback
    assert "missing term" not in grade.feedback


def test_a_verified_rule_whose_square_overflows_float16_is_told_the_range() -> None:
    """The same class through verify: 2x / (1 + x^2) is 0 in float16 once x * x passes 65504,
    where the truth 2/x is not; float32 holds x * x to 1e38."""
    x = np.linspace(-2.0, 2.0, 6).astype(np.float32)
    report = handgrad.verify(
        lambda x: jnp.sum(jnp.log1p(x * x)), x, grad=lambda x: 2 * x / (1 + x * x),
        dtypes=["float16", "float32", "float64"], devices=["cpu:0"], families=["wide"], transforms=["eager"],
    )  # fmt: skip
    assert {r.case.dtype for r in report.failures} == {"float16"}, report
    assert all(r.hint.startswith(PRECISION_WORDS) for r in report.failures), report


def _jacobian_without_diagonal(x: Any) -> Any:
    s = jax.nn.softmax(x, axis=-1)
    return -s[..., :, None] * s[..., None, :]


def _jacobian_squared_diagonal(x: Any) -> Any:  # diag(s^2) for diag(s): wrong, not missing
    s = jax.nn.softmax(x, axis=-1)
    return jnp.einsum("...i,ij->...ij", s * s, jnp.eye(s.shape[-1], dtype=s.dtype)) - s[..., :, None] * s[..., None, :]


DIAGONAL = "wrong only on the diagonal (i = j), right everywhere else"


DIAGONAL_FORMS = [_jacobian_without_diagonal, _jacobian_squared_diagonal]


@pytest.mark.parametrize("formula", DIAGONAL_FORMS, ids=["missing", "squared"])
def test_a_jacobian_wrong_on_its_diagonal_is_one_cause(formula: Any) -> None:
    """A red team's (F4): softmax's Jacobian without diag(s) was three causes, "a term is
    missing" at ordinary inputs, "a factor of -0.5 ... on the diagonal" at a tie, "inaccurate
    at extreme inputs" beyond them; now every check says what they share."""
    grade = _grade("softmax_jacobian", formula)
    assert grade.score == 0
    hints = _hints(grade)
    assert hints and all(h.startswith(DIAGONAL) for h in hints), grade.feedback
    assert "Another cause" not in grade.feedback and "show this same problem" in grade.feedback, grade.feedback


@pytest.mark.parametrize("seed", range(6))
def test_a_jacobian_without_its_diagonal_at_a_one_hot_row_is_the_same_cause(seed: int) -> None:
    """At a row whose softmax is one-hot (row-large draws one of the extreme rows) the truth is
    0 throughout and the form without diag(s) is -1 at i = j: that was told "nonzero in 1 of 25
    elements where it should be 0", a second cause beside the diagonal words of every other
    check (in some seeds, as a student saw it); and at [-100, ..., 100] in float64, where the
    truth is 1e-87 and below, "nonzero in 25 of 25 elements" counted values within rounding."""
    from handgrad.cases import build_cases
    from handgrad.engine import InProcess, run_case

    here = InProcess({**vars(handwritten), "softmax_jacobian": _jacobian_without_diagonal})
    cases = build_cases(
        [BY_NAME["softmax_jacobian"]],
        dtypes=["float32", "float64"],  # (float16's yield to these in a grade: _related_hint)
        devices=["cpu:0"],
        families=["row-large", "extreme"],
    )
    results = [run_case(here, case, seed=seed) for case in cases]
    assert all(not r.ok for r in results)
    assert all(r.hint.startswith(DIAGONAL) for r in results), {r.case.id: r.hint for r in results}


@pytest.mark.parametrize("families", [["normal", "given"], ["wide"]])
def test_a_verified_matrix_gradient_missing_its_identity_is_told_the_diagonal(families: list[str]) -> None:
    """The same words for verify: d/dX (tr X + sum X^2) = I + 2X, written 2X. At `wide` entries
    (up to hundreds) the identity is 1% of the diagonal, and was told "close, but 0.01 off"."""
    x = np.arange(9.0).reshape(3, 3) / 4
    report = handgrad.verify(
        lambda x: jnp.trace(x) + jnp.sum(x * x), x, grad=lambda x: 2 * x,
        dtypes=["float64"], devices=["cpu:0"], families=families, transforms=["eager"],
    )  # fmt: skip
    assert report.failures and all(r.hint.startswith(DIAGONAL) for r in report.failures), report


def test_a_gradient_diagonal_by_nature_slightly_off_keeps_the_close_words() -> None:
    """The diagonal words are for a matrix right off its diagonal where it is nonzero there:
    d/dX sum(diag(X)^2) is 0 off the diagonal, and 2.01 diag(X) is a coefficient slightly off."""
    x = np.arange(9.0).reshape(3, 3) / 4 + 1
    report = handgrad.verify(
        lambda x: jnp.sum(jnp.diagonal(x) ** 2), x, grad=lambda x: 2.01 * jnp.diag(jnp.diagonal(x)),
        dtypes=["float64"], devices=["cpu:0"], families=["normal", "wide"], transforms=["eager"],
    )  # fmt: skip
    assert len(report.failures) == 2, report
    assert all(("1.005" in r.hint or "0.005 off" in r.hint) and DIAGONAL not in r.hint for r in report.failures), [
        r.hint for r in report.failures
    ]
