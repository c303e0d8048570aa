"""handgrad.verify, assert_gradient and taylor_test on functions outside the catalog.

Right rules and gradients must pass on every dtype, transform and device; each wrong one
(a missing term, a wrong sign on one branch, a float32-unstable form, a wrong HVP) must
fail with its worst element named where the mistake is.
"""

from __future__ import annotations

import functools
import gc
import re
import weakref
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from handgrad import verification, verify_families, verify_kinks
from handgrad.evaluate import default_devices

ROWS = (6, 5)


def _x(rng: np.random.Generator, shape: tuple[int, ...] = ROWS) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


# ---- functions with right and wrong gradients ---------------------------------------------


def _softplus_rule(bwd: Any) -> Any:
    @jax.custom_vjp
    def softplus(x: jax.Array) -> jax.Array:
        return jnp.logaddexp(x, 0.0)

    softplus.defvjp(lambda x: (softplus(x), x), bwd)
    return softplus


SOFTPLUS = _softplus_rule(lambda x, g: (g * jax.nn.sigmoid(x),))
# exp(x) / (1 + exp(x)) is sigmoid on paper; in float32 it is inf / inf = NaN from x ~ 89.
SOFTPLUS_UNSTABLE = _softplus_rule(lambda x, g: (g * jnp.exp(x) / (1 + jnp.exp(x)),))


def logsumexp(x: jax.Array) -> jax.Array:
    return jax.nn.logsumexp(x, axis=-1)


def logsumexp_vjp(x: jax.Array, g: jax.Array) -> jax.Array:
    e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
    return g[..., None] * e / jnp.sum(e, axis=-1, keepdims=True)


def layer_norm(x: jax.Array, gamma: jax.Array, beta: jax.Array) -> jax.Array:
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + 1e-5) * gamma + beta


def _layer_norm_vjp(missing_term: bool) -> Any:
    def vjp(x: jax.Array, gamma: jax.Array, beta: jax.Array, g: jax.Array) -> tuple[jax.Array, ...]:
        mu = jnp.mean(x, axis=-1, keepdims=True)
        xc = x - mu
        rstd = 1 / jnp.sqrt(jnp.mean(xc * xc, axis=-1, keepdims=True) + 1e-5)
        xhat = xc * rstd
        gx = g * gamma
        dx = gx - jnp.mean(gx, axis=-1, keepdims=True)
        if not missing_term:
            dx = dx - xhat * jnp.mean(gx * xhat, axis=-1, keepdims=True)
        lead = tuple(range(g.ndim - 1))
        return rstd * dx, jnp.sum(g * xhat, axis=lead), jnp.sum(g, axis=lead)

    return vjp


def abs_sum(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.abs(x))


# ---- right ones pass everywhere -------------------------------------------------------------


def test_the_right_softplus_rule_passes_every_dtype_transform_and_device(rng: np.random.Generator) -> None:
    x = _x(rng)
    report = handgrad.verify(SOFTPLUS, x, dtypes=("float32", "float64", "float16", "bfloat16"))
    assert report.ok, str(report)
    from handgrad.cases import case_inputs

    given = next(r.case for r in report.results if r.case.family.name == "given" and not r.case.stacked)
    np.testing.assert_array_equal(case_inputs(given).args[0], x.astype(given.dtype))
    seen = {(r.case.dtype, r.case.transform, r.case.device) for r in report.results}
    assert {d for d, _, _ in seen} == {"float32", "float64", "float16", "bfloat16"}
    assert {t for _, t, _ in seen} == {"eager", "jit", "vmap"}
    assert {d for _, _, d in seen} == set(default_devices()) == {"cpu:0", "sharded"}
    assert "sharded" in {d for _, _, d in seen}, "conftest asks for two host devices"
    assert {r.case.family.name for r in report.results} == set(verification.FAMILIES) - {"labels"}  # (no labels here)


def test_right_hand_written_gradients_pass(rng: np.random.Generator) -> None:
    all_dtypes = ("float32", "float64", "float16", "bfloat16")
    lse = handgrad.verify(logsumexp, _x(rng), grad=logsumexp_vjp, devices=["cpu:0"], dtypes=all_dtypes)
    assert lse.ok, str(lse)
    x, gamma, beta = _x(rng), _x(rng, (5,)), _x(rng, (5,))
    # float32 and float64 only: a float16 row of +-1420 overflows its sum of squares in any
    # form. Not the "wide" family: with gamma up to 1e4 and one x dominating its row, this textbook
    # VJP cancels terms ~1000x its result and lands at 1-3x the float32 per-element
    # tolerance, S included (autodiff's own float32 VJP at 0.3x): see docs/verify.md.
    families = ("given", "normal", "overflow", "zeros")
    ln = handgrad.verify(
        layer_norm, x, gamma, beta, grad=_layer_norm_vjp(missing_term=False), argnums=(0, 1, 2), families=families
    )
    assert ln.ok, str(ln)


def test_a_declared_kink_accepts_any_valid_subgradient_and_strict_only_autodiffs() -> None:
    x = np.array([0.0, -0.0, 1.5, -2.0, 0.0, 3.0], np.float32)
    half_at_zero = lambda x: jnp.where(x == 0, 0.5, jnp.sign(x)).astype(x.dtype)  # noqa: E731
    options: dict[str, Any] = dict(kinks=lambda x: x == 0, kink_range=(-1.0, 1.0), devices=["cpu:0"])
    options["families"] = ("given", "zeros", "normal")
    assert handgrad.verify(abs_sum, x, grad=half_at_zero, **options).ok
    # Undeclared, the kink is found (one-sided slopes -1 and 1) and 0.5 is accepted; strict
    # keeps autodiff's pick at 0, which 0.5 is not.
    assert handgrad.verify(abs_sum, x, grad=half_at_zero, devices=["cpu:0"], families=("given",)).ok
    undeclared = handgrad.verify(abs_sum, x, grad=half_at_zero, devices=["cpu:0"], families=("given",), strict=True)
    assert not undeclared.ok and undeclared.worst is not None
    assert undeclared.worst.comparison is not None and undeclared.worst.comparison.worst is not None
    assert undeclared.worst.comparison.worst.index[-1] in (0, 1, 4)
    # strict: only autodiff's convention; outside [-1, 1] never.
    assert not handgrad.verify(abs_sum, x, grad=half_at_zero, strict=True, **options).ok
    two_at_zero = lambda x: jnp.where(x == 0, 2.0, jnp.sign(x)).astype(x.dtype)  # noqa: E731
    assert not handgrad.verify(abs_sum, x, grad=two_at_zero, **options).ok


