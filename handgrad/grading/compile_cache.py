"""Where compiled XLA programs are kept between grades, and which process may write them.

Most of a grade's CPU time is XLA compiling: the runner compiles two programs per function
(handgrad/grading/runner.py), the grader its references. Both are deterministic in their
program, so JAX's persistent compilation cache keeps them on disk between grades. Two caches,
because of who writes them:

- The grader's (`grader_dir`): what the grader process compiles, the references and its
  comparisons. No submission's code or program runs in that process, so one directory serves
  every grade this user runs.
- A submission's (`runner_dir`): what its runners compile, the programs its worker exported.
  A runner never runs the submission's Python, but it compiles and runs that submission's
  programs, and it runs sandboxed because a program is not trusted (runner.py). So its cache
  is one directory per submission path, bound read-write into that path's runners only (never
  into a worker, never into another path's runner): whatever a runner could leave there, only
  later grades of the same path read. A student re-grading after changing one function
  compiles that function's programs and finds the others'.

  A path is taken to be one student's. A pipeline that copies each student's file to the same
  path before grading it should grade with `--no-cache` (or HANDGRAD_CACHE_DIR=off).

The grader bounds both between grades (`_prune`: oldest files first; at most RUNNER_PATHS
submission directories). HANDGRAD_CACHE_DIR chooses the directory (default
$XDG_CACHE_HOME/handgrad, else ~/.cache/handgrad); `off` turns both caches off. The cache is
only speed: a directory that cannot be made or written means no cache, never a failed grade.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
from pathlib import Path

ENV = "HANDGRAD_CACHE_DIR"
GRADER_BYTES = 512 << 20
"""Largest the grader's cache grows between grades (the 24 formulas' references: about 2 MiB)."""
RUNNER_BYTES = 64 << 20
"""Largest one submission's cache grows between grades (a correct submission: about 2 MiB)."""
RUNNER_PATHS = 256
"""Submission paths whose caches are kept (the least recently graded go first)."""


def root() -> Path | None:
    """The cache directory for this JAX and jaxlib (None: turned off)."""
    import jax
    import jaxlib

    chosen = os.environ.get(ENV, "")
    if chosen.strip().lower() == "off":
        return None
    if chosen:
        base = Path(chosen)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "handgrad"
    return base / f"jax-{jax.__version__}-jaxlib-{jaxlib.__version__}"


def private(path: Path) -> Path:
    """`path` made (with its parents), readable by this user alone."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _own_folder(path)
    os.chmod(path, 0o700)
    return path


def _own_folder(path: Path) -> None:
    """Raise OSError unless `path` is a folder (not a link to one) of this user's."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise OSError(f"{path} is not a folder of this user's")


def grader_dir() -> Path | None:
    """The grader's cache, pruned to GRADER_BYTES; None when off or not writable."""
    base = root()
    if base is None:
        return None
    try:
        path = private(base / "grader")
        _prune(path, GRADER_BYTES)
    except OSError:
        return None
    return path


def runner_dir(submission: Path, other_uids: bool) -> Path | None:
    """The cache of the submission at `submission` (its path as given, made absolute), pruned
    to RUNNER_BYTES; None when off or not writable. `other_uids`: its runners run as uids of
    their own (sandbox mode "namespaces"), so the directory is writable by any uid and
    sticky (no runner removes another's entries); its parents stay this user's alone, so
    only a runner it is bound into can reach it."""
    base = root()
    if base is None:
        return None
    key = hashlib.sha256(os.path.abspath(submission).encode()).hexdigest()[:32]
    try:
        runners = private(base / "runners")
        path = runners / key
        path.mkdir(exist_ok=True, mode=0o700)
        _own_folder(path)
        os.chmod(path, 0o1777 if other_uids else 0o700)
        os.utime(path)  # graded now: the last to be pruned
        _prune(path, RUNNER_BYTES)
        _prune_paths(runners, RUNNER_PATHS)
    except OSError:
        return None
    return path


def _prune(path: Path, max_bytes: int) -> None:
    """Remove the oldest files in `path` until the rest hold at most `max_bytes`."""
    files = [(f.stat(), f) for f in path.iterdir() if f.is_file() and not f.is_symlink()]
    total = sum(info.st_size for info, _ in files)
    for info, f in sorted(files, key=lambda t: t[0].st_mtime):
        if total <= max_bytes:
            break
        with contextlib.suppress(OSError):
            f.unlink()
            total -= info.st_size


def _prune_paths(runners: Path, keep: int) -> None:
    """Keep the `keep` most recently graded submission caches under `runners`."""
    dirs = sorted((d for d in runners.iterdir() if d.is_dir() and not d.is_symlink()), key=lambda d: d.stat().st_mtime)
    for d in dirs[: max(0, len(dirs) - keep)]:
        shutil.rmtree(d, ignore_errors=True)


def use(path: str | os.PathLike[str]) -> None:
    """Have this process's JAX keep every program it compiles in `path` and look there
    first. Takes effect for compiles after it, even where some ran before (their "no cache"
    decision is reset)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    compilation_cache.set_cache_dir(str(path))
    compilation_cache.reset_cache()
