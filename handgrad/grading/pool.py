"""Worker processes for one submission, and the evaluator the matrix talks to.

`SubmissionEvaluator` looks like any other evaluator (handgrad.engine.Evaluator): it
takes a function name and inputs and returns arrays. Behind it a sandboxed worker
process holds the imported submission. A worker whose function passed every check goes
back to its submission's idle list (`Budget.give_back`) and grades that submission's
next function (`Budget.take_idle`), never another submission's; the grader keeps a
failure seen in such a reused worker only after grading the function again in a fresh
one (grader.grade_many), so state a function leaves behind can fail no other. A call
that overruns its time, a worker that dies or hangs, a reply that is not what the case
expects: each fails that function, and its worker is killed with everything it started.

Per submission (`Budget`): one copy of its files, made once, read-only to every
worker; a total time budget that every worker's start-up and calls draw from; an
import failure, recorded once and not retried; at most `Limits.restarts` retries of a
worker killed from outside (the OOM killer of the machine, another process); its idle
workers.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handgrad.allowlist import NUMERICALLY
from handgrad.engine import EvaluationError
from handgrad.escape import printable
from handgrad.evaluate import Output
from handgrad.grading import sandbox, zygote
from handgrad.grading.plan import Plan, cell_key, program_key
from handgrad.grading.protocol import (
    DTYPES,
    MAX_MESSAGE_BYTES,
    READY,
    REPLY,
    ProtocolError,
    encode_message,
    read_message,
    validate,
)
from handgrad.grading.submission import copy_submission, staged_name
from handgrad.scan import Finding
from reference.catalog import BY_NAME, NAMES
from reference.keywords import named

UNSHARE_SIGKILL = "unshare: sigprocmask unblock failed: Invalid argument"
"""What unshare says, exiting with status 1, when the namespace's init was SIGKILLed."""
GiB = 1 << 30
MiB = 1 << 20
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0
    """Wall-clock seconds for one evaluation of one function on one case."""
    memory: int = 4 * GiB
    """Memory cap of one worker, in bytes: resident memory (a cgroup) where the grader
    can make one, else address space plus an allowance per thread (see address_space)."""
    startup: float = 120.0
    """Seconds for a worker to start JAX and import the submission."""
    budget: float = 300.0
    """Seconds of worker time (start-ups and calls, all functions) per submission."""
    restarts: int = 3
    """Retries per submission of a worker killed from outside (one per function)."""
    jobs: int = 1
    """Workers running at once: each gets 1/jobs of the cores."""
    tmp: int = 64 * MiB
    """Size of a worker's private /tmp and of its /dev/shm."""
    processes: int = 256
    """Processes and threads of one worker (cgroup pids.max)."""


def address_space(limits: Limits, cores: int, cgroup: bool) -> int:
    """RLIMIT_AS for a worker. XLA reserves address space per thread (stacks, arenas)
    that it never touches, so a cap on address space alone must grow with the cores the
    worker runs on; under a cgroup, which counts resident memory, it only stops single
    absurd allocations early (they fail as MemoryError instead of the OOM killer)."""
    allowance = limits.memory + cores * 256 * MiB + GiB
    return max(allowance, 2 * limits.memory + 8 * GiB) if cgroup else allowance


class _DeadlineReader:
    """A read(n) on a pipe that raises TimeoutError past a deadline, unless `more_time` (asked
    when the deadline passes) grants more seconds."""

    def __init__(self, fd: int, more_time: Callable[[], float] | None = None) -> None:
        self.fd = fd
        self.deadline = float("inf")
        self.more_time = more_time

    def read(self, n: int) -> bytes:
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                extra = self.more_time() if self.more_time is not None else 0.0
                if extra <= 0:
                    raise TimeoutError
                self.deadline = time.monotonic() + extra
                continue
            ready, _, _ = select.select([self.fd], [], [], min(left, 3600))
            if ready:
                return os.read(self.fd, min(n, 1 << 24))


STARVED_CAP = 3.0
"""A call's timeout and a submission's budget count the worker's own CPU seconds, so a busy
machine costs a student nothing: a call starved of CPU may wait up to this many times its
timeout in wall-clock time, and a submission may take this many times its budget (a loop
that spins is stopped at the timeout as before: it uses its CPU; one that sleeps is
stopped by the wall-clock bound)."""


