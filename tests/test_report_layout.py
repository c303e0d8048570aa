"""What a student reads: functions not attempted yet (stubs, missing) are listed apart from
real mistakes, the summary names the mistakes first, and a function never written gets no
'first failing check' (that check would be a random draw of the shuffled order)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from handgrad.cases import build_cases
from handgrad.engine import CaseResult
from handgrad.grading import reports
from handgrad.grading.grader import FunctionGrade, Options, SubmissionGrade, _counted, _score, stub_grade
from reference.catalog import BY_NAME

OPTIONS = Options(functions=("relu_grad", "tanh_grad", "sigmoid_grad", "l2_grad"))


def _missing(name: str) -> FunctionGrade:
    entry = BY_NAME[name]
    cases = build_cases([entry])
    result = CaseResult(cases[3], error_kind="missing", error=f"{name} is not defined (or not callable)")
    return _score(entry, OPTIONS, cases, [result], _counted(OPTIONS), stopped=True)


def _wrong(name: str) -> FunctionGrade:
    entry = BY_NAME[name]
    cases = build_cases([entry])
    result = CaseResult(cases[0], error_kind="exception", error="ValueError: a real mistake")
    return _score(entry, OPTIONS, cases, [result], _counted(OPTIONS), stopped=True)


def _grade() -> SubmissionGrade:
    functions = (
        stub_grade(BY_NAME["relu_grad"], OPTIONS, 1, "cpu", "raises"),
        _wrong("tanh_grad"),
        stub_grade(BY_NAME["sigmoid_grad"], OPTIONS, 1, "cpu", "returns-none"),
        _missing("l2_grad"),
    )
    return SubmissionGrade(Path("s.py"), functions, 1.0, 1, "namespaces", reason="failed")


def test_unattempted_functions_are_told_apart_from_mistakes() -> None:
    grade = _grade()
    assert [f.attempted for f in grade.functions] == [False, True, False, False]
    assert grade.lost() == "wrong: tanh_grad; not attempted: relu_grad, sigmoid_grad, l2_grad"
    assert "; wrong: tanh_grad; not attempted: relu_grad, sigmoid_grad, l2_grad." in grade.summary()


def test_the_text_report_shows_one_failing_check_only_for_real_mistakes() -> None:
    text = reports.text(_grade())
    lines = text.splitlines()
    assert "FAIL  tanh_grad     0/1" in lines and "TODO  relu_grad     0/1" in lines
    assert text.count("First failing check") == 1  # tanh_grad's, not one per missing function
    todo = lines[lines.index("--- not attempted yet ---") + 1 :]
    assert [line.split(":")[0] for line in todo] == ["  relu_grad", "  sigmoid_grad", "  l2_grad"]
    assert "returned None" in todo[1] and "not defined" in todo[2] and "NotImplementedError" in todo[0]
    assert lines.index("--- tanh_grad ---") < lines.index("--- not attempted yet ---")


def test_a_report_of_the_missing_does_not_depend_on_the_draw() -> None:
    one = reports.text(_grade())
    other = _grade()
    shuffled = dataclasses.replace(
        other, functions=(*other.functions[:3], _missing_from(other.functions[3], 7)), seed=2
    )
    assert one.split("\n", 3)[3] == reports.text(shuffled).split("\n", 3)[3]


def _missing_from(f: FunctionGrade, index: int) -> FunctionGrade:
    entry = BY_NAME[f.name]
    cases = build_cases([entry])
    result = CaseResult(cases[index], error_kind="missing", error=f"{f.name} is not defined (or not callable)")
    return _score(entry, OPTIONS, cases, [result], _counted(OPTIONS), stopped=True)
