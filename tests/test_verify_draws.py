"""verify's draws beyond standard normal: matrices that are rank-deficient or have repeated
singular values (handgrad/matrix_draws.py), and draws made again where f is not finite
(handgrad/finite_draws.py).

The matrix cases use f(X) = sum_i sqrt(s_i^2 + 1) = tr (X^T X + I)^(1/2), s_i the singular
values of X: smooth everywhere, rank-deficient and repeated singular values included. Its
gradient is U diag(s / sqrt(s^2 + 1)) V^T = X V diag(1 / sqrt(s^2 + 1)) V^T for the thin SVD
X = U diag(s) V^T, that is X (X^T X + I)^(-1/2).
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from handgrad.cases import case_inputs

SEEDS = range(10)
MATRIX_FAMILIES = ["normal", "low-rank", "repeated-sv"]


def soft_nuclear_norm(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.sqrt(jnp.linalg.svd(x, compute_uv=False) ** 2 + 1))


def through_gram(x: jax.Array) -> jax.Array:
    """X V diag(1 / sqrt(lambda + 1)) V^T from eigh(X^T X) = V diag(lambda) V^T: right for every X."""
    lam, v = jnp.linalg.eigh(x.T @ x)
    return x @ (v / jnp.sqrt(lam + 1)) @ v.T


def pairing_two_eighs(x: jax.Array) -> jax.Array:
    """U from eigh(X X^T) and V from eigh(X^T X), each column of U signed to match X v: the
    singular vectors pair up where the singular values are distinct. Where two are equal, each
    eigh picks its own basis of their shared space, and U V^T is no longer X's."""
    n = x.shape[-1]
    lam, v = jnp.linalg.eigh(x.T @ x)
    _, u = jnp.linalg.eigh(x @ x.T)
    u, v, s = u[:, ::-1][:, :n], v[:, ::-1], jnp.sqrt(jnp.maximum(lam[::-1], 0))
    u = u * jnp.sign(jnp.sum(u * (x @ v), axis=0))
    return (u * (s / jnp.sqrt(s * s + 1))) @ v.T


def dividing_by_s(x: jax.Array) -> jax.Array:
    """U = X V / s with s = sqrt(eigvalsh(X^T X)): right where X has full rank. Where it does
    not, rounding leaves the zero eigenvalues of X^T X near +-eps, and the square root of a
    negative one is NaN (the true derivative there is finite: its s / sqrt(s^2 + 1) is 0)."""
    lam, v = jnp.linalg.eigh(x.T @ x)
    s = jnp.sqrt(lam)
    return (x @ v / s * (s / jnp.sqrt(s * s + 1))) @ v.T


def _failed_families(report: Any) -> set[str]:
    return {r.case.family.name for r in report.failures}


def test_the_matrix_families_draw_what_they_say() -> None:
    """low-rank: rank < min(m, n) in the last two axes of every matrix argument (a stack of
    them too); repeated-sv: full rank with a run of equal singular values. A vector argument is
    standard normal there, a fixed matrix stays as given, and without a matrix argument the two
    families are not drawn at all."""

    def f(w: Any, v: Any, stack: Any, held: Any) -> Any:
        return jnp.sum(w) * jnp.sum(v) + jnp.sum(stack) + jnp.sum(held)

    rng = np.random.default_rng(0)
    w, v, stack, held = rng.standard_normal((5, 3)), rng.standard_normal(4), rng.standard_normal((2, 3, 4)), np.eye(3)
    grad = lambda w, v, stack, held: jnp.sum(v) * jnp.ones_like(w)  # noqa: E731
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"], transforms=["eager"], fixed="held")
    report = handgrad.verify(f, w, v, stack, held, grad=grad, families=["low-rank", "repeated-sv"], **options)
    assert report.ok and {r.case.family.name for r in report.results} == {"low-rank", "repeated-sv"}
    for seed in range(5):
        for r in report.results:
            w_, v_, stack_, held_ = case_inputs(r.case, seed).args
            np.testing.assert_array_equal(held_, held)
            assert v_.shape == (4,)
            for matrix in (w_, *stack_):
                s = np.linalg.svd(matrix, compute_uv=False)
                if r.case.family.name == "low-rank":
                    assert np.linalg.matrix_rank(matrix) < min(matrix.shape)
                else:
                    assert s[-1] > 0.4 and np.min(np.diff(s[::-1]) / s[0]) < 1e-12, s
    vectors = handgrad.verify(lambda v: jnp.sum(v * v), v, grad=lambda v: 2 * v, **options | {"fixed": ()})
    assert not {"low-rank", "repeated-sv"} & {r.case.family.name for r in vectors.results}


