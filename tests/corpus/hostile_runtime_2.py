"""More hostile submissions against the run-time guards, each of a class the first
runtime corpus (tests/corpus/hostile_runtime.py) does not hold.

Same shape and use: graded with the static scan turned off by tests/test_sandbox.py,
`expect` maps each graded function to the failure kind it must get ("" where it must
pass; "a|b" where either kind is right). Attacks that talk to the grader write on the
worker's own reply pipe (its number is on the worker's command line), as code in the
worker process can.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.corpus.hostile_runtime import RuntimeHostile

FORGE = '''
import json, os, struct, sys

_OUT = int(sys.argv[sys.argv.index("--out") + 1])
_IN = int(sys.argv[sys.argv.index("--in") + 1])

def _forge(header):
    """A reply written straight onto the grader's pipe, ahead of the worker's own."""
    data = json.dumps(header).encode()
    os.write(_OUT, struct.pack(">I", len(data)) + data)
'''


@dataclass(frozen=True)
class RuntimeHostile2(RuntimeHostile):
    jobs: int = 1
    """--jobs of the run: with 2, the worker's share is half the cores."""
    fail_fast: bool = True
    """Stop a function at its first failing check (False: the grader goes on asking)."""
    said: str = ""
    """Text every graded function's feedback must hold."""


