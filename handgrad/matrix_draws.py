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

A matrix argument keeps the structure of its example (`structure`): where every matrix of the
example is symmetric, every family draws it symmetric, and where every one is also positive
definite, symmetric positive definite. A function of a covariance (a log-determinant through
`cholesky`, an `eigh`) is meant for those alone: JAX's `cholesky` and `eigh` read only the
symmetric part of their input, so on a general matrix f's true gradient is symmetrized, and a
right hand gradient for symmetric inputs (inv(A) for log det A) failed there; on a general
draw `cholesky` is NaN, and only the example was left to check.
"""

from __future__ import annotations

import numpy as np

from handgrad.arguments import Call

Shape = tuple[int, ...]


def is_matrix(shape: Shape) -> bool:
    """At least two axes, the last two each of length 2 or more."""
    return len(shape) >= 2 and min(shape[-2:]) >= 2


def matrix_arguments(call: Call, family: str = "") -> list[int]:
    """The float arguments (indices) the matrix families draw as matrices: matrix-shaped and
    not held at their given values (fixed=); for "low-rank", not positive definite either (a
    rank-deficient matrix is not: such an argument is drawn of full rank there)."""
    return [
        i
        for i, a in enumerate(call.floats)
        if is_matrix(a.shape) and i not in call.held and not (family == "low-rank" and structure(a) == SPD)
    ]


def low_rank(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Matrices X = A B / sqrt(r) of rank r < min(m, n) in their last two axes (m, n): A of
    shape (m, r) and B of shape (r, n) standard normal, so each element of X has variance 1
    as in `normal`; one r for the whole argument, uniform in 1 .. min(m, n) - 1."""
    *lead, m, n = shape
    r = int(rng.integers(1, min(m, n)))
    a = rng.standard_normal((*lead, m, r))
    b = rng.standard_normal((*lead, r, n))
    return np.asarray((a @ b) / np.sqrt(r))


def repeated_singular_values(rng: np.random.Generator, shape: Shape, symmetric: bool = False) -> np.ndarray:
    """Matrices X = U diag(s) V^T in their last two axes (m, n), k = min(m, n): U (m, k) and
    V (n, k) with orthonormal columns (QR of standard normal matrices) and s positive, from
    10^-0.3 to 10^0.3 (about 0.5 to 2), sorted, with one run of 2 to k of them set equal
    (every one of them where k = 2). X has full rank: a rank-deficient X is `low-rank`'s.
    `symmetric` (square X): V = U, so X is symmetric positive definite with equal eigenvalues."""
    *lead, m, n = shape
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((*lead, m, k)))[0]
    v = u if symmetric else np.linalg.qr(rng.standard_normal((*lead, n, k)))[0]
    s = np.sort(10.0 ** rng.uniform(-0.3, 0.3, (*lead, k)), axis=-1)[..., ::-1].copy()
    size = int(rng.integers(2, k + 1))
    start = int(rng.integers(0, k - size + 1))
    s[..., start : start + size] = s[..., start : start + 1]
    return np.asarray((u * s[..., None, :]) @ np.swapaxes(v, -1, -2))


MATRIX_DRAWS = {"low-rank": low_rank, "repeated-sv": repeated_singular_values}
"""verify's matrix families, by name: each draws the matrix arguments so, the others standard normal."""


SYMMETRIC, SPD = "symmetric", "spd"
SPD_FLOOR = 1e-2
"""The smallest eigenvalue of an SPD draw, relative to its largest (a condition number of at most 100)."""


def structure(example: np.ndarray) -> str | None:
    """SPD where every matrix of `example` (in its last two axes) is symmetric to within its
    dtype's rounding, not diagonal, and positive definite; SYMMETRIC where symmetric and not
    diagonal but not that; else None (not square, not symmetric, or diagonal: an example of
    eye(n) is as often a placeholder for any matrix as a covariance, and a transposed
    gradient passes on symmetric draws only)."""
    a = np.asarray(example)
    if not is_matrix(a.shape) or a.shape[-1] != a.shape[-2] or not np.issubdtype(a.dtype, np.floating):
        return None
    a64 = a.astype(np.float64)
    if not np.all(np.isfinite(a64)):
        return None
    eps = float(np.finfo(a.dtype).eps) if a.dtype.itemsize >= 4 else 2.0**-7  # (bfloat16 and float16: coarse)
    scale = np.max(np.abs(a64), axis=(-2, -1), keepdims=True)
    if not np.all(np.abs(a64 - np.swapaxes(a64, -1, -2)) <= 8 * eps * scale) or not np.all(scale > 0):
        return None
    off = a64 * (1 - np.eye(a.shape[-1]))
    if not np.all(np.max(np.abs(off), axis=(-2, -1)) > 0):  # (eye(n), a diagonal: a placeholder, not a structure)
        return None
    try:
        np.linalg.cholesky((a64 + np.swapaxes(a64, -1, -2)) / 2)
    except np.linalg.LinAlgError:
        return SYMMETRIC
    return SPD


def shaped(kind: str | None, x: np.ndarray) -> np.ndarray:
    """A family's draw `x` (float64, matrix-shaped) given the structure `kind`: symmetric as
    (X + X^T) / sqrt(2) (off-diagonal elements keep x's variance); SPD as the matrix absolute
    value Q |L| Q^T of that, its eigenvalues kept at least SPD_FLOOR of the largest (the
    family's scale stays, and a draw is positive definite in every dtype, not singular to
    float16's rounding)."""
    if kind is None:
        return x
    sym = (x + np.swapaxes(x, -1, -2)) / np.sqrt(2.0)
    if kind == SYMMETRIC:
        return sym
    w, q = np.linalg.eigh(sym)
    w = np.abs(w)
    w = np.maximum(w, SPD_FLOOR * np.max(w, axis=-1, keepdims=True))
    spd = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
    return (spd + np.swapaxes(spd, -1, -2)) / 2
