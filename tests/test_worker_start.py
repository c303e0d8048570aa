"""What a worker and a runner import must be imported before they seal themselves.

A worker imports JAX, preloads what JAX would import only once it runs something
(worker.preload: LAPACK's kernels, MLIR dialects), starts the backend and compiles once
(worker.warm_up), and only then seals itself into a root it reads as another uid. An import
after that is read from the sealed root as that uid (where the grader's virtual environment
is private, it fails) and is charged to the student's call. So every path a worker or runner
takes while grading must import nothing new: eager, jit and vmap cells on every device,
one program for many cells (evaluate.export_cells), running and refusing programs, a failing
call's description, and a formula that lowers to LAPACK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, sys
import handgrad
from handgrad.evaluate import evaluate
from handgrad.grading import worker
handgrad.configure_for_checking()
worker.preload()
worker.warm_up(evaluate)
import jax.numpy as jnp, numpy as np
import handwritten
from handgrad.cases import build_cases, case_inputs
from handgrad.evaluate import available_devices
from handgrad.grading import runner
from handgrad.grading.plan import Plan
from reference.catalog import BY_NAME

def solve(x):  # LAPACK: JAX loads its kernels where the first such program is lowered
    a = jnp.eye(x.shape[-1], dtype=x.dtype) * 2 + x[..., None, :] * 0
    return jnp.linalg.solve(a, x[..., None])[..., 0]

def call(case):
    drawn = case_inputs(case, 1)
    return dict(transform=case.transform, device=case.device, args=drawn.args, kwargs=dict(drawn.kwargs),
                vmap_axes=case.entry.vmap_axes)

functions, calls = {"solve": solve}, {}
for name in ("relu_grad", "softmax_vjp", "two_layer_grads"):  # elementwise, last axis, a dict of matrices
    entry = BY_NAME[name]
    functions[name] = getattr(handwritten, name)
    first = [entry.families[0].name]
    calls[name] = [call(c) for c in build_cases([entry], devices=available_devices(), families=first)]
x = np.ones((2, 3), np.float32)
calls["solve"] = [dict(transform=t, device=d, args=(x,), kwargs={}, vmap_axes=(0,))
                  for t in ("eager", "jit", "vmap") for d in available_devices()]

programs, before = [], set(sys.modules)
for name, fn in functions.items():
    for one in calls[name]:
        reply = worker.reply_to(fn, one, str)
        assert reply["ok"], reply
        if "program" in reply:
            programs.append((reply["program"].tobytes(), [one["args"]], one["device"], False))
    for eager in (False, True):
        wanted = [(c, True) for c in calls[name] if c["device"] != "sharded" and (c["transform"] == "eager") == eager]
        plan = Plan.of(name, wanted)
        reply = worker.reply_to(fn, {"cells": plan.cells}, str)
        assert reply["ok"], reply
        rounds = [tuple(tuple(c["args"]) for c in row) for row in plan.rounds]
        programs.append((reply["program"].tobytes(), rounds, wanted[0][0]["device"], eager))
    assert not worker.reply_to(fn, dict(calls[name][0], args=()), str)["ok"]  # a failing call, described
by_worker = sorted(set(sys.modules) - before)

# What the worker imported stays imported here, and a runner's warm-up imports at least what a
# worker's does, so what the runner's paths import below, a runner would import after its seal.
before, refused = set(sys.modules), 0
for blob, rounds, device, eager in programs:
    for args in rounds:
        try:
            runner.run(blob, args, device, eager)
        except runner.Refused:
            refused += 1
print("SEEN" + json.dumps({"worker": by_worker, "runner": sorted(set(sys.modules) - before), "refused": refused}))
"""


def imported_after_warm_up(preload: bool = True) -> dict[str, object]:
    code = SCRIPT if preload else SCRIPT.replace("worker.preload()", "pass")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.split("SEEN", 1)[1]))


def test_nothing_is_imported_after_a_worker_or_runner_has_warmed_up() -> None:
    seen = imported_after_warm_up()
    assert seen["worker"] == [] and seen["runner"] == []
    assert seen["refused"] > 0  # (solve's programs hold an index type: the refusal imports nothing either)


def test_without_preload_a_formula_that_lowers_to_lapack_imports_scipy_while_graded() -> None:
    # The check above can fail: the warm-up alone leaves LAPACK's kernels to the first call.
    seen = imported_after_warm_up(preload=False)
    assert "scipy.linalg.cython_blas" in seen["worker"]


BLAS = r"""
import ctypes, json, os
import numpy, scipy.linalg.cython_blas
from handgrad.grading import worker
worker.blas_threads(2)
sizes = {}
for path in {line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.rsplit("/", 1)[-1]}:
    library = ctypes.CDLL(path)
    for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                 "openblas_get_num_threads64_", "openblas_get_num_threads"):
        if hasattr(library, name):
            sizes[os.path.basename(path)] = getattr(library, name)()
            break
print("SIZES" + json.dumps(sizes))
"""


def test_a_forked_worker_sizes_every_openblas_the_zygote_loaded_with_one_thread() -> None:
    # numpy's and scipy's wheels each bundle one; the zygote loads both with one thread.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", BLAS], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sizes = json.loads(proc.stdout.split("SIZES", 1)[1])
    assert sizes and set(sizes.values()) == {2}, sizes
