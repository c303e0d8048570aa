"""The one tolerance table: how far a formula may be from the truth, per dtype.

An element passes when

    |got - expected| <= atol + rtol * |expected| + C * eps * S

where eps is the dtype's machine epsilon and S the truth's sensitivity to relative
perturbations of the inputs (reference/conditioning.py). The truth is the reference
evaluated in float64 on the (already rounded) inputs, so atol and rtol only absorb the
formula's own rounding of a well-conditioned result; the S term is what a
backward-stable formula is entitled to where the result is ill-conditioned (logits of
1e4 whose softmax is of order 1, a cosine gradient whose terms cancel). It is per
element and does not grow with the array size. docs/tolerances.md explains the choice
of C with the tests that pin it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

CONDITIONING_FACTOR = 4.0
"""C: how many rounding errors per input a backward-stable formula may make. The
correct-but-unusual forms of tests/corpus/correct_forms.py need about 2 (textbook
cross-entropy at logits near -1e4 in float32); every mistake of the corpora fails at 8."""

ROUNDING_FACTOR = 1.0
"""How many times eps * R a function checked by handgrad.verify may be off, R being the
rounding of its truth's own program (reference/rounding.py): R is already 3 times the spread
of randomly rounded runs (autodiff's float32 layer-norm gradient is off by about 0.5 eps R),
so it is taken once. It is what lets the exact answer 0 pass where the truth is 0 by
cancellation (the gradient of sum(softmax(x)))."""


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float | np.ndarray
    """A number, or one per element (input_floor)."""
    eps: float = 0.0
    """The dtype's machine epsilon, for the conditioning term."""

    def allowed(self, expected: np.ndarray, sensitivity: np.ndarray | float = 0.0) -> np.ndarray:
        return self.atol + self.rtol * np.abs(expected) + CONDITIONING_FACTOR * self.eps * np.asarray(sensitivity)


TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-13, atol=1e-14, eps=2.0**-52),
    "float32": Tolerance(rtol=2e-5, atol=1e-6, eps=2.0**-23),
    "float16": Tolerance(rtol=4e-3, atol=1e-3, eps=2.0**-10),
    "bfloat16": Tolerance(rtol=3e-2, atol=8e-3, eps=2.0**-7),
}

DTYPES: tuple[str, ...] = tuple(TOLERANCES)


def input_floor(tolerance: Tolerance, x: np.ndarray, dtype: str) -> Tolerance:
    """`tolerance` with its absolute floor scaled, element by element, by min(1, |x|) (an
    elementwise function's input), and never below the dtype's smallest subnormal (the
    spacing of the results there). A backward-stable activation is accurate to rounding of
    values of the order of x; a form that cancels near 0 is not, and a fixed floor admitted
    it (tanh as 2 sigmoid(2x) - 1 is 59% off at x ~ 1e-7 in float32)."""
    import ml_dtypes

    tiny = float(ml_dtypes.finfo(dtype).smallest_subnormal)
    scale = np.minimum(1.0, np.nan_to_num(np.abs(np.asarray(x, np.float64)), nan=1.0))  # (NaN x: the fixed floor)
    return dataclasses.replace(tolerance, atol=np.maximum(tolerance.atol * scale, tiny))


def truth_floor(tolerance: Tolerance, want: Any, dtype: str) -> Tolerance | dict[str, Tolerance]:
    """`tolerance` with its absolute floor scaled by the typical size of each output (one per
    leaf of a dict truth): the median of its nonzero finite |truth| that the dtype can hold,
    never below the dtype's smallest normal number. A result's accuracy is relative to its own
    size, so multiplying f by 1e-13 must not turn every answer right, nor multiplying it by
    1000 turn a right one wrong (a red team's softplus gradient as 1 - sigmoid(-z) failed for
    1000 f only). The median, not the largest value: one large element (a truth of 1e10 beside
    2 and -3, e^88 in the overflow family, a singular example in a vmap stack) must not switch
    off the check of the small ones (a reviewer's sign error and extra +1 passed so). A truth
    with no such element keeps the fixed floor."""
    import ml_dtypes

    # (never below the smallest normal number: below it a dtype keeps fewer digits, and float16's
    # own sigmoid(-12), 6e-6, is 0 where autodiff's is not)
    tiny = float(ml_dtypes.finfo(dtype).smallest_normal)
    largest = float(ml_dtypes.finfo(dtype).max)

    def scaled(w: Any) -> Tolerance:
        size = np.abs(np.asarray(w, np.float64))
        typical = size[np.isfinite(size) & (size > 0) & (size <= largest)]
        scale = float(np.median(typical)) if typical.size else 1.0
        return dataclasses.replace(tolerance, atol=max(float(tolerance.atol) * scale, tiny))

    if isinstance(want, Mapping):
        return {key: scaled(w) for key, w in want.items()}
    return scaled(want)


def machine_epsilon(dtype: str) -> float:
    import jax.numpy as jnp

    return float(jnp.finfo(jnp.dtype(dtype)).eps)
