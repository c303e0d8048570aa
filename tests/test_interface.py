"""The contract's keyword parameter (huber's delta) as a submission's source takes it
(handgrad/interface.py): a def that passes every check by name but fails its callers by
position, or the other way round, loses the function with what a caller would meet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from handgrad import starter
from handgrad.cases import build_cases, case_inputs
from handgrad.scan import scan_path, scan_source
from reference.catalog import BY_NAME, CATALOG
from reference.names import KEYWORDS, NAMES

ROOT = Path(__file__).resolve().parents[1]

# (a def of huber_grad, the words its finding must hold); the last group must pass.
WRONG = [
    ("def huber_grad(a, y, scale=1.0, delta=1.0):", "binds 0.5 to 'scale'"),
    ("def huber_grad(a, y, eps, delta=1.0):", "binds 0.5 to 'eps'"),
    ("def huber_grad(delta, a, y):", "parameter 1 of huber_grad, not 3"),
    ("def huber_grad(a, y, *, delta=1.0):", "taken only by name"),
    ("def huber_grad(a, y, **options):", "taken only by name"),
    ("def huber_grad(a, y, delta=1.0, /):", "positional-only"),
    ("def huber_grad(a, y, d=1.0):", "no parameter delta"),
    ("def huber_grad(a, y):", "no parameter delta"),
    ("@jax.jit\ndef huber_grad(a, y, w=None, delta=1.0):", "binds 0.5 to 'w'"),
    ("@partial(jax.jit, static_argnames='delta')\ndef huber_grad(a, y, *, delta=1.0):", "taken only by name"),
    ("def huber_grad(a, delta=1.0, *rest):", "puts 0.5 in *rest"),
    ("def huber_grad(a, y, *rest, delta=1.0):", "puts 0.5 in *rest, which it never reads, and keeps the default delta"),
    ("def huber_grad(a, y, *rest):", "no parameter delta"),
    ("if True:\n  def huber_grad(a, y, *, delta=1.0):", "taken only by name"),  # (a def under an if)
    # Names bound in another scope are not the module's: a local, a class field, a nested def.
    ("class Config:\n    huber_grad: float = 1.0\ndef huber_grad(a, y, *, delta=1.0):", "taken only by name"),
    ("def helper():\n    def huber_grad(): pass\ndef huber_grad(a, y, d=1.0):", "no parameter delta"),
]
RIGHT = [
    "def huber_grad(a, y, delta=1.0):",
    "def huber_grad(pred, target, delta=1.0, eps=0.0):",
    "def huber_grad(a, y, delta=1.0, *, strict=False):",
    "def huber_grad(a, y, delta=None):",  # a default other than the contract's is the checks' to catch
    "def huber_grad(*args, **kwargs):\n    a, y = args",  # read: unknowable from the source, left to the checks
    "def huber_grad(a, y, *rest, delta=1.0):\n    delta = rest[0] if rest else delta",
    "@jax.jit\ndef huber_grad(a, y, delta=1.0):",
    "def huber_grad(a, y, /, delta=1.0):",  # the arrays positional-only: delta goes both ways
    "def huber_grad(a, y, delta=1.0, /, **options):",  # it may read delta from **options
    "@my_decorator\ndef huber_grad(a, y, *, delta=1.0):",  # a decorator of its own may change the parameters
]
BODY = "\n    huber_grad = jnp.clip(a - y, -1.0, 1.0)\n    return huber_grad / a.shape[-1]\n"
"""(A local named like the function is the function's own, not a second binding of the module's.)"""


def _findings(header: str, body: str = BODY) -> list[str]:
    source = "import jax\nimport jax.numpy as jnp\nfrom functools import partial\n\n" + header + body
    found = scan_source(source, NAMES, "submission.py")
    assert all(not found[n] for n in NAMES if n != "huber_grad"), found
    return [f.what for f in found["huber_grad"] if f.kind == "interface"]


@pytest.mark.parametrize(("header", "said"), WRONG, ids=[h for h, _ in WRONG])
def test_a_delta_a_caller_cannot_pass_as_the_contract_says_is_found(header: str, said: str) -> None:
    found = _findings(header)
    assert len(found) == 1 and said in found[0], found
    assert "(the contract: huber_grad(a, y, delta=1.0))" in found[0]


@pytest.mark.parametrize("header", RIGHT)
def test_a_delta_taken_as_the_contract_says_is_not_found(header: str) -> None:
    assert _findings(header) == []


def test_a_name_bound_twice_is_left_to_the_checks() -> None:
    # Which def a caller meets is decided at run time: the source alone cannot say.
    wrong = "def huber_grad(a, y, scale=1.0, delta=1.0):" + BODY
    assert _findings(wrong + "\ndef huber_grad(a, y, delta=1.0):") == []
    assert _findings(wrong + "\nhuber_grad = jax.jit(huber_grad)\n", body="") == []
    assert _findings(wrong + "\nif __name__ == '__main__':\n    huber_grad = print\n", body="") == []
    assert _findings(wrong + "\ndef reset():\n    global huber_grad\n", body="") == []
    assert _findings(wrong, body="") != []  # (the same def alone is found)


def test_in_a_package_only_the_root_modules_one_binding_is_read(tmp_path: Path) -> None:
    package = tmp_path / "sub"
    package.mkdir()
    (package / "impl.py").write_text("def huber_grad(a, y, *, delta=1.0):" + BODY)
    (package / "__init__.py").write_text("from .impl import huber_grad\n")
    assert [f.kind for f in scan_path(package, NAMES)["huber_grad"]] == []  # (imported: the checks' to judge)
    stub = "def huber_grad(a, y, *, delta=1.0):\n    raise NotImplementedError\n"
    (package / "__init__.py").write_text(stub + "from .impl import *\n")
    assert [f.kind for f in scan_path(package, NAMES)["huber_grad"]] == []  # (the star import may rebind it)
    (package / "__init__.py").write_text("import jax.numpy as jnp\n" + "def huber_grad(a, y, d=1.0):" + BODY)
    found = scan_path(package, NAMES)["huber_grad"]
    assert [(f.kind, f.file) for f in found] == [("interface", "__init__.py")], found


def test_the_keyword_table_is_the_catalogs() -> None:
    """Every keyword a check passes is in KEYWORDS, at the position after the entry's arrays."""
    for entry in CATALOG:
        passed = {k for case in build_cases([entry], devices=["cpu:0"]) for k in case_inputs(case, 0).kwargs}
        if entry.name in KEYWORDS:
            keyword, position, default = KEYWORDS[entry.name]
            assert passed == {keyword} and position == len(entry.args), entry.name
            assert entry.signature.endswith(f", {keyword}={default})")
        else:
            assert passed == set(), entry.name
    assert BY_NAME["huber"].signature == "huber(pred, target, delta=1.0)"


