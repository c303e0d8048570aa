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

import weakref

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
        if is_matrix(a.shape) and i not in call.held and not (family == "low-rank" and structures(call)[i] == SPD)
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


def _symmetric(a: np.ndarray) -> bool:
    """Every matrix of `a` (a square float array, finite) equal to its transpose to within
    8 units of its dtype's rounding of its largest element."""
    import ml_dtypes

    if not is_matrix(a.shape) or a.shape[-1] != a.shape[-2] or not np.issubdtype(a.dtype, np.floating):
        return False
    a64 = a.astype(np.float64)
    scale = np.max(np.abs(a64), axis=(-2, -1), keepdims=True)
    eps = float(ml_dtypes.finfo(a.dtype).eps)
    return bool(
        np.all(np.isfinite(a64))
        and np.all(scale > 0)
        and np.all(np.abs(a64 - np.swapaxes(a64, -1, -2)) <= 8 * eps * scale)
    )


_STRUCTURES: dict[int, dict[int, str | None]] = {}


def structures(call: Call) -> dict[int, str | None]:
    """Each float argument's structure (found once per call): SYMMETRIC or SPD where the
    example is symmetric, f's program holds a cholesky or an eigh (SYMMETRIC_ONLY) and f reads
    only the argument's symmetric part; SPD where the example is also positive definite and f
    is not finite at a symmetric indefinite matrix; else None.

    What the example looks like is not enough: a symmetric example is as often a placeholder
    (full((n, n), 0.1), a Gram matrix) for a weight matrix, where a gradient missing a
    transpose passes on symmetric draws alone. So f is asked, at the example with a small
    asymmetric change A + E against its symmetric part A + (E + E^T) / 2: equal results (to
    float64 rounding) mean f reads the symmetric part alone, as JAX's cholesky and eigh do, and
    its true gradient on a general matrix is symmetrized: a right inv(A) fails there."""
    cached = _STRUCTURES.get(id(call))
    if cached is not None:
        return cached
    found: dict[int, str | None] = dict.fromkeys(range(len(call.floats)))
    candidates = [i for i, a in enumerate(call.floats) if i not in call.held and _symmetric(a)]
    floats = [np.asarray(a, np.float64) for a in call.floats]
    if candidates and _declares_symmetric(call, floats):  # (one trace of f for every argument)
        found.update({i: _structure(call, floats, i) for i in candidates})
    _STRUCTURES[id(call)] = found
    weakref.finalize(call, _STRUCTURES.pop, id(call), None)  # (kept while the call lives, never longer)
    return found


SYMMETRIC_ONLY = frozenset({"cholesky", "eigh"})
"""Primitives defined for symmetric (Hermitian) matrices alone: JAX's cholesky and eigh read
the lower triangle (after symmetrizing), so an f built on them declares its matrix symmetric.
x^T A x reads A's symmetric part too, but of any A: its gradient (A + A^T) x written 2 A x is
wrong, and passed on symmetric draws."""


def _declares_symmetric(call: Call, floats: list[np.ndarray]) -> bool:
    """Whether f's program holds a SYMMETRIC_ONLY primitive (in nested programs too); False
    where f cannot be traced at `floats`."""
    import jax
    from jax.extend.core import ClosedJaxpr, Jaxpr

    def holds(jaxpr: Jaxpr) -> bool:
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in SYMMETRIC_ONLY:
                return True
            for value in eqn.params.values():
                for sub in value if isinstance(value, (tuple, list)) else (value,):
                    inner = sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub
                    if isinstance(inner, Jaxpr) and holds(inner):
                        return True
        return False

    try:
        return holds(jax.make_jaxpr(lambda *fl: call.f(*call.full(list(fl))))(*floats).jaxpr)
    except Exception:
        return False


def _structure(call: Call, floats: list[np.ndarray], i: int) -> str | None:
    """Argument i's structure, f having a SYMMETRIC_ONLY primitive (see `structures`);
    `floats`: the example's float arguments in float64."""
    rng = np.random.default_rng(0)
    a = floats[i]
    scale = float(np.max(np.abs(a)))
    change = 1e-3 * scale * rng.standard_normal(a.shape)

    def f_at(x: np.ndarray) -> list[np.ndarray]:
        import jax

        out = call.f(*call.full([x if k == i else v for k, v in enumerate(floats)]))
        return [np.asarray(leaf, np.float64) for leaf in jax.tree.leaves(out)]

    try:
        general = f_at(a + change)
        symmetric_part = f_at(a + (change + np.swapaxes(change, -1, -2)) / 2)
        if not all(
            np.allclose(g, s, rtol=1e-9, atol=1e-12 * max(1.0, float(np.max(np.abs(s), initial=0.0))), equal_nan=True)
            for g, s in zip(general, symmetric_part, strict=True)
        ):
            return None
        sym = (a + np.swapaxes(a, -1, -2)) / 2
        np.linalg.cholesky(sym)
        lowest = np.linalg.eigvalsh(sym)[..., :1]
        indefinite = sym - (lowest + 0.5 * scale)[..., None] * np.eye(a.shape[-1])
        return SPD if not all(np.all(np.isfinite(v)) for v in f_at(indefinite)) else SYMMETRIC
    except np.linalg.LinAlgError:  # (the example is symmetric, not positive definite)
        return SYMMETRIC
    except Exception:
        return None


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
