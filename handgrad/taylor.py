"""`handgrad.taylor_test`: check a gradient from values of f alone, without autodiff.

Along a random direction v, the remainder r(h) = |f(x + h v) - f(x) - h <g, v>| of the
first-order Taylor model is O(h^2) when g is the gradient and O(h) when it is not, so the
observed order log(r_k / r_{k+1}) / log(h_k / h_{k+1}) is about 2 or about 1 (0 where g is
off by more than the first-order term). Runs in float64; for a non-scalar f, g is a VJP and
the test runs on <c, f> for a random cotangent c.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handgrad.arguments import DEFAULT_SEED, Call, check_seed, prepare, short
from handgrad.checking_scope import checking
from handgrad.user_gradient import ReturnError, as_dict, calling


@dataclass(frozen=True)
class TaylorResult:
    """|f(x + h v) - f(x) - h <g, v>| for h over several decades, and the observed orders
    log(r_k / r_{k+1}) / log(h_k / h_{k+1}): about 2 for a right gradient, 1 (or 0)
    for a wrong one."""

    hs: tuple[float, ...]
    residuals: tuple[float, ...]
    orders: tuple[float, ...]
    """Between successive h; NaN where a residual is at rounding level (not informative)."""
    exact: bool = False
    """Every residual at rounding level: the first-order model is exact (f is linear in v)."""
    details: dict[str, Any] = field(default_factory=dict)
    outside: tuple[float, ...] = ()
    """The steps h where f(x + h v) is not finite (the step leaves f's domain): not counted."""

    @property
    def order(self) -> float:
        """The median observed order (inf when exact)."""
        finite = [o for o in self.orders if math.isfinite(o)]
        if self.exact:
            return math.inf
        return float(np.median(finite)) if finite else math.nan

    @property
    def ok(self) -> bool:
        return self.exact or self.order >= 1.8

    def __str__(self) -> str:
        lines = ["h          residual     order"]
        for k, (h, r) in enumerate(zip(self.hs, self.residuals, strict=True)):
            o = f"{self.orders[k - 1]:.2f}" if k else ""
            note = "  f(x + h v) not finite" if h in self.outside else ""
            lines.append(f"{h:<9.1e}  {r:<11.3e}  {o:<5}{note}".rstrip())
        if self.outside:
            lines.append(
                f"f is not finite at x + h v for h = {', '.join(f'{h:.0e}' for h in self.outside)}: those steps "
                "leave f's domain and are not counted"
            )
        verdict = "ok" if self.ok else "FAIL: the gradient's first-order term is wrong"
        lines.append(f"observed order {self.order:.2f} (2 for a right gradient, 1 or 0 for a wrong one): {verdict}")
        return "\n".join(lines)


def taylor_test(
    f: Callable[..., Any],
    *args: Any,
    grad: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    hs: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5),
    seed: int = DEFAULT_SEED,
) -> TaylorResult:
    """Check `grad` without autodiff: the remainder of the first-order Taylor model of f
    along a random direction v must fall as h^2. Runs in float64. f need not be
    differentiable by JAX (a pure_callback, an external kernel). For a non-scalar f,
    `grad(*args, cotangent)` is a VJP and the test runs on <cotangent, f>."""
    if not callable(f):
        raise TypeError(f"handgrad.taylor_test: f must be a function, got {type(f).__name__}")
    if not callable(grad):
        raise TypeError(f"handgrad.taylor_test: grad must be a function, got {type(grad).__name__}")
    check_seed(seed, "handgrad.taylor_test")
    hs = tuple(float(h) for h in hs)
    if len(hs) < 2 or any(not h > 0 for h in hs):
        raise ValueError("handgrad.taylor_test: hs needs at least two positive step sizes")
    import jax.numpy as jnp

    with checking():
        call = prepare(f, args, argnums, None, who="handgrad.taylor_test")
        rng = np.random.default_rng([zlib.crc32(call.name.encode()), seed])
        x64 = [jnp.asarray(a, jnp.float64) for a in call.floats]
        ct = None if call.scalar else jnp.asarray(rng.standard_normal(call.out_shape))
        vs = {i: jnp.asarray(rng.standard_normal(call.floats[i].shape)) for i in call.argnums}

        def phi(fl: Sequence[Any]) -> float:
            out = jnp.asarray(f(*call.full(fl)), jnp.float64)
            return float(out if ct is None else jnp.vdot(ct, out))

        try:
            g = as_dict(grad(*call.full(x64), *(() if ct is None else (ct,))), call, "grad")
        except ReturnError as exc:
            raise TypeError(f"handgrad.taylor_test: {exc}") from None
        except Exception as exc:
            note = f" ({calling(call, 'grad', len(args))})" if "positional argument" in str(exc) else ""
            raise ValueError(f"handgrad.taylor_test: grad fails on the example arguments: {short(exc)}{note}") from None
        for name, given in zip(call.names, call.floats, strict=True):
            if name in g and np.shape(g[name]) != given.shape:
                raise ValueError(
                    f"handgrad.taylor_test: grad returns shape {np.shape(g[name])} for {name}, "
                    f"expected {given.shape} (the shape of {name})"
                )
        _check_finite(call, f, x64, ct, g)
        slope = sum(float(jnp.vdot(jnp.asarray(g[call.names[i]], jnp.float64), vs[i])) for i in call.argnums)
        f0 = phi(x64)
        # The size of the terms f sums, to first order: f(x) can round at eps * sum|g_i x_i| even
        # where it cancels to about 0 (sum(x) of symmetric x); such a residual is noise, not an order.
        terms = sum(float(jnp.sum(jnp.abs(jnp.asarray(g[call.names[i]], jnp.float64) * x64[i]))) for i in call.argnums)
        residuals = []
        scale = []
        for h in hs:
            moved = [a + h * vs[i] if i in vs else a for i, a in enumerate(x64)]
            fh = phi(moved)
            residuals.append(abs(fh - f0 - h * slope))
            scale.append(abs(fh) + abs(f0) + abs(h * slope) + terms)
    eps = float(np.finfo(np.float64).eps)
    outside = tuple(h for h, r in zip(hs, residuals, strict=True) if not math.isfinite(r))
    if not any(math.isfinite(a) and math.isfinite(b) for a, b in itertools.pairwise(residuals)):
        raise ValueError(
            f"handgrad.taylor_test: f is not finite at x + h v for h = {', '.join(f'{h:.0e}' for h in outside)} "
            "(v: the random direction), leaving no two successive steps to measure an order: the steps leave "
            "f's domain; pick an example further inside it, or smaller hs="
        )
    noisy = [r <= 64 * eps * s for r, s in zip(residuals, scale, strict=True)]
    orders = tuple(
        math.nan
        if noisy[k] or noisy[k + 1] or residuals[k + 1] == 0
        else math.log(residuals[k] / residuals[k + 1]) / math.log(hs[k] / hs[k + 1])
        for k in range(len(hs) - 1)
    )
    exact = all(noisy[k] for k, h in enumerate(hs) if h not in outside)
    return TaylorResult(hs, tuple(residuals), orders, exact=exact, details={"slope": slope}, outside=outside)