RESCAN = 0.5
"""Seconds between scans of all of /proc for the members of a worker's process tree."""
_MEMBERS: dict[int, tuple[float, list[int]]] = {}
"""Each tree's root: (when its members were found, the members below it)."""


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds of a live process tree from /proc (each process's own time and that of the
    children it reaped), or None where /proc cannot say. Finding the members means reading
    every process's stat, which the grader did twice per request; they are found again at
    most every RESCAN seconds, and in between only theirs are read. A process started since
    is counted from the next scan; one that ended was reaped, so its parent counts its time."""
    now = time.monotonic()
    found = _MEMBERS.get(pid)
    if found is None or now - found[0] > RESCAN:
        found = _MEMBERS[pid] = (now, _descendants(pid))
    total = 0.0
    try:
        for p in [pid, *found[1]]:
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                if p == pid:
                    raise
                continue  # ended and reaped since the scan: counted by its parent
            total += sum(int(f) for f in fields[11:15])
    except (OSError, ValueError, IndexError):
        _MEMBERS.pop(pid, None)
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write `data` to a non-blocking pipe, raising TimeoutError past `deadline`: a worker
    that stops reading its requests (or shrinks the pipe) cannot block the grader."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        _, ready, _ = select.select([], [fd], [], min(left, 3600))
        if not ready:
            raise TimeoutError
        try:
            view = view[os.write(fd, view[: 1 << 16]) :]
        except BlockingIOError:
            continue


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _descendants(pid: int) -> list[int]:
    """Every live process below pid (read from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def scrub(text: str, *extra: str | Path) -> str:
    """Text from a worker with the grader's own paths taken out, safe to print (printable)."""
    for path in sorted({str(p) for p in (ROOT, sys.prefix, sys.base_prefix, *extra)},
                       key=len, reverse=True):  # fmt: skip
        if len(path) > 1:
            text = text.replace(path, "…")
    return printable(text)


class Staged:
    """A submission's files copied once (checked, no links) for all its workers."""

    def __init__(self, submission: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="handgrad-sub-"))
        try:
            os.chmod(self.dir, 0o700)
            inner = self.dir / "s"
            inner.mkdir(mode=0o755)
            os.chmod(inner, 0o755)
            self.path = inner / staged_name(submission)  # a notebook is staged as its code, NAME.py
            copy_submission(submission, self.path)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Budget:
    """What all workers of one submission share: its files, its time, its verdicts."""

    submission: Path
    limits: Limits
    spent: float = 0.0
    """CPU seconds its closed workers used (wall-clock seconds where CPU time cannot be read)."""
    spent_wall: float = 0.0
    """Their wall-clock seconds: bounded by STARVED_CAP times the budget, so a submission that
    sleeps, which costs no CPU, still cannot hold a grader for long."""
    restarts: int = 0
    import_error: EvaluationError | None = None
    autodiff_at_import: bool = False
    allow_autodiff: bool = False
    """Its workers keep JAX's differentiation (--allow-autodiff); else they have none
    (worker.switch_off_differentiation)."""
    defined: list[str] | None = None
    others: list[str] = field(default_factory=list)
    """Other public callables the submission defines (worker.other_names)."""
    cache: Path | None = None
    """Its runners' compilation cache (compile_cache.runner_dir; None: none)."""
    _staged: Staged | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _runners: list[Worker] = field(default_factory=list)
    """Started runners not running a program now, the first perhaps still starting."""
    _runners_out: int = 0
    """Runners started and not disposed, idle or running a program."""
    _runner_turn: threading.Condition = field(default_factory=threading.Condition)
    """Held while runners are counted, taken or handed back; notified when one is handed back."""
    _idle: dict[str, list[Worker]] = field(default_factory=dict)
    """Live workers whose last function passed every check, waiting for the next function of
    the same group (the grader's group is a function's visibility: take_idle)."""
    _closed: bool = False

    def prestart_runner(self) -> None:
        """Start the first runner's process without waiting for it (it starts JAX while the
        first worker does)."""
        with self._runner_turn:
            if self._runners_out == 0 and self.import_error is None:
                self._runners.append(Worker(self, runner=True, wait=False))
                self._runners_out += 1

    @contextlib.contextmanager
    def runner(self) -> Iterator[Worker]:
        """A runner of the submission for one program: a sealed worker that never imports the
        submission, for its exported programs. Up to `jobs` run at once (each graded function
        has its own core share), so one function's compile does not wait for another's; an
        idle one is taken, else one is started while fewer than `jobs` exist, else the caller
        waits for one. One that died is replaced."""
        runner: Worker | None = None
        with self._runner_turn:
            while not self._runners and self._runners_out >= max(1, self.limits.jobs):
                self._runner_turn.wait()
            if self._runners:
                runner = self._runners.pop()
            else:
                self._runners_out += 1
        try:
            if runner is not None and not runner.waited:
                runner.wait()
            if runner is not None and not runner.alive:
                error = runner.import_error
                runner.dispose()
                runner = None
                if error is not None:
                    raise error
            if runner is None:
                runner = Worker(self, runner=True)
                if runner.import_error is not None:
                    raise runner.import_error
            yield runner
        finally:
            with self._runner_turn:
                keep = runner is not None and runner.alive and not self._closed
                if keep and runner is not None:
                    self._runners.append(runner)
                else:
                    self._runners_out -= 1
                self._runner_turn.notify()
            if not keep and runner is not None:
                runner.dispose()

    def take_idle(self, group: str = "") -> Worker | None:
        """A live worker that graded another function of this submission in the same `group`
        and was given back, or None (the caller starts a fresh one). One that died while it
        waited is disposed. The grader groups functions by visibility: a worker that ran a
        held-back function is never handed to a visible one, whose result would otherwise
        show whether the held-back one passed (a worker is given back only then)."""
        while True:
            with self._lock:
                idle = self._idle.get(group)
                if not idle:
                    return None
                worker = idle.pop()
            if worker.alive:
                return worker
            worker.dispose()  # (outside the lock: it charges the budget)

    def give_back(self, worker: Worker, group: str = "") -> None:
        """Keep `worker`, alive and billed up to now, for this submission's next function of
        `group`. The caller vouches that its function passed every check (or never reached
        it); a dead worker, or any after close(), is disposed instead."""
        if worker.alive:
            worker.bill()
            with self._lock:
                if not self._closed:
                    self._idle.setdefault(group, []).append(worker)
                    return
        worker.dispose()

    def staged(self) -> Path:
        with self._lock:
            if self._staged is None:
                self._staged = Staged(self.submission)
            return self._staged.path

    def left(self, worker: Worker | None = None) -> float:
        """Seconds left, counting `worker` (still running) too: the smaller of the CPU budget
        left and what is left of STARVED_CAP times the budget in wall-clock time."""
        cpu, wall = worker.unbilled() if worker is not None else (0.0, 0.0)
        budget = self.limits.budget
        return min(budget - self.spent - cpu, STARVED_CAP * budget - self.spent_wall - wall)

    def charge(self, seconds: float, wall: float | None = None) -> None:
        with self._lock:
            self.spent += seconds
            self.spent_wall += seconds if wall is None else wall

    def take_restart(self) -> bool:
        with self._lock:
            if self.restarts >= self.limits.restarts:
                return False
            self.restarts += 1
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = [w for ws in self._idle.values() for w in ws], {}
        for worker in idle:
            worker.dispose()
        with self._runner_turn:
            runners, self._runners = self._runners, []
            self._runners_out -= len(runners)
        for runner in runners:
            runner.dispose()
        with self._lock:
            if self._staged is not None:
                self._staged.remove()
                self._staged = None