def test_a_relu_kink_scales_with_the_cotangent(rng: np.random.Generator) -> None:
    def relu_vjp(x: jax.Array, g: jax.Array) -> jax.Array:
        return g * jnp.where(x > 0, 1.0, jnp.where(x == 0, 0.25, 0.0)).astype(x.dtype)

    opts: dict[str, Any] = dict(devices=["cpu:0"], families=("zeros", "normal", "one-hot"))
    assert handgrad.verify(jax.nn.relu, _x(rng), grad=relu_vjp, kinks=lambda x: x == 0, kink_range=(0, 1), **opts).ok
    assert handgrad.verify(jax.nn.relu, _x(rng), grad=relu_vjp, **opts).ok  # the kink is found
    assert not handgrad.verify(jax.nn.relu, _x(rng), grad=relu_vjp, strict=True, **opts).ok


def _log1pexp_jvp_rule(dx_of: Any) -> Any:
    @jax.custom_jvp
    def log1pexp(x: jax.Array) -> jax.Array:
        return jnp.logaddexp(x, 0.0)

    log1pexp.defjvp(lambda primals, tangents: (log1pexp(primals[0]), dx_of(primals[0]) * tangents[0]))
    return log1pexp


def test_a_custom_jvp_rule_is_checked_against_its_primal(rng: np.random.Generator) -> None:
    opts: dict[str, Any] = dict(devices=["cpu:0"], transforms=["jit"])
    assert handgrad.verify(_log1pexp_jvp_rule(jax.nn.sigmoid), _x(rng), **opts).ok
    wrong = handgrad.verify(_log1pexp_jvp_rule(lambda x: jax.nn.sigmoid(-x)), _x(rng), **opts)
    _, worst = _worst(wrong)
    assert worst.leaf == "x"


def test_integer_arguments_are_passed_as_given_and_never_drawn(rng: np.random.Generator) -> None:
    def nll(logits: jax.Array, labels: jax.Array) -> jax.Array:
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.sum(jnp.take_along_axis(logp, labels[:, None], axis=-1))

    def nll_grad(logits: jax.Array, labels: jax.Array) -> jax.Array:
        return jax.nn.softmax(logits, axis=-1) - jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)

    labels = np.array([0, 4, 2, 2, 1, 3])
    opts: dict[str, Any] = dict(devices=["cpu:0"], families=("normal", "overflow"))
    report = handgrad.verify(nll, _x(rng), labels, grad=nll_grad, **opts)
    assert report.ok, str(report)
    assert {r.case.entry.args for r in report.results} == {("logits",)}
    off_by_one = lambda logits, labels: nll_grad(logits, (labels + 1) % 5)  # noqa: E731
    assert not handgrad.verify(nll, _x(rng), labels, grad=off_by_one, **opts).ok


# ---- wrong ones fail, the worst element named ----------------------------------------------


def _worst(report: handgrad.Report) -> Any:
    assert not report.ok
    case = report.worst
    assert case is not None and case.comparison is not None and case.comparison.worst is not None
    return case, case.comparison.worst


def test_a_missing_term_fails_and_names_the_leaf(rng: np.random.Generator) -> None:
    x, gamma, beta = _x(rng), _x(rng, (5,)), _x(rng, (5,))
    report = handgrad.verify(
        layer_norm, x, gamma, beta, grad=_layer_norm_vjp(missing_term=True), argnums=(0, 1, 2), devices=["cpu:0"]
    )
    case, worst = _worst(report)
    assert worst.leaf == "x"  # gamma's and beta's gradients are right
    # The worst case is the one furthest outside its allowance, measured (not inf).
    assert 1 < case.ratio < np.inf and case.ratio == max(r.ratio for r in report.failures)
    assert case.ratio == pytest.approx(worst.abs_err / worst.allowed)
    leaves = {r.comparison.worst.leaf for r in report.failures if r.comparison is not None and r.comparison.worst}
    assert leaves == {"x"}
    assert re.search(r"^  x\[[\d, ]+\]: expected", str(report), re.M)


def huber_sum(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.where(jnp.abs(x) <= 1, 0.5 * x * x, jnp.abs(x) - 0.5))


def test_a_wrong_sign_on_one_branch_fails_where_that_branch_is_taken(rng: np.random.Generator) -> None:
    right = lambda x: jnp.where(jnp.abs(x) <= 1, x, jnp.sign(x))  # noqa: E731
    wrong = lambda x: jnp.where(jnp.abs(x) <= 1, x, -jnp.sign(x))  # noqa: E731
    opts: dict[str, Any] = dict(devices=["cpu:0"], transforms=["jit", "vmap"])
    assert handgrad.verify(huber_sum, _x(rng), grad=right, **opts).ok
    report = handgrad.verify(huber_sum, _x(rng), grad=wrong, **opts)
    case, worst = _worst(report)
    from handgrad.cases import case_inputs

    x = np.asarray(case_inputs(case.case).args[0])[worst.index]
    assert abs(x) > 1 and worst.got == -worst.expected == -np.sign(x)
    for r in report.failures:  # every failure is on the outer branch
        assert r.comparison is not None and r.comparison.worst is not None
        assert abs(np.asarray(case_inputs(r.case).args[0])[r.comparison.worst.index]) > 1


def test_a_float32_unstable_rule_fails_in_float32_only_at_large_inputs(rng: np.random.Generator) -> None:
    report = handgrad.verify(SOFTPLUS_UNSTABLE, _x(rng), devices=["cpu:0"], transforms=["eager"])
    case, worst = _worst(report)
    assert case.problem == "nonfinite" and np.isnan(worst.got) and np.isfinite(worst.expected)
    from handgrad.cases import case_inputs

    assert np.asarray(case_inputs(case.case).args[0])[worst.index] > 88  # where exp overflows float32
    failed = {(r.case.dtype, r.case.family.name) for r in report.failures}
    assert ("float32", "normal") not in failed and ("float32", "given") not in failed
    assert ("float32", "overflow") in failed
    assert "NaN/inf only at extreme inputs" in str(report)


def test_assert_gradient_raises_with_the_report_and_returns_it_when_ok(rng: np.random.Generator) -> None:
    x = _x(rng)
    with pytest.raises(AssertionError, match=r"(?s)grad\(logsumexp\).*FAIL value.*x\[\d+, \d+\]: expected"):
        handgrad.assert_gradient(logsumexp, x, grad=lambda x, g: 2 * logsumexp_vjp(x, g), devices=["cpu:0"])
    assert handgrad.assert_gradient(logsumexp, x, grad=logsumexp_vjp, devices=["cpu:0"]).ok


