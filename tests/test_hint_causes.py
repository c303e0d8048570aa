"""Hints checked against the real cause: a table of (wrong form -> words its hint must hold,
words it must not hold). A misleading hint (a sign error told 'a term is missing', a branch
0.1% off told 'an added epsilon') fails here. The corpora's own promised hints are checked
in test_oracle; this table adds the forms whose hint was wrong, and new ones of their classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handwritten
from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_all
from reference.catalog import BY_NAME
from tests.corpus.mistakes import MISTAKES
from tests.corpus.mistakes_subtle import SUBTLE
from tests.corpus.mistakes_subtle_2 import SUBTLE_2

S = handwritten.sigmoid
T = jnp.tanh

ONE_TERM = "a sign error on one term: the result is A + T where it should be A - T"

# (function, wrong form, words the hint must contain, words it must not)
TABLE: list[tuple[str, Callable[..., Any], str, str]] = [
    ("tanh_grad", lambda x: 1 + T(x) * T(x), ONE_TERM, "missing"),
    ("tanh_grad", lambda x: 1 + T(x) ** 2, ONE_TERM, "missing"),
    ("sigmoid_grad", lambda x: S(x) * (1 + S(x)), ONE_TERM, "missing"),
    ("sigmoid_grad", lambda x: S(x) + S(x) ** 2, ONE_TERM, "missing"),
    ("tanh_grad", lambda x: -1 + T(x) ** 2, "sign flipped", "missing"),
    ("tanh_grad", lambda x: 1 + 2 * T(x) ** 2 - 2 * T(x) ** 2 + T(x) * T(x) * 1.0, ONE_TERM, "missing"),
    ("sigmoid_grad", lambda x: 2 * S(x) - S(x) * (1 - S(x)), ONE_TERM, "missing"),  # s + s^2 again
    ("sigmoid_grad", lambda x: jnp.where(x < 0, 1.001, 1.0) * S(x) * (1 - S(x)), "branch", "epsilon"),
    ("sigmoid_grad", lambda x: jnp.where(x < 0, 0.999, 1.0) * S(x) * (1 - S(x)), "branch", "epsilon"),
    ("tanh_grad", lambda x: jnp.where(x < 0, 0.999, 1.0) * (1 - T(x) ** 2), "branch", "epsilon"),
]


def _first_failure(function: str, fn: Callable[..., Any]) -> Any:
    evaluator = InProcess({**vars(handwritten), function: fn})
    cases = build_cases([BY_NAME[function]], dtypes=["float64"], transforms=["eager"], devices=["cpu:0"])
    failed = [r for r in run_all(evaluator, cases) if not r.ok]
    assert failed, f"{function}: the wrong form passed"
    return failed[0]


@pytest.mark.parametrize(("function", "form", "says", "never"), TABLE, ids=lambda v: str(v)[:20])
def test_the_hint_names_the_real_cause(function: str, form: Callable[..., Any], says: str, never: str) -> None:
    failure = _first_failure(function, form)
    assert says in failure.hint and never not in failure.hint, failure.message()


SIGN_ERRORS = [m for m in (*MISTAKES, *SUBTLE, *SUBTLE_2) if m.id in ("tanh-grad-sign",)]


@pytest.mark.parametrize("mistake", SIGN_ERRORS, ids=lambda m: m.id)
def test_the_corpus_sign_errors_are_told_sign_errors(mistake: Any) -> None:
    failure = _first_failure(mistake.function, mistake.namespace()[mistake.function])
    assert "sign" in failure.hint and "missing" not in failure.hint, failure.message()


LIBRARY_FORMS: list[Callable[..., Any]] = [
    lambda x: jnp.where(x < 0, 0.999, 1.0) * jnp.sign(x),  # 0.1% off only for x < 0
    lambda x: x / (jnp.abs(x) + 1e-6),  # an added epsilon
    lambda x: -jnp.sign(x),
]


@pytest.mark.parametrize("grad", LIBRARY_FORMS, ids=range(len(LIBRARY_FORMS)))
def test_the_library_api_hints_never_speak_of_a_contract(grad: Callable[..., Any]) -> None:
    """handgrad.verify checks an engineer's own function: there is no contract to cite."""
    from handgrad import verify

    report = verify(lambda x: jnp.sum(jnp.abs(x)), jnp.linspace(-2.0, 2.0, 7), grad=grad, dtypes=["float64"])
    hints = [r.hint for r in report.results if not r.ok]
    assert hints and all(h for h in hints)
    assert not any("contract" in h for h in hints), hints


