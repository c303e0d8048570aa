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
class Kink:
    rule: str
    locate: Callable[[Args], np.ndarray]
    """Boolean mask, shaped like the output, of the elements sitting on a kink."""
    nearest: Callable[[Args, np.ndarray], np.ndarray]
    """The valid subgradient closest to the returned value (finite where it is not)."""
    convention: Callable[[Args], np.ndarray]

    def expected_at(self, args: Args, got: np.ndarray, strict: bool) -> tuple[np.ndarray, np.ndarray]:
        """(mask, value to compare against) for the kink elements of this output."""
        mask = self.locate(args)
        conv = self.convention(args)
        if strict:
            return mask, conv
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
)

L1 = Kink(
    rule="where a_i = y_i: any value in [-1, 1] is a subgradient; the convention is 0",
    locate=lambda args: np.equal(*_f64(args[0], args[1])),
    nearest=_clip_got(-1.0, 1.0),
    convention=lambda args: np.zeros(np.shape(args[0])),
)


def _hinge_locate(args: Args) -> np.ndarray:
    a, y = _f64(args[0], args[1])
    terms = y * a
    margin = terms.sum(axis=-1, keepdims=True)
    # The formula computes the margin in its own dtype; a margin within rounding of 1
    # may legitimately land on either side, so it counts as the kink.
    eps = machine_epsilon(np.asarray(args[0]).dtype.name)
    slack = 4 * eps * np.maximum(np.abs(terms).sum(axis=-1, keepdims=True), 1.0)
    return np.broadcast_to(np.abs(margin - 1) <= slack, a.shape)


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
)
