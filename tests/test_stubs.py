"""Stubs are read from the source and graded at once; anything less certain is run.

Pairs: a body that is certainly a stub beside one that only looks like one (a decorator,
a rebinding, a star import, code after the raise), which must be left to the worker.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits
from handgrad.grading.stubs import find_stubs

FAST = Limits(timeout=8.0, memory=3 << 30, startup=60.0)

STUBS = {
    "raise-bare": ("def relu(x):\n    raise NotImplementedError\n", "raises"),
    "raise-call": ("def relu(x):\n    'doc'\n    raise NotImplementedError('todo')\n", "raises"),
    "pass": ("def relu(x):\n    '''doc'''\n    pass\n", "returns-none"),
    "ellipsis": ("def relu(x): ...\n", "returns-none"),
    "return-none": ("def relu(x):\n    return None\n", "returns-none"),
    "return": ("def relu(x):\n    return\n", "returns-none"),
    "docstring-only": ("def relu(x):\n    '''Not done.'''\n", "returns-none"),
}

NOT_STUBS = {
    "decorated": "import functools\n@functools.cache\ndef relu(x):\n    raise NotImplementedError\n",
    "rebound-by-assignment": "def relu(x):\n    raise NotImplementedError\ndef _r(x):\n    return x\nrelu = _r\n",
    "defined-twice": "def relu(x):\n    raise NotImplementedError\ndef relu(x):\n    return x\n",
    "star-import": "def relu(x):\n    raise NotImplementedError\nfrom math import *\n",
    "imported-as": "def relu(x):\n    raise NotImplementedError\nfrom math import fabs as relu\n",
    "code-after-raise-guard": "def relu(x):\n    if x is None:\n        raise NotImplementedError\n    return x\n",
    "other-exception": "def relu(x):\n    raise ValueError('no')\n",
    "raise-from": "def relu(x):\n    raise NotImplementedError from None\n",
    "returns-a-value": "def relu(x):\n    return x\n",
    "global-rebinds": "def relu(x):\n    raise NotImplementedError\ndef fix():\n    global relu\n",
    "nested-only": "def outer():\n    def relu(x):\n        raise NotImplementedError\n    return relu\n",
}


@pytest.mark.parametrize(("source", "kind"), STUBS.values(), ids=list(STUBS))
def test_a_certain_stub_is_found(tmp_path: Path, source: str, kind: str) -> None:
    path = tmp_path / "s.py"
    path.write_text(source)
    assert find_stubs(path, ["relu", "l1"]) == {"relu": kind}


@pytest.mark.parametrize("source", NOT_STUBS.values(), ids=list(NOT_STUBS))
def test_anything_less_certain_is_left_to_the_worker(tmp_path: Path, source: str) -> None:
    path = tmp_path / "s.py"
    path.write_text(source)
    assert find_stubs(path, ["relu"]) == {}


def test_in_a_package_only_a_stub_bound_once_is_read_from_the_source(tmp_path: Path) -> None:
    """A re-export (`from .todo import l1`) binds the name again: the worker decides that one."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .impl import relu\nfrom .todo import l1\n\ndef l2(a, y):\n    ...\n")
    (pkg / "impl.py").write_text("def relu(x):\n    return x\n")
    (pkg / "todo.py").write_text("def relu(x):\n    raise NotImplementedError\n\ndef l1(a, y):\n    pass\n")
    assert find_stubs(pkg, ["relu", "l1", "l2"]) == {"l2": "returns-none"}


def test_unparsable_source_gives_no_stubs(tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    path.write_text("def relu(x):\n    raise NotImplementedError\ndef l1(:\n")
    assert find_stubs(path, ["relu"]) == {}


def test_stubs_are_reported_without_a_worker_and_real_functions_still_graded(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        textwrap.dedent(
            """
            import jax.numpy as jnp

            def relu(x):
                raise NotImplementedError("relu is not implemented yet")

            def l1(pred, target):
                pass

            def _real_relu_grad(x):
                return (x > 0).astype(x.dtype)

            def relu_grad(x):
                raise NotImplementedError

            relu_grad = _real_relu_grad  # looks like a stub above, is not: graded by running it
            """
        )
    )
    options = Options(insecure=True, functions=("relu", "relu_grad", "l1"), seed=3, limits=FAST)
    result = {f.name: f for f in grade(path, options).functions}
    assert result["relu_grad"].passed and result["relu_grad"].score == 1
    assert result["relu"].score == 0 and result["relu"].feedback.startswith("Not implemented yet")
    assert result["l1"].score == 0 and "returned None" in result["l1"].feedback
    assert "return" in result["l1"].feedback  # the hint: a `return` is missing


def test_a_function_returning_none_when_run_stops_after_its_first_check() -> None:
    """A stub the source reading cannot be sure of (decorated here) is found by calling it: its
    first eager answer is None, and none of its other checks are run: through the grader's
    programs too, which are traced only after the first check (so never, here)."""
    import functools

    from handgrad.grading.grader import Options, grade_function
    from reference.catalog import CATALOG
    from tests.in_process import InProcessPrograms

    calls: list[int] = []

    def wrap(f: Any) -> Any:
        @functools.wraps(f)
        def inner(*a: Any, **k: Any) -> Any:
            return f(*a, **k)

        return inner

    @wrap
    def nothing(*a: Any, **k: Any) -> None:
        calls.append(1)

    entry = CATALOG[0]
    graded = grade_function(InProcessPrograms({entry.name: nothing}), entry, Options(), 0, "cpu:0")
    assert graded.score == 0 and len(calls) == 1, (len(calls), graded.feedback)
    assert "returned None" in graded.feedback or "None" in graded.feedback
