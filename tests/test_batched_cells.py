"""A function's jit and vmap cells run as one program, and its eager cells as another
(evaluate.export_cells, runner rounds, SubmissionEvaluator.prepare): the same values as cell
by cell, one trace and one compile per program, and a failure still told as its own cell's."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

import handwritten
from handgrad.cases import build_cases, case_inputs
from handgrad.evaluate import evaluate, export_cells
from handgrad.grading import pool, runner
from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits
from reference.catalog import BY_NAME

FAST = Limits(timeout=8.0, memory=3 << 30, startup=60.0)


def _cells(name: str, seed: int = 3) -> list[dict[str, Any]]:
    entry = BY_NAME[name]
    out = []
    for case in build_cases([entry], devices=["cpu:0"]):
        if case.transform == "eager":
            continue
        inputs = case_inputs(case, seed)
        out.append(
            {
                "transform": case.transform,
                "device": "cpu:0",
                "args": inputs.args,
                "kwargs": dict(inputs.kwargs),
                "vmap_axes": entry.vmap_axes,
            }
        )
    return out


@pytest.mark.parametrize("name", ["softmax_vjp", "huber_grad", "two_layer_grads"])
def test_one_program_gives_each_cells_own_value(name: str) -> None:
    """Rounds of one program, each cell's inputs in its slot, give what each cell gives run
    alone (same shapes share a slot; the second round holds the next family of each)."""
    cells = _cells(name)
    fn = getattr(handwritten, name)
    slots: dict[Any, list[dict[str, Any]]] = {}
    for cell in cells:
        shapes = str(jax.tree.map(lambda a: (np.shape(a), np.asarray(a).dtype.name), cell["args"]))
        slots.setdefault((cell["transform"], shapes, repr(cell["kwargs"])), []).append(cell)
    keys = list(slots)
    program = np.frombuffer(export_cells(fn, [slots[k][0] for k in keys]), np.uint8)
    rounds = [[list(slots[k][min(r, len(slots[k]) - 1)]["args"]) for k in keys] for r in range(2)]
    reply = runner.answer({"program": program, "rounds": rounds, "device": "cpu:0"})
    assert reply["ok"], reply
    assert len(reply["values"]) == 2 * len(keys)
    for r in range(2):
        for i, k in enumerate(keys):
            cell = slots[k][min(r, len(slots[k]) - 1)]
            alone = evaluate(fn, **cell).value
            got = reply["values"][r * len(keys) + i]
            for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(got), strict=True):
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-2, atol=1e-6)


def test_runner_refuses_a_malformed_round() -> None:
    program = np.frombuffer(export_cells(handwritten.relu, _cells("relu")[:1]), np.uint8)
    assert runner.answer({"program": program, "rounds": "x"})["kind"] == "protocol"
    assert runner.answer({"program": program, "rounds": [[[np.ones(3, np.float32)]]]})["kind"] == "exception"


EAGER_SHAPES: set[tuple[tuple[int, ...], ...]] = set()
"""The input shapes of the eager calls _counting saw."""


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the grader's requests by kind: a whole function's cells, one cell's program,
    a runner round set, a runner single run, an eager call."""
    counts = {"cells": 0, "export": 0, "rounds": 0, "run": 0, "eager": 0}
    EAGER_SHAPES.clear()
    original = pool.Worker.call

    def call(self: Any, request: Any, timeout: float, max_bytes: int, check: Any) -> Any:
        if "cells" in request:
            counts["cells"] += 1
        elif "rounds" in request:
            counts["rounds"] += 1
        elif "program" in request:
            counts["run"] += 1
        elif request["transform"] == "eager":
            counts["eager"] += 1
            EAGER_SHAPES.add(tuple(np.shape(a) for a in request["args"]))
        else:
            counts["export"] += 1
        return original(self, request, timeout, max_bytes, check)

    monkeypatch.setattr(pool.Worker, "call", call)
    return counts


