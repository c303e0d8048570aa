"""verify's `broadcast` family: one argument at a time cut to length 1 along its axes while the
others keep their shapes, where f broadcasts it against them.

A loss sum((x - y)^2) takes y of shape (1,) beside x of shape (n,), a layer takes a bias (1,)
beside rows (m, n). A hand gradient for such an argument must sum over the axes it was
broadcast along and keep its shape: -2 * (x - y) has shape (n,), the gradient of y is
-2 * sum(x - y, keepdims=True), of shape (1,). With the example's own shapes (x and y both
(n,)) the forgetful form is right; the `size-1` family cuts the batch axis of every argument at
once, so x and y are both (1,) and nothing is broadcast there either. Only a shape where one
argument is broadcast against another shows it.

A hand gradient is usually written for the shapes it serves (a layer norm's gamma is (n,), never
(1,)), so the family is drawn only when named (`families=[..., "broadcast"]`); to check one
shape you intend, pass it in `examples=`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handgrad.arguments import Call
    from handgrad.results import CaseResult
    from handgrad.verify_families import Cut

PREFIX = "broadcast:"
"""A broadcast family's name in the report: "broadcast:y" (y is the argument cut)."""


def lines_up(call: Call, i: int, axis: int, others: Iterable[int]) -> bool:
    """One of the float arguments `others` has the length of argument i's `axis` at the same
    position counted from the right (where numpy broadcasting lines the two up)."""
    shape = call.floats[i].shape
    back = len(shape) - axis
    return any(
        len(b.shape) >= back and b.shape[len(b.shape) - back] == shape[axis] for b in (call.floats[j] for j in others)
    )


def _out_shape(call: Call, shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """f's output shape with the float arguments at `shapes`; None where f does not take them."""
    import jax

    specs = [jax.ShapeDtypeStruct(s, a.dtype) for s, a in zip(shapes, call.floats, strict=True)]
    try:
        out = jax.eval_shape(lambda *fl: call.f(*call.full(fl)), *specs)
    except Exception:
        return None
    return tuple(getattr(out, "shape", ()))


def broadcast_cuts(call: Call) -> list[tuple[int, Cut]]:
    """(argument index, its cut) for each float argument that f broadcasts: differentiated ones
    first, then the others drawn (not fixed). Its axes longer than 1 are cut to 1 all at once,
    else one at a time (the first that works), where each cut axis lines up with the same length
    in another argument and f takes the shapes with its output shape unchanged (a batch cut to 1
    changes it: that is the size-1 family)."""
    found = []
    order = list(dict.fromkeys([*call.argnums, *range(len(call.floats))]))
    for i in order:
        shape = call.floats[i].shape
        if i in call.held:
            continue
        axes = tuple(k for k, n in enumerate(shape) if n > 1)
        tries = [axes] + ([(k,) for k in axes] if len(axes) > 1 else [])
        for cut_axes in tries:
            others = [j for j in range(len(call.floats)) if j != i]
            if not cut_axes or not all(lines_up(call, i, k, others) for k in cut_axes):
                continue
            cut = tuple(1 if k in cut_axes else n for k, n in enumerate(shape))
            shapes = [cut if j == i else a.shape for j, a in enumerate(call.floats)]
            if _out_shape(call, shapes) == call.out_shape:
                found.append((i, (shapes, call.out_shape)))
                break
    return found


def with_note(result: CaseResult) -> CaseResult:
    """A gradient of the wrong shape for an argument that the failing case broadcasts (in the
    broadcast family, in an extra example, or in the example itself): say what the gradient of a
    broadcast argument is."""
    import dataclasses

    import numpy as np

    from handgrad.cases import case_inputs

    comparison, entry = result.comparison, result.case.entry
    if result.ok or comparison is None or comparison.problem != "shape":
        return result
    directions = getattr(entry, "directions", ())
    names = [n for n in entry.args if n not in directions]
    if comparison.leaf not in names:
        return result
    args = case_inputs(result.case, result.seed).args
    shapes = [np.shape(a)[1:] if result.case.stacked else np.shape(a) for a in args[: len(names)]]
    i = names.index(comparison.leaf)
    shape = shapes[i]
    against = [
        names[j]
        for j, other in enumerate(shapes)
        if j != i
        and any(n == 1 and len(other) >= len(shape) - k and other[k - len(shape)] > 1 for k, n in enumerate(shape))
    ]
    if not against:
        return result
    note = (
        f"{comparison.leaf} has shape {shape} here, broadcast against {', '.join(against)}: its gradient sums over "
        "the axes it was broadcast along and keeps its shape (jnp.sum(..., axis=..., keepdims=True)); a forgotten "
        "sum returns the broadcast shape"
    )
    return dataclasses.replace(result, hint=note)
