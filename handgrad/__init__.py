"""handgrad: check hand-written gradients against JAX's automatic differentiation."""

__version__ = "0.1.0"

import mmap as _mmap
import os as _os
from pathlib import Path as _Path

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
    - XLA:CPU's loop emitters instead of its newer fusion emitters (`XLA_FLAGS`
      `--xla_cpu_use_fusion_emitters=false`): they compile the tiny programs of a check
      ~1.8x faster (the 352 eager cells of `handgrad check`: 14.5 s -> 8.2 s; one graded
      submission: 52 -> 30 CPU seconds). Set through the environment, so it takes effect
      in this process only if its backend has not started yet, and always in the
      grader's workers. Only where this jaxlib knows the flag: XLA aborts the whole
      process on an unknown one.
    """
    _jax.config.update("jax_disable_most_optimizations", True)
    _jax.config.update("jax_default_matmul_precision", "highest")
    flags = _os.environ.get("XLA_FLAGS", "")
    if _FAST_COMPILE_FLAG.split("=")[0] not in flags and _xla_knows(_FAST_COMPILE_FLAG):
        _os.environ["XLA_FLAGS"] = f"{flags} {_FAST_COMPILE_FLAG}".strip()


_FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"


def _xla_knows(flag: str) -> bool:
    """Whether this jaxlib's XLA defines `flag` (its name appears in one of jaxlib's libraries)."""
    import jaxlib

    name = flag.lstrip("-").split("=")[0].encode()
    for library in sorted(_Path(jaxlib.__file__).parent.glob("*.so")):
        try:
            with open(library, "rb") as f, _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) as m:
                if m.find(name) != -1:
                    return True
        except (OSError, ValueError):  # unreadable, or empty (mmap refuses a 0-byte file)
            continue
    return False
