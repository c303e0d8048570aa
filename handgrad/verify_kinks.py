"""Kinks of verify's checks: declared (kinks=, kink_range=) or found from one-sided slopes.

At a kink element the derivative is set-valued and any value in the set passes (not
strict); elsewhere, and under strict, autodiff's value stands. The rev check of order 1
probes each element of the arguments (FoundKink); the forward checks and the checks of
order 2 look along the drawn direction itself (AlongKink: along the tangent for the first,
along v, of the truth's first-order output, for the others). Both decide with `one_sided`.
`with_kink_note` explains an hvp failure at an exact 0, where no kink is looked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from handgrad.arguments import Call, is_float_dtype
from handgrad.results import CaseResult
from handgrad.user_gradient import as_computed
from reference.kinks import Kink
from reference.tolerances import CONDITIONING_FACTOR


@dataclass(frozen=True)
class KinkRule:
    mask: Callable[..., Any]
    range: tuple[float, float] | Callable[..., tuple[Any, Any]]


def _unused(*args: Any) -> Any:
    raise AssertionError("TreeKink, FoundKink and AlongKink answer expected_at themselves")


@dataclass(frozen=True)
class TreeKink(Kink):
    """The user's kink declaration over verify's {argument name: gradient} outputs.

    At a kink element the valid values are c * [lo, hi], c being the cotangent element
    there (1 for a scalar f): [lo, hi] is the range of the derivative of the output
    element with respect to that input element. Strict: autodiff's value of f's primal.
    """

    call: Any = None
    declared: Any = None

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        call, declared = self.call, self.declared
        fl = args if call.scalar else args[:-1]
        ct = None if call.scalar else np.asarray(args[-1], np.float64)
        stacked = np.ndim(fl[0]) == call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        examples = [list(fl)] if not stacked else [[np.asarray(a)[k] for a in fl] for k in range(len(fl[0]))]
        masks, values = {}, {}
        for which, name in enumerate(call.diff_names):
            shape = got[name].shape
            per_mask, per_lo, per_hi = [], [], []
            for ex in examples:
                full = call.full([np.asarray(a) for a in ex])
                m = declared.mask(*full)
                per_mask.append(np.asarray(m[which] if isinstance(m, (tuple, list)) else m, bool))
                lo, hi = declared.range if isinstance(declared.range, tuple) else declared.range(*full)
                per_lo.append(np.asarray(lo, np.float64))
                per_hi.append(np.asarray(hi, np.float64))
            one = shape[1:] if stacked else shape

            def pick(xs: list[np.ndarray], one: tuple[int, ...] = one) -> np.ndarray:
                return np.stack([np.broadcast_to(x, one) for x in xs]) if stacked else np.broadcast_to(xs[0], one)

            mask, lo_, hi_ = pick(per_mask), pick(per_lo), pick(per_hi)
            c = 1.0 if ct is None else ct
            a, b = np.minimum(c * lo_, c * hi_), np.maximum(c * lo_, c * hi_)
            g = got[name]
            masks[name] = np.zeros(shape, bool) if strict else mask
            values[name] = np.where(np.isfinite(g), np.clip(np.nan_to_num(g), a, b), np.nan)
        return masks, values


def one_sided(
    up: np.ndarray, down: np.ndarray, here: np.ndarray, h: Any, curvature: Any = 0.0
) -> tuple[np.ndarray, ...]:
    """(low, high, kink) from values of a function a step h either side of a point, in float64:
    the range between the one-sided difference quotients (up - here) / h and (here - down) / h,
    and where they differ by more than 0.1% plus what their own rounding and `curvature` (what
    a smooth f's second derivative puts between them, see `curvature_gap`) explain (a kink)."""
    with np.errstate(all="ignore"):  # (inf - inf where f overflows: no kink there)
        right, left = (up - here) / h, (here - down) / h
        rounding = 16 * np.finfo(np.float64).eps * (np.abs(up) + np.abs(down) + 2 * np.abs(here)) / h
        kink = np.abs(right - left) > 1e-3 * np.maximum(np.abs(right), np.abs(left)) + rounding + curvature
    kink &= np.isfinite(right) & np.isfinite(left)
    # The slopes are estimates, off by up to their rounding: the range is widened by it, so
    # that relu's exact 1 at 0 is inside although the quotient says 0.99999997.
    return np.minimum(left, right) - rounding, np.maximum(left, right) + rounding, kink


def curvature_gap(
    up2: np.ndarray, up: np.ndarray, here: np.ndarray, down: np.ndarray, down2: np.ndarray, h: Any
) -> np.ndarray:
    """What a smooth f puts between its one-sided quotients at step h: right - left =
    h f'' + O(h^2), while each quotient moves by h f'' / 2 from step h to 2h. So 4 times
    |r_2h - r_h| + |l_2h - l_h| (~ 2 h |f''|) is twice the gap curvature explains; at a kink the
    quotients hardly move with the step and the gap (the jump) stays."""
    with np.errstate(all="ignore"):
        r1, r2 = (up - here) / h, (up2 - here) / (2 * h)
        l1, l2 = (here - down) / h, (here - down2) / (2 * h)
        gap = 4 * (np.abs(r2 - r1) + np.abs(l2 - l1))
    return np.where(np.isfinite(gap), gap, 0.0)


def probe_steps(x: np.ndarray) -> np.ndarray:
    """The kink probe's step at each element: 1e-7 of the element itself (a step of 1e-7 of 1e-2
    at x ~ 1e-8 crossed the whole curved part of a norm), and at an exact 0 1e-7 of the
    argument's smallest nonzero magnitude (at most 1e-2); never below 1e-30."""
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    nonzero = a[a > 0]
    at_zero = min(1e-2, float(nonzero.min())) if nonzero.size else 1e-2
    h = np.maximum(1e-7 * np.where(a > 0, a, at_zero), 1e-30)
    # The step x + h really takes: h rounded to a multiple of x's spacing. A quotient over the h
    # asked for is off by up to eps |x| / h = 2e-9 (max - min at a tie of 2s gave -1 + 5e-10).
    with np.errstate(all="ignore"):
        taken = (x + h) - x
    return np.where(np.isfinite(taken) & (taken > 0), taken, h)


class Slopes(NamedTuple):
    """f's one-sided derivatives at every element of one argument, from its values a probe
    step either side (and two steps, for the curvature), in float64."""

    low: np.ndarray
    high: np.ndarray
    """The range between the two, widened by their rounding error."""
    kink: np.ndarray
    """Where they differ by more than rounding and curvature explain."""
    settled: np.ndarray
    """Where both have settled: neither grows by more than 1% in magnitude as the step halves,
    as a one-sided derivative that is infinite does (sqrt(|x|) at 0: by 41%; x log x: 3%)."""
    rising: np.ndarray
    """Where the right one is above the left (a kink like |x|, not like -|x|)."""
    curvature: np.ndarray
    """What f's curvature puts between them (curvature_gap): how far a quotient may be off."""


MAX_KINK_PROBES = 1024
"""Elements of one argument probed for kinks (two evaluations of f each); past that, none is found."""
FOUND_KINK_RULE = (
    "f has a kink there (its one-sided derivatives differ, found by handgrad): any value between them "
    "is a valid derivative (strict: only autodiff's value)"
)


@dataclass(frozen=True)
class FoundKink(Kink):
    """Kinks found, not declared: at each element of a differentiated argument, the one-sided
    derivatives of f (of sum(cotangent * f) for a non-scalar f) along that element, in float64,
    from f's values a small step either side. Where they differ by more than the difference
    quotients' own rounding explains, the element is a kink and any value between the two is
    valid (a subgradient); elsewhere the truth stands. Strict: no element is a kink."""

    call: Any = None
    _probes: dict[tuple[int, bool], Any] = field(default_factory=dict, compare=False, hash=False)
    rejected: dict[bytes, dict[str, np.ndarray]] = field(default_factory=dict, compare=False, hash=False)
    """Per case's inputs (`inputs_key`): each argument's elements at kinks judged together that
    were no subgradient together (joint_holds), where there are any."""

    def _probe(self, i: int, cotangent: bool) -> Any:
        import jax
        import jax.numpy as jnp

        key = (i, cotangent)
        if key not in self._probes:
            call = self.call

            def value(xi: Any, fl: list[Any], c: Any) -> Any:
                xs = list(fl)
                xs[i] = xi
                out = call.primal(*call.full(xs))
                return jnp.sum(out * c) if cotangent else out

            self._probes[key] = jax.jit(jax.vmap(value, in_axes=(0, None, None)))
        return self._probes[key]

    def _probe_all(self, cotangent: bool) -> Any:
        """f (or <c, f>) at a batch of points that move every float argument at once."""
        import jax
        import jax.numpy as jnp

        key = (-1, cotangent)
        if key not in self._probes:
            call = self.call

            def value(xs: list[Any], c: Any) -> Any:
                out = call.primal(*call.full(list(xs)))
                return jnp.sum(out * c) if cotangent else out

            self._probes[key] = jax.jit(jax.vmap(value, in_axes=(0, None)))
        return self._probes[key]

    def _stepped(
        self, fl: list[np.ndarray], c: np.ndarray | None, steps: dict[int, np.ndarray]
    ) -> tuple[np.ndarray, ...] | None:
        """f (or <c, f>) at x + s, - s, + 2 s, - 2 s for each step s (one per row of every array
        of `steps`, keyed by the float argument it moves; the others stay), and at x itself:
        (up, down, up2, down2, here), in float64, under one jit. None where f cannot be
        evaluated this way."""
        n = len(next(iter(steps.values())))
        with np.errstate(all="ignore"):  # (an inf element: NaN points, no kink there, see one_sided)

            def around(x: np.ndarray, s: np.ndarray) -> np.ndarray:
                return np.concatenate([x + s, x - s, x + 2 * s, x - 2 * s, x[None]])

            try:
                if len(steps) == 1:  # one argument moves: the others are passed once, not per point
                    ((i, s),) = steps.items()
                    probe = self._probe(i, c is not None)
                    values = probe(around(fl[i], s), fl, 0.0 if c is None else c)
                else:
                    points = [around(x, steps.get(j, np.zeros((n, *x.shape)))) for j, x in enumerate(fl)]
                    values = self._probe_all(c is not None)(points, 0.0 if c is None else c)
                values = np.asarray(values, np.float64)
            except Exception:
                return None
        return (*(values[k * n : (k + 1) * n] for k in range(4)), values[-1])

    def slopes(self, fl: list[np.ndarray], c: np.ndarray | None, i: int) -> Slopes:
        """f's one-sided derivatives at every element of fl[i] (see Slopes)."""
        x = fl[i]
        m = x.size
        nothing, unknown = np.zeros(x.shape, bool), np.full(x.shape, np.nan)
        if m == 0 or m > MAX_KINK_PROBES:
            return Slopes(unknown, unknown, nothing, nothing, nothing, unknown)
        with np.errstate(all="ignore"):  # (an inf element: 0 * inf steps, NaN points, no kink there)
            h = probe_steps(x).ravel()
            steps = (np.eye(m) * h).reshape(m, *x.shape)
        stepped = self._stepped(fl, c, {i: steps})
        if stepped is None:  # f cannot be evaluated this way: no kink is found, the truth stands
            return Slopes(unknown, unknown, nothing, nothing, nothing, unknown)
        up, down, up2, down2, here = stepped
        curvature = curvature_gap(up2, up, here, down, down2, h)
        low, high, kink = one_sided(up, down, here, h, curvature)
        with np.errstate(all="ignore"):
            grows = [
                np.abs(near) > 1.01 * np.abs(far)
                for near, far in ((up - here, (up2 - here) / 2), (here - down, (here - down2) / 2))
            ]
        settled = ~(grows[0] | grows[1])
        with np.errstate(all="ignore"):
            rising = (up - here) > (here - down)  # right quotient above the left: |x|'s kind, not -|x|'s
        return Slopes(*(a.reshape(x.shape) for a in (low, high, kink, settled, rising, curvature)))

    def joint_holds(
        self, fl: list[np.ndarray], c: np.ndarray | None, parts: Sequence[tuple[int, Slopes, np.ndarray]]
    ) -> bool:
        """Whether the returned gradient, at the kinks of the arguments in `parts` ((float
        argument index, its Slopes, its returned gradient) each; at least two kinks in all), is
        a subgradient along them taken together, not only one element at a time. At a tie of
        max(x1, x2) each element alone accepts [0, 1], but a subgradient's weights add up to 1:
        along d = (1, 1) f moves at rate 1 from both sides, and g . d must lie between f's
        one-sided derivatives along d. That holds for every subgradient of a convex or concave
        f, along any d, and the kinks may lie in different arguments (maximum(a, b) at a == b,
        relu(a - b) at a == b, where the two gradients must cancel along (1, 1)). Checked along
        d = every kink element at once and along three random positive weightings of them,
        each a probe step per element (five more evaluations of f each, under the same jit).
        Nothing is judged where the kinks are of both kinds (some like |x|, right derivative
        above the left, some like -|x|): f is then neither convex nor concave there, and a sum
        of separate kinks of both kinds (clip(x, -1, 1) at -1 and at 1, a max-pool under weights
        of both signs, w1 relu(x1) + w2 relu(x2) at 0 with w1 > 0 > w2) takes any value valid
        alone at each. A direction along which f's one-sided derivatives are not inside the
        range the elements' own intervals allow (a median's corner) says nothing and is
        skipped. Rounding: 2% of the rate, plus a bfloat16 ulp of each term."""
        at = {i: np.flatnonzero(found.kink.ravel()) for i, found, _ in parts}
        total = sum(a.size for a in at.values())
        if total < 2:
            return True

        def gather(values: Callable[[Slopes, np.ndarray], np.ndarray]) -> np.ndarray:
            return np.concatenate([values(found, g).ravel()[at[i]] for i, found, g in parts])

        kinds = gather(lambda found, g: found.rising)
        if kinds.any() and not kinds.all():
            return True
        gk, lk, hk = (gather(v) for v in (lambda f, g: np.nan_to_num(g), lambda f, g: f.low, lambda f, g: f.high))
        own = 2.0**-8 * np.abs(gk) + 0.02 * np.maximum(np.abs(lk), np.abs(hk))
        if np.any((gk < lk - own) | (gk > hk + own)):  # one is wrong alone: the element's own rule says so
            return True
        h = np.concatenate([probe_steps(fl[i]).ravel()[at[i]] for i, _, _ in parts])
        rng = np.random.default_rng(total)  # (fixed: the same draw's verdict never changes)
        weights = [np.ones(total)] + [rng.uniform(0.5, 1.5, total) for _ in range(3)]
        directions = np.stack(weights) * h  # (one row per direction, one column per kink element)
        steps, first = {}, 0
        for i, _, _ in parts:
            moved = np.zeros((len(weights), fl[i].size))
            moved[:, at[i]] = directions[:, first : first + at[i].size]
            steps[i], first = moved.reshape(len(weights), *fl[i].shape), first + at[i].size
        stepped = self._stepped(fl, c, steps)
        if stepped is None:  # (as in slopes: f cannot be evaluated this way, nothing is judged)
            return True
        up, down, up2, down2, here = stepped
        lo, hi, _ = one_sided(up, down, here, 1.0, curvature_gap(up2, up, here, down, down2, 1.0))
        for d, jlo, jhi in zip(directions, lo, hi, strict=True):
            if not (np.isfinite(jlo) and np.isfinite(jhi)):
                continue
            slack = 0.02 * max(abs(jlo), abs(jhi)) + 2.0**-8 * float(np.sum(np.abs(gk * d)))
            box_lo = float(np.sum(np.minimum(lk * d, hk * d)))
            box_hi = float(np.sum(np.maximum(lk * d, hk * d)))
            if jlo < box_lo - slack or jhi > box_hi + slack:
                continue
            if not jlo - slack <= float(np.dot(gk, d)) <= jhi + slack:
                return False
        return True

    def _held(
        self,
        examples: list[tuple[list[np.ndarray], np.ndarray | None]],
        found: dict[str, list[Slopes]],
        grads: dict[str, list[np.ndarray]],
    ) -> dict[str, list[bool]]:
        """{argument: per example, whether its kinks are a subgradient together (joint_holds),
        within the argument and with the kinks of the other differentiated arguments}.
        `found` and `grads`: per argument, its Slopes and its returned gradient per example."""
        held: dict[str, list[bool]] = {name: [] for name in found}
        for k, (ex, c) in enumerate(examples):
            parts = {
                name: (self.call.argnums[self.call.diff_names.index(name)], found[name][k], grads[name][k])
                for name in found
            }
            kinked = [part for part in parts.values() if part[1].kink.any()]
            together = len(kinked) < 2 or self.joint_holds(ex, c, kinked)
            for name, part in parts.items():
                alone = self.joint_holds(ex, c, [part])
                held[name].append(alone and (together or not part[1].kink.any()))
        return held

    def _examples(self, args: Any) -> tuple[list[tuple[list[np.ndarray], np.ndarray | None]], bool]:
        """The case's examples (one, or one per row of a vmap case) as (float arguments,
        cotangent or None), in float64, and whether the case is stacked."""
        call = self.call
        fl = [np.asarray(a, np.float64) for a in (args if call.scalar else args[:-1])]
        ct = None if call.scalar else np.asarray(args[-1], np.float64)
        stacked = np.ndim(fl[0]) == call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        if not stacked:
            return [(fl, ct)], False
        return [([a[k] for a in fl], None if ct is None else ct[k]) for k in range(len(fl[0]))], True

    def judged_by_slopes(self, args: Any, got: Any) -> dict[str, np.ndarray]:
        """{argument: value}: what each element of the returned `got` is judged by from f's
        one-sided derivatives there alone (NaN where f cannot be probed or a one-sided
        derivative is infinite, see `slopes`): the returned value
        moved into their range (widened by its rounding), and where kinks that meet are no
        subgradient together (joint_holds), the middle of each kink's range. What the engine
        uses where autodiff's own truth is NaN (engine.run_case): a derivative f has there (the
        range is a point: norm(x)**2 at 0) or a kink's range (norm(x) at 0)."""
        examples, stacked = self._examples(args)
        found, grads = self._found(examples, stacked, got)
        held = self._held(examples, found, grads)
        out = {}
        for name in found:
            rows = []
            for f, gk, ok in zip(found[name], grads[name], held[name], strict=True):
                # Each quotient is off the derivative by what f's curvature puts there (x**3 at
                # 0: both h**2, the derivative 0): the range is widened by that much.
                low, high = f.low - f.curvature, f.high + f.curvature
                with np.errstate(invalid="ignore"):
                    value = np.where(np.isfinite(gk), np.clip(np.nan_to_num(gk), low, high), (low + high) / 2)
                if not ok:
                    value = np.where(f.kink, (low + high) / 2, value)
                rows.append(np.where(f.settled, value, np.nan))
            out[name] = np.stack(rows) if stacked else rows[0]
        return out

    def _found(
        self, examples: list[tuple[list[np.ndarray], np.ndarray | None]], stacked: bool, got: Any
    ) -> tuple[dict[str, list[Slopes]], dict[str, list[np.ndarray]]]:
        """Per differentiated argument: its Slopes and its returned gradient, per example."""
        found, grads = {}, {}
        for which, name in enumerate(self.call.diff_names):
            i = self.call.argnums[which]
            found[name] = [self.slopes(ex, c, i) for ex, c in examples]
            g = np.asarray(got[name], np.float64)
            grads[name] = list(g) if stacked else [g]
        return found, grads

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        examples, stacked = self._examples(args)
        if strict:
            nothing = {name: np.zeros(np.shape(got[name]), bool) for name in self.call.diff_names}
            return nothing, {name: np.zeros(np.shape(got[name])) for name in self.call.diff_names}
        found, grads = self._found(examples, stacked, got)
        # Kinks that share a direction (a tie of max, in one argument or across two) are judged
        # together too: where the values, each valid alone, are no subgradient together, the
        # truth stands there.
        held = self._held(examples, found, grads)
        masks, values = {}, {}
        for name in found:
            left, right, kink = (
                np.stack([f[j] for f in found[name]]) if stacked else found[name][0][j] for j in range(3)
            )
            a, b = np.minimum(left, right), np.maximum(left, right)
            ok = np.array(held[name])
            held_here = ok[(...,) + (None,) * (kink.ndim - 1)] if stacked else bool(ok[0])
            if not ok.all():
                self.rejected.setdefault(inputs_key(args), {})[name] = kink & ~held_here
            kink = kink & held_here
            g = got[name]
            masks[name] = kink
            with np.errstate(invalid="ignore"):  # (a range of (-inf, inf): its middle is NaN, and unused)
                values[name] = np.where(np.isfinite(g), np.clip(np.nan_to_num(g), a, b), (a + b) / 2)
        return masks, values


ALONG_T_RULE = (
    "f has a kink along the tangent there (its one-sided directional derivatives differ, found by handgrad): "
    "any value between them is a valid directional derivative (strict: only autodiff's value)"
)
ALONG_V_RULE = (
    "f's gradient has a kink along v there (its one-sided directional derivatives differ, found by handgrad): "
    "any value between them is a valid second derivative (strict: only autodiff's value)"
)


@dataclass(frozen=True)
class AlongKink(Kink):
    """Kinks found along the check's direction d, its last extras (one per differentiated
    leaf: the tangent t, or v): the one-sided directional derivatives
    (phi(x + h d) - phi(x)) / h and (phi(x) - phi(x - h d)) / h of `phi`, in float64, at every
    element of phi's outputs. phi takes the float leaves and the extras before d and returns
    some of the check's outputs ({name: array}): f (or <c, f>) for a forward check, whose
    directional derivative is the JVP; the truth's gradient or JVP for a check of order 2,
    whose derivative along v is the second derivative checked. Where they differ, the
    derivative is set-valued and any value between them is valid: for sum(relu(x)) at an exact
    0 in x every subgradient s in [0, 1] gives s * t_j, and the two one-sided values are the
    extremes of that set; Huber's gradient clip(r, -delta, delta) at r = delta has one-sided
    derivatives 0 and v_j. One step per case (three evaluations of phi), whatever the number of
    elements. Declared kinks (kinks=, kink_range=) are per element of a gradient and are not
    used here. Strict: no kink."""

    call: Any = None
    phi: Callable[..., dict[str, Any]] | None = None
    _programs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def _program(self) -> Any:
        import jax

        if "along" not in self._programs:
            call, phi = self.call, self.phi
            assert phi is not None

            def moved(h: Any, floats: list[Any], rest: list[Any], d: list[Any]) -> Any:
                stepped = [floats[i] + h * di for i, di in zip(call.argnums, d, strict=True)]
                return phi(call.merged(floats, stepped), *rest)

            self._programs["along"] = jax.jit(jax.vmap(moved, in_axes=(0, None, None, None)))
        return self._programs["along"]

    def slopes(self, floats: list[np.ndarray], rest: list[np.ndarray], d: list[np.ndarray]) -> dict[str, Any] | None:
        """{output: (low, high, kink)} along d at one example (None: no kink is looked for)."""
        diff = [floats[i] for i in self.call.argnums]
        top_d = max(float(np.max(np.abs(a), initial=0.0)) for a in d)
        top_x = max(float(np.max(np.abs(a), initial=0.0)) for a in diff)
        if not top_d > 0 or not np.isfinite(top_d) or not np.isfinite(top_x):
            return None
        h = 1e-7 * max(top_x, 1e-2) / top_d
        try:
            values = self._program()(np.array([h, -h, 0.0]), floats, rest, d)
        except Exception:  # phi cannot be evaluated this way: no kink is found, the truth stands
            return None
        out = {}
        for key, v in values.items():
            up, down, here = np.asarray(v, np.float64)
            out[key] = one_sided(up, down, here, h)
        return out

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        call = self.call
        n, m = len(call.floats), len(call.argnums)
        args = [np.asarray(a, np.float64) for a in args]
        masks = {key: np.zeros(np.shape(value), bool) for key, value in got.items()}
        values = {key: np.zeros(np.shape(value)) for key, value in got.items()}
        if strict:
            return masks, values
        stacked = np.ndim(args[0]) == call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        examples = [args] if not stacked else [[a[j] for a in args] for j in range(len(args[0]))]
        each = [self.slopes(ex[:n], ex[n : len(ex) - m], ex[len(ex) - m :]) for ex in examples]
        found = [f for f in each if f is not None]
        if len(found) < len(each):
            return masks, values
        for key in set(found[0]) & set(got):  # (phi's outputs: a custom_jvp's primal has no kink)
            low, high, kink = (np.stack([f[key][j] for f in found]) if stacked else found[0][key][j] for j in range(3))
            g = got[key]
            masks[key] = np.broadcast_to(kink, g.shape)
            values[key] = np.where(np.isfinite(g), np.clip(np.nan_to_num(g), low, high), (low + high) / 2)
        return masks, values


def along_kink(rule: str, call: Call, phi: Callable[..., dict[str, Any]]) -> AlongKink:
    return AlongKink(rule, _unused, _unused, _unused, call=call, phi=phi)


def tree_kink(call: Call, declared: KinkRule) -> TreeKink:
    r = declared.range
    text = f"any value in [{r[0]:g}, {r[1]:g}]" if isinstance(r, tuple) else "any value in the declared range"
    scale = "" if call.scalar else " times the cotangent"
    rule = f"a declared kink: {text}{scale} is a valid derivative (strict: only autodiff's value)"
    return TreeKink(rule, _unused, _unused, _unused, call=call, declared=declared)


def found_kink(call: Call) -> FoundKink:
    return FoundKink(FOUND_KINK_RULE, _unused, _unused, _unused, call=call)


def kink_rule(call: Call, kinks: Callable[..., Any] | None, kink_range: Any) -> KinkRule | None:
    if kinks is None:
        if kink_range is not None:
            raise ValueError("handgrad.verify: kink_range without kinks: say where the kinks are (kinks=lambda x: ...)")
        return None
    if call.pytree:
        raise ValueError("handgrad.verify: kinks= needs the differentiated arguments to be arrays, not pytrees")
    if not callable(kinks):
        raise TypeError(f"handgrad.verify: kinks must be a function of the arguments returning a mask, got {kinks!r}")
    if kink_range is None:
        raise ValueError("handgrad.verify: kinks needs kink_range=(lo, hi): the valid derivatives at a kink")
    if not callable(kink_range):
        if not (isinstance(kink_range, (tuple, list)) and len(kink_range) == 2):
            raise TypeError(
                f"handgrad.verify: kink_range must be (lo, hi) or a function returning it, got {kink_range!r}"
            )
        lo, hi = (float(v) for v in kink_range)
        if not lo <= hi:
            raise ValueError(f"handgrad.verify: kink_range ({lo}, {hi}) needs lo <= hi")
        kink_range = (lo, hi)
    if not call.scalar:
        for i in call.argnums:
            if call.floats[i].shape != call.out_shape:
                raise ValueError(
                    "handgrad.verify: kinks for a non-scalar f need f's output shaped like the argument "
                    f"(an elementwise f); {call.names[i]} has shape {call.floats[i].shape}, f returns {call.out_shape}"
                )
    _check_declared(call, kinks, kink_range)
    return KinkRule(kinks, kink_range)


def _check_declared(call: Call, kinks: Callable[..., Any], kink_range: Any) -> None:
    """kinks= and a callable kink_range= called once on the example arguments: what they
    return must be a boolean mask per differentiated argument, of its shape (or broadcast to
    it), and a (lo, hi) pair; else a clear error now, not a raw one (or a false verdict: a
    float mask read as True wherever nonzero) in the middle of the run."""
    full = call.full(call.floats)
    try:
        masks = kinks(*full)
    except Exception as exc:
        raise ValueError(
            f"handgrad.verify: kinks raised on the example arguments: {type(exc).__name__}: {exc}"
        ) from None
    several = len(call.diff_names) > 1
    if several and not (isinstance(masks, (tuple, list)) and len(masks) == len(call.diff_names)):
        raise TypeError(
            f"handgrad.verify: kinks must return one boolean mask per differentiated argument (a tuple of "
            f"{len(call.diff_names)}), got {type(masks).__name__}"
        )
    for which, name in enumerate(call.diff_names):
        mask = masks[which] if several else masks
        dtype = np.bool_ if isinstance(mask, bool) else getattr(mask, "dtype", None)
        if dtype is None or np.dtype(dtype) != np.bool_:
            got = f"an array of {np.dtype(dtype).name}" if dtype is not None else type(mask).__name__
            raise TypeError(f"handgrad.verify: kinks must return a boolean mask for {name} (like x == 0), got {got}")
        shape = call.floats[call.argnums[which]].shape
        try:
            np.broadcast_to(np.asarray(mask), shape)
        except ValueError:
            raise ValueError(
                f"handgrad.verify: kinks returned a mask of shape {np.shape(mask)} for {name}, of shape {shape}"
            ) from None
    if callable(kink_range):
        try:
            pair = kink_range(*full)
        except Exception as exc:
            raise ValueError(
                f"handgrad.verify: kink_range raised on the example arguments: {type(exc).__name__}: {exc}"
            ) from None
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"handgrad.verify: kink_range must return a pair (lo, hi), got {pair!r}")


