"""`pytest --submission PATH` from any directory, with a space or an equals sign: the matrix
runs against that file (and only the matrix)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.mistakes import correct_source

SLICE = "relu_grad and float64 and eager and cpu:0"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("outside")
    source = correct_source()
    (root / "good.py").write_text(source)
    wrong = source.replace("def relu_grad(", "def _relu_grad_right(", 1)
    wrong += "\n\ndef relu_grad(x):\n    return 2 * _relu_grad_right(x)\n"
    (root / "wrong.py").write_text(wrong)
    (root / "work").mkdir()
    return root


@pytest.mark.parametrize("form", ["space", "equals"])
def test_a_wrong_submission_fails_from_outside_the_checkout(submissions: Path, form: str) -> None:
    option = ["--submission", "../wrong.py"] if form == "space" else ["--submission=../wrong.py"]
    proc = _pytest(submissions / "work", *option, "-k", SLICE, "-rN")  # (-rN: no summary lines to count)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "relu_grad-float64-eager-cpu:0" in proc.stdout
    assert " passed" not in proc.stdout.splitlines()[-1]  # every relu_grad cell fails: 2x is wrong everywhere
    # Each distinct cause in full once; the other cells failing the same way say so in a line.
    failed = int(proc.stdout.splitlines()[-1].split(" failed")[0].split()[-1])
    full = proc.stdout.count("likely mistake:")
    assert 1 <= full < failed and proc.stdout.count(": the same cause as ") == failed - full


def test_a_correct_submission_passes_and_only_the_matrix_runs(submissions: Path) -> None:
    proc = _pytest(submissions / "work", "--submission", "../good.py", "-k", SLICE)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert " passed" in last and "failed" not in last
    assert "test_agreement" in _pytest(submissions / "work", "--submission", "../good.py", "-k", SLICE, "--co").stdout


def test_a_missing_submission_is_a_usage_error(submissions: Path) -> None:
    proc = _pytest(submissions / "work", "--submission", "../absent.py")
    assert proc.returncode == 4
    assert "no such file or directory" in proc.stderr


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda root: (root / "notes").mkdir() or root / "notes", "no .py file, notebook or package in it"),
        (
            lambda root: (root / "mine.txt").write_text("x") and root / "mine.txt",
            "a submission is a .py file, a notebook (.ipynb) or a package directory",
        ),
    ],
    ids=["folder-without-python", "not-python"],
)
def test_a_path_holding_no_submission_is_one_usage_error(submissions: Path, make: Any, words: str) -> None:
    # It was an error in the setup of every test, each with a traceback into handgrad.
    path = make(submissions)
    proc = _pytest(submissions / "work", "--submission", str(path), "-k", SLICE)
    assert proc.returncode == 4
    assert f"--submission {path}: {words}" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_failed_cell_shows_the_explanation_not_the_engine(submissions: Path) -> None:
    stub = correct_source().replace("def relu_grad(", "def _relu_grad_right(", 1)
    stub += "\n\ndef relu_grad(x):\n    if x is None:\n        return x\n    raise NotImplementedError\n"
    (submissions / "half.py").write_text(stub)  # not a stub by its source: it runs, and fails
    proc = _pytest(submissions / "work", "--submission", "../half.py", "-k", SLICE + " and normal")
    assert proc.returncode == 1
    assert "likely mistake: not implemented yet" in proc.stdout
    assert "CaseResult(" not in proc.stdout and "run_case(" not in proc.stdout


def test_a_stub_is_skipped_with_its_reason_and_node_ids_name_the_file(submissions: Path) -> None:
    source = correct_source().replace("def relu_grad(", "def _relu_grad_right(", 1)
    source = source.replace("def tanh_grad(", "def _tanh_grad_right(", 1)
    source += "\n\ndef relu_grad(x):\n    raise NotImplementedError\n\n\ndef tanh_grad(x):\n    pass\n"
    (submissions / "stubs.py").write_text(source)
    slice_ = "(relu_grad or tanh_grad) and float64 and eager and cpu:0"
    proc = _pytest(submissions / "work", "--submission", "../stubs.py", "-k", slice_, "-rs")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]  # nothing failed: skipped
    last = proc.stdout.strip().splitlines()[-1]
    assert "skipped" in last and "failed" not in last and "passed" not in last
    assert "stubs.py: relu_grad is not attempted yet (its body only raises NotImplementedError)" in proc.stdout
    assert "stubs.py: tanh_grad is not attempted yet (its body does nothing (it returns None))" in proc.stdout
    ids = _pytest(submissions / "work", "--submission", "../stubs.py", "-k", slice_, "--co").stdout
    cells = [line for line in ids.splitlines() if "test_agreement[" in line]
    assert cells and all("test_agreement[stubs.py:" in line for line in cells)
