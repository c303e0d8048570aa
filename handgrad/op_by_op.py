"""A function's eager behaviour as one program: each operation its own step.

Called eagerly, a JAX function runs one operation at a time: each `jnp` call is compiled and
run on its own and its result rounded to its dtype before the next starts. Under `jax.jit`
XLA sees the whole function and may rewrite it: `log(exp(x))` becomes `x` (so a form that
overflows eagerly passes under jit), and a bfloat16 or float16 chain may keep float32
intermediates (excess precision). The eager cells of the matrix exist to see the first
behaviour, but running them eagerly compiles every operation for every shape and dtype
anew: most of a grade's time.

`one_op_at_a_time(f, specs)` gives a function to trace under jit that computes what `f`
computes eagerly: `f` is traced once to a jaxpr, and the jaxpr is evaluated with every
top-level operation's outputs passed through `lax.optimization_barrier`, so XLA cannot
simplify across operations. Compiled with EAGER_COMPILER_OPTIONS (no excess precision),
each result is rounded to its dtype, as eagerly. What eager dispatch runs as one unit runs
as one unit here: a call of a jitted function (pjit), a loop, a cond. What it runs
operation by operation is opened: the body of a custom_jvp or custom_vjp function (jax.nn's
relu, softplus, logsumexp). Measured on the shipped formulas run without their jit (every
eager cell of the matrix): the same bits in float32 and float64 but a last-place difference
in a few tanh elements; in float16 and bfloat16, where a row is summed, differences of a few
units in the last place of the row's largest terms (XLA sums in another order inside a
program, and divides by a scalar through its reciprocal), never a different verdict
(tests/test_eager_program.py).

What it cannot reproduce: Python that behaves differently on concrete values than on
tracers. The grader runs each function's first check really eagerly in its worker (and
again at the end), so a function that does is still seen (docs/isolation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
from jax import lax
from jax.extend import core

EAGER_COMPILER_OPTIONS = {"xla_allow_excess_precision": False}
"""XLA options for compiling a program from one_op_at_a_time: every result rounded to its
dtype, as eager dispatch rounds each operation's output."""

OPENED = frozenset({"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr", "closed_call", "core_call"})
"""Primitives whose body eager dispatch runs operation by operation: evaluated step by step."""


def _body(params: dict[str, Any]) -> Any:
    """The closed jaxpr an OPENED primitive calls (its parameter name differs by primitive)."""
    for name in ("call_jaxpr", "fun_jaxpr", "jaxpr"):
        found = params.get(name)
        if found is not None:
            return found
    return None


def _evaluate(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """The jaxpr's outputs, each top-level operation behind an optimization barrier."""
    env: dict[Any, Any] = {}

    def read(atom: Any) -> Any:
        return atom.val if isinstance(atom, core.Literal) else env[atom]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        inputs = [read(v) for v in eqn.invars]
        body = _body(eqn.params) if eqn.primitive.name in OPENED else None
        if body is not None:
            closed = body if isinstance(body, core.ClosedJaxpr) else core.ClosedJaxpr(body, ())
            # (a custom rule's own inputs come last: the body takes the primal arguments)
            outputs = _evaluate(closed.jaxpr, closed.consts, inputs[len(inputs) - len(closed.jaxpr.invars) :])
        else:
            with eqn.ctx.manager:
                result = eqn.primitive.bind(*inputs, **eqn.primitive.get_bind_params(eqn.params))
            outputs = list(result) if eqn.primitive.multiple_results else [result]
        if outputs:
            outputs = list(lax.optimization_barrier(outputs))
        for var, value in zip(eqn.outvars, outputs, strict=True):
            if not isinstance(var, core.DropVar):
                env[var] = value
    return [read(v) for v in jaxpr.outvars]


def one_op_at_a_time(f: Callable[..., Any], specs: Sequence[Any]) -> Callable[..., Any]:
    """A function of arguments shaped like `specs` (a pytree of jax.ShapeDtypeStruct per
    argument) that computes f(*args) one top-level operation at a time, for tracing under
    jit (see the module's docstring). f is traced here, once; exceptions from tracing it
    propagate."""
    closed, out_shape = jax.make_jaxpr(f, return_shape=True)(*specs)
    out_tree = jax.tree.structure(out_shape)

    def eager_like(*args: Any) -> Any:
        return jax.tree.unflatten(out_tree, _evaluate(closed.jaxpr, closed.consts, jax.tree.leaves(args)))

    return eager_like