KINK_NOTE = (
    "the input there is exactly 0, where f may have a kink (abs, relu, max, a norm): there any valid "
    "subgradient is right, but autodiff picks one; declare kinks= and kink_range= (docs/verify.md). "
    "A smooth f has no kink there: then the gradient is wrong at 0"
)


def with_kink_note(result: CaseResult, names: Sequence[str]) -> CaseResult:
    """A failure at an input element that is exactly 0, with no kink declared: the likely
    cause is a kink of f there, not a wrong formula (say so instead of guessing a term)."""
    import dataclasses

    if result.ok or result.comparison is None or result.comparison.problem not in ("value", "nonfinite"):
        return result
    at = [v for k, v in result.inputs_at_worst.items() if any(k.startswith(n) for n in names)]
    if any(np.size(v) == 1 and float(np.asarray(v, np.float64)) == 0.0 for v in at):
        return dataclasses.replace(result, hint=KINK_NOTE)
    return result


def inputs_key(args: Any) -> bytes:
    """One case's inputs, as a key: FoundKink.rejected keeps what each case's kinks were."""
    import hashlib

    digest = hashlib.sha256()
    for a in args:
        a = np.asarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.digest()


def with_tie_note(result: CaseResult, kink: Kink | None) -> CaseResult:
    """A failure at an element tied with others of its argument or at a kink shared with another
    argument, where FoundKink.joint_holds found kinks that are no subgradient together: say so
    (the expected value shown is autodiff's split, one valid answer of many)."""
    import dataclasses

    from handgrad.cases import case_inputs

    found = getattr(kink, "inner", kink)
    worst = result.comparison.worst if result.comparison is not None else None
    if not isinstance(found, FoundKink) or worst is None or result.ok:
        return result
    args = case_inputs(result.case, result.seed).args
    rejected = found.rejected.get(inputs_key(args), {})
    # Only where this case's worst element is such a kink (equal elements elsewhere, a symmetric
    # matrix's mirror pairs under a wrong eigenvalue rule, are no tie: a red team, 2026-12-06).
    at = rejected.get(worst.leaf)
    if at is None or np.ndim(at) != len(worst.index) or not at[worst.index]:
        return result
    entry = result.case.entry
    arg = np.asarray(args[entry.args.index(worst.leaf)])
    one = arg[worst.index[0]] if result.case.stacked and worst.index else arg
    value = arg[worst.index] if arg.ndim == len(worst.index) else None
    tied = int(np.sum(one == value)) - 1 if value is not None else 0
    others = sorted(set(rejected) - {worst.leaf})
    if tied >= 1:
        note = (
            f"{worst.leaf}{list(worst.index)} and {tied} other element{'s' * (tied > 1)} of {worst.leaf} equal to it "
            "sit at kinks that meet (a tie of max or min, a norm at 0): each alone may take any value between f's "
            "one-sided derivatives, but together they must be one subgradient (at a tie of max the shares add up "
            "to 1; at a norm's 0 the gradient's length is at most 1), and these are not"
        )
    elif others:
        note = (
            f"{worst.leaf}{list(worst.index)} sits at a kink that meets kinks of {', '.join(others)} (maximum(a, b) or "
            "relu(a - b) where a == b): each element alone may take any value between f's one-sided derivatives, "
            "but together they must be one subgradient (at a tie of maximum(a, b) the two shares add up to 1; for "
            "relu(a - b) the gradients of a and b cancel), and these are not"
        )
    else:
        return result
    return dataclasses.replace(result, hint=note)


