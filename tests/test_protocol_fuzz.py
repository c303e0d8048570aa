"""Whatever a worker writes fails only its own submission, and a class run always finishes.

Property-based: arbitrary bytes and arbitrary JSON go to the reader, to the reply's field
check, and, through a worker that replies with them (the grader's real Worker.call and
reader, fed from memory instead of a process), to grade_many beside an honest student,
whose marks must not change and whose class's marks.csv must always be written.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handwritten
from handgrad.engine import EvaluationError
from handgrad.grading import grader, pool, reports, worker
from handgrad.grading import runner as runner_module
from handgrad.grading.grader import Options, grade_many
from handgrad.grading.protocol import ProtocolError, encode_message, read_message

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.sampled_from(["ok", "kind", "message", "value", "devices", "autodiff", "complex", "__blobs__", "x"])
REPLIES = st.dictionaries(FIELDS, JSON | st.just({"__array__": 0, "dtype": "float64", "shape": [1]}), max_size=6)


def _framed(header: Any) -> bytes:
    data = json.dumps(header).encode()
    return struct.pack(">I", len(data)) + data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_the_reader_refuses_any_bytes_with_its_own_error(data: bytes) -> None:
    try:
        message = read_message(io.BytesIO(data), max_bytes=1 << 16)
    except (ProtocolError, EOFError):
        return
    assert isinstance(message, dict)


@settings(max_examples=300, deadline=None)
@given(REPLIES, st.binary(max_size=16))
def test_any_json_reply_is_a_typed_reply_or_a_protocol_error(header: dict[str, Any], blob: bytes) -> None:
    stream = io.BytesIO(_framed(header) + blob)
    try:
        reply = pool.reply_fields(read_message(stream, max_bytes=1 << 16))
    except (ProtocolError, EOFError):
        return
    assert isinstance(reply["ok"], bool) and isinstance(reply["message"], str)
    assert reply["kind"] in pool.REPLY_KINDS and all(isinstance(d, str) for d in reply["devices"])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.stream, self.deadline = io.BytesIO(data), float("inf")

    def read(self, n: int) -> bytes:
        return self.stream.read(n)


class MemoryWorker(pool.Worker):
    """pool.Worker with no process: the honest student's replies are the shipped formulas'
    values; every other submission's reply is `JUNK` (bytes). Worker.call, its reader and
    its field checks are the real ones."""

    JUNK = b""

    def __init__(
        self, budget: pool.Budget, names: tuple[str, ...] = (), runner: bool = False, wait: bool = True
    ) -> None:
        self.budget, self.limits = budget, budget.limits
        self.runner, self.waited = runner, True  # (a runner runs no student code: never junk)
        self.kinds = pool.RUNNER_KINDS if runner else pool.REPLY_KINDS
        self.closed, self.killed_by_us, self.started = False, False, 0.0
        self.import_error, self.autodiff_at_import, self.others = None, False, []
        self.defined = ["l1"]
        self.honest = budget.submission.name.startswith("honest")
        self._in = _Reader(b"")

    @property
    def alive(self) -> bool:
        return not self.closed

    def running(self) -> float:
        return 0.0

    def cpu_seconds(self) -> float | None:
        return None

    def call(self, request: Any, timeout: float, max_bytes: int, check: Any) -> dict[str, Any]:
        if self.runner:
            reply = encode_message(runner_module.answer(read_message(io.BytesIO(encode_message(request)))))
        elif self.honest:
            reply = encode_message(worker.reply_to(handwritten.l1, request, str))
        else:
            reply = self.JUNK
        self._in = _Reader(reply)
        return super().call(request, timeout, max_bytes, check)

    def _send(self, request: Any, deadline: float) -> None:
        encode_message(request)  # (what the real one writes to the pipe: it must encode)

    def _death(self) -> tuple[str, str, bool]:
        return "crash", "the process running the submission closed its channel", False

    def dispose(self) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def class_folder(tmp_path: Path) -> tuple[Path, Path]:
    honest = tmp_path / "honest.py"
    honest.write_text("def l1(pred, target):\n    return abs(pred - target).sum(-1)\n")
    hostile = tmp_path / "hostile.py"
    hostile.write_text("def l1(pred, target):\n    return abs(pred - target).sum(-1)\n")
    return honest, hostile


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.binary(max_size=64), REPLIES.map(_framed)))
def test_a_class_run_finishes_and_honest_marks_stand_whatever_a_worker_replies(
    junk: bytes, class_folder: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool, "Worker", MemoryWorker)
    monkeypatch.setattr(MemoryWorker, "JUNK", junk)
    honest, hostile = class_folder
    options = Options(functions=("l1",), seed=5, insecure=True, scan=False)
    grades = grade_many([hostile, honest], options)
    table = reports.marks_csv(grades)  # written for every class
    by = {g.path.name: g for g in grades}
    assert set(by) == {"honest.py", "hostile.py"}
    assert by["honest.py"].full_marks and by["honest.py"].reason == "ok", by["honest.py"].functions[0].feedback
    assert by["hostile.py"].score in (0.0, 1.0)
    assert table.count("\n") == 3


def test_an_exception_anywhere_in_grading_a_function_fails_only_that_submission(
    class_folder: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The class, not the case: even an error nobody foresaw while judging what a worker sent
    becomes that submission's `protocol` failure."""
    real = grader.grade_function

    def fragile(evaluator: Any, entry: Any, options: Any, seed: int, device: str, **how: Any) -> Any:
        if evaluator.submission.name == "hostile.py":
            raise np.linalg.LinAlgError("something no one foresaw")
        return real(evaluator, entry, options, seed, device, **how)

    monkeypatch.setattr(pool, "Worker", MemoryWorker)
    monkeypatch.setattr(grader, "grade_function", fragile)
    honest, hostile = class_folder
    grades = {g.path.name: g for g in grade_many([hostile, honest], Options(functions=("l1",), seed=5, scan=False))}
    assert grades["honest.py"].full_marks
    bad = grades["hostile.py"]
    assert (bad.reason, bad.functions[0].problem, bad.score) == ("protocol", "protocol", 0.0)
    assert "something no one foresaw" in bad.functions[0].feedback
    # It cannot tell an unforeseen reply from its own bug: it says both, and where it was raised.
    assert "a bug in handgrad" in bad.functions[0].feedback and "test_protocol_fuzz.py:" in bad.functions[0].feedback


def test_an_evaluator_raises_only_evaluation_errors_on_junk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "Worker", MemoryWorker)
    path = tmp_path / "hostile.py"
    path.write_text("def l1(pred, target):\n    return pred\n")
    for junk in (b"\x00\x00\x00\x02{}", _framed({"ok": True, "value": None}), _framed({"ok": "yes"}), b"\xff" * 9):
        monkeypatch.setattr(MemoryWorker, "JUNK", junk)
        ev = pool.SubmissionEvaluator(path)
        try:
            with pytest.raises(EvaluationError):
                ev("l1", transform="eager", device="cpu:0", args=(np.ones(3), np.zeros(3)), kwargs={},
                   vmap_axes=(0, 0))  # fmt: skip
        finally:
            ev.close()
