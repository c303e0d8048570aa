"""The Gradescope bundle: resolved for the target Python, reproducible, failures not hidden,
nothing grading does not use; the starter rubric; notebooks graded as the same .py file."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from handgrad.grading import bundle
from handgrad.grading.bundle import _marker_holds, requirements_for, write_bundle
from handgrad.grading.rubric import Rubric, load, starter_text
from handgrad.grading.submission import SubmissionError, notebook_source, resolve

PINS = ["jax==0.6.2", "numpy==2.2.6"]


def test_markers_are_evaluated_for_the_target_python() -> None:
    assert _marker_holds(" python_version < '3.11'", "3.10")
    assert not _marker_holds(" python_version < '3.11'", "3.12")
    assert any(r.startswith("tomli") for r in requirements_for("3.10"))
    assert not any(r.startswith("tomli") for r in requirements_for("3.12"))


def test_bundle_is_reproducible_and_holds_only_what_grading_uses(tmp_path: Path) -> None:
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    write_bundle(a, ["--timeout", "8"], constraints=PINS)
    (bundle.ROOT / "README.md").stat()  # the source is read again for the second zip
    write_bundle(b, ["--timeout", "8"], constraints=PINS)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with zipfile.ZipFile(a) as zf:
        infos = zf.infolist()
        setup = zf.read("setup.sh").decode()
        assert zf.read("constraints.txt").decode().split() == PINS
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {bundle.ZIP_TIME}
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["constraints.txt"] == 0o644
    assert not [n for n in names if "benchmarks" in n or "__pycache__" in n]
    assert "handgrad-src/handgrad/cli.py" in names
    assert "|| true" not in setup and "set -euo pipefail" in setup


def test_starter_rubric_reads_back_as_the_default(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(starter_text(), encoding="utf-8")
    assert load(path) == Rubric()


def test_a_rubric_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    # Windows editors save UTF-8 with a BOM; TOML has none, and tomllib refused it at line 1 column 1.
    text = '[functions.l2_grad]\nweight = 3\nvisibility = "hidden"\n'
    plain, marked = tmp_path / "plain.toml", tmp_path / "marked.toml"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load(marked) == load(plain) != Rubric()


def test_readme_bundle_command_works_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from handgrad.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bundle, "resolve_constraints", lambda python: PINS)
    monkeypatch.setattr("handgrad.grading.bundle.resolve_constraints", lambda python: PINS)
    assert main(["rubric", "rubric.toml"]) == 0
    assert main(["gradescope-bundle", "autograder.zip", "--rubric", "rubric.toml"]) == 0
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        assert zf.read("rubric.toml").decode() == starter_text()


def _notebook(cells: list[str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                                  "outputs": [], "source": s} for i, s in enumerate(cells)]})  # fmt: skip


@pytest.mark.parametrize(
    ("line", "kind"),
    [("%timeit relu(x)", "IPython magic"), ("  !pip install jax", "shell command"), ("%%time", "IPython magic")],
)
def test_notebook_magics_are_refused_with_cell_and_line(tmp_path: Path, line: str, kind: str) -> None:
    path = tmp_path / "hw.ipynb"
    path.write_text(_notebook(["import math", f"x = 1\n{line}\n"]), encoding="utf-8")
    with pytest.raises(SubmissionError, match=f"code cell 2, line 2: an? {kind}"):
        resolve(path)


def test_notebook_code_is_its_code_cells(tmp_path: Path) -> None:
    path = tmp_path / "hw.ipynb"
    path.write_text(_notebook(["import math", "def f(x):\n    return math.sqrt(x)"]), encoding="utf-8")
    source = notebook_source(path)
    namespace: dict[str, object] = {}
    exec(compile(source, "hw", "exec"), namespace)  # the test's own text, not a submission
    assert namespace["f"](9.0) == 3.0  # type: ignore[operator]
    assert resolve(tmp_path) == path  # a folder holding only the notebook


def test_notebook_gets_the_same_marks_as_the_same_py(tmp_path: Path) -> None:
    from handgrad.grading.grader import Options, grade
    from handgrad.grading.pool import Limits

    code = (
        "import jax.numpy as jnp\n\n\ndef relu_grad(x):\n    return jnp.where(x > 0, 1.0, 0.0).astype(x.dtype)\n\n\n"
        "def l2_grad(pred, target):\n    return pred - target\n"  # a forgotten factor 2
    )
    py = tmp_path / "sub.py"
    py.write_text(code, encoding="utf-8")
    nb = tmp_path / "nb" / "sub.ipynb"
    nb.parent.mkdir()
    nb.write_text(_notebook(code.split("\n\n\n")), encoding="utf-8")
    options = Options(insecure=True, functions=("relu_grad", "l2_grad"), seed=5,
                      limits=Limits(timeout=8.0, memory=3 << 30, startup=60.0))  # fmt: skip
    marks = [{f.name: f.score for f in grade(p, options).functions} for p in (py, nb)]
    assert marks[0] == marks[1]
    assert marks[0]["l2_grad"] == 0 and marks[0]["relu_grad"] > 0


# ---- partial credit within a function (rubric `partial = true`) --------------------------


def test_partial_credit_is_the_share_of_cells_passed_per_tier(tmp_path: Path) -> None:
    from handgrad.cases import build_cases
    from handgrad.grading.grader import Options, grade, grading_device
    from handgrad.grading.pool import Limits
    from reference.catalog import BY_NAME

    sub = tmp_path / "sub.py"
    sub.write_text(
        "import jax.numpy as jnp\n\n\ndef relu_grad(x):\n"
        "    d = jnp.where(x > 0, 1.0, 0.0).astype(x.dtype)\n"
        "    return d + 1 if x.dtype == jnp.float16 else d\n",  # right in float32, wrong everywhere in float16
        encoding="utf-8",
    )
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("partial = true\n[functions.relu_grad]\nweight = 4\n", encoding="utf-8")
    limits = Limits(timeout=8.0, memory=3 << 30, startup=60.0)
    options = Options(insecure=True, functions=("relu_grad",), seed=7, limits=limits, rubric=load(rubric))
    got = grade(sub, options).functions[0]
    # Expected from the cells themselves: derivation and stability count (extreme does not,
    # without --strict), each tier earning the fraction of its cells that are not float16.
    cases = build_cases([BY_NAME["relu_grad"]], devices=[grading_device()])
    fractions = []
    for tier in ("derivation", "stability"):
        in_tier = [c for c in cases if c.family.tier == tier]
        if in_tier:
            fractions.append(sum(c.dtype != "float16" for c in in_tier) / len(in_tier))
    assert 0 < min(fractions) < 1
    assert got.score == pytest.approx(4 * sum(fractions) / len(fractions))
    all_or_nothing = Options(insecure=True, functions=("relu_grad",), seed=7, limits=limits)
    assert grade(sub, all_or_nothing).functions[0].score == 0


def test_partial_must_be_a_boolean(tmp_path: Path) -> None:
    from handgrad.grading.rubric import RubricError

    rubric = tmp_path / "rubric.toml"
    rubric.write_text('partial = "yes"\n', encoding="utf-8")
    with pytest.raises(RubricError, match="partial must be true or false"):
        load(rubric)


# ---- the bundle as Gradescope runs it (slow: a fresh venv with JAX, built once) ----------


@pytest.fixture(scope="module")
def checked_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """`gradescope-bundle --check` with this machine's Python: the bundle's constraints are
    resolved for it from the index, setup.sh builds a fresh venv, run_autograder grades the
    reference solution and a wrong file under a temporary /autograder."""
    import sys

    from handgrad import starter
    from handgrad.cli import WRONG_TAIL

    where = tmp_path_factory.mktemp("gradescope")
    out = where / "autograder.zip"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # One function held back: its reports have no top-level score (Gradescope sums the tests).
    rubric = where / "rubric.toml"
    rubric.write_text(f'[functions.{bundle.WRONG_FUNCTION}]\nweight = 2\nvisibility = "after_published"\n')
    write_bundle(out, ["--timeout", "10"], rubric, constraints=bundle.resolve_constraints(version))
    solution, wrong = where / "solution.py", where / "wrong.py"
    solution.write_text(starter.solution(), encoding="utf-8")
    wrong.write_text(starter.solution() + WRONG_TAIL, encoding="utf-8")
    return bundle.check_bundle(out, sys.executable, solution, wrong), out


@pytest.mark.slow
def test_bundle_installs_and_grades_as_gradescope_would(checked_bundle: tuple[list[str], Path]) -> None:
    problems, out = checked_bundle
    assert problems == []
    with zipfile.ZipFile(out) as zf:
        pins = zf.read("constraints.txt").decode().split()
    assert any(p.startswith("jax==") for p in pins) and any(p.startswith("jaxlib==") for p in pins)


def test_readme_bundle_commands_are_the_ones_tested() -> None:
    readme = (bundle.ROOT / "README.md").read_text(encoding="utf-8")
    rubric = readme.index("handgrad rubric rubric.toml")
    assert rubric < readme.index("handgrad gradescope-bundle autograder.zip --rubric rubric.toml")


def test_python_x_y_skips_an_interpreter_that_does_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--python 3.99` takes the first `python3.99` that runs as 3.99: a pyenv shim for a version
    not selected (it exits 127) is passed over for the interpreter under ~/.pyenv/versions."""
    from handgrad.cli import _target_python

    shims, home = tmp_path / "shims", tmp_path / "home"
    real = home / ".pyenv" / "versions" / "3.99.1" / "bin"
    shims.mkdir()
    real.mkdir(parents=True)
    (shims / "python3.99").write_text("#!/bin/sh\necho 'pyenv: python3.99: command not found' >&2\nexit 127\n")
    (real / "python").write_text("#!/bin/sh\necho 3.99\n")
    for script in (shims / "python3.99", real / "python"):
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    assert _target_python("3.99") == ("3.99", str(real / "python"))
    (real / "python").unlink()
    assert _target_python("3.99") == ("3.99", None)  # none runs: --check then says so