# ---- second order ------------------------------------------------------------------------


def test_hvp_right_passes_and_wrong_fails(rng: np.random.Generator) -> None:
    def f(x: jax.Array) -> jax.Array:
        return jnp.sum(jnp.sin(x) * x)

    def hvp(x: jax.Array, v: jax.Array) -> jax.Array:
        return (2 * jnp.cos(x) - x * jnp.sin(x)) * v

    def hvp_missing(x: jax.Array, v: jax.Array) -> jax.Array:
        return (jnp.cos(x) - x * jnp.sin(x)) * v

    opts: dict[str, Any] = dict(devices=["cpu:0"], families=("normal", "one-hot"))
    assert handgrad.verify(f, _x(rng, (7,)), hvp=hvp, **opts).ok
    report = handgrad.verify(f, _x(rng, (7,)), hvp=hvp_missing, **opts)
    assert not report.ok and {r.case.entry.name for r in report.failures} == {"hvp(f)"}


# ---- Taylor test -------------------------------------------------------------------------


def _callback_f(x: jax.Array) -> jax.Array:
    """sum(x sin x) computed outside JAX: JAX cannot differentiate it."""
    out = jax.ShapeDtypeStruct((), x.dtype)
    return jax.pure_callback(lambda a: np.sum(a * np.sin(a)).astype(a.dtype), out, x)


def test_taylor_orders_on_a_pure_callback(rng: np.random.Generator) -> None:
    x = _x(rng, (9,))
    right = handgrad.taylor_test(_callback_f, x, grad=lambda x: jnp.sin(x) + x * jnp.cos(x))
    wrong = handgrad.taylor_test(_callback_f, x, grad=lambda x: jnp.sin(x))
    assert right.ok and 1.8 < right.order < 2.2, str(right)
    assert not wrong.ok and 0.8 < wrong.order < 1.2, str(wrong)
    assert len(right.orders) == len(right.hs) - 1 >= 3
    with pytest.raises(ValueError, match="taylor_test"):
        handgrad.verify(_callback_f, x, grad=lambda x: jnp.sin(x) + x * jnp.cos(x))


# ---- bad input gets a clear message ------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda x: handgrad.verify(42, x, grad=jnp.sign), TypeError, "f must be a function"),
        (lambda x: handgrad.verify(abs_sum, [1.0, 2.0], grad=jnp.sign), ValueError, "f fails on the example argu"),
        (lambda x: handgrad.verify(abs_sum, x), TypeError, "give grad="),
        (lambda x: handgrad.verify(abs_sum, x, grad="sign"), TypeError, "grad must be a function"),
        (lambda x: handgrad.verify(abs_sum, x, grad=lambda x: x[:2]), ValueError, r"shape \(2,\) for x"),
        (lambda x: handgrad.verify(abs_sum, x, grad=lambda x: x.astype(jnp.float16)), TypeError, "dtype float16"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, dtypes=["float8"]), ValueError, "unknown dtype 'float8'"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, devices=["tpu:3"]), ValueError, "unknown device"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, argnums=3), ValueError, "argnums 3 is out of range"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, kinks=lambda x: x == 0), ValueError, "kink_range"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, seed="0"), TypeError, "seed must be an int"),
        (lambda x: handgrad.verify(abs_sum, x, grad=jnp.sign, argnums=(0, -1)), ValueError, "twice"),
        (lambda x: handgrad.verify(abs_sum, x, hvp=lambda x, v: v[:1]), ValueError, r"hvp returns shape \(1,\)"),
        (lambda x: handgrad.verify(abs_sum, x.astype(int), grad=jnp.sign), TypeError, "only floating-point"),
        (lambda x: handgrad.taylor_test(abs_sum, x, grad=None), TypeError, "grad must be a function"),
    ],
)
def test_bad_input_is_a_clear_error(call: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words) as info:
        call(np.ones(4, np.float32))
    assert "handgrad." in str(info.value)


def test_verify_leaves_jax_configuration_as_it_found_it(rng: np.random.Generator) -> None:
    before = jax.config.read("jax_enable_x64"), jax.config.jax_default_matmul_precision
    with jax.enable_x64(False):
        report = handgrad.verify(SOFTPLUS, _x(rng), devices=["cpu:0"], transforms=["jit"], dtypes=["float64"])
        assert report.ok and {r.case.dtype for r in report.results} == {"float64"}
        assert not jax.config.read("jax_enable_x64")
    assert (jax.config.read("jax_enable_x64"), jax.config.jax_default_matmul_precision) == before


def test_verify_compiles_with_xlas_optimizations_off_and_restores_the_setting(rng: np.random.Generator) -> None:
    """As the grader does (checking_scope.checking): the user's gradient is traced, and so
    compiled, with jax_disable_most_optimizations on, whatever the process had; afterwards
    the process has its own setting back."""
    seen: list[bool] = []

    def softplus_sum(x: jax.Array) -> jax.Array:
        return jnp.sum(jax.nn.softplus(x))

    def grad(x: jax.Array) -> jax.Array:
        seen.append(jax.config.read("jax_disable_most_optimizations"))
        return jax.nn.sigmoid(x)

    saved = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)  # a user's process
    try:
        report = handgrad.verify(softplus_sum, _x(rng), grad=grad, devices=["cpu:0"], transforms=["jit"])
        after = jax.config.read("jax_disable_most_optimizations")
    finally:
        jax.config.update("jax_disable_most_optimizations", saved)
    assert report.ok
    assert seen and all(seen)
    assert after is False


# ---- the documented example runs ---------------------------------------------------------


def test_the_docs_example_runs_and_says_what_it_claims() -> None:
    text = (Path(__file__).parent.parent / "docs" / "verify.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/verify.md has python examples"
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(blocks), "docs/verify.md", "exec"), namespace)


# ---- a library user's own shapes of function: pytrees, wrappers, static arguments ------------

QUICK: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float32"], families=["normal"])
KINKY: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float32", "float64"], families=["given", "zeros"])


