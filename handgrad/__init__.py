"""handgrad: check hand-written gradients against JAX's automatic differentiation."""

__version__ = "0.1.0"

import jax as _jax

# The checker compares float64 formulas and computes every truth in float64.
_jax.config.update("jax_enable_x64", True)


def configure_for_checking() -> None:
    """Settings for checking (not for benchmarking): XLA spends far less time
    optimising the thousands of tiny programs a check compiles (about 2x faster
    overall). Results stay IEEE-correct; only fusion and scheduling change."""
    _jax.config.update("jax_disable_most_optimizations", True)