class WorkerDied(EvaluationError):
    """A worker ended without answering; `outside` when nothing it did explains it."""

    def __init__(self, kind: str, message: str, outside: bool = False) -> None:
        super().__init__(kind, message)
        self.outside = outside


def worker_env(box: sandbox.Sandbox, workdir: Path) -> dict[str, str]:
    """A worker's whole environment (in a full sandbox it does not depend on `workdir`)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/tmp" if box.full else str(workdir),
        "TMPDIR": "/tmp" if box.full else str(workdir),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        "JAX_PLATFORMS": "cpu",  # see grader.grading_device
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena otherwise
    }
    return {k: v for k, v in env.items() if v}


def prestart_zygote(box: sandbox.Sandbox) -> None:
    """Start the zygote workers are forked from (zygote.py) without waiting for it: it imports
    JAX while the grader copies and scans the submissions."""
    if box.full:
        zygote.prestart(worker_env(box, Path("/")))


class Worker:
    """One worker process holding one imported submission: for one function, or for several
    of that submission in turn while each passes every check (Budget.give_back)."""

    calls = 0
    """Requests sent to it so far: a worker taken from the idle list with calls has run
    another function (one never asked anything is as it was when it imported)."""
    _billed: tuple[float, float] = (0.0, 0.0)
    """(CPU, wall-clock) seconds already charged to the budget (bill)."""

    def __init__(self, budget: Budget, names: tuple[str, ...] = NAMES, runner: bool = False, wait: bool = True) -> None:
        self.budget = budget
        self.kinds = RUNNER_KINDS if runner else REPLY_KINDS
        """The failure kinds believed from this process (a runner's are the grader's own verdicts)."""
        self.limits = limits = budget.limits
        self.box = sandbox.detect()
        self.started = time.monotonic()
        self.closed = False
        self.killed_by_us = False
        staged = budget.staged()
        self._slot = sandbox.slot()
        slot = self._slot.__enter__()
        cpus = sandbox.cpu_share(slot, limits.jobs)
        self.workdir = Path(tempfile.mkdtemp(prefix="handgrad-worker-"))
        os.chmod(self.workdir, 0o700)
        name = f"handgrad-{os.getpid()}-{slot}-{id(self):x}"
        self.cgroup = (
            sandbox.make_cgroup(name, limits.memory, limits.processes, len(cpus))
            if self.box.mode == "namespaces"
            else None
        )
        self.log = tempfile.TemporaryFile(prefix="handgrad-worker-log-")
        self.outer_log = tempfile.TemporaryFile(prefix="handgrad-worker-log-")
        """What setpriv, unshare and the interpreter say before the worker moves its own output
        to `log` (--log): the submission cannot write here, so unshare's word is its own."""
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()

        def worker_args(inp: int, out: int, log: int) -> list[str]:
            args = ["--in", str(inp), "--out", str(out), "--submission", str(staged), "--names", ",".join(names)]
            args += ["--log", str(log)]
            args += ["--address-space", str(address_space(limits, len(cpus), self.cgroup is not None))]
            args += ["--cpus", ",".join(map(str, cpus)), "--tmp-bytes", str(limits.tmp)]
            if self.box.mode == "userns":
                args.append("--userns")
            if budget.allow_autodiff and not runner:
                args.append("--keep-autodiff")
            if runner:
                args.append("--runner")
                if budget.cache is not None:
                    args += ["--cache", str(budget.cache)]
            return args

        procs = self.cgroup.procs if self.cgroup is not None else ()
        env = worker_env(self.box, self.workdir)
        try:
            forked = None
            if self.box.full:  # forked from a process that has imported JAX already (zygote.py)
                fixed = zygote.FIRST_FD
                forked = zygote.start(
                    env,
                    [*worker_args(fixed, fixed + 1, fixed + 2), *self.box.sealing(slot)],
                    (self.outer_log.fileno(), req_r, rep_w, self.log.fileno()),
                    str(self.workdir),
                    tuple(map(str, procs)),
                    self.box.mode == "userns",
                )
            if forked is not None:
                self.proc: subprocess.Popen[bytes] | zygote.Started = forked
            else:
                python = [sys.executable, "-I", "-m", "handgrad.grading.worker"]
                self.proc = subprocess.Popen(  # our own interpreter and module
                    self.box.command([*python, *worker_args(req_r, rep_w, self.log.fileno())], slot, procs),
                    stdin=subprocess.DEVNULL,
                    stdout=self.outer_log,
                    stderr=self.outer_log,
                    pass_fds=(req_r, rep_w, self.log.fileno()),
                    cwd=self.workdir,
                    env=env,
                    start_new_session=True,
                )
        except BaseException:  # could not start: leave no descriptor or folder behind
            for fd in (req_r, rep_w, self._req_w, self._rep_r):
                os.close(fd)
            self.log.close()
            self.outer_log.close()
            self._release()
            raise
        self.started = time.monotonic()  # (a first worker waited for the zygote's imports: not its time)
        os.close(req_r)
        os.close(rep_w)
        os.set_blocking(self._req_w, False)  # written with a deadline (_write_all)
        self._in = _DeadlineReader(self._rep_r, self._more_time)
        self._call: tuple[float | None, float, float] | None = None
        """(CPU seconds, wall clock, timeout) at the start of the call in progress."""
        self.defined: list[str] = []
        self.others: list[str] = []
        self.import_error: EvaluationError | None = None
        self.autodiff_at_import = False
        self.waited = False
        if wait:
            self.wait()

    def wait(self) -> None:
        """Read the worker's first message (once): it imported the submission, or not."""
        self.waited = True
        try:
            self._start()
        except BaseException:  # whatever happens, no process, cgroup or uid slot outlives it
            self.dispose()
            raise

    def _release(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.workdir, ignore_errors=True)
        with contextlib.suppress(Exception):
            self._slot.__exit__(None, None, None)

    def _start(self) -> None:
        left = self.budget.left()
        try:
            ready = self._receive(max(0.0, min(self.limits.startup, left)), MAX_MESSAGE_BYTES >> 8)
        except WorkerDied as exc:
            if exc.outside:
                raise
            reason = exc.kind if exc.kind in ("timeout", "protocol") else "crash"
            if reason == "timeout" and left < self.limits.startup and self.budget.defined is not None:
                self.import_error = EvaluationError("timeout", f"the submission's time budget of "
                                                    f"{self.limits.budget:g} s is spent")  # fmt: skip
                self.close()
                return
            if reason == "timeout" and left < self.limits.startup:
                what = f"did not finish importing within the time left of its budget ({self.limits.budget:g} s)"
            else:
                what = "did not finish importing in time" if reason == "timeout" else "died while being imported"
            why = ""
            if reason == "timeout":  # (a worker's own start takes seconds: the file's top level ran on)
                why = (
                    "; code at the top level of the file (outside every def) runs when it is imported: an "
                    "endless loop, input(), or a long computation there?"
                )
            self.import_error = EvaluationError(reason, f"the submission {what}: {exc.message}{why}")
            self.close()
            return
        try:
            ready = validate(ready, READY)
        except ProtocolError as exc:
            self.close()
            self.import_error = EvaluationError("protocol", f"the worker's first message was refused ({exc})")
            return
        self.autodiff_at_import = ready["autodiff"]
        if not ready["ok"] and self.autodiff_at_import and not self.budget.allow_autodiff:
            # It differentiated while imported, which this worker cannot do (switched off): that
            # is the failure to tell, for every function, not the import error it raised.
            self.close()
            return
        if not ready["ok"]:
            message = scrub(ready["message"][:2000], self.workdir, self.budget.staged().parent)
            self.import_error = EvaluationError("import", f"importing the submission failed: {message}")
            self.close()
            return
        self.defined = ready["defined"]
        self.others = [n for n in ready["others"] if n.isidentifier()][:200]

    def log_tail(self, limit: int = 600, outer: bool = False) -> str:
        """The end of what the worker printed (`outer`: what ran before it, unshare)."""
        log = self.outer_log if outer else self.log
        try:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - limit))
            return scrub(log.read().decode("utf-8", "replace").strip(), self.workdir, self.budget.staged().parent)
        except (OSError, ValueError):
            return ""

    def _receive(self, timeout: float, max_bytes: int, check: Any = None) -> dict[str, Any]:
        self._in.deadline = time.monotonic() + timeout
        try:
            return read_message(self._in, max_bytes, check)  # type: ignore[arg-type]
        except TimeoutError:
            self.close()
            raise WorkerDied("timeout", f"no answer within {timeout:.3g} s") from None
        except (EOFError, OSError):
            kind, message, outside = self._death()
            self.close()
            raise WorkerDied(kind, message, outside) from None
        except ProtocolError as exc:
            self.close()
            raise WorkerDied("protocol", f"the worker's reply was refused ({exc})") from None

    def _death(self) -> tuple[str, str, bool]:
        """(kind, message, outside): how the worker ended, and whether anything it did explains it."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail, outer = self.log_tail(300), self.log_tail(300, outer=True)
        said = f"; its last output: {tail or outer}" if tail or outer else ""
        if self.cgroup is not None and self.cgroup.oom_kills():
            return "memory", f"the process running the submission used more than {self.limits.memory >> 20} MiB", False
        if code is None:
            return "crash", "the process running the submission closed its channel" + said, False
        if code == 1 and self.box.full and outer.endswith(UNSHARE_SIGKILL):
            code = -signal.SIGKILL  # (unshare cannot re-raise SIGKILL on itself and says so instead)
            said = ""
        if code == -signal.SIGKILL and not self.killed_by_us:
            # In a PID namespace the worker cannot SIGKILL itself (it is the namespace's
            # init): someone else did. Outside one it might have; it is retried once anyway.
            return "crash", "the process running the submission was killed from outside" + said, True
        how = f"was killed by signal {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        return "crash", f"the process running the submission {how}" + said, False

    @property
    def alive(self) -> bool:
        return self.import_error is None and not self.closed and self.proc.poll() is None

    def running(self) -> float:
        return time.monotonic() - self.started

    def cpu_seconds(self) -> float | None:
        """CPU seconds the worker has used: its cgroup's count, else its process tree's."""
        used = self.cgroup.cpu_seconds() if self.cgroup is not None else None
        return used if used is not None else _tree_cpu(self.proc.pid)

    def used(self) -> float:
        """What the worker costs its submission's budget: its CPU seconds where they can be
        read (a busy machine does not spend a student's budget), else its wall-clock time."""
        cpu = self.cpu_seconds()
        return self.running() if cpu is None else cpu

    def unbilled(self) -> tuple[float, float]:
        """(CPU, wall-clock) seconds it used that the budget was not charged for yet."""
        return self.used() - self._billed[0], self.running() - self._billed[1]

    def bill(self, used: float | None = None) -> None:
        """Charge the budget for what it used (`used`, else read now) since the last bill: at
        close, and when it is given back idle (so a waiting worker's seconds count for the
        submission's other workers)."""
        used, running = self.used() if used is None else used, self.running()
        self.budget.charge(used - self._billed[0], running - self._billed[1])
        self._billed = (used, running)

    def _more_time(self) -> float:
        """Seconds more for the call in progress, whose wall-clock timeout passed: what is left
        of its timeout in the worker's own CPU seconds, within STARVED_CAP times the timeout."""
        if self._call is None:
            return 0.0
        cpu0, wall0, timeout = self._call
        cpu = self.cpu_seconds()
        if cpu0 is None or cpu is None:
            return 0.0
        return max(0.0, min(timeout - (cpu - cpu0), wall0 + STARVED_CAP * timeout - time.monotonic()))

    def call(self, request: Mapping[str, Any], timeout: float, max_bytes: int, check: Any) -> dict[str, Any]:
        """Send one request and read its reply, both within `timeout`; the reply's fields
        are checked (reply_fields), so whatever a worker writes fails only its function."""
        started = time.monotonic()
        self.calls += 1
        self._call = (self.cpu_seconds(), started, timeout)
        try:
            return self._call_once(request, started, timeout, max_bytes, check)
        finally:
            self._call = None

    def _call_once(
        self, request: Mapping[str, Any], started: float, timeout: float, max_bytes: int, check: Any
    ) -> dict[str, Any]:
        try:
            self._send(request, started + timeout)
        except TimeoutError:
            self.close()
            raise WorkerDied("timeout", f"no answer within {timeout:.3g} s") from None
        except OSError:
            kind, message, outside = self._death()
            self.close()
            raise WorkerDied(kind, message, outside) from None
        reply = self._receive(max(0.0, started + timeout - time.monotonic()), max_bytes, check)
        try:
            return reply_fields(reply, self.kinds)
        except ProtocolError as exc:
            self.close()
            raise WorkerDied("protocol", f"the worker's reply was refused ({exc})") from None

    def _send(self, request: Mapping[str, Any], deadline: float) -> None:
        _write_all(self._req_w, encode_message(request), deadline)

    def close(self) -> None:
        """Kill the worker and everything it started; remove its directory; charge its time."""
        if self.closed:
            return
        self.closed = True
        used = self.used()  # (read while its processes, or their cgroup, are still there)
        if self.proc.poll() is None:
            self.killed_by_us = True
            inits = _children(self.proc.pid)  # the PID namespace's init: killing it ends the namespace
            for pid in [*inits, *_descendants(self.proc.pid), self.proc.pid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.close(self._req_w)
        with contextlib.suppress(OSError):
            os.close(self._rep_r)
        self.bill(used)
        self._release()

    def dispose(self) -> None:
        """close(), and release the log too (its tail is gone after this)."""
        self.close()
        for log in (self.log, self.outer_log):
            with contextlib.suppress(OSError):
                log.close()


REPLY_KINDS = ("exception", "bad-return", "memory", "missing", "host-callback")
"""Failure kinds a worker may report for a call (anything else is called an exception): each
is a failure it claims against itself, so believing it can only cost that submission."""
RUNNER_KINDS = (*REPLY_KINDS, "autodiff", "forbidden", "protocol")
"""A runner also refuses programs (runner.inspect): its process never ran student Python."""


WHOLE_FUNCTION = ("memory", "protocol", "autodiff", "forbidden")
"""Failure kinds that judge the function, not one cell: kept, and raised for its later calls."""


def reply_fields(reply: dict[str, Any], kinds: Sequence[str] = REPLY_KINDS) -> dict[str, Any]:
    """A reply's fields with the types the grader relies on (protocol.REPLY), or
    ProtocolError: a reply is written by the submission's own process, so it may hold
    anything JSON can. A failure kind the grader does not know is an exception."""
    fields = validate(reply, REPLY)
    if len(fields["devices"]) > 64:
        raise ProtocolError("malformed devices")
    if fields["kind"] not in kinds:
        fields["kind"] = "exception"
    return fields


@functools.lru_cache(maxsize=4096)
def _expected_elements(
    name: str, tree: Any, shapes: tuple[tuple[int, ...], ...], stacked: bool, kwargs: tuple[Any, ...]
) -> int | None:
    """How many elements the reference returns for inputs of these shapes (arguments of
    structure `tree`, a pytree of them, as the network's parameters); None where it cannot
    take them (cached too: JAX's error is slow to make)."""
    import jax
    import numpy as np

    from handgrad.cases import reference_shape

    args = jax.tree.unflatten(tree, [jax.ShapeDtypeStruct(s, np.float64) for s in shapes])
    try:
        out = reference_shape(BY_NAME[name], kwargs, stacked, args)
    except Exception:
        return None
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(out))


def reply_check(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], stacked: bool) -> tuple[int, Any]:
    """(max bytes, check) for a reply: its value may be a little off in shape (compare
    says how) but not larger than twice the expected elements at the widest dtype."""
    import jax
    import numpy as np

    leaves, tree = jax.tree.flatten(tuple(args))
    shapes = tuple(tuple(np.shape(a)) for a in leaves)
    elements = _expected_elements(name, tree, shapes, stacked, tuple(sorted(named(name, kwargs).items())))
    if elements is None:  # inputs the reference cannot take: the caller's own problem, bound loosely
        elements = sum(math.prod(s) for s in shapes) ** 2
    max_bytes = 2 * elements * max(d.itemsize for d in DTYPES.values()) + 4096

    def check(header: dict[str, Any], total: int) -> None:
        if total > max_bytes:
            raise ProtocolError(f"the reply declares {total} bytes of arrays; the case expects at most {max_bytes}")

    return max_bytes, check


