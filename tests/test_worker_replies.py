"""Findings of a red team on the grader (2026-12-05) that reached the student in the wrong
words (the grader's own error, a crash, autodiff for finite differences): each must be the
function's verdict, said in the student's terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.grading.grader import FunctionGrade, Options, grade
from handgrad.grading.pool import Limits

SLOW_ONLY_AS_A_PROGRAM = """
import jax
import jax.numpy as jnp
from jax import lax


def relu_grad(x):
    x = jnp.asarray(x)
    d = (x > 0).astype(x.dtype)
    if isinstance(x, jax.core.Tracer):  # fast when called, endless once compiled
        d = lax.fori_loop(0, 1 << 40, lambda i, c: c + jnp.sin(c) * 0, d)
    return d


def l1_grad(pred, target):
    return jnp.sign(pred - target)
"""

UNSENDABLE_DTYPES = """
import jax.numpy as jnp


def tanh_grad(x):
    t = jnp.tanh(jnp.asarray(x, jnp.float32))
    return (1 - t * t).astype(jnp.{dtype})  # the right values, in a dtype the contract never returns


def l1_grad(pred, target):
    return jnp.sign(pred - target)
"""


def _grade(tmp_path: Path, source: str, *functions: str, timeout: float = 8.0) -> dict[str, FunctionGrade]:
    path = tmp_path / "sub.py"
    path.write_text(source, encoding="utf-8")
    limits = Limits(timeout=timeout, memory=3 << 30, startup=60.0, budget=120.0)
    options = Options(insecure=True, functions=functions, seed=3, limits=limits)
    return {f.name: f for f in grade(path, options).functions}


def test_a_program_endless_in_the_runner_is_a_timeout_not_a_grader_error(tmp_path: Path) -> None:
    """The runner timing out on a function's whole program was told as an error the grader did
    not foresee (a bug to report). Now the function's checks are asked one by one, each within
    its own limit (the batch may be slow for its size alone), and an endless program times out
    there: the function's verdict, in its words. The file's other function keeps its mark."""
    got = _grade(tmp_path, SLOW_ONLY_AS_A_PROGRAM, "relu_grad", "l1_grad", timeout=2.0)
    relu = got["relu_grad"]
    assert relu.score == 0 and relu.problem == "timeout", relu.feedback
    assert "did not finish within 2 s" in relu.feedback
    assert "did not foresee" not in relu.feedback and "report it" not in relu.feedback
    assert got["l1_grad"].passed


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "int4"])
def test_a_return_value_the_protocol_cannot_carry_is_a_bad_return(tmp_path: Path, dtype: str) -> None:
    """A worker whose reply could not be encoded died with handgrad's own traceback, shown to
    the student as a crash of their submission. It is a bad return now, naming the dtype."""
    got = _grade(tmp_path, UNSENDABLE_DTYPES.format(dtype=dtype), "tanh_grad", "l1_grad")
    tanh = got["tanh_grad"]
    assert tanh.score == 0 and tanh.problem == "bad-return", tanh.feedback
    assert dtype in tanh.feedback and "keep the input's float dtype" in tanh.feedback
    assert "Traceback" not in tanh.feedback and "protocol.py" not in tanh.feedback
    # The header counts what the tier lines count: the checks that failed, then those not run
    # after the failure (it once said "Failed 84 of 84" above tiers that each failed one).
    failed, not_run = sum(v.failed for v in tanh.tiers), sum(v.not_run for v in tanh.tiers)
    assert 0 < failed < tanh.checks and not_run > 0
    assert tanh.feedback.splitlines()[0] == f"Failed {failed} of {tanh.checks} checks; {not_run} not run."
    assert got["l1_grad"].passed


def test_the_librarys_finite_differences_are_named_as_such(tmp_path: Path) -> None:
    """jnp.gradient is refused as a derivative not derived; the feedback says what it did."""
    source = (
        "import jax\nimport jax.numpy as jnp\n\n\ndef sigmoid_grad(x):\n"
        "    grid = jnp.stack([x - 1e-3, x, x + 1e-3])\n"
        "    return jnp.gradient(jax.nn.sigmoid(grid), 1e-3, axis=0)[1]\n\n\n"
        "def l1_grad(pred, target):\n    return jnp.sign(pred - target)\n"
    )
    got = _grade(tmp_path, source, "sigmoid_grad", "l1_grad")
    sigmoid = got["sigmoid_grad"]
    assert sigmoid.score == 0 and sigmoid.problem == "autodiff", sigmoid.feedback
    assert "differentiates numerically: " in sigmoid.feedback and "jnp.gradient" in sigmoid.feedback
    assert "uses automatic differentiation" not in sigmoid.feedback
    assert got["l1_grad"].passed