def _sigmoid_one_minus(x: Any) -> Any:
    """sigmoid as 1 - s(|x|) for x < 0: 1 - s cancels there, but only by s's own rounding."""
    p = S(jnp.abs(x))
    return jnp.where(x >= 0, p, 1 - p)


# Forms that subtract from 1 a number near 1 where the value is small (|x| of a few units),
# besides the corpus's 4 s (1 - s) for tanh' (tests/corpus/mistakes_subtle_2.py): wrong by a
# few eps of 1 on the fixed `tails` inputs in float16, in every draw, and told so.
# Built on the library's sigmoid, as the corpus's is: on a correctly rounded one (the shipped
# sigmoid computes float16 in float32) 1 - s keeps half an ulp of 1, and both stay within the
# allowance; jax.nn.sigmoid in float16 is off by more.
LS = jax.nn.sigmoid
TAIL_CANCELLING: list[tuple[str, Callable[..., Any]]] = [
    ("tanh_grad", lambda x: 1 - (2 * LS(2 * x) - 1) ** 2),
    ("tanh_grad", lambda x: 4 * LS(2 * x) - 4 * LS(2 * x) ** 2),
]
# Forms that cancel the same way by at most the rounding of one term: within the allowance there.
TAIL_WITHIN: list[tuple[str, Callable[..., Any]]] = [
    ("tanh_grad", lambda x: 1 - T(x) ** 2),
    ("tanh_grad", lambda x: (1 - T(x)) * (1 + T(x))),
    ("sigmoid_grad", lambda x: S(x) - S(x) ** 2),
    ("sigmoid_grad", lambda x: S(x) * (1 - S(x))),
    ("sigmoid", _sigmoid_one_minus),
]


def _tails(function: str, fn: Callable[..., Any], seed: int) -> list[Any]:
    evaluator = InProcess({**vars(handwritten), function: fn})
    cases = build_cases(
        [BY_NAME[function]], dtypes=["float16", "bfloat16"], transforms=["jit"], devices=["cpu:0"], families=["tails"]
    )
    return run_all(evaluator, cases, seed=seed)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("function", "form"), TAIL_CANCELLING, ids=lambda v: str(v)[:20])
def test_a_form_that_cancels_in_the_tail_fails_there_in_every_draw_and_is_told_so(
    function: str, form: Callable[..., Any], seed: int
) -> None:
    float16, _ = _tails(function, form, seed)
    assert not float16.ok, f"{function}: a cancelling form passed the tails in float16"
    assert "loses its digits in the tail" in float16.hint, float16.message()


@pytest.mark.parametrize(("function", "form"), TAIL_WITHIN, ids=lambda v: str(v)[:20])
def test_a_form_that_cancels_by_one_rounding_passes_the_tails(function: str, form: Callable[..., Any]) -> None:
    failed = [r.message() for r in _tails(function, form, 0) if not r.ok]
    assert not failed, failed[0]


def test_a_grade_that_fails_only_on_the_tails_in_low_precision_names_a_cancellation() -> None:
    """The grade's pattern line (grader._pattern) for 4 s (1 - s): it fails only in float16 and
    bfloat16, only on `tails`, where nothing overflows or underflows; 1 - s cancels."""
    from handgrad.grading.grader import Options, grade_function
    from tests.in_process import InProcessPrograms

    form = {"tanh_grad": lambda x: 4 * LS(2 * x) * (1 - LS(2 * x))}
    grade = grade_function(InProcessPrograms(form), BY_NAME["tanh_grad"], Options(), 1, "cpu:0")
    assert not grade.passed
    assert "on the input families tails: a low-precision overflow, underflow or cancellation" in grade.feedback, (
        grade.feedback
    )


