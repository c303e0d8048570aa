"""Compiled programs kept between grades (handgrad/grading/compile_cache.py): one cache per
submission path, written by that path's runners and seen by no worker; the grader's own;
bounded; off where no sandbox keeps a submission from writing it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handgrad.grading import compile_cache, sandbox, worker
from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits

FAST = Limits(timeout=8.0, memory=2 << 30, startup=60.0, budget=120.0)
RELU = "import jax.numpy as jnp\n\ndef relu(x):\n    return jnp.maximum(x, 0)\n"

needs_sandbox = pytest.mark.skipif(not sandbox.detect().full, reason="no sandbox here: runners keep no cache")


def _entries(directory: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(directory.iterdir())} if directory.is_dir() else {}


def _runner_dirs(base: Path) -> list[Path]:
    runners = compile_cache.root()
    assert runners is not None and runners.is_relative_to(base)
    found = runners / "runners"
    return sorted(d for d in found.iterdir()) if found.is_dir() else []


@pytest.fixture
def cache_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "cache"
    monkeypatch.setenv(compile_cache.ENV, str(base))
    return base


@needs_sandbox
def test_a_regrade_finds_every_program_its_path_compiled(tmp_path: Path, cache_base: Path) -> None:
    """The first grade leaves relu's two programs in its path's cache; a second, under another
    seed, needs no new one (the programs do not depend on the seed), and its verdict is the
    same. Another path holding the same file gets a cache of its own."""
    path = tmp_path / "mine.py"
    path.write_text(RELU)
    first = grade(path, Options(functions=("relu",), seed=1, limits=FAST)).functions[0]
    (kept,) = _runner_dirs(cache_base)
    entries = _entries(kept)
    assert first.passed, first.feedback
    assert len([n for n in entries if n.endswith("-cache")]) >= 2, sorted(entries)
    again = grade(path, Options(functions=("relu",), seed=2, limits=FAST)).functions[0]
    assert again.passed and (again.score, again.checks) == (first.score, first.checks)
    assert _entries(kept) == entries, "the re-grade compiled a program the first grade had kept"

    other = tmp_path / "other" / "mine.py"
    other.parent.mkdir()
    other.write_text(RELU)
    grade(other, Options(functions=("relu",), seed=1, limits=FAST))
    dirs = _runner_dirs(cache_base)
    assert len(dirs) == 2 and all(_entries(d) for d in dirs)


@needs_sandbox
def test_a_worker_sees_no_cache_but_its_own_empty_at_its_start(tmp_path: Path, cache_base: Path) -> None:
    """The submission's own process (scan off: the sandbox alone) finds neither the runner's
    cache where a runner sees it nor the folder that holds it on the host (made before any
    process starts). Its own private cache keeps what it compiles, and starts empty: a
    second grade's worker finds nothing the first left there. relu is right only where all
    of that holds."""
    path = tmp_path / "peek.py"
    path.write_text(
        "import builtins, os\nimport jax.numpy as jnp\n\n"
        f"PRIVATE = {worker.PRIVATE_CACHE!r}\n"
        f"SEEN = any(os.path.exists(p) for p in ({worker.CACHE_ROOT!r}, {str(cache_base)!r}))\n"
        "if not hasattr(builtins, 'hg_token'):  # one per process: both copies of this module share it\n"
        "    builtins.hg_token = os.urandom(8).hex()\n"
        "FOREIGN = [f for f in os.listdir(PRIVATE) if f.startswith('hgmark-') and f != 'hgmark-' + builtins.hg_token]\n"
        "jnp.cosh(jnp.ones((3, 5, 7))).block_until_ready()  # a program no warm-up compiled\n"
        "KEPT = any(not f.startswith('hgmark-') for f in os.listdir(PRIVATE))\n"
        "open(os.path.join(PRIVATE, 'hgmark-' + builtins.hg_token), 'w').close()\n\n"
        "def relu(x):\n"
        "    return jnp.maximum(x, 0) + (0.0 if KEPT and not SEEN and not FOREIGN else 1.0)\n"
    )
    for seed in (1, 2):
        result = grade(path, Options(functions=("relu",), seed=seed, limits=FAST, scan=False)).functions[0]
        assert result.passed, result.feedback


def test_no_cache_without_a_sandbox_or_when_turned_off(
    tmp_path: Path, cache_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--insecure (no sandbox: the submission could write the cache) and --no-cache keep
    nothing; HANDGRAD_CACHE_DIR=off turns every cache off."""
    path = tmp_path / "mine.py"
    path.write_text(RELU)
    real = sandbox.detect()
    try:
        with monkeypatch.context() as forced:
            forced.setenv("HANDGRAD_SANDBOX", "none")
            sandbox.detect.cache_clear()
            insecure = grade(path, Options(functions=("relu",), seed=1, limits=FAST, insecure=True)).functions[0]
    finally:  # (with the variable gone: the next test must find the real sandbox, not "none")
        sandbox.detect.cache_clear()
    assert insecure.passed
    assert not cache_base.exists() or not _runner_dirs(cache_base)
    assert sandbox.detect() == real
    if real.full:
        grade(path, Options(functions=("relu",), seed=1, limits=FAST, cache=False))
        assert not cache_base.exists() or not _runner_dirs(cache_base)
    monkeypatch.setenv(compile_cache.ENV, "off")
    assert compile_cache.root() is None
    assert compile_cache.grader_dir() is None and compile_cache.runner_dir(path, True) is None