def test_a_gradient_that_pairs_singular_vectors_apart_fails_where_singular_values_repeat() -> None:
    """The two-eigh gradient passes every standard normal matrix and fails where singular
    values repeat (repeated-sv, and low-rank, whose zero singular values repeat), in every
    seed; the gradient through X^T X + I passes everywhere, in float32 and float64."""
    x = np.random.default_rng(0).standard_normal((5, 4))
    options: dict[str, Any] = dict(devices=["cpu:0"], transforms=["vmap"], families=MATRIX_FAMILIES)
    for seed in SEEDS:
        right = handgrad.verify(soft_nuclear_norm, x, grad=through_gram, seed=seed, **options)
        assert right.ok, f"seed {seed}\n{right}"
        paired = handgrad.verify(soft_nuclear_norm, x, grad=pairing_two_eighs, dtypes=["float64"], seed=seed, **options)
        assert "repeated-sv" in _failed_families(paired) <= {"repeated-sv", "low-rank"}, f"seed {seed}\n{paired}"


def test_a_gradient_that_divides_by_a_singular_value_fails_where_the_matrix_is_rank_deficient() -> None:
    """Dividing by s = sqrt(eigvalsh(X^T X)) passes every full-rank matrix (repeated singular
    values too) and fails on the rank-deficient ones only, in every seed."""
    x = np.random.default_rng(0).standard_normal((5, 4))
    options: dict[str, Any] = dict(devices=["cpu:0"], transforms=["vmap"], families=MATRIX_FAMILIES)
    for seed in SEEDS:
        report = handgrad.verify(soft_nuclear_norm, x, grad=dividing_by_s, seed=seed, **options)
        assert _failed_families(report) == {"low-rank"}, f"seed {seed}\n{report}"
        worst = report.worst
        assert worst is not None and worst.comparison is not None and worst.comparison.problem == "nonfinite"


def _log_det(a: jax.Array) -> jax.Array:
    """log det A through its Cholesky factor: defined for symmetric positive definite A only (JAX's
    cholesky reads A's symmetric part, so on a general A the true gradient is symmetrized)."""
    return 2 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a))))


def _trace_cubed(a: jax.Array) -> jax.Array:
    """tr A^3 from eigvalsh (which reads A's symmetric part): its gradient is 3 A^2 for symmetric A."""
    return jnp.sum(jnp.linalg.eigvalsh(a) ** 3)


def test_a_positive_definite_example_is_drawn_positive_definite_in_every_family() -> None:
    """Before 2026-12-06 the families drew general matrices: cholesky was NaN there (so only
    the example was checked) and, where it was not, the right inv(A) failed against the
    symmetrized truth. Now every draw is symmetric positive definite, low-rank (never positive
    definite) is not drawn, repeated-sv repeats eigenvalues, and a wrong factor still fails."""
    b = np.random.default_rng(5).standard_normal((4, 4))
    a = (b @ b.T + np.eye(4)).astype(np.float32)
    options: dict[str, Any] = dict(dtypes=["float64", "float32"], devices=["cpu:0"], transforms=["eager", "vmap"])
    right = handgrad.verify(_log_det, a, grad=jnp.linalg.inv, **options)
    assert right.ok and right.unchecked == 0, right
    families = {r.case.family.name for r in right.results}
    assert "low-rank" not in families and {"normal", "wide", "zeros", "repeated-sv"} <= families
    for r in right.results:
        drawn = np.asarray(case_inputs(r.case, r.seed).args[0], np.float64)
        np.testing.assert_array_equal(drawn, np.swapaxes(drawn, -1, -2))
        eig = np.linalg.eigvalsh(drawn)
        assert np.all(eig > 0), (r.case.id, eig)
        if r.case.family.name == "repeated-sv":
            assert np.min(np.diff(eig, axis=-1)) < 1e-6 * np.max(eig), (r.case.id, eig)
    assert "drawn as the example is (a symmetric positive definite)" in str(right)
    assert not handgrad.verify(_log_det, a, grad=lambda a: 0.5 * jnp.linalg.inv(a), **options).ok


