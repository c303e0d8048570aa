"""Compare a returned value with the truth, element by element, and name the worst element.

Where general tools are weak, this is strict: shapes and dtypes must match exactly (no
broadcasting, no silent casts), NaN and inf must sit where the truth has them, and the
tolerance is per element by dtype (reference/tolerances.py), never scaled by the array
size. Outputs are arrays or, for the network, dicts of arrays compared leaf by leaf.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.tolerances import Tolerance

Tree = Any  # np.ndarray | Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Worst:
    """The element that is furthest outside (or closest to) its tolerance."""

    leaf: str
    """"" for an array output; the dict key ("W1") for the network's gradients."""
    index: tuple[int, ...]
    expected: float
    got: float
    abs_err: float
    rel_err: float
    allowed: float
    at_kink: bool = False

    @property
    def where(self) -> str:
        idx = f"[{', '.join(map(str, self.index))}]" if self.index else "(scalar)"
        return f"{self.leaf}{idx}" if self.leaf else idx


@dataclass(frozen=True)
class Comparison:
    ok: bool
    problem: str
    """"" when ok; else one of: structure, shape, dtype, nonfinite, value."""
    detail: str
    worst: Worst | None = None
    leaf: str = ""
    """The dict key where a structure, shape or dtype problem was found ("" for arrays)."""

    def __bool__(self) -> bool:
        return self.ok


def _leaves(tree: Tree) -> dict[str, Any]:
    return dict(tree) if isinstance(tree, Mapping) else {"": tree}


def compare(
    expected: Tree,
    got: Tree,
    *,
    dtype: str,
    tolerance: Tolerance,
    kink_mask: Tree | None = None,
    scale: np.ndarray | None = None,
) -> Comparison:
    """Compare `got` with `expected` (float64 truth); every leaf must have `dtype`.

    `scale` (broadcastable to an array output) is the size of the terms a correct
    formula cancels to produce the value; rtol then applies to |expected| + scale, so
    a result that is ~0 by cancellation is held to rounding of its terms, not to 0.
    """
    exp_leaves, got_leaves = _leaves(expected), _leaves(got)
    if isinstance(expected, Mapping) != isinstance(got, Mapping):
        want = "a dict" if isinstance(expected, Mapping) else "an array"
        return Comparison(False, "structure", f"expected {want}, got {type(got).__name__}")
    if set(exp_leaves) != set(got_leaves):
        return Comparison(
            False,
            "structure",
            f"expected keys {sorted(exp_leaves)}, got keys {sorted(map(str, got_leaves))}",
        )
    masks = _leaves(kink_mask) if kink_mask is not None else {}
    worst: Worst | None = None
    worst_ratio = -1.0
    for key, exp in exp_leaves.items():
        g = got_leaves[key]
        label = f"{key}: " if key else ""
        if not isinstance(g, np.ndarray):
            return Comparison(False, "structure", f"{label}expected a {dtype} array, got {type(g).__name__}", leaf=key)
        if g.shape != np.shape(exp):
            return Comparison(False, "shape", f"{label}expected shape {np.shape(exp)}, got {g.shape}", leaf=key)
        if g.dtype.name != dtype:
            return Comparison(False, "dtype", f"{label}expected dtype {dtype}, got {g.dtype.name}", leaf=key)
        e64 = np.asarray(exp, dtype=np.float64)
        g64 = g.astype(np.float64)
        mask = np.asarray(masks.get(key, np.zeros(e64.shape, bool)))
        found = _nonfinite_mismatch(key, e64, g64, mask)
        if found is not None:
            return Comparison(
                False,
                "nonfinite",
                f"{found.where}: expected {found.expected!r}, got {found.got!r}",
                found,
                leaf=key,
            )
        terms = np.zeros(e64.shape) if scale is None else np.broadcast_to(scale, e64.shape)
        ratio, candidate = _worst_finite(key, e64, g64, tolerance, mask, terms)
        if candidate is not None and ratio > worst_ratio:
            worst_ratio, worst = ratio, candidate
    if worst is not None and worst_ratio > 1.0:
        return Comparison(
            False,
            "value",
            f"{worst.where}: expected {worst.expected:.8g}, got {worst.got:.8g} "
            f"(abs err {worst.abs_err:.3g} > allowed {worst.allowed:.3g})",
            worst,
            leaf=worst.leaf,
        )
    return Comparison(True, "", "", worst)


def _nonfinite_mismatch(key: str, exp: np.ndarray, got: np.ndarray, mask: np.ndarray) -> Worst | None:
    bad = (np.isnan(exp) != np.isnan(got)) | ((np.isinf(exp) | np.isinf(got)) & (exp != got))
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    e, g = float(exp[idx]), float(got[idx])
    return Worst(key, idx, e, g, float("inf"), float("inf"), 0.0, bool(mask[idx]))


def _worst_finite(
    key: str, exp: np.ndarray, got: np.ndarray, tolerance: Tolerance, mask: np.ndarray, terms: np.ndarray
) -> tuple[float, Worst | None]:
    finite = np.isfinite(exp)
    if not finite.any():
        return -1.0, None
    err = np.where(finite, np.abs(got - exp), 0.0)
    allowed = tolerance.allowed(np.where(finite, np.abs(exp) + terms, 0.0))
    ratio = err / allowed
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
    e, g, a = float(exp[idx]), float(got[idx]), float(err[idx])
    rel = a / abs(e) if e != 0 else (0.0 if a == 0 else float("inf"))
    return float(ratio[idx]), Worst(key, idx, e, g, a, rel, float(allowed[idx]), bool(mask[idx]))
