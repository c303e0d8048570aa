"""Hostile submissions against the run-time guards: the sandbox, the protocol, the limits.

Unlike tests/corpus/hostile.py these are graded with the static scan turned off
(tests/test_sandbox.py), so each shows that the sandbox holds on its own. Each is the
correct formulas with an attack added; `expect` maps each graded function to the
failure kind it must get, or "" where it must pass (the attack got nowhere and the
formula itself is right). Attacks mark what they leave behind with the name
"hgattack" (process names, files), so a test can look for survivors.

Placeholders filled in by the tests: {root} (the project's checkout), {out} (a bulk
run's --out directory), {victim} (the honest student's file name).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from tests.corpus.mistakes import correct_source

DAEMON = '''
import ctypes, os, time

def _daemon(work, seconds=40.0):
    """Double fork and setsid: a process that outlives the worker unless its PID namespace ends."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    ctypes.CDLL(None).prctl(15, b"hgattack", 0, 0, 0)
    end = time.time() + seconds
    while time.time() < end:
        try:
            work()
        except BaseException:
            pass
        time.sleep(0.2)
    os._exit(0)
'''


@dataclass(frozen=True)
class RuntimeHostile:
    id: str
    attack: str
    source: str
    expect: dict[str, str]
    """Failure kind per graded function; "" where the function must pass."""
    secrets: tuple[str, ...] = ()
    """Text that must appear in no feedback (what the attack tried to read)."""
    memory: int = 1 << 30
    """The worker's memory cap in the test."""
    timeout: float = 8.0
    """The time limit per call in the test."""

    @property
    def graded(self) -> tuple[str, ...]:
        return tuple(self.expect)

    def module_text(self, **fill: str) -> str:
        text = textwrap.dedent(self.source).strip() + "\n"
        for key, value in fill.items():
            text = text.replace("{" + key + "}", value)
        return correct_source() + "\n\n# ---- the attack ----\n" + text


OK_BOTH = {"relu_grad": "", "l1": ""}

RUNTIME_HOSTILE: tuple[RuntimeHostile, ...] = (
    RuntimeHostile(
        "patch-main-flag",
        "imports __main__ and clears every autodiff flag and hook it finds, then uses jax.grad",
        """
        import __main__, sys

        for module in [__main__, *[m for m in list(sys.modules.values()) if m is not None]]:
            for attr in ("AutodiffFlag", "flag", "used", "FLAG"):
                if hasattr(module, attr):
                    try:
                        setattr(module, attr, False)
                    except Exception:
                        pass

        def relu_grad(x):
            return jax.vmap(jax.grad(relu))(x.reshape(-1)).reshape(x.shape)
        """,
        {"relu_grad": "autodiff", "l1": ""},
    ),
    RuntimeHostile(
        "replace-write-message",
        "rebinds every write_message it can reach so that replies say 'no autodiff'",
        """
        import sys

        def _lying_write(stream, message, *rest):
            message = dict(message)
            message["autodiff"] = False
            return _original_write(stream, message, *rest)

        _original_write = None
        for module in [m for m in list(sys.modules.values()) if m is not None]:
            if callable(getattr(module, "write_message", None)):
                _original_write = _original_write or module.write_message
                module.write_message = _lying_write

        def relu_grad(x):
            return jax.vmap(jax.grad(relu))(x.reshape(-1)).reshape(x.shape)
        """,
        {"relu_grad": "autodiff", "l1": ""},
    ),
    RuntimeHostile(
        "import-time-jaxpr",
        "differentiates at import under make_jaxpr and replays the jaxpr at call time",
        """
        from jax import core as _core

        _closed = jax.make_jaxpr(jax.grad(lambda v: relu(v)))(1.0)

        def relu_grad(x):
            flat = x.reshape(-1)
            out = jax.vmap(lambda v: _core.eval_jaxpr(_closed.jaxpr, _closed.consts, v)[0])(flat)
            return out.reshape(x.shape).astype(x.dtype)
        """,
        {"relu_grad": "autodiff", "l1": "autodiff"},
    ),
    RuntimeHostile(
        "sys-modules-reference",
        "pops the blocked project packages out of sys.modules and imports the reference",
        """
        import sys

        def relu_grad(x):
            for name in [n for n in list(sys.modules) if n.split(".")[0] in ("reference", "handwritten", "handgrad")]:
                del sys.modules[name]
            sys.path[:0] = ["{root}", "/work/main"]
            import handwritten
            return handwritten.relu_grad(x)
        """,
        {"relu_grad": "exception", "l1": ""},
    ),
    RuntimeHostile(
        "read-project-files",
        "reads the project's reference sources and lists the grader's folders",
        """
        import glob, os

        def _peek():
            found = []
            for pattern in ("{root}/reference/*.py", "/work/main/reference/*.py", "{root}/handwritten/*.py",
                            "/tmp/handgrad-*/**/*.py", "/etc/shadow", "/root/*"):
                for path in glob.glob(pattern, recursive=True):
                    try:
                        with open(path) as f:
                            found.append(path + ":" + f.read(60))
                    except OSError:
                        pass
            return found

        _correct_relu_grad = relu_grad

        def relu_grad(x):
            found = _peek()
            if found:
                raise RuntimeError("read " + " | ".join(found)[:300])
            return _correct_relu_grad(x)
        """,
        OK_BOTH,
        secrets=("def relu_grad", "root:", "autodiff"),
    ),
    RuntimeHostile(
        "proc-cmdline",
        "reads the command lines and environments of every process it can see, and reports them",
        """
        import os

        def relu_grad(x):
            seen = []
            for pid in ["self", "1", str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()]:
                for what in ("cmdline", "environ"):
                    try:
                        with open(f"/proc/{pid}/{what}", "rb") as f:
                            seen.append(f.read().replace(b"\\0", b" ").decode(errors="replace"))
                    except OSError:
                        pass
            raise RuntimeError(" ## ".join(seen))
        """,
        {"relu_grad": "exception", "l1": ""},
        secrets=("{root}", "{victim}", "handgrad-sub-", "handgrad-worker-"),
    ),
    RuntimeHostile(
        "daemon-kills-later-workers",
        "leaves a double-forked setsid daemon that SIGKILLs every process it may, for 40 s",
        DAEMON
        + textwrap.dedent(
            """
        import signal

        def _kill_everything():
            for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass

        _started = []
        _correct_l1 = l1

        def l1(pred, target):
            if not _started:
                _started.append(_daemon(_kill_everything))
            return _correct_l1(pred, target)
        """
        ),
        {"l1": ""},
    ),
    RuntimeHostile(
        "daemon-rewrites-later-copies",
        "leaves a daemon that rewrites every submission copy and report it can find",
        DAEMON
        + textwrap.dedent(
            """
        import glob

        _WRONG = "def relu_grad(x):\\n    return x * 0\\n"

        def _rewrite():
            for pattern in ("/tmp/handgrad-*/**/*.py", "/tmp/**/{victim}", "{out}/*", "/dev/shm/*"):
                for path in glob.glob(pattern, recursive=True):
                    try:
                        with open(path, "a") as f:
                            f.write(_WRONG)
                    except OSError:
                        pass
            for path in ("/tmp/hgattack-marker", "{out}/marks.csv"):
                try:
                    with open(path, "w") as f:
                        f.write("{victim},0,24,ok\\n")
                except OSError:
                    pass

        _daemon(_rewrite)
        """
        ),
        OK_BOTH,
    ),
    RuntimeHostile(
        "huge-reply",
        "answers every call with 512 MiB of float64",
        """
        def relu_grad(x):
            return jnp.zeros((1 << 26,), jnp.float64)
        """,
        {"relu_grad": "protocol", "l1": ""},
        memory=3 << 30,  # room to build the reply: the grader must refuse it unread
        # The first check is a live call, so the worker builds and sends the 512 MiB before any
        # program is inspected; with the suite's memory-heavy tests beside it, zeroing that much
        # took more than 8 CPU seconds (the kernel's reclaim is billed to it). Time enough to
        # send it: the refusal, not the clock, must be what fails it.
        timeout=30.0,
    ),
    RuntimeHostile(
        "leftovers-tmp-shm",
        "fills /tmp and /dev/shm (beyond their size) and leaves the files there",
        """
        import os

        def _fill(where, mib):
            try:
                with open(os.path.join(where, f"hgattack-{os.getpid()}-{mib}"), "wb") as f:
                    for _ in range(mib):
                        f.write(b"x" * (1 << 20))
            except OSError:
                pass

        for _where in ("/tmp", "/dev/shm"):
            _fill(_where, 16)
            _fill(_where, 200)

        _correct_l1 = l1

        def l1(pred, target):
            _fill("/dev/shm", 8)
            return _correct_l1(pred, target)
        """,
        OK_BOTH,
    ),
    RuntimeHostile(
        "fork-bomb",
        "forks sleeping children until the system says no",
        """
        import ctypes, os, time

        _correct_relu_grad = relu_grad

        def relu_grad(x):
            for _ in range(3000):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    ctypes.CDLL(None).prctl(15, b"hgattack", 0, 0, 0)
                    time.sleep(120)
                    os._exit(0)
            return _correct_relu_grad(x)
        """,
        # It exhausts its own worker's process limit: JAX cannot start a thread and the
        # worker dies. Nothing outside is touched (its uid and cgroup are its own).
        {"relu_grad": "crash", "l1": ""},
    ),
    RuntimeHostile(
        "network",
        "tries to reach the network and a local port; raises with what it got",
        """
        import socket

        _correct_relu_grad = relu_grad

        def relu_grad(x):
            reached = []
            for host, port in (("1.1.1.1", 53), ("127.0.0.1", 22), ("8.8.8.8", 443)):
                try:
                    socket.create_connection((host, port), timeout=1).close()
                    reached.append(f"{host}:{port}")
                except OSError:
                    pass
            if reached:
                raise RuntimeError("reached " + ", ".join(reached))
            return _correct_relu_grad(x)
        """,
        {"relu_grad": "", "l1": ""},
    ),
    RuntimeHostile(
        "kill-process-group",
        "signals its process group, its parent's and every process (-1)",
        """
        import os, signal

        _correct_relu_grad = relu_grad

        def relu_grad(x):
            for target in (0, -os.getpgid(0), os.getppid(), -1):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
            return _correct_relu_grad(x)
        """,
        {"relu_grad": "", "l1": ""},
    ),
    RuntimeHostile(
        "resident-memory",
        "touches more resident memory than the cap, a page at a time (no single huge request)",
        """
        _hoard = []

        def relu_grad(x):
            for _ in range(64):
                _hoard.append(np.ones(64 << 20, np.uint8))
            return (x > 0).astype(x.dtype)
        """,
        {"relu_grad": "memory", "l1": ""},
        # Room to reach the cap: where the host backs guest memory on first touch (this CI VM),
        # a page fault costs the worker CPU time, about 0.5 s per 64 MiB, and 8 s ran out first.
        timeout=40.0,
    ),
    RuntimeHostile(
        "state-across-functions",
        "one function leaves a global that a later, unrelated one (in catalog order) reads",
        """
        _STATE = {"sigmoid_ran": False}
        _correct_sigmoid, _correct_relu_grad = sigmoid, relu_grad

        def sigmoid(x):
            _STATE["sigmoid_ran"] = True
            return _correct_sigmoid(x)

        def relu_grad(x):
            if _STATE["sigmoid_ran"]:
                raise RuntimeError("sigmoid ran in this process before relu_grad")
            return _correct_relu_grad(x)
        """,
        {"sigmoid": "", "relu_grad": ""},
    ),
)