def test_a_cache_is_pruned_oldest_first(cache_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between grades a path's cache keeps its newest files within RUNNER_BYTES, and only the
    RUNNER_PATHS most recently graded paths keep a cache."""
    monkeypatch.setattr(compile_cache, "RUNNER_BYTES", 250)
    monkeypatch.setattr(compile_cache, "RUNNER_PATHS", 2)
    mine = compile_cache.runner_dir(tmp_path / "a.py", other_uids=False)
    assert mine is not None and mine.stat().st_mode & 0o777 == 0o700
    now = time.time()
    for age, name in enumerate(["newest", "middle", "oldest"]):
        (mine / name).write_bytes(b"x" * 100)
        os.utime(mine / name, (now - 100 * age, now - 100 * age))
    assert compile_cache.runner_dir(tmp_path / "a.py", other_uids=False) == mine
    assert sorted(p.name for p in mine.iterdir()) == ["middle", "newest"]
    b = compile_cache.runner_dir(tmp_path / "b.py", other_uids=True)
    assert b is not None and b.stat().st_mode & 0o7777 == 0o1777 and b != mine
    os.utime(mine, (now - 50, now - 50))
    os.utime(b, (now - 10, now - 10))
    c = compile_cache.runner_dir(tmp_path / "c.py", other_uids=False)
    assert c is not None
    assert sorted(d.name for d in c.parent.iterdir()) == sorted([b.name, c.name])  # a.py's went first


def test_an_unwritable_or_planted_cache_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder that cannot be made, or a link planted where a folder should be (its
    target would be chmod-ed and written through), is no cache, not an error."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(compile_cache.ENV, str(blocked / "cache"))
    assert compile_cache.grader_dir() is None and compile_cache.runner_dir(tmp_path / "a.py", True) is None
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "cache"))
    base = compile_cache.root()
    assert base is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    base.mkdir(parents=True)
    (base / "grader").symlink_to(elsewhere)
    (base / "runners").symlink_to(elsewhere)
    assert compile_cache.grader_dir() is None and compile_cache.runner_dir(tmp_path / "a.py", True) is None
    assert elsewhere.stat().st_mode & 0o7777 == 0o755 and not any(elsewhere.iterdir())


def test_only_a_runner_is_given_a_cache() -> None:
    with pytest.raises(SystemExit):
        worker.main(["--in", "0", "--out", "1", "--submission", "x.py", "--names", "relu", "--cache", "/tmp/c"])


@needs_sandbox
def test_the_command_keeps_the_graders_and_the_paths_programs_unless_told_not_to(tmp_path: Path) -> None:
    """`handgrad grade` keeps the references it compiled and the path's programs; with
    --no-cache it keeps nothing."""
    path = tmp_path / "mine.py"
    path.write_text(RELU)
    for flags, cache in (([], tmp_path / "kept"), (["--no-cache"], tmp_path / "none")):
        env = {**os.environ, compile_cache.ENV: str(cache)}
        command = [sys.executable, "-m", "handgrad", "grade", str(path), "--function", "relu", "--seed", "3", *flags]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        files = sorted(str(p.relative_to(cache)) for p in cache.rglob("*-cache")) if cache.exists() else []
        if flags:
            assert files == []
        else:
            assert any("/grader/" in f for f in files) and any("/runners/" in f for f in files), files


def test_main_called_from_python_leaves_its_callers_compiles_alone() -> None:
    # Only the `handgrad` command's process keeps what it compiles: a notebook or a test that
    # calls main() would otherwise write every later compile of its own to the grader's cache
    # (a pytest process that had done so aborted inside JAX's cache writer).
    import jax

    from handgrad import cli

    before = jax.config.jax_compilation_cache_dir
    cli._use_grader_cache()
    assert jax.config.jax_compilation_cache_dir == before
