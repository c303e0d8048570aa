"""What a student reads: functions not attempted yet (stubs, missing) are listed apart from
real mistakes, the summary names the mistakes first, and a function never written gets no
'first failing check' (that check would be a random draw of the shuffled order)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

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


def test_failures_are_told_once_per_distinct_cause() -> None:
    """Thirty cells failing for two causes read as two messages, each with its count and
    families; more causes than MAX_CAUSES are counted, not printed."""
    from handgrad.grading.grader import MAX_CAUSES

    entry = BY_NAME["tanh_grad"]
    cases = build_cases([entry])
    why = ["ValueError: cause A"] * 20 + ["TypeError: cause B"] * 10
    results = [CaseResult(c, error_kind="exception", error=e, hint=e[-1]) for c, e in zip(cases, why, strict=False)]
    feedback = _score(entry, OPTIONS, cases, results, _counted(OPTIONS), stopped=False).feedback
    assert feedback.count("cause A") == 1 and feedback.count("cause B") == 1
    b_families = ", ".join(sorted({c.family.name for c in cases[20:30]}))
    assert f"Another cause (10 checks, inputs {b_families}):" in feedback
    single = _score(entry, OPTIONS, cases, results[:20], _counted(OPTIONS), stopped=False).feedback
    assert "All 20 failing checks show this same problem" in single and "Another cause" not in single
    many = [CaseResult(c, error_kind="exception", error=f"E{i}", hint=str(i)) for i, c in enumerate(cases[:9])]
    feedback = _score(entry, OPTIONS, cases, many, _counted(OPTIONS), stopped=False).feedback
    assert feedback.count("Another cause") == MAX_CAUSES - 1
    assert f"... and {9 - MAX_CAUSES} more distinct causes." in feedback


def test_one_cause_says_how_many_of_its_checks_are_beyond_the_contract() -> None:
    """The header counts the checks that cost marks; the line that groups every failing check
    under one cause counted those beyond the contract too, without saying so ("Failed 84 of
    105 checks" above "All 93 failing checks show this same problem")."""
    entry = BY_NAME["cosine_similarity"]
    cases = build_cases([entry])
    counted = [c for c in cases if c.family.tier == "derivation"][:3]
    beyond = [c for c in cases if c.family.tier == "extreme"][:2]
    assert counted and beyond
    results = [CaseResult(c, error_kind="exception", error="ValueError: the same mistake") for c in counted + beyond]
    grade = _score(entry, OPTIONS, cases, results, _counted(OPTIONS), stopped=False)
    lines = grade.feedback.splitlines()
    assert lines[0] == f"Failed {len(counted)} of {len(cases)} checks."
    total, extra = len(counted) + len(beyond), len(beyond)
    assert f"(All {total} failing checks, the {extra} beyond the contract too, show this same problem" in grade.feedback


@pytest.mark.parametrize(
    "hints",
    [
        [f"nonzero in {k} of {n} elements where it should be 0: x" for k, n in ((1, 5), (4, 49))],
        [f"off by a factor of 1/n = 1/{n}: an extra 1/n (mean where the contract sums)" for n in (5, 4)],
    ],
    ids=["elements", "mean-length"],
)
def test_a_hint_that_counts_at_one_shape_is_one_cause_whatever_the_counts(hints: list[str]) -> None:
    """ "nonzero in 1 of 5 elements ..." and "nonzero in 4 of 49 elements ..." are one mistake
    seen at two shapes, as are "1/n = 1/5" and "1/n = 1/4": they were told as two causes (a
    hinge gradient that ignores its margin had 11 "distinct causes")."""
    entry = BY_NAME["hinge_grad"]
    cases = build_cases([entry])[:2]
    results = [
        dataclasses.replace(CaseResult(c, error_kind="exception", error="ValueError: same"), hint=h)
        for c, h in zip(cases, hints, strict=True)
    ]
    grade = _score(entry, OPTIONS, build_cases([entry]), results, _counted(OPTIONS), stopped=False)
    assert "(All 2 failing checks show this same problem" in grade.feedback and "Another cause" not in grade.feedback


def _halved_b2(params, x, y):  # type: ignore[no-untyped-def]
    import handwritten

    grads = handwritten.two_layer_grads(params, x, y)
    return {**grads, "b2": grads["b2"] / 2}


@pytest.mark.parametrize(("family", "in_full"), [("seed", True), ("net-16x8x4", False)])
def test_a_failed_network_check_shows_its_small_parameters_in_full(family: str, in_full: bool) -> None:
    """The seed's 3x2x1 example can be worked by hand from the message: each parameter's values
    as drawn, rows on the one line; a 16x8x4 network's W1 (128 numbers) by its shape."""
    import ast
    import re

    import numpy as np

    from handgrad.cases import case_inputs
    from handgrad.engine import InProcess, run_case

    case = next(c for c in build_cases([BY_NAME["two_layer_grads"]], devices=["cpu:0"], dtypes=["float32"])
                if c.family.name == family and c.transform == "eager")  # fmt: skip
    result = run_case(InProcess({"two_layer_grads": _halved_b2}), case)
    line = next(line for line in result.message().splitlines() if line.startswith("  input params = {"))
    params = case_inputs(case).args[0]
    shown = dict(re.findall(r"(\w+): (\[[^a-z]*?\](?=, \w+:|\}))", line))
    if in_full:
        assert line.endswith("} (float32)") and set(shown) == set(params)
        for name, value in params.items():  # the numbers as drawn, to the 6 digits printed
            assert np.allclose(np.array(ast.literal_eval(shown[name])), np.asarray(value, np.float64), atol=5e-7), name
    else:
        assert "W1: shape (16, 8)" in line and "W2: shape (8, 4)" in line
        assert set(shown) == {"b1", "b2"}  # 8 and 4 numbers: in full