def test_a_correct_function_is_traced_and_compiled_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "submission.py"
    path.write_text(
        "import jax.numpy as jnp\n\ndef l1(pred, target):\n    return jnp.sum(jnp.abs(pred - target), axis=-1)\n"
    )
    counts = _counting(monkeypatch)
    result = grade(path, Options(insecure=True, functions=("l1",), seed=5, limits=FAST)).functions[0]
    assert result.passed, result.feedback
    # Two programs (jit and vmap cells; eager cells one operation at a time), each run in rounds
    # by the runner; in the worker, only the first check, its repeat at the end, the same check
    # on inputs drawn anew (grader._fresh_draw) and one check of each other dtype and tier
    # that costs marks (grader._concrete_checks: 4 dtypes x 2 tiers, less the first's), and one
    # check of each input shape none of those had, run eagerly.
    cases = build_cases([BY_NAME["l1"]], devices=["cpu:0"])
    tiers = {(c.dtype, c.family.tier) for c in cases}
    assert len(tiers) == 8 and {t for _, t in tiers} == {"derivation", "stability"}
    shapes = {tuple(np.shape(a) for a in case_inputs(c, 5).args) for c in cases if c.transform == "eager"}
    assert EAGER_SHAPES == shapes and len(shapes) > 2
    eager = counts.pop("eager")
    assert counts == {"cells": 2, "export": 0, "rounds": 2, "run": 0}
    assert 3 + 7 <= eager <= 3 + 7 + len(shapes) - 1


def test_a_cell_whose_trace_fails_is_told_as_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sigmoid that cannot be traced for 3-d inputs: the whole-function program cannot be
    made, so each cell asks alone; exactly the jit and vmap cells of 3-d inputs fail, with the
    student's own error, and every other cell passes."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import jax.numpy as jnp\n\n"
        "def sigmoid(x):\n"
        "    if x.ndim == 3 and x.sum() > -1e30:  # Python control flow on a value: eager only\n"
        "        return 0.5 * (1 + jnp.tanh(0.5 * x))\n"
        "    return 0.5 * (1 + jnp.tanh(0.5 * x))\n"
    )
    counts = _counting(monkeypatch)
    result = grade(path, Options(insecure=True, functions=("sigmoid",), seed=5, limits=FAST)).functions[0]
    three_d = 0
    for case in build_cases([BY_NAME["sigmoid"]], devices=["cpu:0"]):
        ndim = np.ndim(case_inputs(case, 5).args[0]) - (case.transform == "vmap")
        three_d += case.transform != "eager" and ndim == 3
    assert three_d > 0 and result.failed == three_d, result.feedback
    assert "bool" in result.feedback  # JAX's own words on a traced value in an if
    # Neither program can be made (the eager one is traced too), so every cell asks alone.
    assert counts["cells"] == 2 and counts["rounds"] == 0 and counts["export"] > 0


def test_a_functions_programs_do_not_depend_on_the_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed orders the checks and picks the first one (a real eager call in the worker),
    but not the programs: their slots cover every check in a fixed order, so the runner's
    compilation cache finds them again whatever the seed. sigmoid under seeds 5, 6 and 7 has
    a check whose shape no other check shares first under one seed and not under another."""
    path = tmp_path / "submission.py"
    path.write_text("import jax.numpy as jnp\n\ndef sigmoid(x):\n    return 0.5 * (1 + jnp.tanh(0.5 * x))\n")
    sent: list[str] = []
    original = pool.Worker.call

    def call(self: Any, request: Any, timeout: float, max_bytes: int, check: Any) -> Any:
        if "rounds" in request:
            sent.append(hashlib.sha256(request["program"].tobytes()).hexdigest())
        return original(self, request, timeout, max_bytes, check)

    monkeypatch.setattr(pool.Worker, "call", call)
    programs = []
    for seed in (5, 6, 7):
        sent.clear()
        result = grade(path, Options(insecure=True, functions=("sigmoid",), seed=seed, limits=FAST)).functions[0]
        assert result.passed, result.feedback
        programs.append(sorted(sent))
    assert len(programs[0]) == 2 and programs[0] == programs[1] == programs[2]
