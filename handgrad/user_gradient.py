"""The user's grad= and hvp= as verify calls them, with the truth beside each.

Both the formula under test and the truth take the float leaves of the arguments (then the
cotangent c for a non-scalar f, or the direction v for hvp=) and return {leaf name: array}:

    grad=  formula  grad(*args) for a scalar f, grad(*args, c) (a VJP) otherwise
           truth    jax.value_and_grad of f's primal, or jax.vjp(primal)(c), in float64;
                    NaN (not compared) where f's own value is not finite
    hvp=   formula  hvp(*args, v)
           truth    jax.jvp(jax.grad(primal), (x,), (v,))

`check_returns` reads the user's function on the example (shapes and dtypes, by
jax.eval_shape) so that a wrong signature or structure is said once, up front.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from handgrad.arguments import Call, parameter_names, short, traced_note


class ReturnError(TypeError):
    """grad or hvp returned the wrong structure; the message says what was expected."""


def as_dict(out: Any, call: Call, who: str) -> dict[str, Any]:
    """What `who` (grad) returned, as {leaf name: array}; its structure must be the
    differentiated argument's (a tuple of them for several argnums)."""
    import jax

    single_array = jax.tree_util.treedef_is_leaf(call.grad_tree)
    if single_array and isinstance(out, (tuple, list)) and len(out) == 1:
        out = out[0]  # (g,) for one array argument, as a custom_vjp bwd returns it
    leaves, tree = jax.tree_util.tree_flatten(out)
    if tree != call.grad_tree and isinstance(out, list):
        # [g0, g1] for argnums=(0, 1), as a tuple is meant; a list argument's own gradient (a
        # list of layers' weights) is a list already, and matched as it is above
        leaves, tree = jax.tree_util.tree_flatten(tuple(out))
    if tree != call.grad_tree:
        args = ", ".join(call.diff_names)
        raise ReturnError(
            f"{who} must return the gradient shaped like the differentiated arguments ({args}): "
            f"{call.grad_tree}, got {tree}"
        )
    return dict(zip(call.diff_names, leaves, strict=True))


_AS_COMPUTED = contextvars.ContextVar("handgrad_truth_as_computed", default=False)


@contextlib.contextmanager
def as_computed() -> Iterator[None]:
    """Truths traced inside this block keep autodiff's values where f's own value is not finite
    (undefined_where returns `out` unchanged): what autodiff itself computes in a dtype, which
    verify_kinks.OwnRounding compares an answer with. Read at trace time."""
    token = _AS_COMPUTED.set(True)
    try:
        yield
    finally:
        _AS_COMPUTED.reset(token)


def undefined_where(value: Any, out: Any) -> Any:
    """`out` with NaN (not compared: counted as unchecked) where f's own `value` is not finite,
    outside its domain: elementwise where the shapes match, else everywhere (not inside
    `as_computed`)."""
    import jax.numpy as jnp

    if _AS_COMPUTED.get():
        return out
    bad = ~jnp.isfinite(value)
    return jnp.where(bad if jnp.shape(out) == jnp.shape(bad) else bad.any(), jnp.nan, out)


