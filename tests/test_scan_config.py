"""No configuration change reaches the worker (issue 17, class 3): every JAX option but the
two a formula plausibly sets is refused by the scan, wherever it is set
(tests/corpus/hostile_static_config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.scan import CONFIG_OPTIONS
from tests.corpus.hostile_static import Hostile
from tests.corpus.hostile_static_config import HOSTILE
from tests.test_scan_corpus import assert_refused_on_its_line


def test_only_options_that_do_not_change_the_program_are_allowed() -> None:
    assert CONFIG_OPTIONS == frozenset({"jax_enable_x64", "jax_platform_name"})
    assert len(HOSTILE) >= 20 and len({s.id for s in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: s.id)
def test_configuration_change_is_refused_on_its_line(hostile: Hostile, tmp_path: Path) -> None:
    assert_refused_on_its_line(hostile, tmp_path)
