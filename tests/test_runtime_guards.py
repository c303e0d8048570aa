"""The run-time guard behind the allowlist: complex numbers in a formula's compiled program.

Complex-step differentiation (Im f(x + ih) / h) is automatic differentiation by another
name. The allowlist refuses complex literals, names and dtype codes it can see; a complex
value that exists only at run time (tests/corpus/hostile_static_2.py, RUNTIME_ONLY) passes
it. The worker inspects the very StableHLO program each jit/vmap case runs, so these lose
the function, while real code that merely looks alike keeps it.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from handgrad.evaluate import export_cell
from handgrad.grading import runner
from handgrad.grading.grader import Options, grade
from handgrad.grading.pool import Limits
from tests.corpus.hostile_runtime_3 import RUNTIME_HOSTILE_3
from tests.corpus.hostile_static_2 import RUNTIME_ONLY
from tests.corpus.mistakes import correct_source

SMALL = Limits(timeout=8.0, memory=1 << 30, startup=60.0, budget=120.0)
CALL = {"device": "cpu:0", "kwargs": {}, "vmap_axes": (0, 0)}


ARGS = (np.linspace(-1.0, 1.0, 8).reshape(2, 4), np.ones((2, 4)))


def _refusal(fn, transform: str = "jit") -> str:  # type: ignore[no-untyped-def]
    """The runner's reason for refusing fn's exported program ("" when it runs)."""
    try:
        runner.load(export_cell(fn, transform=transform, args=ARGS, **CALL))
    except runner.Refused as exc:
        return exc.kind
    return ""


def test_complex_anywhere_in_the_program_is_seen() -> None:
    def step(a, y):  # type: ignore[no-untyped-def]
        w = ((a + 1e-30 * jnp.asarray(1j)) - y) ** 2
        return (jnp.imag(w) / 1e-30).astype(a.dtype)

    assert _refusal(step) == "autodiff"
    assert _refusal(step, "vmap") == "autodiff"


def _step_by_lax_complex(a, y):  # type: ignore[no-untyped-def]
    w = (jax.lax.complex(a, jnp.full_like(a, 1e-30)) - y) ** 2
    return (jnp.imag(w) / 1e-30).astype(a.dtype)


def _step_hidden_in_eigvals(a, y):  # type: ignore[no-untyped-def]
    # A non-symmetric eigen-solve returns complex values: an intermediate the code never names.
    m = jnp.stack([a[..., :2], y[..., :2]], axis=-1)
    return jnp.real(jnp.linalg.eigvals(m)).sum() * 0 + 2 * (a - y)


@pytest.mark.parametrize("fn", [_step_by_lax_complex, _step_hidden_in_eigvals], ids=["lax-complex", "eigvals"])
def test_complex_made_without_a_complex_literal_is_seen(fn) -> None:  # type: ignore[no-untyped-def]
    assert _refusal(fn) == "autodiff"


def test_real_programs_are_not_called_complex() -> None:
    def l2_grad(a, y):  # type: ignore[no-untyped-def]
        return 2.0 * (a - y)

    assert _refusal(l2_grad) == _refusal(l2_grad, "vmap") == ""
    with pytest.raises(ValueError, match="no exported program"):
        _refusal(l2_grad, "eager")


def test_the_exported_trace_is_the_program_that_runs() -> None:
    """The function's Python runs once per shape and dtype, to export; the runner runs the
    program of that trace, whatever the function would do when called again."""
    calls = [0]

    def counted(a, y):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return a - y if calls[0] == 1 else a + y

    blob = export_cell(counted, transform="jit", args=ARGS, **CALL)
    assert calls[0] == 1, f"jax {jax.__version__} traced the function {calls[0]} times"
    assert np.array_equal(runner.run(blob, ARGS).value, ARGS[0] - ARGS[1])
    assert np.array_equal(runner.run(blob, (ARGS[1], ARGS[1])).value, np.zeros((2, 4)))
    assert calls[0] == 1


@pytest.mark.parametrize("sub", RUNTIME_ONLY, ids=lambda s: s.id)
def test_complex_step_at_run_time_loses_the_function(sub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = sub.write(tmp_path / sub.id)
    result = grade(path, Options(functions=("l2_grad",), seed=3, limits=SMALL, fail_fast=True, insecure=True))
    (l2,) = result.functions
    assert not l2.passed and l2.problem == "autodiff", l2.feedback
    assert "complex" in l2.feedback


def test_a_correct_submission_is_untouched_by_the_guard(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text(correct_source())
    result = grade(path, Options(functions=("l2_grad", "softmax_vjp"), seed=3, limits=SMALL, insecure=True))
    assert all(f.passed for f in result.functions), [f.feedback for f in result.functions]


def test_host_callbacks_are_never_exported_nor_run() -> None:
    def via_host(a, y):  # type: ignore[no-untyped-def]
        spec = jax.ShapeDtypeStruct(a.shape, a.dtype)
        return jax.pure_callback(lambda u, v: 2 * (np.asarray(u) - v), spec, a, y, vmap_method="sequential")

    def printing(a, y):  # type: ignore[no-untyped-def]
        jax.debug.print("{}", a)
        return 2 * (a - y)

    def debug_callback(a, y):  # type: ignore[no-untyped-def]
        jax.debug.callback(lambda u: None, a)
        return 2 * (a - y)

    for fn in (via_host, printing, debug_callback):
        with pytest.raises(NotImplementedError, match="host_callback"):
            export_cell(fn, transform="jit", args=ARGS, **CALL)
    with pytest.raises(runner.Refused, match="calls back into Python"):  # (a forged program holding one)
        runner.inspect("%0 = stablehlo.custom_call @xla_ffi_python_cpu_callback(%arg0)")


def test_a_host_callback_loses_the_function(tmp_path: Path) -> None:
    """numpy inside jax.pure_callback is code the grader cannot see into (complex-step in
    numpy would be invisible there): refused under jit, with the reason."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import jax\nimport numpy as np\n\n\n"
        "def l2_grad(a, y):\n"
        "    spec = jax.ShapeDtypeStruct(a.shape, a.dtype)\n"
        "    return jax.pure_callback(lambda u, v: 2 * (np.asarray(u) - v), spec, a, y, vmap_method='sequential')\n"
    )
    result = grade(path, Options(functions=("l2_grad",), seed=3, limits=SMALL, insecure=True))
    (l2,) = result.functions
    assert not l2.passed and l2.problem == "forbidden", l2.feedback
    assert "pure_callback" in l2.feedback


