"""Kinks judged together (handgrad/verify_kinks.py, FoundKink.joint_holds): at a tie of max
each tied element alone accepts any value in [0, 1], but a subgradient's shares add up to 1.
Until 2026-12-06 an all-zero gradient, or 1 on every tied element, passed at a tie.

Both directions: gradients that are no subgradient together fail, with a note that names a
tied element; every valid subgradient of functions whose kinks meet (convex, concave, and
sums of kinks of both kinds taken with one convention) still passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad

GIVEN: dict[str, Any] = dict(devices=["cpu:0"], families=["given"], dtypes=["float32", "bfloat16", "float64"])
TIED = np.array([1.0, 3.0, 3.0, 3.0, 0.0], np.float32)
ZEROS = np.zeros(5, np.float32)
LEVEL = np.full(4, 2.0, np.float32)
TOP = np.array([1.0, 1.0, 1.0, -1.0], np.float32)
ROWS = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32)
W = np.array([1.0, -2.0, 3.0, -1.5, 0.5], np.float32)


def _max(x: Any) -> Any:
    return jnp.max(x)


def _row_max(x: Any) -> Any:
    return jnp.max(x, axis=-1)


def _range(x: Any) -> Any:
    return jnp.max(x) - jnp.min(x)


def _top2(x: Any) -> Any:
    return jnp.sum(jax.lax.top_k(x, 2)[0])


def _mixed_relu(x: Any) -> Any:  # neither convex nor concave at 0: kinks of both kinds
    return jnp.sum(W * jax.nn.relu(x))


def _norm(x: Any) -> Any:  # autodiff gives 0 at 0 (the double where), a kink in every direction
    s = jnp.sum(x * x)
    return jnp.where(s > 0, jnp.sqrt(jnp.where(s > 0, s, 1.0)), 0.0)


CLIPPED = np.array([-1.0, 1.0, 0.3, 2.0], np.float32)
POOLED = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0], np.float32)
POOL_WEIGHTS = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
LAYER_X, LAYER_V = np.array([1.0, -1.0], np.float32), np.array([1.0, -1.0, 1.0, -1.0], np.float32)
KNOTS, KNOT_VALUES = np.array([0.0, 1.0, 2.0], np.float32), np.array([0.0, 1.0, 0.0], np.float32)


def _clip_sum(x: Any) -> Any:  # at -1 a kink like |x|, at 1 one like -|x|
    return jnp.sum(jnp.clip(x, -1.0, 1.0))


def _pooled(x: Any) -> Any:  # max over windows of 2, weighted +1 and -1
    return jnp.sum(POOL_WEIGHTS * jnp.max(x.reshape(-1, 2), axis=1))


def _pool_to_first_max(x: Any) -> Any:  # a hand-written max-pool backward
    first = jax.nn.one_hot(jnp.argmax(x.reshape(-1, 2), axis=1), 2, dtype=x.dtype)
    return (first * POOL_WEIGHTS[:, None]).reshape(-1).astype(x.dtype)


def _relu_layer(w: Any) -> Any:  # every pre-activation exactly 0 at W = 0
    return jnp.sum(LAYER_V * jax.nn.relu(w @ LAYER_X))


def _relu_layer_ge(w: Any) -> Any:  # backprop with relu'(0) = 1
    return jnp.outer(LAYER_V * (w @ LAYER_X >= 0), LAYER_X).astype(w.dtype)


def _interp_sum(x: Any) -> Any:
    return jnp.sum(jnp.interp(x, KNOTS, KNOT_VALUES))


def _interp_left_slope(x: Any) -> Any:  # the segment left of a knot, on [0, 2)
    slopes = jnp.diff(KNOT_VALUES) / jnp.diff(KNOTS)
    i = jnp.clip(jnp.searchsorted(KNOTS, x, side="left") - 1, 0, len(slopes) - 1)
    return jnp.where((x > KNOTS[0]) & (x < KNOTS[-1]), slopes[i], 0.0).astype(x.dtype)


def _tied_mask(x: Any) -> Any:
    return (x == jnp.max(x, axis=-1, keepdims=True)).astype(x.dtype)


def _const(values: list[float]) -> Callable[[Any], Any]:
    return lambda x: jnp.asarray(values, x.dtype)


WRONG_TOGETHER = [
    ("max-zero-at-the-tie", _max, _const([0, 0, 0, 0, 0]), TIED),
    ("max-one-on-every-tied", _max, _tied_mask, TIED),
    ("range-all-ones", _range, jnp.ones_like, LEVEL),
    ("top2-one-on-every-tied", _top2, _const([1, 1, 1, 0]), TOP),
    ("norm-at-zero-all-ones", _norm, jnp.ones_like, ZEROS),  # |g| = sqrt(5) > 1
]


@pytest.mark.parametrize(("f", "grad", "x"), [w[1:] for w in WRONG_TOGETHER], ids=[w[0] for w in WRONG_TOGETHER])
def test_values_valid_alone_but_not_together_fail_and_name_the_tie(f: Any, grad: Any, x: np.ndarray) -> None:
    report = handgrad.verify(f, x, grad=grad, **GIVEN)
    assert not report.ok
    worst = report.worst
    assert worst is not None and "sit at kinks that meet" in worst.hint, worst.message()
    assert "one subgradient" in worst.hint
    # The element named is one of the tied ones: its input value occurs elsewhere in x.
    ((name, value),) = worst.inputs_at_worst.items()
    assert name.startswith("x[") and np.sum(x == np.asarray(value, np.float32)) >= 2


def test_a_vector_valued_max_is_judged_row_by_row_with_its_cotangent() -> None:
    def shares(x: Any, ct: Any) -> Any:
        m = _tied_mask(x)
        return m / m.sum(-1, keepdims=True) * ct[..., None]

    assert handgrad.verify(_row_max, ROWS, grad=shares, transforms=["jit", "vmap"], **GIVEN).ok
    every = handgrad.verify(_row_max, ROWS, grad=lambda x, ct: _tied_mask(x) * ct[..., None], **GIVEN)
    assert not every.ok and every.worst is not None and "sit at kinks that meet" in every.worst.hint


RIGHT_TOGETHER = [
    ("max-uneven-shares", _max, _const([0, 0.2, 0.3, 0.5, 0]), TIED),
    ("max-one-hot", _max, _const([0, 0, 0, 1, 0]), TIED),
    ("range-zero", _range, jnp.zeros_like, LEVEL),
    ("range-first-minus-last", _range, _const([1, 0, 0, -1]), LEVEL),
    ("top2-thirds", _top2, _const([2 / 3, 2 / 3, 2 / 3, 0]), TOP),
    ("top2-two-of-three", _top2, _const([1, 0, 1, 0]), TOP),
    ("mixed-relu-convention-0", _mixed_relu, lambda x: (W * (x > 0)).astype(x.dtype), ZEROS),
    ("mixed-relu-convention-1", _mixed_relu, lambda x: (W * (x >= 0)).astype(x.dtype), ZEROS),
    ("mixed-relu-convention-half", _mixed_relu, lambda x: (0.5 * W * jnp.ones_like(x)).astype(x.dtype), ZEROS),
    ("l1-ones-at-zero", lambda x: jnp.sum(jnp.abs(x)), jnp.ones_like, ZEROS),
    ("l1-sign-at-zero", lambda x: jnp.sum(jnp.abs(x)), jnp.sign, ZEROS),
    ("norm-at-zero-inside-the-ball", _norm, lambda x: jnp.full_like(x, 0.4), ZEROS),
    ("norm-at-zero-a-unit-vector", _norm, lambda x: jnp.zeros_like(x).at[0].set(1), ZEROS),
    ("median-autodiff", jnp.median, jax.grad(jnp.median), np.ones(3, np.float32)),
    # Kinks of both kinds (like |x| and like -|x|) in one argument: f is neither convex nor
    # concave there, and any value valid alone at each is valid together (a second red team's
    # finds, 2026-12-06: each failed the joint check).
    ("clip-closed-at-both-bounds", _clip_sum, lambda x: (jnp.abs(x) <= 1).astype(x.dtype), CLIPPED),
    ("clip-open-at-both-bounds", _clip_sum, lambda x: (jnp.abs(x) < 1).astype(x.dtype), CLIPPED),
    ("max-pool-under-signed-weights", _pooled, _pool_to_first_max, POOLED),
    ("relu-layer-at-zero-init", _relu_layer, _relu_layer_ge, np.zeros((4, 2), np.float32)),
    ("interp-left-segment-at-knots", _interp_sum, _interp_left_slope, np.array([1.0, 2.0, 0.5], np.float32)),
]


@pytest.mark.parametrize(("f", "grad", "x"), [r[1:] for r in RIGHT_TOGETHER], ids=[r[0] for r in RIGHT_TOGETHER])
def test_every_subgradient_of_meeting_kinks_passes(f: Any, grad: Any, x: np.ndarray) -> None:
    report = handgrad.verify(f, x, grad=grad, **GIVEN)
    assert report.ok, report.worst.message() if report.worst else report


# Kinks shared by two arguments (maximum(a, b), relu(a - b), |a - b| where a == b): each
# element alone accepts its own range, so until 2026-12-06 a rule that gave both arguments
# the whole tie (or neither, or a and not b for relu(a - b)) passed.
A2 = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
B2 = np.array([0.5, 1.0, 2.0, -0.25], np.float32)  # tied with A2 at elements 0 and 2
TWO: dict[str, Any] = dict(GIVEN, argnums=(0, 1))


def _maximum(a: Any, b: Any) -> Any:
    return jnp.sum(jnp.maximum(a, b))


def _minimum(a: Any, b: Any) -> Any:
    return jnp.sum(jnp.minimum(a, b))


def _relu_gap(a: Any, b: Any) -> Any:
    return jnp.sum(jax.nn.relu(a - b))


def _abs_gap(a: Any, b: Any) -> Any:
    return jnp.sum(jnp.abs(a - b))


def _relu_both(a: Any, b: Any) -> Any:  # separate kinks of one kind: any convention passes at each
    return jnp.sum(jax.nn.relu(a) + 2 * jax.nn.relu(b))


def _f(x: Any, like: Any) -> Any:  # a condition as 0 and 1 in the arguments' dtype
    return x.astype(like.dtype)


WRONG_ACROSS = [
    ("maximum-both-take-the-tie", _maximum, lambda a, b: (_f(a >= b, a), _f(b >= a, a))),
    ("maximum-neither-takes-the-tie", _maximum, lambda a, b: (_f(a > b, a), _f(b > a, a))),
    ("minimum-both-take-the-tie", _minimum, lambda a, b: (_f(a <= b, a), _f(b <= a, a))),
    ("relu-gap-a-takes-it-b-does-not", _relu_gap, lambda a, b: (_f(a >= b, a), -_f(a > b, a))),
    ("abs-gap-one-sign-for-both", _abs_gap, lambda a, b: (_f(a >= b, a) * 2 - 1, _f(a >= b, a) * 2 - 1)),
]


@pytest.mark.parametrize(("f", "grad"), [w[1:] for w in WRONG_ACROSS], ids=[w[0] for w in WRONG_ACROSS])
def test_kinks_shared_by_two_arguments_are_judged_together(f: Any, grad: Any) -> None:
    report = handgrad.verify(f, A2, B2, grad=grad, **TWO)
    assert not report.ok
    worst = report.worst
    assert worst is not None and "meets kinks of" in worst.hint, worst.message()
    ((name, value),) = worst.inputs_at_worst.items()  # a tied element: a[0] or a[2], b[0] or b[2]
    assert name[:1] in "ab" and float(np.asarray(value)) in (0.5, 2.0)


RIGHT_ACROSS = [
    ("maximum-halves", _maximum, lambda a, b: (_f(a > b, a) + 0.5 * _f(a == b, a), _f(b > a, a) + 0.5 * _f(a == b, a))),
    ("maximum-to-a", _maximum, lambda a, b: (_f(a >= b, a), _f(b > a, a))),
    ("maximum-to-b", _maximum, lambda a, b: (_f(a > b, a), _f(b >= a, a))),
    (
        "minimum-quarter-to-a",
        _minimum,
        lambda a, b: (_f(a < b, a) + 0.25 * _f(a == b, a), _f(b < a, a) + 0.75 * _f(a == b, a)),
    ),
    ("relu-gap-zero-at-the-tie", _relu_gap, lambda a, b: (_f(a > b, a), -_f(a > b, a))),
    ("relu-gap-one-at-the-tie", _relu_gap, lambda a, b: (_f(a >= b, a), -_f(a >= b, a))),
    ("abs-gap-sign", _abs_gap, lambda a, b: (jnp.sign(a - b), -jnp.sign(a - b))),
    ("separate-relus-ones", _relu_both, lambda a, b: (_f(a >= 0, a), 2 * _f(b >= 0, a))),
    ("separate-relus-zeros", _relu_both, lambda a, b: (_f(a > 0, a), 2 * _f(b > 0, a))),
]


@pytest.mark.parametrize(("f", "grad"), [r[1:] for r in RIGHT_ACROSS], ids=[r[0] for r in RIGHT_ACROSS])
def test_every_subgradient_of_kinks_shared_by_two_arguments_passes(f: Any, grad: Any) -> None:
    x = (np.zeros(4, np.float32), np.zeros(4, np.float32)) if f is _relu_both else (A2, B2)
    report = handgrad.verify(f, *x, grad=grad, **TWO)
    assert report.ok, report.worst.message() if report.worst else report


def lmax(m: Any) -> Any:  # (named as the red team named it: a case's draws follow its name)
    return jnp.linalg.eigvalsh(m)[-1]


def lmax_grad_bad(m: Any) -> Any:
    _, v = jnp.linalg.eigh(m)
    return jnp.outer(v[-1, :], v[-1, :])


def test_equal_elements_away_from_a_kink_are_not_told_as_a_tie() -> None:
    """A red team's largest-eigenvalue rule taking a row of V for a column failed rightly, but
    was told "A[3, 1] and 1 other element of A equal to it sit at kinks that meet (a tie of max
    or min ...)": A[i, j] == A[j, i] in any symmetric matrix, and the worst element was at no
    kink. The tie note is for failures at a kink only."""
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((4, 4))
    a = (a0 @ a0.T + 4 * np.eye(4)).astype(np.float32)
    report = handgrad.verify(lmax, a, grad=lmax_grad_bad)
    assert len(report.failures) > 20
    noted = [r for r in report.failures if "kinks that meet" in r.hint]
    assert not [r.case.id for r in noted if r.comparison is None or not r.comparison.worst.at_kink]
