"""The forward-mode review note (handgrad/scan_review.py): a dual-number class is pointed
out; classes with operators that carry no tangent arithmetic, and plain code, are not."""

from __future__ import annotations

import textwrap
from pathlib import Path

from handgrad.scan_review import review_notes

DUAL = textwrap.dedent(
    """
    import jax.numpy as jnp


    class Dual:
        def __init__(self, v, t):
            self.v, self.t = v, t

        def __add__(self, o):
            return Dual(self.v + o.v, self.t + o.t)

        def __mul__(self, o):
            return Dual(self.v * o.v, self.v * o.t + self.t * o.v)


    def sigmoid_grad(x):
        return x
    """
)

PLAIN = textwrap.dedent(
    """
    from dataclasses import dataclass


    @dataclass
    class Point:
        x: float

        def __eq__(self, other):
            return True

        def __call__(self, y):
            return y


    class OnlyNeg:
        def __neg__(self):
            return self
    """
)


def test_a_dual_number_class_is_noted_with_its_line_and_methods() -> None:
    [note] = review_notes(DUAL, "submission.py")
    assert note.startswith("submission.py:5: class `Dual`") and "__add__, __mul__" in note


def test_classes_without_arithmetic_and_unreadable_sources_get_no_note() -> None:
    assert review_notes(PLAIN) == []
    assert review_notes("def f(:\n") == []


def test_review_notes_reach_the_instructor_and_not_the_student(tmp_path: Path) -> None:
    """Graded end to end: the note is in marks.csv's review column and results.json's
    extra_data (kept by Gradescope, not shown), and nowhere the student reads."""
    from handgrad.grading import reports
    from handgrad.grading.grader import Options, grade

    source = DUAL.replace("def sigmoid_grad(x):\n    return x", "def relu(x):\n    return jnp.maximum(x, 0)")
    path = tmp_path / "student.py"
    path.write_text(source)
    graded = grade(path, Options(insecure=True, functions=("relu",), seed=3))
    assert graded.full_marks and len(graded.review) == 1 and "class `Dual`" in graded.review[0]
    row = reports.marks_csv([graded]).splitlines()[1]
    assert row.endswith(graded.review[0]) or graded.review[0] in row
    results = reports.gradescope(graded)
    assert results["extra_data"]["review"] == list(graded.review)
    seen = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "Dual" not in seen and "review" not in seen
    assert "To read by hand (the review column of marks.csv):\n  " in reports.failures([graded])


SPREAD = {  # one arithmetic method per place: noted all the same
    "chain": """
        class _A(tuple):
            def __add__(self, o):
                return Dual((self[0] + o[0], self[1] + o[1]))

        class Dual(_A):
            def __mul__(self, o):
                return Dual((self[0] * o[0], self[1] * o[0] + self[0] * o[1]))
        """,
    "assigned": """
        def _mul(a, b):
            return Jet(a.v * b.v, a.v * b.t + a.t * b.v)

        class Jet:
            __mul__ = _mul
            def __sub__(self, o):
                return Jet(self.v - o.v, self.t - o.t)
        """,
    "attached": """
        class Pair:
            def __init__(self, v, t):
                self.v, self.t = v, t

        def _add(a, b):
            return Pair(a.v + b.v, a.t + b.t)

        Pair.__add__ = _add
        setattr(Pair, "__truediv__", lambda a, b: Pair(a.v / b.v, (a.t * b.v - a.v * b.t) / (b.v * b.v)))
        """,
    "three deep": """
        class A:
            def __neg__(self):
                return self

        class B(A):
            pass

        class C(B):
            def __rmul__(self, o):
                return self
        """,
}


def test_arithmetic_spread_over_bases_assignments_and_setattr_is_noted() -> None:
    for layout, source in SPREAD.items():
        notes = review_notes(textwrap.dedent(source))
        assert len(notes) == 1, (layout, notes)
    [note] = review_notes(textwrap.dedent(SPREAD["chain"]))
    assert "class `Dual`" in note and "__add__, __mul__" in note and "__add__ from its bases" in note


def test_a_subclass_that_adds_no_arithmetic_is_not_noted_again() -> None:
    source = DUAL + "\n\nclass Named(Dual):\n    def describe(self):\n        return 'x'\n"
    [note] = review_notes(source)
    assert "class `Dual`" in note
    lone = "class A:\n    def __add__(self, o):\n        return self\n\n"
    lone += "class B(A):\n    def __str__(self):\n        return ''\n"
    assert review_notes(lone) == []


