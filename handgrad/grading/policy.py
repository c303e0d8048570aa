"""The sandbox's policy, as data: what a worker sees, what it may call, what it may use.

handgrad/grading/worker.py carries it out (mounts, seccomp, rlimits) and
handgrad/grading/sandbox.py and pool.py make the namespaces and the cgroup; the numbers
here are the whole of what they allow. Limits an instructor sets per run (call timeout,
memory, budget, private /tmp size, processes) are `pool.Limits`; docs/isolation.md explains
each line below and why.
"""

from __future__ import annotations

# ---- the file system a worker sees ---------------------------------------------------------
SUBMISSION_ROOT = "/submission"
"""Where the submission's own copy appears, read-only, inside the sealed root."""
CACHE_ROOT = "/handgrad-cache"
"""Where a sealed runner (never a worker) sees its submission's compilation cache, read-write
(handgrad/grading/compile_cache.py)."""
PRIVATE_CACHE = "/handgrad-compiled"
"""Where a sealed worker (or a runner without a cache) keeps the programs its JAX compiles: a
private tmpfs of PRIVATE_CACHE_BYTES, empty when it starts and gone with it. A worker compiles
every operation of its eager calls once with float64 on and again for its copy imported with
it off (worker.import_without_float64); the second finds the first's programs there."""
PRIVATE_CACHE_BYTES = 32 << 20
"""Size of that tmpfs (the reference solution's worker keeps about 1.2 MiB in 183 files; when
it is full, JAX compiles without keeping)."""
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache")
"""Bound read-only (no set-uid, no devices), besides the interpreter's prefix and the import path."""
CHECKOUT_MARKERS = ("pyproject.toml", "setup.py", ".git")
"""An import path entry holding one of these is a source checkout (the project's): left out."""
PROJECT_PACKAGES = ("handgrad", "handwritten", "reference", "benchmarks", "tests")
"""Hidden under an empty directory where an installed copy sits in site-packages."""
DIFFERENTIATION_SOURCES = ("jax/experimental/jet.py",)
"""Modules whose fresh import would bring differentiation back into a worker that switched it
off (worker.switch_off_differentiation): jet carries its own rules. Shown empty, under each
import path entry that has them, with their compiled copies in __pycache__."""
BLOCKED_PACKAGES = ("handwritten", "reference", "benchmarks", "tests", "conftest", "handgrad")
"""Not importable by the submission (removed from sys.modules, and not on disk either)."""
DEVICES = ("null", "zero", "full", "random", "urandom")
"""The only devices under /dev."""
TMP_INODES = 4096
"""Files and folders in a private /tmp or /dev/shm (inodes are kernel memory a size cap misses)."""

# ---- resources (rlimits; memory and processes also by cgroup, see pool.Limits) ------------------
NPROC = 512
"""Processes and threads of a worker with a uid of its own (JAX starts a few dozen)."""
NOFILE = 1024
"""Open descriptors of a worker process."""
FILE_BYTES = 64 << 20
"""Largest file a worker may write (RLIMIT_FSIZE); no core files at all."""

# ---- system calls refused with EPERM (seccomp, on every thread) ---------------------------------
# Kernel keyrings are per uid, not per namespace, and outlive the process (a key added by one
# worker was read by the next worker given that uid: another student's); mount and namespace
# calls matter where a thread keeps capabilities (userns mode: capset drops them for one
# thread only); the rest are kernel attack surface. Also refused, by argument: clone() with a
# namespace flag and a new RLIMIT_CPU; clone3 (whose flags a filter cannot read) fails with
# ENOSYS; system calls of a foreign architecture and x32 numbers fail (worker.seccomp_program).
DENIED = ("mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "add_key", "request_key", "keyctl",
          "bpf", "perf_event_open", "userfaultfd", "memfd_create", "ptrace", "process_vm_readv",
          "process_vm_writev", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
          "mount_setattr", "io_uring_setup", "io_uring_enter", "io_uring_register")  # fmt: skip