def _mlp(x: jax.Array, w: jax.Array) -> jax.Array:
    return jnp.sum(jnp.tanh(w @ x))


def _mlp_missing_transpose(x: jax.Array, w: jax.Array) -> jax.Array:  # W @ delta where W.T @ delta belongs
    return w @ (1 - jnp.tanh(w @ x) ** 2)


_B = np.random.default_rng(8).standard_normal((4, 4))
_XV = np.array([0.3, -1.2, 0.8, 0.5])


@pytest.mark.parametrize(
    ("f", "args", "grad"),
    [
        (_mlp, (_XV, np.full((4, 4), 0.1)), _mlp_missing_transpose),  # a placeholder weight matrix
        (_mlp, (_XV, np.eye(4)), _mlp_missing_transpose),
        (_mlp, (_XV, _B @ _B.T / 4), _mlp_missing_transpose),  # a Gram-like example
        (lambda a: jnp.linalg.slogdet(a)[1], (_B @ _B.T + np.eye(4),), jnp.linalg.inv),  # inv(A).T is right
        (lambda x, a: x @ a @ x, (_XV, _B @ _B.T + np.eye(4)), lambda x, a: 2 * a @ x),  # (A + A.T) x is
    ],
    ids=["full", "eye", "gram", "slogdet", "quadratic-form"],
)
def test_a_symmetric_example_of_a_function_of_the_whole_matrix_is_drawn_general(f: Any, args: Any, grad: Any) -> None:
    """A symmetric example says nothing of the domain where f reads the whole matrix: each of
    these gradients is right on symmetric matrices only, and must fail (it passed every family
    when a symmetric example alone decided the draws: a red team found the first two)."""
    report = handgrad.verify(f, *args, grad=grad, dtypes=["float64"], transforms=["eager"])
    assert not report.ok and "drawn as the example is" not in str(report), report


def test_an_identity_example_of_a_function_of_a_covariance_is_drawn_positive_definite() -> None:
    """Where f reads the symmetric part alone (cholesky) and is NaN off positive definite ones,
    eye(n) is a covariance too: SPD draws, and the right inv(A) passes."""
    report = handgrad.verify(_log_det, np.eye(3), grad=jnp.linalg.inv, dtypes=["float64"], transforms=["eager"])
    assert report.ok and "drawn as the example is (a symmetric positive definite)" in str(report), report


def neg_entropy(p: jax.Array) -> jax.Array:
    """sum_i p_i log p_i, defined for p > 0 only: one negative element makes it NaN."""
    return jnp.sum(p * jnp.log(p))


def test_draws_where_f_is_not_finite_are_drawn_again() -> None:
    """A standard normal vector of 6 is positive in 1 draw out of 64, so without redrawing
    almost every case of sum(p log p) would be NaN, not compared: a gradient missing its +1
    passed every random family. Redrawn (the magnitudes last), every case is inside the domain
    and checked: the right gradient passes with nothing left unchecked, the wrong one fails in
    every random family, in every seed. A function finite everywhere keeps its first draw."""
    p = np.array([0.2, 0.5, 1.3, 2.0, 0.7, 0.1])
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"], transforms=["jit"])
    random = ["normal", "wide", "overflow", "tiny"]
    for seed in SEEDS:
        right = handgrad.verify(neg_entropy, p, grad=lambda p: jnp.log(p) + 1, families=random, seed=seed, **options)
        assert right.ok and right.unchecked == 0, f"seed {seed}\n{right}"
        for r in right.results:
            assert np.isfinite(neg_entropy(case_inputs(r.case, seed).args[0]))
        wrong = handgrad.verify(neg_entropy, p, grad=jnp.log, families=random, seed=seed, **options)
        assert _failed_families(wrong) == set(random), f"seed {seed}\n{wrong}"
    finite = handgrad.verify(lambda p: jnp.sum(p * p), p, grad=lambda p: 2 * p, families=["normal"], **options)
    (case,) = [r.case for r in finite.results]
    np.testing.assert_array_equal(
        case.family.draw(np.random.default_rng(3)).args[0], np.random.default_rng(3).standard_normal(p.shape)
    )


