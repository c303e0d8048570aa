"""handgrad.verify's check_grads options (order=, modes=), extra example shapes (examples=) and
the broadcast family.

Each wrong form here is right where the default check looks (order 1, reverse mode, the
example's own shapes) and wrong only where the option looks: a gradient right in value whose
own derivative is wrong, a custom_jvp rule's forward output, a shape the example does not have,
an argument broadcast against another. Each must fail there, with its check named, and the
right form beside it must pass.
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import handgrad
from handgrad import verification
from handgrad.cases import case_inputs
from tests.test_verify import _softplus_rule

ONE: dict[str, Any] = dict(devices=["cpu:0"], dtypes=["float64"])
"""One device, one dtype: every option's point shows in float64 alone."""


def _labels(report: handgrad.Report, failed: bool = True) -> set[str]:
    return {r.case.entry.name for r in (report.failures if failed else report.results)}


def sin_x(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.sin(x) * x)


def sin_x_grad(x: jax.Array) -> jax.Array:
    return jnp.sin(x) + x * jnp.cos(x)


def sin_x_grad_stopped(x: jax.Array) -> jax.Array:
    """The right value, but autodiff of it sees a constant: its derivative (the Hessian) is 0."""
    return jax.lax.stop_gradient(sin_x_grad(x))


# ---- order=2: the gradient's own derivative ------------------------------------------------------


def test_a_gradient_right_in_value_but_stopped_fails_only_at_order_2() -> None:
    x = np.linspace(-2.0, 2.0, 6)
    opts: dict[str, Any] = dict(families=["normal", "one-hot"], transforms=["jit", "vmap"], **ONE)
    assert handgrad.verify(sin_x, x, grad=sin_x_grad_stopped, modes=("rev", "fwd"), **opts).ok
    caught = handgrad.verify(sin_x, x, grad=sin_x_grad_stopped, modes=("rev", "fwd"), order=2, **opts)
    assert _labels(caught) == {"vjp(grad(sin_x))", "jvp(fwd(grad(sin_x)))"}  # the first-order checks pass
    worst = caught.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.got == 0 != worst.comparison.worst.expected
    assert "input v = [" in worst.message()  # the direction the gradient was differentiated along
    right = handgrad.verify(sin_x, x, grad=sin_x_grad, modes=("rev", "fwd"), order=2, **opts)
    assert right.ok, right
    assert _labels(right, failed=False) == {
        "grad(sin_x)", "fwd(grad(sin_x))", "vjp(grad(sin_x))", "jvp(fwd(grad(sin_x)))"}  # fmt: skip


def test_order_2_differentiates_a_custom_vjp_rule_in_reverse_mode() -> None:
    """A bwd right in value but not differentiable (stop_gradient): jax.grad(jax.grad(f)) is
    wrong, what check_grads(order=2, modes=["rev"]) sees; order 1 cannot."""

    right = _softplus_rule(lambda x, g: (g * jax.nn.sigmoid(x),))
    stopped = _softplus_rule(lambda x, g: (g * jax.lax.stop_gradient(jax.nn.sigmoid(x)),))
    x = np.linspace(-3.0, 3.0, 5)
    opts: dict[str, Any] = dict(families=["normal"], transforms=["jit"], **ONE)
    assert handgrad.verify(stopped, x, **opts).ok
    caught = handgrad.verify(stopped, x, order=2, **opts)
    assert _labels(caught) == {"vjp(rule(softplus))"}
    assert handgrad.verify(right, x, order=2, **opts).ok


# ---- order=2 at a kink of the gradient: found along v, as order 1 finds its own ---------------------


def _huber(x: jax.Array, delta: float = 1.0) -> jax.Array:
    """Written with minimum (as optax), so autodiff's gradient at |x| = delta is delta, not doubled;
    its second derivative there is autodiff's pick between 1 and 0."""
    a = jnp.abs(x)
    q = jnp.minimum(a, delta)
    return jnp.sum(0.5 * q * q + delta * (a - q))


def _x_abs_x(x: jax.Array) -> jax.Array:
    return jnp.sum(x * jnp.abs(x))


def _relu_exp(x: jax.Array) -> jax.Array:
    """Its gradient jumps at 0 (from 0 to 1): the second derivative there is unbounded."""
    return jnp.sum(jax.nn.relu(x) * jnp.exp(x))


def _huber_grad(x: jax.Array) -> jax.Array:
    return jnp.clip(x, -1.0, 1.0)  # (its derivative at +-1 is a tie of minimum/maximum: 0.5)