def _linear_loss(p: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.sum((x @ p["w"] + p["b"] - y) ** 2)


def _linear_loss_grad(half_b: bool) -> Any:
    def grad(p: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> dict[str, jax.Array]:
        r = 2 * (x @ p["w"] + p["b"] - y)
        return {"w": x.T @ r, "b": jnp.sum(r, axis=0) * (0.5 if half_b else 1.0)}

    return grad


def _params(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    p = {"w": _x(rng, (3, 2)), "b": _x(rng, (2,))}
    return p, _x(rng, (5, 3)), _x(rng, (5, 2))


def _layers_loss(layers: list[jax.Array], x: jax.Array) -> jax.Array:
    h = x
    for w in layers:
        h = jnp.tanh(h @ w)
    return jnp.sum(h**2)


def test_a_list_of_layers_is_checked_as_a_list(rng: np.random.Generator) -> None:
    """jax.grad of a list argument returns a list: it was taken for several argnums' gradients
    (turned into a tuple) and refused, so no gradient of a list of layers could pass."""
    layers, x = [_x(rng, (4, 4)), _x(rng, (4, 3))], _x(rng, (2, 4))
    assert handgrad.verify(_layers_loss, layers, x, grad=jax.grad(_layers_loss), **QUICK).ok

    def second_doubled(layers: list[jax.Array], x: jax.Array) -> list[jax.Array]:
        g = jax.grad(_layers_loss)(layers, x)
        return [g[0], 2 * g[1]]

    wrong = handgrad.verify(_layers_loss, layers, x, grad=second_doubled, **QUICK)
    _, worst = _worst(wrong)
    assert worst.leaf.startswith("layers[1]"), worst.leaf  # the first layer's gradient is right
    # Several argnums' gradients as a list still mean the tuple of them.
    as_list = handgrad.verify(
        _layers_loss, layers, x, grad=lambda p, x: list(jax.grad(_layers_loss, argnums=(0, 1))(p, x)), argnums=(0, 1),
        **QUICK,
    )  # fmt: skip
    assert as_list.ok, as_list


def test_a_dict_of_parameters_is_checked_leaf_by_leaf(rng: np.random.Generator) -> None:
    p, x, y = _params(rng)
    assert handgrad.verify(_linear_loss, p, x, y, grad=_linear_loss_grad(False), **QUICK).ok
    wrong = handgrad.verify(_linear_loss, p, x, y, grad=_linear_loss_grad(True), **QUICK)
    _, worst = _worst(wrong)
    assert worst.leaf == "p['b']"  # w's gradient is right
    assert "p['b']" in str(wrong)
    assert handgrad.taylor_test(_linear_loss, p, x, y, grad=_linear_loss_grad(False)).ok
    assert not handgrad.taylor_test(_linear_loss, p, x, y, grad=_linear_loss_grad(True)).ok


def test_hvp_and_kinks_need_an_array_argument_not_a_pytree() -> None:
    p = {"w": np.ones(3, np.float32)}
    with pytest.raises(ValueError, match="hvp= needs a scalar f and one argnum that is one array"):
        handgrad.verify(lambda p: jnp.sum(p["w"] ** 2), p, hvp=lambda p, v: 2 * v, **QUICK)
    with pytest.raises(ValueError, match="kinks= needs the differentiated arguments to be arrays, not pytrees"):
        handgrad.verify(lambda p: jnp.sum(jnp.abs(p["w"])), p, grad=lambda p: {"w": jnp.sign(p["w"])},
                        kinks=lambda p: p["w"] == 0, kink_range=(-1, 1), **QUICK)  # fmt: skip


def test_a_gradient_of_the_wrong_structure_is_named(rng: np.random.Generator) -> None:
    p, x, y = _params(rng)
    as_tuple = lambda p, x, y: tuple(_linear_loss_grad(False)(p, x, y).values())  # noqa: E731
    with pytest.raises(TypeError, match=r"grad must return the gradient shaped like .*\{'b': \*, 'w': \*\}"):
        handgrad.verify(_linear_loss, p, x, y, grad=as_tuple, **QUICK)


def test_a_jitted_custom_rule_is_checked_without_grad(rng: np.random.Generator) -> None:
    assert handgrad.verify(jax.jit(SOFTPLUS), _x(rng), **QUICK).ok
    wrong = _softplus_rule(lambda x, g: (g * jax.nn.sigmoid(-x),))
    assert not handgrad.verify(jax.jit(wrong), _x(rng), **QUICK).ok


def test_static_arguments_are_passed_as_given(rng: np.random.Generator) -> None:
    @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
    def scaled_sin(x: jax.Array, k: float) -> jax.Array:
        return jnp.sin(x) * k

    scaled_sin.defvjp(lambda x, k: (scaled_sin(x, k), x), lambda k, x, g: (g * jnp.cos(x) * k,))
    assert handgrad.verify(scaled_sin, _x(rng), 2.0, **QUICK).ok  # 2.0 is not drawn: a tracer there fails

    def head_sq(a: jax.Array, n: int, mode: str, on: bool) -> jax.Array:
        return jnp.sum(a[:n] ** 2) if mode == "sum" and on else jnp.sum(a)

    jitted = jax.jit(head_sq, static_argnums=(1, 2, 3))  # a static argument must stay hashable
    grad = lambda a, n, mode, on: 2 * a * (jnp.arange(a.shape[0]) < n)  # noqa: E731
    assert handgrad.verify(jitted, _x(rng, (6,)), 3, "sum", True, grad=grad, **QUICK).ok
    assert not handgrad.verify(jitted, _x(rng, (6,)), 4, "sum", True, grad=lambda a, *_: 2 * a, **QUICK).ok


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((3,), r"argument 0 \(x\) is the Python int 3; only floats can be differentiated \(write 3.0\)"),
        ((np.ones(3, np.complex64),), "complex arguments are not supported"),
        (({"w": np.ones(3, np.float32), "n": 2},), r"argument 0 \(x\['n'\]\) is the Python int 2"),
    ],
    ids=["python-int", "complex", "int-leaf"],
)
def test_what_cannot_be_differentiated_says_what_to_pass(args: tuple[Any, ...], words: str) -> None:
    with pytest.raises(TypeError, match=words):
        handgrad.verify(lambda x: jnp.sum(jnp.abs(jax.tree_util.tree_leaves(x)[0])), *args, grad=lambda x: x)


def test_grad_called_the_wrong_way_is_told_how_it_is_called(rng: np.random.Generator) -> None:
    with pytest.raises(TypeError, match=r"vector-Jacobian product: grad\(x, cotangent\)"):
        handgrad.verify(jnp.sin, _x(rng), grad=lambda x: jnp.cos(x), **QUICK)
    with pytest.raises(TypeError, match=r"grad runs under jax\.jit and jax\.vmap here: write it with jax\.numpy"):
        handgrad.verify(abs_sum, _x(rng), grad=lambda x: np.sign(np.asarray(x)), **QUICK)


def _relu_sum(x: Any) -> Any:
    return jnp.sum(jax.nn.relu(x))


def test_kinks_are_found_from_one_sided_slopes_without_being_declared() -> None:
    """relu at an exact 0 in the user's own input: 1 there is a valid subgradient (autodiff
    says 0), found from the one-sided slopes 0 and 1; strict keeps autodiff's choice; a value
    outside [0, 1] there is wrong at a kink."""
    x = np.array([0.0, -0.0, 1.5, -2.0, 0.3], np.float32)
    step = lambda x: (x >= 0).astype(x.dtype)  # noqa: E731
    assert handgrad.verify(_relu_sum, x, grad=step, **KINKY).ok
    strict = handgrad.verify(_relu_sum, x, grad=step, strict=True, **KINKY)
    assert not strict.ok and strict.worst is not None and list(strict.worst.inputs_at_worst.values()) == [0]
    beyond = handgrad.verify(_relu_sum, x, grad=lambda x: jnp.where(x == 0, 1.5, step(x)), **KINKY)
    assert not beyond.ok and beyond.worst is not None
    assert beyond.worst.hint == f"wrong at a kink: {verify_kinks.FOUND_KINK_RULE}"


def test_a_smooth_function_wrong_at_zero_is_not_called_a_kink() -> None:
    """sum(x*x) has equal one-sided slopes at 0: a gradient wrong only there fails, and the
    report says nothing of kinks (it used to suggest declaring one)."""
    x = np.array([0.0, -0.0, 1.5, -2.0, 0.3], np.float32)
    report = handgrad.verify(lambda x: jnp.sum(x * x), x, grad=lambda x: jnp.where(x == 0, 1.0, 2 * x), **KINKY)
    assert not report.ok and report.worst is not None and list(report.worst.inputs_at_worst.values()) == [0]
    assert "kink" not in report.worst.hint
    sign_flip = handgrad.verify(abs_sum, x + 3, grad=lambda x: -jnp.sign(x), **KINKY)
    assert sign_flip.worst is not None and "sign flipped" in sign_flip.worst.hint


def test_found_kinks_in_a_vjp_scale_with_the_cotangent() -> None:
    """An elementwise f: the valid values at a kink are the cotangent times [left, right]."""
    x = np.array([0.0, 2.0, -1.0, 0.0], np.float32)
    assert handgrad.verify(jnp.abs, x, grad=lambda x, g: g * jnp.sign(x), **KINKY).ok
    assert handgrad.verify(jnp.abs, x, grad=lambda x, g: g * jnp.where(x == 0, 0.5, jnp.sign(x)), **KINKY).ok
    assert not handgrad.verify(jnp.abs, x, grad=lambda x, g: g * jnp.where(x == 0, 2.0, jnp.sign(x)), **KINKY).ok


def test_taylor_test_of_a_linear_function_that_cancels_to_zero_passes() -> None:
    x = np.linspace(-2.0, 2.0, 6)  # sum(x) = 0: the remainder is rounding of terms of size |x|
    result = handgrad.taylor_test(jnp.sum, x, grad=jnp.ones_like)
    assert result.ok and result.exact
    assert not handgrad.taylor_test(lambda x: jnp.sum(x * x), x, grad=jnp.ones_like).ok
    with pytest.raises(ValueError, match=r"handgrad.taylor_test: grad returns shape \(\) for x, expected \(6,\)"):
        handgrad.taylor_test(lambda x: jnp.sum(x * x), x, grad=jnp.sum)


def test_an_empty_example_is_refused_and_a_partial_keeps_its_name() -> None:
    with pytest.raises(ValueError, match=r"x has no elements \(shape \(0,\)\): nothing would be checked"):
        handgrad.verify(abs_sum, np.zeros(0, np.float32), grad=jnp.sign, **QUICK)

    def scaled_sq(x: jax.Array, scale: float = 1.0) -> jax.Array:
        return scale * jnp.sum(x * x)

    report = handgrad.verify(functools.partial(scaled_sq, scale=3.0), np.ones(3, np.float32),
                             grad=lambda x: 6 * x, **QUICK)  # fmt: skip
    assert report.ok and report.name == "scaled_sq"


def test_a_failed_report_of_a_non_scalar_f_says_grad_was_read_as_a_vjp() -> None:
    x = np.linspace(-1.0, 1.0, 4).astype(np.float32)
    loss = lambda x: jnp.sum(x * x, keepdims=True)  # noqa: E731  shape (1,): a vector, not a scalar
    report = handgrad.verify(loss, x, grad=lambda x, *rest: 2 * x, **QUICK)  # ignores the cotangent
    assert not report.ok
    assert "returns shape (1,), not a scalar: grad was checked as its vector-Jacobian product" in str(report)
    scalar = handgrad.verify(lambda x: jnp.sum(x * x), x, grad=lambda x: 3 * x, **QUICK)
    assert not scalar.ok and "vector-Jacobian" not in str(scalar)


def test_a_failure_at_zero_never_advises_leaving_a_family_out() -> None:
    # A smooth f (softplus sum) whose hand gradient is wrong only at exactly 0: the zero is what
    # shows the bug, so the report must not suggest hiding the input that caught it.
    def f(x: jax.Array) -> jax.Array:
        return jnp.sum(jax.nn.softplus(x))

    def bad(x: jax.Array, ct: jax.Array | None = None) -> jax.Array:
        return jnp.where(x == 0, 0.0, jax.nn.sigmoid(x))

    x = np.array([0.0, 1.5, -2.0], np.float32)
    report = handgrad.verify(f, x, grad=bad, families=["given"], **{
        k: v for k, v in QUICK.items() if k != "families"})  # fmt: skip
    assert not report.ok and report.worst is not None
    assert "family out" not in report.worst.hint and "leave" not in report.worst.hint
    assert "family out" not in str(report)


def _labelled(z: Any, y: Any) -> Any:
    return jnp.sum(y * z)


def test_fixed_arguments_keep_their_given_values_in_every_family() -> None:
    """grad = y*y equals the true gradient y only where y is exactly 0 or 1: with the labels
    held (by name or by position) every family passes; redrawn, they are not labels."""
    z, y = np.array([0.5, -1.2, 2.0, -0.3]), np.array([0.0, 1.0, 1.0, 0.0])
    squared = lambda z, y: y * y  # noqa: E731
    assert not handgrad.verify(_labelled, z, y, grad=squared).ok
    for fixed in ("y", 1, [-1]):
        report = handgrad.verify(_labelled, z, y, grad=squared, fixed=fixed)
        assert report.ok, report
        assert {r.case.family.name for r in report.results} >= {"normal", "wide", "overflow"}


@pytest.mark.parametrize(
    ("fixed", "error", "words"),
    [
        (0, ValueError, "argument 0 (z) is differentiated (argnums): it cannot be fixed"),
        ("w", ValueError, "fixed='w' names no argument; they are z, y"),
        (5, ValueError, "fixed=5 is out of range for 2 arguments"),
        (1.0, TypeError, "fixed= takes argument positions or names, got 1.0"),
    ],
)
def test_fixed_names_an_argument_that_can_be_held(fixed: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        handgrad.verify(_labelled, np.ones(3), np.ones(3), grad=lambda z, y: y, fixed=fixed)


def test_the_tiny_family_draws_every_argument_small_at_once() -> None:
    """d/dx sum(sqrt(x^2 + y^2)) with an added 1e-9: invisible unless x and y are both tiny
    (the other families draw each argument's magnitude on its own); the exact form passes."""

    def norm(x: Any, y: Any) -> Any:
        return jnp.sum(jnp.sqrt(x * x + y * y))

    x, y = np.array([0.5, -1.2, 2.0], np.float32), np.array([1.0, 0.3, -0.7], np.float32)
    with_eps = lambda x, y: x / (jnp.sqrt(x * x + y * y) + 1e-9)  # noqa: E731
    options: dict[str, Any] = dict(dtypes=["float32"], devices=["cpu:0"])
    assert handgrad.verify(norm, x, y, grad=with_eps, families=["given", "normal", "wide", "overflow"], **options).ok
    caught = handgrad.verify(norm, x, y, grad=with_eps, **options)
    assert not caught.ok and {r.case.family.name for r in caught.failures} == {"tiny"}
    exact = lambda x, y: x / jnp.sqrt(x * x + y * y)  # noqa: E731  (0/0 at the origin: not in "zeros")
    assert handgrad.verify(
        norm, x, y, grad=exact, families=["given", "normal", "wide", "overflow", "tiny"], **options
    ).ok


def test_elements_where_f_itself_is_not_finite_are_not_compared_and_counted() -> None:
    """log(sum(x)) is undefined where the sum is negative, as in this example (the given family
    is never redrawn): autodiff still says 1/sum there, and a gradient written exp(-log(sum))
    says NaN; neither is a derivative of f. Those cases are not compared, and the report counts
    them; where f is defined (the normal family, redrawn there), a wrong gradient still fails."""

    def log_sum(x: Any) -> Any:
        return jnp.log(jnp.sum(x))

    x = np.array([0.5, -1.2, -2.0], np.float64)
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"], families=["given", "normal"])
    report = handgrad.verify(log_sum, x, grad=lambda x: jnp.exp(-jnp.log(jnp.sum(x))) * jnp.ones_like(x), **options)
    assert report.ok and report.unchecked > 0, report
    assert {r.case.family.name for r in report.results if r.unchecked} == {"given"}
    assert "not compared where f is not finite, its autodiff is NaN" in str(report)
    wrong = handgrad.verify(log_sum, x, grad=lambda x: 2 / jnp.sum(x) * jnp.ones_like(x), **options)
    assert {r.case.family.name for r in wrong.failures} == {"normal"}


def test_the_size_one_family_catches_a_squeeze_that_drops_the_batch_axis() -> None:
    """.squeeze() where .squeeze(-1) was meant: right for every batch but a batch of 1, where
    the row sums lose their batch axis and indexing them fails; the size-1 family draws that
    batch, the others never do. A weight matrix beside the batch keeps its shape."""

    def loss(w: Any, x: Any) -> Any:
        return jnp.sum(jnp.tanh(x @ w))

    def grad(w: Any, x: Any) -> Any:
        return x.T @ (1 - jnp.tanh(x @ w) ** 2)

    def grad_squeezed(w: Any, x: Any) -> Any:
        t = jnp.tanh(x @ w).squeeze()  # (batch, 1) -> (batch,), but () for a batch of 1
        return x.T @ (1 - t[:, None] ** 2)

    rng = np.random.default_rng(2)
    w, x = rng.standard_normal((3, 1)), rng.standard_normal((5, 3))
    options: dict[str, Any] = dict(argnums=0, dtypes=["float64"], devices=["cpu:0"])
    assert handgrad.verify(loss, w, x, grad=grad, **options).ok
    caught = handgrad.verify(loss, w, x, grad=grad_squeezed, **options)
    assert {r.case.family.name for r in caught.failures} == {"size-1"}, caught
    x_rows = handgrad.verify(
        loss, w, x, grad=grad, argnums=0, dtypes=["float64"], devices=["cpu:0"], families=["size-1"]
    )
    assert x_rows.ok and {r.case.family.name for r in x_rows.results} == {"size-1"}
    assert "the family cut x from (5, 3) to (1, 3)" in str(caught), caught


def _qr_diagonal(m: Any) -> Any:
    return jnp.sum(jnp.abs(jnp.diagonal(jnp.linalg.qr(m)[1])))


def _qr_diagonal_grad_tall_only(m: Any) -> Any:  # right for tall m (rows >= columns) alone
    q, r = jnp.linalg.qr(m)
    x = r * jnp.sign(jnp.diagonal(r))[None, :]
    return q @ (jnp.tril(x) + jnp.tril(x, -1).T) @ jnp.linalg.inv(r).T


@pytest.mark.parametrize(
    ("f", "grad", "x", "cut", "matrix"),
    [
        (_qr_diagonal, _qr_diagonal_grad_tall_only, np.arange(15.0).reshape(5, 3) ** 0.5,
         "m from (5, 3) to (1, 3)", True),
        (lambda v: jnp.sum(v**3), lambda v: 3 * v.squeeze() ** 2, np.linspace(0.5, 2.0, 4),
         "v from (4,) to (1,)", False),
    ],
    ids=["qr-tall-only", "squeeze-vector"],
)  # fmt: skip
def test_a_size_one_failure_says_what_the_family_cut(f: Any, grad: Any, x: Any, cut: str, matrix: bool) -> None:
    """A QR rule for tall matrices failed at the size-1 family's (1, 3) and was told only "the
    code assumes one example or one layout" (a red team's F7): the report now says what was cut,
    and that a matrix's rows may be no batch at all. A vector cut to (1,) is a batch of one."""
    report = handgrad.verify(f, x, grad=grad, dtypes=["float64"], devices=["cpu:0"], transforms=["eager"])
    assert {r.case.family.name for r in report.failures} == {"size-1"}, report
    text = str(report)
    assert f"size-1: the family cut {cut}, taking the leading axis for a batch of one" in text, text
    assert ("a one-row matrix may be outside what f is for" in text) == matrix


def test_a_rule_that_fails_more_than_size_one_is_not_told_to_leave_it_out() -> None:
    """A row-norm rule that squeezes the cotangent (wrong for a batch of one) and forgets the
    factor 2 fails every family: the report named families=[...] to leave size-1 out, which
    would only hide one more failure (a newcomer's finding). Said only where size-1 alone fails."""

    def rownorm(x: Any) -> Any:
        return jnp.sum(x * x, axis=-1)

    def half(x: Any, g: Any) -> Any:
        return x * jnp.atleast_1d(g.squeeze())[:, None]

    rows = np.linspace(-1.0, 2.0, 15).reshape(5, 3)
    report = handgrad.verify(rownorm, rows, grad=half, dtypes=["float64"], devices=["cpu:0"], transforms=["eager"])
    assert {"size-1", "normal"} <= {r.case.family.name for r in report.failures}, report
    text = str(report)
    assert "size-1: the family cut x from (5, 3) to (1, 3)" in text and "families=[" not in text, text


def test_a_vjp_failure_prints_the_cotangent_it_used() -> None:
    x = np.array([0.5, -1.0, 2.0], np.float64)
    report = handgrad.verify(jnp.sin, x, grad=lambda x, g: 2 * g * jnp.cos(x), families=["given"], **{
        k: v for k, v in QUICK.items() if k != "families"})  # fmt: skip
    assert not report.ok and report.worst is not None
    shown = report.worst.inputs_at_worst["cotangent"]
    assert "input cotangent = [" in report.worst.message() and np.shape(shown)[-1] == 3


def test_arguments_that_look_like_labels_are_drawn_as_labels_in_their_own_family() -> None:
    """A logistic-loss gradient with a special case for the positive class, wrong there: no
    family of floats draws y exactly 1, the labels family does (one-hot rows stay one-hot)."""

    def bce(z: Any, y: Any) -> Any:
        return jnp.sum(jax.nn.softplus(z) - y * z)

    right = lambda z, y: jax.nn.sigmoid(z) - y  # noqa: E731
    special = lambda z, y: jnp.where(y == 1, jax.nn.sigmoid(z) - 1 + 1e-3, jax.nn.sigmoid(z) - y)  # noqa: E731
    z, y = np.array([0.3, -1.2, 2.0, 0.7]), np.array([1.0, 0.0, 0.0, 1.0])
    options: dict[str, Any] = dict(dtypes=["float64"], devices=["cpu:0"])
    others = [f for f in verification.FAMILIES if f not in ("labels", "given", "one-hot")]
    assert handgrad.verify(bce, z, y, grad=special, families=others, **options).ok
    caught = handgrad.verify(bce, z, y, grad=special, **options)
    assert {r.case.family.name for r in caught.failures} >= {"labels"}, caught
    assert handgrad.verify(bce, z, y, grad=right, **options).ok
    rows = np.eye(3)[[0, 2, 1, 1]]
    drawn = verify_families.draw_labels(np.random.default_rng(0), rows, verify_families.label_like_kind(rows))
    assert set(np.unique(drawn)) <= {0.0, 1.0} and (drawn.sum(-1) == 1).all()


def test_a_kink_found_by_rounding_noise_never_fails_the_right_gradient() -> None:
    """log(cosh(x)) near 1e-6 in float64: f's values carry rounding relative to cosh ~ 1, so
    the one-sided quotients differ by a few percent and the element looks like a kink whose
    range misses tanh(x). Autodiff's own value stays valid at any kink (not under strict)."""

    def logcosh(x: Any) -> Any:
        return jnp.sum(jnp.log(jnp.cosh(x)))

    x = np.random.default_rng(1).standard_normal((3, 4))  # ("tiny" then draws it near 1e-6)
    report = handgrad.verify(logcosh, x, grad=jnp.tanh, dtypes=["float64"], devices=["cpu:0"], families=["tiny"])
    assert report.ok, report


def test_autodiffs_value_stays_valid_at_any_kink_unless_strict() -> None:
    """A kink's range is an estimate (found from noisy quotients, or declared): whatever it
    says, the truth's own value is a valid derivative there; strict keeps the rule's value."""
    import dataclasses

    from handgrad.cases import build_cases
    from handgrad.engine import _apply_kink
    from reference.catalog import BY_NAME
    from reference.kinks import Kink

    far = Kink("a range that misses the truth", lambda a: np.ones(3, bool), lambda a, g: np.full(3, 5.0),
               lambda a: np.full(3, 5.0))  # fmt: skip
    entry = dataclasses.replace(BY_NAME["relu_grad"], kink=far)
    case = build_cases([entry], dtypes=["float64"], transforms=["eager"], devices=["cpu:0"])[0]
    want, got = np.array([1.0, 1.0, 1.0]), np.array([1.0, 4.0, 9.0])
    _, lenient = _apply_kink(case.entry.kink, (np.zeros(3),), want, got, strict=False)
    _, strict = _apply_kink(case.entry.kink, (np.zeros(3),), want, got, strict=True)
    assert lenient.tolist() == [1.0, 5.0, 5.0] and strict.tolist() == [5.0, 5.0, 5.0]


# ---- nothing kept: a process that verifies many functions does not run out of memory maps ----


def _fresh(kind: str) -> tuple[Any, Any]:
    if kind == "custom rule":

        @jax.custom_vjp
        def f(x: jax.Array) -> jax.Array:
            return jnp.logaddexp(x, 0.0)

        f.defvjp(lambda x: (f(x), x), lambda x, g: (g * jax.nn.sigmoid(x) * 1.5,))
        return f, None

    def loss(x: jax.Array) -> jax.Array:
        return jnp.sum(jnp.tanh(x) ** 2)

    def grad(x: jax.Array) -> jax.Array:
        return 2 * jnp.tanh(x) * (1 - jnp.tanh(x) ** 2) * (1.0 if kind == "right" else 0.5)

    return loss, grad


@pytest.mark.parametrize("kind", ["right", "wrong", "custom rule"])
def test_verify_keeps_nothing_of_the_functions_it_checked(kind: str) -> None:
    # Each compiled program holds three memory maps; a notebook or test process that kept the
    # programs of every function it verified reached vm.max_map_count, and XLA aborted it.
    # Once its report is dropped, nothing handgrad keeps refers to the user's function, so
    # JAX's caches of it (held by weak reference) go with it.
    f, grad = _fresh(kind)
    x = np.linspace(-2.0, 2.0, 6, dtype=np.float32)
    report = handgrad.verify(f, x, **QUICK) if grad is None else handgrad.verify(f, x, grad=grad, **QUICK)
    assert report.ok == (kind == "right")
    str(report)  # (its hints read the inputs again)
    gone = weakref.ref(f)
    del f, grad, report
    gc.collect()
    assert gone() is None


# ---- autodiff's own rule always passes (its intermediates round too) ----------------------


def _tanh_layer(w: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.tanh(x @ w))


def _sigmoid_layer(w: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.sum(jax.nn.sigmoid(x @ w) ** 2)


@pytest.mark.parametrize("f", [_tanh_layer, _sigmoid_layer])
def test_autodiffs_own_gradient_passes_in_float32_where_its_intermediates_cancel(f: Any) -> None:
    """1 - tanh(z)^2 in float32 is off by ~eps absolute where the unit saturates (sech^2 z
    ~ 1e-5 in `wide`), far beyond the inputs' rounding S: jax.grad(f) itself failed there.
    The allowance is at least autodiff's own rounding error; a wrong rule still fails."""
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal(3).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    opts: dict[str, Any] = dict(dtypes=["float32"], devices=["cpu:0"], families=["wide", "size-1"])
    for seed in range(4):  # (the old allowance failed _tanh_layer at seed 2, _sigmoid_layer at seed 1)
        assert handgrad.verify(f, w, x, grad=jax.grad(f), seed=seed, **opts).ok
    missing_square = lambda w, x: x.T @ (1 - jnp.tanh(x @ w))  # noqa: E731
    assert not handgrad.verify(f, w, x, grad=missing_square, **opts).ok


def test_autodiffs_rounding_is_measured_only_for_a_case_that_fails_without_it(monkeypatch: Any) -> None:
    """The allowance runs a program per case: a rule that passes the fixed allowance never
    pays for it; the wrong one does (and still fails)."""
    from handgrad.verify_kinks import OwnRounding

    asked: list[int] = []
    measure = OwnRounding.own_error
    monkeypatch.setattr(OwnRounding, "own_error", lambda self, args: asked.append(1) or measure(self, args))
    x = np.linspace(-2, 2, 7).astype(np.float32)
    opts: dict[str, Any] = dict(dtypes=["float32"], devices=["cpu:0"], families=["normal"])
    f = lambda x: jnp.sum(jnp.sin(x))  # noqa: E731
    assert handgrad.verify(f, x, grad=jnp.cos, **opts).ok and asked == []
    assert not handgrad.verify(f, x, grad=lambda x: jnp.cos(x) * 1.001, **opts).ok and asked


def test_a_verdict_does_not_depend_on_the_functions_name() -> None:
    """Draws are seeded from the check's label, so a renamed f meets other draws: autodiff's
    own gradient failed as `wsum`, `layer` and `loss` and passed as `f`."""
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal(3).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    verdicts = set()
    for name in ["wsum", "f", "layer", "loss"]:
        fn = functools.partial(_tanh_layer)
        fn.__name__ = name  # type: ignore[attr-defined]
        report = handgrad.verify(fn, w, x, grad=jax.grad(_tanh_layer), dtypes=["float32"], families=["wide"],
                                 devices=["cpu:0"])  # fmt: skip
        verdicts.add(report.ok)
    assert verdicts == {True}


# ---- a smooth f at tiny inputs has no kink ----------------------------------------------------


def _norm(x: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(x * x))


def _smooth_abs(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.sqrt(x * x + 1e-20))  # smooth: curved within ~1e-10 of 0


def _relu_plus_square(x: jax.Array) -> jax.Array:
    return jnp.sum(jax.nn.relu(x) + x * x)


def _l1(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.abs(x))


@pytest.mark.parametrize(("f", "kinks"), [(_norm, False), (_smooth_abs, False), (_relu_plus_square, True), (_l1, True)])
def test_a_smooth_function_at_tiny_inputs_is_not_a_kink(f: Any, kinks: bool) -> None:
    """The probe's step was 1e-7 * max(|x|, 1e-2) = 1e-9 at |x| ~ 1e-8 (the `tiny` family): it
    crossed the curved part of f, the one-sided slopes differed by curvature alone, and a norm
    gradient off by an added 1e-10 passed as a subgradient at a "kink". Now the step is 1e-7 of
    the element and a gap curvature explains is no kink; relu's and abs's exact 0 still are."""
    from handgrad.arguments import prepare

    x = np.array([3e-9, -1.2e-8, 5e-9, 0.0, 2e-8, 1e-3])
    with verification.checking():
        call = prepare(f, (x,), 0, None)
        found = verify_kinks.found_kink(call).slopes([x], None, 0).kink
    assert found.tolist() == [False, False, False, kinks, False, False]


@pytest.mark.parametrize(
    ("f", "grad", "x"),
    [
        (lambda x: jnp.sum(x**2), lambda x: 2 * x, np.array([1.0, np.inf, 2.0], np.float32)),
        (lambda x: jnp.sum(jnp.abs(x)), jnp.sign, np.array([0.0, -np.inf, 2.0])),
    ],
)
def test_an_infinite_input_leaks_no_numpy_warning_from_the_kink_probe(f: Any, grad: Any, x: np.ndarray) -> None:
    """The probe's steps at an inf element are 0 * inf and inf - inf: NaN points, no kink there,
    handled; numpy's RuntimeWarning about them leaked into the user's output."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        handgrad.verify(f, x, grad=grad, families=["given"], transforms=["jit"], devices=["cpu:0"])


def test_every_name_docs_verify_md_reads_from_a_module_exists_right_after_import() -> None:
    """docs/verify.md wrote handgrad.verification.FAMILIES, an AttributeError in a fresh process
    until verify had loaded the module (handgrad loads its checking API lazily)."""
    import subprocess
    import sys

    text = (Path(__file__).parent.parent / "docs" / "verify.md").read_text()
    dotted = sorted(set(re.findall(r"\bhandgrad\.[a-z_]+\.[A-Za-z_]+\b", text)))
    imported = re.findall(r"^from (handgrad\.[a-z_.]+) import (.+)$", text, flags=re.M)
    program = "import handgrad\n" + "".join(f"{name}\n" for name in dotted)
    program += "".join(f"from {m} import {names.split('#')[0].strip()}\n" for m, names in imported)
    assert dotted or imported
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
