"""handgrad: check hand-written gradients against JAX's automatic differentiation.

Importing handgrad changes nothing in JAX's configuration: checking code calls
`configure_for_checking()` (the command line, the grader's workers, the test suite do).
"""

from __future__ import annotations

import os as _os

__version__ = "0.1.0"
"""The one version string (pyproject.toml reads it from here)."""

__all__ = [
    "Report",
    "TaylorResult",
    "assert_gradient",
    "clear_caches",
    "configure_for_checking",
    "taylor_test",
    "verify",
]

_CHECKING_API = {
    "Report": "handgrad.report",
    "TaylorResult": "handgrad.taylor",
    "assert_gradient": "handgrad.verification",
    "taylor_test": "handgrad.taylor",
    "verify": "handgrad.verification",
}
"""Each name of the checking API and the module that holds it."""


def __getattr__(name: str) -> object:
    # The checking API loads JAX; `import handgrad` (the command line's first step) does not.
    if name in _CHECKING_API:
        import importlib

        return getattr(importlib.import_module(_CHECKING_API[name]), name)
    raise AttributeError(f"module 'handgrad' has no attribute {name!r}")


def configure_for_checking() -> None:
    """Settings for checking (not for benchmarking), set explicitly by whoever checks.

    - float64 on (`jax_enable_x64`): every truth is computed in float64 and the float64
      formulas are checked as float64.
    - XLA spends far less time optimising the thousands of tiny programs a check
      compiles (about 2x faster overall). Results stay IEEE-correct; only fusion and
      scheduling change.
    - float32 matrix products at full float32 precision. On NVIDIA GPUs since Ampere,
      JAX's default runs them on TF32 tensor cores (10-bit mantissa, ~1e-4 relative
      error), and the batched network gradients then miss the float32 tolerance by 10x.
      That is the hardware's rounding mode, not the derivation, so a check must not
      depend on it. Formulas imported elsewhere keep JAX's default, as the user's own
      matmuls do.
    - XLA:CPU flags that compile the tiny programs of a check faster (`XLA_FLAGS`,
      _FAST_COMPILE_FLAGS): its loop emitters instead of its newer fusion emitters (about
      1.8x), and each program generated as one piece instead of split for parallel
      compilation (about 30% less CPU time and 18% less wall time on the reference
      solution's 48 grading programs, 2-core machine; a check compiles many programs at
      once, so the split's threads only competed). Results stay IEEE-correct; a few
      float32 elements of a transcendental function may differ in the last place. A flag
      the user already set is kept as set. Set through the environment, so they take
      effect in this process only if its backend has not started yet, and always in the
      grader's workers. Only where this jaxlib knows them: XLA aborts the whole process
      on an unknown flag (see _FAST_COMPILE_JAXLIB).
    - Each thread reuses one MLIR context for its lowerings instead of JAX's new one per
      program (handgrad/mlir_contexts.py: about a fifth of an in-process grade's time).
      Programs are the same; only where this JAX makes its contexts as expected.
    """
    import jax

    from handgrad import mlir_contexts

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_disable_most_optimizations", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    mlir_contexts.reuse()
    if not _jaxlib_takes_fast_compile_flags():
        return
    flags = _os.environ.get("XLA_FLAGS", "")
    for flag in _FAST_COMPILE_FLAGS:
        if flag.split("=")[0] not in flags:
            flags = f"{flags} {flag}".strip()
    _os.environ["XLA_FLAGS"] = flags


_FAST_COMPILE_FLAGS = ("--xla_cpu_use_fusion_emitters=false", "--xla_cpu_parallel_codegen_split_count=1")
_FAST_COMPILE_JAXLIB = ("0.10.",)
"""jaxlib versions whose XLA takes every flag of _FAST_COMPILE_FLAGS: seen on 0.10.2. jaxlib
0.11.2 no longer defines the first and aborts any process that passes it (its name still
appears inside the library, so looking for the name is no test); elsewhere checks run with
XLA's defaults."""


def _jaxlib_takes_fast_compile_flags() -> bool:
    import jaxlib

    return jaxlib.__version__.startswith(_FAST_COMPILE_JAXLIB)


def clear_caches() -> None:
    """Drop every compiled program handgrad keeps (the catalog's formulas and references
    under each transform, the grader runner's programs), then JAX's own caches
    (`jax.clear_caches`). Everything is compiled again when next needed.

    For a long-lived process that checks a great many functions: each compiled program
    holds memory maps, and XLA aborts a process that reaches the kernel's
    `vm.max_map_count` (65530 by default). handgrad.verify already keeps nothing of the
    functions it checked once their report is dropped; the test suite calls this when its
    processes come near the limit (conftest.py)."""
    import sys

    evaluate, cases, runner = (sys.modules.get(f"handgrad.{m}") for m in ("evaluate", "cases", "grading.runner"))
    if evaluate is not None:
        evaluate.forget_all()
    if cases is not None:
        cases.forget_all()
    if runner is not None:
        runner.forget_all()
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
