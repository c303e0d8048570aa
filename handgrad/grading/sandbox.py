"""How a worker process is sealed off: namespaces, its own uid, its own file system view.

Modes, strongest first (docs/isolation.md says what each one holds):
- "namespaces": the grader runs as root. The worker starts under `unshare` in new PID,
  mount, network, IPC and UTS namespaces, as PID 1 of its PID namespace (so when it
  ends, the kernel kills everything it started), inside a cgroup that caps its
  resident memory and its number of processes where the cgroup files are writable.
  It loads JAX and the worker code, then moves into a new root that holds only the
  interpreter, site-packages, system libraries, its own read-only copy of the
  submission and a private /tmp and /dev/shm, and drops for good to a uid of its own
  (HANDGRAD_UID_BASE + slot) before it imports the submission.
- "userns": the grader is not root but may create user namespaces. The same
  namespaces and the same new root, entered as the user's own uid mapped to root of
  a user namespace; no cgroup (the files are not writable), an address-space cap
  instead.
- "none": no isolation is possible here. The grader refuses to run a submission
  unless asked with --insecure (a student checking their own file).
HANDGRAD_SANDBOX=namespaces|userns|none forces a mode (a forced mode that does not
work here is an error, not a fallback).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MODES = ("namespaces", "userns", "none")
FULL = ("namespaces", "userns")
"""Modes in which a worker cannot see or touch anything outside its own sandbox."""
UID_BASE = int(os.environ.get("HANDGRAD_UID_BASE", "200000"))
UNSHARE = ["--pid", "--fork", "--mount", "--net", "--ipc", "--uts", "--kill-child=SIGKILL"]


class SandboxError(Exception):
    """No sandbox of the asked kind can be made here; the message says why."""


@dataclass(frozen=True)
class Sandbox:
    mode: str

    @property
    def full(self) -> bool:
        return self.mode in FULL

    def sealing(self, slot: int) -> list[str]:
        """The worker's own options for sealing itself in this mode, in slot `slot`."""
        if not self.full:
            return []
        drop = ["--drop-to", f"{UID_BASE + slot}:{UID_BASE + slot}"] if self.mode == "namespaces" else []
        return ["--seal", str(slot), *drop]

    def command(self, python: list[str], slot: int, cgroup_procs: tuple[Path, ...] = ()) -> list[str]:
        """The command line that starts `python` (the worker) in this sandbox."""
        # The worker dies with the grader's thread that started it, however the grader ends
        # (unshare --kill-child passes the signal on to the namespace's init).
        deathsig = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []
        if self.mode == "none":
            return [*deathsig, *python]
        unshare = [*deathsig, "unshare", *UNSHARE] + (["--user", "--map-root-user"] if self.mode == "userns" else [])
        command = [*unshare, "--", *python, *self.sealing(slot)]
        if cgroup_procs:  # join the cgroups first, so that everything the worker starts is inside
            joins = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(cgroup_procs)))
            shift = len(cgroup_procs)
            return ["sh", "-c", f'{joins} && shift {shift} && exec "$@"', "sh", *map(str, cgroup_procs), *command]
        return command


def _probe(mode: str) -> str:
    """ "" when `mode` works here (a worker can seal itself: namespaces, a new root, a
    uid of its own), else why not."""
    import tempfile

    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    work = Path(tempfile.mkdtemp(prefix="handgrad-probe-"))
    try:
        os.chmod(work, 0o700)
        (work / "s").mkdir(mode=0o755)
        (work / "s" / "probe.py").write_text("")
        os.chmod(work / "s" / "probe.py", 0o644)
        python = [sys.executable, "-I", "-m", "handgrad.grading.worker", "--probe", "--in", "0", "--out", "1",
                  "--submission", str(work / "s" / "probe.py"), "--names", "x"]  # fmt: skip
        if mode == "userns":
            python.append("--userns")
        probe = subprocess.run(
            Sandbox(mode).command(python, 0), capture_output=True, text=True, timeout=60, cwd=work, env=_probe_env()
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)[:300]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if probe.returncode != 0 or probe.stdout.strip() != "sealed":
        said = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return f"{probe.stdout.strip() or 'the probe failed'}: {said}"[:300]
    return ""


def _probe_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}


