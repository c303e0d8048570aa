"""Worker processes for one submission, and the evaluator the matrix talks to.

`SubmissionEvaluator` looks like any other evaluator (handgrad.engine.Evaluator): it
takes a function name and inputs and returns arrays. Behind it a sandboxed worker
process holds the imported submission. A call that overruns its time, a worker that
dies or hangs, a reply that is not a well-formed message: each fails that call alone,
the worker is killed (with everything it started) and the next call gets a fresh one.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from handgrad.engine import EvaluationError
from handgrad.evaluate import Output
from handgrad.grading import sandbox
from handgrad.grading.protocol import ProtocolError, read_message, write_message
from handgrad.scan import Finding
from reference.catalog import NAMES

GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    timeout: float = 10.0
    """Wall-clock seconds for one evaluation of one function on one case."""
    memory: int = 4 * GiB
    """Address-space cap of the worker process, in bytes."""
    startup: float = 120.0
    """Seconds for a worker to start JAX and import the submission."""


class _DeadlineReader:
    """A read(n) on a pipe that raises TimeoutError past a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.deadline = float("inf")

    def read(self, n: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([self.fd], [], [], min(left, 3600))
        if not ready:
            raise TimeoutError
        return os.read(self.fd, min(n, 1 << 24))


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


class Worker:
    """One worker process holding one imported submission."""

    def __init__(self, submission: Path, limits: Limits, names: tuple[str, ...] = NAMES) -> None:
        self.limits = limits
        self.box = sandbox.detect()
        self.workdir = Path(tempfile.mkdtemp(prefix="handgrad-worker-"))
        os.chmod(self.workdir, 0o700)
        target = self.workdir / "submission" / submission.name
        if submission.is_dir():
            shutil.copytree(submission, target, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir()
            shutil.copy(submission, target)
        self.box.prepare(self.workdir)
        self.log = tempfile.TemporaryFile(prefix="handgrad-worker-log-")
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        args = ["--in", str(req_r), "--out", str(rep_w), "--submission", str(target)]
        args += ["--memory", str(limits.memory), "--names", ",".join(names)]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "TMPDIR": str(self.workdir),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
            "JAX_PLATFORMS": "cpu",  # see grader.grading_device
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            self.proc = subprocess.Popen(  # our own interpreter and module
                self.box.command(args, self.workdir),
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
                pass_fds=(req_r, rep_w),
                cwd=self.workdir,
                env={k: v for k, v in env.items() if v},
                **self.box.popen_options(),  # type: ignore[arg-type]
            )
        except BaseException:  # could not start: leave no descriptor or folder behind
            for fd in (req_r, rep_w, self._req_w, self._rep_r):
                os.close(fd)
            self.log.close()
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        os.close(req_r)
        os.close(rep_w)
        self._out: IO[bytes] = os.fdopen(self._req_w, "wb")
        self._in = _DeadlineReader(self._rep_r)
        self.defined: list[str] = []
        self.import_error: EvaluationError | None = None
        self.autodiff_at_import = False
        self._start()

    def _start(self) -> None:
        try:
            ready = self._receive(self.limits.startup)
        except EvaluationError as exc:
            reason = "timeout" if exc.kind == "timeout" else "crash"
            what = "did not finish importing in time" if reason == "timeout" else "died while being imported"
            self.import_error = EvaluationError(reason, f"the submission {what}: {exc.message}")
            self.close()
            return
        self.autodiff_at_import = bool(ready.get("autodiff"))
        if not ready.get("ok"):
            self.import_error = EvaluationError("import", f"importing the submission failed: {ready.get('message')}")
            return
        defined = ready.get("defined")
        self.defined = [str(n) for n in defined] if isinstance(defined, list) else []

    def log_tail(self, limit: int = 600) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - limit))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _receive(self, timeout: float) -> dict[str, Any]:
        self._in.deadline = time.monotonic() + timeout
        try:
            return read_message(self._in)  # type: ignore[arg-type]
        except TimeoutError:
            self.close()
            raise EvaluationError("timeout", f"no answer within {timeout:g} s") from None
        except (EOFError, OSError):
            self.close()
            raise EvaluationError("crash", self._death()) from None
        except ProtocolError as exc:
            self.close()
            raise EvaluationError("crash", f"the worker's reply was malformed ({exc})") from None

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            how = "closed its channel"
        elif code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}"
        else:
            how = f"exited with status {code}"
        tail = self.log_tail(300)
        return f"the process running the submission {how}" + (f"; its last output: {tail}" if tail else "")

    @property
    def alive(self) -> bool:
        return self.import_error is None and self.proc.poll() is None

    def call(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        try:
            write_message(self._out, request)
        except (BrokenPipeError, OSError):
            self.close()
            raise EvaluationError("crash", self._death()) from None
        return self._receive(timeout)

    def close(self) -> None:
        """Kill the worker and everything it started; remove its directory."""
        if self.proc.poll() is None:
            for pid in [*_descendants(self.proc.pid), self.proc.pid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        for stream in (self._out,):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(OSError):
            os.close(self._rep_r)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def dispose(self) -> None:
        """close(), and release the log too (its tail is gone after this)."""
        self.close()
        with contextlib.suppress(OSError):
            self.log.close()


@dataclass
class SubmissionEvaluator:
    """An Evaluator for a submission: static findings first, then a sandboxed worker."""

    submission: Path
    limits: Limits = field(default_factory=Limits)
    findings: Mapping[str, list[Finding]] = field(default_factory=dict)
    """Static-scan findings per function; a function with findings is not run."""
    allow_autodiff: bool = False
    _worker: Worker | None = None
    _fatal: dict[str, EvaluationError] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def worker(self) -> Worker:
        if self._worker is None or (not self._worker.alive and self._worker.import_error is None):
            if self._worker is not None:
                self._worker.dispose()
            self._worker = Worker(self.submission, self.limits)
        return self._worker

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
            worker = self.worker()
            if worker.import_error is not None:
                raise worker.import_error
            if name not in worker.defined:
                raise EvaluationError("missing", f"{name} is not defined (or not callable) in the submission")
            request = {
                "name": name,
                "transform": transform,
                "device": device,
                "args": list(args),
                "kwargs": dict(kwargs),
                "vmap_axes": list(vmap_axes),
            }
            try:
                reply = worker.call(request, self.limits.timeout)
            except EvaluationError as exc:
                if exc.kind == "timeout":
                    exc = EvaluationError("timeout", f"{name} did not finish within {self.limits.timeout:g} s")
                self._fatal[name] = exc
                raise exc from None
            if reply.get("autodiff") and not self.allow_autodiff:
                raise EvaluationError("autodiff", "uses automatic differentiation (seen while it ran)")
            if not reply.get("ok"):
                kind = str(reply.get("kind", "exception"))
                error = EvaluationError(kind, str(reply.get("message", ""))[:2000])
                if kind == "memory":
                    self._fatal[name] = error
                raise error
            return Output(_checked_value(reply.get("value")), frozenset(map(str, reply.get("devices") or [])))

    def _check_findings(self, name: str) -> None:
        found = self.findings.get(name, [])
        autodiff = [f for f in found if f.kind in ("autodiff", "dynamic")]
        if autodiff and not self.allow_autodiff:
            raise EvaluationError("autodiff", "uses automatic differentiation: " + "; ".join(map(str, autodiff[:3])))
        forbidden = [f for f in found if f.kind in ("system", "project")]
        if forbidden:
            raise EvaluationError(
                "forbidden",
                "uses what a formula may not (system modules, files, or the grader's own packages): "
                + "; ".join(map(str, forbidden[:3])),
            )

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.dispose()
                self._worker = None


def _checked_value(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values()):
        return value
    raise EvaluationError("bad-return", f"returned {type(value).__name__}, expected an array")


@contextlib.contextmanager
def submission_evaluator(path: str | Path, **options: Any) -> Iterator[SubmissionEvaluator]:
    """For `pytest --submission`: resolve the path, scan it, and yield an evaluator."""
    from handgrad.grading.submission import resolve
    from handgrad.scan import scan_path

    resolved = resolve(Path(path))
    findings = scan_path(resolved, NAMES)
    evaluator = SubmissionEvaluator(resolved, findings=findings, **options)
    try:
        yield evaluator
    finally:
        evaluator.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit("handgrad.grading.pool is a library module")
