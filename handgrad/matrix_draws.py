"""verify's draws for matrix arguments: rank-deficient, and with repeated singular values.

A float argument with at least two axes, the last two both of length 2 or more, is a matrix
(a stack of them, one per leading index). Standard normal matrices have full rank and
distinct singular values with probability 1, so a hand gradient that is right only there
passes every other family. Two such gradients are common:

- one that divides by a singular value, or inverts X^T X, where the true derivative stays
  finite: it fails where X is rank-deficient (`low-rank`);
- one built from a decomposition whose factors are unique only for distinct singular values
  (U from eigh(X X^T) and V from eigh(X^T X) separately; a divided difference
  (h(s_i) - h(s_j)) / (s_i - s_j) without its limit h'(s_i)): it fails where two singular
  values are equal (`repeated-sv`), while the function itself is smooth there.

Draws are in float64; the engine casts to each dtype, so a rank r in float64 is rank r to
within the dtype's rounding, and equal singular values are equal to within it.
"""

from __future__ import annotations

import numpy as np

from handgrad.arguments import Call

Shape = tuple[int, ...]


def is_matrix(shape: Shape) -> bool:
    """At least two axes, the last two each of length 2 or more."""
    return len(shape) >= 2 and min(shape[-2:]) >= 2


def matrix_arguments(call: Call) -> list[int]:
    """The float arguments (indices) the matrix families draw as matrices: matrix-shaped and
    not held at their given values (fixed=)."""
    return [i for i, a in enumerate(call.floats) if is_matrix(a.shape) and i not in call.held]


def low_rank(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Matrices X = A B / sqrt(r) of rank r < min(m, n) in their last two axes (m, n): A of
    shape (m, r) and B of shape (r, n) standard normal, so each element of X has variance 1
    as in `normal`; one r for the whole argument, uniform in 1 .. min(m, n) - 1."""
    *lead, m, n = shape
    r = int(rng.integers(1, min(m, n)))
    a = rng.standard_normal((*lead, m, r))
    b = rng.standard_normal((*lead, r, n))
    return np.asarray((a @ b) / np.sqrt(r))


def repeated_singular_values(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Matrices X = U diag(s) V^T in their last two axes (m, n), k = min(m, n): U (m, k) and
    V (n, k) with orthonormal columns (QR of standard normal matrices) and s positive, from
    10^-0.3 to 10^0.3 (about 0.5 to 2), sorted, with one run of 2 to k of them set equal
    (every one of them where k = 2). X has full rank: a rank-deficient X is `low-rank`'s."""
    *lead, m, n = shape
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((*lead, m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((*lead, n, k)))[0]
    s = np.sort(10.0 ** rng.uniform(-0.3, 0.3, (*lead, k)), axis=-1)[..., ::-1].copy()
    size = int(rng.integers(2, k + 1))
    start = int(rng.integers(0, k - size + 1))
    s[..., start : start + size] = s[..., start : start + 1]
    return np.asarray((u * s[..., None, :]) @ np.swapaxes(v, -1, -2))


MATRIX_DRAWS = {"low-rank": low_rank, "repeated-sv": repeated_singular_values}
"""verify's matrix families, by name: each draws the matrix arguments so, the others standard normal."""
