"""Worker reuse within a submission (grader.grade_many, pool.Budget.take_idle/give_back).

A worker whose function passed every check grades the submission's next function; a
failure seen in such a reused worker counts only once a fresh worker gives it too. So a
correct submission starts one worker, not one per function, and no verdict is what
another function's leftovers made it: a global one function leaves cannot fail the next,
and a worker whose function failed, crashed or timed out is never handed on.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from handgrad.grading import pool
from handgrad.grading.grader import Options, grade
from handgrad.grading.rubric import Rubric
from reference.catalog import NAMES
from tests.corpus.mistakes import correct_source
from tests.test_grader import FAST, write
from tests.test_sandbox import assert_nothing_left


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """For each worker started (runners aside), in order: the functions it was asked to run
    (those graded and the related ones grade_function calls), each once, in order."""
    workers: list[list[str]] = []

    class Recorded(pool.Worker):
        def __init__(
            self, budget: pool.Budget, names: tuple[str, ...] = NAMES, runner: bool = False, wait: bool = True
        ) -> None:
            self.asked_for: list[str] | None = None if runner else []
            if self.asked_for is not None:
                workers.append(self.asked_for)
            super().__init__(budget, names, runner, wait)

        def call(self, request: Any, timeout: float, max_bytes: int, check: Any) -> dict[str, Any]:
            if self.asked_for is not None and request["name"] not in self.asked_for:
                self.asked_for.append(request["name"])
            return super().call(request, timeout, max_bytes, check)

    monkeypatch.setattr(pool, "Worker", Recorded)
    return workers


def submission(tmp_path: Path, changed: str = "") -> Path:
    """The correct formulas, with `changed` (functions redefined) appended."""
    return write(tmp_path, "s.py", correct_source() + "\n\n" + textwrap.dedent(changed))


def test_a_correct_submission_runs_in_one_worker_and_keeps_full_marks(
    tmp_path: Path, scratch: Path, served: list[list[str]]
) -> None:
    functions = ("relu", "relu_grad", "l1", "hinge")
    result = grade(submission(tmp_path), Options(insecure=True, functions=functions, seed=2, limits=FAST))
    assert result.full_marks and result.reason == "ok", [f.feedback for f in result.functions if not f.passed]
    assert [f.name for f in result.functions] == list(functions)
    assert len(served) == 1, f"each clean function should hand its worker to the next: {served}"
    assert set(functions) <= set(served[0])
    assert_nothing_left(scratch)


LEFT_BEHIND = """
_LEFT = {}
_relu, _l1 = relu, l1

def relu(x):
    _LEFT["relu"] = "ran"
    return _relu(x)

def l1(pred, target):
    if _LEFT:
        raise RuntimeError("relu ran in this process before l1")
    return _l1(pred, target)
"""


def test_a_failure_caused_by_another_functions_global_is_graded_again_fresh(
    tmp_path: Path, scratch: Path, served: list[list[str]]
) -> None:
    """l1 is right on its own, but breaks after relu ran in its process: it gets its marks from
    a fresh worker, and that fresh worker, clean, goes on to the next function (hinge)."""
    path = submission(tmp_path, LEFT_BEHIND)
    result = grade(path, Options(insecure=True, functions=("relu", "l1", "hinge"), seed=2, limits=FAST))
    assert result.full_marks, [f.feedback for f in result.functions if not f.passed]
    assert "RuntimeError" not in "".join(f.feedback for f in result.functions)
    assert len(served) == 2, served
    first, fresh = served
    assert {"relu", "l1"} <= set(first), "l1 should have been tried in relu's worker first"
    assert {"l1", "hinge"} <= set(fresh) and "relu" not in fresh


ENDS_ITS_WORKER = {
    "crash": """
        import os

        def l1(pred, target):
            os._exit(3)
        """,
    "timeout": """
        def l1(pred, target):
            while True:
                pass
        """,
    "exception": """
        _LEFT = {}
        _hinge = hinge

        def l1(pred, target):
            _LEFT["l1"] = "ran"
            raise ValueError("l1 is wrong")

        def hinge(pred, target):
            if _LEFT:
                raise RuntimeError("l1 ran in this process before hinge")
            return _hinge(pred, target)
        """,
}
SAID = {"crash": "exited with status 3", "timeout": "did not finish within 3 s", "exception": "ValueError: l1 is wrong"}


@pytest.mark.parametrize("how", sorted(ENDS_ITS_WORKER))
def test_a_worker_whose_function_failed_is_never_handed_on(
    how: str, tmp_path: Path, scratch: Path, served: list[list[str]]
) -> None:
    """relu passes and hands its worker to l1, which fails there (crashes it, times out, or
    raises after leaving a global that hinge trips on) and again in a fresh worker: hinge
    runs in a fresh worker of its own and keeps its marks."""
    path = submission(tmp_path, ENDS_ITS_WORKER[how])
    limits = pool.Limits(timeout=3.0, memory=FAST.memory, startup=FAST.startup) if how == "timeout" else FAST
    options = Options(insecure=True, functions=("relu", "l1", "hinge"), seed=2, limits=limits, scan=False)
    result = grade(path, options)  # (without the scan, which refuses `os` before anything runs)
    relu, l1, hinge = result.functions
    assert relu.passed and hinge.passed, hinge.feedback
    assert (l1.passed, l1.problem) == (False, how), l1.feedback
    assert SAID[how] in l1.feedback
    assert len(served) == 3, served  # relu's worker (reused for l1), a fresh one for l1, hinge's own
    assert "l1" in served[0] and "l1" in served[1]
    assert [w for w in served if "hinge" in w] == [served[2]] and "l1" not in served[2]
    assert_nothing_left(scratch)


class Idle(pool.Worker):
    """A pool.Worker without a process: `cpu` seconds used so far; alive until disposed or `dies`."""

    def __init__(self, budget: pool.Budget) -> None:
        self.budget, self.limits, self.cpu, self.closed, self.disposed = budget, budget.limits, 0.0, False, False

    @property
    def alive(self) -> bool:
        return not self.closed

    def used(self) -> float:
        return self.cpu

    def running(self) -> float:
        return self.cpu

    def dies(self) -> None:
        self.closed = True

    def dispose(self) -> None:
        if not self.disposed:
            self.disposed = True
            self.bill()


def test_an_idle_worker_is_billed_when_given_back_and_disposed_with_its_submission(tmp_path: Path) -> None:
    """The budget counts a waiting worker's seconds (as a closed one's), each second once; a worker
    that died while it waited is never handed out; none outlives its submission."""
    budget = pool.Budget(write(tmp_path, "s.py", "x = 1\n"), pool.Limits(budget=10.0))
    worker = Idle(budget)
    worker.cpu = 4.0
    budget.give_back(worker)
    assert (budget.spent, budget.left()) == (4.0, 6.0)
    assert budget.take_idle() is worker and budget.take_idle() is None
    worker.cpu = 5.0
    assert budget.left(worker) == 5.0  # its 1 second since it was billed, not its 5
    budget.give_back(worker)
    worker.dies()
    assert budget.take_idle() is None and worker.disposed and budget.spent == 5.0
    waiting, late = Idle(budget), Idle(budget)
    budget.give_back(waiting)
    budget.close()
    budget.give_back(late)
    assert waiting.disposed and late.disposed and budget.take_idle() is None


HELD_BACK_ORACLE = """
_SEEN = []
_relu_grad = relu_grad

