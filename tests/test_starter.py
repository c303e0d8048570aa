"""`handgrad template` and `handgrad solution`: what they write, and how it grades."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from handgrad.cases import build_cases
from handgrad.cli import main
from handgrad.engine import InProcess, run_case
from handgrad.grading.grader import Options, grade, grade_function
from handgrad.starter import ALLOWED_IMPORTS, solution, template
from reference.catalog import CATALOG
from tests.in_process import InProcessPrograms


def _namespace(text: str) -> dict[str, object]:
    ns: dict[str, object] = {}
    exec(compile(text, "<generated>", "exec"), ns)
    return ns


def test_template_has_every_signature_and_grades_as_not_implemented() -> None:
    ns = _namespace(template())
    for entry in CATALOG:
        fn = ns[entry.name]
        assert callable(fn) and fn.__doc__ and entry.summary in fn.__doc__
        assert tuple(inspect.signature(fn).parameters)[: len(entry.args)] == entry.args
        grade_ = grade_function(InProcessPrograms(ns), entry, Options(), 0, "cpu:0")
        assert grade_.score == 0 and grade_.feedback.startswith("Not implemented yet"), grade_.feedback


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import"
            if node.module != "__future__":
                found |= {f"{node.module}.{a.name}" if node.module == "jax" else str(node.module) for a in node.names}
    return found


def test_solution_imports_only_what_a_submission_may() -> None:
    tree = ast.parse(solution())
    assert _imports(tree) <= set(ALLOWED_IMPORTS), _imports(tree)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "jax" not in names and "handwritten" not in names


def test_solution_passes_one_check_per_function_and_dtype() -> None:
    evaluator = InProcess(_namespace(solution()))
    for entry in CATALOG:
        for case in build_cases([entry], transforms=["jit"], devices=["cpu:0"]):
            if case.family is entry.families[-1]:
                result = run_case(evaluator, case)
                assert result.ok, result.message()


def test_solution_gets_full_marks_from_the_sandboxed_grader(tmp_path: Path) -> None:
    path = tmp_path / "solution.py"
    assert main(["solution", str(path)]) == 0
    result = grade(path, Options(functions=("two_layer_grads",), seed=4))
    assert result.full_marks and result.score == 1, result.summary()


def test_cli_writes_new_files_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "starter.py"
    assert main(["template", str(path)]) == 0
    assert path.read_text() == template()
    assert main(["template", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["solution"]) == 0
    assert capsys.readouterr().out == solution()
