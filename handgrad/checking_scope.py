"""The JAX settings one `verify` or `taylor_test` call runs under, and only that call.

float64 on (every truth is autodiff in float64), float32 matrix products at full float32
precision (not TF32), and XLA's default optimizations; each restored on exit.
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
    """For this call only: float64 on, float32 matmuls at full precision, and XLA's
    default optimizations (what the user's code runs with, even where the process has
    turned them off for speed, as `configure_for_checking` does: the float32 rounding of
    a formula can differ between the two)."""
    import jax

    unoptimized = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        with x64(), jax.default_matmul_precision("highest"):
            yield
    finally:
        jax.config.update("jax_disable_most_optimizations", unoptimized)
