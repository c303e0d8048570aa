"""Hostile submissions that change JAX's configuration in the worker (issue 17, class 3):
the program that then runs is not the program that was inspected (`jax_disable_jit` runs a
jit cell eagerly, op by op; the precision, promotion and PRNG options change what each cell
computes; the checking options change what is raised). Each sets one option that the scan
allowed before, at import or inside a graded function. The two options a correct formula
plausibly sets (`jax_enable_x64`, `jax_platform_name`) stay allowed
(tests/corpus/hostile_static_2.py, CLEAN "config-and-debug-printing").
"""

from __future__ import annotations

from tests.corpus.hostile_static import Hostile, h

_REFUSED = (
    ("jax_disable_jit", "True"),
    ("jax_debug_nans", "True"),
    ("jax_debug_infs", "True"),
    ("jax_enable_checks", "True"),
    ("jax_default_matmul_precision", '"highest"'),
    ("jax_numpy_rank_promotion", '"allow"'),
    ("jax_numpy_dtype_promotion", '"strict"'),
    ("jax_platforms", '"cpu"'),
    ("jax_traceback_filtering", '"off"'),
    ("jax_default_prng_impl", '"rbg"'),
    ("jax_threefry_partitionable", "False"),
)


def _at_import(option: str, value: str) -> Hostile:
    return h(
        f"config-{option}-at-import",
        f"sets {option} when the module is imported, before any cell is inspected",
        f"""
        jax.config.update("{option}", {value})  # <-
        """,
        "system",
        f"`jax.config.update` of '{option}' is not allowed",
    )


def _in_a_function(option: str, value: str) -> Hostile:
    return h(
        f"config-{option}-in-l2-grad",
        f"sets {option} inside a graded function, after the first cell was inspected",
        f"""
        def l2_grad(a, y):
            jax.config.update("{option}", {value})  # <-
            return 2 * (a - y)
        """,
        "system",
        f"`jax.config.update` of '{option}' is not allowed",
        refused=("l2_grad",),
    )


_X64_OFF = "may only turn float64 on (True)"

HOSTILE: tuple[Hostile, ...] = (
    *(_at_import(o, v) for o, v in _REFUSED),
    *(_in_a_function(o, v) for o, v in _REFUSED[:9]),
    # x64 is allowed on (a correct file may set it); off, every float64 check failed with the
    # grader's own export error quoted and a hint about hard-coded dtypes (a red team, 2026-12-07).
    h(
        "config-x64-off-at-import",
        "turns float64 off when the module is imported",
        """
        jax.config.update("jax_enable_x64", False)  # <-
        """,
        "system",
        _X64_OFF,
    ),
    h(
        "config-x64-off-in-l2-grad",
        "turns float64 off inside a graded function",
        """
        def l2_grad(a, y):
            jax.config.update("jax_enable_x64", 0)  # <-
            return 2 * (a - y)
        """,
        "system",
        _X64_OFF,
        refused=("l2_grad",),
    ),
    h(
        "config-x64-computed",
        "sets float64 from a computed value",
        """
        OFF = 1 > 2
        jax.config.update("jax_enable_x64", OFF)  # <-
        """,
        "system",
        _X64_OFF,
    ),
)