HUBER_AT_KINK = np.array([1.0, -1.0, 0.25, 2.0, -0.7])
"""+-delta exactly, where the gradient's slope jumps from 1 to 0; 0.25 inside, 2 and -0.7 beside."""
AT_ZERO = np.array([0.0, 1.5, -0.5])
GRADIENT_KINKS: dict[str, tuple[Any, Any, np.ndarray]] = {
    "huber at |x| = delta": (_huber, _huber_grad, HUBER_AT_KINK),
    "x abs(x) at 0": (_x_abs_x, lambda x: 2 * jnp.where(x > 0, x, -x), AT_ZERO),  # (slope -2 at 0, autodiff 2)
    "relu(x) exp(x) at 0": (_relu_exp, lambda x: jnp.where(x >= 0, jnp.exp(x) * (1 + x), 0.0), AT_ZERO),
}
ORDER_2: dict[str, Any] = dict(order=2, modes=("rev", "fwd"), transforms=["jit", "vmap"], **ONE)


@pytest.mark.parametrize(("f", "grad", "x"), GRADIENT_KINKS.values(), ids=GRADIENT_KINKS.keys())
def test_a_right_gradient_passes_order_2_at_a_kink_of_the_gradient_unless_strict(f: Any, grad: Any,
                                                                                 x: np.ndarray) -> None:  # fmt: skip
    """At the kink the gradient's one-sided derivatives along v differ; the gradient's own
    derivative there (a tie of clip, the other branch of a where) lies between them, not at
    autodiff's pick, which strict alone insists on."""
    opts: dict[str, Any] = dict(families=["given", "normal", "one-hot"], **ORDER_2)
    right = handgrad.verify(f, x, grad=grad, **opts)
    assert right.ok, right
    strict = handgrad.verify(f, x, grad=grad, strict=True, **opts)
    assert f"vjp(grad({f.__name__}))" in _labels(strict)
    assert {r.case.family.name for r in strict.failures} == {"given"}  # (the only draw on the kink)


def test_a_wrong_second_derivative_away_from_the_kink_still_fails_at_order_2() -> None:
    """The gradient's value is right everywhere; its derivative is 0 (stop_gradient) for
    |x| < 0.5, where Huber's is 1: no kink there, so order 2 fails at 0.25, not at +-1."""
    stopped = lambda x: jnp.where(jnp.abs(x) < 0.5, jax.lax.stop_gradient(x), _huber_grad(x))  # noqa: E731
    caught = handgrad.verify(_huber, HUBER_AT_KINK, grad=stopped, families=["given"], **ORDER_2)
    assert _labels(caught) == {"vjp(grad(_huber))", "jvp(fwd(grad(_huber)))"}
    for result in caught.failures:
        if result.case.entry.name == "vjp(grad(_huber))":
            assert result.comparison is not None and result.comparison.worst is not None
            assert result.comparison.worst.index[-1] == 2 and not result.comparison.worst.at_kink


def test_a_second_derivative_outside_the_one_sided_ones_fails_at_the_kink() -> None:
    """3.5 at x = +-1 (0.5 + 3, with the value unchanged) is outside [0, 1]: wrong at a kink."""
    steeper = lambda x: _huber_grad(x) + jnp.where(jnp.abs(x) == 1, 3 * (x - jax.lax.stop_gradient(x)), 0)  # noqa: E731
    opts: dict[str, Any] = dict(families=["given"], **ORDER_2)
    assert handgrad.verify(_huber, HUBER_AT_KINK, grad=steeper, **{**opts, "order": 1}).ok
    caught = handgrad.verify(_huber, HUBER_AT_KINK, grad=steeper, **opts)
    assert "vjp(grad(_huber))" in _labels(caught)
    (vjp,) = [r for r in caught.failures if r.case.entry.name == "vjp(grad(_huber))" and not r.case.stacked]
    assert vjp.comparison is not None and vjp.comparison.worst is not None
    assert vjp.comparison.worst.index in ((0,), (1,)) and vjp.comparison.worst.at_kink
    assert "f's gradient has a kink along v there" in vjp.message()


# ---- a custom rule's primal output: what jax.vjp(f, x) returns first ------------------------------


def _softplus_with_fwd(primal_of: Any) -> Any:
    """softplus with a right bwd and a fwd whose primal output is primal_of(x)."""

    @jax.custom_vjp
    def softplus(x: jax.Array) -> jax.Array:
        return jnp.logaddexp(x, 0.0)

    softplus.defvjp(lambda x: (primal_of(x), x), lambda x, g: (g * jax.nn.sigmoid(x),))
    return softplus


WRONG_PRIMALS: dict[str, Any] = {
    "the residual": lambda x: x,
    "a forgotten term": lambda x: jnp.maximum(x, 0.0),  # (log1p(exp(-|x|)) dropped)
    "a float32 round trip": lambda x: jnp.logaddexp(x.astype(jnp.float32), 0.0).astype(x.dtype),
}


