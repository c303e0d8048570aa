"""The shipped formulas at their edges: kinks by name, extremes, dtypes, bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handwritten as hw
from reference import losses as ref_losses

ACTIVATIONS = ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad"]
LOSSES = ["cross_entropy", "l2", "l1", "hinge", "huber", "cosine_similarity"]


# ---- kink conventions, each pinned by name ------------------------------------------


def test_relu_grad_at_zero_is_zero_including_negative_zero() -> None:
    x = jnp.array([0.0, -0.0, 1e-30, -1e-30], jnp.float32)
    assert hw.relu_grad(x).tolist() == [0.0, 0.0, 1.0, 0.0]


def test_l1_grad_at_tie_is_zero() -> None:
    a = jnp.array([1.5, 2.0, -3.0])
    y = jnp.array([1.5, 1.0, -2.0])
    assert hw.l1_grad(a, y).tolist() == [0.0, 1.0, -1.0]


def test_hinge_grad_at_margin_exactly_one_is_zero() -> None:
    y = jnp.array([[1.0, -1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    a = jnp.array([[0.5, 0.25, 0.75], [7.0, 1.0, -3.0], [7.0, 0.5, -3.0]])
    g = hw.hinge_grad(a, y)
    assert g[0].tolist() == [0.0, 0.0, 0.0] and g[1].tolist() == [0.0, 0.0, 0.0]
    assert g[2].tolist() == [0.0, -1.0, 0.0]


def test_huber_grad_is_continuous_at_the_seam() -> None:
    y = jnp.zeros(2)
    for delta in (0.5, 1.0, 2.5):
        at = hw.huber_grad(jnp.array([delta, -delta]), y, delta=delta)
        assert at.tolist() == [delta / 2, -delta / 2]


# ---- extremes -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
def test_sigmoid_and_grad_finite_and_correct_to_1e4(dtype: type) -> None:
    x = jnp.array([-1e4, -100.0, -30.0, 30.0, 100.0, 1e4], dtype)
    s, ds = hw.sigmoid(x), hw.sigmoid_grad(x)
    assert bool(jnp.all(jnp.isfinite(s))) and bool(jnp.all(jnp.isfinite(ds)))
    assert s.tolist()[-1] == 1.0 and s.tolist()[0] == 0.0
    exact = [0, 3.72e-44, 9.357e-14, 9.357e-14, 3.72e-44, 0]
    # Values below the smallest normal number may flush to 0; nothing may be NaN or wrong.
    tiny = float(jnp.finfo(dtype).tiny)
    np.testing.assert_allclose(np.asarray(ds, np.float64), exact, rtol=1e-2, atol=tiny)


def test_sigmoid_grad_keeps_relative_accuracy_in_the_tails_float32() -> None:
    # The naive s(1-s) rounds to 0 at x = 20 in float32; the true value is 2.06e-9.
    x = jnp.array([20.0, -20.0, 80.0], jnp.float32)
    x64 = np.array([20, -20, 80], np.float64)
    exact = np.exp(-np.abs(x64)) / (1 + np.exp(-np.abs(x64))) ** 2
    np.testing.assert_allclose(np.asarray(hw.sigmoid_grad(x), np.float64), exact, rtol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "xs", "rtol"),
    [
        # 1 - tanh(x)^2 rounds to 0 from x ~ 9 in float32; sech^2(40) = 7.2e-35 is normal.
        (jnp.float32, [3.0, -9.0, 12.0, 40.0], 1e-6),
        # sech^2(6) = 2.5e-5 and sech^2(8) = 4.5e-7 are float16 subnormals: spacing 6e-8.
        (jnp.float16, [3.0, -6.0, 8.0], 1e-1),
    ],
)
def test_tanh_grad_keeps_relative_accuracy_in_the_tails(dtype: type, xs: list[float], rtol: float) -> None:
    exact = 1 / np.cosh(np.array(xs, np.float64)) ** 2
    got = hw.tanh_grad(jnp.array(xs, dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(np.asarray(got, np.float64), exact, rtol=rtol)


HALF_TRUTH = {  # float64 closed forms, written apart from the shipped ones
    "sigmoid": lambda x: 0.5 * (1 + np.tanh(x / 2)),
    "sigmoid_grad": lambda x: 0.25 / np.cosh(x / 2) ** 2,
    "tanh": np.tanh,
    "tanh_grad": lambda x: 1 / np.cosh(x) ** 2,
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", list(HALF_TRUTH))
def test_activations_are_correctly_rounded_in_half_precision(name: str, dtype: str) -> None:
    """Every float16 / bfloat16 number in [-12, 12]: the correctly rounded value (as XLA's
    exp and tanh give), not one 1-2 eps off. The shipped tanh, -m / (2 + m) rounded in float16,
    was off by 1.5 eps at a fifth of them, and a submission's 1 - tanh(x)^2 built on it failed
    float16 by the seed (a red team, 2026-12-06): 1 - t^2 amplifies t's error 2t^2 / (1 - t^2)."""
    every = np.arange(2**16, dtype=np.uint32).astype(np.uint16)  # every bit pattern
    x = jnp.asarray(every.view(np.float16) if dtype == "float16" else every.view(jnp.bfloat16))
    x = x[jnp.isfinite(x) & (jnp.abs(x) <= 12)]
    truth = HALF_TRUTH[name](np.asarray(x, np.float64))
    tiny = float(jnp.finfo(dtype).tiny)
    normal = np.abs(truth) >= tiny
    want = np.asarray(jnp.asarray(truth, dtype), np.float64)[normal]
    got = np.asarray(getattr(hw, name)(x), np.float64)[normal]
    assert got.size > 1000
    assert np.mean(got != want) < 1e-3, f"{np.mean(got != want):.3f} of {got.size} not correctly rounded"


