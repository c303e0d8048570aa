"""How large the roundings are that reach a function's result from inside its own program.

The sensitivity S (reference/conditioning.py) says how far a result may move when the
*inputs* are rounded. It sees nothing of rounding inside the computation, and where the
exact result is 0 by cancellation (the gradient of sum(softmax(x)), of a layer norm's sum)
S is 0 too, while any program that computes it, autodiff's own in float64 included, returns
rounding noise of the size of the terms it cancelled. To first order, a program whose every
operation j rounds its result v_j by a relative u_j (|u_j| <= eps / 2) is off by

    sum_j (d out_k / d v_j) m_j u_j

where m_j is the size of what operation j rounds: |v_j|, or for a sum or a matrix product the
sum of the magnitudes of its terms (sum |x_i|, |A| |B|), which its partial sums round. R
measures that error as it happens: the truth's own program, read from its jaxpr, is run
SAMPLES times with every rounding result moved, v_j -> v_j + SCALE * w_j * m_j with w_j
drawn uniform in [-1, 1] (a fixed seed: the same R every time; the same operation on the same
inputs is one rounding with one move, as a real run rounds it alike), and

    R_k = FACTOR * (standard deviation over the samples of out_k) / SCALE,

where the result follows the moves smoothly (SHRINK: where a move flips a choice, R is 0).
The runs are made twice over: with a draw per element, and with one draw for all the
elements of a result. Equal values computed alike round alike in a real run (a draw of
repeated magnitudes through a matrix of equal rows), and their errors add up in step, not
as a random walk: the first runs alone came out about sqrt(n) short there, and JAX's own
gradient failed. R is the larger of the two.

The total derivative d out_k / d v_j comes for free and exactly: a rounding that reaches the
result along two paths that cancel (s (1 - s) / (1 - s), one rounded 1 - s) counts for
nothing, and a deep chain counts |W_1 ... W_k|. (A first version carried |derivative| step by
step, which adds the paths' absolute values: a 12-layer network got R 1e17 times its
gradient and a wrong gradient passed; tests/test_rounding.py keeps that case.) Random
roundings add up as a random walk, as real ones do, so R grows like sqrt(n) for a sum of n,
not like n. FACTOR = 3 covers one rounding at its worst (rms sqrt(1/3) against eps / 2) and
the spread of SAMPLES = 8 draws.

The inputs' own rounding is S's part, not R's. Operations that only move or pick values
(reshape, select, max, neg) round nothing; programs nested by jit are followed inside;
anything else that holds a program (a loop, a cond, a custom_jvp or custom_vjp function, a
linear solve) is one operation, rounded at its results. Nothing is differentiated, so R is
found for any program JAX can run. Where R is not finite it is 0 (the allowance is S's
alone there). Everything runs in float64 and can be jitted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

Tree = Any

EXACT = frozenset(
    {
        "reshape", "broadcast_in_dim", "transpose", "squeeze", "expand_dims", "slice", "pad", "concatenate",
        "rev", "gather", "dynamic_slice", "dynamic_update_slice", "select_n", "copy", "copy_p", "neg", "abs",
        "sign", "max", "min", "reduce_max", "reduce_min", "argmax", "argmin", "clamp", "floor", "ceil", "round",
        "sort", "convert_element_type", "sharding_constraint", "cummax", "cummin", "real", "imag", "conj",
        "scatter", "iota", "eq", "ne", "lt", "le", "gt", "ge",
    }
)  # fmt: skip
"""Operations whose result is one of their inputs' values, moved or picked, never rounded
(convert_element_type: float64 to float64 here)."""

PASS_THROUGH = frozenset({"stop_gradient", "optimization_barrier", "reduce_precision"})
"""Operations whose input is their result here (reduce_precision would round the moves away)."""

BILINEAR = frozenset({"mul", "dot_general", "conv_general_dilated"})
"""Sums of products of two inputs: the terms' magnitude is op(|A|, |B|)."""

SUMS = frozenset({"reduce_sum", "cumsum"})
"""Many additions per element: the partial sums round terms of magnitude op(|x|)."""

NESTED = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr"}
"""Primitives that hold a program run once with their inputs: followed inside."""

