"""handgrad.clear_caches(): what a long-lived process calls to give back every compiled
program handgrad and JAX keep (each holds memory maps; XLA aborts a process at the kernel's
vm.max_map_count, as one of the suite's own processes once was)."""

from __future__ import annotations

import numpy as np

import handgrad
from handgrad.cases import build_cases, expected
from handgrad.evaluate import evaluate
from handwritten import sigmoid_grad
from reference.catalog import BY_NAME


def _maps() -> int:
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")


def _sixty_programs() -> list[np.ndarray]:
    """sigmoid_grad under jit at 60 lengths: one compiled program each."""
    return [
        evaluate(
            sigmoid_grad, transform="jit", device="cpu:0", args=(np.linspace(-3.0, 3.0, n),), kwargs={}, vmap_axes=(0,)
        ).value
        for n in range(3, 63)
    ]


def test_clear_caches_gives_back_the_compiled_programs_and_answers_stay_the_same() -> None:
    first = _sixty_programs()
    case = build_cases([BY_NAME["sigmoid_grad"]], dtypes=["float32"], transforms=["jit"], devices=["cpu:0"])[0]
    truth = expected(case)
    held = _maps()
    handgrad.clear_caches()
    assert _maps() < held - 100  # three maps or so per program
    assert all(np.array_equal(a, b) for a, b in zip(first, _sixty_programs(), strict=True))
    assert np.array_equal(expected(case), truth)
