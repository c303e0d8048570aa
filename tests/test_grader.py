"""The grader: honest marks for honest work, no marks for tricks, never fooled or crashed.

Wrong submissions (tests/corpus/mistakes.py) lose exactly the marks of their wrong
function; hostile ones (tests/corpus/hostile.py) are caught by the static scan and by
the sandbox, each layer tested on its own; the project's files are untouched.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_case
from handgrad.grading import sandbox
from handgrad.grading.grader import FunctionGrade, Options, grade, grade_function, grading_device
from handgrad.grading.pool import Limits, SubmissionEvaluator
from handgrad.grading.reports import gradescope_error
from reference.catalog import BY_NAME
from tests.corpus.hostile import HOSTILE, Hostile
from tests.corpus.mistakes import MISTAKES, Mistake, correct_source
from tests.in_process import InProcessPrograms

ROOT = Path(__file__).resolve().parent.parent
FAST = Limits(timeout=8.0, memory=3 << 30, startup=60.0)
# Options(insecure=True) below: where no sandbox exists (not root, no user namespaces) these
# files, benign or caught by the static scan first, are graded anyway; with one it changes nothing.


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def project_digest() -> str:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    digest = hashlib.sha256()
    for name in sorted(files):
        path = ROOT / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# ---- wrong submissions ----------------------------------------------------------------


def test_corpus_has_30_wrong_and_10_hostile_submissions() -> None:
    assert len(MISTAKES) >= 30
    assert len(HOSTILE) >= 10 and len({h.attack for h in HOSTILE}) == len(HOSTILE)


# A cheap function that is right in every corpus file, graded beside the wrong one. Every
# other function of a corpus file is byte for byte the correct submission's, which
# test_bulk_grading... grades in full.
CONTROL = "l1"


THROUGH_WORKERS = frozenset({
    "sigmoid-overflow", "tanh-grad-no-square", "relu-grad-python-if", "relu-grad-half-at-zero",
    "softmax-vjp-unbatched", "huber-grad-no-delta", "cosine-grad-missing-term", "net-transposed-dW1",
})  # fmt: skip
"""Mistakes graded end to end (sandboxed workers, exported programs, the runner): one per
kind of failure (a value, NaN at extremes, jit-only, vmap-only, a kink under --strict, a
keyword, a row function, the network). The others are graded by the same grade_function
in this process: the oracle is the same, without two worker starts each."""


def _graded(
    mistake: Mistake, options: Options, tmp_path: Path, here: InProcess | None = None
) -> dict[str, FunctionGrade]:
    """`here`: the mistake's namespace, where the caller grades it more than once (its
    functions are then compiled once; no mistake of tests/corpus/mistakes.py keeps state)."""
    if mistake.id in THROUGH_WORKERS:
        path = write(tmp_path, "submission.py", mistake.module_text)
        return {f.name: f for f in grade(path, options).functions}
    assert options.seed is not None
    here = here or InProcessPrograms(mistake.namespace())
    return {n: grade_function(here, BY_NAME[n], options, options.seed, "cpu:0") for n in options.functions}


def test_the_mistakes_graded_end_to_end_exist() -> None:
    assert THROUGH_WORKERS <= {m.id for m in MISTAKES}


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_wrong_submission_loses_exactly_its_function(mistake: Mistake, tmp_path: Path) -> None:
    options = Options(
        insecure=True,
        functions=(mistake.function, CONTROL),
        seed=11,
        limits=FAST,
        strict=mistake.strict_only,
        fail_fast=True,
    )
    here = None if mistake.id in THROUGH_WORKERS else InProcessPrograms(mistake.namespace())
    result = _graded(mistake, options, tmp_path, here)
    wrong, right = result[mistake.function], result[CONTROL]
    assert not wrong.passed and wrong.score == 0 and wrong.max_score == 1
    assert mistake.function in wrong.feedback
    if wrong.problem == "value":
        assert "expected" in wrong.feedback and "got" in wrong.feedback and "input" in wrong.feedback
    if mistake.hint:
        assert mistake.hint in wrong.feedback
    assert right.passed and right.score == 1
    if mistake.strict_only:  # a valid subgradient: full marks unless --strict
        lenient = _graded(
            mistake, Options(insecure=True, functions=(mistake.function,), seed=11, limits=FAST), tmp_path, here
        )
        assert all(f.passed for f in lenient.values())


# ---- hostile submissions --------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_hostile_submission_is_not_fooled(hostile: Hostile, tmp_path: Path) -> None:
    report = tmp_path / "results.json"
    text = hostile.module_text.replace("{root}", str(ROOT)).replace("{report}", str(report))
    path = write(tmp_path, "submission.py", text)
    before = project_digest()
    limits = dataclasses.replace(FAST, timeout=hostile.timeout)
    result = grade(path, Options(insecure=True, functions=hostile.graded, seed=3, limits=limits))
    for f in result.functions:
        if f.name in hostile.fails:
            assert (f.passed, f.problem) == (False, hostile.fails[f.name]), f.feedback
            assert f.score == 0
        else:
            assert f.passed, f.feedback
    assert project_digest() == before


def runtime_kinds(hostile: Hostile, tmp_path: Path) -> dict[str, str]:
    """Failure kinds with the static scan bypassed: the sandbox alone."""
    report = tmp_path / "results.json"
    text = hostile.module_text.replace("{root}", str(ROOT)).replace("{report}", str(report))
    path = write(tmp_path, "submission.py", text)
    evaluator = SubmissionEvaluator(path, Limits(timeout=hostile.timeout, memory=3 << 30, startup=20.0), findings={})
    kinds: dict[str, str] = {}
    try:
        for name in hostile.graded:
            for case in build_cases([BY_NAME[name]], devices=[grading_device()]):
                result = run_case(evaluator, case, seed=3)
                if not result.ok:
                    kinds[name] = result.problem
                    break
    finally:
        evaluator.close()
    return kinds


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.id)
def test_sandbox_alone_contains_hostile_submission(hostile: Hostile, tmp_path: Path) -> None:
    if not sandbox.detect().full:
        pytest.skip("no sandbox here (neither root nor user namespaces): these would attack the test run itself")
    before = project_digest()
    expected = hostile.runtime_sealed if hostile.runtime_sealed is not None else hostile.runtime
    assert runtime_kinds(hostile, tmp_path) == expected
    assert project_digest() == before
    assert not (tmp_path / "results.json").exists()


def test_sandbox_mode_is_namespaces_when_running_as_root() -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("the grader is not root here: namespaces mode needs root")
    assert sandbox.detect().mode == "namespaces"


def test_allow_autodiff_lifts_only_the_autodiff_rule(tmp_path: Path) -> None:
    jax_grad = next(h for h in HOSTILE if h.id == "jax-grad")
    path = write(tmp_path, "submission.py", jax_grad.module_text)
    allowed = grade(path, Options(insecure=True, functions=("relu_grad",), seed=1, limits=FAST, allow_autodiff=True))
    assert allowed.full_marks
    forbidden = next(h for h in HOSTILE if h.id == "imports-the-answers")
    path = write(tmp_path, "other.py", forbidden.module_text)
    still = grade(path, Options(insecure=True, functions=("relu_grad",), seed=1, limits=FAST, allow_autodiff=True))
    assert still.functions[0].problem == "forbidden"


# ---- interfaces -----------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handgrad", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def seed_as_written() -> str:
    """The student's derivation as submitted: correct except for the seed's errata."""
    from tests import test_errata as errata

    names = {
        "l2_grad": errata.seed_l2_grad,
        "huber_grad": errata.seed_huber_grad,
        "two_layer_grads": errata.seed_two_layer_grads,
        "softmax_jacobian": errata.seed_softmax_jacobian,
        "cosine_similarity_grad": errata.seed_cosine_grad_doubled,
    }
    import inspect
    import textwrap

    parts = [correct_source(), "\n# ---- as the seed wrote them ----\n"]
    for name, fn in names.items():
        body = textwrap.dedent(inspect.getsource(fn)).replace(f"def {fn.__name__}(", f"def {name}(")
        parts.append(body.replace("handwritten.", ""))
    return "\n".join(parts)


def test_bulk_grading_gives_full_marks_to_correct_and_exact_losses_to_the_seed(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    write(subs, "correct.py", correct_source())
    write(subs, "seed.py", seed_as_written())
    out = tmp_path / "out"
    if not sandbox.detect().full:
        pytest.skip("grading several submissions needs a sandbox (root or user namespaces), absent here")
    proc = run_cli("grade", str(subs / "correct.py"), str(subs / "seed.py"), "--out", str(out), "--jobs", "2")
    assert proc.returncode == 1, proc.stderr  # marks were lost (by the seed)
    header, *rows = list(csv.reader(io.StringIO((out / "marks.csv").read_text())))
    marks = {r[0].rsplit("/", 1)[-1]: dict(zip(header, r, strict=True)) for r in rows}
    assert header[:4] == ["submission", "score", "max_score", "reason"] and header[-2:] == ["report", "review"]
    functions = header[4:-2]
    assert len(functions) == 24
    assert all(marks["correct.py"][f] == "1" for f in functions)
    errata = {"l2_grad", "huber_grad", "two_layer_grads", "softmax_jacobian", "cosine_similarity_grad"}
    assert {f for f in functions if marks["seed.py"][f] == "0"} == errata
    assert marks["seed.py"]["score"] == "19" and marks["seed.py"]["max_score"] == "24"
    assert (marks["correct.py"]["reason"], marks["seed.py"]["reason"]) == ("ok", "failed")
    # Both are the shipped formulas pasted into one file (the seed's five replaced): the instructor is told so
    assert all("functions are handgrad's own solution" in marks[name]["review"] for name in ("correct.py", "seed.py"))
    summary = proc.stdout[proc.stdout.index("submissions lost marks") : proc.stdout.index("To read by hand")]
    assert "seed.py: 19/24" in summary and "correct.py" not in summary
    results = json.loads((out / "correct.json").read_text())
    assert results["score"] == 24 and [t["name"] for t in results["tests"]] == functions


def test_gradescope_json_format_and_rubric(tmp_path: Path) -> None:
    path = write(tmp_path, "submission.py", next(m for m in MISTAKES if m.id == "l2-grad-no-2").module_text)
    rubric = write(tmp_path, "rubric.toml", '[functions.l2_grad]\nweight = 3\nvisibility = "hidden"\n')
    report = tmp_path / "results.json"
    report.write_text(json.dumps(gradescope_error("an earlier grade")))  # an earlier report is replaced
    proc = run_cli("grade", str(path), "--json", str(report), "--rubric", str(rubric), "--insecure",
                   "--function", "l2_grad", "--function", "relu_grad")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = json.loads(report.read_text())
    assert set(data) >= {"execution_time", "output", "tests"}
    assert isinstance(data["execution_time"], float)
    tests = {t["name"]: t for t in data["tests"]}
    assert set(tests) == {"l2_grad", "relu_grad"}
    assert tests["l2_grad"] | {"output": ""} == {
        "name": "l2_grad", "score": 0, "max_score": 3, "output": "", "visibility": "hidden", "status": "failed"
    }  # fmt: skip
    assert "factor of 1/2" in tests["l2_grad"]["output"] and "expected" in tests["l2_grad"]["output"]
    assert tests["relu_grad"]["score"] == 1 and tests["relu_grad"]["visibility"] == "visible"
    # Hidden means hidden: the failing hidden function is neither named nor scored where students
    # look, and the total is Gradescope's own sum of the tests (no top-level score to override it).
    assert "l2_grad" not in data["output"] and "score" not in data
    assert data["output"].startswith("handgrad: 1 / 1 for") and "1 more function is graded apart" in data["output"]
    assert "l2_grad" not in proc.stdout and "factor of 1/2" not in proc.stdout
    assert data["extra_data"]["sandbox"] in ("namespaces", "userns", "none")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "/no/such/file.py"], "no such file"),
        (["grade", "README.md"], "a submission is a .py file"),
        (["grade", "a.py", "b.py", "--json", "x.json"], "--out DIR"),
        (["grade", "conftest.py", "--jobs", "0"], "--jobs"),
        (["grade", "conftest.py", "--memory", "lots"], "not a size"),
        (["grade", "conftest.py", "--rubric", "/no/rubric.toml"], "cannot be read"),
        (["grade", "conftest.py", "--shard", "3/2"], "shard"),
    ],
    ids=["missing", "not-python", "json-many", "jobs", "memory", "rubric", "shard"],
)
def test_grader_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    proc = run_cli(*args, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    # One line says why (argparse puts its usage above it).
    assert message in proc.stderr.strip().splitlines()[-1]


def test_ambiguous_submission_directory_still_gets_a_report(tmp_path: Path) -> None:
    subs = tmp_path / "submission"
    subs.mkdir()
    write(subs, "a.py", "x = 1\n")
    write(subs, "b.py", "y = 2\n")
    report = tmp_path / "results.json"
    proc = run_cli("grade", str(subs), "--json", str(report), timeout=120)
    assert proc.returncode == 2
    assert json.loads(report.read_text())["score"] == 0
    assert "several candidates" in json.loads(report.read_text())["output"]


def test_pytest_submission_runs_the_matrix_on_a_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.py", correct_source())
    bad = write(tmp_path, "bad.py", next(m for m in MISTAKES if m.id == "relu-grad-bool").module_text)
    select = ["-k", "relu_grad and float32 and cpu:0", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    base = [sys.executable, "-m", "pytest", "tests/test_agreement.py", *select]
    ok = subprocess.run([*base, "--submission", str(good)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert " passed" in ok.stdout
    ko = subprocess.run([*base, "--submission", str(bad), "-x"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert ko.returncode == 1
    assert "relu_grad" in ko.stdout and "dtype" in ko.stdout and "1 failed" in ko.stdout


def test_gradescope_bundle_runs_against_an_autograder_layout(tmp_path: Path) -> None:
    import os
    import zipfile

    if not sandbox.detect().full:
        pytest.skip("the Gradescope autograder refuses to grade without a sandbox, absent here")
    bundle = tmp_path / "autograder.zip"
    assert run_cli("gradescope-bundle", str(bundle), "--timeout", "8", "--budget", "90", timeout=120).returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        zf.extractall(root / "source")
    assert "--timeout 8.0 --memory" in (root / "source" / "run_autograder").read_text()
    assert "--budget 90.0" in (root / "source" / "run_autograder").read_text()  # the bundle's limits are the grade's
    assert {"setup.sh", "run_autograder", "handgrad-src/pyproject.toml"} <= set(names)
    assert "handgrad-src/handgrad/grading/worker.py" in names
    (root / "submission").mkdir()
    write(root / "submission", "formulas.py", correct_source())
    env = dict(os.environ)
    env.update(
        HANDGRAD_AUTOGRADER_ROOT=str(root),
        HANDGRAD_BIN=str(Path(sys.executable).parent / "handgrad"),
        HANDGRAD_EXTRA_ARGS="--function sigmoid_grad --function hinge_grad",
    )
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 2 and [t["name"] for t in results["tests"]] == ["sigmoid_grad", "hinge_grad"]


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        (  # Python control flow on a value: neither program can be traced, so eager cells run eagerly
            "def relu_grad(x):\n    if float(jnp.max(x)) > 1e30:\n        return jnp.zeros_like(x)\n"
            "    return (x > 0).astype(x.dtype)\n",
            "Passes eagerly but fails under jit",
        ),
        (
            "def relu_grad(x):\n    return (x > 0).astype(x.dtype) * jnp.float32(1)\n",
            "Fails only in bfloat16, float16",
        ),
    ],
    ids=["jit-only", "low-precision-only"],
)
def test_feedback_says_where_failures_are_confined(source: str, pattern: str, tmp_path: Path) -> None:
    path = write(tmp_path, "submission.py", correct_source() + "\n" + source)
    result = grade(path, Options(insecure=True, functions=("relu_grad",), seed=2, limits=FAST))
    (f,) = result.functions
    assert not f.passed and pattern in f.feedback, f.feedback


@pytest.mark.parametrize("start", ["own-interpreter", "zygote"])
def test_workers_are_cpu_only_whatever_the_grader_sees(
    start: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Workers never start a GPU backend (see grader.grading_device): their environment says
    so even when the grader's own says otherwise, and grading happens on cpu:0. A worker
    forked by the zygote has the zygote's environment, the one it is started for."""
    from handgrad.grading import pool, zygote

    seen: dict[str, str] = {}

    class Refused(Exception):
        pass

    def fake_popen(*args: object, env: dict[str, str], **kwargs: object) -> None:
        seen.update(env)
        raise Refused

    def fake_zygote(env: dict[str, str], *args: object) -> None:
        seen.update(env)
        raise Refused

    if start == "zygote" and not sandbox.detect().full:
        pytest.skip("workers are forked only in a full sandbox")  # (none here: CI has one)
    sandbox.detect()  # (probing the sandbox starts processes too)
    monkeypatch.setenv("JAX_PLATFORMS", "cuda,cpu")
    monkeypatch.setenv("HANDGRAD_ZYGOTE", "1" if start == "zygote" else "0")
    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    monkeypatch.setattr(zygote, "start", fake_zygote)
    scratch = tmp_path / "scratch"  # the worker's folders go here, away from other tests'
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    budget = pool.Budget(write(tmp_path, "s.py", "x = 1\n"), pool.Limits())
    with pytest.raises(Refused):
        pool.Worker(budget)
    budget.close()
    assert seen["JAX_PLATFORMS"] == "cpu"
    assert list(scratch.iterdir()) == [], "a failed start left its folder behind"
    assert grading_device() == "cpu:0"