SAMPLES = 8
SCALE = 2.0**-30
"""How far each result is moved, relative to its magnitude: far above float64's own rounding
(2^-53), far below where second-order terms show."""
FACTOR = 3.0
SHRINK = 16.0
AGREE = 0.25
"""The runs are made twice, the second time with every move SHRINK times smaller. Where the
result follows its roundings smoothly, the two spreads per unit of move agree; where a move
flips a choice (a comparison, a sort, a floor near its step) the output jumps by the same
amount whatever the move, and the two disagree by far more than AGREE: R is 0 there (a
2^-30 move flips choices that float64's own rounding, 2^-53, would not, and the jump is no
rounding of the formula's)."""
MAX_ELEMENTS = 1 << 24
"""Elements of one run's outputs past which R is not computed (4 * SAMPLES runs at once):
`rounding` raises ValueError there, `rounding_terms` gives None."""


def _is_float(x: Any) -> bool:
    return bool(jnp.issubdtype(jnp.result_type(x), jnp.floating))


def rounding_fn(fn: Callable[..., Any]) -> Callable[..., Tree]:
    """A JAX function of `fn`'s arguments returning R (module docstring), shaped like
    fn(*args): float64, >= 0, finite (0 where the bound is not: no allowance beyond S there).
    Integer outputs get 0."""

    def r(*args: Any) -> Tree:
        closed, shape = jax.make_jaxpr(fn, return_shape=True)(*args)
        if sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shape)) > MAX_ELEMENTS:
            raise ValueError(f"R is not computed past {MAX_ELEMENTS} output elements")
        flat = jax.tree.leaves(args)
        sites: list[tuple[int, ...]] = []
        jax.eval_shape(lambda *a: _run(closed.jaxpr, closed.consts, a, _Mover(sites=sites), {}), *flat)
        rng = np.random.default_rng(0)  # (the same moves every time: R is reproducible)
        draws = [
            np.concatenate(  # each element its own draw; then one draw for all of a result's elements
                [
                    rng.uniform(-1.0, 1.0, (SAMPLES, *s)),
                    np.broadcast_to(rng.uniform(-1.0, 1.0, (SAMPLES,) + (1,) * len(s)), (SAMPLES, *s)),
                ]
            )
            for s in sites
        ]
        moves = [np.concatenate([SCALE * w, SCALE / SHRINK * w]) for w in draws]  # (the same draws, smaller)

        def moved(ws: list[Any]) -> list[Any]:
            return _run(closed.jaxpr, closed.consts, flat, _Mover(moves=iter(ws)), {})

        if not moves:  # (nothing is rounded: moves and picks alone)
            return jax.tree.map(lambda leaf: jnp.zeros(leaf.shape, jnp.float64), shape)
        runs = jax.vmap(moved)(moves)
        leaves, tree = jax.tree.flatten(shape)
        out = []
        for leaf, s in zip(leaves, runs, strict=True):
            if not jnp.issubdtype(leaf.dtype, jnp.floating):
                out.append(jnp.zeros(leaf.shape, jnp.float64))
                continue
            s = jnp.asarray(s, jnp.float64)
            n = 2 * SAMPLES
            best = jnp.zeros(leaf.shape, jnp.float64)
            for k in (0, SAMPLES):  # (independent draws, then one per result)
                spread = FACTOR * jnp.std(s[k : k + SAMPLES] / SCALE, axis=0, ddof=1)
                smaller = FACTOR * jnp.std(s[n + k : n + k + SAMPLES] / (SCALE / SHRINK), axis=0, ddof=1)
                linear = jnp.abs(spread - smaller) <= AGREE * jnp.maximum(spread, smaller)
                best = jnp.maximum(best, jnp.where(jnp.isfinite(spread) & linear, spread, 0.0))
            out.append(best)
        return jax.tree.unflatten(tree, out)

    return r


def rounding(fn: Callable[..., Any], args: Sequence[Any]) -> Tree:
    """R of `fn` at `args` (floating arguments promoted to float64), as numpy arrays."""
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("rounding needs jax_enable_x64 (it runs in float64)")
    args64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if _is_float(a) else jnp.asarray(a), tuple(args))
    with jax.default_device(jax.devices("cpu")[0]):
        out = jax.jit(rounding_fn(fn))(*args64)
    return jax.tree.map(lambda a: np.asarray(a, np.float64), out)