def _check_finite(call: Call, f: Callable[..., Any], x64: list[Any], ct: Any, g: dict[str, Any]) -> None:
    """f and grad at the example must be finite: a NaN there (log of a negative number, sqrt at 0's
    derivative) makes every residual NaN, which is no order, and says nothing of the gradient."""
    import jax.numpy as jnp

    bad_grad = ""
    for which in call.argnums:
        name = call.names[which]
        value = np.asarray(jnp.asarray(g[name], jnp.float64))
        if not np.isfinite(value).all() and not bad_grad:
            at = "" if value.shape != call.floats[which].shape else _at(name, call.floats[which], value)
            bad_grad = _first_bad(value, f"grad for {name}") + at
    out = np.asarray(jnp.asarray(f(*call.full(x64)), jnp.float64))
    if not np.isfinite(out).all():
        where = "f(x) = " + _first_bad(out, "") if out.ndim == 0 else _first_bad(out, "f(x)")
        also = f"; grad is not finite either: {bad_grad}" if bad_grad else ""
        raise ValueError(
            f"handgrad.taylor_test: f is not finite at the example: {where}{_inputs_there(call, out)}{also}. "
            "Pick an example inside f's domain (log needs x > 0, sqrt x >= 0, a division a nonzero divisor): "
            "the test compares values of f near the example"
        )
    if bad_grad:
        raise ValueError(
            f"handgrad.taylor_test: grad is not finite at the example: {bad_grad}. Pick an example where f is "
            "differentiable (sqrt and a norm have an infinite derivative at 0, log at 0): the test compares grad "
            "with values of f near the example"
        )


def _first_bad(a: np.ndarray, label: str, most: int = 3) -> str:
    """The first non-finite elements of `a`: "f(x)[0] = nan, f(x)[3] = inf (2 of 5 elements)"."""
    if a.ndim == 0:
        return f"{label}{' = ' if label else ''}{float(a)}"
    bad = np.argwhere(~np.isfinite(a))
    shown = ", ".join(f"{label}{list(map(int, i))} = {float(a[tuple(i)])}" for i in bad[:most])
    return f"{shown} ({len(bad)} of {a.size} elements)"


def _at(name: str, given: np.ndarray, value: np.ndarray, most: int = 3) -> str:
    """The example's elements of argument `name` where `value` (shaped like it) is not finite."""
    bad = np.argwhere(~np.isfinite(value))
    return " where " + ", ".join(f"{name}{list(map(int, i))} = {float(given[tuple(i)]):g}" for i in bad[:most])


def _inputs_there(call: Call, out: np.ndarray) -> str:
    """For an f shaped like a differentiated argument (elementwise), that argument's elements where
    f is not finite."""
    for which in call.argnums:
        given = call.floats[which]
        if out.ndim and given.shape == out.shape:
            return _at(call.names[which], given, out)
    return ""
