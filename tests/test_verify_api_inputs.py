"""What verify and taylor_test are given, judged by the right truth or refused with a clear
error (a tester's findings): grad= beside f's own custom rule took the truth from that rule (a
grad with the rule's mistake passed, a right one crashed in jax.jacfwd); taylor_test blamed the
gradient where f was NaN at the example; a kink_range= function returning NaN, None or the
wrong shape gave a false FAIL or a raw NumPy error; strict="no", families=[], argnums=() and
kinks= beside hvp= alone were read wrong, said wrong or ignored."""

from __future__ import annotations

import functools
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad

ONE: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float64"], transforms=["jit"])
GIVEN: dict[str, Any] = dict(families=["given"], **ONE)
NORMAL: dict[str, Any] = dict(families=["normal"], **ONE)
X = np.linspace(-1.0, 1.0, 6).reshape(2, 3)


def _labels(report: Any, failed: bool = True) -> set[str]:
    return {r.case.entry.name for r in report.results if r.ok != failed}


# ---- 1. grad= beside f's own custom rule: the truth is autodiff of the primal ----------------


def _softplus_vjp(factor: float) -> Any:
    @jax.custom_vjp
    def sp(x: Any) -> Any:
        return jnp.logaddexp(x, 0.0)

    sp.defvjp(lambda x: (sp(x), x), lambda r, g: (factor * g * jax.nn.sigmoid(r),))
    return sp


def _softplus_jvp(factor: float) -> Any:
    @jax.custom_jvp
    def sp(x: Any) -> Any:
        return jnp.logaddexp(x, 0.0)

    sp.defjvp(lambda p, t: (sp(p[0]), factor * jax.nn.sigmoid(p[0]) * t[0]))
    return sp


def _right_vjp(x: Any, c: Any) -> Any:
    return c * jax.nn.sigmoid(x)


def _twice_vjp(x: Any, c: Any) -> Any:
    return 2.0 * c * jax.nn.sigmoid(x)


@pytest.mark.parametrize("make", [_softplus_vjp, _softplus_jvp], ids=["custom_vjp", "custom_jvp"])
@pytest.mark.parametrize("wrap", [lambda f: f, jax.jit], ids=["bare", "jit"])
def test_grad_beside_a_wrong_rule_is_judged_by_autodiff_of_the_primal(make: Any, wrap: Any) -> None:
    f = wrap(make(2.0))  # the rule is off by 2
    right = handgrad.verify(f, X, grad=_right_vjp, **NORMAL)  # raised TypeError (custom_vjp) or failed
    assert right.ok, right
    assert _labels(right, failed=False) == {"grad(sp)"}  # grad= takes the rule's place
    assert "the rule (what jax.grad(sp) uses) was not" in str(right)  # said on a passing report too
    same_mistake = handgrad.verify(f, X, grad=_twice_vjp, **NORMAL)  # passed: the truth came from the rule
    assert _labels(same_mistake) == {"grad(sp)"}
    assert "constant factor of 2" in str(same_mistake.worst.hint)
    assert "which grad= replaces here" in str(same_mistake)
    assert not handgrad.verify(f, X, **NORMAL).ok  # the rule itself, without grad=


@pytest.mark.parametrize("make", [_softplus_vjp, _softplus_jvp], ids=["custom_vjp", "custom_jvp"])
def test_grad_beside_a_rule_in_every_mode_and_order_uses_the_primal(make: Any) -> None:
    f = make(2.0)
    right = handgrad.verify(f, X, grad=_right_vjp, modes=("rev", "fwd"), order=2, **NORMAL)
    assert right.ok, right
    assert _labels(right, failed=False) == {"grad(sp)", "fwd(grad(sp))", "vjp(grad(sp))", "jvp(fwd(grad(sp)))"}
    wrong = handgrad.verify(f, X, grad=_twice_vjp, modes=("fwd",), **NORMAL)
    assert _labels(wrong) == {"fwd(grad(sp))"}


def test_hvp_of_a_custom_rule_uses_the_primal_and_checks_the_rule_beside_it() -> None:
    @jax.custom_vjp
    def sum_sq(x: Any) -> Any:
        return jnp.sum(x * x)

    sum_sq.defvjp(lambda x: (sum_sq(x), x), lambda x, g: (3 * g * x,))  # the rule is off by 3/2
    report = handgrad.verify(sum_sq, X, hvp=lambda x, v: 2 * v, **NORMAL)
    assert _labels(report) == {"rule(sum_sq)"} and "hvp(sum_sq)" in _labels(report, failed=False)