@pytest.mark.parametrize("primal_of", WRONG_PRIMALS.values(), ids=WRONG_PRIMALS.keys())
def test_a_custom_vjp_fwd_that_returns_a_wrong_primal_fails_in_its_own_row(primal_of: Any) -> None:
    """The bwd is right, so the cotangent check passes; the primal row compares jax.vjp(f, x)[0]
    with f.fun(x) in float64 and names the worst element."""
    x = np.linspace(-3.0, 3.0, 7)
    opts: dict[str, Any] = dict(families=["given", "normal"], transforms=["jit", "vmap"], **ONE)
    caught = handgrad.verify(_softplus_with_fwd(primal_of), x, **opts)
    assert _labels(caught) == {"primal(rule(softplus))"}
    worst = caught.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.leaf == "primal"
    at = worst.inputs_at_worst["x"]
    assert worst.comparison.worst.expected == pytest.approx(float(np.logaddexp(at, 0.0)), rel=1e-12)
    assert "primal(rule(softplus))(x) FAILED (value)" in str(caught)


def test_a_right_custom_rules_primal_output_passes_in_its_own_row() -> None:
    x = np.linspace(-3.0, 3.0, 7)
    right = handgrad.verify(_softplus_with_fwd(lambda x: jnp.logaddexp(x, 0.0)), x, transforms=["jit"], **ONE)
    assert right.ok, right
    assert _labels(right, failed=False) == {"rule(softplus)", "primal(rule(softplus))"}
    user_grad = handgrad.verify(_softplus_with_fwd(lambda x: x), x, grad=lambda x, g: g * jax.nn.sigmoid(x), **ONE)
    assert user_grad.ok and _labels(user_grad, failed=False) == {"grad(softplus)"}  # (grad=: f's rule is not checked)


# ---- modes=("fwd",): a custom_jvp rule's own JVP ---------------------------------------------------


def _log1pexp_rule(dx_of: Any, primal_shift: float = 0.0) -> Any:
    @jax.custom_jvp
    def log1pexp(x: jax.Array) -> jax.Array:
        return jnp.logaddexp(x, 0.0)

    def jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
        (x,), (t,) = primals, tangents
        return log1pexp(x) + primal_shift, dx_of(x) * t

    log1pexp.defjvp(jvp)
    return log1pexp


def test_a_wrong_custom_jvp_rule_fails_in_forward_mode_and_prints_its_tangent() -> None:
    x = np.random.default_rng(3).standard_normal((3, 4))
    opts: dict[str, Any] = dict(families=["normal", "one-hot"], transforms=["eager", "vmap"], **ONE)
    wrong = handgrad.verify(_log1pexp_rule(lambda x: jax.nn.sigmoid(-x)), x, modes=("fwd",), **opts)
    assert _labels(wrong) == _labels(wrong, failed=False) == {"fwd(rule(log1pexp))"}
    worst = wrong.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.leaf == "jvp"
    message = worst.message()
    assert re.search(r"input tangent = \[\[", message) and "input x = [[" in message
    right = handgrad.verify(_log1pexp_rule(jax.nn.sigmoid), x, modes=("rev", "fwd"), order=2, **opts)
    assert right.ok, right
    assert _labels(right, failed=False) == {"rule(log1pexp)", "primal(rule(log1pexp))", "fwd(rule(log1pexp))",
                                            "vjp(rule(log1pexp))", "jvp(fwd(rule(log1pexp)))"}  # fmt: skip


def test_forward_mode_compares_a_custom_jvp_rules_primal_output() -> None:
    """A rule whose primal output is off (its tangent right): jax.jvp(f) returns the wrong value
    (the fwd row's primal leaf), and so does jax.vjp(f) (the rev mode's primal row); the
    cotangent check alone never looks at it."""
    x = np.linspace(-2.0, 2.0, 5)
    shifted = _log1pexp_rule(jax.nn.sigmoid, primal_shift=1e-3)
    opts: dict[str, Any] = dict(families=["normal"], transforms=["jit"], **ONE)
    assert _labels(handgrad.verify(shifted, x, **opts)) == {"primal(rule(log1pexp))"}
    caught = handgrad.verify(shifted, x, modes=("fwd",), **opts)
    worst = caught.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.leaf == "primal"
    assert worst.comparison.worst.got == pytest.approx(worst.comparison.worst.expected + 1e-3)


def test_a_hand_vjp_in_forward_mode_is_its_directional_derivative() -> None:
    """For a non-scalar f, grad(x, c) is checked as <grad(x, c), t> against <c, jvp(f, x, t)>:
    one number per draw; a failure prints the cotangent and the tangent it used."""
    x = np.random.default_rng(4).standard_normal((2, 3))
    opts: dict[str, Any] = dict(families=["normal", "one-hot"], transforms=["jit"], **ONE)
    assert handgrad.verify(jnp.sin, x, grad=lambda x, c: c * jnp.cos(x), modes=("fwd",), order=2, **opts).ok
    off = handgrad.verify(jnp.sin, x, grad=lambda x, c: 1.01 * c * jnp.cos(x), modes=("fwd",), **opts)
    worst = off.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.index == () and set(worst.inputs_at_worst) == {"x", "cotangent", "tangent"}
    assert worst.comparison.worst.got == pytest.approx(1.01 * worst.comparison.worst.expected)


