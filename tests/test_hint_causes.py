"""Hints checked against the real cause: a table of (wrong form -> words its hint must hold,
words it must not hold). A misleading hint (a sign error told 'a term is missing', a branch
0.1% off told 'an added epsilon') fails here. The corpora's own promised hints are checked
in test_oracle; this table adds the forms whose hint was wrong, and new ones of their classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import pytest

import handwritten
from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_all
from reference.catalog import BY_NAME
from tests.corpus.mistakes import MISTAKES
from tests.corpus.mistakes_subtle import SUBTLE
from tests.corpus.mistakes_subtle_2 import SUBTLE_2

S = handwritten.sigmoid
T = jnp.tanh

# (function, wrong form, words the hint must contain, words it must not)
TABLE: list[tuple[str, Callable[..., Any], str, str]] = [
    ("tanh_grad", lambda x: 1 + T(x) * T(x), "sign", "missing"),
    ("tanh_grad", lambda x: 1 + T(x) ** 2, "sign", "missing"),
    ("sigmoid_grad", lambda x: S(x) * (1 + S(x)), "sign", "missing"),
    ("sigmoid_grad", lambda x: S(x) + S(x) ** 2, "sign", "missing"),
    ("tanh_grad", lambda x: -1 + T(x) ** 2, "sign flipped", "missing"),
    ("sigmoid_grad", lambda x: jnp.where(x < 0, 1.001, 1.0) * S(x) * (1 - S(x)), "branch", "epsilon"),
    ("sigmoid_grad", lambda x: jnp.where(x < 0, 0.999, 1.0) * S(x) * (1 - S(x)), "branch", "epsilon"),
    ("tanh_grad", lambda x: jnp.where(x < 0, 0.999, 1.0) * (1 - T(x) ** 2), "branch", "epsilon"),
]


def _first_failure(function: str, fn: Callable[..., Any]) -> Any:
    evaluator = InProcess({**vars(handwritten), function: fn})
    cases = build_cases([BY_NAME[function]], dtypes=["float64"], transforms=["eager"], devices=["cpu:0"])
    failed = [r for r in run_all(evaluator, cases) if not r.ok]
    assert failed, f"{function}: the wrong form passed"
    return failed[0]


@pytest.mark.parametrize(("function", "form", "says", "never"), TABLE, ids=lambda v: str(v)[:20])
def test_the_hint_names_the_real_cause(function: str, form: Callable[..., Any], says: str, never: str) -> None:
    failure = _first_failure(function, form)
    assert says in failure.hint and never not in failure.hint, failure.message()


SIGN_ERRORS = [m for m in (*MISTAKES, *SUBTLE, *SUBTLE_2) if m.id in ("tanh-grad-sign",)]


@pytest.mark.parametrize("mistake", SIGN_ERRORS, ids=lambda m: m.id)
def test_the_corpus_sign_errors_are_told_sign_errors(mistake: Any) -> None:
    failure = _first_failure(mistake.function, mistake.namespace()[mistake.function])
    assert "sign" in failure.hint and "missing" not in failure.hint, failure.message()


LIBRARY_FORMS: list[Callable[..., Any]] = [
    lambda x: jnp.where(x < 0, 0.999, 1.0) * jnp.sign(x),  # 0.1% off only for x < 0
    lambda x: x / (jnp.abs(x) + 1e-6),  # an added epsilon
    lambda x: -jnp.sign(x),
]


@pytest.mark.parametrize("grad", LIBRARY_FORMS, ids=range(len(LIBRARY_FORMS)))
def test_the_library_api_hints_never_speak_of_a_contract(grad: Callable[..., Any]) -> None:
    """handgrad.verify checks an engineer's own function: there is no contract to cite."""
    from handgrad import verify

    report = verify(lambda x: jnp.sum(jnp.abs(x)), jnp.linspace(-2.0, 2.0, 7), grad=grad, dtypes=["float64"])
    hints = [r.hint for r in report.results if not r.ok]
    assert hints and all(h for h in hints)
    assert not any("contract" in h for h in hints), hints