def test_the_scan_reads_the_copy_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file swapped at the upload path between the scan and the first worker is never run:
    the grader copies first and scans that copy."""
    from handgrad.grading import grader

    path = tmp_path / "submission.py"
    path.write_text(correct_source())
    cheat = "import jax\n\n\ndef l2_grad(a, y):\n    return jax.grad(lambda a: ((a - y) ** 2).sum())(a)\n"
    real_scan = grader._scan

    def scan_then_swap(p: Path) -> dict:  # type: ignore[type-arg]
        found = real_scan(p)
        path.write_text(cheat)  # the upload changes after the scan
        return found

    monkeypatch.setattr(grader, "_scan", scan_then_swap)
    result = grade(path, Options(functions=("l2_grad",), seed=3, limits=SMALL, insecure=True))
    (l2,) = result.functions
    assert l2.passed, l2.feedback  # the clean copy ran, not the swapped file


@pytest.mark.parametrize("hostile", RUNTIME_HOSTILE_3, ids=lambda h: h.id)
def test_what_runs_under_jit_is_the_program_inspected(hostile, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A jit or vmap cell's value comes from the exported program, run by the runner: a
    configuration flipped in the worker, or a function that behaves differently when called
    again, changes nothing the grader runs."""
    path = tmp_path / "submission.py"
    path.write_text(hostile.module_text())
    options = Options(functions=hostile.graded, seed=3, limits=SMALL, insecure=True, scan=False)
    (f,) = grade(path, options).functions
    assert not f.passed and f.problem in hostile.refused, f.feedback