def test_far_magnitudes_finds_a_norm_whose_squares_overflow_float32() -> None:
    """x / sqrt(sum(x * x)) is right at ordinary scales and inf or NaN at 1e21 and 1e-21 in
    float32, where x * x overflows or underflows; a red team found no family drew there. The
    form that divides by max |x| first passes. Drawn only when named: most float32 formulas
    of other kinds overflow there too."""
    x = np.random.default_rng(0).standard_normal(5).astype(np.float32)

    def naive(x: Any) -> Any:
        return x / jnp.sqrt(jnp.sum(x * x))

    def rescaled(x: Any) -> Any:
        y = x / jnp.max(jnp.abs(x))
        return y / jnp.sqrt(jnp.sum(y * y))

    kw: dict[str, Any] = dict(families=["normal", "far-magnitudes"], devices=["cpu:0"])
    report = handgrad.verify(jnp.linalg.norm, x, grad=naive, **kw)
    assert not report.ok and report.worst is not None and report.worst.case.family.name == "far-magnitudes"
    assert "squares overflow or underflow" in report.worst.hint
    assert handgrad.verify(jnp.linalg.norm, x, grad=rescaled, **kw).ok
    assert "far-magnitudes" not in {
        r.case.family.name for r in handgrad.verify(jnp.linalg.norm, x, grad=rescaled).results
    }


# ---- sweep: where a formula switches to its asymptotic form --------------------------------


def _switching_rule(forward: Any, near: Any, far: Any, at: float) -> Any:
    """f with a custom_vjp whose derivative is `near` below x = at and its asymptote `far` above."""
    f = jax.custom_vjp(forward)
    f.defvjp(lambda x: (forward(x), x), lambda x, g: (g * jnp.where(x > at, far(x), near(x)),))
    return f


def _softplus(x: Any) -> Any:
    return jnp.logaddexp(x, 0.0)


def _log_sigmoid(x: Any) -> Any:
    return -jnp.logaddexp(-x, 0.0)


def _sigmoid_of_minus(x: Any) -> Any:
    return jax.nn.sigmoid(-x)


def _exp_of_minus(x: Any) -> Any:
    return jnp.exp(-x)


SWITCHES = {  # (rule, whether it is right within float64's allowance, rtol 1e-13)
    "softplus-one-past-15": (_switching_rule(_softplus, jax.nn.sigmoid, lambda x: 1.0 + 0 * x, 15.0), False),
    "softplus-one-past-40": (_switching_rule(_softplus, jax.nn.sigmoid, lambda x: 1.0 + 0 * x, 40.0), True),
    "log-sigmoid-exp-past-12": (_switching_rule(_log_sigmoid, _sigmoid_of_minus, _exp_of_minus, 12.0), False),
    "log-sigmoid-exp-past-40": (_switching_rule(_log_sigmoid, _sigmoid_of_minus, _exp_of_minus, 40.0), True),
}  # fmt: skip


@pytest.mark.parametrize("name", SWITCHES)
@pytest.mark.parametrize("seed", range(3))
def test_sweep_judges_a_switch_to_the_asymptote_at_one_scalar(name: str, seed: int) -> None:
    """A switch at 15 is wrong only for 15 < x < 30 in float64: with one element per draw,
    `wide` and `overflow` never reached it in 8 seeds (a red team's softplus); `sweep` stacks
    128 draws of magnitudes 1 to 100 under vmap."""
    rule, right = SWITCHES[name]
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"], families=["sweep"])
    report = handgrad.verify(rule, np.float64(0.5), seed=seed, **options)
    assert report.ok == right, report
    assert {r.case.transform for r in report.results} == {"vmap"}  # (one more eager draw would be `wide`'s)
    assert all(case_inputs(r.case, r.seed).args[0].shape == (128,) for r in report.results)