def _forward_relu_hidden(params: Any, x: Any) -> Any:
    """The network's forward pass with relu for the hidden sigmoid: wrong by no factor."""
    h = jnp.maximum(x @ params["W1"] + params["b1"], 0)
    return S(h @ params["W2"] + params["b2"])


@pytest.mark.parametrize("family", ["seed", "net-5x4x3"])
def test_a_factor_is_never_read_off_one_example_repeated(family: str) -> None:
    """Under vmap the `seed` family repeats its one example: a single wrong number, seen four
    times, was told "off by a constant factor of 1.126" while the eager check of the same input
    said "not a constant factor". Every transform must tell it alike."""
    evaluator = InProcess({**vars(handwritten), "two_layer_forward": _forward_relu_hidden})
    cases = build_cases(
        [BY_NAME["two_layer_forward"]], dtypes=["float64"], transforms=["eager", "vmap"], devices=["cpu:0"],
        families=[family],
    )  # fmt: skip
    results = run_all(evaluator, cases)
    assert all(not r.ok for r in results)
    hints = {r.case.transform: r.hint for r in results}
    assert "constant factor of" not in hints["vmap"], hints


def test_a_value_that_should_be_zero_throughout_still_gets_a_hint() -> None:
    """hinge_grad as -y everywhere (the margin ignored) failed first where every element of
    the truth is 0 (every margin met), and the feedback had no "likely mistake" line."""
    from handgrad.cases import expected

    evaluator = InProcess({**vars(handwritten), "hinge_grad": lambda a, y: -y})
    cases = build_cases([BY_NAME["hinge_grad"]], transforms=["eager"], devices=["cpu:0"])
    results = run_all(evaluator, cases, seed=1)  # (seed 1 draws onehot-5 with every margin met)
    zero_truth = [r for r in results if not r.ok and not np.any(expected(r.case, r.seed))]
    assert zero_truth, "no failing check with an all-zero truth: the test misses its case"
    for result in zero_truth:
        assert result.hint.startswith("nonzero in") and "branch condition" in result.hint, result.message()


def _grads_a_one_minus_a(params: Any, x: Any, y: Any) -> Any:
    """backprop with s'(z) written a (1 - a): right, except where a unit saturates."""
    a1 = S(x @ params["W1"] + params["b1"])
    a2 = S(a1 @ params["W2"] + params["b2"])
    d2 = 2 * (a2 - y) * a2 * (1 - a2)
    d1 = (params["W2"] @ d2) * a1 * (1 - a1)
    return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}


def test_a_cancellation_where_a_unit_saturates_is_not_told_as_a_branch() -> None:
    """a (1 - a) for s'(z) fails where a hidden sigmoid saturates, off by an odd factor in some
    elements; the hint said "one branch of a piecewise formula?" (there is none)."""
    evaluator = InProcess({**vars(handwritten), "two_layer_grads": _grads_a_one_minus_a})
    cases = build_cases(
        [BY_NAME["two_layer_grads"]], dtypes=["float32"], transforms=["eager"], devices=["cpu:0"],
        families=["net-saturated-hidden"],
    )  # fmt: skip
    (result,) = run_all(evaluator, cases, seed=1)
    assert not result.ok
    assert "branch" not in result.hint and "cancels" in result.hint, result.message()


