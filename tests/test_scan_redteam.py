"""The allowlist check against the second hostile corpus (tests/corpus/hostile_static_2.py):
each attack is refused on its marked line with its rule, only where it should be, and the
correct but unusual submissions beside them still pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.scan import scan_path
from reference.catalog import NAMES
from tests.corpus.hostile_static import HOSTILE as FIRST_HOSTILE
from tests.corpus.hostile_static_2 import BOTH, CLEAN, HOSTILE, Hostile, Submission


def test_corpus_is_large_and_new() -> None:
    ids = [s.id for s in (*HOSTILE, *CLEAN)]
    assert len(HOSTILE) >= 6 and len(set(ids)) == len(ids)
    assert not set(ids) & {s.id for s in FIRST_HOSTILE}


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: s.id)
def test_hostile_submission_is_refused_on_its_line_with_its_rule(hostile: Hostile, tmp_path: Path) -> None:
    found = scan_path(hostile.write(tmp_path), BOTH)
    for name in BOTH:
        assert bool(found[name]) == (name in hostile.refused), (name, [str(f) for f in found[name]])
    file, line = hostile.marked()
    there = [f for f in found[hostile.refused[0]] if (f.file, f.line) == (file, line)]
    assert any(f.kind == hostile.kind and hostile.rule in f.what for f in there), [
        str(f) for f in found[hostile.refused[0]]
    ]


@pytest.mark.parametrize("clean", CLEAN, ids=lambda s: s.id)
def test_unusual_correct_submission_passes(clean: Submission, tmp_path: Path) -> None:
    found = scan_path(clean.write(tmp_path), NAMES)
    assert {name: [str(f) for f in fs] for name, fs in found.items() if fs} == {}
    defined = [n for n in NAMES if any(f"def {n}(" in clean.text(file) for file in clean.files)]
    assert defined