def _three_steps(x: jax.Array) -> jax.Array:
    # A while_loop (a trip count JAX does not read as static): forward mode goes through it,
    # reverse mode refuses it.
    def body(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        i, y = carry
        return i + 1, y + jnp.tanh(y)

    return jax.lax.while_loop(lambda c: c[0] < 3, body, (0, x))[1]


def _steps_vjp(x: jax.Array, c: jax.Array, off: float = 1.0) -> jax.Array:
    d, y = jnp.ones_like(x), x
    for _ in range(3):
        d, y = d * (2 - jnp.tanh(y) ** 2), y + jnp.tanh(y)
    return c * d * off


@pytest.mark.parametrize(("off", "ok"), [(1.0, True), (1.01, False)])
def test_a_loop_reverse_mode_refuses_is_checked_in_forward_mode(off: float, ok: bool) -> None:
    x = np.linspace(-2.0, 2.0, 6)
    report = handgrad.verify(_three_steps, x, grad=lambda x, c: _steps_vjp(x, c, off), modes=("fwd",), **ONE)
    assert report.ok is ok, report
    with pytest.raises(ValueError, match=re.escape("modes=('fwd',)")):  # where reverse mode is asked, it says how
        handgrad.verify(_three_steps, x, grad=_steps_vjp, **ONE)


def test_a_custom_vjp_over_a_loop_reverse_mode_refuses_is_not_sent_to_forward_mode() -> None:
    """A red team's fixed point: its custom_vjp's primal was a while_loop; verify suggested
    modes=('fwd',), which it then refused for a custom_vjp (no forward mode): round in a circle."""
    rule = jax.custom_vjp(_three_steps)
    rule.defvjp(lambda x: (_three_steps(x), x), lambda x, c: (_steps_vjp(x, c),))
    x = np.linspace(-2.0, 2.0, 6)
    with pytest.raises(ValueError, match=re.escape("lax.scan or a fori_loop of static bounds")) as refused:
        handgrad.verify(rule, x, **ONE)
    assert "modes=" not in str(refused.value)
    scanned = jax.custom_vjp(lambda x: jax.lax.fori_loop(0, 3, lambda i, y: y + jnp.tanh(y), x))
    scanned.defvjp(lambda x: (scanned(x), x), lambda x, c: (_steps_vjp(x, c),))
    assert handgrad.verify(scanned, x, **ONE).ok  # as the words say: then it is checked


def test_one_hot_tangents_pick_one_element_of_all_the_differentiated_arguments() -> None:
    """With several argnums the one-hot family draws one tangent element of all of them
    together: the JVP is then one entry of the gradient, of one argument."""

    def weighted(a: Any, b: Any) -> Any:
        return jnp.sum(a * a * b)

    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25])
    grad = lambda a, b: (2 * a * jnp.sum(b), jnp.full_like(b, jnp.sum(a * a)))  # noqa: E731
    report = handgrad.verify(
        lambda a, b: weighted(a[:, None], b[None, :]), a, b, grad=grad, argnums=(0, 1), modes=("fwd",),
        families=["one-hot"], transforms=["vmap"], **ONE)  # fmt: skip
    assert report.ok, report
    (case,) = [r.case for r in report.results]
    tangents = case_inputs(case).args[2:]
    assert case.entry.args[2:] == ("tangent of a", "tangent of b")
    ones = sum(np.count_nonzero(t, axis=1) for t in tangents)
    assert (ones == 1).all()  # each stacked draw: one element of a's and b's tangents together


def test_a_kink_along_the_tangent_accepts_any_subgradient_unless_strict() -> None:
    """relu at exact 0s: <g, t> with g = 1 there (autodiff says 0) lies between the one-sided
    directional derivatives; 1.5 at 0 does not; strict keeps autodiff's 0."""
    x = np.array([0.0, -0.0, 1.5, -2.0, 0.3])
    step = lambda x: (x >= 0).astype(x.dtype)  # noqa: E731
    opts: dict[str, Any] = dict(families=["given", "zeros"], transforms=["jit", "vmap"], modes=("fwd",), **ONE)
    assert handgrad.verify(lambda x: jnp.sum(jax.nn.relu(x)), x, grad=step, **opts).ok
    strict = handgrad.verify(lambda x: jnp.sum(jax.nn.relu(x)), x, grad=step, strict=True, **opts)
    assert not strict.ok
    beyond = handgrad.verify(lambda x: jnp.sum(jax.nn.relu(x)), x, grad=lambda x: jnp.where(x == 0, 1.5, step(x)),
                             **opts)  # fmt: skip
    worst = beyond.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.at_kink


# ---- examples=: shapes the example does not have ---------------------------------------------------


def _mean_of_squares(images: Any) -> Any:
    """Images (batch, height, width): the mean square over each row, summed."""
    return jnp.sum(jnp.mean(images**2, axis=-1))