class OwnError(NamedTuple):
    """What OwnRounding measures at one input, per output leaf (float64 arrays)."""

    error: dict[str, np.ndarray]
    """E: autodiff's largest rounding error in the dtype at the input and its neighbours."""
    exact: dict[str, np.ndarray]
    """The truth in float64 at the input."""
    own: dict[str, np.ndarray]
    """Autodiff's answer in the dtype at the input, as computed (not NaN where f is not finite)."""


OWN_FACTOR = CONDITIONING_FACTOR
"""How many times autodiff's own rounding error a result may be off (C of docs/tolerances.md)."""
OWN_SAMPLES = 4
"""Neighbours of the inputs (one ulp away in the dtype) whose autodiff error is measured too."""


@dataclass(frozen=True)
class OwnRounding(Kink):
    """The allowance autodiff's own rule needs, beside the check's kink rule (`inner`).

    The fixed allowance (docs/tolerances.md) is the truth's sensitivity S to rounding of the
    inputs; a correct rule also rounds its intermediates, and where it cancels (the VJP of
    tanh, 1 - t^2 with t = fl(tanh z) ~ 1, off by ~eps absolute against sech^2 z) that error
    is far above eps S. So in a dtype below float64 the truth's own computation (autodiff of
    f's primal: the check's `truth`) runs in that dtype at the inputs x_0 = x and at
    OWN_SAMPLES neighbours x_k one ulp away in random directions, and

        E = max_k |truth_dtype(x_k) - truth_float64(x_k)|

    (several rounding patterns: one may be exact by luck) is autodiff's rounding error there.
    An element with |got - truth_float64(x)| <= OWN_FACTOR * E passes (marked like a kink
    element, its valid value `got`): a result as accurate as autodiff's never fails, a wrong
    one still does wherever autodiff is accurate. float64 (the truth's own dtype): no change."""

    call: Any = None
    inner: Kink | None = None
    truth: Callable[..., dict[str, Any]] | None = None
    _programs: dict[bool, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def narrower(self) -> Kink | None:
        """The rule this one widens: the engine asks it first and this one only where it fails
        (the program that measures autodiff's error then runs for failing cases alone)."""
        return self.inner

    def _program(self, stacked: bool) -> Any:
        import jax
        import jax.numpy as jnp

        if stacked not in self._programs:
            truth = self.truth
            assert truth is not None

            def errors(low: list[Any], high: list[Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
                ad, exact = truth(*low), truth(*high)
                with as_computed():  # (autodiff's values where f itself is not finite in the dtype)
                    own = truth(*low)
                return (
                    {k: jnp.abs(ad[k].astype(exact[k].dtype) - exact[k]) for k in exact},
                    exact,
                    {k: own[k].astype(exact[k].dtype) for k in exact},
                )

            samples = jax.vmap(errors)  # over x_0, ..., x_K
            self._programs[stacked] = jax.jit(jax.vmap(samples, in_axes=1, out_axes=1) if stacked else samples)
        return self._programs[stacked]

    def own_error(self, args: Sequence[np.ndarray]) -> OwnError | None:
        """E, truth_float64(x) and truth_dtype(x) per output element; None in float64 or where
        the truth fails."""
        arrays = [np.asarray(a) for a in args]
        dtype = arrays[0].dtype
        if dtype == np.float64 or not is_float_dtype(dtype) or self.truth is None:  # (bfloat16 too)
            return None
        rng = np.random.default_rng(0)
        samples = [arrays]
        with np.errstate(all="ignore"):
            for _ in range(OWN_SAMPLES):
                samples.append([np.nextafter(a, _random_sign(rng, a)) for a in arrays])
        low = [np.stack([s[i] for s in samples]) for i in range(len(arrays))]
        high = [a.astype(np.float64) for a in low]
        stacked = np.ndim(arrays[0]) == self.call.floats[0].ndim + 1  # (a vmap case: one more leading axis)
        try:
            err, exact, ad = self._program(stacked)((low), high)
        except Exception:  # the truth does not run in this dtype: no allowance beyond the fixed one
            return None
        return OwnError(
            {k: np.max(np.asarray(v, np.float64), axis=0) for k, v in err.items()},
            {k: np.asarray(v, np.float64)[0] for k, v in exact.items()},
            {k: np.asarray(v, np.float64)[0] for k, v in ad.items()},
        )

    def expected_at(self, args: Any, got: Any, strict: bool) -> tuple[Any, Any]:
        if self.inner is not None:
            masks, values = (dict(t) for t in self.inner.expected_at(args, got, strict))
        else:
            masks = {k: np.zeros(np.shape(v), bool) for k, v in got.items()}
            values = {k: np.zeros(np.shape(v)) for k, v in got.items()}
        found = self.own_error(args)
        if found is None:
            return masks, values
        err, exact = found.error, found.exact
        dtype = np.asarray(args[0]).dtype
        for k in set(err) & set(got):
            g = np.asarray(got[k], np.float64)
            if np.shape(err[k]) != g.shape:
                continue
            with np.errstate(all="ignore"):
                ok = np.isfinite(g) & np.isfinite(err[k]) & (np.abs(g - exact[k]) <= OWN_FACTOR * err[k])
                # NaN where the exact value is past the dtype's range and autodiff's own answer in
                # the dtype is NaN too (an overflowed intermediate meeting another, inf - inf:
                # jax.grad of sum(expm(A)) in float32 at entries of hundreds): no answer in the
                # dtype holds it. Valid value NaN: the engine counts it as not compared.
                lost = np.isnan(g) & np.isnan(found.own[k]) & np.isfinite(exact[k])
                lost &= np.isinf(exact[k].astype(dtype))
            masks[k] = np.asarray(masks[k], bool) | ok | lost
            values[k] = np.where(lost, np.nan, np.where(ok, g, values[k]))
        return masks, values


def _random_sign(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    return np.where(rng.random(a.shape) < 0.5, -np.inf, np.inf).astype(a.dtype)


def own_rounding(call: Call, inner: Kink | None, truth: Callable[..., dict[str, Any]]) -> OwnRounding:
    rule = inner.rule if inner is not None else "as accurate as autodiff's own rule in this dtype"
    return OwnRounding(rule, _unused, _unused, _unused, call=call, inner=inner, truth=truth)
