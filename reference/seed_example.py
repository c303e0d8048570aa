"""The seed's worked example (3 inputs, 2 hidden units, 1 output): inputs and answers.

CONTRACT holds the float64 values that CONTRACT.md fixes. SEED_PRINTED holds the
numbers as the student wrote them, as strings, because how many digits were printed
says how closely they can agree: the seed rounded intermediates to four digits.
The inputs themselves are reference.families.SEED_EXAMPLE.
"""

from __future__ import annotations

import numpy as np

from reference.families import SEED_EXAMPLE

PARAMS, X, Y = SEED_EXAMPLE.args

CONTRACT: dict[str, np.ndarray] = {
    "loss": np.array(3.1482375),
    "a": np.array([0.34432734]),
    "b2": np.array([0.80116566]),
    "b1": np.array([-0.11391186, -0.02776501]),
    "W2": np.array([[0.4766406], [0.36085585]]),
    "W1": np.array([[0.00683471, 0.0016659], [0.15719837, 0.03831571], [0.0364518, 0.0088848]]),
}
"""Contract values, given to 8 significant digits: they agree with float64 to 1e-7."""

SEED_PRINTED: dict[str, list[list[str]] | list[str] | str] = {
    "loss": "3.148",
    "a": ["0.3443"],
    "b2": ["0.8011"],
    "b1": ["-0.1139", "-0.0278"],
    "W2": [["0.47657"], ["0.360815"]],
    "W1": [["0.0068", "0.0016656"], ["0.15718", "0.038308"], ["0.036448", "0.00888"]],
}
"""The boxed values of seed pages 13-15 (dW1, dW2 as Delta w^1_ij, Delta w^2_j1)."""

SEED_INTERMEDIATE_TYPO = ("b1", 0, "-0.01139")
"""Erratum 4: printed as -0.01139 on page 12; the value the seed then uses is -0.1139."""


def printed_tolerance(text: str) -> float:
    """How far a printed number may be from the truth: 5e-4 relative, or half a unit
    in its last printed digit, whichever is larger."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return max(5e-4 * abs(float(text)), 0.5 * 10.0**-decimals)


def printed_array(key: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, tolerances) of a printed entry, shaped like the contract value."""
    texts = np.array(SEED_PRINTED[key], dtype=object)
    values = np.vectorize(float, otypes=[float])(texts)
    tols = np.vectorize(printed_tolerance, otypes=[float])(texts)
    return values, tols
