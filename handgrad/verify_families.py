"""verify's input families: what each draws from the example arguments' shapes.

Every family draws every float argument (held ones, fixed=, stay as given), then the extras
(the cotangent, tangents or v of handgrad/modes.py), in float64; the engine casts to each
dtype checked. `Cuts` finds the shapes other than the example's ("size-1", "broadcast").

The names share one table with the catalog's families (reference/family_meanings.py,
docs/families.md): a name means the same wherever it is drawn. So verify's `wide` is drawn
by the catalog's own function (reference.families.wide_values), and its draw around ln(max)
of each dtype is `overflow`, not `extreme` (the catalog's `extreme` is the +-1e4 the
contract states; verify called its draw `extreme` before, and that name now says so).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from handgrad.arguments import Call
from handgrad.broadcast import broadcast_cuts, lines_up
from handgrad.finite_draws import NotFinite, finite_draw
from handgrad.matrix_draws import (
    MATRIX_DRAWS,
    is_matrix,
    matrix_arguments,
    repeated_singular_values,
    shaped,
    structures,
)
from handgrad.modes import Extra
from reference.families import Family, Inputs, wide_values
from reference.family_meanings import meaning

FAMILIES: tuple[str, ...] = (
    "given", "normal", "wide", "overflow", "sweep", "tiny", "zeros", "one-zero", "shifted", "low-rank", "repeated-sv",
    "size-1", "labels", "one-hot",
)  # fmt: skip
"""The input families verify draws from the example arguments' shapes (see make_family)."""

ALL_FAMILIES: tuple[str, ...] = (*FAMILIES, "broadcast", "far-magnitudes")
"""FAMILIES and those drawn only when named in families= ("broadcast": handgrad/broadcast.py;
"far-magnitudes": every argument scaled to 1e21 or 1e-21 at once, where squares overflow or
underflow float32, as in a norm written sqrt(sum(x * x)): a real robustness check, but most
float32 formulas of other kinds overflow there too, so it is asked for, not drawn always)."""

FAR_MAGNITUDES = (1e21, 1e-21)
"""Where x * x overflows (past 3.4e38) or underflows (below 1.2e-38) float32 and bfloat16."""

RENAMED: dict[str, str] = {"extreme": "overflow"}
"""verify's former family names, and what they are called now (the catalog's meaning differs)."""

OFFSETS = (3e2, 1e3)
"""verify's `shifted`: every drawn argument is one of these plus standard normal, so values sit
far from 0 with differences of order 1, where a form that expands a square cancels (a layer
norm's variance as mean(x^2) - mean(x)^2, a red team's, passed every other family: all are
centred on 0). float32 and float64 only: float16's spacing near 1e3 is 0.5 to 1, the spread itself."""

OVERFLOW_MAGNITUDES = np.array([11.0, 12.0, 22.0, 88.0, 90.0, 177.0, 709.0, 711.0, 1420.0])
"""Around ln(largest finite number) of float16 (11.1), float32 and bfloat16 (88.7) and
float64 (709.8), and twice those: where exp overflows, and a form that divides two
overflowed terms (inf/inf) turns NaN, in each dtype."""


SWEEP_DECADES = (0.0, 2.0)
"""verify's `sweep`: every element's magnitude log-uniform from 10^0 to 10^2, of either sign.
Where a formula switches to an asymptotic form (softplus' = sigmoid(x) -> 1, log(1 + e^x) ->
x, erfc's series): a switch is right only past where the two forms agree within the
allowance (softplus' at x > 30 in float64, whose rtol is 1e-13; x > 11 in float32), and a
switch at 15 is wrong only for 15 < x < 30, which `wide` (seven decades) and `overflow` (nine
points) reached in 2 seeds of 8 at 5 elements and never at one (a red team's)."""

SWEEP_VALUES = 512
"""Values a `sweep` vmap case draws at least, in examples of the example arguments' size
(at most SWEEP_STACK of them, at least handgrad.cases.STACK): at 128 draws of one element, a
window as narrow as 15 < x < 21 of one sign is missed with probability 0.965^128 = 1%; at 512
values, never in practice. Each example costs a finite-draw check and a kink probe (about 4 ms
for a 3x3 expm), so large arguments stack fewer."""

SWEEP_STACK = 128