@pytest.mark.parametrize(
    ("function", "form", "says"),
    [
        ("sigmoid_grad", lambda x: S(x) * (S(x) - 1), "sign flipped"),
        ("tanh_grad", lambda x: T(x) ** 2 - 1, "sign flipped"),
        ("sigmoid_grad", lambda x: 0.5 * S(x) * (1 - S(x)), "factor of 1/2"),
    ],
    ids=["sigmoid-sign", "tanh-sign", "sigmoid-half"],
)
def test_a_named_factor_is_told_in_every_dtype_whatever_the_forms_own_rounding(
    function: str, form: Callable[..., Any], says: str
) -> None:
    """In float16 s(s - 1) is the negation of s(1 - s) only to within s(1 - s)'s own rounding
    (7% where s ~ 1), so its ratio to the truth is no constant: it was told "not a constant
    factor or a sign" beside float32's "sign flipped". A named factor within the check's own
    allowance, S included, is told as such."""
    evaluator = InProcess({**vars(handwritten), function: form})
    cases = build_cases([BY_NAME[function]], dtypes=["float16", "bfloat16", "float32"], transforms=["eager"],
                        devices=["cpu:0"])  # fmt: skip
    failed = [r for r in run_all(evaluator, cases, seed=1) if not r.ok]
    assert failed and all(says in r.hint for r in failed), [(r.case.id, r.hint) for r in failed if says not in r.hint]


def _sigmoid_grad_exp_minus_x(x: Any) -> Any:
    e = jnp.exp(-x)  # no |x|: e overflows float16 for x < -11, (1 + e)^2 already for x < -5.5
    return e / (1 + e) ** 2


def test_a_zero_in_the_tail_names_overflow_as_well_as_cancellation() -> None:
    """e^(-x) / (1 + e^(-x))^2 in float16 comes back 0 at x ~ -6, where (1 + e)^2 overflows: the
    hint spoke only of subtracting nearly equal numbers, which the form never does."""
    failed = [r for r in _tails("sigmoid_grad", _sigmoid_grad_exp_minus_x, 1) if not r.ok]
    assert failed and failed[0].case.dtype == "float16"
    assert "overflows" in failed[0].hint and failed[0].comparison is not None, failed[0].message()
    assert failed[0].comparison.worst is not None and failed[0].comparison.worst.got == 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_wrong_power_close_at_small_inputs_is_not_told_as_lost_precision(dtype: str) -> None:
    """A red team's tanh' as sech x where sech^2 x belongs is 0.5% off at |x| ~ 0.1 (40000
    float32 units) and was told "the derivation looks right and the arithmetic loses precision":
    no rounding explains an error that size. Precision loss keeps its words (the epsilon in
    softmax_vjp's denominator, tests/corpus/mistakes.py)."""
    evaluator = InProcess({**vars(handwritten), "tanh_grad": lambda x: 1 / jnp.cosh(x)})
    cases = build_cases([BY_NAME["tanh_grad"]], dtypes=[dtype], transforms=["eager"], devices=["cpu:0"],
                        families=["small"])  # fmt: skip
    failed = [r for r in run_all(evaluator, cases, seed=1) if not r.ok]
    assert failed and all("term or power slightly wrong" in r.hint for r in failed), [r.hint for r in failed]


def test_a_function_without_a_kink_is_not_told_of_a_branch() -> None:
    """A red team's softmax Jacobian without its diagonal term, -s_i s_j: at a tie of two
    leaders (s = 1/2 each) it is right off the diagonal and the negative of the truth on it, and
    was told "sign flipped ..., but only in 2 of 4 elements: one branch of a piecewise formula?",
    though softmax has no branch. Where the elements off are the diagonal, it says so; a
    function with a kink keeps the branch."""
    from tests.test_hints_arrays import _case, _hint

    s = np.array([[0.5, 0.5], [0.25, 0.75]])
    want = np.stack([np.diag(r) - np.outer(r, r) for r in s])
    got = np.stack([-np.outer(r, r) for r in s])
    got[1] = want[1]  # the second row right: a tie in one row only
    hint = _hint(_case("softmax_jacobian", "ties"), want, got, x=np.log(s))
    assert hint.startswith("wrong only on the diagonal (i = j)") and "branch" not in hint, hint
    relu = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
    assert "one branch of a piecewise formula" in _hint(_case("relu_grad", "kink"), relu, relu * [1, -1, 1, -1, 1])


HW = handwritten
BY_DELTA = [
    ("huber_grad", lambda a, y, delta=1.0: HW.huber_grad(a, y, delta) / delta),  # clip(r/delta, -1, 1)/n
    ("huber_grad", lambda a, y, delta=1.0: HW.huber_grad(a, y, delta) * delta),
    ("huber", lambda a, y, delta=1.0: HW.huber(a, y, delta) / delta),  # PyTorch's SmoothL1 with beta = delta
]


