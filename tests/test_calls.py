"""A broken helper is told once: the grader reads from the source which contract functions
call which (handgrad/grading/calls.py) and names a failing function that failing ones call."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.grading.calls import contract_calls, shared_causes
from handgrad.grading.grader import FunctionGrade, SubmissionGrade

NAMES = ("softmax", "softmax_jacobian", "softmax_vjp", "cross_entropy_grad", "sigmoid", "sigmoid_grad")

STUDENT = """
import jax.numpy as jnp


def _shifted(x):
    return jnp.exp(x)  # no max subtracted


def _normalised(x):
    e = _shifted(x)
    return e / jnp.sum(e, axis=-1, keepdims=True)


def softmax(x):
    return _normalised(x)


def softmax_jacobian(x):
    s = softmax(x)
    return s[..., :, None] * (jnp.eye(s.shape[-1]) - s[..., None, :])


def softmax_vjp(x, g):
    s = _normalised(x)  # through helpers only: the same computation as softmax
    return s * (g - jnp.sum(g * s, axis=-1, keepdims=True))


def cross_entropy_grad(z, y):
    return jnp.sum(y, axis=-1, keepdims=True) * softmax(z) - y


def sigmoid(x):
    return 1 / (1 + jnp.exp(-x))


def sigmoid_grad(x):
    return jnp.exp(-x) / (1 + jnp.exp(-x)) ** 2
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_calls_are_read_directly_and_through_helpers(tmp_path: Path) -> None:
    calls = contract_calls(_write(tmp_path, STUDENT), NAMES)
    assert calls == {
        "softmax_jacobian": frozenset({"softmax"}),
        "cross_entropy_grad": frozenset({"softmax"}),
    }  # softmax_vjp shares softmax's helpers, not softmax: no call; sigmoid_grad calls nothing


def test_a_helper_that_calls_the_function_counts(tmp_path: Path) -> None:
    text = STUDENT + "\n\ndef _probs(x):\n    return softmax(x)\n\n\ndef softmax_vjp(x, g):\n    return _probs(x) * g\n"
    # softmax_vjp is now defined twice: which def runs is not certain from the text, so no calls for it
    assert "softmax_vjp" not in contract_calls(_write(tmp_path, text), NAMES)
    once = STUDENT.replace("s = _normalised(x)  #", "s = _probs(x)  #") + "\n\ndef _probs(x):\n    return softmax(x)\n"
    assert contract_calls(_write(tmp_path, once), NAMES)["softmax_vjp"] == frozenset({"softmax"})


@pytest.mark.parametrize(
    "tail",
    [
        "\nfrom math import *\n",  # a star import may rebind any name
        "\ndef broken(:\n",  # a syntax error (the import verdict says it)
        "\nif True:\n    def softmax(x):\n        return x\n",  # rebound inside an `if`: not certain
        "\ndef rebind():\n    global softmax\n    softmax = None\n",  # rebound through `global`
    ],
)
def test_what_cannot_be_read_for_certain_gives_no_calls(tmp_path: Path, tail: str) -> None:
    calls = contract_calls(_write(tmp_path, STUDENT + tail), NAMES)
    assert "softmax" not in {c for called in calls.values() for c in called}


def test_a_package_gives_no_calls(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(STUDENT, encoding="utf-8")
    assert contract_calls(tmp_path / "pkg", NAMES) == {}


def _function(name: str, passed: bool, visibility: str = "visible") -> FunctionGrade:
    return FunctionGrade(name, float(passed), 1.0, 1, int(not passed), "", visibility, "" if passed else "value")


def _grade(tmp_path: Path, failed: set[str], hidden: frozenset[str] = frozenset()) -> SubmissionGrade:
    calls = contract_calls(_write(tmp_path, STUDENT), NAMES)
    functions = tuple(_function(n, n not in failed, "hidden" if n in hidden else "visible") for n in NAMES)
    return SubmissionGrade(
        tmp_path / "s.py", functions, 1.0, 1, "namespaces", reason="failed",
        calls=tuple((k, tuple(sorted(v))) for k, v in calls.items()),
    )  # fmt: skip


def test_the_summary_names_the_failing_function_that_failing_ones_call(tmp_path: Path) -> None:
    grade = _grade(tmp_path, {"softmax", "softmax_jacobian", "cross_entropy_grad"})
    assert (
        "softmax_jacobian and cross_entropy_grad call softmax, which fails too: fix softmax first "
        "(their failures may be its own)." in grade.summary()
    )
    # Only the callers that fail: a caller that passes is no evidence, a callee that passes no cause.
    one = _grade(tmp_path, {"softmax", "cross_entropy_grad"}).summary()
    assert "cross_entropy_grad calls softmax, which fails too: fix softmax first (its failures may be its own)." in one
    assert "fix" not in _grade(tmp_path, {"softmax_jacobian", "cross_entropy_grad"}).summary()


def test_a_hidden_function_is_named_in_no_shared_cause(tmp_path: Path) -> None:
    failed = {"softmax", "softmax_jacobian", "cross_entropy_grad"}
    assert "fix" not in _grade(tmp_path, failed, hidden={"softmax"}).summary()
    hidden_caller = _grade(tmp_path, failed, hidden={"cross_entropy_grad"}).summary()
    assert "softmax_jacobian calls softmax" in hidden_caller and "cross_entropy_grad" not in hidden_caller


def test_shared_causes_keeps_the_order_given() -> None:
    calls = {"b": frozenset({"a"}), "c": frozenset({"a", "b"})}
    assert shared_causes(calls, ["a", "b", "c"]) == [
        "b and c call a, which fails too: fix a first (their failures may be its own).",
        "c calls b, which fails too: fix b first (its failures may be its own).",
    ]