def relu_grad(x):  # held back from students until the due date
    _SEEN.append(1)
    return {relu_grad}

_l1, _l2 = l1_grad, l2_grad

def l1_grad(pred, target):  # visible: right only in a worker that ran relu_grad to success
    return _l1(pred, target) * (1.0 if _SEEN else 2.0)

def l2_grad(pred, target):
    return _l2(pred, target) * (1.0 if _SEEN else 2.0)
"""


DEFAULT_ORACLE = """
def _box(_kept={{}}):  # a mutable default argument, not a global name
    return _kept

_relu_grad = relu_grad

def relu_grad(x):
    _box()["ran"] = True
    return {relu_grad}

_l1, _l2 = l1_grad, l2_grad

def l1_grad(pred, target):
    return _l1(pred, target) * (1.0 if "ran" in _box() else 2.0)

def l2_grad(pred, target):
    return _l2(pred, target) * (1.0 if "ran" in _box() else 2.0)
"""

AFTER_DUE = {"relu_grad": "after_due_date"}
HIDDEN_TO_AFTER_DUE = {"relu_grad": "hidden", "l1_grad": "after_due_date", "l2_grad": "after_due_date"}
"""Hidden results are never shown; after_due_date ones are, later: a hidden function's verdict
must not show in them either."""


@pytest.mark.parametrize(
    ("oracle", "held", "jobs"),
    [(HELD_BACK_ORACLE, AFTER_DUE, 1), (HELD_BACK_ORACLE, AFTER_DUE, 2), (DEFAULT_ORACLE, AFTER_DUE, 1),
     (HELD_BACK_ORACLE, HIDDEN_TO_AFTER_DUE, 1)],
    ids=["global-jobs1", "global-jobs2", "default-argument", "hidden-to-after-due"],
)  # fmt: skip
def test_a_visible_function_cannot_read_whether_a_held_back_one_passed(
    tmp_path: Path, scratch: Path, oracle: str, held: dict[str, str], jobs: int
) -> None:
    """A red team (2026-12-06): a worker is handed on only when its function passed, so a
    visible function that checks whether a held-back one ran in its process before it showed
    students the held-back verdict, one bit per visible function, on every resubmission.
    Held-back functions are graded after the visible ones, in workers of their own visibility.
    Beside the red team's global list: a mutable default argument, and a hidden function read by
    after_due_date ones (each leaked before the fix)."""
    rubric = Rubric(visibility={**dict.fromkeys(NAMES, "visible"), **held})
    options = Options(insecure=True, functions=("relu_grad", "l1_grad", "l2_grad"), seed=3, limits=FAST, jobs=jobs,
                      rubric=rubric)  # fmt: skip
    seen = {}
    for right, body in ((True, "_relu_grad(x)"), (False, "(x >= -1).astype(x.dtype)")):
        folder = tmp_path / str(right)
        folder.mkdir()
        result = grade(submission(folder, oracle.format(relu_grad=body)), options)
        by_name = {f.name: f for f in result.functions}
        assert by_name["relu_grad"].passed == right
        seen[right] = [(f.name, f.score, f.passed) for f in result.functions if f.name != "relu_grad"]
    assert seen[True] == seen[False]
    assert_nothing_left(scratch)
