"""Properties over random shapes and scales (hypothesis), beyond the catalog's fixed families."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import handwritten as hw
from reference import activations as ref_act
from reference import losses as ref_losses
from reference import softmax as ref_softmax
from reference.compare import compare
from reference.conditioning import sensitivity
from reference.tolerances import TOLERANCES

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True)
floats32 = st.floats(-1e4, 1e4, width=32, allow_nan=False)


def agree(expected, got, dtype: str, sensitivity=None) -> None:  # type: ignore[no-untyped-def]
    res = compare(
        np.asarray(expected, np.float64),
        np.asarray(got),
        dtype=dtype,
        tolerance=TOLERANCES[dtype],
        sensitivity=sensitivity,
    )
    assert res.ok, res.detail


@SETTINGS
@given(arrays(np.float32, st.integers(1, 40), elements=floats32))
def test_sigmoid_and_tanh_grads_on_any_float32_in_range(x: np.ndarray) -> None:
    x64 = jnp.asarray(x, jnp.float64)
    agree(ref_act.sigmoid_grad(x64), hw.sigmoid_grad(jnp.asarray(x)), "float32")
    agree(ref_act.tanh_grad(x64), hw.tanh_grad(jnp.asarray(x)), "float32")
    agree(ref_act.tanh(x64), hw.tanh(jnp.asarray(x)), "float32")


@SETTINGS
@given(
    st.lists(st.integers(1, 4), min_size=0, max_size=2),
    st.integers(1, 9),
    st.floats(-3, 3),
    st.integers(0, 2**32 - 1),
)
def test_softmax_vjp_any_batch_shape_and_scale(batch: list[int], n: int, log_scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (*batch, n)
    x = (10.0**log_scale * rng.standard_normal(shape)).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    want = ref_softmax.softmax_vjp(jnp.asarray(x, jnp.float64), jnp.asarray(g, jnp.float64))
    agree(want, hw.softmax_vjp(x, g), "float32", lambda: sensitivity(ref_softmax.softmax_vjp, (x, g)))


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_loss_grads_any_batch_shape(batch: list[int], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (*batch, n)
    a = rng.standard_normal(shape) * 3
    y = rng.dirichlet(np.ones(n), tuple(batch)) if n > 1 else np.ones(shape)
    for name in ("cross_entropy", "l2", "huber", "hinge"):
        want = getattr(ref_losses, f"{name}_grad")(jnp.asarray(a), jnp.asarray(y))
        agree(want, getattr(hw, f"{name}_grad")(a, y), "float64")
        agree(getattr(ref_losses, name)(jnp.asarray(a), jnp.asarray(y)), getattr(hw, name)(a, y), "float64")
