"""The shipped two-argument formulas take any pair of float dtypes, promoting as jnp does;
a row function given a scalar says so; a failure header names the keywords the case used."""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

import handwritten
from handgrad.cases import build_cases
from handgrad.engine import CaseResult
from reference.catalog import BY_NAME, Entry

FLOATS = ("float16", "bfloat16", "float32", "float64")
TWO_ARGUMENTS = [e for e in BY_NAME.values() if e.args == ("pred", "target")] + [BY_NAME["softmax_vjp"]]


def _inputs(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.normal(size=(3, 5))
    if name.startswith("cross_entropy"):
        return a, rng.dirichlet(np.ones(5), size=3)
    if name.startswith("hinge"):
        return a, rng.choice([-1.0, 1.0], size=(3, 5))
    return a, rng.normal(size=(3, 5))


@pytest.mark.parametrize("entry", TWO_ARGUMENTS, ids=lambda e: e.name)
@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(FLOATS, 2)))
def test_mixed_float_dtypes_promote_as_jnp_does(
    entry: Entry, first: str, second: str, rng: np.random.Generator
) -> None:
    a, b = _inputs(entry.name, rng)
    got = getattr(handwritten, entry.name)(jnp.asarray(a, first), jnp.asarray(b, second))
    dtype = jnp.result_type(jnp.dtype(first), jnp.dtype(second))
    assert got.dtype == dtype
    # the truth at the inputs as the formula saw them: each rounded to its own dtype
    seen = [np.asarray(jnp.asarray(v, d).astype(jnp.float64)) for v, d in ((a, first), (b, second))]
    want = np.asarray(entry.reference(*seen))
    tol = entry.tolerance[str(dtype)]
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=10 * tol.rtol, atol=10 * tol.atol * scale)


@pytest.mark.parametrize("name", ["softmax", "softmax_jacobian", "softmax_vjp", "l2_grad", "cosine_similarity_grad"])
def test_a_scalar_to_a_row_function_is_a_clear_error(name: str) -> None:
    fn = getattr(handwritten, name)
    args = (jnp.float32(1.0),) * len(BY_NAME[name].args)
    with pytest.raises(ValueError, match=rf"^{name}: .*(last axis|axis to reduce)"):
        fn(*args)


def test_integer_input_becomes_the_default_float() -> None:
    got = handwritten.softmax(jnp.arange(4))
    assert got.dtype == jnp.result_type(float)
    np.testing.assert_allclose(np.asarray(got).sum(), 1.0, rtol=1e-6)


def test_a_failure_header_names_the_delta_the_case_used() -> None:
    case = next(
        c
        for c in build_cases([BY_NAME["huber_grad"]], dtypes=["float32"], transforms=["eager"])
        if c.family.name == "delta0.5"
    )
    result = CaseResult(case, error_kind="exception", error="boom", kwargs={"delta": 0.5})
    header = result.message().splitlines()[0]
    assert "huber_grad(pred, target, delta=0.5) FAILED" in header and "delta=1.0" not in header
