"""A grading worker has no automatic differentiation (worker.switch_off_differentiation).

The scan keeps autodiff out; the worker's hooks only watch, and code that got past the scan
undid them (tests/corpus/hostile_autodiff.py). So the worker drops JAX's differentiation
rules before it imports a submission. These tests check both sides: every way in gets no
value and is told as autodiff, and every formula a student may write computes exactly what
it computed before (the switch must not cost a right answer its marks)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from handgrad.grading import sandbox
from handgrad.scan import scan_path
from tests.corpus.hostile import Hostile
from tests.corpus.hostile_autodiff import HOSTILE_AUTODIFF
from tests.test_grader import runtime_kinds

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("hostile", HOSTILE_AUTODIFF, ids=lambda h: h.id)
def test_the_scan_refuses_each_first(hostile: Hostile, tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text(hostile.module_text)
    found = scan_path(path, hostile.graded)
    assert {name for name in hostile.graded if found[name]} == set(hostile.fails)


@pytest.mark.parametrize("hostile", HOSTILE_AUTODIFF, ids=lambda h: h.id)
def test_autodiff_past_the_hooks_gets_no_value_and_is_told(hostile: Hostile, tmp_path: Path) -> None:
    if not sandbox.detect().full:
        pytest.skip("no sandbox here (neither root nor user namespaces): the scan bypassed needs one")
    expected = hostile.runtime_sealed if hostile.runtime_sealed is not None else hostile.runtime
    assert runtime_kinds(hostile, tmp_path) == expected


ENTRY_POINTS = """
import jax, jax.numpy as jnp, numpy as np
x = np.linspace(-2.0, 2.0, 6)
ways = {
    "grad": lambda: jax.grad(jnp.sin)(1.0),
    "jvp of a custom_jvp": lambda: jax.jvp(jax.nn.relu, (x,), (x,)),
    "jacfwd": lambda: jax.jacfwd(jax.nn.softmax)(x),
    "jacrev": lambda: jax.jacrev(jnp.tanh)(x),
    "vjp": lambda: jax.vjp(jnp.sin, x)[1](x),
    "linearize": lambda: jax.linearize(jnp.sin, x),
    "linear_transpose": lambda: jax.linear_transpose(lambda v: 2 * v, x)(x),
    "hessian": lambda: jax.hessian(lambda v: jnp.sum(v ** 2))(x),
    "grad of a custom_vjp": lambda: jax.grad(lambda v: jnp.sum(jax.nn.relu(v)))(x),
    "jet": lambda: __import__("jax.experimental.jet", fromlist=["jet"]).jet,
}
from handgrad.grading import worker
marks = []
worker.switch_off_differentiation(lambda: marks.append(1))
for name, way in ways.items():
    before = len(marks)
    try:
        way()
        print(name, "gave a value")
    except (NotImplementedError, AttributeError, ImportError):
        print(name, "refused", "told" if len(marks) > before else "untold")
"""


def test_every_entry_point_of_autodiff_is_refused_and_told() -> None:
    out = subprocess.run([sys.executable, "-c", ENTRY_POINTS], capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and len(lines) == 10, out.stdout + out.stderr
    assert all(line.endswith("refused told") for line in lines), out.stdout


SAME_VALUES = """
import sys
import jax
import numpy as np
import handgrad, handwritten
from handgrad.cases import build_cases, case_inputs
from handgrad.evaluate import evaluate, forget_all
from handgrad.grading import worker
from reference.catalog import BY_NAME
from reference.keywords import call_keywords
from tests.corpus.correct_forms import CORRECT_FORMS
from tests.corpus.correct_forms_2 import CORRECT_FORMS_2

handgrad.configure_for_checking()
formulas = [(name, getattr(handwritten, name)) for name in BY_NAME]
formulas += [(f.function, f.namespace()[f.function]) for f in (*CORRECT_FORMS, *CORRECT_FORMS_2)]
calls = []
for name, fn in formulas:
    family = BY_NAME[name].families[1].name  # (more than one number)
    for case in build_cases([BY_NAME[name]], dtypes=["float32"], devices=["cpu:0"], families=[family]):
        inputs = case_inputs(case)
        kwargs = call_keywords(name, inputs.kwargs, case.family.by_position)
        calls.append((fn, dict(transform=case.transform, device="cpu:0", args=inputs.args, kwargs=kwargs,
                               vmap_axes=case.entry.vmap_axes)))


def values():
    return [jax.tree.leaves(evaluate(fn, **call).value) for fn, call in calls]


before = values()
forget_all()
jax.clear_caches()
worker.switch_off_differentiation(lambda: sys.exit("differentiated"))
after = values()
assert len(before) == len(after) > 200, len(before)
same = lambda b, a: all(np.array_equal(p, q, equal_nan=True) for p, q in zip(b, a, strict=True))
changed = [i for i, (b, a) in enumerate(zip(before, after)) if not same(b, a)]
print("calls", len(before), "changed", changed)
"""


def test_every_formula_computes_the_same_without_differentiation() -> None:
    """Every shipped formula and every correct unusual form of the corpus (jax.nn's custom_jvp
    functions, logsumexp, vectorize, lax control flow...), eager, jit and vmap, gives the same
    bits with JAX's differentiation switched off, traced anew after it."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SAME_VALUES)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split()[-2:] == ["changed", "[]"], out.stdout
    assert int(out.stdout.split()[1]) > 200