RUNTIME_HOSTILE_2: tuple[RuntimeHostile2, ...] = (
    RuntimeHostile2(
        "forged-replies",
        "writes its own replies ahead of the worker's: a field of the wrong type (the grader "
        "raised TypeError and the whole run ended), then terminal escapes, a carriage return, a "
        "lone surrogate (print raised UnicodeEncodeError) and a made-up failure kind",
        FORGE
        + """
_correct_relu_grad, _correct_l1 = relu_grad, l1

def relu_grad(x):
    _forge({"ok": True, "value": {"__array__": 0, "dtype": "float32", "shape": [0]}, "devices": 5,
            "__blobs__": [0]})
    return _correct_relu_grad(x)

def l1(pred, target):
    _forge({"ok": False, "kind": "\\x1b[2Jfull marks", "__blobs__": [],
            "message": "\\x1b]0;hgattack-title\\x07\\x1b[32mPASS\\x1b[0m\\r\\ud800\\u202e"})
    return _correct_l1(pred, target)
""",
        # (l1's first call is its live first check; its programs are traced after, once per shape,
        # each trace queueing a forged failure that is read as the answer to a later request: the
        # live repeat's, which then differs from the first answer)
        {"relu_grad": "protocol", "l1": "stale-state"},
        secrets=("\x1b", "\r", "\ud800", "\u202e", "full marks"),
    ),
    RuntimeHostile2(
        "stalled-request-pipe",
        "shrinks its request pipe to one page, queues a hundred forged replies so that the grader "
        "keeps sending requests, and stops reading: the grader's write blocked forever",
        FORGE
        + """
import fcntl, time

_correct_l2 = l2

_stalled = []

def l2(pred, target):
    if _stalled:  # (stalls at its first call: the live first check)
        return _correct_l2(pred, target)
    _stalled.append(True)
    fcntl.fcntl(_IN, 1031, 4096)  # F_SETPIPE_SZ
    for _ in range(100):
        _forge({"ok": False, "kind": "exception", "message": "forged", "__blobs__": []})
    time.sleep(30)  # then reads again: a grader without a deadline on its writes waits, then runs every check
    return _correct_l2(pred, target)
""",
        # The first call is the live first check: it sleeps past its timeout with the pipe
        # shrunk and a hundred forged replies queued, and times out, which stops the function
        # there (the grader's writes have a deadline, so it never blocks on the pipe). Where the
        # grader reads a forged reply first, it takes the failure it claims ("exception"): a
        # reply can only cost its own submission.
        {"l2": "timeout|exception"},
        timeout=3.0,
        fail_fast=False,
        said="not run",
    ),
    RuntimeHostile2(
        "kernel-state",
        "reaches kernel state that namespaces do not separate: the uid's keyring (a key outlived "
        "the worker and was read by the next worker given that uid), new user and mount "
        "namespaces, memfd memory outside any file system cap, io_uring, another process's memory, "
        "its own staged copy",
        """
import ctypes, os, platform

_libc = ctypes.CDLL(None, use_errno=True)
_X86 = platform.machine() == "x86_64"
_CALLS = {  # name: (x86_64 number, aarch64 number, arguments)
    "add_key": (248, 217, (b"user", b"hgattack", b"for the next student", 20, -4)),  # KEY_SPEC_USER_KEYRING
    "keyctl-search": (250, 219, (10, -4, b"user", b"hgattack", 0)),
    "unshare-user-mount": (272, 97, (0x10000000 | 0x20000,)),
    "clone-newnet": (56, 220, (0x40000000 | 17, 0, 0, 0, 0)),
    "memfd_create": (319, 279, (b"hgattack", 0)),
    "io_uring_setup": (425, 425, (4, ctypes.create_string_buffer(120))),
    "process_vm_readv": (310, 270, (os.getpid(), 0, 0, 0, 0, 0)),
}
_at_import = _libc.syscall(248 if _X86 else 217, b"user", b"hgattack", b"x", 1, -4)
_correct_relu_grad = relu_grad

def relu_grad(x):
    worked = ["add_key at import"] if _at_import >= 0 else []
    for name, (x86, arm, args) in _CALLS.items():
        got = _libc.syscall(x86 if _X86 else arm, *args)
        if got == 0 and name.startswith("clone"):
            os._exit(0)  # (the child of a clone that worked)
        if got >= 0:
            worked.append(name)
    for task in os.listdir("/proc/self/task"):  # every thread, JAX's too, must be filtered
        with open(f"/proc/self/task/{task}/status") as f:
            if "Seccomp:\\t2" not in f.read():
                worked.append(f"thread {task} unfiltered")
    for name in os.listdir("/submission"):  # its own copy, read by its later workers and any retry
        try:
            with open(os.path.join("/submission", name), "a") as f:
                f.write("\\nraise SystemExit")
            worked.append("wrote its staged copy")
        except OSError:
            pass
    if worked:
        raise RuntimeError("reached: " + ", ".join(worked))
    return _correct_relu_grad(x)
""",
        {"relu_grad": ""},
    ),
    RuntimeHostile2(
        "death-from-outside",
        "makes its own end look like a kill from outside, to be retried: a hard CPU limit it lowers "
        "itself (the kernel then SIGKILLs the namespace's init), else unshare's own words about a "
        "SIGKILL printed before it exits with status 1",
        """
        import os, resource, sys

        def relu_grad(x):
            try:
                resource.setrlimit(resource.RLIMIT_CPU, (1, 1))
            except (OSError, ValueError):
                print("unshare: sigprocmask unblock failed: Invalid argument", file=sys.stderr, flush=True)
                os._exit(1)
            while True:
                pass
        """,
        {"relu_grad": "crash"},
        said="exited with status 1",  # its own doing: not "killed from outside", not retried
    ),
    RuntimeHostile2(
        "cpu-beyond-share",
        "resets its processes' affinity to every core and spins there, to starve the workers of "
        "other students (a worker of 60 spinning processes took the machine); fails if it got "
        "more CPU time than its share of the cores",
        """
import os, time

_correct_relu_grad = relu_grad
_spun = []

def relu_grad(x):
    if _spun:
        return _correct_relu_grad(x)
    _spun.append(True)
    share, cores = len(os.sched_getaffinity(0)), os.cpu_count() or 1
    children = []
    for _ in range(2 * cores):
        pid = os.fork()
        if pid == 0:
            try:
                os.sched_setaffinity(0, range(cores))
            except OSError:
                pass
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                pass
            os._exit(0)
        children.append(pid)
    start, before = time.monotonic(), os.times()
    for pid in children:
        os.waitpid(pid, 0)
    after = os.times()
    used = after.children_user + after.children_system - before.children_user - before.children_system
    if used / max(time.monotonic() - start, 1e-3) > share + 0.25:  # (seen only where cores sit idle)
        raise RuntimeError(f"used {used:.2f} s of CPU in 1.5 s with a share of {share} cores")
    return _correct_relu_grad(x)
""",
        {"relu_grad": ""},
        jobs=2,
    ),
)