@dataclass
class SubmissionEvaluator:
    """An Evaluator for a submission: static findings first, then one sandboxed worker,
    replaced only when it dies. The grader makes one evaluator per function graded (the
    related functions grade_function calls at the end, to look for stale state, run in
    its worker after); several evaluators may share one `budget`. With `reuse` it starts
    in a worker the submission's last clean function gave back, where one waits (`reused`
    says whether that worker had run anything), else in a fresh one."""

    submission: Path
    limits: Limits = field(default_factory=Limits)
    findings: Mapping[str, list[Finding]] = field(default_factory=dict)
    """Static-scan findings per function; a function with findings is not run."""
    allow_autodiff: bool = False
    budget: Budget | None = None
    reuse: bool = False
    """Take an idle worker of the budget (Budget.take_idle) instead of starting one."""
    group: str = ""
    """Which of the budget's idle workers it may take, and gives its own back to."""
    reused: bool = field(default=False, init=False)
    """Its worker had answered requests of another function before this evaluator took it."""
    sent: bool = field(default=False, init=False)
    """A request was sent to a worker of this evaluator (a function that is missing, refused by
    the scan or failed by autodiff at import never reaches one, whatever state it holds)."""
    _worker: Worker | None = None
    _retried: set[str] = field(default_factory=set)
    _fatal: dict[str, EvaluationError] = field(default_factory=dict)
    _programs: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    """Each exported program by program_key: traced once, run for every input family."""
    _prepared: dict[tuple[Any, ...], Output] = field(default_factory=dict)
    """Each jit or vmap cell's value by cell_key, computed ahead by prepare()."""
    _traced: dict[tuple[Any, ...], Output] = field(default_factory=dict)
    """prepare()'s program value of each live call, by cell_key: see traced()."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = Budget(self.submission, self.limits, allow_autodiff=self.allow_autodiff)
        if self.reuse and self._worker is None:
            self._worker = self.budget.take_idle(self.group)
            self.reused = self._worker is not None and self._worker.calls > 0

    def _budget(self) -> Budget:
        assert self.budget is not None
        return self.budget

    def _worker_for(self, name: str) -> Worker:
        budget = self._budget()
        if self._worker is not None and self._worker.alive:
            return self._worker
        if self._worker is not None:
            self._worker.dispose()
            self._worker = None
        if budget.import_error is not None:
            raise budget.import_error
        if budget.left() <= 0:
            raise EvaluationError("timeout", f"the submission's time budget of {self.limits.budget:g} s is spent")
        budget.prestart_runner()
        while True:
            try:
                worker = Worker(budget)
            except WorkerDied as exc:  # killed from outside while it started: once more
                if name in self._retried or not budget.take_restart():
                    raise EvaluationError(exc.kind, exc.message) from None
                self._retried.add(name)
                continue
            break
        self._worker = worker
        if worker.import_error is not None:
            if worker.import_error.kind == "timeout" and budget.defined is not None:
                raise worker.import_error  # it imported before: the budget ran out, not the import
            budget.import_error = worker.import_error
            raise worker.import_error
        budget.autodiff_at_import = budget.autodiff_at_import or worker.autodiff_at_import
        budget.defined = worker.defined
        budget.others = worker.others
        return worker

    def __call__(
        self,
        name: str,
        *,
        transform: str,
        device: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        vmap_axes: tuple[int | None, ...],
    ) -> Output:
        with self._lock:
            if name in self._fatal:  # timed out, crashed or ran out of memory before: not again
                raise self._fatal[name]
            self._check_findings(name)
            self._autodiff_at_import(name)
            budget = self._budget()
            if budget.defined is not None and name not in budget.defined and budget.import_error is None:
                raise missing(name, budget.others)
            request = {
                "name": name,
                "transform": transform,
                "device": device,
                "args": list(args),
                "kwargs": dict(kwargs),
                "vmap_axes": list(vmap_axes),
            }
            compiled = transform != "eager" and device != "sharded"
            prepared = self._prepared.pop(cell_key(request), None) if device != "sharded" else None
            if prepared is not None:  # run ahead by prepare(), in the runner
                return prepared
            stacked = transform == "vmap" or device == "sharded"
            max_bytes, check = reply_check(name, args, kwargs, stacked)
            if not compiled:  # (sharded: only a student's own pytest run)
                reply = self._ask(name, request, max_bytes, check)
                if reply["program"] is not None or reply["values"] is not None:
                    raise self._died(name, WorkerDied("protocol", "the worker sent a program for an eager call"), 0.0)
            else:  # the worker traces; the runner inspects and runs the program it hands back
                reply = self._run_program(name, request, max_bytes, check)
            if not reply.get("ok"):
                kind = reply["kind"]
                if kind == "host-callback":
                    raise EvaluationError("forbidden", HOST_CALLBACK)
                error = EvaluationError(kind, scrub(reply["message"][:2000], budget.staged().parent))
                if kind in WHOLE_FUNCTION:
                    self._fatal[name] = error
                raise error
            return Output(_checked_value(reply["value"]), frozenset(reply["devices"]))

    def _autodiff_at_import(self, name: str) -> None:
        """Fail `name` where the submission differentiated while it was imported (a worker's
        first message said so; with its differentiation switched off, that import failed)."""
        if self._budget().autodiff_at_import and not self.allow_autodiff:
            error = EvaluationError("autodiff", "uses automatic differentiation (seen while it was imported)")
            self._fatal[name] = error
            raise error

    def _ask(self, name: str, request: Mapping[str, Any], max_bytes: int, check: Any) -> dict[str, Any]:
        """The worker's reply to `request` (a new worker where one died from outside); its
        autodiff claim is believed (it can only cost the submission)."""
        budget = self._budget()
        self._autodiff_at_import(name)  # (seen by an earlier worker: none is started for it)
        while True:
            try:
                worker = self._worker_for(name)
            except EvaluationError as exc:
                self._fatal[name] = exc
                raise
            self._autodiff_at_import(name)
            if name not in worker.defined:
                raise missing(name, worker.others)
            left = budget.left(worker)
            timeout = max(0.0, min(self.limits.timeout, left))
            self.sent = True
            try:
                reply = worker.call(request, timeout, max_bytes, check)
            except WorkerDied as exc:
                if exc.outside and name not in self._retried and budget.take_restart():
                    self._retried.add(name)
                    continue
                raise self._died(name, exc, left) from None
            break
        if reply.get("autodiff") and not self.allow_autodiff:
            raise EvaluationError("autodiff", "uses automatic differentiation (seen while it ran)")
        return reply

    def _died(self, name: str, exc: WorkerDied, left: float) -> EvaluationError:
        if exc.kind == "timeout":
            said = f"{name} did not finish within {self.limits.timeout:g} s"
            if left < self.limits.timeout:
                said = f"the submission's time budget of {self.limits.budget:g} s is spent"
            exc = WorkerDied("timeout", said)
        error = EvaluationError(exc.kind, exc.message)
        self._fatal[name] = error
        return error

    def _run_program(self, name: str, request: Mapping[str, Any], max_bytes: int, check: Any) -> dict[str, Any]:
        """The cell's values from the runner, which runs the program the worker exported for
        these shapes and dtypes (asked of the worker once per shape and dtype)."""
        from handgrad.grading.runner import MAX_PROGRAM_BYTES

        key = program_key(request)
        program = self._programs.get(key)
        if program is None:
            reply = self._ask(name, request, MAX_PROGRAM_BYTES + 4096, None)
            if not reply["ok"]:
                return reply
            if reply["program"] is None or reply["value"] is not None:
                raise self._died(name, WorkerDied("protocol", "the worker's reply holds no program"), 0.0)
            program = self._programs[key] = reply["program"]
        run = {"program": program, "args": request["args"], "device": request["device"]}
        return self._in_runner(name, run, max_bytes, check)

    def _in_runner(self, name: str, request: Mapping[str, Any], max_bytes: int, check: Any) -> dict[str, Any]:
        """The runner's reply to `request` (one program, its inputs), within the call timeout;
        the runner is told `max_bytes` too, so it refuses a program whose outputs are larger
        before running it (runner._check_output_size)."""
        request = {**request, "max_bytes": max_bytes}
        budget = self._budget()
        started = False
        try:
            with budget.runner() as runner:
                started = True
                left = budget.left(runner)
                timeout = max(0.0, min(self.limits.timeout, left))
                try:
                    return runner.call(request, timeout, max_bytes, check)
                except WorkerDied as exc:
                    raise self._died(name, exc, left) from None
        except EvaluationError as exc:
            if started:
                raise
            raise self._died(name, WorkerDied(exc.kind, f"the runner did not start: {exc.message}"), 0.0) from None

    def prepare(self, name: str, calls: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]] = ()) -> None:
        """Run `calls` (the keywords of __call__) ahead, as two programs: the worker traces
        `name` once for its jit and vmap calls (evaluate.export_cells, each distinct shape and
        dtype once) and once for its eager calls (one operation at a time:
        handgrad/op_by_op.py); the runner inspects each program, compiles it once and runs it
        once per round of inputs; __call__ then answers those calls from what came back. So
        an eager value, like a jit one, comes from the runner, not from the submission's
        process. Where the worker cannot export a program (a trace fails) or the runner fails
        on it, nothing of it is kept and each of its calls asks on its own (an eager one runs
        in the worker), so each failure is told as its own cell's; a verdict on the whole
        function (timeout, memory, autodiff, a refused program) is kept for its calls to
        raise, but for the runner's timeout on the whole program, which may be the batch's
        size alone: then each call asks on its own, within its own limit. A sharded call is never prepared.
        `live`: calls __call__ will ask of the worker itself (the first check, a real eager
        call): they shape the programs, so a program's slots are the same whichever check the
        seed put first, but their values are not kept. With the slots in a fixed order, a
        function's programs do not depend on the seed, and the runner's compilation cache
        (compile_cache.runner_dir) finds them again on the next grade."""
        here = [(c, True) for c in calls if c["device"] != "sharded"]
        here += [(c, False) for c in live if c["device"] != "sharded"]
        self._prepare_program(name, [c for c in here if c[0]["transform"] in ("jit", "vmap")], eager=False)
        self._prepare_program(name, [c for c in here if c[0]["transform"] == "eager"], eager=True)

    def _prepare_program(self, name: str, wanted: Sequence[tuple[Mapping[str, Any], bool]], eager: bool) -> None:
        """One program for `wanted` ((call, keep its value)), run in the runner (prepare)."""
        from handgrad.grading.runner import MAX_PROGRAM_BYTES

        if not any(keep for _, keep in wanted):
            return
        with self._lock:
            if name in self._fatal:
                return
            plan = Plan.of(name, wanted)
            try:
                self._check_findings(name)
                # (up to one program's limit per shape: a larger one is refused below, cell by cell)
                reply = self._ask(
                    name, {"name": name, "cells": plan.cells}, len(plan.keys) * MAX_PROGRAM_BYTES + 4096, None
                )
            except EvaluationError as exc:
                if exc.kind not in ("missing", "exception", "bad-return"):
                    self._fatal[name] = exc
                return
            if not reply["ok"] or reply["program"] is None:
                if reply["kind"] == "memory":
                    self._fatal[name] = EvaluationError("memory", scrub(reply["message"][:2000]))
                return
            if reply["program"].size > MAX_PROGRAM_BYTES:  # each cell's own program then meets the runner's cap
                return
            rounds = plan.rounds
            max_bytes = sum(
                reply_check(name, tuple(call["args"]), call["kwargs"], call["transform"] == "vmap")[0]
                for row in rounds
                for call in row
            )
            request = {
                "program": reply["program"],
                "rounds": [[list(call["args"]) for call in row] for row in rounds],
                "device": wanted[0][0]["device"],
                "eager": eager,
            }
            try:
                answer = self._in_runner(name, request, max_bytes, None)
            except EvaluationError as exc:
                # The runner died on the whole function's program. A timeout may be the batch's
                # own size (every slot compiled and run in one call), so the function is not
                # judged by it: its calls ask one by one, each within its own time limit, and
                # a program that is slow on its own times out there. Anything else (memory,
                # a crash) is the function's verdict, as the worker's are.
                if exc.kind == "timeout":
                    self._fatal.pop(name, None)
                return
            if not answer["ok"]:
                if answer["kind"] in WHOLE_FUNCTION:
                    self._fatal[name] = EvaluationError(answer["kind"], answer["message"][:2000])
                return
            values = answer["values"]
            if values is None or len(values) != len(rounds) * len(plan.keys):
                return
            devices = frozenset(answer["devices"])
            kept, live = plan.assign([Output(_checked_value(v), devices) for v in values])
            self._prepared.update(kept)
            self._traced.update(live)

    def traced(self, name: str, call: Mapping[str, Any]) -> Output | None:
        """What the program prepare() ran gave for `call`, one of its `live` calls (asked of
        the worker itself): the same inputs traced, to set beside the live answer. None
        where no program ran it."""
        with self._lock:
            return self._traced.get(cell_key({"name": name, **call}))

    def _check_findings(self, name: str) -> None:
        """The static allowlist's verdict for `name`. Only "autodiff" findings are lifted by
        --allow-autodiff; every other kind, known or not, is a refusal (eval, a computed
        getattr or an unreadable file never run because a flag was given), but "interface"
        (handgrad/interface.py), the function's own failure, said after any refusal."""
        found = self.findings.get(name, [])
        unreadable = [f for f in found if f.kind == "unreadable"]
        if unreadable:  # the grader makes this the submission's import error; never run unread code
            raise EvaluationError("import", "; ".join(map(str, unreadable[:3])))
        autodiff = [f for f in found if f.kind == "autodiff"]
        if autodiff and not self.allow_autodiff:
            numerical = all(NUMERICALLY in str(f) for f in autodiff)
            what = NUMERICALLY if numerical else "uses automatic differentiation"
            raise EvaluationError("autodiff", f"{what}: " + "; ".join(map(str, autodiff[:3])))
        refused = [f for f in found if f.kind not in ("autodiff", "interface")]
        if refused:
            raise EvaluationError(
                "forbidden",
                "uses what the allowlist does not allow (docs/allowlist.md): " + "; ".join(map(str, refused[:3])),
            )
        interface = [f for f in found if f.kind == "interface"]
        if interface:
            raise EvaluationError("interface", "; ".join(map(str, interface[:3])))

    def close(self, keep_budget: bool = False, give_back: bool = False) -> None:
        """Stop the worker, or with `give_back` hand it, alive, to the budget for the
        submission's next function (the caller vouches for it: Budget.give_back); and remove
        the submission's copy unless the budget is shared on."""
        with self._lock:
            if self._worker is not None:
                if give_back:
                    self._budget().give_back(self._worker, self.group)
                else:
                    self._worker.dispose()
                self._worker = None
            if not keep_budget:
                self._budget().close()