def test_the_runner_refuses_programs_outside_the_policy() -> None:
    """Programs made in this (trusted) process stand for what a worker could send."""
    import numpy as np

    from handgrad.evaluate import export_cell
    from handgrad.grading import runner

    x = np.ones((2, 4), np.float32)
    call = {"transform": "jit", "device": "cpu:0", "args": (x, x), "kwargs": {}, "vmap_axes": (0, 0)}
    step = export_cell(lambda a, y: jnp.imag((a.astype(jnp.complex64) + 1e-20j - y) ** 2) / 1e-20, **call)
    with pytest.raises(runner.Refused, match="complex") as info:
        runner.load(step)
    assert info.value.kind == "autodiff"
    for n, said in (((1 << 20) + 8, "constant of shape"), (1 << 22, "larger than 8 MiB")):
        huge = export_cell(lambda a, y, n=n: a - y + jnp.asarray(np.arange(n, dtype=np.float32)).sum(), **call)
        with pytest.raises(runner.Refused, match=said):
            runner.load(huge)
    with pytest.raises(runner.Refused) as info:
        runner.load(b"not a program")
    assert info.value.kind == "protocol"
    clean = export_cell(lambda a, y: 2 * (a - y), **call)
    assert np.array_equal(runner.run(clean, (x, 3 * x)).value, -4 * x)
    for text in ('stablehlo.custom_call @xla_ffi_python_cpu_callback(%0)', '%1 = "stablehlo.infeed"(%0)',
                 'stablehlo.custom_call @lapack_sgeev(%0)'):  # fmt: skip
        with pytest.raises(runner.Refused):
            runner.inspect(text)


def test_the_runner_runs_on_the_cases_device() -> None:
    """A jit cell on cpu:1 is run there (the engine fails a result that lives elsewhere)."""
    from handgrad.evaluate import SHARDED, available_devices

    blob = export_cell(lambda a, y: 2 * (a - y), transform="jit", args=ARGS, **CALL)
    for device in [d for d in available_devices() if d.startswith("cpu:")]:
        out = runner.run(blob, ARGS, device)
        assert out.devices == {device} and np.array_equal(out.value, 2 * (ARGS[0] - ARGS[1]))
    with pytest.raises(ValueError, match="one device"):
        runner.run(blob, ARGS, SHARDED)


def test_the_dtype_producers_return_only_number_types_in_a_worker() -> None:
    # The allowlist lets a formula hand NumPy what jnp.result_type and jnp.promote_types give
    # (scan.DTYPE_PRODUCERS); in the worker they give only number types. Run in a child: the
    # switch is for the whole process.
    import subprocess
    import sys

    code = """
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from handgrad.grading.worker import numeric_dtypes_only
numeric_dtypes_only()
kept = [str(jnp.result_type(jnp.ones(2, jnp.bfloat16))), str(jnp.promote_types(jnp.float16, jnp.float32)),
        str(jnp.result_type(1.0)), str(jnp.result_type(np.int8)), str(jnp.result_type(True))]
refused = []
for spec in ["T", "complex64", "c8"]:
    try:
        jnp.result_type(spec)
    except TypeError as exc:
        refused.append(spec if "only number types" in str(exc) else str(exc))
try:
    jnp.promote_types("T", jnp.float32)
except (TypeError, ValueError):  # (JAX's own check, or the worker's)
    refused.append("promote")
print(kept, refused)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert (
        out.split() == "['bfloat16', 'float32', 'float64', 'int8', 'bool'] ['T', 'complex64', 'c8', 'promote']".split()
    )
