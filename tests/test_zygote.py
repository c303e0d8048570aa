"""Workers forked from the zygote (handgrad/grading/zygote.py): sealed exactly as a worker
started as its own interpreter, all forked by one process, and gone when it is."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from handgrad.grading import pool, sandbox, zygote
from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits
from tests.corpus.mistakes import correct_source
from tests.test_sandbox import SMALL, needs_sandbox, write

PROBE = r"""
UID_BASE = {uid_base}
import hashlib, json, os, re, resource, socket, sys

def _kind(n):
    try:
        target = os.readlink(f"/proc/self/fd/{n}")
    except OSError:
        return "?"
    return target.split(":")[0] if ":" in target else re.sub(r"#\d+", "#", target)

_status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
_seen = {
    "descriptors": sorted(_kind(n) for n in os.listdir("/proc/self/fd")),
    "environment": {k: v for k, v in os.environ.items() if k != "PWD"},
    "directory": os.getcwd(),
    # (the uid and the cores are the slot's, and a slot is whichever is free: other graders on
    # this machine hold some, so only their kind is compared)
    "ids": [os.getuid() == os.getgid() == os.geteuid(), os.getuid() == 0, os.getuid() >= UID_BASE,
            os.getpid(), os.getppid(), os.getsid(0) == os.getpid()],
    "host": socket.gethostname(),
    "limits": [resource.getrlimit(getattr(resource, n)) for n in
               ("RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE", "RLIMIT_CPU")],
    "cores": len(os.sched_getaffinity(0)),
    "mounts": sorted(line.split()[4] + " " + line.split()[5] for line in open("/proc/self/mountinfo")),
    "privileges": {k: _status[k].strip() for k in ("Seccomp", "NoNewPrivs", "CapEff", "CapBnd", "CapPrm", "CapInh")},
    "signals": {k: _status[k].strip() for k in ("SigIgn", "SigBlk", "SigCgt")},
    "interpreter": [sys.flags.isolated, sys.flags.ignore_environment, sys.flags.dont_write_bytecode, sys.path],
    "network": sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else None,
}
import numpy as np
(np.ones((400, 400)) @ np.ones((400, 400))).sum()  # (BLAS starts its threads: as many as the worker's cores)
_seen["threads"] = open("/proc/self/status").read().split("Threads:")[1].split()[0]
raise RuntimeError("SEEN" + json.dumps({k: hashlib.sha1(json.dumps(v, sort_keys=True).encode()).hexdigest()[:8]
                                        for k, v in _seen.items()}) + "END")
""".replace("{uid_base}", str(sandbox.UID_BASE))


@pytest.fixture(autouse=True)
def _forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the zygote: on, whatever the environment says."""
    monkeypatch.setenv("HANDGRAD_ZYGOTE", "1")


def seen(path: Path) -> dict[str, str]:
    """What the probe saw at import, as a digest per kind."""
    graded = grade(path, Options(functions=("relu",), seed=1, limits=SMALL, scan=False, jobs=2))
    found = re.search(r"SEEN(\{.*?\})END", graded.problem)
    assert found, graded.problem
    return dict(json.loads(found.group(1)))


@needs_sandbox
def test_a_forked_worker_sees_what_a_worker_started_anew_sees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Descriptors, environment, ids, namespaces (host name, mounts, network), limits, cores,
    privileges (seccomp, capabilities), signal dispositions, the interpreter's flags and path,
    and its threads once BLAS ran (a share of the cores: --jobs 2): the same whichever way
    the worker started."""
    path = write(tmp_path, "probe.py", PROBE)
    with sandbox.slot():  # (a slot held elsewhere, as another grader on this machine would)
        forked = seen(path)
    monkeypatch.setenv("HANDGRAD_ZYGOTE", "0")
    fresh = seen(path)
    assert sorted(forked) == sorted(fresh)
    assert [k for k in forked if forked[k] != fresh[k]] == []


@needs_sandbox
def test_every_worker_of_a_grade_is_forked_by_one_zygote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parents: list[int | None] = []
    original = pool.Worker.__init__

    def started(self: pool.Worker, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        parent = None
        if isinstance(self.proc, zygote.Started):
            parent = int(Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        parents.append(parent)

    monkeypatch.setattr(pool.Worker, "__init__", started)
    path = write(tmp_path, "s.py", correct_source())
    graded = grade(path, Options(functions=("relu", "relu_grad", "l1"), seed=2, limits=SMALL, scan=False))
    assert graded.full_marks
    assert len(parents) >= 2 and None not in parents, parents  # (a worker and a runner at least)
    assert len(set(parents)) == 1 and parents[0] != os.getpid()
    # A fork copies only the forking thread: the zygote must have no other. (OpenBLAS, which
    # starts a pool as it loads unless told to use one thread, stops it before each fork by
    # itself; a thread anything else started would be missing in every worker.)
    assert len(os.listdir(f"/proc/{parents[0]}/task")) == 1


@needs_sandbox
def test_workers_die_with_their_zygote_and_the_next_worker_gets_a_new_one(tmp_path: Path) -> None:
    budget = pool.Budget(write(tmp_path, "s.py", correct_source()), Limits())
    worker = pool.Worker(budget, runner=True)
    try:
        assert isinstance(worker.proc, zygote.Started) and worker.alive
        keeper = worker.proc.pid
        (init,) = pool._children(keeper)
        zygote.close_all()  # as when the grader ends: its end of the socket closes
        for _ in range(100):
            if not any(os.path.exists(f"/proc/{pid}") for pid in (keeper, init)):
                break
            time.sleep(0.05)
        assert not any(os.path.exists(f"/proc/{pid}") for pid in (keeper, init))
        assert worker.proc.wait(timeout=5) == -9 and not worker.alive
    finally:
        worker.dispose()
        budget.close()
    again = grade(write(tmp_path, "t.py", correct_source()), Options(functions=("relu",), seed=3, limits=SMALL))
    assert again.full_marks


@needs_sandbox
@pytest.mark.parametrize("how", ["exit-137", "exit-0"])
def test_a_worker_that_ends_itself_is_told_from_one_killed_from_outside(tmp_path: Path, how: str) -> None:
    """Exit status 137 is not SIGKILL: no retry, and the status the submission chose is said."""
    code = how.split("-")[1]
    path = write(tmp_path, "s.py", correct_source() + f"\nimport os\nos._exit({code})\n")
    graded = grade(path, Options(functions=("relu",), seed=1, limits=SMALL, scan=False))
    assert graded.reason == "import-crash", (graded.reason, graded.problem)
    assert f"exited with status {code}" in graded.problem and "outside" not in graded.problem


@needs_sandbox
def test_a_zygote_that_died_is_not_asked_again_and_grades_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "s.py", correct_source())
    assert grade(path, Options(functions=("relu",), seed=1, limits=SMALL)).full_marks
    made = zygote._zygotes[tuple(sorted(pool.worker_env(sandbox.detect(), Path("/")).items()))]
    made.proc.kill()  # (as the machine's OOM killer would)
    made.proc.wait()
    kinds: list[str] = []
    original = pool.Worker.__init__

    def started(self: pool.Worker, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        kinds.append(type(self.proc).__name__)

    monkeypatch.setattr(pool.Worker, "__init__", started)
    again = grade(path, Options(functions=("relu", "l1"), seed=2, limits=SMALL))
    assert again.full_marks, [f.feedback for f in again.functions]
    assert kinds and set(kinds) == {"Popen"} and made.broken
    zygote.close_all()  # (the next test's grades get a zygote again)