def test_grad_of_a_scalar_custom_rule_with_nondiff_argnums_uses_the_primal() -> None:
    @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
    def scaled(x: Any, k: float) -> Any:
        return jnp.sum(jnp.sin(x)) * k

    scaled.defvjp(lambda x, k: (scaled(x, k), x), lambda k, x, g: (g * jnp.cos(x) * k * 3,))  # off by 3
    right = handgrad.verify(scaled, X, 2.0, grad=lambda x, k: jnp.cos(x) * k, **NORMAL)  # k was drawn: raised
    assert right.ok, right
    assert not handgrad.verify(scaled, X, 2.0, grad=lambda x, k: jnp.cos(x) * k * 3, **NORMAL).ok


def test_grad_of_an_f_that_calls_a_custom_vjp_inside_fails_in_the_report_not_in_jacfwd() -> None:
    sp = _softplus_vjp(1.0)

    def loss(x: Any) -> Any:
        return jnp.sum(sp(x) * 2)

    right = handgrad.verify(loss, X, grad=lambda x: 2 * jax.nn.sigmoid(x), **NORMAL)
    assert right.ok, right
    wrong = handgrad.verify(loss, X, grad=lambda x: 3 * jax.nn.sigmoid(x), **NORMAL)  # raised TypeError
    assert _labels(wrong) == {"grad(loss)"}
    assert "constant factor of 1.5" in str(wrong.worst.hint)


def test_reverse_jvp_keeps_the_values_and_gives_the_same_jacobian() -> None:
    from handgrad.user_gradient import reverse_jvp

    def truth(a: Any, b: Any) -> dict[str, Any]:
        return {"p": jnp.sin(a) * b, "q": jnp.sum(a * a) + b[0]}

    a, b = np.array([0.3, -1.2, 2.0]), np.array([0.5, 1.5, -0.7])
    wrapped = reverse_jvp(truth)
    for key, value in wrapped(a, b).items():
        np.testing.assert_array_equal(value, truth(a, b)[key])
    want, got = jax.jacfwd(truth, argnums=(0, 1))(a, b), jax.jacfwd(wrapped, argnums=(0, 1))(a, b)
    for key in want:
        for w, g in zip(want[key], got[key], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


# ---- 2. taylor_test where f or grad is not finite at the example ------------------------------


@pytest.mark.parametrize(
    ("f", "x", "grad", "words"),
    [
        (lambda x: jnp.sum(jnp.log(x)), np.linspace(-1.0, 1.0, 5), lambda x: 1 / x,
         "f is not finite at the example: f(x) = nan; grad is not finite either: grad for x[2] = inf"),
        (jnp.log, np.array([1.0, -2.0, 3.0]), lambda x, c: c / x,
         "f is not finite at the example: f(x)[1] = nan (1 of 3 elements) where x[1] = -2"),
        (lambda x: jnp.sum(jnp.sqrt(x)), np.array([0.0, 1.0, 4.0]), lambda x: 0.5 / jnp.sqrt(x),
         "grad is not finite at the example: grad for x[0] = inf (1 of 3 elements) where x[0] = 0"),
    ],
    ids=["log-scalar", "log-elementwise", "sqrt-grad"],
)  # fmt: skip
def test_taylor_test_says_f_or_grad_is_not_finite_at_the_example(f: Any, x: Any, grad: Any, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"handgrad.taylor_test: {words}")):
        handgrad.taylor_test(f, x, grad=grad)


def test_taylor_test_leaves_out_steps_outside_fs_domain() -> None:
    x = np.array([1e-4, 1.0, 4.0])  # the larger steps along v cross 0
    result = handgrad.taylor_test(lambda x: jnp.sum(jnp.sqrt(x)), x, grad=lambda x: 0.5 / jnp.sqrt(x))
    assert result.outside and result.outside[0] == 0.1 and 1e-5 not in result.outside
    assert result.ok and 1.8 < result.order < 2.3
    assert "f(x + h v) not finite" in str(result) and "FAIL" not in str(result)
    with pytest.raises(ValueError, match="leaving no two successive steps to measure an order"):
        handgrad.taylor_test(lambda x: jnp.sum(jnp.sqrt(x)), np.array([1e-12, 1.0]), grad=lambda x: 0.5 / jnp.sqrt(x))


def test_taylor_test_still_fails_a_wrong_gradient_where_some_steps_leave_the_domain() -> None:
    x = np.array([1e-4, 1.0, 4.0])
    result = handgrad.taylor_test(lambda x: jnp.sum(jnp.sqrt(x)), x, grad=lambda x: 0.4 / jnp.sqrt(x))
    assert result.outside and not result.ok


