"""Inputs nobody wrote the happy path for: a newcomer's rubric, bundle and command line
slips, each answered with one clear line before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from handgrad.cli import main
from handgrad.grading.rubric import RubricError, load
from tests.test_sandbox import needs_sandbox


def _rubric(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("default_weight = nan\n", "default_weight: weight must be a finite number >= 0, got nan"),
        ("[functions.relu]\nweight = inf\n", "functions.relu: weight must be a finite number >= 0, got inf"),
        ("[tiers]\nderivation = nan\n", "tiers.derivation: weight must be a finite number >= 0, got nan"),
        ("default_weight = 0\n", "every function weighs 0"),
        ("[functions.sigmoidd]\nweight = 2\n", "functions.sigmoidd: not a contract function (did you mean sigmoid?)"),
        ('[functions.relu]\nvisibility = "hiden"\n', "got 'hiden' (did you mean hidden?)"),
        ("[function.relu]\nweight = 2\n", "unknown keys ['function'] (did you mean functions?)"),
        ("[functions.relu]\nwieght = 2\n", "functions.relu: unknown keys ['wieght'] (did you mean weight?)"),
        ("[functions]\nrelu = 2\n", "[functions.relu] then weight = ..."),
        ("[tiers]\nstabilty = 1\n", "unknown tiers ['stabilty'] (did you mean stability?)"),
    ],
    ids=["nan", "inf", "nan-tier", "all-zero", "name", "visibility", "section", "key", "shorthand", "tier"],
)
def test_rubric_slips_are_named_with_the_likely_fix(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(RubricError) as exc:
        load(_rubric(tmp_path, text))
    assert words in str(exc.value)


def test_rubric_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_bytes(b"\xff\xfedefault_weight = 1\n")
    with pytest.raises(RubricError, match=r"rubric\.toml: not UTF-8 text"):
        load(path)


def test_rubric_with_one_weighted_function_loads(tmp_path: Path) -> None:
    rubric = load(_rubric(tmp_path, "default_weight = 0\n[functions.relu]\nweight = 2\n"))
    assert rubric.max_score == 2.0 and rubric.weights["relu"] == 2.0 and rubric.weights["sigmoid"] == 0.0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--jobs", "0"], "argument --jobs: must be at least 1, not 0"),
        (["--timeout", "-1"], "argument --timeout: must be a positive, finite number of seconds"),
        (["--timeout", "nan"], "argument --timeout: must be a positive, finite number of seconds"),
        (["--memory", "1K"], "argument --memory: 1K: must be at least 256M"),
        (["--timeout", "0.001"], "argument --timeout: 0.001 s is too short: at least 1 s (a function's first call"),
    ],
)
def test_bundle_refuses_limits_that_would_fail_every_student(
    tmp_path: Path, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "autograder.zip"
    with pytest.raises(SystemExit) as exc:
        main(["gradescope-bundle", str(out), *argv])
    assert exc.value.code == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_grade_budget_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["grade", "a.py", "--budget", "0"])
    assert "argument --budget: must be a positive, finite number of seconds, not 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["grade", "a.py", "--budget", "2"])
    assert "argument --budget: 2 s is too short: at least 10 s" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing/sub/autograder.zip", "missing/sub: no such directory (it is not created for you)"),
        ("autograder.txt", "autograder.txt: Gradescope takes the autograder as a .zip file"),
        ("folder.zip", "folder.zip: is a directory"),
    ],
)
def test_bundle_target_is_checked_and_nothing_is_left_behind(
    tmp_path: Path, name: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.zip").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["gradescope-bundle", str(tmp_path / name)]) == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder made, no .tmp left


def test_bundle_rubric_is_checked_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rubric = _rubric(tmp_path, "default_weight = 0\n")
    assert main(["gradescope-bundle", str(tmp_path / "a.zip"), "--rubric", str(rubric)]) == 2
    assert "every function weighs 0" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_grade_names_every_bad_path_and_creates_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text("def relu(x):\n    return x\n")
    (tmp_path / "nopy").mkdir()
    (tmp_path / "nopy" / "readme.txt").write_text("hi")
    out = tmp_path / "marks"
    argv = ["grade", str(tmp_path / "ok.py"), str(tmp_path / "nopy"), str(tmp_path / "gone.py"), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "2 of 3 paths hold no gradable submission" in err
    assert f"{tmp_path / 'nopy'}: no .py file, notebook or package in it" in err
    assert f"{tmp_path / 'gone.py'}: no such file or directory" in err
    assert not out.exists()


@needs_sandbox
def test_a_class_upload_with_nothing_to_grade_is_that_students_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One empty upload must not stop the class: it is graded 0, refused, with the reason.
    (tmp_path / "ok.py").write_text("import jax.numpy as jnp\n\n\ndef relu(x):\n    return jnp.maximum(x, 0)\n")
    (tmp_path / "nopy").mkdir()
    (tmp_path / "nopy" / "readme.txt").write_text("hi")
    out = tmp_path / "marks"
    argv = ["grade", str(tmp_path / "ok.py"), str(tmp_path / "nopy"), "--function", "relu", "--out", str(out)]
    assert main(argv) == 1  # someone lost marks
    assert f"{tmp_path / 'nopy'}: no .py file, notebook or package in it: graded 0" in capsys.readouterr().err
    rows = (out / "marks.csv").read_text().splitlines()
    assert rows[1:] == [f"{tmp_path / 'ok.py'},1,1,ok,1,ok,", f"{tmp_path / 'nopy'},0,1,refused,0,nopy,"]


def test_grade_a_folder_of_many_files_points_to_the_glob(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("alice.py", "bob.py"):
        (tmp_path / name).write_text("def relu(x):\n    return x\n")
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "marks")]) == 2
    err = capsys.readouterr().err
    assert f"handgrad grade {tmp_path}/*.py --out DIR" in err
    assert "an __init__.py that imports the functions makes the folder one package" in err
    assert not (tmp_path / "marks").exists()


def test_grade_refuses_a_rubric_that_gives_the_chosen_functions_no_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rubric = _rubric(tmp_path, "default_weight = 0\n[functions.relu]\nweight = 1\n")
    (tmp_path / "s.py").write_text("def sigmoid(x):\n    return x\n")
    assert main(["grade", str(tmp_path / "s.py"), "--rubric", str(rubric), "--function", "sigmoid"]) == 2
    assert "every function graded (sigmoid) weighs 0" in capsys.readouterr().err


# ---- a student's stubs and return values ----------------------------------------------


def _case(name: str, transform: str) -> Any:
    from handgrad.cases import build_cases
    from reference.catalog import CATALOG

    entry = next(e for e in CATALOG if e.name == name)
    return build_cases([entry], dtypes=["float32"], transforms=[transform], devices=["cpu:0"])[0]


@pytest.mark.parametrize("transform", ["eager", "jit", "vmap"])
def test_a_stub_raising_not_implemented_is_called_that_under_every_transform(transform: str) -> None:
    # The batch hint ("fails on a batch") used to answer a stub under vmap: pytest --submission showed it.
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for

    result = CaseResult(
        _case("sigmoid_grad", transform), error_kind="exception", error="NotImplementedError (at s.py:9)"
    )
    assert hint_for(result, None, None).startswith("not implemented yet")


@pytest.mark.parametrize(
    ("value", "said", "hint"),
    [
        (None, "returned None, expected a jax.Array", "a `return` is missing"),
        (
            np.ones(3, np.float32),
            "returned a NumPy array (numpy.ndarray of shape (3,)), expected a jax.Array",
            "use jax.numpy",
        ),
        (1.5, "returned a Python or NumPy number (float), expected a jax.Array", "float(), int() or .item()"),
        ((jnp.ones(3),), "returned a tuple of 1, expected a jax.Array", "a stray trailing comma"),
    ],
    ids=["none", "numpy", "float", "tuple"],
)
def test_what_came_back_instead_of_an_array_is_said_in_plain_words(value: Any, said: str, hint: str) -> None:
    from handgrad.engine import EvaluationError, InProcess, run_case

    def formula(x: Any) -> Any:
        return value

    case = _case("sigmoid_grad", "eager")
    with pytest.raises(EvaluationError) as exc:
        InProcess({"sigmoid_grad": formula})("sigmoid_grad", transform="eager", device="cpu:0",
                                             args=(np.ones(3, np.float32),), kwargs={}, vmap_axes=(0,))  # fmt: skip
    assert exc.value.message == said
    result = run_case(InProcess({"sigmoid_grad": formula}), case)
    assert result.problem == "bad-return" and hint in result.hint


def test_a_network_gradient_as_a_tuple_is_told_to_return_the_dict() -> None:
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for

    result = CaseResult(_case("two_layer_grads", "eager"), error_kind="bad-return", error="returned a tuple of 4, ...")
    assert "a dict with keys W1, b1, W2, b2" in hint_for(result, None, None)


@pytest.mark.parametrize("name", ["two_layer_forward", "two_layer_loss"])
def test_a_network_forward_or_loss_as_a_tuple_is_told_to_return_one_array(name: str) -> None:
    # `return out, h` is the classic slip; these return an array, not the gradients' dict.
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for

    result = CaseResult(
        _case(name, "eager"), error_kind="bad-return", error="returned a tuple of 2, expected a jax.Array"
    )
    hint = hint_for(result, None, None)
    assert f"{name} returns one array" in hint and "dict" not in hint


@pytest.mark.parametrize(
    "error",
    [
        "TypeError: softmax_vjp() takes 1 positional argument but 2 were given (at s.py:3)",
        "TypeError: softmax_vjp() missing 1 required positional argument: 'g' (at s.py:3)",
        "TypeError: softmax_vjp() got an unexpected keyword argument 'delta' (at s.py:3)",
    ],
)
def test_a_signature_that_differs_from_the_contract_is_named(error: str) -> None:
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for

    result = CaseResult(_case("softmax_vjp", "vmap"), error_kind="exception", error=error)
    assert hint_for(result, None, None) == (
        "the function's parameters differ from the contract's: it must be softmax_vjp(x, g)"
    )


def test_template_into_a_missing_folder_or_onto_a_folder_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["template", str(tmp_path / "nodir" / "mine.py")]) == 2
    assert f"{tmp_path / 'nodir'}: no such directory (it is not created for you)" in capsys.readouterr().err
    assert main(["template", str(tmp_path)]) == 2
    assert f"{tmp_path} is a directory; name the file to write" in capsys.readouterr().err
    assert not (tmp_path / "nodir").exists()


def test_a_notebook_export_that_calls_get_ipython_is_told_what_to_delete(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from handgrad.engine import EvaluationError
    from handgrad.grading.grader import _import_problem

    path = tmp_path / "nb.py"
    path.write_text("# In[1]:\nget_ipython().run_line_magic('matplotlib', 'inline')\n")
    error = EvaluationError("import", "NameError: name 'get_ipython' is not defined (at nb.py:2)")
    message, reason = _import_problem(SimpleNamespace(import_error=error), path)  # type: ignore[arg-type]
    assert reason == "import-error"
    assert message.endswith("(a notebook exported to .py: delete or comment out the get_ipython() lines)")


def test_a_bad_submission_path_answers_before_jax_loads(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from handgrad.cli import main; "
        f"rc = main(['grade', {str(tmp_path / 'gone.py')!r}]); print(rc, 'jax' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "2 False", proc.stderr[-2000:]
    assert "gone.py: no such file or directory" in proc.stderr


def _first_result(name: str, formula: Any) -> Any:
    from handgrad.engine import InProcess, run_case

    return run_case(InProcess({name: formula}), _case(name, "eager"))


def test_shape_and_structure_hints_fit_the_function_not_only_losses() -> None:
    import handwritten

    # A Jacobian missing an axis is not "a loss that reduces too much".
    jac = _first_result("softmax_jacobian", lambda x: handwritten.softmax_jacobian(x)[..., 0])
    assert jac.problem == "shape" and "loss" not in jac.hint
    assert jac.hint.startswith("fewer axes than the contract's shape")
    extra = _first_result("cross_entropy_grad", lambda p, t: handwritten.cross_entropy_grad(p, t)[None])
    assert extra.hint.startswith("an extra axis of size 1")
    keep = _first_result("l2", lambda p, t: handwritten.l2(p, t)[None])  # a loss with keepdims
    assert keep.hint.startswith("an extra axis of size 1: keepdims=True")
    lower = _first_result(
        "two_layer_grads", lambda *a: {k.lower(): v for k, v in handwritten.two_layer_grads(*a).items()}
    )
    assert lower.problem == "structure"
    assert lower.hint == "the dict's keys must be exactly W1, W2, b1, b2 (names are case-sensitive)"


def test_gradescope_results_for_several_files_speak_to_the_student(tmp_path: Path) -> None:
    import json

    upload = tmp_path / "submission"
    upload.mkdir()
    for name in ("a.py", "b.py"):
        (upload / name).write_text("def relu(x):\n    return x\n")
    results = tmp_path / "results.json"
    assert main(["grade", str(upload), "--json", str(results)]) == 2
    output = json.loads(results.read_text())["output"]
    assert "several candidates (a.py, b.py); name one, or call it submission.py" in output
    assert "--out DIR" not in output  # the instructor's pointer is not for a student's results


def test_the_submissions_own_jit_is_not_mistaken_for_state_kept_between_calls() -> None:
    from functools import partial

    import jax

    from handgrad.cases import build_cases
    from handgrad.engine import InProcess, run_case
    from reference.catalog import BY_NAME

    @jax.jit
    def huber_grad(pred: Any, target: Any, delta: float = 1.0) -> Any:
        if delta <= 0:  # delta is traced by this jit: a Python `if` on it fails
            raise ValueError("delta must be positive")
        return pred - target

    # (a family that passes delta: the ordinary ones leave it to the default, never traced)
    (case,) = [c for c in build_cases([BY_NAME["huber_grad"]], dtypes=["float32"], transforms=["eager"],
                                      devices=["cpu:0"]) if c.family.name == "delta0.5"]  # fmt: skip
    result = run_case(InProcess({"huber_grad": huber_grad}), case)
    assert result.problem == "exception" and "TracerBoolConversionError" in result.error
    assert result.hint.startswith("fails under the function's own jax.jit")
    assert "static_argnames=('delta',)" in result.hint
    assert "state kept" not in result.hint
    fixed = partial(jax.jit, static_argnames=("delta",))(huber_grad.__wrapped__)
    assert run_case(InProcess({"huber_grad": fixed}), case).problem != "exception"


def test_numpy_under_the_functions_own_jit_is_one_cause_and_no_array_is_called_static() -> None:
    """A red team's finding: np.exp under the submission's own @jax.jit was told "x is a Python
    number: static_argnames=('x',)" (advice that breaks the function: x is an array), and its
    eager and jit checks came out as two causes with two hints."""
    import jax

    from handgrad.cases import build_cases
    from handgrad.engine import InProcess, run_case
    from reference.catalog import BY_NAME

    @jax.jit
    def sigmoid(x: Any) -> Any:
        return 1 / (1 + np.exp(-x))

    hints = set()
    for transform in ("eager", "jit"):
        (case,) = build_cases(
            [BY_NAME["sigmoid"]], dtypes=["float32"], transforms=[transform], devices=["cpu:0"], families=["normal-7"]
        )
        result = run_case(InProcess({"sigmoid": sigmoid}), case)
        assert result.problem == "exception" and "TracerArrayConversionError" in result.error
        hints.add(result.hint)
    (hint,) = hints
    assert "static_argnames" not in hint and "jax.numpy" in hint


def test_a_complex_input_to_any_shipped_formula_is_refused_not_cast() -> None:
    # The cast kept only the real part: sigmoid(1+1j) answered sigmoid(1).
    import handwritten
    from handgrad.cases import case_inputs
    from reference.catalog import CATALOG

    def complex_of(a: Any) -> Any:
        if isinstance(a, dict):
            return {k: complex_of(v) for k, v in a.items()}
        a = np.asarray(a)
        return a.astype(np.complex64) + 1j if a.dtype.kind == "f" else a

    for entry in CATALOG:
        inputs = case_inputs(_case(entry.name, "eager"))
        args = tuple(complex_of(a) for a in inputs.args)
        with pytest.raises(TypeError, match="the formulas are real: got a complex64 input"):
            getattr(handwritten, entry.name)(*args, **inputs.kwargs)


def test_a_negative_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    # It reached numpy's seeding inside grading and ended in a traceback.
    with pytest.raises(SystemExit):
        main(["grade", "a.py", "--seed", "-1"])
    assert "argument --seed: must be 0 or more, not -1" in capsys.readouterr().err
    import handgrad

    for check in (handgrad.verify, handgrad.taylor_test):
        with pytest.raises(ValueError, match="seed must be 0 or more, got -1"):
            check(jnp.sum, np.ones(3), grad=jnp.ones_like, seed=-1)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (["--json", "{dir}"], "--json {dir}: is a directory; name the file, e.g. {dir}/results.json"),
        (["--json", ""], "--json needs a file name (or - for standard output)"),
        (["--out", ""], "--out needs a folder name"),
    ],
    ids=["json-dir", "json-empty", "out-empty"],
)
def test_output_names_that_cannot_work_are_refused_before_grading(
    tmp_path: Path, option: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # --json DIR graded everything, then ended in a TargetError traceback; "" was silently ignored.
    (tmp_path / "s.py").write_text("def relu(x):\n    return x\n")
    argv = ["grade", str(tmp_path / "s.py"), *(o.format(dir=tmp_path) for o in option), "--function", "relu"]
    assert main(argv) == 2
    assert words.format(dir=tmp_path) in capsys.readouterr().err


def test_a_notebook_that_is_not_one_is_named_as_such(tmp_path: Path) -> None:
    # Notebooks are graded as handed in (tests/test_bundle.py); one nbformat cannot read is refused by name.
    from handgrad.grading.submission import SubmissionError, resolve

    (tmp_path / "mine.ipynb").write_text("{}")
    with pytest.raises(SubmissionError, match=r"mine\.ipynb: not a readable Jupyter notebook"):
        resolve(tmp_path / "mine.ipynb")
    with pytest.raises(SubmissionError, match=r"mine\.ipynb: not a readable Jupyter notebook"):
        resolve(tmp_path)


def test_a_notebook_without_cell_ids_is_read_without_warnings(tmp_path: Path) -> None:
    # nbformat 4.5 wants an id per cell and warns (two blocks on stderr) where one is missing.
    import json
    import warnings

    from handgrad.grading.submission import notebook_source

    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": ["x = 1\n"]}
    path = tmp_path / "hw.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert notebook_source(path) == "# cell 1\nx = 1\n\n"


# ---- layouts a student may hand in: scanned clean and imported as written ----------------

_SIGMOID_GRAD = "def sigmoid_grad(x):\n    s = 1 / (1 + jnp.exp(-x))\n    return s * (1 - s)\n"
_LAYOUTS: dict[str, dict[str, bytes]] = {
    "bom": {"s.py": b"\xef\xbb\xbfimport jax.numpy as jnp\n" + _SIGMOID_GRAD.encode()},
    "crlf": {"s.py": ("import jax.numpy as jnp\n" + _SIGMOID_GRAD).replace("\n", "\r\n").encode()},
    "tabs": {"s.py": ("import jax.numpy as jnp\n" + _SIGMOID_GRAD).replace("    ", "\t").encode()},
    "notebook": {
        "s.py": (
            "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nimport jax.numpy as jnp\n"
            "# get_ipython().run_line_magic('matplotlib', 'inline')\n\n\n# In[2]:\n\n\n" + _SIGMOID_GRAD
        ).encode()
    },
    "jit-static": {
        "s.py": (
            "from functools import partial\nimport jax\nimport jax.numpy as jnp\n\n\n"
            "@partial(jax.jit, static_argnames=('eps',))\n" + _SIGMOID_GRAD.replace("(x):", "(x, *, eps=0.0):")
        ).encode()
    },
    "lambda-and-object": {
        "s.py": b"import jax.numpy as jnp\n\nclass G:\n    def __call__(self, x):\n"
        b"        s = 1 / (1 + jnp.exp(-x))\n        return s * (1 - s)\n\nsigmoid_grad = G()\n"
        b"sigmoid = lambda x: 1 / (1 + jnp.exp(-x))\n"
    },
    "package": {
        "__init__.py": b"from .grads import sigmoid_grad\n",
        "grads.py": b"import jax.numpy as jnp\n\nfrom .util import logistic\n\n\n"
        b"def sigmoid_grad(x):\n    s = logistic(x)\n    return s * (1 - s)\n",
        "util.py": b"import jax.numpy as jnp\n\n\ndef logistic(x):\n    return 1 / (1 + jnp.exp(-x))\n",
    },
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("name", ["s.py", "math.py", "dir with spaces é/test.py"])
def test_an_unusual_but_legitimate_layout_is_scanned_clean_and_imported(tmp_path: Path, layout: str, name: str) -> None:
    import sys

    from handgrad.grading.worker import import_submission
    from handgrad.scan import scan_path
    from reference.names import NAMES

    files = _LAYOUTS[layout]
    if "__init__.py" in files:
        path = tmp_path / name.replace(".py", "_pkg").replace("/", "_")
        path.mkdir()
        for file, data in files.items():
            (path / file).write_bytes(data)
    else:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files["s.py"])
    assert {k: v for k, v in scan_path(path, NAMES).items() if v} == {}
    saved = list(sys.path)
    try:
        module = import_submission(path)
        x = jnp.array([-3.0, 0.0, 2.0], jnp.float32)
        got = np.asarray(module.sigmoid_grad(x))
    finally:
        sys.path[:] = saved
        for key in [k for k in sys.modules if k == "submission" or k.startswith("submission.")]:
            del sys.modules[key]
    s = 1 / (1 + np.exp(-np.array([-3.0, 0.0, 2.0])))
    np.testing.assert_allclose(got, s * (1 - s), rtol=1e-6)


def test_a_misspelt_function_name_is_pointed_out() -> None:
    import types

    from handgrad.grading.pool import missing
    from handgrad.grading.worker import other_names

    module = types.ModuleType("submission")
    exec(
        "import math\nfrom functools import partial\nLIMIT = 3\n"
        "def sigmoid_gradient(x):\n    return x\n\ndef _helper(x):\n    return x\n\ndef relu(x):\n    return x\n",
        vars(module),
    )
    others = other_names(module, ["relu", "sigmoid_grad"])
    assert others == ["partial", "sigmoid_gradient"]  # no module, constant, private name or contract name
    assert missing("sigmoid_grad", others).message == (
        "sigmoid_grad is not defined (or not callable) in the submission; it defines sigmoid_gradient, "
        "perhaps meant as sigmoid_grad"
    )
    assert missing("softmax_vjp", others).message.endswith("not defined (or not callable) in the submission")


def test_a_submission_with_no_contract_name_is_shown_its_near_misses(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from handgrad.grading.grader import _import_problem

    path = tmp_path / "s.py"
    path.write_text("def Sigmoid(x):\n    return x\n")
    budget = SimpleNamespace(import_error=None, autodiff_at_import=False, defined=[], others=["Sigmoid", "helper"])
    message, reason = _import_problem(budget, path)  # type: ignore[arg-type]
    assert reason == "no-functions"
    assert message == (
        "The submission defines none of the contract's functions (check their names: Sigmoid for sigmoid?)."
    )


def test_not_implemented_the_constant_is_told_apart_from_the_exception() -> None:
    from handgrad.engine import InProcess, run_case

    def returns_it(x: Any) -> Any:
        return NotImplemented

    def raises_it(x: Any) -> Any:
        raise NotImplemented  # type: ignore[misc]  # noqa: F901  the slip itself: a TypeError at run time

    returned = run_case(InProcess({"sigmoid_grad": returns_it}), _case("sigmoid_grad", "eager"))
    assert returned.error == "returned NotImplemented, expected a jax.Array"
    assert returned.hint.startswith("not implemented yet: NotImplemented is a value for operators")
    raised = run_case(InProcess({"sigmoid_grad": raises_it}), _case("sigmoid_grad", "eager"))
    assert (
        raised.hint == "not implemented yet? `raise NotImplemented` raises a TypeError: write raise NotImplementedError"
    )


def test_python_m_handgrad_in_a_folder_with_math_py_and_jax_py_runs_the_real_modules(tmp_path: Path) -> None:
    # `python -m` puts the working directory first on the import path: a student's math.py
    # (imported by datetime, by numpy) or jax.py replaced the real modules in the grader itself.
    import subprocess
    import sys

    (tmp_path / "math.py").write_text('raise SystemExit("the shadow math.py ran")\n')
    (tmp_path / "jax.py").write_text('raise SystemExit("the shadow jax.py ran")\n')
    proc = subprocess.run(
        [sys.executable, "-m", "handgrad", "template"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "def softmax_vjp(x, g):" in proc.stdout


def test_template_dash_is_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["template", "-"]) == 0
    assert "def softmax_vjp(x, g):" in capsys.readouterr().out
    assert not (tmp_path / "-").exists()  # a file named "-" was written


def test_template_names_and_places_it_cannot_write_are_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["template", str(tmp_path / "mine.txt")]) == 2  # grade would refuse it afterwards
    assert "name it with .py" in capsys.readouterr().err and not (tmp_path / "mine.txt").exists()
    assert main(["template", "/proc/handgrad-template.py"]) == 2
    err = capsys.readouterr().err
    assert "/proc/handgrad-template.py: cannot be written (" in err and "Errno" not in err


def test_sizes_take_a_t_and_an_infinite_timeout_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    from handgrad.cli import _size

    assert _size("1T") == _size("1024G") == 1 << 40 and _size("2TiB") == 2 << 40
    with pytest.raises(SystemExit):
        main(["grade", "a.py", "--timeout", "inf"])
    assert "positive, finite number of seconds, not inf" in capsys.readouterr().err


def test_the_untouched_template_is_not_attempted_in_marks(tmp_path: Path) -> None:
    from handgrad.grading.grader import Options, grade
    from handgrad.starter import template

    path = tmp_path / "template.py"
    path.write_text(template())
    assert grade(path, Options(insecure=True)).reason == "not-attempted"
    partly = tmp_path / "partly.py"
    partly.write_text(template() + "\n\ndef relu(x):\n    return x\n")  # one function tried (and wrong)
    assert grade(partly, Options(insecure=True, functions=("relu", "relu_grad"))).reason == "failed"


def test_a_device_named_twice_is_checked_once(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "--function", "relu", "--dtype", "float32", "--device", "cpu:0"]
    assert main(argv) == 0
    once = capsys.readouterr().out.strip().splitlines()[-1]
    assert main([*argv, "--device", "cpu:0"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == once and once.endswith("devices: cpu:0")


def test_a_finite_value_where_the_truth_overflows_is_not_told_as_an_overflow() -> None:
    # l2 with a mean where the contract sums, in float16 at inputs near 1e2: the exact sum is past
    # float16's range (inf) and the mean is not. The formula did not overflow; it is too small.
    from handgrad.cases import build_cases
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for
    from reference.catalog import BY_NAME
    from reference.compare import Comparison, Worst

    case = build_cases([BY_NAME["l2"]], dtypes=["float16"], transforms=["eager"], devices=["cpu:0"])[0]
    worst = Worst("", (), float("inf"), 16800.0, float("inf"), float("inf"), 0.0)
    result = CaseResult(case, Comparison(False, "nonfinite", "expected inf, got 1.68e+04", worst))
    hint = hint_for(result, np.full((), np.inf), np.full((), 16800.0))
    assert "past float16's range" in hint and "overflows (exp" not in hint


def test_a_shape_error_inside_jax_is_told_at_the_students_line_with_keepdims(tmp_path: Path) -> None:
    """cross_entropy_grad without keepdims=True: JAX raises its broadcast error in its own
    util.py, and the report said '(at util.py:59)' with the hint 'reduce with axis=-1; check
    .T' to a student whose code reduced with axis=-1 (a newcomer's finding)."""
    import importlib.util

    from handgrad.cases import build_cases
    from handgrad.engine import InProcess, run_case
    from reference.catalog import BY_NAME

    path = tmp_path / "student.py"
    path.write_text(
        "import jax.numpy as jnp\n\n\ndef cross_entropy_grad(z, y):\n"
        "    e = jnp.exp(z - jnp.max(z, axis=-1, keepdims=True))\n"
        "    return e / jnp.sum(e, axis=-1) * jnp.sum(y, axis=-1, keepdims=True) - y\n"
    )
    spec = importlib.util.spec_from_file_location("student", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (case,) = build_cases([BY_NAME["cross_entropy_grad"]], dtypes=["float32"], transforms=["eager"],
                          devices=["cpu:0"], families=["onehot-7x5"])  # fmt: skip
    result = run_case(InProcess(module), case)
    assert result.error_kind == "exception" and result.error.endswith("(at student.py:6)"), result.error
    assert "keepdims=True" in result.hint, result.hint
