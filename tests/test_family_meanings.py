"""One family system: every input family name, the catalog's and verify's, has one row in
reference/family_meanings.py (shown in docs/families.md), and a name both draw is drawn the
same way by both."""

from __future__ import annotations

import re
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from handgrad.verify_families import ALL_FAMILIES, OVERFLOW_MAGNITUDES
from reference import families
from reference.catalog import CATALOG
from reference.family_meanings import MEANINGS, markdown_table, meaning

DOC = Path(__file__).resolve().parents[1] / "docs" / "families.md"
QUICK = dict(dtypes=["float64"], devices=["cpu:0"], transforms=["eager"])


def _verify_names() -> set[str]:
    """The names verify's families take in a report ("broadcast" is reported per argument)."""
    return {"broadcast:x" if name == "broadcast" else name for name in ALL_FAMILIES}


def test_the_doc_shows_the_table() -> None:
    found = re.search(r"<!-- families:begin[^>]*-->\n(.*?)<!-- families:end -->", DOC.read_text(), flags=re.S)
    assert found, "docs/families.md lost its families:begin/end markers"
    assert found.group(1) == markdown_table(), "paste reference.family_meanings.markdown_table() between the markers"


def test_every_name_has_one_row_and_every_row_a_name() -> None:
    catalog = {f.name for e in CATALOG for f in e.families}
    drawn = {name: {"catalog"} for name in catalog}
    for name in _verify_names():
        drawn.setdefault(name, set()).add("verify")
    for name, by in drawn.items():
        rows = [row for row in MEANINGS if row.matches(name)]
        assert len(rows) == 1, f"{name}: {len(rows)} rows"
        assert rows[0].drawn_by == ("both" if len(by) == 2 else next(iter(by))), name
    for row in MEANINGS:
        assert any(row.matches(name) for name in drawn), f"{row.name}: no family has this name"
    with pytest.raises(KeyError, match="no meaning"):
        meaning("normal-7y5")


def test_a_name_both_draw_is_drawn_by_one_function() -> None:
    """verify's wide draws every argument as the activations' wide draws x: the same values
    from the same generator, whatever the argument's shape."""
    both = [row.name for row in MEANINGS if row.drawn_by == "both"]
    assert both == ["wide"]
    for seed in range(3):
        catalog_x = families.wide().draw(np.random.default_rng(seed)).args[0]
        np.testing.assert_array_equal(catalog_x, families.wide_values(np.random.default_rng(seed), catalog_x.shape))
    x = np.ones(families.ELEMENTWISE_SHAPE)
    report = handgrad.verify(lambda x: jnp.sum(x * x), x, grad=lambda x: 2 * x, families=["wide"], **QUICK)
    assert report.ok, report
    (case,) = [r.case for r in report.results]
    drawn = case.family.draw(np.random.default_rng(7)).args[0]
    np.testing.assert_array_equal(drawn, families.wide_values(np.random.default_rng(7), x.shape))
    assert case.family.about == meaning("wide").draws


def test_verifys_overflow_family_is_not_the_catalogs_extreme() -> None:
    """The catalog's extreme is +-9 ... +-1e4 (the contract's range); verify's draw around
    ln(max) of each dtype is overflow, and the old name says where it went."""
    x = np.ones(6)
    report = handgrad.verify(lambda x: jnp.sum(x * x), x, grad=lambda x: 2 * x, families=["overflow"], **QUICK)
    (case,) = [r.case for r in report.results]
    magnitudes = np.abs(case.family.draw(np.random.default_rng(0)).args[0])
    assert set(magnitudes) <= set(OVERFLOW_MAGNITUDES) and case.family.about == meaning("overflow").draws
    assert set(np.abs(families.extreme().draw(np.random.default_rng(0)).args[0]).ravel()) <= set(
        np.abs(families.EXTREMES)
    )
    with pytest.raises(ValueError, match="'extreme' is now 'overflow'"):
        handgrad.verify(lambda x: jnp.sum(x * x), x, grad=lambda x: 2 * x, families=["extreme"], **QUICK)
