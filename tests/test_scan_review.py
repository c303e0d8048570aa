"""The forward-mode review note (handgrad/scan_review.py): a dual-number class is pointed
out; classes with operators that carry no tangent arithmetic, and plain code, are not."""

from __future__ import annotations

import textwrap

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
