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
        "second-trace-differs-disable-jit",
        "the first trace (the one inspected) is clean; it then sets jax_disable_jit, so the jitted "
        "call runs the Python again, eagerly, where complex-step differentiates",
        COMPLEX_STEP
        + """
_traced = [0]

def l2_grad(a, y):
    if "Tracer" in type(a).__name__:
        _traced[0] += 1
        if _traced[0] == 1:
            jax.config.update("jax_disable_jit", True)
            return a - y
    return _complex_step(a, y)
""",
        {"l2_grad": "value"},
    ),
    RuntimeHostile3(
        "traced-clean-eager-complex",
        "clean under trace, complex-step whenever it runs on values (under jit once jit is off)",
        COMPLEX_STEP
        + """
jax.config.update("jax_disable_jit", True)

def l2_grad(a, y):
    if "Tracer" in type(a).__name__:
        return a - y
    return _complex_step(a, y)
""",
        {"l2_grad": "value"},
    ),
)
