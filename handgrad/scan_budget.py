"""Where the allowlist check runs: in a child process of its own, under a budget, never as root.

The scan reads a submission's text only, but its cost grows with that text (a 1 MiB file
took 9-35 s and 0.6 GB when it ran inside the grader). So it runs in a fresh interpreter
(`python -I -m handgrad.scan_budget`) with limits on its CPU time, address space and the
files it may write, and, where the grader is root, under the unprivileged uid `nobody`.
A scan that runs past its budget, or dies, refuses that submission only (kind
"unreadable": said once at the top of its report, no worker started), with the reason; the
class run goes on. Its reply is JSON on standard output, read with a size cap.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handgrad.scan import Finding, scan_path


@dataclass(frozen=True)
class ScanBudget:
    cpu_seconds: int = 20
    """CPU time of the scan's process (RLIMIT_CPU)."""
    wall_seconds: float = 60.0
    """Wall-clock time before the process is killed (a busy machine is slower than CPU time)."""
    memory_bytes: int = 1536 << 20
    """Address space (RLIMIT_AS): JAX's modules, imported to list their names, take about 0.45 GiB."""
    reply_bytes: int = 16 << 20
    """The most the parent reads of the child's reply."""


DEFAULT_BUDGET = ScanBudget()
NOBODY = 65534


CAP_DAC_READ_SEARCH = 2
_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_CAPABILITY_VERSION_3 = 0x20080522


def _limits(cpu_seconds: int, memory_bytes: int) -> None:
    """The child's first act, before it reads anything of the submission (set there, not by a
    preexec_fn: forking a grader that has JAX's threads running is not safe)."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write is refused (EFBIG), not a death


def drop_root() -> None:
    """Where the scan starts as root: become `nobody`, keeping only CAP_DAC_READ_SEARCH, so
    that the staged copy (in a folder only root may enter) and the interpreter (which may
    live under /root) can still be read, and nothing can be written or signalled as root.
    Done after the interpreter has started and before any submission text is read."""
    if os.geteuid() != 0:
        return
    import ctypes

    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class _Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    data = (_Data * 2)()
    data[0].effective = data[0].permitted = 1 << CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(_Header(_CAPABILITY_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def _refused(path: Path, functions: list[str], why: str) -> dict[str, list[Finding]]:
    finding = Finding(
        0,
        f"the allowlist check could not finish within its budget ({why}): make the file smaller or simpler",
        "unreadable",
        path.name,
    )
    return {f: [finding] for f in functions}


def scan_in_budget(path: Path, functions: Iterable[str], budget: ScanBudget | None = None) -> dict[str, list[Finding]]:
    """`scan_path(path, functions)`, run in a limited child process; an overrun refuses it.
    Without `budget`, DEFAULT_BUDGET as it is at the call."""
    return scan_and_review_in_budget(path, functions, budget)[0]


def scan_and_review_in_budget(
    path: Path, functions: Iterable[str], budget: ScanBudget | None = None
) -> tuple[dict[str, list[Finding]], list[str]]:
    """scan_in_budget's findings, and the same child's review notes for the instructor
    (handgrad/scan_review.py: never a refusal); no notes where the scan was refused."""
    functions = list(functions)
    budget = budget or DEFAULT_BUDGET
    limits = [str(budget.cpu_seconds), str(budget.memory_bytes)]
    command = [sys.executable, "-I", "-B", "-m", "handgrad.scan_budget", *limits, str(path), *functions]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
    except OSError as exc:
        return _refused(path, functions, f"could not start: {exc.strerror}"), []
    try:
        out, _ = proc.communicate(module_names(), timeout=budget.wall_seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return _refused(path, functions, f"more than {budget.wall_seconds:g} s"), []
    if proc.returncode != 0:
        if proc.returncode == -9 or proc.returncode == -24:  # SIGKILL / SIGXCPU: the CPU limit
            return _refused(path, functions, f"more than {budget.cpu_seconds} s of CPU"), []
        if proc.returncode == 3:
            return _refused(path, functions, f"more than {budget.memory_bytes >> 20} MiB of memory"), []
        return _refused(path, functions, f"it failed (exit {proc.returncode})"), []
    if len(out) > budget.reply_bytes:
        return _refused(path, functions, "its report is too large"), []
    reply = json.loads(out)
    notes = [str(n) for n in reply.get(REVIEW, [])][:MAX_NOTES]
    return {f: [Finding(int(a), str(b), str(c), str(d)) for a, b, c, d in reply[f]] for f in functions}, notes


def _peak_bytes() -> int:
    """This process's peak address space (VmPeak), 0 where /proc does not say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


NAMED_MODULES = ("jax.numpy", "jax.numpy.linalg")
"""Allowlisted modules whose public names the grader sends its scan child (scan.KNOWN_NAMES):
importing them is what the child's time went to."""
MAX_NAMES_BYTES = 1 << 20


@functools.cache
def module_names() -> bytes:
    """NAMED_MODULES' public names in this interpreter, as the child reads them on its stdin
    (made once: every submission's scan sends the same)."""
    from handgrad.scan import _public_names

    return json.dumps({m: sorted(_public_names(m)) for m in NAMED_MODULES}).encode()


def _read_names(stream: Any) -> None:
    """Take the grader's module names (module_names) into scan.KNOWN_NAMES; nothing sent,
    nothing taken (the scan then imports the modules itself)."""
    from handgrad import scan

    text = stream.read(MAX_NAMES_BYTES)
    if text:
        scan.KNOWN_NAMES.update({m: frozenset(map(str, names)) for m, names in json.loads(text).items()})


def _main(argv: list[str]) -> int:
    _limits(int(argv[0]), int(argv[1]))
    path, functions = Path(argv[2]), argv[3:]
    _read_names(sys.stdin.buffer)
    drop_root()
    try:
        found = scan_path(path, functions)
    except MemoryError:
        return 3
    # Python's parser answers a memory shortage as it answers deep nesting (the scan then says
    # "too deeply nested"): a scan that came near its limit is told it ran out of memory.
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit != resource.RLIM_INFINITY and _peak_bytes() > 0.9 * limit:
        return 3
    reply: dict[str, Any] = {f: [[x.line, x.what, x.kind, x.file] for x in fs] for f, fs in found.items()}
    reply[REVIEW] = _review(path)
    json.dump(reply, sys.stdout)
    return 0


REVIEW = "__review__"
"""The key of the review notes in the child's reply (never a contract function's name)."""
MAX_NOTES = 20


def _review(path: Path) -> list[str]:
    """review_notes for the submission's .py files (a package's, up to 200 files)."""
    from handgrad.scan_review import copied_note, review_notes

    if path.is_dir():
        files = sorted(p for p in path.rglob("*.py") if p.is_file() and not p.is_symlink())[:200]
    else:
        files = [path]
    notes: list[str] = []
    sources: dict[str, str | bytes] = {}
    for file in files:
        try:
            source = file.read_bytes()
        except OSError:
            continue
        name = str(file.relative_to(path)) if path.is_dir() else file.name
        notes += review_notes(source, name)
        sources[name] = source
    return (copied_note(sources) + notes)[:MAX_NOTES]


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
