"""What one check produced: a CaseResult (the case, the comparison or the failure, the
inputs at the worst element, the likely mistake) and the EvaluationError an evaluator raises
when a formula gives no value. Read by the engine, the hints, the grader and the reports."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handgrad.cases import DEFAULT_SEED, Case
from handgrad.failures import Failure
from reference.compare import Comparison


class EvaluationError(Exception):
    """The formula could not produce a value; `kind` says why: one of handgrad.failures.Failure
    (a kind not listed there is a ValueError: every kind a report names is documented)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = Failure(kind).value
        self.message = message


@dataclass(frozen=True)
class CaseResult:
    case: Case
    comparison: Comparison | None = None
    error_kind: str = ""
    error: str = ""
    devices: frozenset[str] = field(default_factory=frozenset)
    inputs_at_worst: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    unchecked: int = 0
    """Elements not compared because the truth is undefined there (see run_case)."""
    elements: int = 0
    """Elements of the answer that came back (0 where none did): `elements - unchecked` were
    compared."""
    seed: int = DEFAULT_SEED
    """The seed the case's inputs were drawn with: the hints redraw them from it."""
    switch_window: tuple[float, float] | None = None
    """Where the failure is a branch switching at the wrong point (hints.switch_window): the
    window of the switch's quantity it is wrong in, for the hints of the function's other checks."""

    @property
    def ok(self) -> bool:
        return not self.error_kind and self.comparison is not None and self.comparison.ok

    @property
    def nothing_compared(self) -> bool:
        """It passed only because no element of it was compared (every one `unchecked`)."""
        return self.ok and 0 < self.unchecked and self.elements <= self.unchecked

    @property
    def problem(self) -> str:
        if self.error_kind:
            return self.error_kind
        return self.comparison.problem if self.comparison is not None else "error"

    @property
    def ratio(self) -> float:
        """Worst error over allowed error (<= 1 passes); inf for failures without one."""
        worst = self.comparison.worst if self.comparison is not None else None
        if worst is None:
            return 0.0 if self.ok else float("inf")
        if worst.allowed == 0:
            return float("inf")
        return worst.abs_err / worst.allowed

    def message(self) -> str:
        """What a student needs: which input, what was expected, what came back, why."""
        if self.ok:
            return f"{self.case.id}: ok"
        call = self.case.entry.called_with(self.kwargs, self.case.family.by_position)
        lines = [f"{self.case.id}: {call} FAILED ({self.problem})"]
        if self.error:  # the submission's own words: every line of them indented under ours
            lines.append("  error: " + _cut(self.error, MAX_QUOTED).replace("\n", "\n         "))
        if self.comparison is not None and not self.comparison.ok:
            lines.append(f"  {self.comparison.detail}")
            if self.comparison.worst is not None and self.comparison.worst.at_kink:
                lines.append(f"  this element is at a kink: {self.case.entry.kink.rule}")  # type: ignore[union-attr]
        for name, value in self.inputs_at_worst.items():
            lines.append(f"  input {name} = {_fmt(value)}")
        for name, value in self.kwargs.items():
            lines.append(f"  with {name} = {value!r}")
        if self.hint:
            lines.append(f"  likely mistake: {self.hint}")
        return "\n".join(_cut(line, MAX_QUOTED) for line in lines)


MAX_QUOTED = 2000
"""The most characters of any one line of a failure message (it may quote the submission)."""


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


SHOWN_ELEMENTS = 24
"""An input with more elements is summarised: its first and last few (an array), its shape
(a dict's entry, as the network's parameters)."""


def _fmt(value: Any) -> str:
    if isinstance(value, Mapping):
        # The network's parameters: each small one in full, on this one line, so the failing
        # check can be worked by hand (the seed's 3x2x1 example); a large one by its shape.
        arrays = {k: np.asarray(v) for k, v in value.items()}
        parts = [
            f"{k}: {_values(a)}" if a.size <= SHOWN_ELEMENTS else f"{k}: shape {a.shape}" for k, a in arrays.items()
        ]
        dtypes = {a.dtype.name for a in arrays.values() if a.size <= SHOWN_ELEMENTS}
        return "{" + ", ".join(parts) + "}" + (f" ({dtypes.pop()})" if len(dtypes) == 1 else "")
    arr = np.asarray(value)
    return _values(arr) + f" ({arr.dtype.name})"


def _values(arr: np.ndarray) -> str:
    """The elements of `arr` in float64 (exactly as drawn), rows on one line."""
    with np.printoptions(precision=6, threshold=SHOWN_ELEMENTS, edgeitems=4, linewidth=200):
        return re.sub(r"\n\s*", " ", np.array2string(arr.astype(np.float64), separator=", "))