def gradient_functions(call: Call, grad: Callable[..., Any] | None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(formula, truth): each takes the float arguments (and the cotangent when f is not
    scalar) and returns {name: gradient}. The truth differentiates `call.primal`."""
    import jax

    names = call.diff_names

    def autodiff(fn: Callable[..., Any], truth: bool = False) -> Callable[..., Any]:
        def through(*fl_ct: Any) -> dict[str, Any]:
            fl = fl_ct if call.scalar else fl_ct[:-1]
            diff = [fl[i] for i in call.argnums]

            def g(*d: Any) -> Any:
                return fn(*call.full(call.merged(fl, d)))

            if call.scalar:
                value, grads = jax.value_and_grad(g, argnums=tuple(range(len(diff))))(*diff)
            else:
                value, pullback = jax.vjp(g, *diff)
                grads = pullback(fl_ct[-1])
            if truth:
                grads = [undefined_where(value, t) for t in grads]
            return dict(zip(names, grads, strict=True))

        return through

    truth = autodiff(call.primal, truth=True)
    if grad is None:
        return autodiff(call.f), truth

    def formula(*fl_ct: Any) -> dict[str, Any]:
        fl = fl_ct if call.scalar else fl_ct[:-1]
        extra = () if call.scalar else (fl_ct[-1],)
        return as_dict(grad(*call.full(fl), *extra), call, "grad")

    return formula, truth


def hvp_functions(call: Call, hvp: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    import jax

    (i,) = call.argnums
    name = call.names[i]

    def truth(*fl_v: Any) -> dict[str, Any]:
        fl, v = list(fl_v[:-1]), fl_v[-1]

        def g(x: Any) -> Any:
            return call.primal(*call.full(call.merged(fl, (x,))))

        return {name: jax.jvp(jax.grad(g), (fl[i],), (v,))[1]}

    def formula(*fl_v: Any) -> dict[str, Any]:
        return as_dict(hvp(*call.full(fl_v[:-1]), fl_v[-1]), call, "hvp")

    return formula, truth


def calling(call: Call, who: str, n_args: int) -> str:
    """How verify calls the user's grad or hvp, and what it must return, in one sentence."""
    params = ", ".join(parameter_names(call.primal, n_args))
    if who == "hvp":
        return f"hvp is called as hvp({params}, v) and returns the Hessian of f times v"
    if call.scalar:
        return f"f returns a scalar, so grad is called as grad({params}) and returns the gradient of f"
    return (
        f"f returns shape {call.out_shape}, not a scalar, so grad is its vector-Jacobian product: "
        f"grad({params}, cotangent) returns the cotangent (shaped like f's output) pulled back to the arguments"
    )


def check_returns(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    want: dict[str, Any],
    who: str,
    user_fn: Callable[..., Any],
    calling: str = "",
) -> None:
    """The user's grad/hvp on the example arguments: its shapes and dtypes, up front.
    `calling` says how it is called, for an error that looks like a wrong signature."""
    import jax

    if not callable(user_fn):
        raise TypeError(f"handgrad.verify: {who} must be a function, got {type(user_fn).__name__}")
    try:
        got = jax.eval_shape(fn, *args)
    except ReturnError as exc:
        raise TypeError(f"handgrad.verify: {exc}") from None
    except TypeError as exc:
        arity = "positional argument" in str(exc) or "unexpected keyword" in str(exc)
        note = f" ({calling})" if arity and calling else traced_note(exc, who)
        raise TypeError(f"handgrad.verify: {who} on the example arguments: {short(exc)}{note}") from None
    except Exception as exc:
        note = traced_note(exc, who)
        raise ValueError(f"handgrad.verify: {who} fails on the example arguments: {short(exc)}{note}") from None
    for k, w in want.items():
        g = got[k]
        if not hasattr(g, "shape") or g.shape != w.shape:
            raise ValueError(
                f"handgrad.verify: {who} returns shape {getattr(g, 'shape', type(g).__name__)} for {k}, "
                f"expected {w.shape} (the shape of {k})"
            )
        if g.dtype != w.dtype:
            why = ""
            if g.dtype == "float64" and w.dtype != "float64":  # (JAX's float64, on for the check, widened it)
                why = (
                    ": verify runs with float64 enabled (jax_enable_x64, for its float64 truth), where a Python "
                    "number, jnp.arange or jax.nn.one_hot without dtype= is float64, as it is wherever float64 is "
                    f"on; give the dtype (jnp.asarray(0.5, {k}.dtype), one_hot(..., dtype={k}.dtype)) or end with "
                    f".astype({k}.dtype)"
                )
            raise TypeError(f"handgrad.verify: {who} returns dtype {g.dtype} for {k}, expected {w.dtype}{why}")


def forward_differentiable(fn: Callable[..., Any], args: Sequence[Any]) -> bool:
    """Whether the allowance's S of `fn` (a truth), which takes its Jacobian by jax.jacfwd
    (reference/conditioning.py), traces at `args` (no FLOPs). Not where f calls a
    jax.custom_vjp function whose fwd calls it again (the usual `fwd = lambda x: (f(x), x)`):
    forward mode over its VJP is refused. Where this is False the truth goes through
    reverse_jvp."""
    import jax

    from reference.conditioning import sensitivity_fn

    try:
        jax.eval_shape(sensitivity_fn(fn), *args)
    except Exception:
        return False
    return True


def reverse_jvp(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` (a truth: float arrays in, {name: array} out) with a JVP computed in reverse mode: its
    Jacobian by jax.jacrev, contracted with the tangents. For a truth that holds a jax.custom_vjp
    function (f calls one inside), which jax.jvp and jax.jacfwd refuse ("can't apply
    forward-mode autodiff (jvp) to a custom_vjp function"); its values are fn's own. Where even
    reverse mode fails (a bwd that JAX cannot differentiate), the tangent is 0: the allowance
    then has no conditioning part beyond the fixed one (S = 0), rather than the check failing."""
    import jax
    import jax.numpy as jnp

    wrapped = jax.custom_jvp(fn)

    def rule(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        out = fn(*primals)
        try:
            jac = jax.jacrev(fn, argnums=tuple(range(len(primals))))(*primals)
        except Exception:
            return out, jax.tree_util.tree_map(jnp.zeros_like, out)
        tangent = {
            key: sum(
                (
                    jnp.tensordot(j, t, axes=jnp.ndim(t)).astype(value.dtype)
                    for j, t in zip(jac[key], tangents, strict=True)
                ),
                start=jnp.zeros_like(value),
            )
            for key, value in out.items()
        }
        return out, tangent

    wrapped.defjvp(rule)
    return wrapped