def test_a_bug_only_at_another_shape_is_caught_when_that_example_is_given() -> None:
    """Divided by the height where the width was meant: right for square images (the example,
    and every family drawn from it, a batch of one included), a factor 4/3 off for 3x4 ones."""
    rng = np.random.default_rng(5)
    square, wide = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 4))
    by_height = lambda x: 2 * x / x.shape[-2]  # noqa: E731
    opts: dict[str, Any] = dict(transforms=["jit"], **ONE)
    assert handgrad.verify(_mean_of_squares, square, grad=by_height, **opts).ok
    caught = handgrad.verify(_mean_of_squares, square, grad=by_height, examples=[(wide,)], **opts)
    assert _labels(caught) == {"grad(_mean_of_squares) on examples[0]"}
    worst = caught.worst
    assert worst is not None and worst.comparison is not None and worst.comparison.worst is not None
    assert worst.comparison.worst.got == pytest.approx(worst.comparison.worst.expected * 4 / 3)
    text = str(caught)
    assert "grad(_mean_of_squares)(images) on examples[0] FAILED (value)" in text
    assert "examples[0] (extra example arguments): images (2, 3, 4)" in text
    by_width = lambda x: 2 * x / x.shape[-1]  # noqa: E731
    assert handgrad.verify(_mean_of_squares, square, grad=by_width, examples=[(wide,)], **opts).ok


def test_every_check_runs_on_every_extra_example() -> None:
    x = np.linspace(-1.0, 1.0, 4)
    report = handgrad.verify(sin_x, x, grad=sin_x_grad, modes=("rev", "fwd"), examples=[(x[:1],), (x.reshape(2, 2),)],
                             families=["normal"], transforms=["jit"], **ONE)  # fmt: skip
    assert report.ok, report
    labels = {"grad(sin_x)", "fwd(grad(sin_x))"}
    assert _labels(report, failed=False) == labels | {f"{n} on examples[{k}]" for n in labels for k in (0, 1)}
    shapes = {r.case.entry.name: case_inputs(r.case).args[0].shape for r in report.results}
    assert shapes["grad(sin_x) on examples[0]"] == (1,) and shapes["fwd(grad(sin_x)) on examples[1]"] == (2, 2)


# ---- the broadcast family --------------------------------------------------------------------------


def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """g summed over the axes it was broadcast along, back to `shape`."""
    g = jnp.sum(g, axis=tuple(range(g.ndim - len(shape))))
    return jnp.sum(g, axis=tuple(k for k, n in enumerate(shape) if n == 1), keepdims=True)


def _squared_distance(x: Any, y: Any) -> Any:
    return jnp.sum((x - y) ** 2)


def test_a_gradient_that_forgets_to_sum_over_a_broadcast_axis_fails_in_the_broadcast_family() -> None:
    """The gradient of y, -2 (x - y), is right while y has x's shape and wrong once y (1,) is
    broadcast against x (5,): there it must be summed. The default families never broadcast
    (size-1 cuts both to (1,)); the broadcast family cuts one argument at a time, and an extra
    example can give the shape."""
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    right = lambda x, y: (_sum_to(2 * (x - y), x.shape), _sum_to(-2 * (x - y), y.shape))  # noqa: E731
    forgets = lambda x, y: (_sum_to(2 * (x - y), x.shape), -2 * (x - y))  # noqa: E731
    opts: dict[str, Any] = dict(argnums=(0, 1), transforms=["jit"], **ONE)
    assert handgrad.verify(_squared_distance, x, y, grad=forgets, **opts).ok
    caught = handgrad.verify(_squared_distance, x, y, grad=forgets, families=["normal", "broadcast"], **opts)
    assert {r.case.family.name for r in caught.failures} == {"broadcast:y"}  # x's own gradient sums
    worst = caught.worst
    assert worst is not None and worst.problem == "shape"
    assert worst.hint.startswith("y has shape (1,) here, broadcast against x: its gradient sums over the axes")
    shown = handgrad.verify(_squared_distance, x, y, grad=forgets, examples=[(x, y[:1])], families=["normal"], **opts)
    assert _labels(shown) == {"grad(_squared_distance) on examples[0]"}
    fine = handgrad.verify(_squared_distance, x, y, grad=right, families=["normal", "broadcast"], **opts)
    assert fine.ok, fine
    assert {r.case.family.name for r in fine.results} == {"normal", "broadcast:x", "broadcast:y"}