@pytest.mark.parametrize(("function", "form"), BY_DELTA, ids=["grad-over-delta", "grad-times-delta", "smooth-l1"])
def test_a_result_off_by_delta_everywhere_is_told_delta(function: str, form: Callable[..., Any]) -> None:
    """A huber result off by 1/delta in every element (a red team's clip(r / delta, -1, 1) / n)
    was told "off by a factor of 2/n: an extra 1/n and a factor of 2" at delta = 2.5 over rows
    of 5 (0.4 = 2/5): two mistakes where there is one. Only the branch-wise case was told
    delta; a whole-array factor now is too, where it is no power of 2 (at delta = 0.5 a factor
    of 2 reads as well either way)."""
    evaluator = InProcess({**vars(handwritten), function: form})
    cases = build_cases(
        [BY_NAME[function]], dtypes=["float64"], transforms=["eager"], devices=["cpu:0"], families=["delta2.5"]
    )
    failed = [r for r in run_all(evaluator, cases) if not r.ok]
    assert failed and all("delta" in r.hint and "/n" not in r.hint for r in failed), [r.hint for r in failed]


# (function, a form that leaves out a sum or mean's 1/n)
WITHOUT_ONE_OVER_N: list[tuple[str, Callable[..., Any]]] = [
    ("huber_grad", lambda a, y, delta=1.0: jnp.clip(a - y, -delta, delta)),
    ("huber", lambda a, y, delta=1.0: a.shape[-1] * handwritten.huber(a, y, delta=delta)),
]


@pytest.mark.parametrize(("function", "form"), WITHOUT_ONE_OVER_N, ids=lambda v: str(v)[:12])
def test_a_missing_one_over_n_at_a_batch_of_one_row_is_not_told_as_a_wrong_axis(
    function: str, form: Callable[..., Any]
) -> None:
    """At rows of shape (1, 5), the truth with the two axes swapped is a mean over one element,
    and a form without its 1/n reads the same: huber_grad without /n was told 'computed over the
    wrong axis: these are the values over axis 0' beside 'off by a factor of n' (a newcomer's
    finding). An axis of length 1 says nothing about the axis reduced over."""
    evaluator = InProcess({**vars(handwritten), function: form})
    cases = build_cases([BY_NAME[function]], dtypes=["float64", "float32"], devices=["cpu:0"], families=["normal-1x5"])
    results = run_all(evaluator, cases)
    assert results and not any(r.ok for r in results)
    for r in results:
        assert "wrong axis" not in r.hint, r.message()


def test_a_library_sigmoid_that_underflows_in_float16_is_named() -> None:
    """s'(z) as jax.nn.sigmoid(z) * jax.nn.sigmoid(-z) at the network's saturated output: in
    float16 jax.nn.sigmoid(-14) is 0 (e^14 overflows), so every gradient came back 0, told as
    'an intermediate overflows or cancels', which a student using the library's own sigmoid
    did not see in their code (a red team's)."""

    def two_layer_grads(params: Any, x: Any, y: Any) -> Any:
        z1 = x @ params["W1"] + params["b1"]
        a1 = jax.nn.sigmoid(z1)
        z2 = a1 @ params["W2"] + params["b2"]
        d2 = 2 * (jax.nn.sigmoid(z2) - y) * jax.nn.sigmoid(z2) * jax.nn.sigmoid(-z2)
        d1 = (params["W2"] @ d2) * jax.nn.sigmoid(z1) * jax.nn.sigmoid(-z1)
        return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}

    cases = build_cases([BY_NAME["two_layer_grads"]], dtypes=["float16"], transforms=["eager"], devices=["cpu:0"],
                        families=["net-saturated-output"])  # fmt: skip
    (result,) = run_all(InProcess({**vars(handwritten), "two_layer_grads": two_layer_grads}), cases)
    assert not result.ok and "underflows to 0" in result.hint and "jax.nn.sigmoid(-x)" in result.hint, result.message()