def sweep_stack(call: Call) -> int:
    """Examples a `sweep` vmap case stacks for this call's float arguments."""
    from handgrad.cases import STACK

    size = max(1, sum(int(a.size) for a in call.floats))
    return max(STACK, min(SWEEP_STACK, SWEEP_VALUES // size))


def _size_one(call: Call) -> tuple[list[tuple[int, ...]], tuple[int, ...]] | None:
    """The float arguments' shapes with a batch axis cut to length 1, and f's output shape
    there. The batch axis is a leading axis of length n > 1, cut in every float argument
    whose leading axis is n (logits and labels (8, 5) -> (1, 5); weights (5, 3) beside inputs
    (8, 5) keep theirs); the differentiated arguments' leading lengths are tried first, then
    the others', and the first that f takes is used. None where f takes none. A length that
    a non-float array (integer labels, a boolean mask: passed as given, never cut) also has as
    its leading axis is not cut: the labels would stay at full length beside one row. A length
    that lines up, counted from the right, with the same length in an argument not cut is a
    broadcast, not a batch (a bias (2,) beside rows (5, 2)): passed over here, the broadcast
    family's (handgrad/broadcast.py). An argument square in its last two axes is never cut:
    jnp.linalg.cholesky takes one row (1, 5) of an SPD (5, 5) and returns NaN, so f seems to
    take the cut shape where its gradient (an inverse) does not."""
    import jax

    order = [call.floats[i] for i in call.argnums] + list(call.floats)
    candidates = list(dict.fromkeys(a.shape[0] for a in order if a.ndim and a.shape[0] > 1))
    for n in candidates:
        if any(np.ndim(v) and np.shape(v)[0] == n for v in call.fixed.values() if hasattr(v, "shape")):
            continue  # (integer labels or a mask of the batch's length: passed as given, never cut)
        cut = [i for i, a in enumerate(call.floats) if a.ndim and a.shape[0] == n]
        if any(lines_up(call, i, 0, [j for j in range(len(call.floats)) if j not in cut]) for i in cut):
            continue
        if any(call.floats[i].ndim >= 2 and call.floats[i].shape[-1] == call.floats[i].shape[-2] for i in cut):
            continue  # a square matrix (an inverse's, a Cholesky's): one row of it is no matrix f takes
        shapes = [(1, *a.shape[1:]) if a.ndim and a.shape[0] == n else a.shape for a in call.floats]
        specs = [jax.ShapeDtypeStruct(s, a.dtype) for s, a in zip(shapes, call.floats, strict=True)]
        try:
            out = jax.eval_shape(lambda *fl: call.f(*call.full(fl)), *specs)
        except Exception:
            continue
        return shapes, tuple(getattr(out, "shape", ()))
    return None


def size_one_note(call: Call, cut: Cut | None, where: str = "", alone: bool = True) -> str:
    """What the size-1 family changed, said under its failures: which arguments it cut to a
    batch of one, from what shape to what; a matrix cut to one row is named as such, since
    its leading axis may be no batch at all (a QR rule that takes only tall matrices), but
    only where size-1 is `alone` in failing: a rule that fails other families too is wrong
    whatever a one-row matrix is, and leaving the family out would hide one more failure."""
    if cut is None:
        return ""
    shapes, _ = cut
    changed = [(n, a.shape, s) for n, a, s in zip(call.names, call.floats, shapes, strict=True) if a.shape != s]
    what = ", ".join(f"{n} from {old} to {new}" for n, old, new in changed)
    words = f"size-1{where}: the family cut {what}, taking the leading axis for a batch of one"
    if alone and any(len(old) == 2 for _, old, _ in changed):
        words += (
            "; where that axis is a matrix's rows, not a batch, a one-row matrix may be outside what f is for "
            "(a rule for tall matrices only), and families=[...] can leave size-1 out; where it is a batch, "
            "the rule is wrong for a batch of one (a .squeeze() that drops the batch axis?)"
        )
    return words


def label_like(call: Call) -> dict[int, str]:
    """The float arguments, not differentiated and not fixed, whose example holds only 0 and
    1: "one-hot" where every row (last axis) sums to 1, else "binary"."""
    return {
        i: label_like_kind(g)
        for i, g in enumerate(call.floats)
        if i not in call.argnums and i not in call.held and g.size >= 2 and np.isin(g, (0.0, 1.0)).all()
    }


def label_like_kind(g: np.ndarray) -> str:
    return "one-hot" if g.ndim >= 1 and bool((g.sum(axis=-1) == 1).all()) else "binary"


def draw_labels(rng: np.random.Generator, like: np.ndarray, kind: str) -> np.ndarray:
    """Labels shaped like `like`: random one-hot rows, or random 0s and 1s."""
    if kind == "one-hot":
        rows = like.reshape(-1, like.shape[-1])
        out = np.zeros(rows.shape)
        out[np.arange(len(rows)), rng.integers(like.shape[-1], size=len(rows))] = 1.0
        return out.reshape(like.shape)
    return rng.integers(0, 2, like.shape).astype(np.float64)


Cut = tuple[list[tuple[int, ...]], tuple[int, ...]]
"""Shapes other than the example's: every float argument's, and f's output there."""


def make_family(
    name: str,
    call: Call,
    extras: Sequence[Extra],
    cut: Cut | None = None,
    shown: str = "",
    not_finite: NotFinite | None = None,
) -> Family:
    """Draw every float argument, then the extras (cotangent, tangents, directions), each
    shaped like the leaf it follows (or f's output). "size-1" and "broadcast": standard normal
    at `cut`'s shapes (the caller found them). "low-rank" and "repeated-sv": the matrix
    arguments so (handgrad/matrix_draws.py), the others standard normal. `shown`: the
    family's name in the report ("broadcast:y"), `name` by default. `not_finite`: where f is
    not finite at a draw, it is drawn again (handgrad/finite_draws.py; never "given")."""
    shapes = [a.shape for a in call.floats]
    out_shape = call.out_shape
    if name in ("size-1", "broadcast"):
        assert cut is not None
        shapes, out_shape = cut
    extra_shapes = [out_shape if e.like is None else shapes[e.like] for e in extras]

    labels = label_like(call) if name == "labels" else {}
    kinds = structures(call)  # (a symmetric or SPD argument stays so, where f reads it so)
    matrices = set(matrix_arguments(call, name)) if name in MATRIX_DRAWS else set()

    def values(rng: np.random.Generator, i: int, shape: tuple[int, ...], given: np.ndarray, scale: float) -> np.ndarray:
        if name == "given":
            return given.astype(np.float64)
        if name == "repeated-sv" and is_matrix(shape) and kinds[i] is not None:
            return repeated_singular_values(rng, shape, symmetric=True)
        if name in MATRIX_DRAWS:
            return MATRIX_DRAWS[name](rng, shape) if i in matrices else rng.standard_normal(shape)
        if name in ("normal", "one-hot", "size-1", "broadcast"):
            return rng.standard_normal(shape)
        if name in ("tiny", "far-magnitudes"):  # every argument at one scale (atan2(y, x) with both near 0)
            return rng.standard_normal(shape) * scale
        if name in ("wide", "labels"):  # (label-like arguments themselves are drawn as labels)
            return wide_values(rng, shape)
        if name == "shifted":
            return scale + rng.standard_normal(shape)
        if name == "sweep":
            return rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(*SWEEP_DECADES, shape)
        if name == "overflow":
            return rng.choice([-1.0, 1.0], shape) * rng.choice(OVERFLOW_MAGNITUDES, shape)
        if name == "one-zero":  # (a product's gradient at one zero is the product of the others, not 0)
            x = rng.standard_normal(shape)
            if x.size:
                x.flat[rng.integers(x.size)] = rng.choice([0.0, -0.0])
            return x
        # zeros: about half the elements exactly +0.0 or -0.0, the rest standard normal
        x = rng.standard_normal(shape)
        zero = rng.random(shape) < 0.5
        return np.where(zero, np.where(rng.random(shape) < 0.5, 0.0, -0.0), x)

    def one(rng: np.random.Generator, i: int, shape: tuple[int, ...], given: np.ndarray, scale: float) -> np.ndarray:
        if i in call.held:  # as given (its first row where the batch is cut to one)
            return (given[: shape[0]] if shape else given).astype(np.float64)  # (a 0-d one cannot be sliced)
        if i in labels:
            return draw_labels(rng, given, labels[i])
        drawn = values(rng, i, shape, given, scale)
        return shaped(kinds[i], drawn) if name != "given" and is_matrix(shape) else drawn

    def draw_once(rng: np.random.Generator) -> Inputs:
        scale = 10.0 ** rng.uniform(-8, -2) if name == "tiny" else 1.0
        if name == "far-magnitudes":
            scale = float(rng.choice(FAR_MAGNITUDES))
        if name == "shifted":
            scale = float(rng.choice(OFFSETS))
        args = [one(rng, i, s, g, scale) for i, (s, g) in enumerate(zip(shapes, call.floats, strict=True))]
        if name != "one-hot":
            args += [rng.standard_normal(s) for s in extra_shapes]
        else:  # each group one-hot as a whole: one element of all its leaves together
            drawn: list[Any] = [None] * len(extras)
            for group in dict.fromkeys(e.group for e in extras):
                members = [k for k, e in enumerate(extras) if e.group == group]
                sizes = [int(np.prod(extra_shapes[k])) for k in members]
                flat = np.zeros(sum(sizes))
                flat[rng.integers(flat.size)] = 1.0
                for k, part in zip(members, np.split(flat, np.cumsum(sizes)[:-1]), strict=True):
                    drawn[k] = part.reshape(extra_shapes[k])
            args += drawn
        return Inputs(tuple(args))

    redrawn = [i for i in range(len(call.floats)) if i not in call.held]

    def draw(rng: np.random.Generator) -> Inputs:
        if not_finite is None or name == "given":
            return draw_once(rng)
        return finite_draw(draw_once, rng, not_finite, redrawn)

    dtypes = {"far-magnitudes": ("float32", "bfloat16"), "shifted": ("float32", "float64")}.get(name)
    # (float16 cannot hold 1e21, nor resolve a spread of 1 at 1e3)
    if name == "sweep":  # (under vmap alone: its worth is the many examples it stacks there)
        return Family(name, draw, meaning(name).draws, stack=sweep_stack(call), transforms=("vmap",))
    return Family(shown or name, draw, meaning(shown or name).draws, dtypes=dtypes)


class Cuts:
    """The shapes other than the example's that a call's families draw at, found once per call
    (each is a trace of f per candidate): the size-1 batch cut, and the broadcast cuts."""

    def __init__(self, call: Call) -> None:
        self.call = call

    @functools.cached_property
    def size_one(self) -> Cut | None:
        return _size_one(self.call)

    @functools.cached_property
    def broadcast(self) -> list[tuple[int, Cut]]:
        return broadcast_cuts(self.call)