def test_sweep_stacks_fewer_examples_of_large_arguments() -> None:
    """About 512 values in all, at most 128 examples, never fewer than the other families' 4."""
    rule = SWITCHES["softplus-one-past-40"][0]
    for shape, stack in (((5,), 102), ((64,), 8), ((100, 100), 4)):
        report = handgrad.verify(rule, np.zeros(shape), dtypes=["float64"], devices=["cpu:0"], families=["sweep"])
        assert {case_inputs(r.case, r.seed).args[0].shape[0] for r in report.results} == {stack}
        assert report.ok, report


@pytest.mark.parametrize(("name", "at"), [("softplus-one-past-15", 15.0), ("log-sigmoid-exp-past-12", 12.0)])
def test_a_switch_to_the_asymptote_too_early_is_told_where(name: str, at: float) -> None:
    """It was told "the arithmetic loses precision": the error is 1e-7 or less. Where the
    sweep's values show it wrong on one stretch (at least 3 distinct inputs in it, right ones
    on both sides: most seeds of a scalar), the hint says so, and the stretch lies between the
    switch and where the two forms agree."""
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"], families=["sweep"])
    told = 0
    for seed in range(5):
        (failure,) = handgrad.verify(SWITCHES[name][0], np.float64(0.5), seed=seed, **options).failures
        found = re.match(r"wrong only for (\S+) <= x <= (\S+), right on both sides", failure.hint)
        if found:
            told += 1
            assert at <= float(found.group(1)) < float(found.group(2)) <= 30.0, failure.hint  # (e^-x < 1e-13 past 29.9)
    assert told >= 2, told


# ---- one-zero: exactly one element at 0, where a product's gradient is the others' product --


def _guarded_quotient(x: Any, axis: Any = None) -> Any:
    """prod / x, 0 where x == 0: right with no zero or two, wrong at exactly one (the product
    of the others there)."""
    p = jnp.prod(x, axis=axis, keepdims=axis is not None)
    return jnp.where(x == 0, 0.0, p / jnp.where(x == 0, 1.0, x)).astype(x.dtype)


def _others_product(x: Any) -> Any:
    """The product of the other elements of the last axis, by products from both ends: right everywhere."""
    ones = jnp.ones_like(x[..., :1])
    before = jnp.cumprod(jnp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    after = jnp.flip(jnp.cumprod(jnp.concatenate([ones, jnp.flip(x[..., 1:], -1)], axis=-1), axis=-1), -1)
    return before * after


PRODUCTS = [
    ("vector", lambda x: jnp.prod(x), lambda x: _guarded_quotient(x), (8,)),
    ("rows", lambda x: jnp.sum(jnp.prod(x, axis=-1)), lambda x: _guarded_quotient(x, -1), (3, 8)),
]


@pytest.mark.parametrize("label, f, wrong, shape", PRODUCTS, ids=[p[0] for p in PRODUCTS])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_product_gradient_wrong_at_exactly_one_zero_fails_in_every_seed(
    label: str, f: Any, wrong: Any, shape: tuple[int, ...], seed: int
) -> None:
    """A red team's prod(x) gradient as prod / x guarded at zeros passed a default verify of an
    8-vector in seeds 0-3: `zeros` puts half the elements at 0, which almost never leaves
    exactly one. `one-zero` does, in every seed; the right rule passes it."""
    x = np.random.default_rng(seed).standard_normal(shape)
    kw: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float64"], seed=seed)
    bad = handgrad.verify(f, x, grad=wrong, **kw)
    assert not bad.ok and {r.case.family.name for r in bad.failures} >= {"one-zero"}, bad
    assert handgrad.verify(f, x, grad=_others_product, families=["one-zero", "zeros"], **kw).ok
