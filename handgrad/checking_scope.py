"""The JAX settings one `verify` or `taylor_test` call runs under, and only that call.

float64 on (every truth is autodiff in float64), float32 matrix products at full float32
precision (not TF32), and most of XLA's optimizations off, as the grader and the matrix run;
each restored on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def x64() -> contextlib.AbstractContextManager[Any]:
    import jax

    ctx: Any = getattr(jax, "enable_x64", None)
    if ctx is None:  # older jax keeps it in jax.experimental
        import jax.experimental

        ctx = jax.experimental.enable_x64  # type: ignore[attr-defined,unused-ignore]
    return ctx(True)


@contextlib.contextmanager
def checking() -> Iterator[None]:
    """For this call only: float64 on, float32 matmuls at full precision, and most of XLA's
    optimizations off (`jax_disable_most_optimizations`: the backend's code generation at
    level 0, as `configure_for_checking` sets for the grader and the matrix).

    A check compiles hundreds of tiny programs and XLA:CPU's optimizing code generation is
    most of each compile: off, a verify of the docs' examples takes about 30% less time
    (docs/verify.md). What it could change is the last bit of an element (a multiply-add
    fused or not), which every allowance already covers; the truth is autodiff of the
    primal in float64, and a rule's own float32 rounding is judged against autodiff's own
    rounding compiled the same way (`OwnRounding`)."""
    import jax

    unoptimized = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    try:
        with x64(), jax.default_matmul_precision("highest"):
            yield
    finally:
        jax.config.update("jax_disable_most_optimizations", unoptimized)
