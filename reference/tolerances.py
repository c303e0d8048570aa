"""The one tolerance table: how far a formula may be from the truth, per dtype.

An element passes when |got - expected| <= atol + rtol * |expected|. The truth is the
reference evaluated in float64 on the (already rounded) inputs, so the table only
has to absorb the formula's own rounding in its dtype. It is per element and does not
grow with the array size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def allowed(self, expected: np.ndarray) -> np.ndarray:
        return self.atol + self.rtol * np.abs(expected)


TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-9, atol=1e-12),
    "float32": Tolerance(rtol=2e-5, atol=1e-6),
    "float16": Tolerance(rtol=4e-3, atol=1e-3),
    "bfloat16": Tolerance(rtol=3e-2, atol=8e-3),
}

DTYPES: tuple[str, ...] = tuple(TOLERANCES)


def machine_epsilon(dtype: str) -> float:
    import jax.numpy as jnp

    return float(jnp.finfo(jnp.dtype(dtype)).eps)