def test_tanh_small_x_keeps_relative_accuracy() -> None:
    x = jnp.array([1e-8, -3e-20], jnp.float32)
    np.testing.assert_allclose(np.asarray(hw.tanh(x)), [1e-8, -3e-20], rtol=1e-6)


def test_softmax_and_cross_entropy_stable_for_logits_1e4() -> None:
    z = jnp.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], jnp.float32)
    y = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], jnp.float32)
    s = hw.softmax(z)
    np.testing.assert_allclose(s, np.array([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]), rtol=1e-6)
    np.testing.assert_allclose(hw.cross_entropy(z, y), [2e4, np.log(3)], rtol=1e-6)
    expected = np.array([[1, -1, 0], [1 / 3 - 1, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(hw.cross_entropy_grad(z, y), expected, atol=1e-6)


def test_cosine_survives_norms_that_overflow_when_squared() -> None:
    a = jnp.array([3e20, 4e20], jnp.float32)
    y = jnp.array([4e-25, 3e-25], jnp.float32)
    assert float(hw.cosine_similarity(a, y)) == pytest.approx(24 / 25, rel=1e-6)
    g = hw.cosine_similarity_grad(a, y)
    exact = np.array([4, 3]) / 5 / 5e20 - 24 / 25 * np.array([3, 4]) / 5 / 5e20
    np.testing.assert_allclose(np.asarray(g, np.float64), exact, rtol=1e-5)


@pytest.mark.parametrize("width", [6, 40], ids=["narrow-rows", "wide-rows"])
@pytest.mark.parametrize("dtype, big", [("float32", 1e25), ("float64", 1e200)])
def test_both_cosine_grad_forms_agree_with_autodiff_where_squares_overflow(
    dtype: str, big: float, width: int, rng: np.random.Generator
) -> None:
    """The scaled form (every row on a GPU) and the CPU's checked form (plain sums first,
    summed one way on narrow rows and another on wide ones), each called directly, on rows
    whose |a|^2 overflows or underflows the dtype and on ordinary rows: both must match
    autodiff in float64."""
    from handwritten import losses

    u, v = rng.standard_normal((4, width)), rng.standard_normal((4, width))
    a_scale = np.array([[big], [1 / big], [1.0], [1.0]])
    a, y = a_scale * u, np.array([[1 / big], [big], [1.0], [1.0]]) * v
    # d/da cos(s a, t y) = (1/s) d/du cos(u, v): the truth from autodiff on the unscaled rows
    # (autodiff's own plain norms overflow at these scales, even in float64).
    truth = np.asarray(jax.vmap(jax.grad(ref_losses.cosine_similarity))(jnp.asarray(u), jnp.asarray(v))) / a_scale
    rtol = 2e-4 if dtype == "float32" else 1e-10
    for form in (losses._cosine_grad_scaled, losses._cosine_grad_checked):
        got = np.asarray(form(jnp.asarray(a, dtype), jnp.asarray(y, dtype)), np.float64)
        for row in range(4):  # per row: the gradients differ by 1e50 in size between rows
            atol = 1e-6 * np.abs(truth[row]).max()
            np.testing.assert_allclose(got[row], truth[row], rtol=rtol, atol=atol, err_msg=f"{form.__name__} {row}")
    # The plain form serves the rows in range and marks every element of the others NaN,
    # which is what sends a batch to the scaled form.
    plain = np.asarray(losses._cosine_grad_plain(jnp.asarray(a, dtype), jnp.asarray(y, dtype)), np.float64)
    assert np.isnan(plain[:2]).all()
    np.testing.assert_allclose(plain[2:], truth[2:], rtol=rtol)


@pytest.mark.parametrize("width", [1, 8, 16, 17, 64])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_row_sums_are_the_sums_of_each_term(width: int, dtype: str, rng: np.random.Generator) -> None:
    """One reduction over several terms (narrow rows) or one per term (wide rows, other
    dtypes): the same sums as numpy's, term by term, in the input's dtype."""
    from handwritten._util import row_sums

    terms = [rng.standard_normal((3, 2, width)) for _ in range(3)]
    sums = row_sums(*(jnp.asarray(t, dtype) for t in terms))
    assert len(sums) == 3
    rtol = {"float32": 1e-5, "float64": 1e-12, "bfloat16": 3e-2}[dtype]
    for got, t in zip(sums, terms, strict=True):
        assert got.shape == (3, 2, 1) and got.dtype == jnp.dtype(dtype)
        exact = np.asarray(jnp.asarray(t, dtype), np.float64).sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(np.asarray(got, np.float64), exact, rtol=rtol, atol=rtol * width)


def test_cosine_at_zero_vector_is_nan_by_design() -> None:
    zero, y = jnp.zeros(3), jnp.array([1.0, 2.0, 3.0])
    assert bool(jnp.isnan(hw.cosine_similarity(zero, y)))
    assert bool(jnp.all(jnp.isnan(hw.cosine_similarity_grad(zero, y))))
    assert bool(jnp.isnan(hw.cosine_similarity(y, zero)))


def test_cross_entropy_grad_scales_softmax_by_target_mass() -> None:
    # For targets that do not sum to 1 the gradient is softmax(z) * sum(y) - y.
    z = jnp.array([0.3, -1.2, 2.0])
    y = jnp.array([0.5, 0.0, 1.5])
    expected = jax.grad(lambda z: ref_losses.cross_entropy(z, y))(z)
    np.testing.assert_allclose(hw.cross_entropy_grad(z, y), expected, rtol=1e-12)
    np.testing.assert_allclose(hw.cross_entropy_grad(z, y), hw.softmax(z) * 2.0 - y, rtol=1e-12)


# ---- dtypes, shapes and bad input ----------------------------------------------------


@pytest.mark.parametrize("name", [*ACTIVATIONS, "softmax", "softmax_jacobian"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_dtype_preserved(name: str, dtype: str) -> None:
    x = jnp.linspace(-3, 3, 10).astype(dtype).reshape(2, 5)
    assert getattr(hw, name)(x).dtype == jnp.dtype(dtype)


def test_integer_input_promotes_to_float() -> None:
    assert jnp.issubdtype(hw.sigmoid(jnp.arange(3)).dtype, jnp.floating)
    assert hw.relu_grad(jnp.arange(-1, 2)).tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("name", LOSSES)
def test_loss_rejects_mismatched_shapes_naming_both(name: str) -> None:
    pred, target = jnp.zeros((4, 1)), jnp.zeros((4,))
    for fn in (getattr(hw, name), getattr(hw, f"{name}_grad")):
        with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
            fn(pred, target)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_keeps_batch_axes(name: str, rng: np.random.Generator) -> None:
    a = jnp.asarray(rng.standard_normal((2, 3, 4)))
    y = jnp.asarray(rng.dirichlet(np.ones(4), (2, 3)))
    assert getattr(hw, name)(a, y).shape == (2, 3)
    assert getattr(hw, f"{name}_grad")(a, y).shape == (2, 3, 4)


@pytest.mark.parametrize("name", ["cosine_similarity", "cosine_similarity_grad"])
def test_cosine_rejects_empty_vectors(name: str) -> None:
    with pytest.raises(ValueError, match=r"at least one element, got shape \(3, 0\)"):
        getattr(hw, name)(jnp.zeros((3, 0)), jnp.zeros((3, 0)))


@pytest.mark.parametrize("delta", [0.0, -1.0])
def test_huber_rejects_non_positive_delta(delta: float) -> None:
    with pytest.raises(ValueError, match="delta must be a positive number"):
        hw.huber(jnp.ones(3), jnp.zeros(3), delta=delta)


def test_network_rejects_bad_shapes_and_keys() -> None:
    params = {"W1": jnp.ones((3, 2)), "b1": jnp.ones(2), "W2": jnp.ones((2, 1)), "b2": jnp.ones(1)}
    with pytest.raises(ValueError, match="x"):
        hw.two_layer_forward(params, jnp.ones(4))
    with pytest.raises(ValueError, match="missing"):
        hw.two_layer_grads({"W1": params["W1"]}, jnp.ones(3), jnp.ones(1))
    with pytest.raises(ValueError, match="y must have shape"):
        hw.two_layer_loss(params, jnp.ones(3), jnp.ones(2))


def test_softmax_jacobian_rows_sum_to_zero_and_vjp_matches_it(rng: np.random.Generator) -> None:
    x = jnp.asarray(rng.standard_normal((3, 6)))
    g = jnp.asarray(rng.standard_normal((3, 6)))
    jac = hw.softmax_jacobian(x)
    np.testing.assert_allclose(jnp.sum(jac, axis=-2), 0, atol=1e-14)  # columns of J sum to 0
    np.testing.assert_allclose(hw.softmax_vjp(x, g), jnp.einsum("bi,bij->bj", g, jac), rtol=1e-12)


def test_formulas_work_under_jit_and_vmap_of_the_network(rng: np.random.Generator) -> None:
    params = {
        "W1": jnp.asarray(rng.standard_normal((4, 3))),
        "b1": jnp.zeros(3),
        "W2": jnp.asarray(rng.standard_normal((3, 2))),
        "b2": jnp.zeros(2),
    }
    xs, ys = jnp.asarray(rng.standard_normal((5, 4))), jnp.asarray(rng.standard_normal((5, 2)))
    batched = jax.jit(jax.vmap(hw.two_layer_grads, in_axes=(None, 0, 0)))(params, xs, ys)
    one = hw.two_layer_grads(params, xs[2], ys[2])
    for k in params:
        np.testing.assert_allclose(batched[k][2], one[k], rtol=1e-12)
