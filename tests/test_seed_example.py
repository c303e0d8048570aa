"""The seed's worked example: the contract's float64 values, and the seed's own numbers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import handwritten
from handgrad.table import seed_lines
from reference import seed_example
from reference.network import two_layer_grads as reference_grads


@pytest.fixture(scope="module")
def lines():  # type: ignore[no-untyped-def]
    return {s.quantity: s for s in seed_lines(vars(handwritten))}


@pytest.mark.parametrize("quantity", list(seed_example.CONTRACT))
def test_handwritten_matches_contract_to_1e_7(lines, quantity: str) -> None:  # type: ignore[no-untyped-def]
    s = lines[quantity]
    np.testing.assert_allclose(s.got, seed_example.CONTRACT[quantity], rtol=0, atol=1e-7)


@pytest.mark.parametrize("quantity", list(seed_example.CONTRACT))
def test_handwritten_matches_seed_printed_values(lines, quantity: str) -> None:  # type: ignore[no-untyped-def]
    values, tols = seed_example.printed_array(quantity)
    got = np.reshape(lines[quantity].got, np.shape(values))
    assert np.all(np.abs(got - values) <= tols), (got, values)
    assert np.all(tols <= np.maximum(5e-4 * np.abs(values), 5e-5))


def test_reference_autodiff_matches_contract_too() -> None:
    params = {k: jnp.asarray(v) for k, v in seed_example.PARAMS.items()}
    grads = reference_grads(params, jnp.asarray(seed_example.X), jnp.asarray(seed_example.Y))
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(grads[key], seed_example.CONTRACT[key], rtol=0, atol=1e-7)


def test_seed_typo_minus_0_01139_is_detected() -> None:
    # Erratum 4: -0.01139 printed where -0.1139 is right.
    key, index, text = seed_example.SEED_INTERMEDIATE_TYPO
    truth = seed_example.CONTRACT[key][index]
    assert abs(float(text) - truth) > seed_example.printed_tolerance(text)
    assert abs(-0.1139 - truth) <= seed_example.printed_tolerance("-0.1139")


def test_printed_tolerance_follows_printed_digits() -> None:
    assert seed_example.printed_tolerance("0.0068") == pytest.approx(5e-5)
    assert seed_example.printed_tolerance("3.148") == pytest.approx(5e-4 * 3.148)