# ---- 3. kink_range= validated, as a pair and as a function ------------------------------------

ABS_X = np.array([0.0, -0.5, 1.5, 0.0, 2.0])


def _abs_sum(x: Any) -> Any:
    return jnp.sum(jnp.abs(x))


def _verify_abs(kink_range: Any, **options: Any) -> Any:
    return handgrad.verify(_abs_sum, ABS_X, grad=jnp.sign, kinks=lambda x: x == 0, kink_range=kink_range,
                           **{**GIVEN, **options})  # fmt: skip


@pytest.mark.parametrize(
    ("kink_range", "error", "words"),
    [
        (lambda x: (1.0, -1.0), ValueError, "kink_range returned lo > hi on the example arguments (lo = 1, hi = -1)"),
        (lambda x: (None, None), TypeError, "kink_range returned lo = None on the example arguments"),
        (lambda x: (jnp.nan, 1.0), ValueError, "kink_range returned NaN on the example arguments"),
        (lambda x: (-jnp.ones(2), jnp.ones(2)), ValueError,
         "kink_range returned lo of shape (2,) on the example arguments, which does not broadcast to x's shape (5,)"),
        (lambda x: (-1j, 1j), TypeError, "kink_range returned lo = (-0-1j) on the example arguments"),
        (lambda x: (jnp.where(x > 1, jnp.nan, -1.0), 1.0), ValueError, "kink_range returned NaN"),
        (("a", "b"), TypeError, "kink_range=(lo, hi) takes two real numbers, got lo = 'a'"),
        ((None, None), TypeError, "kink_range=(lo, hi) takes two real numbers, got lo = None"),
        ((-1j, 1j), TypeError, "kink_range=(lo, hi) takes two real numbers, got lo = (-0-1j)"),
        ((True, 1.0), TypeError, "kink_range=(lo, hi) takes two real numbers, got lo = True"),
        ((np.zeros(5), 1.0), TypeError,
         "got lo = array([0., 0., 0., 0., 0.]) (for bounds per element, pass a function returning arrays)"),
        ((float("nan"), 1.0), ValueError, "kink_range (nan, 1.0) holds NaN"),
        ((1.0, -1.0), ValueError, "kink_range (1.0, -1.0) needs lo <= hi"),
    ],
    ids=["fn-reversed", "fn-none", "fn-nan", "fn-shape", "fn-complex", "fn-nan-somewhere", "pair-str",
         "pair-none", "pair-complex", "pair-bool", "pair-array", "pair-nan", "pair-reversed"],
)  # fmt: skip
def test_a_bad_kink_range_is_refused_naming_it(kink_range: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=re.escape(words)) as raised:
        _verify_abs(kink_range)
    assert str(raised.value).startswith("handgrad.verify: kink_range")


def test_a_kink_range_function_is_checked_at_every_drawn_input_too() -> None:
    at_example = {"calls": 0}

    def range_nan_after_the_example(x: Any) -> Any:
        at_example["calls"] += 1
        return (-1.0, 1.0) if at_example["calls"] <= 2 else (float("nan"), 1.0)

    with pytest.raises(ValueError, match=re.escape("handgrad.verify: kink_range returned NaN at a drawn input")):
        _verify_abs(range_nan_after_the_example)


@pytest.mark.parametrize(
    "kink_range",
    [lambda x: (-1.0, 1.0), lambda x: (-jnp.ones_like(x), jnp.ones_like(x)), lambda x: (-np.inf, np.inf),
     (np.float32(-1), np.int64(1)), [-1, 1]],
    ids=["fn-numbers", "fn-arrays", "fn-infinite", "pair-numpy", "pair-list"],
)  # fmt: skip
def test_a_valid_kink_range_takes_any_subgradient(kink_range: Any) -> None:
    half = lambda x: jnp.where(x == 0, 0.5, jnp.sign(x))  # noqa: E731
    report = handgrad.verify(_abs_sum, ABS_X, grad=half, kinks=lambda x: x == 0, kink_range=kink_range, **GIVEN)
    assert report.ok, report
    assert handgrad.verify(_abs_sum, ABS_X, grad=half, kinks=lambda x: x == 0, kink_range=kink_range,
                           strict=True, **GIVEN).ok is False  # fmt: skip