@functools.lru_cache(maxsize=1)
def detect() -> Sandbox:
    """The strongest mode available here; HANDGRAD_SANDBOX forces one."""
    forced = os.environ.get("HANDGRAD_SANDBOX", "")
    if forced not in ("", *MODES):
        raise SandboxError(f"HANDGRAD_SANDBOX must be one of {', '.join(MODES)}, not {forced!r}")
    if forced == "none":
        return Sandbox("none")
    if forced == "namespaces" and os.geteuid() != 0:
        raise SandboxError("HANDGRAD_SANDBOX=namespaces needs the grader to run as root")
    why: list[str] = []
    for mode in ("namespaces", "userns") if not forced else (forced,):
        if mode == "namespaces" and os.geteuid() != 0:
            continue
        problem = _probe(mode)
        if not problem:
            return Sandbox(mode)
        why.append(f"{mode}: {problem}")
    if forced:
        raise SandboxError(f"HANDGRAD_SANDBOX={forced}, but it does not work here ({'; '.join(why)})")
    return Sandbox("none")


def require(insecure: bool, bulk: bool = False) -> Sandbox:
    """The sandbox to grade in, or SandboxError when grading here would be unsafe:
    several submissions, or HANDGRAD_REQUIRE_SANDBOX=1, need full isolation; one
    submission without any needs `insecure`."""
    box = detect()
    if box.full:
        return box
    if os.environ.get("HANDGRAD_REQUIRE_SANDBOX") == "1":
        raise SandboxError(
            "this grader requires full isolation (HANDGRAD_REQUIRE_SANDBOX=1, as in the Gradescope bundle), "
            "which is not available here; see docs/isolation.md"
        )
    if bulk:
        raise SandboxError(
            "grading several submissions needs full isolation (root, or user namespaces), "
            "which is not available here; see docs/isolation.md"
        )
    if not insecure:
        raise SandboxError(
            "no sandbox is available here (neither root nor user namespaces): the submission would run "
            "with your own rights. Pass --insecure to grade your own file anyway; see docs/isolation.md"
        )
    return box


# ---- slots: a uid and a share of the cores per worker ----------------------------------

_slots: set[int] = set()
_slots_lock = threading.Lock()
LOCK_DIR = Path(os.environ.get("HANDGRAD_LOCK_DIR", "/run/handgrad"))
"""Where a root grader locks the uids its workers hold, so that two graders running at
once (two --shard runs, or a test suite in parallel) never give two workers one uid."""


def _lock_uid(n: int) -> int | None:
    """A lock on uid UID_BASE + n held by this grader (a descriptor), or None if taken."""
    import fcntl

    if os.geteuid() != 0:
        return -1  # (uids are only switched by a root grader)
    try:
        LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(LOCK_DIR / f"uid-{UID_BASE + n}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:  # no place for locks (a read-only /run): unique within this grader only
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def slot() -> Iterator[int]:
    """A number no other live worker holds, in this grader or another (its uid is UID_BASE + slot)."""
    with _slots_lock:
        n, fd = 0, None
        while fd is None:
            fd = _lock_uid(n) if n not in _slots else None
            n += 1
        n -= 1
        _slots.add(n)
    try:
        yield n
    finally:
        with _slots_lock:
            _slots.discard(n)
            if fd >= 0:
                os.close(fd)


def cpu_share(n: int, jobs: int) -> list[int]:
    """The cores worker slot `n` of `jobs` runs on: an equal share of those this grader may use."""
    cpus = sorted(os.sched_getaffinity(0))
    share = max(1, len(cpus) // max(1, jobs))
    start = (n * share) % len(cpus)
    return [cpus[(start + i) % len(cpus)] for i in range(share)]


# ---- cgroups: resident memory and process count ----------------------------------------


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for cgroup v2) -> this process's cgroup path."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                found[c] = path
    return found


def _mounts() -> dict[str, Path]:
    """controller (or "" for cgroup v2) -> where its hierarchy is mounted (root visible)."""
    found: dict[str, Path] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) < 5 or len(tail) < 3 or fields[3] != "/":
                continue
            if tail[0] == "cgroup2":
                found.setdefault("", Path(fields[4]))
            elif tail[0] == "cgroup":
                for option in tail[2].split(","):
                    if option in ("memory", "pids", "cpu"):
                        found.setdefault(option, Path(fields[4]))
    return found


