"""The oracle is tested too: every plausible wrong formula of the corpus is caught,
and the report names the function."""

from __future__ import annotations

import pytest

from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_case
from reference.catalog import BY_NAME
from tests.corpus.mistakes import MISTAKES, Mistake


def first_failure(mistake: Mistake, strict: bool):  # type: ignore[no-untyped-def]
    evaluator = InProcess(mistake.namespace())
    for case in build_cases([BY_NAME[mistake.function]], devices=["cpu:0"]):
        result = run_case(evaluator, case, strict=strict)
        if not result.ok:
            return result
    return None


def test_corpus_is_large_and_covers_every_family_of_function() -> None:
    assert len(MISTAKES) >= 25
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)
    covered = {BY_NAME[m.function].layout for m in MISTAKES}
    assert covered == {"elementwise", "last_axis", "network"}


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if not m.strict_only], ids=lambda m: m.id)
def test_wrong_formula_is_caught_and_named(mistake: Mistake) -> None:
    failure = first_failure(mistake, strict=False)
    assert failure is not None, f"{mistake.id} ({mistake.about}) passed the whole matrix"
    assert failure.case.entry.name == mistake.function
    assert mistake.function in failure.message()
    if mistake.hint:
        assert mistake.hint in failure.hint, failure.message()
        assert f"likely mistake: {failure.hint}" in failure.message()


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.strict_only], ids=lambda m: m.id)
def test_other_valid_subgradient_passes_unless_strict(mistake: Mistake) -> None:
    assert first_failure(mistake, strict=False) is None
    failure = first_failure(mistake, strict=True)
    assert failure is not None and failure.case.family.name in {"kink", "ties", "margin"}
    assert "at a kink" in failure.message() and mistake.hint in failure.hint
