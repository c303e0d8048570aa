"""Each seed erratum, written as the seed wrote it, is caught by the comparison.

Erratum 4 (the -0.01139 typo) is a printed number, not a formula: see
test_seed_example.py::test_seed_typo_minus_0_01139_is_detected.
"""

from __future__ import annotations

import jax.numpy as jnp

import handwritten
from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_case
from reference.catalog import BY_NAME


def seed_l2_grad(a, y):  # type: ignore[no-untyped-def]
    """Erratum 1: dL/da_i = 2|a_i - y_i|."""
    return 2 * jnp.abs(a - y)


def seed_huber_grad(a, y, delta=1.0):  # type: ignore[no-untyped-def]
    """Erratum 2: the linear branch is -sign(y_i - a) (no delta)."""
    r = y - a
    return jnp.where(jnp.abs(r) <= delta, -r, -jnp.sign(r)) / a.shape[-1]


def seed_two_layer_grads(params, x, y):  # type: ignore[no-untyped-def]
    """Erratum 3: dL/dw^1_ij = 2(a-y) a(1-a) w^1_ji a_j(1-a_j) x_i, for one output.

    w^1_ji is read as W1[j, i]; where that index does not exist (W1 is not square) it
    wraps around, which is as close as the written formula can be made to run.
    """
    w1, b1, w2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1 = handwritten.sigmoid(x @ w1 + b1)
    a = handwritten.sigmoid(a1 @ w2 + b2)
    d2 = 2 * (a - y) * a * (1 - a)
    d_in, h = w1.shape
    w1_ji = w1[jnp.arange(h)[None, :] % d_in, jnp.arange(d_in)[:, None] % h]
    d1 = (w2 @ d2) * a1 * (1 - a1)
    dw1 = jnp.sum(d2) * w1_ji * (a1 * (1 - a1))[None, :] * x[:, None]
    return {"W1": dw1, "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}


def seed_softmax_jacobian(x):  # type: ignore[no-untyped-def]
    """Erratum 5: the garbled page, read as the elementwise derivative s(1 - s) on the diagonal."""
    s = handwritten.softmax(x)
    return jnp.eye(s.shape[-1], dtype=s.dtype) * (s * (1 - s))[..., None, :]


def seed_cosine_grad_doubled(a, y):  # type: ignore[no-untyped-def]
    """Erratum 6: the expansion's doubled term 2 a.da/|a|^2 carried to the end."""
    na = jnp.linalg.norm(a, axis=-1, keepdims=True)
    ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
    cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
    return y / (na * ny) - 2 * cos * a / na**2


def results(name: str, fn, families=None):  # type: ignore[no-untyped-def]
    evaluator = InProcess({**vars(handwritten), name: fn})
    cases = build_cases([BY_NAME[name]], dtypes=["float64"], transforms=["jit"], devices=["cpu:0"], families=families)
    return [run_case(evaluator, c) for c in cases]


def test_erratum_1_l2_abs_is_caught() -> None:
    assert not all(r.ok for r in results("l2_grad", seed_l2_grad))


def test_erratum_2_huber_without_delta_is_caught_for_delta_not_1_only() -> None:
    by_family = {r.case.family.name: r for r in results("huber_grad", seed_huber_grad)}
    assert not by_family["delta0.5"].ok and not by_family["delta2.5"].ok and not by_family["seam"].ok
    # "The two agree only for delta = 1": every delta-1 family passes.
    assert by_family["normal-7x5"].ok and by_family["wide"].ok


def test_erratum_3_w1_ji_is_caught_on_the_seed_example() -> None:
    by_family = {r.case.family.name: r for r in results("two_layer_grads", seed_two_layer_grads)}
    seed = by_family["seed"]
    assert not seed.ok
    assert seed.comparison is not None and seed.comparison.worst is not None
    assert seed.comparison.worst.leaf == "W1"


def test_erratum_5_garbled_softmax_jacobian_is_caught() -> None:
    assert not any(r.ok for r in results("softmax_jacobian", seed_softmax_jacobian, ["normal-5", "normal-7x5"]))


def test_erratum_6_doubled_cosine_term_is_caught_but_the_boxed_result_passes() -> None:
    assert not any(r.ok for r in results("cosine_similarity_grad", seed_cosine_grad_doubled, ["normal-7x5"]))
    assert all(r.ok for r in results("cosine_similarity_grad", handwritten.cosine_similarity_grad))
