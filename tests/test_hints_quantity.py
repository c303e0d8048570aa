"""A derivative that returns another quantity the student knows: the function's own value
(relu'(x) written as relu(x): a red team's form was told "a branch switches at the wrong
point" and, in bfloat16, "loses its digits near 0 ... use expm1"), or the derivative's
textbook form in terms of the output evaluated at the input (sigmoid'(x) as x(1 - x)).
Each form is graded in this process as the grader would; the words must name that quantity
and only for forms that are that quantity."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import handwritten
from handgrad.grading.grader import Options, grade_function
from reference.catalog import BY_NAME
from tests.in_process import InProcessPrograms


def _hints(name: str, formula: Any) -> tuple[float, list[str], str]:
    programs = InProcessPrograms({**vars(handwritten), name: formula})
    grade = grade_function(programs, BY_NAME[name], Options(), 2, "cpu:0")
    return grade.score, re.findall(r"likely mistake: (.*)", grade.feedback), grade.feedback


ITSELF = [
    ("relu_grad", lambda x: jnp.maximum(x, 0)),
    ("sigmoid_grad", lambda x: 1 / (1 + jnp.exp(-x))),
    ("tanh_grad", jnp.tanh),
]


@pytest.mark.parametrize(("name", "formula"), ITSELF, ids=[n for n, _ in ITSELF])
def test_the_function_returned_for_its_derivative_is_named_so(name: str, formula: Any) -> None:
    score, hints, feedback = _hints(name, formula)
    assert score == 0
    of = name.removesuffix("_grad")
    assert hints and hints[0] == f"returns {of}(x) itself, not its derivative", feedback
    assert not [h for h in hints if "branch switches" in h or "digits near 0" in h], feedback


OUTPUT_FORM_AT_INPUT = [
    ("sigmoid_grad", lambda x: x * (1 - x), "s(1 - s)"),
    ("tanh_grad", lambda x: 1 - x**2, "1 - t^2"),
    ("tanh_grad", lambda x: (1 - x) * (1 + x), "1 - t^2"),
]


@pytest.mark.parametrize(("name", "formula", "words"), OUTPUT_FORM_AT_INPUT, ids=["s(1-s)", "1-t^2", "(1-t)(1+t)"])
def test_the_output_form_evaluated_at_the_input_is_named_so(name: str, formula: Any, words: str) -> None:
    score, hints, feedback = _hints(name, formula)
    assert score == 0
    assert hints and f"in terms of the output, {words}, evaluated at the input" in hints[0], feedback


NEAR_MISSES = [  # wrong, but neither quantity: the words must not come
    ("sigmoid_grad", lambda x: jax.nn.sigmoid(x) * (1 + jax.nn.sigmoid(x))),
    ("tanh_grad", lambda x: 1 - jnp.tanh(x)),
    ("relu_grad", lambda x: (x > 1).astype(x.dtype)),
    ("sigmoid_grad", lambda x: jax.nn.sigmoid(x) * 1.01),  # (sigmoid(x) itself to bfloat16's 3%)
    ("tanh_grad", lambda x: jnp.tanh(x) * 1.006),  # (and nearly to float16's 0.4%)
]


@pytest.mark.parametrize(("name", "formula"), NEAR_MISSES, ids=["s(1+s)", "1-t", "x>1", "1.01s", "1.006t"])
def test_other_wrong_derivatives_are_not_told_they_return_another_quantity(name: str, formula: Any) -> None:
    score, hints, feedback = _hints(name, formula)
    assert score < 1
    assert not [h for h in hints if "itself, not its derivative" in h or "in terms of the output" in h], feedback