def test_a_function_that_prints_a_lot_keeps_its_marks(tmp_path: Path) -> None:
    # 16 MiB printed per call: four calls filled the worker's 64 MiB file-size limit, the
    # fifth print raised OSError (File too large) and a right formula lost its marks.
    path = write(tmp_path, "noisy.py", "import jax.numpy as jnp\n\n\ndef relu(x):\n"
                 "    print('debug', 'x' * (16 << 20))\n    return jnp.maximum(x, 0)\n")  # fmt: skip
    (result,) = grade(path, Options(insecure=True, functions=("relu",), seed=3, limits=FAST)).functions
    assert result.passed, result.feedback


def test_prints_past_the_cap_are_dropped_and_said_once() -> None:
    import io

    from handgrad.grading.worker import CappedText

    sink = io.StringIO()
    capped = CappedText(sink, 10)
    assert [capped.write(t) for t in ("abcdef", "ghijkl", "mnop")] == [6, 6, 4]
    kept = sink.getvalue()
    assert kept.startswith("abcdefghij") and "mnop" not in kept and kept.count("more than 10 characters") == 1


def test_a_python_number_returned_is_the_one_cause_shown(tmp_path: Path) -> None:
    # Under jit a returned 1.0 comes back as a float64 array of shape (): its dtype and shape
    # failures are symptoms, and were shown first (the Python number as a third cause, or not
    # at all past the three shown).
    path = write(tmp_path, "numbers.py", "def relu(x):\n    return 0\n\n\ndef relu_grad(x):\n    return 1.0\n")
    options = Options(insecure=True, functions=("relu", "relu_grad"), seed=3, limits=FAST)
    for result in grade(path, options).functions:
        first = result.feedback.split("First failing check:")[1]
        assert "FAILED (bad-return)" in first.splitlines()[1], result.feedback
        assert "Python" in first and "Fix this first" in first and "Another cause" not in first, result.feedback


