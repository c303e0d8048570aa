"""The failure kinds are one documented list (handgrad/failures.py): docs/grading.md shows
each with its meaning and whether it stops the function, and no other kind can be raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.engine import EvaluationError
from handgrad.failures import DESCRIPTIONS, FATAL, Failure

DOC = Path(__file__).resolve().parents[1] / "docs" / "grading.md"


def test_every_kind_is_described_and_documented_with_whether_it_stops() -> None:
    assert set(DESCRIPTIONS) == set(Failure) and FATAL <= set(Failure)
    lines = DOC.read_text().splitlines()
    for kind in Failure:
        row = next((line for line in lines if line.startswith(f"| `{kind.value}` |")), None)
        assert row is not None, f"{kind.value} is not in docs/grading.md's failure kinds"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == DESCRIPTIONS[kind] and (cells[2] == "yes") == (kind in FATAL)


def test_an_undocumented_kind_cannot_be_raised() -> None:
    assert EvaluationError("stale-state", "m").kind == "stale-state"
    with pytest.raises(ValueError, match="'budget' is not a valid Failure"):
        EvaluationError("budget", "a kind nobody documented")
