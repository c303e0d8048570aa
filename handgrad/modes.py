"""What `handgrad.verify` checks beyond the gradient itself: `modes=` and `order=`, as in
`jax.test_util.check_grads(f, args, order, modes)`.

Let g be the formula under test: the user's gradient g(x) of a scalar f, the user's VJP g(x, c)
of any other f (c: the cotangent), or f's own custom rule (then g(x, c) = jax.vjp(f, x)[1](c),
and J(x) t = jax.jvp(f, x, t)[1] uses the rule directly for a custom_jvp). The truth is autodiff of
f's primal in float64, written f below. Every check is one target of the engine, with its own
label in the report, drawn from the same families, dtypes, transforms and devices:

    mode  order  label               formula                           truth
    rev   1      grad(f)             g(x) or g(x, c)                   the gradient, or c^T J(x)
    rev   1      primal(rule(f))     jax.vjp(f, x)[0]: the rule's      f.fun(x)
                                     primal output
    fwd   1      fwd(grad(f))        sum_i <g_i(x), t_i>               jax.jvp(f, x, t)
                                     sum_i <g_i(x, c), t_i>            <c, jax.jvp(f, x, t)>
                 fwd(rule(f))        jax.jvp(f, x, t): tangent, primal jax.jvp(f.fun, x, t)
    rev   2      vjp(grad(f))        jax.vjp(x -> g(x), x)[1](v)       the same of autodiff's gradient: H v
    fwd   2      jvp(fwd(grad(f)))   jax.jvp(x -> fwd formula, x, v)   the same of the truth: v^T H t

t (one tangent per differentiated leaf, shaped like it), c (shaped like f's output) and v (shaped
like the differentiated leaves) are drawn like the arguments: standard normal, and one-hot (one
element of each of them 1, the rest 0) in the `one-hot` family. Order 2 differentiates g itself:
a gradient right in value but built from jax.lax.stop_gradient, a rounding or a cast to an
integer, a jax.pure_callback, has the wrong derivative, and code that differentiates it (a
Newton step, a gradient penalty, meta-learning) silently gets that wrong derivative. Reverse
over g for "rev" (as check_grads' VJP of the VJP), forward over it for "fwd" (JVP of the JVP):
a custom_vjp inside g cannot be differentiated forward, a while_loop not in reverse.

Kinks: the forward checks and both checks of order 2 find theirs along the drawn direction,
in float64 (handgrad/verify_kinks.py, AlongKink): where the one-sided directional derivatives
along t of f (order 1) or along v of the truth's first-order output (order 2: the gradient,
or its JVP) differ at an element, any value between them passes there (not strict). So a
correct rule passes at Huber's |r| = delta, at abs or a relu at an exact 0, whatever
subgradient of the gradient autodiff of it picks.

The rev check of order 1 is built from handgrad/user_gradient.py (gradient_functions) by
verification.py (it is what verify always did); this module builds the others.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handgrad.user_gradient import undefined_where
from handgrad.verify_kinks import ALONG_T_RULE, ALONG_V_RULE, along_kink
from reference.kinks import Kink

if TYPE_CHECKING:
    from handgrad.arguments import Call

MODES: tuple[str, ...] = ("rev", "fwd")
ORDERS: tuple[int, ...] = (1, 2)
JVP = "jvp"
"""The output of a forward check: a directional derivative (an array shaped like f's output
for a custom_jvp rule, a scalar otherwise)."""
PRIMAL = "primal"
"""A custom rule's primal output, compared with f.fun's: in the forward check of a custom_jvp
rule, and in the primal check of any rule (rule_primal)."""


@dataclass(frozen=True)
class Extra:
    """An argument a check draws beside f's own: a cotangent, a tangent or a direction v.

    `like`: the float leaf it is shaped like (index into the float leaves), None for f's
    output. `group`: in the `one-hot` family each group is one-hot as a whole (one element of
    all its leaves together is 1)."""

    name: str
    group: str
    like: int | None


@dataclass(frozen=True)
class Check:
    """One target for verify to build: its label, formula and truth (both take the float leaves
    and then the extras, in order, and return a dict of arrays), extras, and kink rule."""

    label: str
    formula: Callable[..., Any]
    truth: Callable[..., Any]
    extras: tuple[Extra, ...]
    kink: Kink | None


def check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):  # (numpy's integers too)
        raise TypeError(f"handgrad.verify: order must be the int 1 or 2, got {order!r}")
    order = int(order)
    if order not in ORDERS:
        raise ValueError(
            f"handgrad.verify: order={order} is not checked: order=1 checks the gradient, order=2 also its "
            "derivative (the Hessian through your gradient); for higher orders, verify a gradient of your gradient"
        )
    return order


def check_modes(modes: object) -> tuple[str, ...]:
    if isinstance(modes, str):
        raise TypeError(f"handgrad.verify: modes takes a sequence of modes, e.g. modes=({modes!r},), got {modes!r}")
    if not isinstance(modes, (tuple, list)):
        raise TypeError(f"handgrad.verify: modes must be a tuple of 'rev' and/or 'fwd', got {modes!r}")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        words = ", ".join(map(repr, unknown))
        lin = " ('lin', check_grads' jax.linearize, gives the JVP 'fwd' checks: use 'fwd')" if "lin" in unknown else ""
        raise ValueError(f"handgrad.verify: unknown mode {words}; known: rev, fwd{lin}")
    if not modes:
        raise ValueError("handgrad.verify: modes is empty: give 'rev' and/or 'fwd'")
    return tuple(m for m in MODES if m in modes)


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def extras_for(call: Call, group: str, taken: set[str]) -> tuple[Extra, ...]:
    """One extra per differentiated leaf: `group` for one leaf, "group of name" for several;
    names already `taken` (the arguments') get a prime."""
    names = call.diff_names
    return tuple(
        Extra(_unique(group if len(names) == 1 else f"{group} of {n}", taken), group, i)
        for n, i in zip(names, call.argnums, strict=True)
    )


def forward(call: Call, label: str, rev: Callable[..., Any] | None, taken: set[str]) -> Check:
    """The fwd check of order 1. `rev`: the rev check's formula (the user's grad, as
    {name: gradient}); None for a custom_jvp rule, whose JVP jax.jvp(f) computes itself."""
    import jax
    import jax.numpy as jnp

    n = len(call.floats)
    contracted = rev is not None and not call.scalar  # (a VJP: <c, J t> = <g(x, c), t>)
    cotangent = (Extra(_unique("cotangent", taken), "cotangent", None),) if contracted else ()
    tangents = extras_for(call, "tangent", taken)
    k = n + len(cotangent)

    def jvp_of(fn: Callable[..., Any], truth: bool) -> Callable[..., Any]:
        def through(*args: Any) -> dict[str, Any]:
            floats, t = args[:n], args[k:]

            def g(*d: Any) -> Any:
                return fn(*call.full(call.merged(floats, d)))

            value, tangent = jax.jvp(g, tuple(floats[i] for i in call.argnums), tuple(t))
            if contracted:
                tangent = jnp.sum(args[n] * tangent)
            if not truth:
                return {JVP: tangent, PRIMAL: value} if rev is None else {JVP: tangent}
            out = {JVP: undefined_where(value, tangent)}
            return {**out, PRIMAL: value} if rev is None else out

        return through

    truth = jvp_of(call.primal, truth=True)
    if rev is None:
        formula = jvp_of(call.f, truth=False)
    else:
        user = rev

        def formula(*args: Any) -> dict[str, Any]:
            g = user(*args[:k])
            t = args[k:]
            for name, ti in zip(call.diff_names, t, strict=True):
                if jnp.shape(g[name]) != jnp.shape(ti):  # (a product would broadcast it, and a sum hide it)
                    raise ValueError(f"grad returns shape {jnp.shape(g[name])} for {name}, expected {jnp.shape(ti)}")
            return {JVP: sum((jnp.sum(g[name] * ti) for name, ti in zip(call.diff_names, t, strict=True)), start=0)}

    def phi(floats: list[Any], *c: Any) -> dict[str, Any]:
        """f (<c, f> for a VJP), whose one-sided directional derivatives along t bound the JVP."""
        out = call.primal(*call.full(floats))
        return {JVP: jnp.sum(c[0] * out) if contracted else out}

    kink = along_kink(ALONG_T_RULE, call, phi)
    return Check(f"fwd({label})", formula, truth, (*cotangent, *tangents), kink)


def rule_primal(call: Call, label: str) -> Check:
    """The primal output of f's custom rule, what jax.vjp(f, x) returns first (a custom_vjp's
    fwd, a custom_jvp's jvp rule), against f.fun(x) in float64. The rev check compares only the
    cotangent; a fwd that returns its residual, drops a term or rounds through float32 would
    pass it while every caller of jax.vjp gets the wrong value."""
    import jax

    def formula(*floats: Any) -> dict[str, Any]:
        def g(*d: Any) -> Any:
            return call.f(*call.full(call.merged(floats, d)))

        value, _ = jax.vjp(g, *(floats[i] for i in call.argnums))
        return {PRIMAL: value}

    def truth(*floats: Any) -> dict[str, Any]:
        return {PRIMAL: call.primal(*call.full(floats))}

    return Check(f"primal({label})", formula, truth, (), None)


def second_rev(
    call: Call, label: str, rev: Callable[..., Any], rev_truth: Callable[..., Any], taken: set[str]
) -> Check:
    """The rev check of order 2: reverse-mode autodiff of the rev check's formula (the user's
    grad or VJP, or jax.vjp of f's rule) with cotangent v, against the same of the truth. The
    gradient's Jacobian is a Hessian (of f, or of <c, f>), symmetric: its VJP along v is the
    directional derivative of the gradient along v, whose one-sided values bound it at a kink."""
    import jax

    n = len(call.floats)
    k = n + (0 if call.scalar else 1)
    names = call.diff_names
    cotangent = () if call.scalar else (Extra(_unique("cotangent", taken), "cotangent", None),)
    vs = extras_for(call, "v", taken)

    def through(first: Callable[..., Any], truth: bool) -> Callable[..., Any]:
        def second(*args: Any) -> dict[str, Any]:
            base, v = list(args[:k]), args[k:]

            def g(*d: Any) -> tuple[Any, ...]:
                out = first(*call.merged(base[:n], d), *base[n:])
                return tuple(out[name] for name in names)

            out, pullback = jax.vjp(g, *(base[i] for i in call.argnums))
            for name, o, w in zip(names, out, v, strict=True):
                if o.shape != w.shape:  # (the rev check reports it; the VJP could not even start)
                    raise ValueError(f"grad returns shape {o.shape} for {name}, expected {w.shape}")
            grads = pullback(tuple(v))
            if truth:
                value = call.primal(*call.full(base[:n]))
                grads = tuple(undefined_where(value, d) for d in grads)
            return dict(zip(names, grads, strict=True))

        return second

    def phi(floats: list[Any], *c: Any) -> dict[str, Any]:
        return dict(rev_truth(*floats, *c))

    kink = along_kink(ALONG_V_RULE, call, phi)
    return Check(f"vjp({label})", through(rev, False), through(rev_truth, True), (*cotangent, *vs), kink)


def second_fwd(call: Call, first: Check) -> Check:
    """The fwd check of order 2: forward-mode autodiff of the fwd check (`first`) along v,
    against the same of its truth; at a kink, between the one-sided derivatives of that truth
    along v."""
    import jax

    n = len(call.floats)
    k = n + len(first.extras)
    vs = extras_for(call, "v", {e.name for e in first.extras} | set(call.names))

    def through(fn: Callable[..., Any], truth: bool) -> Callable[..., Any]:
        def second(*args: Any) -> dict[str, Any]:
            base, v = list(args[:k]), args[k:]
            floats = base[:n]

            def g(*d: Any) -> Any:
                return fn(*call.merged(floats, d), *base[n:])[JVP]

            _, tangent = jax.jvp(g, tuple(floats[i] for i in call.argnums), tuple(v))
            if truth:
                tangent = undefined_where(call.primal(*call.full(floats)), tangent)
            return {JVP: tangent}

        return second

    def phi(floats: list[Any], *extras: Any) -> dict[str, Any]:
        return {JVP: first.truth(*floats, *extras)[JVP]}

    kink = along_kink(ALONG_V_RULE, call, phi)
    return Check(f"jvp({first.label})", through(first.formula, False), through(first.truth, True),
                 (*first.extras, *vs), kink)  # fmt: skip
