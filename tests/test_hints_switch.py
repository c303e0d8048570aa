"""A branch that switches at the wrong point (hints.switch_window): relu's derivative written
`x > 1`, the hinge's with `margin < 0`. Until 2026-12-06 each check told what its few elements
looked like ("zero where the value is not: a missing term", "loses its digits near 0", "0 right
next to the kink"), three or more causes for one mistake. Now every failing check of such a
function names the misplaced switch, as one cause; a tolerance at the kink itself keeps its own
hint, and so do mistakes that are not of this shape."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import pytest

from handgrad.grading.grader import Options, grade_function
from reference.catalog import BY_NAME
from tests.in_process import InProcessPrograms

SWITCHED = "a branch switches at the wrong point"


def _relu_at(threshold: float, strict: bool = True) -> Any:
    def relu_grad(x: Any) -> Any:
        return ((x > threshold) if strict else (x >= threshold)).astype(x.dtype)

    return relu_grad


def _hinge_at(level: float) -> Any:
    def hinge_grad(a: Any, y: Any) -> Any:
        margin = jnp.sum(y * a, axis=-1, keepdims=True)
        return jnp.where(margin < level, -y, jnp.zeros_like(y))

    return hinge_grad


def _l1_shifted(a: Any, y: Any) -> Any:  # sign(a - y - 0.5): wrong for 0 < a - y < 0.5
    return jnp.sign(a - y - 0.5).astype(a.dtype)


def _grade(name: str, formula: Any) -> Any:
    return grade_function(InProcessPrograms({name: formula}), BY_NAME[name], Options(), 3, "cpu:0")


MISPLACED = [
    ("relu_grad", "relu-above-1", _relu_at(1.0)),
    ("relu_grad", "relu-above-minus-half", _relu_at(-0.5)),
    ("relu_grad", "relu-from-half", _relu_at(0.5, strict=False)),
    ("hinge_grad", "hinge-margin-below-0", _hinge_at(0.0)),
    ("hinge_grad", "hinge-margin-below-2", _hinge_at(2.0)),
    ("l1_grad", "l1-sign-shifted", _l1_shifted),
]


@pytest.mark.parametrize(("name", "formula"), [(m[0], m[2]) for m in MISPLACED], ids=[m[1] for m in MISPLACED])
def test_a_branch_switching_at_the_wrong_point_is_one_cause_named_as_such(name: str, formula: Any) -> None:
    grade = _grade(name, formula)
    assert grade.score == 0
    first = grade.feedback.split("First failing check:", 1)[1]
    likely = next(line for line in first.splitlines() if "likely mistake:" in line)
    assert SWITCHED in likely, grade.feedback
    assert "Another cause" not in grade.feedback and "show this same problem" in grade.feedback, grade.feedback


def test_a_tolerance_at_the_kink_keeps_its_own_hint() -> None:
    # x > 1e-8 is wrong only within 1e-8 of the kink: a tolerance, as its hint says.
    grade = _grade("relu_grad", _relu_at(1e-8))
    assert grade.score == 0 and "right next to the kink" in grade.feedback and SWITCHED not in grade.feedback


def test_a_wrong_value_on_one_whole_side_is_not_a_misplaced_switch() -> None:
    # 0.5 where relu' is 1: wrong on the whole of x > 0, right only below: a constant factor.
    def relu_grad(x: Any) -> Any:
        return (0.5 * (x > 0)).astype(x.dtype)

    grade = _grade("relu_grad", relu_grad)
    assert grade.score == 0 and SWITCHED not in grade.feedback and "1/2" in grade.feedback