def test_forward_mode_does_not_hide_a_gradient_of_the_broadcast_shape() -> None:
    """<g, t> with g (5,) and t (1,) would broadcast to t * sum(g): the right directional
    derivative from a wrong gradient. The forward check refuses the shape instead."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(5)
    forgets = lambda x, y: -2 * (x - y)  # noqa: E731
    wrong = handgrad.verify(_squared_distance, x, x + 1, grad=forgets, argnums=1, modes=("fwd",),
                            families=["broadcast"], transforms=["jit"], **ONE)  # fmt: skip
    assert {r.case.family.name for r in wrong.failures} == {"broadcast:y"}
    assert wrong.worst is not None and wrong.worst.problem == "exception"
    assert "grad returns shape (5,) for y, expected (1,)" in wrong.worst.error
    sums = lambda x, y: -2 * jnp.sum(x - y, keepdims=True)  # noqa: E731  (right for y (1,) only)
    assert handgrad.verify(_squared_distance, x, x[:1], grad=sums, argnums=1, modes=("fwd",), **ONE).ok


def test_the_size_one_family_cuts_the_batch_not_a_bias_that_broadcasts() -> None:
    """A bias b (2,) beside rows (5, 2): its leading length 2 lines up with the rows' last axis,
    so cutting it is a broadcast (the broadcast family's), not a batch of one; size-1 cuts the
    rows (5 -> 1) and the right gradient passes."""

    def loss(p: Any, x: Any, y: Any) -> Any:
        return jnp.sum((x @ p["w"] + p["b"] - y) ** 2)

    def grad(p: Any, x: Any, y: Any) -> Any:
        r = 2 * (x @ p["w"] + p["b"] - y)
        return {"w": x.T @ r, "b": jnp.sum(r, axis=0)}

    rng = np.random.default_rng(8)
    p = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    report = handgrad.verify(loss, p, x, y, grad=grad, families=["size-1"], transforms=["jit"], **ONE)
    assert report.ok, report
    (case,) = [r.case for r in report.results]
    assert [np.shape(a) for a in case_inputs(case).args] == [(2,), (3, 2), (1, 3), (1, 2)]  # b, w, x, y


# ---- bad options get a clear error naming the option ------------------------------------------------


@jax.custom_vjp
def _vjp_rule(x: Any) -> Any:
    return jnp.sin(x)


_vjp_rule.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        (dict(order=3), ValueError, "order=3 is not checked"),
        (dict(order=0), ValueError, "order=0 is not checked"),
        (dict(order="2"), TypeError, "order must be the int 1 or 2, got '2'"),
        (dict(order=True), TypeError, "order must be the int 1 or 2, got True"),
        (dict(order=2.0), TypeError, "order must be the int 1 or 2, got 2.0"),
        (dict(order=np.int64(3)), ValueError, "order=3 is not checked"),
        (dict(modes="fwd"), TypeError, "modes takes a sequence of modes, e.g. modes=('fwd',)"),
        (dict(modes=("rev", "backward")), ValueError, "unknown mode 'backward'; known: rev, fwd"),
        (dict(modes=["lin"]), ValueError, "('lin', check_grads' jax.linearize, gives the JVP 'fwd' checks"),
        (dict(modes=()), ValueError, "modes is empty"),
        (dict(examples=(np.ones(2),)), TypeError, "examples[0] must be a tuple of 1 argument(s)"),
        (dict(examples=np.ones((2, 3))), TypeError, "examples= takes a list of argument tuples"),
        (dict(examples=[(np.ones(2), np.ones(2))]), ValueError, "examples[0] has 2 argument(s), the example has 1"),
        (dict(examples=[("text",)]), TypeError, "examples[0]: argument 0 (x) is a str"),
        (dict(families=["broadcasts"]), ValueError, "unknown family 'broadcasts'"),
    ],
)
def test_bad_options_are_clear_errors_naming_the_option(options: dict[str, Any], error: type[Exception],
                                                        words: str) -> None:  # fmt: skip
    with pytest.raises(error, match=re.escape(words)):
        handgrad.verify(sin_x, np.ones(3), grad=sin_x_grad, **options)


def _sin_x_hvp(x: Any, v: Any) -> Any:
    return (2 * jnp.cos(x) - x * jnp.sin(x)) * v


@pytest.mark.parametrize("modes", [("fwd",), ("rev", "fwd")], ids=["fwd", "rev+fwd"])
def test_hvp_alone_refuses_modes_instead_of_ignoring_them(modes: tuple[str, ...]) -> None:
    """hvp= is checked element by element against H v; a mode it cannot honour is an error
    naming the option, never dropped in silence."""
    with pytest.raises(ValueError, match=re.escape(f"modes={modes!r} applies to grad= (or f's custom rule)")):
        handgrad.verify(sin_x, np.ones(3), hvp=_sin_x_hvp, modes=modes)


def test_hvp_beside_grad_is_checked_whatever_the_modes_of_grad() -> None:
    x = np.linspace(-2.0, 2.0, 5)
    opts: dict[str, Any] = dict(families=["normal"], transforms=["jit"], **ONE)
    assert handgrad.verify(sin_x, x, hvp=_sin_x_hvp, modes=["rev"], **opts).ok  # (the default, said aloud)
    both = handgrad.verify(sin_x, x, grad=sin_x_grad, hvp=_sin_x_hvp, modes=("fwd",), **opts)
    assert both.ok and _labels(both, failed=False) == {"fwd(grad(sin_x))", "hvp(sin_x)"}
    wrong = handgrad.verify(sin_x, x, grad=sin_x_grad, hvp=lambda x, v: 2 * jnp.cos(x) * v, modes=("fwd",), **opts)
    assert _labels(wrong) == {"hvp(sin_x)"}


def test_options_that_cannot_apply_say_why() -> None:
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"JAX has no forward mode for a jax.custom_vjp function"):
        handgrad.verify(_vjp_rule, x, modes=("rev", "fwd"))
    with pytest.raises(ValueError, match=r"order=2 differentiates grad= \(or f's custom rule\) once more"):
        handgrad.verify(sin_x, x, hvp=lambda x, v: v, order=2)
    with pytest.raises(ValueError, match=r"handgrad.verify: examples\[0\]: f fails on the example arguments"):
        handgrad.verify(lambda x: jnp.sum(x @ x), np.ones(3), grad=lambda x: 2 * x, examples=[(np.ones((2, 3)),)])
    with pytest.raises(ValueError, match=r"no family left to draw: 'one-hot' needs a cotangent, tangent or v"):
        handgrad.verify(sin_x, x, grad=sin_x_grad, families=["one-hot"])
    with pytest.raises(ValueError, match=r"no family left to draw: .*'broadcast' an argument f broadcasts"):
        handgrad.verify(sin_x, x, grad=sin_x_grad, families=["broadcast"])
    with pytest.raises(ValueError, match=r"no family left to draw on examples\[0\]: .*'size-1' a batch axis"):
        handgrad.verify(sin_x, x, grad=sin_x_grad, families=["size-1"], examples=[(np.ones(1),)])
    # Families drawn in some dtypes or transforms only: an empty report said "0/0 cases agree", ok.
    for nothing in (dict(families=["sweep"], transforms=["eager"]), dict(families=["shifted"], dtypes=["float16"])):
        with pytest.raises(ValueError, match=r"nothing to check: the families asked for are not drawn in these"):
            handgrad.verify(sin_x, x, grad=sin_x_grad, devices=["cpu:0"], **nothing)  # type: ignore[arg-type]
    fwd_only = handgrad.verify(sin_x, x, grad=sin_x_grad, modes=("rev", "fwd"), families=["one-hot"], **ONE)
    assert fwd_only.ok and _labels(fwd_only, failed=False) == {"fwd(grad(sin_x))"}  # (rev draws no one-hot here)
    assert "broadcast" in verification.ALL_FAMILIES and "broadcast" not in verification.FAMILIES


def _xent_int_labels(logits: Any, labels: Any) -> Any:
    return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))


def _masked_sum_of_squares(x: Any, mask: Any) -> Any:
    return jnp.sum(jnp.where(mask[:, None], x * x, 0.0))


@pytest.mark.parametrize(
    ("f", "grad", "given"),
    [
        (_xent_int_labels, lambda z, y: jax.nn.softmax(z) - jax.nn.one_hot(y, z.shape[-1], dtype=z.dtype),
         np.array([0, 3, 4, 1])),
        (_masked_sum_of_squares, lambda x, m: jnp.where(m[:, None], 2 * x, 0.0), np.array([True, False, True, True])),
    ],
)  # fmt: skip
def test_the_size_one_family_is_not_drawn_beside_integer_labels_or_a_mask_of_the_batch(
    f: Any, grad: Any, given: Any
) -> None:
    """Labels and masks are passed as given, at their full length 4: cutting the float batch to
    one row beside them broadcast (1, 5) against 4 rows and failed the textbook gradient."""
    x = np.random.default_rng(8).standard_normal((4, 5))
    report = handgrad.verify(f, x, given, grad=grad, transforms=["jit"], **ONE)
    assert report.ok, report
    assert "size-1" not in {r.case.family.name for r in report.results}


def test_nan_where_the_exact_value_overflows_the_dtype_is_told_so() -> None:
    """A red team's trace(expm(A)) in float32: "expected inf, got nan" was told "NaN/inf at
    ordinary inputs: a division by zero ...". The value is past float32's range; the NaN is
    an overflowed intermediate meeting another."""

    def f(x: Any) -> Any:
        return jnp.sum(jnp.exp(x))

    def grad(x: Any) -> Any:  # e^x as (e^x * e^x) / e^x: inf / inf past x = 88.7 in float32, where e^x is inf
        e = jnp.exp(x)
        return (e * e) / e

    x = np.array([0.5, 100.0, 1.0])
    report = handgrad.verify(f, x, grad=grad, dtypes=["float32"], families=["given"], devices=["cpu:0"])
    failed = [r for r in report.results if not r.ok]
    assert failed and all("past float32's range (inf)" in r.hint for r in failed), report


PAST_RANGE = {"float32": 100.0, "float16": 15.0}
"""An input whose e^x is past the dtype's range (e^100 ~ 2.7e43, e^15 ~ 3.3e6)."""


def _exp_difference(x: Any) -> Any:  # autodiff: e^x - e^x / 2 = inf - inf past the range
    return jnp.sum(jnp.exp(x) - 0.5 * jnp.exp(x))


def _exp_quotient(x: Any) -> Any:  # f itself inf / inf past the range, and so its autodiff
    return jnp.sum(jnp.exp(2 * x) / jnp.exp(x))


@pytest.mark.parametrize("f", [_exp_difference, _exp_quotient])
@pytest.mark.parametrize("dtype", sorted(PAST_RANGE))
def test_nan_where_autodiff_itself_is_nan_past_the_range_is_not_compared(f: Any, dtype: str) -> None:
    """jax.grad of sum(expm(A)) in float32 at entries of hundreds is NaN where the exact value
    (1e120) is past the range: verify(f, A, grad=jax.grad(f)) failed with "expected inf, got
    nan" against autodiff itself. A NaN there is as good as autodiff's own answer: not compared,
    and counted; every other element is still judged, and a rule off there fails."""
    x = np.array([0.5, PAST_RANGE[dtype], 1.0])
    kw: dict[str, Any] = dict(dtypes=[dtype], families=["given"], devices=["cpu:0"])
    assert np.isnan(np.asarray(jax.grad(f)(x.astype(dtype)))[1])  # (the premise)
    report = handgrad.verify(f, x, grad=jax.grad(f), **kw)
    assert report.ok, report
    eager = [r for r in report.results if r.case.transform == "eager"]
    assert [r.unchecked for r in eager] == [1], report

    off = handgrad.verify(f, x, grad=lambda x: 1.5 * jax.grad(f)(x), **kw)
    assert off.failures and all(r.comparison.problem == "value" for r in off.failures), off


def test_nan_where_autodiff_is_nan_but_the_exact_value_is_in_range_still_fails() -> None:
    """The rule above is for values past the range only: e^x e^-x has derivative 0, which
    float32 holds, and its autodiff at x = 100 is inf * 0 = NaN. That NaN is wrong."""

    def f(x: Any) -> Any:
        return jnp.sum(jnp.exp(x) * jnp.exp(-x))

    x = np.array([0.5, 100.0, 1.0])
    report = handgrad.verify(f, x, grad=jax.grad(f), dtypes=["float32"], families=["given"], devices=["cpu:0"])
    assert report.failures and all(r.comparison.problem == "nonfinite" for r in report.failures), report


def test_a_factor_of_two_in_a_verified_function_is_named_before_a_mean() -> None:
    """A red team's attention VJP missing 1/sqrt(d), d = 4, over rows of 2 was told only "a
    missing 1/n (mean vs sum)": for handgrad.verify's own functions a plain factor comes first,
    the 1/n reading beside it."""

    def f(x: Any) -> Any:
        return jnp.sum(x**2)

    x = np.random.default_rng(3).standard_normal((3, 2))
    report = handgrad.verify(f, x, grad=lambda x: x, dtypes=["float64"], families=["given"], devices=["cpu:0"])
    hints = {r.hint for r in report.results if not r.ok}
    assert hints and all(h.startswith("off by a constant factor of 1/2") and "n = 2 here too" in h for h in hints)


def test_a_factor_within_the_checks_allowance_is_told_as_the_same_factor_in_every_family() -> None:
    """A sigmoid rule at half its value, 0.5 (s - s^2), over rows of 2: its own rounding spreads
    its ratio to the truth, so the normal, wide and overflow draws went the way of "a factor
    within the allowance", which for verify's functions still led with "an extra 1/n" while
    the other families said "a constant factor of 1/2": one mistake, two causes."""

    def f(x: Any) -> Any:
        return jnp.sum(jax.nn.sigmoid(x))

    def grad(x: Any) -> Any:
        s = jax.nn.sigmoid(x)
        return 0.5 * (s - s * s)

    x = 4 * np.random.default_rng(3).standard_normal((3, 2))
    report = handgrad.verify(f, x, grad=grad, dtypes=["float32"], devices=["cpu:0"])
    hints = {r.case.family.name: r.hint for r in report.results if not r.ok}
    assert {"normal", "wide", "given"} <= set(hints), hints
    assert all(h.startswith("off by a constant factor of 1/2") for h in hints.values()), hints


def test_nan_in_a_family_drawn_large_is_told_as_an_overflow_where_its_own_inputs_are_small() -> None:
    """A red team's attention VJP: NaN at q = -7, from a score that K's 1e4 overflowed, was told
    "NaN/inf at ordinary inputs: a division by zero"."""

    def f(q: Any, k: Any) -> Any:
        return jax.nn.logsumexp(k @ q)

    def naive(q: Any, k: Any) -> Any:  # softmax without the shift: inf / inf
        e = jnp.exp(k @ q)
        return k.T @ (e / jnp.sum(e))

    q, k = np.array([0.3, -0.2]), np.random.default_rng(0).standard_normal((3, 2))
    report = handgrad.verify(f, q, k, grad=naive, families=["wide"], dtypes=["float32"], devices=["cpu:0"])
    failed = [r for r in report.results if not r.ok]
    assert failed and all(r.hint.startswith("NaN/inf only at extreme inputs") for r in failed), report
