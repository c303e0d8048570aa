"""handgrad: check hand-written gradients against JAX's automatic differentiation."""

__version__ = "0.1.0"

import jax as _jax

# The checker compares float64 formulas and computes every truth in float64.
_jax.config.update("jax_enable_x64", True)


def configure_for_checking() -> None:
    """Settings for checking (not for benchmarking).

    - XLA spends far less time optimising the thousands of tiny programs a check
      compiles (about 2x faster overall). Results stay IEEE-correct; only fusion and
      scheduling change.
    - float32 matrix products at full float32 precision. On NVIDIA GPUs since Ampere,
      JAX's default runs them on TF32 tensor cores (10-bit mantissa, ~1e-4 relative
      error): seen on an H200, where the batched network gradients then missed the
      float32 tolerance by 10x. That is the hardware's rounding mode, not the
      derivation, so a check must not depend on it. Formulas imported elsewhere keep
      JAX's default, as the user's own matmuls do.
    """
    _jax.config.update("jax_disable_most_optimizations", True)
    _jax.config.update("jax_default_matmul_precision", "highest")
