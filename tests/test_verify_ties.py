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