def test_a_kink_range_function_is_checked_at_the_shapes_of_each_family() -> None:
    rows = np.array([[0.0, 1.0], [-2.0, 0.0], [3.0, -1.0]])  # size-1 cuts to (1, 2)
    report = handgrad.verify(_abs_sum, rows, grad=jnp.sign, kinks=lambda x: x == 0,
                             kink_range=lambda x: (-jnp.ones_like(x), jnp.ones_like(x)),
                             families=["given", "size-1", "zeros"], **ONE)  # fmt: skip
    assert report.ok, report
    assert {r.case.family.name for r in report.results} == {"given", "size-1", "zeros"}


# ---- 4. strict=, families=[], argnums=(), kinks= beside hvp= ----------------------------------


def _sq(x: Any) -> Any:
    return jnp.sum(x * x)


@pytest.mark.parametrize("strict", ["no", 0, None, 1.0])
def test_strict_must_be_a_bool(strict: Any) -> None:
    with pytest.raises(TypeError, match=re.escape(f"handgrad.verify: strict must be True or False, got {strict!r}")):
        handgrad.verify(_sq, np.ones(3), grad=lambda x: 2 * x, strict=strict, **GIVEN)


def test_strict_takes_numpy_bools() -> None:
    assert handgrad.verify(_sq, np.ones(3), grad=lambda x: 2 * x, strict=np.bool_(True), **GIVEN).ok


@pytest.mark.parametrize(
    ("option", "plural"),
    [("families", "families"), ("dtypes", "dtypes"), ("transforms", "transforms"), ("devices", "devices")],
)
def test_an_empty_option_is_named_in_its_own_spelling(option: str, plural: str) -> None:
    options = {**GIVEN, option: []}
    with pytest.raises(ValueError, match=rf"^handgrad.verify: {plural} is empty: give at least one"):
        handgrad.verify(_sq, np.ones(3), grad=lambda x: 2 * x, **options)


