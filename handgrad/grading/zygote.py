"""Sandboxed workers forked from a process that has already imported JAX (issue 18).

Starting a worker used to mean a new interpreter under `unshare` that imported JAX and the
worker's modules (about 0.5 CPU seconds) before it sealed itself. A grade of the reference
solution starts four such processes (two workers, two runners), a class of N at least 2N,
the test suite about 650. Here one process per grader, the zygote, imports them once, starts
no backend and no thread, and forks each worker:

    grader --(request + descriptors, SCM_RIGHTS)--> zygote
    zygote --fork--> keeper: new session, joins the worker's cgroups, unshare(2) of the same
                     namespaces `unshare` made (PID, mount, network, IPC, UTS; a user
                     namespace with root mapped to the caller in mode "userns"), then
          --fork--> worker: PID 1 of its PID namespace, runs worker.main as if started anew;
                     it seals itself, drops its uid and installs seccomp exactly as before.

The keeper does what `unshare --fork --kill-child=SIGKILL` did: it waits for the worker, dies
the same way it did (a worker killed by SIGKILL leaves a keeper killed by SIGKILL, which
`unshare` could only report as a message), and the worker dies with it (its parent-death
signal). The zygote reaps each keeper and writes its exit status, as a returncode, into a
pipe of that worker's own, which the grader reads (`Started`, the Popen-like handle). The
zygote exits when the grader's end of its socket closes (the grader ended, however), and its
keepers, then their workers, die with it.

What a worker gets is what a fresh interpreter got: the same modules imported (the worker
blocks the project's packages and replaces `__main__` before the submission is imported), its
descriptors at the same places (0 /dev/null; 1 and 2 the outer log; 3, 4, 5 its request pipe,
reply pipe and log), the same environment (the zygote is started with the workers' own,
and one is kept per environment), the same working directory, limits and namespaces. Memory
pages shared with the zygote are charged to the zygote's cgroup, not the worker's, so a
worker's cap counts what it allocates itself. HANDGRAD_ZYGOTE=0 starts each worker as its own
interpreter under `unshare` (sandbox.Sandbox.command), as before; so does a zygote that
failed to start.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
"""The namespaces `sandbox.UNSHARE` names: --mount --uts --ipc --pid --net."""
FIRST_FD = 3
"""Where a worker finds its request pipe, reply pipe and log (3, 4, 5)."""
START_TIMEOUT = 120.0
"""Seconds the grader waits for the zygote to fork a worker (its first request waits for the
zygote's imports) before it starts that worker the old way instead."""
PR_SET_PDEATHSIG = 1


def enabled() -> bool:
    return os.environ.get("HANDGRAD_ZYGOTE", "1") != "0"


# ---- the grader's side --------------------------------------------------------------------


class Started:
    """A worker's keeper started by the zygote, as much of subprocess.Popen as the pool uses:
    its pid, poll, wait and returncode (negative: the signal that ended it)."""

    def __init__(self, pid: int, status: int) -> None:
        self.pid = pid
        self._status = status
        self.returncode: int | None = None
        self._lock = threading.Lock()

    def _read(self, timeout: float | None) -> None:
        with self._lock:  # (the descriptor is closed once, and only by the thread that read it)
            if self.returncode is not None:
                return
            ready, _, _ = select.select([self._status], [], [], timeout)
            if not ready:
                return
            data = b""
            with contextlib.suppress(OSError):
                data = os.read(self._status, 64)
            os.close(self._status)
            try:
                self.returncode = int(data)
            except ValueError:  # the zygote is gone, and the keeper died with it
                self.returncode = -signal.SIGKILL

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(["handgrad-worker"], timeout or 0.0)
        return self.returncode

    def __del__(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(OSError):
                os.close(self._status)


class ForkFailed(OSError):
    """The zygote could not fork a worker (the process limit, memory): the error fork gave."""


class Zygote:
    """One zygote process and the grader's end of its socket."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._lock = threading.Lock()
        try:
            self.proc = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-I", "-m", "handgrad.grading.zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                cwd="/",
                env=dict(env),
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.broken = False
        self.used = False
        """Whether it was asked for a worker (one never asked is killed at close, not waited for)."""

    def start(
        self, argv: Sequence[str], fds: Sequence[int], cwd: str, cgroup_procs: Sequence[str], userns: bool
    ) -> Started | None:
        """Fork a worker running `worker.main(argv)` with `fds` (outer log, request pipe, reply
        pipe, log) and return its handle. None where the zygote does not answer (it is then
        broken and not asked again, its running workers left alone: the caller starts the
        worker the old way); ForkFailed (an OSError) where its fork failed, as Popen's would."""
        status_r, status_w = os.pipe()
        request = {"argv": list(argv), "cwd": cwd, "cgroups": list(cgroup_procs), "userns": userns}
        try:
            with self._lock:
                if self.broken:
                    raise OSError("zygote broken")
                self.used = True
                self._sock.settimeout(START_TIMEOUT)
                socket.send_fds(self._sock, [json.dumps(request).encode()], [*fds, status_w])
                reply = json.loads(self._sock.recv(4096))
            pid = None if "error" in reply else int(reply["pid"])
        except BaseException as exc:  # (interrupted too: a reply left queued would go to the next start)
            os.close(status_r)
            self.broken = True  # (kept, not killed: its keepers, and their workers, go on until close_all)
            if isinstance(exc, (OSError, ValueError, KeyError, TypeError)):
                return None
            raise
        finally:
            os.close(status_w)
        if pid is None:
            os.close(status_r)
            raise ForkFailed(str(reply["error"])[:300])
        return Started(pid, status_r)

    def close(self) -> None:
        """Close the socket: the zygote kills its keepers (their workers die with them) and exits.
        One never asked for a worker may still be importing, and is killed."""
        self.broken = True
        with contextlib.suppress(OSError):
            self._sock.close()
        if not self.used:
            with contextlib.suppress(OSError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # (it exits at once, without a teardown)
            self.proc.wait(timeout=5)


_zygotes: dict[tuple[tuple[str, str], ...], Zygote] = {}
_zygotes_lock = threading.Lock()


def _zygote(env: Mapping[str, str]) -> Zygote | None:
    """This grader's zygote for `env`, started now where there is none (None: turned off by
    HANDGRAD_ZYGOTE=0, or it cannot start)."""
    if not enabled():
        return None
    key = tuple(sorted(env.items()))
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None:
            try:
                zygote = _zygotes[key] = Zygote(env)
            except OSError:
                return None
    return None if zygote.broken else zygote  # (one that failed once is not tried again)


def prestart(env: Mapping[str, str]) -> None:
    """Start the zygote for `env` now, without waiting for its imports."""
    _zygote(env)


def start(
    env: Mapping[str, str], argv: Sequence[str], fds: Sequence[int], cwd: str, cgroup_procs: Sequence[str], userns: bool
) -> Started | None:
    """A worker forked by this grader's zygote for `env` (started on first use), or None: the
    caller starts it as its own interpreter."""
    zygote = _zygote(env)
    return None if zygote is None else zygote.start(argv, fds, cwd, cgroup_procs, userns)


@atexit.register
def close_all() -> None:
    with _zygotes_lock:
        for zygote in _zygotes.values():
            zygote.close()
        _zygotes.clear()


# ---- the zygote ---------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _keeper(request: dict[str, Any], fds: list[int], zygote: int) -> None:
    """In the zygote's child: become what `setpriv`, `sh` and `unshare --fork` were, then fork
    the worker and wait for it. Never returns."""
    code = 127
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent death signal")
        if os.getppid() != zygote:
            os._exit(code)
        outer, *given, status = fds
        os.close(status)
        placed = [os.open(os.devnull, os.O_RDONLY), outer, outer, *given]
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in placed]  # (out of the way of 0-5)
        for fd in set(placed):
            os.close(fd)
        for target, fd in enumerate(high):
            os.dup2(fd, target)
        keep = set(range(len(high)))
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
        os.chdir(request["cwd"])
        for procs in request["cgroups"]:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        uid, gid = os.getuid(), os.getgid()
        _check(_libc.unshare(NAMESPACES | (CLONE_NEWUSER if request["userns"] else 0)), "unshare")
        if request["userns"]:  # (what unshare --map-root-user writes)
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        pid = os.fork()
        if pid == 0:
            _worker(request["argv"])
        while True:
            try:
                _, waited = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                os._exit(code)
        if os.WIFSIGNALED(waited):  # die the same way, so that the grader reads the signal
            sig = os.WTERMSIG(waited)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # (no dump of the keeper's memory)
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        code = os.waitstatus_to_exitcode(waited)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
            sys.stderr.flush()
    os._exit(code)


def _worker(argv: list[str]) -> None:
    """In the keeper's child, PID 1 of the new PID namespace: the worker. Never returns."""
    code = 3
    try:
        # (as unshare --kill-child: its parent is outside its PID namespace, so getppid() says 0)
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent death signal")
        from handgrad.grading import worker

        sys.argv = [worker.__file__, *argv]
        try:
            worker.main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:
            traceback.print_exc(file=sys.__stderr__)  # (past the cap on the submission's prints)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc(file=sys.__stderr__)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):
            if stream is not None:
                stream.flush()
    os._exit(code)


def _reap(status: dict[int, int]) -> None:
    while True:
        try:
            pid, waited = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = status.pop(pid, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.write(fd, str(os.waitstatus_to_exitcode(waited)).encode())
            os.close(fd)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(args[0]))
    # What a worker imports before it seals itself (worker.main, worker.preload): imported
    # once, here. No backend starts and no thread is left running, so each fork is a whole
    # process. numpy's and scipy's OpenBLAS load with one thread; each worker sizes them to its
    # own cores (worker.blas_threads), as they size themselves from the affinity in a worker
    # started anew.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy  # noqa: F401

    import handgrad
    import handgrad.evaluate
    from handgrad.grading import compile_cache, protocol, runner, worker  # noqa: F401

    worker.preload()
    del os.environ["OPENBLAS_NUM_THREADS"]
    del handgrad
    gc.freeze()  # (a collection in a worker would otherwise copy the pages of these objects)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    status: dict[int, int] = {}
    zygote = os.getpid()
    while True:
        try:
            ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(status)
        if sock.fileno() not in ready:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
        except OSError:
            message, fds = b"", []
        if not message:  # the grader is gone: so are its workers, and this process (no teardown)
            for pid in status:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            os._exit(0)
        try:
            request = json.loads(message)
            if len(fds) != 5:
                raise ValueError(f"{len(fds)} descriptors")
        except ValueError:
            for fd in fds:
                os.close(fd)
            sock.send(b"{}")
            continue
        try:
            pid = os.fork()
        except OSError as exc:  # (told to the grader as Popen would have raised it)
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": f"cannot start a worker: {exc}"}).encode())
            continue
        if pid == 0:
            sock.close()
            _keeper(request, fds, zygote)
        for fd in fds[:-1]:
            os.close(fd)
        status[pid] = fds[-1]
        sock.send(json.dumps({"pid": pid}).encode())
        _reap(status)


if __name__ == "__main__":
    main()
