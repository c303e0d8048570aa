"""docs/contract.md is the students' contract: its table is the catalog's, word for word."""

from __future__ import annotations

import re
from pathlib import Path

from handgrad.starter import contract_table
from reference.catalog import CATALOG

DOC = Path(__file__).resolve().parents[1] / "docs" / "contract.md"


def _block(text: str) -> str:
    found = re.search(r"<!-- catalog:begin[^>]*-->\n(.*?)<!-- catalog:end -->", text, flags=re.S)
    assert found, "docs/contract.md lost its catalog:begin/end markers"
    return found.group(1)


def test_the_table_is_the_catalogs() -> None:
    assert _block(DOC.read_text(encoding="utf-8")) == contract_table(), (
        "docs/contract.md and the catalog disagree: paste handgrad.starter.contract_table() between the markers"
    )


def test_every_function_signature_kink_and_stability_family_is_in_the_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    for e in CATALOG:
        assert f"`{e.signature}`" in text
        row = next(line for line in text.splitlines() if line.startswith(f"| `{e.signature}`"))
        if e.kink is not None:
            assert "convention is 0" in row
        stated = {part.strip().split(" (")[0] for part in row.split(" | ")[-1].rstrip(" |").split(";")}
        assert stated == ({f.name for f in e.families if f.tier == "stability"} or {"ordinary inputs only"}), e.name
    assert "bfloat16, float16, float32, float64" in text


def test_the_errata_and_the_tiers_are_stated() -> None:
    text = DOC.read_text(encoding="utf-8")
    errata = text.split("## Seed errata", 1)[1]
    assert [int(n) for n in re.findall(r"^(\d)\. ", errata, flags=re.M)] == [1, 2, 3, 4, 5, 6]
    for tier in ("**derivation**", "**stability**", "**extreme**"):
        assert tier in text


def test_a_changed_catalog_would_be_caught() -> None:
    # The check above can fail: a table generated without one function differs.
    assert _block(DOC.read_text(encoding="utf-8")) != contract_table(CATALOG[1:])