HOST_CALLBACK = (
    "calls back into Python on the host under jit (jax.pure_callback, io_callback or "
    "jax.debug.print): a formula must be JAX operations the grader can inspect"
)


def missing(name: str, others: Sequence[str]) -> EvaluationError:
    """`name` is not in the submission; a close name it does define is pointed out (a typo)."""
    import difflib

    close = difflib.get_close_matches(name, list(others), n=1, cutoff=0.75)
    typo = f"; it defines {close[0]}, perhaps meant as {name}" if close else ""
    return EvaluationError("missing", f"{name} is not defined (or not callable) in the submission{typo}")


def _checked_value(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values()):
        return value
    raise EvaluationError("bad-return", f"returned {type(value).__name__}, expected an array")


@contextlib.contextmanager
def submission_evaluator(path: str | Path, **options: Any) -> Iterator[SubmissionEvaluator]:
    """For `pytest --submission`: resolve the path, scan it, and yield an evaluator
    (one worker for all functions, no time budget: the student's own run)."""
    from handgrad.grading.submission import resolve
    from handgrad.scan import scan_path

    resolved = resolve(Path(path))
    findings = scan_path(resolved, NAMES)
    # A student's own test run of their own file: sandboxed where possible, run anyway where not.
    sandbox.require(insecure=bool(options.pop("insecure", True)))
    options.setdefault("limits", Limits(budget=float("inf"), restarts=1 << 30))  # (the student's own run)
    evaluator = SubmissionEvaluator(resolved, findings=findings, **options)
    try:
        yield evaluator
    finally:
        evaluator.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("handgrad.grading.pool is a library module")