def test_a_whole_function_failure_is_not_told_tier_by_tier(tmp_path: Path) -> None:
    # A refused import fails every check of the function: 'Derivation: FAILED 0 of 48 checks;
    # 48 not run / Stability: FAILED 1 of 24 (wide)' read as if one tier failed.
    path = write(tmp_path, "sub.py", "import os\nimport jax.numpy as jnp\n\n\ndef relu(x):\n"
                 "    os.getcwd()\n    return jnp.maximum(x, 0)\n")  # fmt: skip
    (result,) = grade(path, Options(insecure=True, functions=("relu",), seed=3, limits=FAST)).functions
    assert not result.passed and result.problem == "forbidden"
    assert "This failure is the whole function's" in result.feedback and "Derivation (" not in result.feedback


def test_grading_without_float64_says_so_before_anything_runs(tmp_path: Path) -> None:
    # A library caller that skipped configure_for_checking() got every function failed as a
    # worker's "protocol" fault (the grader's float64 references could not be computed).
    path = tmp_path / "s.py"
    path.write_text("def relu(x):\n    return x\n")
    code = (
        "import sys; from pathlib import Path; from handgrad.grading.grader import Options, grade\n"
        f"try:\n    grade(Path({str(path)!r}), Options(functions=('relu',), seed=1))\n"
        "except RuntimeError as exc:\n    print('RAISED', exc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert "RAISED" in proc.stdout and "configure_for_checking" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_a_file_whose_top_level_never_ends_is_told_where_to_look(tmp_path: Path) -> None:
    # The import's limit (Limits.startup, 120 s by default) is not --timeout's: a student who set
    # --timeout 10 waited two minutes for "did not finish importing in time" and no reason.
    path = write(tmp_path, "submission.py", "import jax.numpy as jnp\n\nwhile True:\n    pass\n")
    limits = dataclasses.replace(FAST, startup=8.0)
    result = grade(path, Options(insecure=True, functions=("relu_grad",), seed=3, limits=limits))
    assert not result.functions[0].passed and result.functions[0].score == 0
    assert "did not finish importing in time" in result.problem, result.problem
    assert "top level of the file (outside every def) runs when it is imported" in result.problem
