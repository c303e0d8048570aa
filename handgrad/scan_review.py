"""Notes for an instructor's review, never a refusal: the shapes of code that may carry a
derivative by forward mode (docs/allowlist.md, "Forward-mode tricks"). Dual numbers are
ordinary arithmetic on the student's own objects, so no rule refuses them; a class that
overloads arithmetic is where they live. A note costs no marks; it points a reader."""

from __future__ import annotations

import ast

ARITHMETIC = frozenset(
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__ __rpow__ __neg__".split()
)
"""The special methods a number-like class defines; two or more make a class worth a look."""


def review_notes(source: str | bytes, file: str = "") -> list[str]:
    """One line per class that defines two or more arithmetic special methods (a dual-number
    or jet class looks like this), or [] where the source does not parse (the scan says why)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    where = f"{file}:" if file else "line "
    notes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            defined = sorted(
                {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))} & ARITHMETIC
            )
            if len(defined) >= 2:
                notes.append(
                    f"{where}{node.lineno}: class `{node.name}` defines arithmetic ({', '.join(defined)}):"
                    " read it for forward-mode differentiation (dual numbers) by hand"
                )
    return notes
