"""The run-time guards on their own: sandbox, copies, output places, limits, budget.

The hostile submissions of tests/corpus/hostile_runtime.py are graded with the static
scan turned off (Options(scan=False)), so each test shows that the sandbox alone holds:
no undeserved mark, nothing read or changed outside the sandbox, no process or file
left behind, and an honest student's marks unchanged by attackers in the same run.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import resource
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handgrad.grading import pool, reports, sandbox
from handgrad.grading.grader import FunctionGrade, Options, SubmissionGrade, grade, grade_many
from handgrad.grading.pool import Limits
from handgrad.grading.submission import SubmissionError, copy_submission, resolve
from tests.corpus.hostile_runtime import RUNTIME_HOSTILE, RuntimeHostile
from tests.corpus.hostile_runtime_2 import RUNTIME_HOSTILE_2
from tests.corpus.hostile_runtime_forged import RUNTIME_HOSTILE_FORGED
from tests.corpus.mistakes import correct_source
from tests.test_grader import project_digest

ROOT = Path(__file__).resolve().parent.parent
SMALL = Limits(timeout=8.0, memory=1 << 30, startup=60.0, budget=120.0)

needs_sandbox = pytest.mark.skipif(
    not sandbox.detect().full, reason="no sandbox here (neither root nor user namespaces): the attacks would run free"
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def attack_processes(grader: int | None = None) -> list[int]:
    """Live processes an attack of grader `grader` (default: this test process) started
    (they name themselves "hgattack"; under a cgroup, only those in that grader's cgroups:
    tests running in parallel have their own)."""
    found = []
    mine = f"handgrad-{os.getpid() if grader is None else grader}-"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() != "hgattack":
                continue
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            continue
        if mine in cgroup or "handgrad-" not in cgroup:
            found.append(int(pid))
    return found


def leftovers() -> list[str]:
    return glob.glob("/tmp/hgattack*") + glob.glob("/dev/shm/hgattack*")


def cgroups_left() -> list[str]:
    return glob.glob(f"/sys/fs/cgroup/*/**/handgrad-{os.getpid()}-*", recursive=True)


def assert_nothing_left(scratch: Path) -> None:
    for _ in range(100):  # a killed namespace's processes take a moment to be reaped
        if not attack_processes():
            break
        time.sleep(0.05)
    assert attack_processes() == [], "a process started by a submission outlived its worker"
    assert leftovers() == [], "a submission left files in the machine's /tmp or /dev/shm"
    assert list(scratch.iterdir()) == [], "the grader left a copy or a worker folder behind"
    assert cgroups_left() == [], "the grader left a cgroup behind"


# ---- the hostile corpus, sandbox alone ------------------------------------------------


def test_runtime_corpus_is_large_and_distinct() -> None:
    assert len(RUNTIME_HOSTILE) >= 12 and len(RUNTIME_HOSTILE_2) >= 4
    every = RUNTIME_HOSTILE + RUNTIME_HOSTILE_2 + RUNTIME_HOSTILE_FORGED
    assert len({h.id for h in every}) == len(every)


@needs_sandbox
@pytest.mark.parametrize("hostile", RUNTIME_HOSTILE + RUNTIME_HOSTILE_2 + RUNTIME_HOSTILE_FORGED, ids=lambda h: h.id)
def test_sandbox_alone_holds(hostile: RuntimeHostile, tmp_path: Path, scratch: Path) -> None:
    fill = {"root": str(ROOT), "victim": "victim-student.py", "out": str(tmp_path / "out")}
    path = write(tmp_path, "submission.py", hostile.module_text(**fill))
    before = project_digest()
    limits = dataclasses.replace(SMALL, memory=hostile.memory, timeout=hostile.timeout)
    options = Options(functions=hostile.graded, seed=4, limits=limits, fail_fast=getattr(hostile, "fail_fast", True),
                      scan=False, jobs=getattr(hostile, "jobs", 1))  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    result = grade(path, options)
    if hostile.id == "huge-reply":  # 512 MiB a cell (x4 under vmap): refused unread, or unrun by the runner
        assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) - rss < 256 << 20
        assert any(f"{n << 29} bytes" in result.functions[0].feedback for n in (1, 4)), result.functions[0].feedback
    got = {f.name: ("" if f.passed else f.problem) for f in result.functions}
    # "a|b": either problem is right (which one depends on the order of the checks); "": passed.
    assert got.keys() == hostile.expect.keys(), got
    for name, problem in got.items():
        assert problem in hostile.expect[name].split("|"), {f.name: f.feedback for f in result.functions}
    assert all(getattr(hostile, "said", "") in f.feedback for f in result.functions)
    text = reports.text(result) + json.dumps(reports.gradescope(result))
    for secret in hostile.secrets:
        assert secret.format(**fill) not in text
    assert result.sandbox in sandbox.FULL
    assert project_digest() == before
    assert not (tmp_path / "out").exists()
    assert_nothing_left(scratch)


@needs_sandbox
def test_honest_marks_are_the_same_with_attackers_in_the_batch(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    honest = write(subs, "victim-student.py", correct_source())
    write(subs, "control.py", correct_source())
    attackers = [h for h in RUNTIME_HOSTILE if h.id.startswith("daemon-") or h.id == "proc-cmdline"]
    attackers += [h for h in RUNTIME_HOSTILE_2 if h.id == "forged-replies"]  # (it ended the whole run)
    attackers += [h for h in RUNTIME_HOSTILE_FORGED if h.id in ("forged-huge-integer", "forged-array-as-message")]
    out = tmp_path / "out"
    fill = {"root": str(ROOT), "victim": honest.name, "out": str(out)}
    paths = [write(subs, f"{h.id}.py", h.module_text(**fill)) for h in attackers]
    options = Options(functions=("l1",), seed=9, limits=SMALL, jobs=2, scan=False)

    def marks(*files: Path, into: Path) -> dict[str, list[str]]:
        into.mkdir(mode=0o755)
        target = reports.Target(into)  # opened before any worker starts, as the command line does
        grades = grade_many(list(files), options, on_done=lambda p, g: target.write(f"{p.stem}.json", "{}"))
        target.write("marks.csv", reports.marks_csv(grades))
        target.close()
        rows = [line.split(",") for line in (into / "marks.csv").read_text().splitlines()]
        return {Path(r[0]).name: r[1:] for r in rows[1:]}

    alone = marks(honest, subs / "control.py", into=tmp_path / "alone")
    together = marks(*paths[:1], honest, *paths[1:], into=out)
    assert alone[honest.name] == together[honest.name] == ["1", "1", "ok", "1", "victim-student", ""]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["marks.csv", "victim-student.json"] + [f"{h.id}.json" for h in attackers]
    )
    for _ in range(100):
        if not attack_processes():
            break
        time.sleep(0.05)
    assert attack_processes() == [] and leftovers() == []


@needs_sandbox
def test_a_worker_killed_from_outside_is_retried_once(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "s.py", correct_source())
    kills = {"left": 1}
    original = pool.Worker.call

    def call(self: pool.Worker, *args: object, **kwargs: object) -> object:
        if kills["left"] > 0:  # as the machine's OOM killer or an operator would
            kills["left"] -= 1
            for pid in pool._children(self.proc.pid) or [self.proc.pid]:
                os.kill(pid, 9)
            time.sleep(0.2)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pool.Worker, "call", call)
    once = grade(path, Options(functions=("l1",), seed=1, limits=SMALL, scan=False))
    assert once.full_marks, once.functions[0].feedback
    kills["left"] = 2  # killed again after its retry: now it counts
    twice = grade(path, Options(functions=("l1",), seed=1, limits=SMALL, scan=False))
    (f,) = twice.functions
    assert (f.passed, f.problem) == (False, "crash") and "killed from outside" in f.feedback
    assert_nothing_left(scratch)


@needs_sandbox
def test_a_slow_import_costs_at_most_the_budget(tmp_path: Path, scratch: Path) -> None:
    path = write(tmp_path, "s.py", correct_source() + "\nimport time\ntime.sleep(30)\n")
    limits = Limits(timeout=8.0, memory=2 << 30, startup=60.0, budget=4.0)
    start = time.monotonic()
    result = grade(path, Options(functions=("relu", "relu_grad", "l1", "l2"), seed=1, limits=limits, scan=False))
    took = time.monotonic() - start
    assert took < 25, "four functions paid the 30 s import each (or one paid it in full): no budget"
    assert result.reason == "import-timeout" and result.score == 0
    assert "budget" in result.problem
    assert_nothing_left(scratch)


@needs_sandbox
def test_a_spent_budget_fails_the_functions_left_and_says_so(tmp_path: Path, scratch: Path) -> None:
    slow = "\n_fast = relu_grad\n\ndef relu_grad(x):\n    import time\n    time.sleep(60)\n    return _fast(x)\n"
    path = write(tmp_path, "s.py", correct_source() + slow)
    # The budget binds first; relu_grad sleeps, so the wall-clock bound of STARVED_CAP times
    # the budget stops it (18 s), with CPU to spare for sigmoid's worker.
    limits = Limits(timeout=100.0, memory=2 << 30, startup=60.0, budget=6.0)
    result = grade(path, Options(functions=("sigmoid", "relu_grad"), seed=1, limits=limits, scan=False))
    sigmoid, relu_grad = result.functions  # (unrelated: sigmoid's grading never calls relu_grad)
    assert sigmoid.passed and not relu_grad.passed and relu_grad.problem == "timeout"
    assert "time budget of 6 s is spent" in relu_grad.feedback
    assert result.reason == "budget" and not result.problem
    assert_nothing_left(scratch)


@needs_sandbox
def test_userns_mode_seals_too(tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDGRAD_SANDBOX", "userns")
    sandbox.detect.cache_clear()
    try:
        if sandbox.detect().mode != "userns":
            pytest.skip("user namespaces are not available here")
        for hostile in (  # (JAX's threads keep capabilities in a user namespace: the seccomp filter holds them)
            next(h for h in RUNTIME_HOSTILE if h.id == "read-project-files"),
            next(h for h in RUNTIME_HOSTILE_2 if h.id == "kernel-state"),
        ):
            path = write(tmp_path, f"{hostile.id}.py", hostile.module_text(root=str(ROOT)))
            result = grade(path, Options(functions=("relu_grad",), seed=2, limits=SMALL, fail_fast=True, scan=False))
            assert result.sandbox == "userns" and result.full_marks, result.functions[0].feedback
    finally:
        sandbox.detect.cache_clear()
    assert_nothing_left(scratch)


# ---- what students see: one message for an unimportable file; hidden means hidden ------


@needs_sandbox
@pytest.mark.parametrize(
    ("text", "reason", "said"),
    [
        ("def relu_grad(x)\n    return x\n", "syntax-error", "SyntaxError"),
        ("  \n", "empty", "empty"),
        ("raise ValueError('no formulas today')\n", "import-error", "no formulas today"),
        ("def relu_gradient(x):\n    return x\n", "no-functions", "none of the contract's functions"),
    ],
    ids=["syntax", "empty", "raises", "misnamed"],
)
def test_a_submission_that_cannot_be_graded_gets_one_message(text: str, reason: str, said: str, tmp_path: Path) -> None:
    path = write(tmp_path, "s.py", text)
    result = grade(path, Options(functions=("relu", "relu_grad", "l1"), seed=1, limits=SMALL))
    assert result.reason == reason and result.score == 0
    assert said in result.problem and said in result.summary()
    if reason != "no-functions":  # (misnamed functions are each reported missing)
        assert all(said not in f.feedback for f in result.functions)
    assert reports.text(result).count(said) == 1


def _grade_with(visibility: dict[str, str]) -> SubmissionGrade:
    functions = tuple(
        FunctionGrade(name, 0.0 if name != "l1" else 1.0, 1.0, 10, 0 if name == "l1" else 10,
                      f"feedback of {name}", visibility.get(name, "visible"), "" if name == "l1" else "value")
        for name in ("relu_grad", "l2_grad", "l1", "two_layer_grads")
    )  # fmt: skip
    return SubmissionGrade(Path("alice.py"), functions, 1.0, 7, "namespaces", reason="failed")


def test_hidden_functions_are_never_named_where_students_look() -> None:
    hidden = {"l2_grad": "hidden", "two_layer_grads": "after_due_date"}
    g = _grade_with(hidden)
    seen = g.summary() + reports.text(g) + reports.failures([g, _grade_with({})])
    data = reports.gradescope(g)
    assert "relu_grad" in seen and "relu_grad" in data["output"]
    for name in hidden:
        assert name not in g.summary() and name not in reports.text(g) and name not in data["output"]
    assert "2 more functions are graded apart" in g.summary() and "hidden function" not in g.summary()
    failures = reports.failures([g])
    assert "l2_grad" not in failures and "two_layer_grads" not in failures
    shown = {t["name"]: t["visibility"] for t in data["tests"]}
    assert shown["l2_grad"] == "hidden" and shown["two_layer_grads"] == "after_due_date"


# ---- copies: no links, no special files, bounded ---------------------------------------


def test_copy_refuses_links_and_special_files_without_reading_them(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    write(package, "__init__.py", "from .impl import *\n")
    write(package, "impl.py", "x = 1\n")
    (package / "notes.txt").symlink_to("/etc/shadow")
    with pytest.raises(SubmissionError, match=r"notes\.txt: is a symbolic link"):
        copy_submission(package, tmp_path / "copy1")
    (package / "notes.txt").unlink()
    (package / "ref.py").symlink_to(ROOT / "reference" / "catalog.py")
    with pytest.raises(SubmissionError, match="symbolic link"):
        copy_submission(package, tmp_path / "copy2")
    (package / "ref.py").unlink()
    os.mkfifo(package / "pipe")  # reading it would block forever
    with pytest.raises(SubmissionError, match="FIFO"):
        copy_submission(package, tmp_path / "copy3")
    (package / "pipe").unlink()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(package / "sock"))
        with pytest.raises(SubmissionError, match="socket"):
            copy_submission(package, tmp_path / "copy4")
    (package / "sock").unlink()
    (package / "__pycache__").mkdir()
    write(package / "__pycache__", "impl.cpython-311.pyc", "junk")
    copy_submission(package, tmp_path / "copy5")
    assert sorted(p.name for p in (tmp_path / "copy5").iterdir()) == ["__init__.py", "impl.py"]
    assert stat.S_IMODE((tmp_path / "copy5" / "impl.py").stat().st_mode) == 0o644


def test_a_linked_submission_file_is_refused_at_the_top(tmp_path: Path) -> None:
    (tmp_path / "s.py").symlink_to("/etc/shadow")
    with pytest.raises(SubmissionError, match="symbolic link"):
        resolve(tmp_path / "s.py")


def test_copy_caps_size_and_file_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handgrad.grading import submission

    big = write(tmp_path, "big.py", "x = 1\n" + "#" * (2 << 20))
    with pytest.raises(SubmissionError, match="larger than"):
        copy_submission(big, tmp_path / "big-copy.py")
    package = tmp_path / "many"
    package.mkdir()
    for i in range(5):
        write(package, f"m{i}.py", "")
    monkeypatch.setattr(submission, "MAX_FILES", 4)
    with pytest.raises(SubmissionError, match="more than 4 files"):
        copy_submission(package, tmp_path / "many-copy")


@needs_sandbox
def test_a_package_with_a_link_is_refused_with_one_message(tmp_path: Path, scratch: Path) -> None:
    package = tmp_path / "submission"
    package.mkdir()
    write(package, "__init__.py", correct_source())
    (package / "notes.txt").symlink_to("/etc/shadow")
    result = grade(package, Options(functions=("relu_grad",), seed=1, limits=SMALL))
    assert result.reason == "refused" and result.score == 0
    assert "notes.txt: is a symbolic link" in result.problem
    assert "root:" not in reports.text(result)
    assert_nothing_left(scratch)


# ---- output places ---------------------------------------------------------------------


def test_output_directory_must_exist_and_be_the_graders_alone(tmp_path: Path) -> None:
    with pytest.raises(reports.TargetError, match="no such directory"):
        reports.FileTarget(str(tmp_path / "missing" / "results.json"))
    with pytest.raises(reports.TargetError, match="no such directory"):
        reports.Target(tmp_path / "missing" / "out", create=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(reports.TargetError, match="writable by other users"):
        reports.Target(shared)
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o755)
        os.chown(theirs, 200001, 200001)  # pre-created by someone else (a worker's uid)
        with pytest.raises(reports.TargetError, match="belongs to uid 200001"):
            reports.Target(theirs, create=True)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(reports.TargetError, match="not a directory"):
        reports.Target(link)
    made = reports.Target(tmp_path / "new", create=True)
    assert (tmp_path / "new").is_dir()
    made.close()


def test_reports_replace_what_sits_at_their_name_and_never_follow_it(tmp_path: Path) -> None:
    victim = write(tmp_path, "victim.txt", "precious")
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    (out / "marks.csv").symlink_to(victim)
    target = reports.Target(out)
    target.write("marks.csv", "submission,score\n")
    assert victim.read_text() == "precious"
    assert not (out / "marks.csv").is_symlink() and (out / "marks.csv").read_text() == "submission,score\n"
    (out / "d.json").mkdir()
    with pytest.raises(reports.TargetError, match="is a directory"):
        target.write("d.json", "{}")
    target.close()
    assert sorted(p.name for p in out.iterdir()) == ["d.json", "marks.csv"]  # no temporary file left


def test_json_dash_is_standard_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = reports.FileTarget("-")
    target.write('{"score": 1}\n')
    assert capsys.readouterr().out == '{"score": 1}\n'
    assert not Path("-").exists()


def test_cli_refuses_unsafe_outputs_before_grading(tmp_path: Path) -> None:
    sub = write(tmp_path, "s.py", "x = 1\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    for args, said in (
        (["--json", str(tmp_path / "no" / "dir" / "r.json")], "no such directory"),
        (["--out", str(tmp_path / "no" / "out")], "no such directory"),
        (["--out", str(shared)], "writable by other users"),
        (["--budget", "0"], "--budget"),
    ):
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "handgrad", "grade", str(sub), *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)  # fmt: skip
        assert proc.returncode == 2 and said in proc.stderr.strip().splitlines()[-1], proc.stderr
        assert "Traceback" not in proc.stderr
        assert time.monotonic() - start < 60
    assert not (tmp_path / "no").exists()


# ---- modes and sizing ------------------------------------------------------------------


def test_without_a_sandbox_grading_needs_insecure_and_bulk_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "detect", lambda: sandbox.Sandbox("none"))
    with pytest.raises(sandbox.SandboxError, match="--insecure"):
        sandbox.require(insecure=False)
    assert sandbox.require(insecure=True).mode == "none"
    with pytest.raises(sandbox.SandboxError, match="several submissions"):
        sandbox.require(insecure=True, bulk=True)
    monkeypatch.setenv("HANDGRAD_REQUIRE_SANDBOX", "1")
    with pytest.raises(sandbox.SandboxError, match="HANDGRAD_REQUIRE_SANDBOX"):
        sandbox.require(insecure=True)
    monkeypatch.setattr(sandbox, "detect", lambda: sandbox.Sandbox("namespaces"))
    assert sandbox.require(insecure=False, bulk=True).mode == "namespaces"


def test_a_forced_mode_that_cannot_work_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDGRAD_SANDBOX", "bubbles")
    sandbox.detect.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxError, match="must be one of"):
            sandbox.detect()
        monkeypatch.setenv("HANDGRAD_SANDBOX", "none")
        sandbox.detect.cache_clear()
        assert sandbox.detect().mode == "none"
    finally:
        sandbox.detect.cache_clear()


def test_each_worker_gets_its_own_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    shares = [sandbox.cpu_share(n, 16) for n in range(16)]
    assert sorted(c for s in shares for c in s) == list(range(16))
    halves = [sandbox.cpu_share(n, 2) for n in range(2)]
    assert [len(h) for h in halves] == [8, 8] and not set(halves[0]) & set(halves[1])
    assert sandbox.cpu_share(0, 1) == list(range(16))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert [sandbox.cpu_share(n, 4) for n in range(4)] == [[0], [1], [0], [1]]


def test_address_space_grows_with_the_cores_a_worker_runs_on() -> None:
    limits = Limits(memory=4 << 30)
    one, sixteen = pool.address_space(limits, 1, False), pool.address_space(limits, 16, False)
    assert sixteen - one == 15 * 256 << 20 and one > limits.memory
    assert pool.address_space(limits, 16, True) >= 2 * limits.memory


def test_two_graders_never_hand_out_the_same_uid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("uids are only handed out by a root grader")
    monkeypatch.setattr(sandbox, "LOCK_DIR", tmp_path / "locks")
    (tmp_path / "locks").mkdir(mode=0o700)
    held = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(tmp_path / 'locks')!r} + '/uid-{sandbox.UID_BASE}', os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert held.stdout is not None and held.stdout.readline().strip() == "held"
        with sandbox.slot() as a, sandbox.slot() as b:
            assert (a, b) == (1, 2)  # 0 is the other grader's
        with sandbox.slot() as c:
            assert c == 1
    finally:
        held.kill()
        held.wait()
        if held.stdout is not None:
            held.stdout.close()


def test_json_dash_prints_results_on_stdout_and_the_report_on_stderr(tmp_path: Path) -> None:
    sub = write(tmp_path, "s.py", correct_source())
    proc = subprocess.run(
        [sys.executable, "-m", "handgrad", "grade", str(sub), "--json", "-", "--function", "l1", "--insecure"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["score"] == 1 and [t["name"] for t in data["tests"]] == ["l1"]
    assert "PASS  l1" in proc.stderr
    assert not (tmp_path / "-").exists()


@needs_sandbox
def test_without_a_cgroup_the_address_space_cap_holds(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDGRAD_CGROUP", "0")
    hostile = next(h for h in RUNTIME_HOSTILE if h.id == "resident-memory")
    path = write(tmp_path, "s.py", hostile.module_text())
    # The cap is what is tested, not the machine's speed: on a virtual machine whose memory the
    # host backs page by page on first touch (2026-12-04: about 0.5 CPU-s of page faults per
    # 64 MiB), filling a worker's address space takes longer than SMALL's 8 s.
    limits = dataclasses.replace(SMALL, timeout=40.0)
    result = grade(path, Options(functions=hostile.graded, seed=4, limits=limits, fail_fast=True, scan=False))
    got = {f.name: ("" if f.passed else f.problem) for f in result.functions}
    assert got == {"relu_grad": "memory", "l1": ""}, {f.name: f.feedback for f in result.functions}
    assert cgroups_left() == [] and "MemoryError" in result.functions[0].feedback
    assert_nothing_left(scratch)
