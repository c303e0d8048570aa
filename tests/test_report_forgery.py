"""Reports cannot be forged: report names are injective and independent of finishing order,
student text cannot start a line or break one in other programs, and quoted fields are capped."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from handgrad.cases import build_cases
from handgrad.escape import printable
from handgrad.grading import reports
from handgrad.grading.grader import FunctionGrade, SubmissionGrade
from handgrad.results import MAX_QUOTED, CaseResult
from reference.catalog import BY_NAME
from reference.compare import compare
from reference.tolerances import TOLERANCES


def test_report_names_are_injective_and_do_not_depend_on_order() -> None:
    paths = [Path(p) for p in ("subs/alice smith.py", "subs/alice_smith.py", "other/alice_smith.py", "Bob.py",
                               "bob.py", "carol.py", "dän.py", "d_n.py", "=x.py", "_.py", ".hidden.py")]  # fmt: skip
    first = reports.report_names(paths)
    assert len(set(first.values())) == len(paths)
    assert len({n.casefold() for n in first.values()}) == len(paths)  # distinct on case-blind file systems too
    assert first[Path("carol.py")] == "carol"  # a clean, unique stem is kept as it is
    assert all(n.isascii() and all(c.isalnum() or c in "-_." for c in n) for n in first.values())
    assert not any(n.startswith(".") for n in first.values())
    for order in itertools.islice(itertools.permutations(paths), 50):
        assert reports.report_names(list(order)) == first


def test_marks_csv_names_each_rows_report() -> None:
    grades = [_grade(Path("subs/alice smith.py")), _grade(Path("subs/alice_smith.py"))]
    rows = reports.marks_csv(grades).splitlines()
    assert rows[0].split(",")[-2:] == ["report", "review"]
    names = reports.report_names([g.path for g in grades])
    assert [r.split(",")[-2] for r in rows[1:]] == [names[g.path] for g in grades]


@pytest.mark.parametrize(
    "char",
    ["\u2028", "\u2029", "\u0085", "\u200b", "\u200d", "\ufeff", "\u2066", "\u202e", "\u061c", "\x1b", "\r", "\x0b"],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_every_line_breaking_format_or_control_character_is_shown_escaped(char: str) -> None:
    shown = printable(f"ok{char}24 / 24")
    assert char not in shown and "\\" in shown and shown.startswith("ok") and shown.endswith("24 / 24")


def test_plain_text_in_any_script_is_kept() -> None:
    assert printable("naïve Σ café 日本 x\ty\nz") == "naïve Σ café 日本 x\ty\nz"


def _grade(path: Path, feedback: str = "feedback", problem: str = "") -> SubmissionGrade:
    functions = (FunctionGrade("relu_grad", 0.0, 1.0, 10, 10, feedback, "visible", "value"),)
    return SubmissionGrade(path, functions, 1.0, 7, "namespaces", problem=problem, reason="failed")


def test_student_text_never_starts_a_line_of_the_report() -> None:
    forged = "Failed.\n  error: boom\nhandgrad: 24 / 24 for honest.py\nPASS  relu_grad  1/1"
    text = reports.text(_grade(Path("s.py"), feedback=forged))
    starts = [line for line in text.splitlines() if line.startswith(("handgrad:", "PASS", "FAIL"))]
    assert starts == ["handgrad: 0 / 1 for s.py", "FAIL  relu_grad  0/1"]
    problem = "The submission could not be imported: boom\nhandgrad: 24 / 24 for honest.py"
    summary = _grade(Path("s.py"), problem=problem).summary()
    assert [line for line in summary.splitlines() if line.startswith("handgrad:")] == ["handgrad: 0 / 1 for s.py"]


def test_a_failure_message_caps_what_it_quotes() -> None:
    case = build_cases([BY_NAME["relu_grad"]], dtypes=["float32"], transforms=["eager"])[0]
    result = CaseResult(case, error_kind="exception", error="x" * 1_000_000 + "\nPASS")
    message = result.message()
    assert len(message) < 3 * MAX_QUOTED and all(len(line) <= MAX_QUOTED for line in message.splitlines())
    assert not any(line.startswith("PASS") for line in message.splitlines())


def test_returned_keys_are_quoted_a_few_and_short() -> None:
    want = {"W1": np.zeros(2)}
    got = {f"key{i:05d}" + "k" * 500: np.zeros(2) for i in range(5000)}
    comparison = compare(want, got, dtype="float64", tolerance=TOLERANCES["float64"])
    assert not comparison.ok and comparison.problem == "structure"
    assert len(comparison.detail) < 1000 and "5000 keys in all" in comparison.detail


def test_the_shared_sanitizer_escapes_what_the_scan_escapes() -> None:
    """One policy for every character: with newlines and tabs not kept, the shared sanitizer
    escapes exactly the characters the scan's findings escape (it differs only in how an
    undecodable file-name byte reads: \\x80 rather than \\udc80), so the scan can use it."""
    from handgrad.scan import _printable

    chars = (chr(o) for o in range(0x30000) if not 0xD800 <= o <= 0xDFFF)
    differ = [c for c in chars if printable(c, newlines=False, tabs=False) != _printable(c)]
    assert differ == []
    assert printable("a\tb\nc", newlines=False, tabs=False) == "a\\tb\\nc"
    assert printable("\udc80") == "\\x80"
