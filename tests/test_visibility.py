"""What students always see (Gradescope's top-level output, the text report) says nothing of a
function graded hidden, after_due_date or after_published: a red team (2026-12-06) read "wrong: 1
hidden function" and the summary's score as a pass/fail oracle for the hidden function and
resubmitted against it. Only that function's own test, held back by its visibility, and the
instructor's files (marks.csv, the class summary) carry its result."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from handgrad.grading import reports
from handgrad.grading.grader import FunctionGrade, SubmissionGrade
from handgrad.grading.rubric import Rubric, hidden_points_warning
from reference.catalog import NAMES


def _grade(held_back: str, right: bool) -> SubmissionGrade:
    functions = (
        FunctionGrade("relu", 1.0, 1.0, 10, 0, "ok", "visible"),
        FunctionGrade("relu_grad", 0.0, 2.0, 10, 3, "relu_grad FAILED", "visible"),
        FunctionGrade("l2_grad", 3.0 * right, 3.0, 10, 0 if right else 4, "l2_grad feedback", held_back),
        FunctionGrade("l1_grad", 0.0, 1.0, 0, 1, "not written", "visible", attempted=False),
    )
    return SubmissionGrade(Path("sub.py"), functions, 1.5, 7, "namespaces")


def _student_view(grade: SubmissionGrade) -> tuple[str, str, object]:
    data = reports.gradescope(grade)
    return data["output"], reports.text(grade), data.get("score")


@pytest.mark.parametrize("held_back", ["hidden", "after_due_date", "after_published"])
def test_what_students_always_see_is_the_same_whether_a_held_back_function_is_right_or_wrong(held_back: str) -> None:
    wrong, right = _student_view(_grade(held_back, False)), _student_view(_grade(held_back, True))
    assert wrong == right
    output, text, score = wrong
    assert "l2_grad" not in output + text and "hidden function" not in output + text
    assert score is None  # Gradescope sums the tests and holds the total back as their visibility says
    assert output.startswith("handgrad: 1 / 4 for sub.py")  # relu 1/1, relu_grad 0/2, l1_grad 0/1
    assert "wrong: relu_grad; not attempted: l1_grad" in output
    tests = {t["name"]: t for t in reports.gradescope(_grade(held_back, False))["tests"]}
    assert tests["l2_grad"]["visibility"] == held_back and tests["l2_grad"]["score"] == 0


def test_the_instructors_marks_keep_every_function() -> None:
    grade = _grade("hidden", False)
    assert grade.score == 1 and grade.max_score == 7
    row = next(csv.DictReader(io.StringIO(reports.marks_csv([grade]))))
    assert (row["score"], row["max_score"], row["l2_grad"], row["relu"]) == ("1", "7", "0", "1")


def test_the_class_summary_writes_each_path_as_marks_csv_does() -> None:
    """A red team's class of `a<newline>b.py` (right) and `a\\nb.py` (a literal backslash,
    wrong): the summary printed the wrong one as `a\\nb.py`, which is how marks.csv writes the
    right one, so the instructor would have blamed the wrong student."""
    grades = [dataclasses.replace(_grade("visible", right), path=Path(name)) for name, right in
              (("a\nb.py", True), ("a\\nb.py", False))]  # fmt: skip
    grades[0] = dataclasses.replace(grades[0], functions=tuple(dataclasses.replace(f, score=f.max_score, failed=0,
                                    attempted=True) for f in grades[0].functions))  # fmt: skip
    summary = reports.failures(grades)
    cells = [reports.submission_cell(g.path) for g in grades]
    assert cells[0] != cells[1]
    assert f"  {cells[1]}: " in summary and f"  {cells[0]}: " not in summary, (cells, summary)


def test_a_report_with_every_function_visible_keeps_its_top_level_score() -> None:
    grade = _grade("visible", False)
    data = reports.gradescope(grade)
    assert data["score"] == 1 and data["output"].startswith("handgrad: 1 / 7 for sub.py")
    assert "graded apart" not in data["output"]
    assert reports.is_report(reports.json_text(data).encode()) and reports.is_report(
        reports.json_text(reports.gradescope(_grade("hidden", True))).encode()
    )


def test_the_bundle_warns_of_hidden_functions_worth_points() -> None:
    rubric = Rubric(visibility={**dict.fromkeys(NAMES, "visible"), "l2_grad": "hidden", "relu": "hidden"})
    rubric.weights["relu"] = 0.0
    warning = hidden_points_warning(rubric)
    assert "l2_grad is hidden and worth points" in warning and "relu" not in warning
    assert hidden_points_warning(Rubric()) == ""
