"""What verify is given, checked up front with a message that says what to pass (a red
team's findings, 2026-12-06): kinks= and kink_range= returning the wrong thing gave a raw
NumPy error from deep inside, or a false FAIL of a valid subgradient (a float mask); dtypes
given as NumPy or JAX dtypes gave a KeyError or "unknown dtype <class 'numpy.float32'>"."""

from __future__ import annotations

import functools
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad

X = np.array([0.0, 1.0, -2.0, 0.0])
QUICK: dict[str, Any] = dict(dtypes=["float64"], transforms=["jit"], families=["given"], devices=["cpu:0"])


def _abs_sum(x: Any) -> Any:
    return jnp.sum(jnp.abs(x))


@pytest.mark.parametrize(
    ("kinks", "kink_range", "error", "words"),
    [
        (lambda x: None, (-1.0, 1.0), TypeError, "kinks must return a boolean mask for x .*got NoneType"),
        (lambda x: x, (-1.0, 1.0), TypeError, "kinks must return a boolean mask for x .*got an array of float64"),
        (lambda x: jnp.ones(3, bool), (-1.0, 1.0), ValueError, r"kinks returned a mask of shape \(3,\) for x"),
        (lambda x: 1 / 0, (-1.0, 1.0), ValueError, "kinks raised on the example arguments: ZeroDivisionError"),
        (lambda x: x == 0, lambda x: 3, TypeError, r"kink_range must return a pair \(lo, hi\), got 3"),
    ],
    ids=["none", "float-mask", "wrong-shape", "raises", "range-not-a-pair"],
)
def test_a_kink_declaration_that_returns_the_wrong_thing_is_refused_up_front(
    kinks: Any, kink_range: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=f"handgrad.verify: {words}"):
        handgrad.verify(_abs_sum, X, grad=jnp.sign, kinks=kinks, kink_range=kink_range, **QUICK)


def test_a_right_kink_declaration_still_takes_any_value_in_its_range() -> None:
    report = handgrad.verify(_abs_sum, X, grad=lambda x: jnp.where(x == 0, 0.7, jnp.sign(x)), kinks=lambda x: x == 0,
                             kink_range=(-1.0, 1.0), **QUICK)  # fmt: skip
    assert report.ok, report


@pytest.mark.parametrize("dtype", [np.float32, jnp.bfloat16, np.dtype("float16"), "float32"], ids=str)
def test_dtypes_are_taken_as_numpy_and_jax_dtypes_too(dtype: Any) -> None:
    report = handgrad.verify(lambda x: jnp.sum(x * x), X, grad=lambda x: 2 * x, dtypes=[dtype], families=["given"])
    assert report.ok, report
    assert {r.case.dtype for r in report.results} == {np.dtype(dtype).name}


def test_an_unknown_dtype_is_named_in_the_refusal() -> None:
    with pytest.raises(ValueError, match="unknown dtype 'int32'; known: float64, float32"):
        handgrad.verify(lambda x: jnp.sum(x * x), X, grad=lambda x: 2 * x, dtypes=[np.int32])


@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e-13, 1e3, 1e8])
def test_a_verdict_does_not_depend_on_the_units_of_f(scale: float) -> None:
    """A red team's finding: with f = 1e-13 sum(sin x), a gradient of the wrong sign was inside
    float64's fixed absolute floor of 1e-12 (and float32's 1e-6) and passed. The floor now
    follows the truth's own scale below 1 (reference/tolerances.py, truth_floor)."""
    x = np.linspace(-2.0, 2.0, 6)

    def f(x: Any) -> Any:
        return scale * jnp.sum(jnp.sin(x))

    kw: dict[str, Any] = dict(dtypes=["float64", "float32"], devices=["cpu:0"], transforms=["jit"])
    assert handgrad.verify(f, x, grad=lambda x: scale * jnp.cos(x), **kw).ok
    assert not handgrad.verify(f, x, grad=lambda x: -scale * jnp.cos(x), **kw).ok
    assert not handgrad.verify(f, x, grad=lambda x: scale * 1.01 * jnp.cos(x), **kw).ok


def test_a_rule_within_the_floor_keeps_its_verdict_whatever_the_units() -> None:
    """A second red team's finding: a softplus gradient written 1 - sigmoid(-z) (right to about
    float32's eps absolute, off by up to 100% where sigmoid(z) is below 1e-7) passed for f and for
    1e-3 f, and failed for 1000 f: the floor followed the truth's scale down, never up."""
    z = np.array([-16.0, -15.0, -17.0, -14.0, -18.0, -12.0, 0.5, 1.0], np.float32)
    kw: dict[str, Any] = dict(dtypes=["float32"], devices=["cpu:0"], transforms=["jit"], families=["given"])
    verdicts = {}
    for scale in (1e-3, 1.0, 1e3, 1e6):
        f = functools.partial(lambda s, z: s * jnp.sum(jnp.logaddexp(z, 0.0)), scale)
        cancelling = functools.partial(lambda s, z: s * (1 - jax.nn.sigmoid(-z)), scale)
        verdicts[scale] = handgrad.verify(f, z, grad=cancelling, **kw).ok
        assert handgrad.verify(f, z, grad=functools.partial(lambda s, z: s * jax.nn.sigmoid(z), scale), **kw).ok
        wrong = functools.partial(lambda s, z: s * 1.001 * jax.nn.sigmoid(z), scale)
        assert not handgrad.verify(f, z, grad=wrong, **kw).ok
    assert len(set(verdicts.values())) == 1, verdicts