@dataclass
class Cgroup:
    """A cgroup (v2), or cgroups (v1: memory first, then pids and cpu) for one worker."""

    dirs: tuple[Path, ...]
    version: int

    @property
    def procs(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self.dirs)

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in (self.dirs[0] / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float | None:
        """CPU time used by everything in the cgroup, or None where it cannot be read."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            if self.version == 2:
                for line in (self.dirs[0] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
            for d in self.dirs:
                if (d / "cpuacct.usage").exists():
                    return int((d / "cpuacct.usage").read_text()) / 1e9
        return None

    def pids(self) -> list[int]:
        found: set[int] = set()
        for p in self.procs:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(x) for x in p.read_text().split())
        return sorted(found)

    def remove(self) -> None:
        """Kill whatever is still inside, then remove the cgroup(s)."""
        import signal
        import time

        if self.version == 2:
            with contextlib.suppress(OSError):
                (self.dirs[0] / "cgroup.kill").write_text("1")
        for _ in range(50):
            left = self.pids()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


@functools.cache
def _sweep_stale(parent: Path) -> None:
    """Remove the empty cgroups of graders that are gone (killed before they could clean
    up: their workers died with them). Once per grader and cgroup directory."""
    with contextlib.suppress(OSError):
        for d in parent.glob("handgrad-*-*"):
            pid = d.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):
                    d.rmdir()


PERIOD = 100_000
"""CPU quota period, microseconds: a worker may use `cores` times this per period."""


def _v2(name: str, memory: int, pids: int, cores: int) -> Cgroup | None:
    mount, own = _mounts().get(""), _own_cgroups().get("")
    if mount is None or own is None:
        return None
    parent = mount / own.lstrip("/")
    try:
        if not {"memory", "pids"} <= set((parent / "cgroup.subtree_control").read_text().split()):
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
        with contextlib.suppress(OSError):
            if "cpu" not in (parent / "cgroup.subtree_control").read_text().split():
                (parent / "cgroup.subtree_control").write_text("+cpu")
        _sweep_stale(parent)
        d = parent / name
        d.mkdir()
    except OSError:
        return None
    try:
        (d / "memory.max").write_text(str(memory))
        with contextlib.suppress(OSError):
            (d / "memory.swap.max").write_text("0")
        (d / "pids.max").write_text(str(pids))
        with contextlib.suppress(FileNotFoundError):  # (no cpu controller here: the affinity alone)
            (d / "cpu.max").write_text(f"{cores * PERIOD} {PERIOD}")
    except OSError:
        with contextlib.suppress(OSError):
            d.rmdir()
        return None
    return Cgroup((d,), 2)


def _v1(name: str, memory: int, pids: int, cores: int) -> Cgroup | None:
    mounts, own = _mounts(), _own_cgroups()
    made: list[Path] = []
    controls = (("memory", {"memory.limit_in_bytes": memory}), ("pids", {"pids.max": pids}),
                ("cpu", {"cpu.cfs_period_us": PERIOD, "cpu.cfs_quota_us": cores * PERIOD}))  # fmt: skip
    for controller, files in controls:
        if controller not in mounts:
            if controller == "memory":
                return None
            continue
        d = mounts[controller] / own.get(controller, "/").lstrip("/") / name
        if d in made:  # (controllers mounted together: one directory)
            continue
        _sweep_stale(d.parent)
        try:
            d.mkdir()
            made.append(d)
            for file, value in files.items():
                (d / file).write_text(str(value))
            if controller == "memory":
                with contextlib.suppress(OSError):  # no swap either, where swap is accounted
                    (d / "memory.memsw.limit_in_bytes").write_text(str(memory))
        except OSError:
            if controller == "cpu" and d in made:  # (no CPU bandwidth control here: the affinity alone)
                made.remove(d)
                with contextlib.suppress(OSError):
                    d.rmdir()
                continue
            for m in made:
                with contextlib.suppress(OSError):
                    m.rmdir()
            return None
    return Cgroup(tuple(made), 1)


def make_cgroup(name: str, memory: int, pids: int, cores: int = 1) -> Cgroup | None:
    """A cgroup capping resident memory (and processes, and CPU time at `cores` cores:
    a worker's own share, which it cannot leave by resetting its affinity; and each
    worker's cgroup weighs the same to the scheduler, however many threads spin in it),
    or None where none can be made. HANDGRAD_CGROUP=0 turns cgroups off (the
    address-space cap alone then holds)."""
    if os.environ.get("HANDGRAD_CGROUP", "1") == "0" or os.geteuid() != 0:
        return None
    return _v2(name, memory, pids, cores) or _v1(name, memory, pids, cores)


if __name__ == "__main__":  # pragma: no cover
    print(detect().mode)
    sys.exit(0)
