"""Where a derivative has a kink, which values are valid there, and the convention.

At a kink the comparison does not use autodiff's pick. It accepts any valid
subgradient (the one closest to what was returned) or, in strict mode, only the
contract's convention. A returned NaN or inf at a kink is never valid.
All of this is numpy on the exact inputs the formula saw, in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference.tolerances import machine_epsilon

Args = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Switch:
    """Where a piecewise derivative changes branch: `value(args)`, shaped like the output, is
    the quantity whose crossing of `at` switches it (relu: x at 0; l1: a - y at 0; the hinge:
    the margin <y, a> at 1, the same across an example's row). The hints use it to tell a
    branch that switches at the wrong point (a threshold of 1 where 0 belongs) from a wrong term."""

    name: str
    at: float
    value: Callable[[Args], np.ndarray]


@dataclass(frozen=True)
class Kink:
    rule: str
    locate: Callable[[Args], np.ndarray]
    """Boolean mask, shaped like the output, of the elements sitting on a kink."""
    nearest: Callable[[Args, np.ndarray], np.ndarray]
    """The valid subgradient closest to the returned value (finite where it is not)."""
    convention: Callable[[Args], np.ndarray]
    side: Callable[[Args], np.ndarray] | None = None
    """Where `locate` also counts elements merely within rounding of the kink (the hinge's
    margin, computed in the formula's own dtype): the one-sided derivative other than the
    convention, NaN where the inputs sit exactly on the kink. Strict mode accepts it there as
    well as the convention, since the formula's rounding may put it on either side."""
    switch: Switch | None = None
    """What the branch depends on, where the hints may look for a misplaced switch."""

    def expected_at(self, args: Args, got: np.ndarray, strict: bool) -> tuple[np.ndarray, np.ndarray]:
        """(mask, value to compare against) for the kink elements of this output."""
        mask = self.locate(args)
        conv = self.convention(args)
        if strict:
            if self.side is None:
                return mask, conv
            side = self.side(args)
            side_closer = np.abs(np.nan_to_num(got) - side) < np.abs(np.nan_to_num(got) - conv)
            return mask, np.where(np.isfinite(side) & side_closer, side, conv)
        nearest = self.nearest(args, got)
        return mask, np.where(np.isfinite(got), nearest, conv)


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _clip_got(lo: float, hi: float) -> Callable[[Args, np.ndarray], np.ndarray]:
    def nearest(args: Args, got: np.ndarray) -> np.ndarray:
        return np.clip(np.nan_to_num(got, nan=0.0), lo, hi)

    return nearest


RELU = Kink(
    rule="relu'(0): any value in [0, 1] is a subgradient; the convention is 0",
    locate=lambda args: _f64(args[0])[0] == 0,
    nearest=_clip_got(0.0, 1.0),
    convention=lambda args: np.zeros(np.shape(args[0])),
    switch=Switch("x", 0.0, lambda args: _f64(args[0])[0]),
)

L1 = Kink(
    rule="where a_i = y_i: any value in [-1, 1] is a subgradient; the convention is 0",
    locate=lambda args: np.equal(*_f64(args[0], args[1])),
    nearest=_clip_got(-1.0, 1.0),
    convention=lambda args: np.zeros(np.shape(args[0])),
    switch=Switch("pred - target", 0.0, lambda args: np.subtract(*_f64(args[0], args[1]))),
)


def _hinge_margin(args: Args) -> tuple[np.ndarray, np.ndarray]:
    """(exact margin <y, a> per example, how far the formula's own rounding may move it).

    The formula computes the margin in its own dtype, with unit roundoff u = eps / 2: a sum
    of k non-zero terms y_i a_i is off by at most gamma_(k-1) sum|y_i a_i| in any order of
    summation, gamma_n = n u / (1 - n u) (one more rounding of the result, where the sum runs
    in a wider type, is covered for k >= 2, as sum|y_i a_i| >= |margin|); the products add k
    roundings unless every y_i is -1, 0 or 1 (then they are exact). A one-hot target's margin
    is its one element of a, exactly: no band at all."""
    a, y = _f64(args[0], args[1])
    terms = y * a
    margin = terms.sum(axis=-1, keepdims=True)
    u = machine_epsilon(np.asarray(args[0]).dtype.name) / 2
    k = np.count_nonzero(terms, axis=-1)[..., None]
    exact_products = np.isin(y, (-1.0, 0.0, 1.0)).all(axis=-1, keepdims=True)
    nu = u * (np.maximum(k - 1, 0) + np.where(exact_products, 0, k))
    gamma = nu / np.maximum(1 - nu, 1e-3)
    return margin, gamma * np.abs(terms).sum(axis=-1, keepdims=True)


def _hinge_locate(args: Args) -> np.ndarray:
    # A margin within rounding of 1 may legitimately land on either side: it counts as the kink.
    margin, slack = _hinge_margin(args)
    return np.broadcast_to(np.abs(margin - 1) <= slack, np.shape(args[0]))


def _hinge_side(args: Args) -> np.ndarray:
    """-y (the margin < 1 side; the convention 0 is the other) where the margin is within
    rounding of 1 but not exactly 1: the formula's own sum may land on either side."""
    margin, _ = _hinge_margin(args)
    y = _f64(args[1])[0]
    return np.where(margin == 1, np.nan, -y)


def _hinge_nearest(args: Args, got: np.ndarray) -> np.ndarray:
    # Valid set: {-t y : t in [0, 1]}, the same t across the whole example.
    _, y = _f64(args[0], args[1])
    g = np.nan_to_num(got, nan=0.0, posinf=0.0, neginf=0.0)
    yy = np.maximum((y * y).sum(axis=-1, keepdims=True), np.finfo(np.float64).tiny)
    t = np.clip(-(g * y).sum(axis=-1, keepdims=True) / yy, 0.0, 1.0)
    return -t * y


HINGE = Kink(
    rule="at <y, a> = 1: any t*(-y) with t in [0, 1] (one t per example) is a subgradient; the convention is 0",
    locate=_hinge_locate,
    nearest=_hinge_nearest,
    convention=lambda args: np.zeros(np.shape(args[0])),
    side=_hinge_side,
    switch=Switch(
        "the margin <target, pred>", 1.0, lambda args: np.broadcast_to(_hinge_margin(args)[0], np.shape(args[0]))
    ),
)