def _tempered(x: Any, t: Any) -> Any:
    return jnp.sum(jnp.tanh(x / t))


@pytest.mark.parametrize("t", [3.0, np.float32(3.0)], ids=["python-float", "numpy-scalar"])
@pytest.mark.parametrize("fixed", [(), 1], ids=["drawn", "fixed"])
def test_a_scalar_hyperparameter_is_checked_like_jax_would_call_it(t: Any, fixed: Any) -> None:
    """A red team's temperature: a Python float was made a float64 array, so x / t was float64
    and verify refused grad ("grad returns dtype float64 for x"), where plain JAX keeps
    float32; and a 0-d argument held with fixed= raised an IndexError from inside verify."""
    x = np.random.default_rng(12).standard_normal((3, 4)).astype(np.float32)
    kw: dict[str, Any] = dict(fixed=fixed, devices=["cpu:0"], transforms=["jit"])
    right = handgrad.verify(_tempered, x, t, grad=lambda x, t: (1 - jnp.tanh(x / t) ** 2) / t, **kw)
    assert right.ok, right
    assert {"float32", "float64"} <= {r.case.dtype for r in right.results}
    assert not handgrad.verify(_tempered, x, t, grad=lambda x, t: 1 - jnp.tanh(x / t) ** 2, **kw).ok


@pytest.mark.parametrize(
    ("f", "words"),
    [
        (lambda x: (jnp.sum(x * x), jnp.sum(x)), "returns a tuple of 2: check one output at a time"),
        (lambda x: {"a": jnp.sum(x), "b": jnp.sum(x * x)}, "returns a dict of 2"),
        (lambda x: jnp.sum(x) > 0, "got ShapeDtypeStruct(shape=(), dtype=bool)"),
    ],
    ids=["tuple", "dict", "bool"],
)
def test_an_output_that_is_not_one_float_array_is_refused_with_a_way_round(f: Any, words: str) -> None:
    with pytest.raises(TypeError, match=re.escape(words)):
        handgrad.verify(f, X, grad=lambda x: 2 * x)


def test_one_large_element_does_not_switch_off_the_check_of_the_small_ones() -> None:
    """A reviewer's cases against a floor scaled by the largest truth: x^3's gradient with the
    sign lost (x^2 |x|) passed beside x = 1e5, and exp(x) + 1 for exp(x) passed the overflow
    and shifted families (truths of e^88). The floor follows the output's typical size."""
    x = np.array([1e5, 2.0, -3.0, 0.5, -1.5])

    def quartic(x: Any) -> Any:
        return jnp.sum(x**4) / 4

    kw: dict[str, Any] = dict(devices=["cpu:0"], transforms=["jit"])
    assert handgrad.verify(quartic, x, grad=lambda x: x**3, families=["given"], **kw).ok
    lost_sign = handgrad.verify(quartic, x, grad=lambda x: x * x * jnp.abs(x), families=["given"], **kw)
    assert {r.case.dtype for r in lost_sign.results if not r.ok} == {"float32", "float64"}

    z = np.array([3.0, 1.0, 2.0, -1.0])  # (elementwise: where e^x overflows, only that element goes unchecked)
    kw["families"] = ["overflow"]  # (+-11 ... +-1420: e^-11 beside e^88; the +1 is lost only beside e^x itself)
    assert handgrad.verify(jnp.exp, z, grad=lambda x, g: g * jnp.exp(x), **kw).ok
    assert not handgrad.verify(jnp.exp, z, grad=lambda x, g: g * (jnp.exp(x) + 1), **kw).ok


def test_a_numpy_float64_argument_is_not_weak() -> None:
    """As in JAX, np.float64(3.0) is a float64 array, not a weak Python float (a reviewer's):
    x / t is float64, and a grad that returns it for a float32 x is refused as JAX would make it."""
    x = np.random.default_rng(12).standard_normal((3, 4)).astype(np.float32)
    with pytest.raises(TypeError, match="grad returns dtype float64 for x"):
        handgrad.verify(_tempered, x, np.float64(3.0), grad=lambda x, t: (1 - jnp.tanh(x / t) ** 2) / t)