@pytest.mark.parametrize("argnums", [(), []])
def test_argnums_naming_no_argument_says_so(argnums: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"handgrad.verify: argnums={argnums!r} names no argument")):
        handgrad.verify(_sq, np.ones(3), grad=lambda x: 2 * x, argnums=argnums)
    with pytest.raises(ValueError, match=re.escape("handgrad.taylor_test: argnums=() names no argument")):
        handgrad.taylor_test(_sq, np.ones(3), grad=lambda x: 2 * x, argnums=())


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (dict(hvp=lambda x, v: 2 * v, kinks=lambda x: x == 0, kink_range=(0, 1)), "leave them out with hvp= alone"),
        (dict(hvp=lambda x, v: 2 * v, kink_range=(0, 1)), "leave them out with hvp= alone"),
        (dict(grad=lambda x: 2 * x, modes=("fwd",), kinks=lambda x: x == 0, kink_range=(0, 1)),
         "apply to modes='rev'"),
    ],
    ids=["hvp-kinks", "hvp-range", "fwd-kinks"],
)  # fmt: skip
def test_kinks_where_nothing_uses_them_are_refused(options: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        handgrad.verify(_sq, np.linspace(-1.0, 1.0, 5), **options, **GIVEN)


def test_kinks_beside_hvp_apply_to_grad() -> None:
    x = np.array([0.0, 1.0, -2.0])
    report = handgrad.verify(_abs_sum, x, grad=lambda x: jnp.where(x == 0, 0.3, jnp.sign(x)),
                             hvp=lambda x, v: jnp.zeros_like(v), kinks=lambda x: x == 0, kink_range=(-1, 1),
                             **GIVEN)  # fmt: skip
    assert report.ok, report
    assert _labels(report, failed=False) == {"grad(_abs_sum)", "hvp(_abs_sum)"}


def test_a_gradient_widened_to_float64_by_python_numbers_is_told_why() -> None:
    # jnp.where(c, -tau, 1 - tau) is float32 where float64 is off, float64 under verify's x64.
    def pinball(p: Any) -> Any:
        return jnp.sum(jnp.maximum(0.3 * p, -0.7 * p))

    def grad(p: Any) -> Any:
        return jnp.where(p > 0, 0.3, -0.7)

    with pytest.raises(TypeError, match=r"returns dtype float64 for p, expected float32: verify runs with float64"):
        handgrad.verify(pinball, np.linspace(-1.0, 1.0, 5, dtype=np.float32), grad=grad)
    fixed = handgrad.verify(
        pinball, np.linspace(-0.9, 1.1, 5, dtype=np.float32), grad=lambda p: grad(p).astype(p.dtype), **NORMAL
    )
    assert fixed.ok, fixed


def test_a_square_matrix_argument_is_not_cut_to_one_row() -> None:
    # size-1 cut an SPD (5, 5) to (1, 5): cholesky took it (NaN), inv refused, and the right
    # gradient of a log-determinant failed with "a shape error".
    a = np.random.default_rng(0).standard_normal((5, 5))
    spd = (a @ a.T + 5 * np.eye(5)).astype(np.float32)

    def logdet(s: Any) -> Any:
        return 2 * jnp.sum(jnp.log(jnp.diag(jnp.linalg.cholesky(s))))

    report = handgrad.verify(logdet, spd, grad=jnp.linalg.inv, families=["given", "size-1"], **ONE)
    assert report.ok, report
    assert {r.case.family.name for r in report.results} == {"given"}
    rows = handgrad.verify(
        lambda x: jnp.sum(jnp.tanh(x)), np.ones((5, 3)), grad=lambda x: 1 - jnp.tanh(x) ** 2, families=["size-1"], **ONE
    )
    assert {r.case.family.name for r in rows.results} == {"size-1"}  # a batch of rows is still cut


# ---- a PRNG key argument, old style and typed, is passed as given ---------------------------


def _dropout_loss(x: Any, key: Any) -> Any:
    return jnp.sum(jnp.sin(x) * jax.random.bernoulli(key, 0.5, x.shape))


@pytest.mark.parametrize("make_key", [jax.random.PRNGKey, jax.random.key], ids=["uint32", "typed"])
def test_a_prng_key_argument_is_passed_as_given(make_key: Any) -> None:
    """A typed key (jax.random.key, what JAX now recommends) raised NumPy's "PRNGKey dtype
    cannot be converted" from inside handgrad; the uint32 key of jax.random.PRNGKey worked.
    Either is passed as given: the right gradient (the mask times cos) passes, one without the
    mask fails."""
    x = np.linspace(-1.0, 1.0, 6)
    key = make_key(1)

    def right(x: Any, key: Any) -> Any:
        return jnp.cos(x) * jax.random.bernoulli(key, 0.5, x.shape)

    assert handgrad.verify(_dropout_loss, x, key, grad=right, **NORMAL).ok
    wrong = handgrad.verify(_dropout_loss, x, key, grad=lambda x, key: jnp.cos(x), **NORMAL)
    assert not wrong.ok and all(r.comparison.problem == "value" for r in wrong.failures), wrong


def test_a_grad_that_calls_numpy_is_told_without_handgrads_own_paths_or_a_word_cut() -> None:
    """NumPy on a traced argument: the message quoted JAX's 'while tracing the function formula
    at .../handgrad/user_gradient.py:109 for jit', was cut in the middle of a word, and its
    place could be cut off with it (a newcomer's finding)."""
    x = np.linspace(-1.0, 1.0, 5).astype(np.float32)

    def uses_numpy(x: Any) -> Any:
        return 2 * np.asarray(x)

    with pytest.raises(TypeError) as raised:
        handgrad.verify(lambda x: jnp.sum(x**2), x, grad=uses_numpy, dtypes=["float32"], devices=["cpu:0"])
    text = str(raised.value)
    assert "handgrad/" not in text and "user_gradient" not in text, text
    assert "(at test_verify_api_inputs.py:" in text and "write it with jax.numpy" in text, text
    quoted = text[: text.index(" (at ")]
    try:
        jax.jit(uses_numpy)(x)
    except Exception as exc:  # JAX's own words, whole
        words = set(str(exc).split())
    assert quoted.endswith("...") and quoted[:-3].split()[-1] in words, quoted  # (cut between words)


def test_a_custom_vjp_whose_bwd_returns_a_bare_array_is_told_once_up_front() -> None:
    """bwd returning 2 * x * g, not (2 * x * g,): JAX's structure error was repeated in every
    case, each 'the formula raised an exception', placed in JAX's custom_derivatives.py (a
    newcomer's finding). Now verify says it before any case, with what bwd must return."""

    @jax.custom_vjp
    def square_sum(x: Any) -> Any:
        return jnp.sum(x * x)

    square_sum.defvjp(lambda x: (square_sum(x), x), lambda x, g: 2 * x * g)
    x = np.linspace(-1.0, 1.0, 5).astype(np.float32)
    with pytest.raises(TypeError, match=r"the rule of square_sum on the example arguments") as raised:
        handgrad.verify(square_sum, x, dtypes=["float32"], devices=["cpu:0"])
    text = str(raised.value)
    assert "`return (ct,)` for one" in text and ".py:" not in text, text  # (no place in JAX or handgrad)
