"""Compare a returned value with the truth, element by element, and name the worst element.

Where general tools are weak, this is strict: shapes and dtypes must match exactly (no
broadcasting, no silent casts), NaN and inf must sit where the truth has them, and the
tolerance is per element by dtype and by the truth's conditioning (reference/tolerances.py),
never scaled by the array size. A truth beyond the dtype's range (a float16 sum of squares
past 65504) is expected as the inf it rounds to. Outputs are arrays or, for the network,
dicts of arrays compared leaf by leaf.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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
    undetermined: int = 0
    """Elements not judged: the answer is not finite where the truth is, and the input is a
    singular point of the function in this dtype (_undetermined)."""

    def __bool__(self) -> bool:
        return self.ok


def _leaves(tree: Tree) -> dict[str, Any]:
    return dict(tree) if isinstance(tree, Mapping) else {"": tree}


def compare(
    expected: Tree,
    got: Tree,
    *,
    dtype: str,
    tolerance: Tolerance | Mapping[str, Tolerance],
    kink_mask: Tree | None = None,
    sensitivity: Tree | Callable[[], Tree] | None = None,
    sensitivity_at: Callable[[Tree], Tree] | None = None,
    singular: bool = False,
) -> Comparison:
    """Compare `got` with `expected` (float64 truth); every leaf must have `dtype`.

    `singular`: a NaN or inf answer where the input is a singular point of the function in
    this dtype is not judged (_undetermined): for handgrad.verify's functions, whose domains
    nobody stated; never for the contract's, which have no such points.

    `tolerance`: one for every leaf, or one per leaf of a dict truth (by key).
    `sensitivity` is the truth's S (reference/conditioning.py), shaped like `expected`,
    or a function computing it: it is called only when an element fails the fixed
    tolerance, since the S term can only widen it. `sensitivity_at`, where given, is used
    instead: it is given the elements that fail the fixed tolerance (boolean masks shaped like
    `expected`) and need return S only there.
    """
    first = _compare(expected, got, dtype, tolerance, kink_mask, None)
    if first.ok or first.problem not in ("value", "nonfinite") or (sensitivity is None and sensitivity_at is None):
        return first

    def s_where(needed: Tree) -> Tree:
        if sensitivity_at is not None:
            return sensitivity_at(needed)
        return sensitivity() if callable(sensitivity) else sensitivity

    if first.problem == "nonfinite":
        if not singular or not _well_formed(expected, got, dtype):
            return first
        found = _undetermined(expected, got, tolerance, _not_finite_answers(expected, got), s_where)
        if found is None:
            return first
        kept, count = found
        again = compare(expected, kept, dtype=dtype, tolerance=tolerance, kink_mask=kink_mask,
                        sensitivity=sensitivity, sensitivity_at=sensitivity_at, singular=True)  # fmt: skip
        return dataclasses.replace(again, undetermined=again.undetermined + count)
    s = s_where(_beyond_fixed(expected, got, tolerance))
    return _compare(expected, got, dtype, tolerance, kink_mask, s)


def _well_formed(expected: Tree, got: Tree, dtype: str) -> bool:
    """Every leaf of `got` is an array of its truth's shape and of `dtype` (_compare returns at
    the first leaf's problem: a NaN in one leaf of a dict is found before a later leaf's wrong
    shape, which must still be told, not reach the NaN rule below)."""
    exp_leaves, got_leaves = _leaves(expected), _leaves(got)
    if isinstance(expected, Mapping) != isinstance(got, Mapping) or set(exp_leaves) != set(got_leaves):
        return False
    return all(
        isinstance(g, np.ndarray) and g.shape == np.shape(exp_leaves[k]) and g.dtype.name == dtype
        for k, g in got_leaves.items()
    )


def _not_finite_answers(expected: Tree, got: Tree) -> Tree:
    """Where the answer is NaN or inf and the truth is finite (and representable), per leaf."""
    masks = {}
    for key, exp in _leaves(expected).items():
        g = np.asarray(_leaves(got)[key])
        e64 = _overflowed(np.asarray(exp, np.float64), g.dtype)
        masks[key] = np.isfinite(e64) & ~np.isfinite(g.astype(np.float64))
    return masks if isinstance(expected, Mapping) else masks[""]


UNDETERMINED = 1e3
"""How many times the output's typical size the truth's sensitivity S must be, besides rounding
moving the truth by more than itself (C eps S > |truth|), for a NaN there to go unjudged: a
condition number of 1e3 or more, whatever the dtype. A well-determined 0 (l2's gradient at a
tie, S of the order of the inputs) stays wrong in float16 too, where C eps S alone exceeded a
thousandth of the output's size (a reviewer's finding)."""


def _undetermined(
    expected: Tree,
    got: Tree,
    tolerance: Tolerance | Mapping[str, Tolerance],
    where: Tree,
    s_where: Callable[[Tree], Tree],
) -> tuple[Tree, int] | None:
    """Where a NaN or inf answer (`where`) meets a truth no answer in this dtype can hold a digit
    of: rounding the inputs to the dtype moves the truth by C eps S, more than the truth there,
    and S is UNDETERMINED times the output's typical size (the median finite |truth| of the
    leaf) or more, so the input is, in this dtype, a singular point (jax's own gradient of inv(A)
    at a rank-deficient A, float64 truth 3e14 only by rounding, is NaN in float32: a red team's
    false failure). Those elements take the truth's value in `got` (not judged, counted); None
    when some non-finite answer is not so (NaN where the truth is well determined stays wrong,
    as in float16 norms)."""
    from reference.tolerances import CONDITIONING_FACTOR

    s_leaves = _leaves(s_where(where))
    masks = _leaves(where)
    kept = {}
    count = 0
    for key, exp in _leaves(expected).items():
        g = np.asarray(_leaves(got)[key])
        mask = np.asarray(masks[key], bool)
        if not mask.any():
            kept[key] = g
            continue
        if key not in s_leaves or s_leaves[key] is None:
            return None
        e64 = np.asarray(exp, np.float64)
        finite = np.abs(e64[np.isfinite(e64)])
        # The leaf's typical size: its median (a vmap stack holds well-posed examples of size 1
        # beside singular ones of 1e18, whose largest value would hide the others' scale).
        scale = float(np.median(finite)) if finite.size else 0.0
        scale = scale or float(np.max(finite, initial=0.0))
        tol = tolerance[key] if isinstance(tolerance, Mapping) else tolerance
        s_leaf = np.broadcast_to(np.asarray(s_leaves[key], np.float64), e64.shape)
        with np.errstate(invalid="ignore", over="ignore"):
            lost = mask & (CONDITIONING_FACTOR * tol.eps * s_leaf > np.abs(e64)) & (s_leaf > UNDETERMINED * scale)
            lost &= scale > 0
        if not np.array_equal(lost, mask):
            return None
        kept[key] = np.where(mask, e64.astype(g.dtype), g)
        count += int(mask.sum())
    if not count:
        return None
    return (kept if isinstance(expected, Mapping) else kept[""]), count


def _beyond_fixed(expected: Tree, got: Tree, tolerance: Tolerance | Mapping[str, Tolerance]) -> Tree:
    """Where each leaf's finite elements fail the fixed tolerance (no S): the elements whose S
    can change a verdict. Shaped like `expected` (compare has checked shapes, dtypes and
    non-finite elements by then)."""
    masks = {}
    for key, exp in _leaves(expected).items():
        tol = tolerance[key] if isinstance(tolerance, Mapping) else tolerance
        e64 = np.asarray(exp, np.float64)
        g64 = np.asarray(_leaves(got)[key]).astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            masks[key] = np.isfinite(e64) & (np.abs(g64 - e64) > tol.allowed(np.abs(e64)))
    return masks if isinstance(expected, Mapping) else masks[""]


def _some_keys(keys: Mapping[str, Any], most: int = 8, width: int = 40) -> str:
    """The returned keys, a few and each cut short: they are the submission's to choose, and a
    reply with thousands of long keys must not become a report of that size."""
    names = sorted(map(str, keys))
    shown = [k if len(k) <= width else k[: width - 1] + "…" for k in names[:most]]
    return str(shown) + (f" … ({len(names)} keys in all)" if len(names) > most else "")


def _compare(
    expected: Tree,
    got: Tree,
    dtype: str,
    tolerance: Tolerance | Mapping[str, Tolerance],
    kink_mask: Tree | None,
    sensitivity: Tree | None,
) -> Comparison:
    exp_leaves, got_leaves = _leaves(expected), _leaves(got)
    if isinstance(expected, Mapping) != isinstance(got, Mapping):
        want = "a dict" if isinstance(expected, Mapping) else "an array"
        return Comparison(False, "structure", f"expected {want}, got {type(got).__name__}")
    if set(exp_leaves) != set(got_leaves):
        return Comparison(
            False,
            "structure",
            f"expected keys {sorted(exp_leaves)}, got keys {_some_keys(got_leaves)}",
        )
    masks = _leaves(kink_mask) if kink_mask is not None else {}
    sens = _leaves(sensitivity) if sensitivity is not None else {}
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
        e64 = _overflowed(np.asarray(exp, dtype=np.float64), g.dtype)
        g64 = g.astype(np.float64)
        mask = np.asarray(masks.get(key, np.zeros(e64.shape, bool)))
        found = _nonfinite_mismatch(key, e64, g64, mask)
        if found is not None:
            return Comparison(
                False,
                "nonfinite",
                f"{found.where}: expected {_digits(found.expected, dtype)}, got {_digits(found.got, dtype)}",
                found,
                leaf=key,
            )
        s_leaf = sens.get(key)
        terms = np.zeros(e64.shape) if s_leaf is None else np.broadcast_to(np.asarray(s_leaf, np.float64), e64.shape)
        tol = tolerance[key] if isinstance(tolerance, Mapping) else tolerance
        ratio, candidate = _worst_finite(key, e64, g64, tol, mask, terms)
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


_SHOWN_DIGITS = {"float64": 17, "float32": 8, "float16": 4, "bfloat16": 4}
"""Significant digits that tell two values of each dtype apart (more would show float64 noise)."""


def _digits(value: float, dtype: str) -> str:
    """`value` (inf and nan as numpy writes them) to the digits the checked dtype holds."""
    return f"{value:.{_SHOWN_DIGITS.get(dtype, 17)}g}" if np.isfinite(value) else repr(value)


def _overflowed(exp: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The truth as the dtype can hold it: values past its largest finite number become inf."""
    with np.errstate(over="ignore"):
        big = np.isfinite(exp) & np.isinf(exp.astype(dtype))
    return np.where(big, np.copysign(np.inf, exp), exp) if big.any() else exp  # (sign(0) * inf warned)


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
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(finite, np.abs(got - exp), 0.0)
    allowed = tolerance.allowed(np.where(finite, np.abs(exp), 0.0), np.where(finite, terms, 0.0))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # an exact answer's allowance may be ~0
        ratio = err / allowed
    # An allowance that is NaN allows nothing but an exact answer: were it left NaN, argmax
    # would pick it and every other element would go unjudged.
    ratio = np.where(np.isnan(ratio), np.where(err == 0, 0.0, np.inf), ratio)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
    e, g, a = float(exp[idx]), float(got[idx]), float(err[idx])
    rel = a / abs(e) if e != 0 else (0.0 if a == 0 else float("inf"))
    return float(ratio[idx]), Worst(key, idx, e, g, a, rel, float(allowed[idx]), bool(mask[idx]))