def test_the_grader_fails_the_function_and_says_what_a_caller_meets(tmp_path: Path) -> None:
    """Through `handgrad grade`: the wrong huber_grad loses its mark before any worker runs it,
    with its kind and hint; huber beside it keeps its mark."""
    solution = starter.solution()
    assert solution.count("def huber_grad(a: ArrayLike, y: ArrayLike, delta: float = 1.0)") == 1
    wrong = solution.replace(
        "def huber_grad(a: ArrayLike, y: ArrayLike, delta: float = 1.0)",
        "def huber_grad(a: ArrayLike, y: ArrayLike, scale: float = 1.0, delta: float = 1.0)",
    )
    path = tmp_path / "submission.py"
    path.write_text(wrong, encoding="utf-8")
    report = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "handgrad", "grade", str(path), "--insecure", "--json", str(report),
         "--function", "huber_grad", "--function", "huber"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    tests = {t["name"]: t for t in json.loads(report.read_text())["tests"]}
    assert tests["huber"]["score"] == 1
    assert tests["huber_grad"]["score"] == 0
    said = tests["huber_grad"]["output"]
    assert "interface" in said and "binds 0.5 to 'scale'" in said, said
    assert "huber_grad(pred, target, delta=1.0)" in said, said  # the hint: the contract's signature


BOUND_OTHERWISE = {
    # (how huber_grad is bound where the source scan cannot read its parameters, what a caller meets)
    "an alias of a def": "def _impl(a, y, scale=1.0, delta=1.0):\n    return _right(a, y, delta) * scale\n"
    "huber_grad = _impl",
    "a lambda with delta keyword-only": "huber_grad = lambda a, y, *, delta=1.0: _right(a, y, delta)",
    "a callable object": "class _Grad:\n    def __call__(self, a, y, eps=0.0, delta=1.0):\n"
    "        return _right(a, y, delta) + eps\nhuber_grad = _Grad()",
    "a partial binding a keyword": "import functools\ndef _impl(a, y, w, delta=1.0):\n"
    "    return _right(a, y, delta) * w\nhuber_grad = functools.partial(_impl, w=1.0)",
}


@pytest.mark.parametrize("how", BOUND_OTHERWISE)
def test_a_delta_not_taken_by_position_loses_its_marks_however_the_function_is_bound(how: str) -> None:
    """The source scan reads only a def; any other binding was left to the checks, which all
    passed delta by name, so `huber_grad = _impl` with `_impl(a, y, scale=1.0, delta=1.0)`
    kept full marks (a red team, 2026-12-07). The delta2.5 and wide families now pass it by
    position (reference/keywords.py), as a caller may."""
    from handgrad.grading.grader import Options, grade_function
    from tests.corpus.mistakes import correct_source
    from tests.in_process import InProcessPrograms

    text = correct_source() + "\n_right = huber_grad\n" + BOUND_OTHERWISE[how] + "\n"
    namespace: dict[str, object] = {}
    exec(compile(text, "<bound otherwise>", "exec"), namespace)  # the test's own text, not a submission
    assert scan_source(text, ["huber_grad"])["huber_grad"] == []  # (allowed, and nothing the scan reads)
    graded = grade_function(InProcessPrograms(namespace), BY_NAME["huber_grad"], Options(), 3, "cpu:0")
    assert not graded.passed and graded.score == 0, graded.feedback
    assert "huber_grad(pred, target, 2.5)" in graded.feedback, graded.feedback
    # Where only the families that pass delta by position fail, the feedback says so.
    if "delta2.5;" in graded.feedback:
        assert "delta must be parameter 3" in graded.feedback, graded.feedback