def rounding_terms(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...]], Tree | None]:
    """`args -> R of fn at args` (float64 numpy, shaped like fn's output), compiled once per
    shape; None where R cannot be computed (an operation that cannot be bound again outside
    its program, outputs past MAX_ELEMENTS): the allowance is then S's."""
    program = jax.jit(rounding_fn(fn))

    def terms(args: tuple[Any, ...]) -> Tree | None:
        try:
            with jax.default_device(jax.devices("cpu")[0]):
                out = program(*args)
        except Exception:
            return None
        return jax.tree.map(lambda a: np.asarray(a, np.float64), out)

    return terms


class _Mover:
    """Moves each rounding result by w * its magnitude, w the next of `moves` (one per element:
    SCALE or SCALE / SHRINK times a uniform draw in [-1, 1]); with `sites` instead, records
    the results' shapes."""

    def __init__(self, moves: Iterator[Any] | None = None, sites: list[tuple[int, ...]] | None = None) -> None:
        self.moves, self.sites = moves, sites

    def __call__(self, out: Any, magnitude: Any) -> Any:
        if magnitude is None or not _is_float(out):
            return out
        if self.sites is not None:
            self.sites.append(tuple(jnp.shape(out)))
            return out
        assert self.moves is not None
        dtype = jnp.result_type(out)
        return out + (next(self.moves) * magnitude).astype(dtype)


def _run(
    jaxpr: Jaxpr, consts: Sequence[Any], args: Sequence[Any], move: _Mover, seen: dict[Any, list[Any]]
) -> list[Any]:
    """Evaluate `jaxpr` on `args`, every rounding result passed through `move`. `seen`: results
    by operation and inputs. The same operation on the same inputs is one rounding, as it is in
    a real run (1 - s computed twice rounds alike, and cancels where it cancels there), so a
    repeated one takes the first's (moved) results."""
    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, Literal) else env[v]

    def key(v: Any) -> Any:
        return ("literal", repr(v.val)) if isinstance(v, Literal) else id(env[v])

    for v, c in zip(jaxpr.constvars, consts, strict=True):
        env[v] = c
    for v, a in zip(jaxpr.invars, args, strict=True):
        env[v] = a
    for eqn in jaxpr.eqns:
        values = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        inner = eqn.params.get(NESTED[name]) if name in NESTED else None
        same = (_kind(name, eqn.params), *(key(v) for v in eqn.invars))
        if same in seen and inner is None:
            outs = seen[same]
        elif inner is not None:
            sub = inner if isinstance(inner, ClosedJaxpr) else ClosedJaxpr(inner, ())
            outs = _run(sub.jaxpr, sub.consts, values, move, seen)
        elif name in PASS_THROUGH:
            outs = list(values[: len(eqn.outvars)])
        else:
            call = _bind(eqn)
            outs = call(*values)
            if name not in EXACT:
                outs = [move(o, m) for o, m in zip(outs, _magnitudes(name, call, values, outs), strict=True)]
            seen[same] = outs
        for v, x in zip(eqn.outvars, outs, strict=True):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]


def _kind(name: str, params: dict[str, Any]) -> str:
    """The operation: its primitive and its plain parameters (axes, shapes, a comparison's
    direction); two equations with other parameters (a jaxpr, a function) are never the same."""
    plain = (int, float, str, bool, type(None))
    kept = sorted(
        (k, v)
        for k, v in params.items()
        if isinstance(v, plain) or (isinstance(v, tuple) and all(isinstance(e, plain) for e in v))
    )
    if len(kept) < len(params):
        return f"{name} {id(params)}"
    return f"{name} {kept}"


def _bind(eqn: Any) -> Callable[..., list[Any]]:
    """The equation's primitive as a function of its inputs, always returning a list."""
    got = eqn.primitive.get_bind_params(eqn.params)
    subfuns, params = got if isinstance(got, tuple) else ((), got)  # (JAX before 0.7: subfuns too)

    def call(*xs: Any) -> list[Any]:
        out = eqn.primitive.bind(*subfuns, *xs, **params)
        return list(out) if eqn.primitive.multiple_results else [out]

    return call


def _magnitudes(name: str, call: Callable[..., list[Any]], values: list[Any], outs: list[Any]) -> list[Any]:
    """What each result rounds (None: not a float): the terms of a sum or product, else |result|;
    0 where not finite."""
    if name in SUMS | BILINEAR and all(_is_float(x) for x in values):
        terms = call(*(jnp.abs(x) for x in values))
    else:
        terms = [jnp.abs(o) if _is_float(o) else None for o in outs]
    return [None if t is None else jnp.where(jnp.isfinite(t), t, 0.0) for t in terms]
