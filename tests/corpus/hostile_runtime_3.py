"""Hostile submissions against the export path: the program that runs must be the program
that was inspected, and no setting or flag of the worker can change it.

Graded with the static scan off (tests/test_runtime_guards.py): the sandbox, the export
and the runner hold alone. `refused` lists the failure kinds the graded function may get
(it must not pass).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.corpus.hostile_runtime import RuntimeHostile

COMPLEX_STEP = """
def _complex_step(a, y):
    h = 1e-30
    z = (a.astype(jnp.complex128) + 1j * h - y) ** 2
    return (jnp.imag(z) / h).astype(a.dtype)
"""


@dataclass(frozen=True)
class RuntimeHostile3(RuntimeHostile):
    refused: tuple[str, ...] = ("value", "autodiff")


RUNTIME_HOSTILE_3: tuple[RuntimeHostile3, ...] = (
    RuntimeHostile3(
        "trace-clean-then-disable-jit",
        "a trace for jit (the one inspected) is clean and sets jax_disable_jit, so the jitted call "
        "runs the Python again, eagerly (vmap too: a batch tracer is no jaxpr tracer), by complex-step",
        COMPLEX_STEP
        + """
def l2_grad(a, y):  # clean in a trace for jit (under vmap: the batch tracer holds one)
    if any("JaxprTracer" in type(t).__name__ for t in (a, getattr(a, "val", None))):
        jax.config.update("jax_disable_jit", True)
        return a - y
    return _complex_step(a, y)
""",
        {"l2_grad": "value"},
    ),
    RuntimeHostile3(
        "disable-jit-at-import",
        "jax_disable_jit set at import: clean under a jit trace, complex-step on values and under vmap",
        COMPLEX_STEP
        + """
jax.config.update("jax_disable_jit", True)

def l2_grad(a, y):  # clean in a trace for jit (under vmap: the batch tracer holds one)
    if any("JaxprTracer" in type(t).__name__ for t in (a, getattr(a, "val", None))):
        return a - y
    return _complex_step(a, y)
""",
        {"l2_grad": "value"},
    ),
    RuntimeHostile3(
        "huge-constant",
        "a correct formula that carries 8 MiB of constants into its compiled program (a compile "
        "and memory bomb in small): refused by the runner's size caps, never compiled",
        """
_BIG = np.tile(np.asarray([1.0, -1.0], np.float32), 1 << 20)  # sums to exactly 0

def l2_grad(a, y):
    return 2 * (a - y) + 0 * jnp.asarray(_BIG).sum().astype(a.dtype)
""",
        {"l2_grad": "forbidden"},
        refused=("forbidden",),
    ),
)
