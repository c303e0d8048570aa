"""Tiers of checks: the table, the scoring by tier (default, --strict, rubric shares),
the order checks run in, and the 'Fails only ...' patterns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from handgrad.cases import build_cases
from handgrad.engine import CaseResult
from handgrad.grading.grader import Options, _order, _pattern, grade_function
from handgrad.grading.rubric import Rubric, RubricError, load
from reference import families
from reference.catalog import BY_NAME, CATALOG
from reference.compare import Comparison
from tests.corpus.correct_forms import CORRECT_FORMS
from tests.corpus.correct_forms_2 import CORRECT_FORMS_2
from tests.corpus.mistakes import MISTAKES
from tests.corpus.mistakes_subtle_2 import SUBTLE_2
from tests.in_process import InProcessPrograms


def test_every_family_has_a_tier_and_the_table_names_only_real_families() -> None:
    seen = {(e.name, f.name): f.tier for e in CATALOG for f in e.families}
    assert set(seen.values()) == set(families.TIERS)
    assert seen[("cosine_similarity_grad", "far-scales")] == "extreme"
    assert seen[("softmax", "extreme")] == seen[("sigmoid", "extreme")] == "stability"
    assert seen[("cross_entropy", "row-large")] == "stability"
    assert seen[("l1_grad", "near-ties")] == seen[("softmax_vjp", "onehot-g")] == "derivation"
    # Small inputs are ordinary: a shortcut or clamp that is wrong there is a wrong derivation.
    assert seen[("tanh", "small")] == seen[("cosine_similarity_grad", "small-scales")] == "derivation"
    # Large values with a small difference test the form's stability, as the wide ones do.
    assert seen[("l2", "offset")] == seen[("huber_grad", "offset")] == "stability"
    assert all(t in families.TIERS for e in CATALOG for t in e.tiers.values())
    assert all(f.tier == e.tiers.get(f.name, "derivation") for e in CATALOG for f in e.families)
    with pytest.raises(ValueError, match="do not exist"):
        dataclasses.replace(BY_NAME["softmax"], families=(families.normal((3,)),))


def _grade(source_id: str, *options: Options):  # type: ignore[no-untyped-def]
    """The form graded under each of `options`, in one namespace: its functions are compiled
    once for all of them (none of these forms keeps state)."""
    form = {m.id: m for m in (*CORRECT_FORMS, *CORRECT_FORMS_2, *MISTAKES, *SUBTLE_2)}[source_id]
    here = InProcessPrograms(form.namespace())
    grades = [grade_function(here, BY_NAME[form.function], o, 5, "cpu:0") for o in options]
    return grades[0] if len(grades) == 1 else grades


def test_textbook_cosine_keeps_its_marks_and_is_told_it_is_not_robust_beyond_the_contract() -> None:
    lenient, strict = _grade("cosine-grad-plain-norm", Options(), Options(strict=True, fail_fast=True))
    assert lenient.score == 1 and lenient.passed
    assert "not robust at far-scales" in lenient.feedback and "Full marks" in lenient.feedback
    (extreme,) = [t for t in lenient.tiers if t.tier == "extreme"]
    assert not extreme.passed and not extreme.counted
    assert strict.score == 0 and not strict.passed and "Beyond the contract: FAILED" in strict.feedback


@pytest.mark.parametrize(
    ("source_id", "failed"),
    [
        # An unstable form of a right derivation: only the stability tier fails.
        ("l2-expanded-square", {"stability"}),
        # A clamp that changes the function on small but ordinary vectors: a derivation failure.
        ("cosine-eps-clamp-product", {"derivation", "extreme"}),
        # A shortcut wrong near 0 fails the ordinary small inputs, not only the wide ones.
        ("tanh-small-x-shortcut", {"derivation", "stability"}),
    ],
)
def test_a_mistake_fails_in_the_tier_its_kind_belongs_to(source_id: str, failed: set[str]) -> None:
    grade = _grade(source_id, Options())
    assert {v.tier for v in grade.tiers if v.failed} == failed, grade.feedback


def test_rubric_shares_give_partial_credit_per_tier() -> None:
    # Naive softmax: right derivation, overflows at the extremes the contract states.
    shares = Rubric(tiers={"derivation": 0.7, "stability": 0.3, "extreme": 0.0})
    partial, all_or_nothing = _grade("softmax-no-shift", Options(rubric=shares), Options())
    assert partial.score == pytest.approx(0.7)
    assert "Derivation (ordinary inputs): passed" in partial.feedback
    assert "Stability (the extreme inputs the contract states): FAILED" in partial.feedback
    assert all_or_nothing.score == 0


def test_rubric_tiers_table_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text("[tiers]\nderivation = 0.7\nstability = 0.3\n")
    assert load(path).tiers == {"derivation": 0.7, "stability": 0.3, "extreme": 0.0}
    for text, message in [
        ("[tiers]\nderivaton = 1\n", "unknown tiers"),
        ("[tiers]\nderivation = -1\n", "weight must be"),
        ("[tiers]\nderivation = 0\n", "every share is 0"),
        ("tiers = 3\n", "must be a table"),
        # Shares that count no check of a weighted function: it would earn its weight for
        # anything, an empty file too (a red team's rubric gave 22 of 24 for one).
        ("[tiers]\nextreme = 1\n", "sigmoid, sigmoid_grad, tanh, tanh_grad and 18 more have no check in it"),
        ("partial = true\n[tiers]\nextreme = 1\n", "whatever is submitted"),
        ("default_weight = 0\n[functions.relu]\nweight = 1\n[tiers]\nextreme = 1\n", "relu has no check in it"),
        ("[functions.relu]\nweight = 1e308\n[functions.tanh]\nweight = 1e308\n", "more than a number can hold"),
    ]:
        path.write_text(text)
        with pytest.raises(RubricError, match=message):
            load(path)


def test_a_rubric_counting_only_extreme_still_reads_where_every_function_has_extreme_checks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rubric.toml"
    weighted = [e.name for e in CATALOG if any(f.tier == "extreme" for f in e.families)]
    assert weighted and len(weighted) < len(CATALOG)
    table = "".join(f"[functions.{n}]\nweight = 1\n" for n in weighted)
    path.write_text(f"default_weight = 0\n{table}[tiers]\nextreme = 1\n")
    assert load(path).tiers == {"derivation": 0.0, "stability": 0.0, "extreme": 1.0}


def test_a_function_whose_counted_tiers_hold_no_check_earns_nothing() -> None:
    # A rubric made in code skips load's check: what nothing could fail earns nothing.
    nothing_counts = Rubric(tiers={"derivation": 0.0, "stability": 0.0, "extreme": 1.0})
    grade = _grade("softmax-no-shift", Options(rubric=nothing_counts))
    assert not any(t.tier == "extreme" for t in grade.tiers)
    assert grade.score == 0


def test_checks_run_in_a_seeded_order_that_starts_eagerly() -> None:
    entry = BY_NAME["softmax_vjp"]
    cases = build_cases([entry], devices=["cpu:0"])
    a, b, c = _order(cases, entry, 1), _order(cases, entry, 1), _order(cases, entry, 2)
    assert [x.id for x in a] == [x.id for x in b] != [x.id for x in c]
    assert sorted(x.id for x in a) == sorted(x.id for x in cases)
    assert a[0].transform == c[0].transform == "eager"


def _results(failing: set[tuple[str, str]]) -> list[CaseResult]:
    """Every softmax case, failing where (dtype, family) is in `failing`."""
    out = []
    for case in build_cases([BY_NAME["softmax"]], devices=["cpu:0"]):
        bad = (case.dtype, case.family.name) in failing
        out.append(CaseResult(case, Comparison(not bad, "value" if bad else "", "")))
    return out


def test_pattern_names_one_condition_or_a_pair() -> None:
    one = _pattern(_results({(d, "row-large") for d in ("float32", "float64", "float16", "bfloat16")}))
    assert one.startswith("Fails only on the input families row-large;")
    pair = _pattern(_results({(d, f) for d in ("float16", "bfloat16") for f in ("extreme", "wide")}))
    assert pair.startswith("Fails only in bfloat16, float16 on the input families extreme, wide")
    assert "low-precision" in pair
    # Failures that no pair separates from the passes get no pattern rather than a wrong one.
    assert _pattern(_results({("float16", "extreme"), ("float32", "wide")})) == ""


def test_stale_state_is_claimed_only_for_a_telling_repeated_answer() -> None:
    import numpy as np

    from handgrad.evaluate import Output
    from handgrad.grading.grader import _earlier_answer

    cases = [c for c in build_cases([BY_NAME["relu"]], devices=["cpu:0"], dtypes=["float32"]) if c.transform == "jit"]
    a, b = (c for c in cases if c.family.name in ("normal-3x5x4", "wide"))
    failed = CaseResult(b, Comparison(False, "value", ""))
    values = np.linspace(-1, 1, 60, dtype=np.float32).reshape(3, 5, 4)
    seen = [(a, Output(values, frozenset()))]
    assert _earlier_answer(failed, Output(values.copy(), frozenset()), seen, 0)
    # A mask (or a sign) repeats by coincidence: no claim.
    mask = (values > 0).astype(np.float32)
    assert not _earlier_answer(failed, Output(mask, frozenset()), [(a, Output(mask.copy(), frozenset()))], 0)
    # The same inputs (another transform of the same family) give the same answer by right.
    same = next(c for c in build_cases([BY_NAME["relu"]], devices=["cpu:0"], dtypes=["float32"])
                if c.family is b.family and c.transform == "eager")  # fmt: skip
    assert not _earlier_answer(failed, Output(values, frozenset()), [(same, Output(values.copy(), frozenset()))], 0)