def _renamed(source: str) -> str:
    """The shipped solution as a copier hides it: comments and docstrings gone, every local
    name and argument renamed, blank lines moved; the code itself unchanged."""
    import ast as _ast

    tree = _ast.parse(source)
    for node in _ast.walk(tree):
        if isinstance(node, _ast.FunctionDef):
            fresh = {a.arg: f"my_{a.arg}" for a in node.args.args}
            for sub in _ast.walk(node):
                if isinstance(sub, _ast.arg) and sub.arg in fresh:
                    sub.arg = fresh[sub.arg]
                elif isinstance(sub, _ast.Name) and sub.id in fresh:
                    sub.id = fresh[sub.id]
            if node.body and isinstance(node.body[0], _ast.Expr) and len(node.body) > 1:
                node.body = node.body[1:]
    return _ast.unparse(tree)


def test_the_shipped_solution_copied_is_noted_however_renamed() -> None:
    from handgrad import starter
    from handgrad.scan_review import COPIED_FUNCTIONS, copied_note

    solution = starter.solution()
    [note] = copied_note({"mine.py": _renamed(solution)})
    count = int(note.split()[0])
    assert count >= 10 and "handgrad's own solution" in note and "mine.py:" in note
    import ast as _ast

    body = _ast.parse(_renamed(solution)).body  # a package: the same code over two files, one note
    half = len(body) // 2
    halves = {"a.py": _ast.unparse(_ast.Module(body[:half], [])), "b.py": _ast.unparse(_ast.Module(body[half:], []))}
    [split] = copied_note(halves)
    assert int(split.split()[0]) == count and "a.py:" in split
    assert COPIED_FUNCTIONS > 1


def test_students_own_correct_forms_are_not_noted_as_copies() -> None:
    from handgrad.scan_review import copied_note

    corpus = Path(__file__).parent / "corpus"
    for name in ("correct_forms.py", "correct_forms_2.py"):
        assert copied_note({name: (corpus / name).read_text()}) == [], name
    assert copied_note({"dual.py": DUAL}) == []


def test_a_class_that_brings_two_mixins_together_is_noted() -> None:
    source = (
        "class _Add:\n    def __add__(self, o):\n        return self\n\n"
        "class _Mul:\n    def __mul__(self, o):\n        return self\n\n"
        "class Dual(_Add, _Mul):\n    pass\n"
    )
    [note] = review_notes(source)
    assert "class `Dual`" in note and "__add__, __mul__" in note


def test_deep_and_wide_class_hierarchies_are_read_without_recursion_or_blowup() -> None:
    """A reviewer's: a legal chain of 1200 classes raised RecursionError in the note, and 22
    levels of diamonds took 34 s (the scan's budget is 20 s), refusing the submission. Read in
    a child with a generous limit: a walk exponential in the 40 levels below would never end."""
    import subprocess
    import sys

    chain = "class C0:\n    def __add__(self, o):\n        return self\n"
    chain += "".join(f"class C{i}(C{i - 1}):\n    pass\n" for i in range(1, 1200))
    chain += "class Top(C1199):\n    def __mul__(self, o):\n        return self\n"
    diamonds = "class L0a:\n    def __add__(self, o):\n        return self\n\nclass L0b:\n    pass\n"
    for i in range(1, 40):
        diamonds += f"class L{i}a(L{i - 1}a, L{i - 1}b):\n    pass\n\nclass L{i}b(L{i - 1}a, L{i - 1}b):\n    pass\n"
    diamonds += "class Top(L39a, L39b):\n    def __mul__(self, o):\n        return self\n"
    code = (
        "import sys\nfrom handgrad.scan_review import review_notes\n"
        "for source in sys.stdin.read().split('#----\\n'):\n    print(review_notes(source))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=chain + "#----\n" + diamonds, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("class `Top`" in line and "__add__, __mul__" in line for line in lines), lines


def test_a_long_expression_does_not_end_the_copy_check() -> None:
    """A legal function of a 2500-term sum parses, but copying and dumping its tree recursively
    ran past Python's recursion limit inside the scan child (found reading the change): only
    functions of a size a shipped one has are compared now."""
    from handgrad import starter
    from handgrad.scan_review import copied_note

    long_sum = "def f(x):\n    return " + " + ".join(["x"] * 2500) + "\n"  # (3000 is past the parser's own limit)
    assert copied_note({"long.py": long_sum}) == []
    [note] = copied_note({"long.py": long_sum, "copy.py": starter.solution()})  # (the copy is still seen)
    assert "copy.py:" in note
