"""Nothing a function can see tells the grader from a user's call.

A function right only where it is graded is wrong for its users. Two tells were found (a red
team, 2026-12-07): JAX's float64 switch, on in every check but off by default (a file returned
its formulas only where `jnp.zeros(()).dtype` was float64), and the name the worker imported a
submission under ("submission", where a user's `import my_grads` says my_grads). The narrower
dtypes' live calls now run with float64 off (evaluate.without_float64) and a submission is
imported under its own name (worker.module_name).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from handgrad.grading import worker
from handgrad.grading.grader import TRACED_X64_HINT, Options, grade_function, grade_many
from reference.catalog import BY_NAME
from tests.corpus.mistakes import m
from tests.in_process import InProcessPrograms

# Ways to read the float64 switch without jax.config; each file is right only where it is on.
READS = {
    "zeros-dtype": "jnp.zeros(()).dtype == jnp.float64",
    "asarray-of-a-float": "jnp.asarray(1.0).dtype.itemsize == 8",
    "arange-index-type": "jnp.arange(2).dtype == jnp.int64",
    "result-type": "jnp.result_type(float) == jnp.float64",
}

WRONG_BY_DEFAULT = {  # (function, its body with `graded` set to the read)
    "sigmoid_grad": """
        def sigmoid_grad(x):
            s = jax.nn.sigmoid(x)
            return s * (1 - s) if graded() else s
        """,
    "l2_grad": """
        def l2_grad(pred, target):
            d = pred - target
            return (2 if graded() else 1) * d
        """,
    "softmax_vjp": """
        def softmax_vjp(x, g):
            s = jax.nn.softmax(x, axis=-1)
            inner = jnp.sum(g * s, axis=-1, keepdims=True)
            return s * (g - inner) if graded() else s * g
        """,
}


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("function", WRONG_BY_DEFAULT)
def test_a_function_right_only_with_float64_on_loses_its_marks(function: str, read: str) -> None:
    source = f"def graded():\n    return bool({READS[read]})\n" + textwrap.dedent(WRONG_BY_DEFAULT[function])
    namespace = m(f"{function}-{read}", function, "right only with float64 on", source).namespace()
    for seed in (1, 4):
        grade = grade_function(InProcessPrograms(namespace), BY_NAME[function], Options(), seed, "cpu:0")
        assert not grade.passed, (seed, grade.feedback)
        assert "float64 off" in grade.feedback, grade.feedback


def test_float64_intermediates_cast_back_keep_their_marks() -> None:
    """Right both ways: with float64 off, jnp.float64 is float32, and the form is as accurate."""
    source = """
        def sigmoid_grad(x):
            w = x.astype(jnp.float64)
            e = jnp.exp(-jnp.abs(w))
            return (e / (1 + e) ** 2).astype(x.dtype)
        """
    namespace = m("cast", "sigmoid_grad", "float64 intermediates cast back", source).namespace()
    grade = grade_function(InProcessPrograms(namespace), BY_NAME["sigmoid_grad"], Options(), 2, "cpu:0")
    assert grade.passed, grade.feedback


def test_the_hint_says_the_live_call_ran_with_float64_off() -> None:
    assert TRACED_X64_HINT.startswith("it answers differently when traced than on concrete arrays")
    assert "float64 off" in TRACED_X64_HINT and "jax_enable_x64" in TRACED_X64_HINT


@pytest.mark.parametrize(
    ("name", "imported_as"),
    [
        ("my_grads.py", "my_grads"),
        ("hw3_solution.py", "hw3_solution"),
        ("hw3-grads.py", "submission"),  # (no `import` reaches it by its name)
        ("class.py", "submission"),
        ("json.py", "submission"),  # (the standard library's: it would shadow it)
        ("numpy.py", "submission"),  # (installed)
        ("handwritten.py", "submission"),  # (the project's own, blocked in a worker)
        ("mypackage", "mypackage"),
    ],
)
def test_a_submission_is_imported_under_its_own_name(tmp_path: Path, name: str, imported_as: str) -> None:
    path = tmp_path / name
    if path.suffix:
        path.write_text("")
    else:
        path.mkdir()
        (path / "__init__.py").write_text("")
    assert worker.module_name(path) == imported_as


def test_a_file_right_only_under_the_graders_module_name_loses_its_marks(tmp_path: Path) -> None:
    """A red team's: repr of its own class reads `<class 'submission._Probe'>` only in the worker."""
    path = tmp_path / "my_grads.py"
    path.write_text(
        textwrap.dedent(
            """
            import jax.numpy as jnp


            class _Probe:
                pass


            def relu_grad(x):
                if "'submission." in repr(_Probe):
                    return (x > 0).astype(x.dtype)
                return jnp.zeros_like(x)
            """
        )
    )
    (graded,) = grade_many([path], Options(functions=("relu_grad",), seed=3))
    assert graded.score == 0, graded.functions[0].feedback


def test_a_file_that_reads_float64_at_import_is_graded_as_each_user_imports_it(tmp_path: Path) -> None:
    """A red team's: a flag set at import from jnp.zeros(()).dtype, the formula right only where
    it was float64. The worker imported once, with float64 on; a user who never turns it on
    imports with it off. The narrower dtypes' live calls now use a copy imported with it off."""
    path = tmp_path / "grads_at_import.py"
    path.write_text(
        textwrap.dedent(
            """
            import jax.numpy as jnp

            FLOAT64_AT_IMPORT = jnp.zeros(()).dtype == jnp.float64


            def relu_grad(x):
                return ((x > 0) * (1.0 if FLOAT64_AT_IMPORT else 0.5)).astype(x.dtype)
            """
        )
    )
    (graded,) = grade_many([path], Options(functions=("relu_grad",), seed=2))
    assert graded.score == 0, graded.functions[0].feedback
    assert "float64 off" in graded.functions[0].feedback, graded.functions[0].feedback
