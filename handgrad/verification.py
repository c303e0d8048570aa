"""Check anyone's gradient: `handgrad.verify` and `handgrad.assert_gradient`.

`verify` turns the user's function into catalog-style entries (a `Target` per check: the
truth is JAX autodiff of the function in float64, the formula under test is the user's
gradient or custom rule) and runs them through the same engine as `handgrad check`, the
agreement matrix and the grader: the same dtypes, transforms, devices, kink rule, tolerance
and explanation of the worst element. See docs/verify.md.

This module is the wiring; the parts live beside it:

    handgrad/arguments.py       the checked arguments (Call, prepare)
    handgrad/user_gradient.py   the user's grad= and hvp= with their truths
    handgrad/modes.py           modes= and order=: the other checks
    handgrad/verify_families.py the input families verify draws
    handgrad/matrix_draws.py    their matrices: rank-deficient, repeated singular values
    handgrad/finite_draws.py    draws made again where f is not finite
    handgrad/verify_kinks.py    declared and found kinks
    handgrad/report.py          Report
    handgrad/taylor.py          taylor_test (re-exported here)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from handgrad import broadcast
from handgrad.arguments import DEFAULT_SEED, Call, check_seed, prepare, short, traced_note
from handgrad.cases import build_cases
from handgrad.cases import forget as forget_entry
from handgrad.checking_scope import checking
from handgrad.engine import CaseResult, InProcess, run_all
from handgrad.evaluate import TRANSFORMS, available_devices, default_devices, forget
from handgrad.finite_draws import NotFinite
from handgrad.matrix_draws import MATRIX_DRAWS, SPD, matrix_arguments, structures
from handgrad.modes import (
    Check,
    Extra,
    check_modes,
    check_order,
    forward,
    rule_primal,
    second_fwd,
    second_rev,
)
from handgrad.report import Report
from handgrad.taylor import TaylorResult, taylor_test
from handgrad.user_gradient import (
    calling,
    check_returns,
    forward_differentiable,
    gradient_functions,
    hvp_functions,
    reverse_jvp,
)
from handgrad.verify_families import ALL_FAMILIES, FAMILIES, RENAMED, Cuts, label_like, make_family, size_one_note
from handgrad.verify_kinks import (
    KinkRule,
    found_kink,
    kink_rule,
    own_rounding,
    tree_kink,
    with_kink_note,
    with_tie_note,
)
from reference.catalog import Entry
from reference.families import Family
from reference.rounding import rounding_terms
from reference.tolerances import CONDITIONING_FACTOR, DTYPES, ROUNDING_FACTOR, TOLERANCES

__all__ = ["ALL_FAMILIES", "FAMILIES", "Report", "Target", "TaylorResult", "assert_gradient", "taylor_test", "verify"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Target(Entry):
    """One check of a user's function as a catalog entry: `reference` is the float64 truth
    (autodiff of f's primal), returning {leaf name: array} as the formula under test does
    (the Check's formula, which the engine runs by this entry's name)."""

    directions: tuple[str, ...]
    """The arguments drawn beside f's own (cotangent, tangents, v): shown whole in a failure."""
    where: str
    """Which extra example the target checks (" on examples[0]"; the end of its name)."""

    @property
    def batch_polymorphic(self) -> bool:
        # A user's function takes one example: batches come only from vmap.
        return False

    @property
    def signature(self) -> str:
        label = self.name[: len(self.name) - len(self.where)]
        return f"{label}({', '.join(self.args)}){self.where}"


def _validate_names(kind: str, given: Sequence[str] | None, known: Sequence[str]) -> tuple[str, ...]:
    if given is None:
        return tuple(known)
    if isinstance(given, str):
        given = (given,)
    unknown = [g for g in given if g not in known]
    if unknown:
        moved = [old for old in unknown if kind == "family" and old in RENAMED]
        renamed = "".join(f" ({old!r} is now {RENAMED[old]!r}: docs/families.md)" for old in moved)
        raise ValueError(
            f"handgrad.verify: unknown {kind} {', '.join(map(repr, unknown))}; known: {', '.join(known)}{renamed}"
        )
    if not given:
        raise ValueError(
            f"handgrad.verify: {_plural(kind)} is empty: give at least one {kind}; known: {', '.join(known)}"
        )
    return tuple(given)


def _plural(kind: str) -> str:
    """The option's name for `kind`: dtypes, transforms, devices, families."""
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _dtype_names(dtypes: Any) -> Any:
    """verify's dtypes= as names: a name, or anything NumPy reads as a dtype (np.float32,
    jnp.bfloat16, np.dtype("float16")), each as its name; what is neither is left for
    _validate_names to refuse by name."""
    if isinstance(dtypes, str) or not isinstance(dtypes, (list, tuple)):
        dtypes = (dtypes,)
    names = []
    for d in dtypes:
        if isinstance(d, str):
            names.append(d)
            continue
        try:
            names.append(np.dtype(d).name)
        except TypeError:
            names.append(repr(d))
    return tuple(names)


def _default_dtypes(*calls: Call) -> tuple[str, ...]:
    own = {np.dtype(a.dtype).name for call in calls for a in call.floats}
    return tuple(d for d in DTYPES if d in own | {"float32", "float64"})


def verify(
    f: Callable[..., Any],
    *args: Any,
    grad: Callable[..., Any] | None = None,
    argnums: int | Sequence[int] | None = None,
    hvp: Callable[..., Any] | None = None,
    dtypes: Sequence[str] | None = None,
    kinks: Callable[..., Any] | None = None,
    kink_range: tuple[float, float] | Callable[..., tuple[Any, Any]] | None = None,
    strict: bool = False,
    families: Sequence[str] | None = None,
    transforms: Sequence[str] | None = None,
    devices: Sequence[str] | None = None,
    seed: int = DEFAULT_SEED,
    fixed: int | str | Sequence[int | str] = (),
    order: int = 1,
    modes: Sequence[str] = ("rev",),
    examples: Sequence[Sequence[Any]] = (),
) -> Report:
    """Check a hand-written gradient (or f's own custom_vjp/custom_jvp rule, or a
    Hessian-vector product) against JAX autodiff in float64, on every dtype, transform,
    device and input family; docs/verify.md has the details and an example.

    f: the function; `*args`: example arguments (arrays, numbers, or pytrees of them)
        fixing shapes and dtypes; non-float leaves (and a custom rule's nondiff_argnums)
        are passed as given and never drawn or differentiated.
    grad: `grad(*args)` -> the gradient of a scalar f with respect to `argnums`, shaped
        like that argument (a tuple for several); for a non-scalar f, `grad(*args, cotangent)` -> the VJP. None: f's
        own custom rule, against autodiff of its primal (`f.fun`). Where f has a rule, grad= (and
        hvp=) are checked against autodiff of that primal too, never against the rule; grad=
        takes the rule's place (the rule is then not checked: the report says so).
    argnums: the arguments to differentiate. Default: 0 with `grad=` or `hvp=`; for f's own
        rule, every argument it differentiates (each holding floats, not `fixed`, not in its
        nondiff_argnums), since its bwd answers for all of them.
    hvp: `hvp(*args, v)` -> the Hessian of a scalar f (one argnum) times v, against
        `jax.jvp(jax.grad(f), (x,), (v,))`.
    kinks, kink_range: `kinks(*args)` -> mask of the input elements where the derivative
        is set-valued (a tuple of masks for several argnums); `kink_range=(lo, hi)` (or a
        function of the arguments returning it) -> the valid derivatives of an output
        element with respect to that input element, times the cotangent for a non-scalar
        (elementwise) f: real numbers, or arrays broadcasting to the argument (from a
        function), no NaN, lo <= hi, checked at the example up front and at every draw. They
        apply to the "rev" check of grad= (or f's rule) at order 1: a ValueError with hvp=
        alone or modes= without "rev". `strict` (True or False): at kinks only autodiff's
        value passes.
    dtypes, families, transforms, devices: what to check (default: the arguments' float
        dtypes with float32 and float64; every family of FAMILIES and transform; the first
        device of each platform present, and "sharded" where there are several devices:
        evaluate.default_devices; any present device when named; docs/families.md says
        what each family draws). "broadcast" (ALL_FAMILIES) is drawn only when named:
        each argument f broadcasts against another, cut to length 1 (handgrad/broadcast.py).
        Every family but "given" draws again where f is not finite at a draw
        (handgrad/finite_draws.py).
    seed: seed of the drawn inputs. Returns a Report (`.ok`, `print(report)`).
    fixed: arguments (positions or parameter names, not differentiated ones) passed at their
        given values in every family, cast to each dtype checked: labels exactly 0 and 1, a
        mask, a temperature. Other float arguments are redrawn in every family.
    order, modes: as in `jax.test_util.check_grads(f, args, order, modes)`, for grad= or f's
        rule. hvp= is always checked element by element against H v, whatever they say: a
        "fwd" check of it, <hvp(x, v), t>, would only project that comparison onto t, and
        order=2 would need third derivatives; so with hvp= alone, order=2 or a mode other
        than "rev" is a ValueError (beside grad=, they apply to grad). "rev" (the default): grad against autodiff's VJP,
        labelled grad(f) (rule(f)); for f's rule also the primal output jax.vjp(f, x)[0]
        (a custom_vjp's fwd, a custom_jvp's rule) against f.fun(x), labelled
        primal(rule(f)). "fwd": grad as a directional derivative, sum_i <g_i, t_i>
        against jax.jvp(f, x, t) for tangents t (<g(x, c), t> against <c, jax.jvp(f, x, t)>
        for a VJP), or for a custom_jvp rule jax.jvp(f, x, t) itself (tangent and primal
        output) against jax.jvp(f.fun, x, t); labelled fwd(grad(f)); at a kink along t any
        value between the one-sided directional derivatives passes (not strict). Not for a
        custom_vjp rule (JAX has no forward mode for it). order=2 also differentiates the
        formula once more by autodiff, reverse mode for "rev" (vjp(grad(f)): the VJP of grad
        with cotangent v, against H v) and forward mode for "fwd" (jvp(fwd(grad(f))): v^T H t):
        a gradient right in value but not differentiable right (stop_gradient, a cast) fails
        there; at a kink of the gradient along v (Huber at |r| = delta) any value between its
        one-sided derivatives passes (not strict). handgrad/modes.py has the table.
    examples: more example argument tuples, each like `args` (same number of arguments, any
        shapes): every check runs on each through the same families, labelled
        "grad(f) on examples[0]"; grad's calling convention is checked on `args` alone.
    """
    check_seed(seed, "handgrad.verify")
    import jax

    order = check_order(order)
    mode_names = check_modes(modes)
    more = _check_examples(examples, len(args))
    rule_of_f = _rule_of(f)
    wraps_another = rule_of_f is not None and not _computes_its_rule(f, rule_of_f, args)
    if wraps_another:  # f = t * rule(x / t) under functools.wraps, jax.vmap(rule), jax.grad(rule): f is f
        rule_of_f = None
    # Without grad=, f's own rule is the formula under test; grad= takes its place. Either way
    # (and for hvp=) the truth is autodiff of the rule's primal (f.fun), never the rule itself.
    check_rule = grad is None and rule_of_f is not None
    if grad is None and hvp is None and not check_rule:
        if wraps_another:
            raise TypeError(
                f"handgrad.verify: {getattr(f, '__name__', 'f')} wraps a jax.custom_vjp/custom_jvp function but "
                "computes something else (its value at the example differs from the wrapped function's, or it takes "
                "other arguments): pass the custom_vjp/custom_jvp function itself to check its rule, or give grad="
            )
        if callable(f):
            raise TypeError(
                "handgrad.verify: give grad= (your gradient) or hvp=, or pass a function with a "
                "jax.custom_vjp/custom_jvp rule to check the rule against autodiff of its primal "
                f"({getattr(f, '__name__', 'f')} is neither a custom_vjp/custom_jvp function nor a jax.jit or "
                "functools.wraps wrapper of one; a function that only calls one inside: pass that one)"
            )
        raise TypeError(f"handgrad.verify: f must be a function, got {type(f).__name__}")
    if check_rule and "fwd" in mode_names and isinstance(rule_of_f, jax.custom_vjp):
        raise ValueError(
            "handgrad.verify: modes='fwd' checks a rule through jax.jvp, and JAX has no forward mode for a "
            "jax.custom_vjp function; check its rule with modes=('rev',) (the default)"
        )
    first_order = grad is not None or check_rule
    if order == 2 and not first_order:
        raise ValueError(
            "handgrad.verify: order=2 differentiates grad= (or f's custom rule) once more; with hvp= alone there is "
            "nothing to differentiate (hvp= is checked as a second derivative already)"
        )
    if mode_names != ("rev",) and not first_order:
        raise ValueError(
            f"handgrad.verify: modes={tuple(modes)!r} applies to grad= (or f's custom rule); hvp= alone is always "
            "checked element by element against jax.jvp(jax.grad(f), (x,), (v,)), which a 'fwd' check "
            "(<hvp(x, v), t>, one number) would only project: leave modes= out with hvp= alone"
        )
    if kinks is not None or kink_range is not None:
        _check_kinks_apply(first_order, mode_names)
    kink_range = _kink_range_pair(kink_range)
    strict = _check_strict(strict)
    dtype_names = _validate_names("dtype", _dtype_names(dtypes), DTYPES) if dtypes is not None else None
    transform_names = _validate_names("transform", transforms, TRANSFORMS)
    family_names = FAMILIES if families is None else _validate_names("family", families, ALL_FAMILIES)
    if argnums is None and (grad is not None or hvp is not None):
        argnums = 0  # (f's own rule alone: every argument it differentiates, prepare's default)
    with checking():
        call = prepare(f, args, argnums, rule_of_f, fixed=fixed)
        calls = [(call, "")]
        for k, example in enumerate(more):
            who = f"handgrad.verify: examples[{k}]"
            calls.append((prepare(f, example, argnums, rule_of_f, who=who, fixed=fixed), f" on examples[{k}]"))
        dtype_names = dtype_names or _default_dtypes(*(c for c, _ in calls))
        if devices is None:
            device_names = tuple(default_devices())
        else:
            device_names = _validate_names("device", devices, available_devices())
        if first_order:
            formula, truth = gradient_functions(call, grad)
            example = call.floats + (() if call.scalar else (np.ones(call.out_shape, call.out_dtype),))
            example = tuple(np.asarray(a) for a in example)
            try:
                want = jax.eval_shape(truth, *example)
            except Exception as exc:
                if "rev" not in mode_names:  # (the forward checks' truth is jax.jvp: reverse mode may fail)
                    want = {n: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype) for n, a in _diff(call)}
                else:
                    raise ValueError(
                        f"handgrad.verify: JAX cannot differentiate {call.name} ({short(exc)}); "
                        "check the gradient with handgrad.taylor_test instead"
                        + (
                            _reverse_only_words(check_rule and isinstance(rule_of_f, jax.custom_vjp))
                            if _reverse_only(exc)
                            else ""
                        )
                    ) from None
            if grad is not None:
                check_returns(formula, example, want, "grad", grad, calling(call, "grad", len(args)))
            else:  # f's own rule: a bwd of the wrong structure is said once, not in every case (other
                _check_bwd_structure(formula, example, call.name)  # failures are the cases' to explain)
        if hvp is not None:
            if not call.scalar or len(call.argnums) != 1 or call.pytree:
                raise ValueError("handgrad.verify: hvp= needs a scalar f and one argnum that is one array")
            formula, truth = hvp_functions(call, hvp)
            (i,) = call.argnums
            example = (*call.floats, call.floats[i])
            want = jax.eval_shape(truth, *example)
            check_returns(formula, example, want, "hvp", hvp, calling(call, "hvp", len(args)))
        targets = []
        cut_by_call: dict[str, Cuts] = {}
        for each, where in calls:
            rule = kink_rule(each, kinks, kink_range)
            if rule is not None and callable(rule.range):
                rule = dataclasses.replace(rule, range=_checked_range(rule.range, each))
            cuts, not_finite = Cuts(each), NotFinite(each)
            cut_by_call[where] = cuts
            found = 0
            for check in _checks(each, grad, hvp, rule, mode_names, order, check_rule):
                if each is call:
                    _truth_runs(check, call)
                target = _target(check, each, dtype_names, family_names, cuts, not_finite, where)
                if target is not None:  # (else none of the families asked for applies to this check)
                    targets.append((each, rule, target, check.formula))
                    found += 1
            if not found:
                raise ValueError(
                    f"handgrad.verify: no family left to draw{where}: 'one-hot' needs a cotangent, tangent or v to "
                    "draw (a non-scalar f, modes=('fwd',), order=2 or hvp=), 'size-1' a batch axis f accepts at "
                    "length 1, 'labels' an argument holding only 0 and 1, 'low-rank' and 'repeated-sv' an argument "
                    "with two axes of length 2 or more, 'broadcast' an argument f broadcasts against another at "
                    "length 1"
                )
        planned = [
            (each, rule, target, formula, build_cases([target], dtypes=dtype_names, transforms=transform_names,
                                                      devices=device_names))
            for each, rule, target, formula in targets
        ]  # fmt: skip
        if not any(cases for *_, cases in planned):
            raise ValueError(
                "handgrad.verify: nothing to check: the families asked for are not drawn in these dtypes and "
                "transforms ('sweep' under vmap only, 'shifted' in float32 and float64 only, 'far-magnitudes' in "
                "float32 and bfloat16 only)"
            )
        results: list[CaseResult] = []
        for each, rule, target, formula, cases in planned:
            try:
                done = run_all(
                    InProcess({target.name: formula}), cases, strict=strict, seed=seed, nan_truth_unchecked=True
                )
            finally:  # nothing compiled for the user's functions outlives their report
                forget(formula)
                forget_entry(target)
            if rule is None and target.name.startswith("hvp("):  # (the others find their kinks)
                done = [with_kink_note(r, each.names) for r in done]
            results += [broadcast.with_note(with_tie_note(r, target.kink)) for r in done]
    about, notice = [], ""
    if grad is not None and rule_of_f is not None:
        kind = "custom_vjp" if isinstance(rule_of_f, jax.custom_vjp) else "custom_jvp"
        notice = (
            f"{call.name} has its own jax.{kind} rule, which grad= replaces here: grad was checked against "
            f"autodiff of its primal ({call.name}.fun), the rule (what jax.grad({call.name}) uses) was not; "
            f"handgrad.verify({call.name}, ...) without grad= checks it"
        )
    structured = [(call.names[i], k) for i, k in structures(call).items() if k]
    if structured:
        kinds = "; ".join(f"{n} {'symmetric positive definite' if k == SPD else 'symmetric'}" for n, k in structured)
        notice = "\n".join(
            [notice] * bool(notice)
            + [f"drawn as the example is ({kinds}): the gradient at other matrices was not checked (docs/verify.md)"]
        )
    if not call.scalar and grad is not None:
        about.append(
            f"{call.name} returns shape {call.out_shape}, not a scalar: grad was checked as its vector-Jacobian "
            "product, grad(*args, cotangent) (for a loss, return a scalar: shape (), not (1,))"
        )
    failed = {r.case.entry.name for r in results if not r.ok}
    for each, where in calls:  # (a size-1 family was drawn only where its cut was found)
        failing = {r.case.family.name for r in results if not r.ok and r.case.entry.name.endswith(where)}
        if "size-1" in failing:
            about.append(size_one_note(each, cut_by_call[where].size_one, where, alone=failing == {"size-1"}))
    for k, (each, where) in enumerate(calls[1:]):
        if any(name.endswith(where) for name in failed):
            shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(each.names, each.floats, strict=True))
            about.append(f"examples[{k}] (extra example arguments): {shapes}")
    return Report(call.name, results, about="\n".join(about), notice=notice)


def _checks(
    call: Call,
    grad: Callable[..., Any] | None,
    hvp: Callable[..., Any] | None,
    rule: KinkRule | None,
    modes: Sequence[str],
    order: int,
    check_rule: bool,
) -> list[Check]:
    """What verify checks on one example: for grad= (or f's own rule, `check_rule`, without it)
    each mode at order 1 and, at order 2, each mode's derivative (handgrad/modes.py); hvp=."""
    checks = []
    if grad is not None or check_rule:
        checks += _first_order(call, grad, rule, modes, order)
    if hvp is not None:
        formula, truth = hvp_functions(call, hvp)
        checks.append(Check(f"hvp({call.name})", formula, truth, (Extra("v", "v", call.argnums[0]),), None))
    return checks


def _first_order(
    call: Call, grad: Callable[..., Any] | None, rule: KinkRule | None, modes: Sequence[str], order: int
) -> list[Check]:
    """The checks of grad= (None: of f's own rule): each mode at order 1, and at order 2 each
    mode's derivative; for f's rule also its primal output ("rev")."""
    checks = []
    formula, truth = gradient_functions(call, grad)
    label = f"grad({call.name})" if grad is not None else f"rule({call.name})"
    cotangent = () if call.scalar else (Extra("cotangent", "cotangent", None),)
    kink = tree_kink(call, rule) if rule is not None else found_kink(call)
    if "rev" in modes and grad is None and call.scalar:
        # f's own rule, for a scalar f too, is pulled back with a drawn cotangent, not only
        # with 1: a bwd that ignores g (g * s(x) written s(x)) is right at g = 1 alone, and
        # wrong for a weighted or scaled loss.
        pulled = dataclasses.replace(call, scalar=False)
        pulled_formula, pulled_truth = gradient_functions(pulled, None)
        pulled_kink = tree_kink(pulled, rule) if rule is not None else found_kink(pulled)
        checks.append(Check(label, pulled_formula, pulled_truth, (Extra("cotangent", "cotangent", None),), pulled_kink))
    elif "rev" in modes:
        checks.append(Check(label, formula, truth, cotangent, kink))
    if "rev" in modes and grad is None:  # (jax.vjp of f's rule returns its primal output too)
        checks.append(rule_primal(call, label))
    fwd = forward(call, label, formula if grad is not None else None, set(call.names)) if "fwd" in modes else None
    if fwd is not None:
        checks.append(fwd)
    if order == 2 and "rev" in modes:
        checks.append(second_rev(call, label, formula, truth, set(call.names)))
    if order == 2 and fwd is not None:
        checks.append(second_fwd(call, fwd))
    return checks


def _diff(call: Call) -> list[tuple[str, np.ndarray]]:
    """The differentiated float leaves, by name: the shapes and dtypes grad returns."""
    return [(call.names[i], call.floats[i]) for i in call.argnums]


def _reverse_only_words(custom_vjp: bool) -> str:
    """How else to check a function whose primal JAX differentiates forward only. A custom_vjp
    rule cannot run forward (modes=('fwd',) is refused for it: a red team was sent round from
    one refusal to the other), so its primal is what must change."""
    if custom_vjp:
        return (
            ", or write the rule's primal with lax.scan or a fori_loop of static bounds (reverse mode, from which "
            "the truth comes, cannot go through a while_loop), then check the rule"
        )
    return ", or as a directional derivative with modes=('fwd',)"


def _reverse_only(exc: Exception) -> bool:
    """Whether JAX refused reverse mode alone (a while_loop with a dynamic trip count)."""
    return "Reverse-mode differentiation does not work" in str(exc)


def _truth_runs(check: Check, call: Call) -> None:
    """The check's truth traces on the example (autodiff of f's primal, in the check's mode and
    order): else say so up front, not in the middle of the run."""
    import jax

    extras = [np.ones(call.out_shape if e.like is None else call.floats[e.like].shape) for e in check.extras]
    try:
        jax.eval_shape(check.truth, *(np.asarray(a, np.float64) for a in call.floats), *extras)
    except Exception as exc:
        raise ValueError(
            f"handgrad.verify: JAX cannot compute {check.label}'s truth from {call.name}'s primal "
            f"({short(exc)}); check that mode or order another way (handgrad.taylor_test)"
        ) from None


def _check_strict(strict: object) -> bool:
    """strict= as a bool: "no" or 0 read as a truth value would turn strict mode on or off by accident."""
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"handgrad.verify: strict must be True or False, got {strict!r}")
    return bool(strict)


def _check_kinks_apply(first_order: bool, modes: Sequence[str]) -> None:
    """kinks= and kink_range= declare the valid values of a gradient's elements: they apply to the
    "rev" check of grad= (or of f's rule) at order 1, and are refused where nothing uses them."""
    if not first_order:
        raise ValueError(
            "handgrad.verify: kinks= and kink_range= declare where f's gradient is set-valued, for grad= (or f's "
            "custom rule); hvp= alone is checked against jax.jvp(jax.grad(f), (x,), (v,)), which they do not "
            "describe: leave them out with hvp= alone"
        )
    if "rev" not in modes:
        raise ValueError(
            f"handgrad.verify: kinks= and kink_range= apply to modes='rev' (each element of the gradient); with "
            f"modes={tuple(modes)!r} the kinks are found along the tangent instead: leave them out, or add 'rev'"
        )


def _bound(value: Any) -> bool:
    """A real number (or an array of them): not a bool, None, a string or a complex number."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        return False
    try:
        dtype = np.asarray(value).dtype
    except Exception:
        return False
    return dtype.kind in "fiu"


def _kink_range_pair(kink_range: Any) -> Any:
    """kink_range=(lo, hi) as two floats, each a real number, not NaN, lo <= hi; a function (or
    None) as given (_checked_range validates what it returns); anything else is left for
    verify_kinks.kink_rule to refuse."""
    if not (isinstance(kink_range, (tuple, list)) and len(kink_range) == 2):
        return kink_range
    for which, value in zip(("lo", "hi"), kink_range, strict=True):
        if not _bound(value) or np.ndim(value) != 0:
            raise TypeError(
                f"handgrad.verify: kink_range=(lo, hi) takes two real numbers, got {which} = {value!r}"
                + (" (for bounds per element, pass a function returning arrays)" if np.ndim(value) else "")
            )
    lo, hi = (float(v) for v in kink_range)
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"handgrad.verify: kink_range ({lo}, {hi}) holds NaN: give the bounds as numbers")
    if not lo <= hi:
        raise ValueError(f"handgrad.verify: kink_range ({lo}, {hi}) needs lo <= hi")
    return (lo, hi)


def _checked_range(user: Callable[..., Any], call: Call) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """A kink_range= function, its result validated wherever it is called: at the example, now
    (up front), then at every drawn input (see _range_result)."""
    example = call.full(call.floats)
    _range_result(user(*example), example, call, "on the example arguments")

    def checked(*args: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            pair = user(*args)
        except Exception as exc:
            raise ValueError(f"handgrad.verify: kink_range raised at a drawn input: {short(exc)}") from None
        return _range_result(pair, args, call, "at a drawn input")

    return checked


def _range_result(pair: Any, args: Sequence[Any], call: Call, where: str) -> tuple[np.ndarray, np.ndarray]:
    """What a kink_range= function returned, as (lo, hi) in float64: a pair of real numbers or
    arrays, each broadcasting to every differentiated argument's shape in `args` (f's arguments
    there), with no NaN and lo <= hi; else a clear error naming kink_range, never a NaN range (a
    false FAIL of a right gradient, hinted as NaN at ordinary inputs) or a raw NumPy error from
    inside the check."""
    import jax

    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"handgrad.verify: kink_range must return a pair (lo, hi), got {pair!r} {where}")
    for which, value in zip(("lo", "hi"), pair, strict=True):
        if not _bound(value):
            raise TypeError(
                f"handgrad.verify: kink_range returned {which} = {value!r} {where}: lo and hi must be real numbers "
                "or arrays of them"
            )
    lo, hi = (np.asarray(v, np.float64) for v in pair)
    leaves = jax.tree_util.tree_leaves(list(args))
    for name, i in zip(call.diff_names, call.argnums, strict=True):
        shape = np.shape(leaves[call.float_pos[i]])
        for which, bound in (("lo", lo), ("hi", hi)):
            try:
                np.broadcast_to(bound, shape)
            except ValueError:
                raise ValueError(
                    f"handgrad.verify: kink_range returned {which} of shape {bound.shape} {where}, which does not "
                    f"broadcast to {name}'s shape {shape}: return numbers, or arrays shaped like {name}"
                ) from None
    shown = f"(lo = {_shown(lo)}, hi = {_shown(hi)})"
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError(
            f"handgrad.verify: kink_range returned NaN {where} {shown}: the valid derivatives at a kink must be "
            "numbers (-inf and inf allowed)"
        )
    if (lo > hi).any():
        raise ValueError(f"handgrad.verify: kink_range returned lo > hi {where} {shown}: it needs lo <= hi")
    return lo, hi


def _shown(a: np.ndarray) -> str:
    return np.array2string(a, threshold=6, precision=4) if a.ndim else f"{float(a):g}"


def _check_examples(examples: Any, n: int) -> list[tuple[Any, ...]]:
    """verify's `examples=`: a list of argument tuples, each like the example's (n arguments)."""
    if not isinstance(examples, (list, tuple)):
        raise TypeError(
            f"handgrad.verify: examples= takes a list of argument tuples, e.g. examples=[(x2, y2)]; "
            f"got {type(examples).__name__}"
        )
    out = []
    for k, example in enumerate(examples):
        if not isinstance(example, (tuple, list)):
            raise TypeError(
                f"handgrad.verify: examples[{k}] must be a tuple of {n} argument(s) like the example's "
                f"(examples=[(x2,)] for one argument), got {type(example).__name__}"
            )
        if len(example) != n:
            raise ValueError(
                f"handgrad.verify: examples[{k}] has {len(example)} argument(s), the example has {n}: give each "
                "example as a tuple of f's arguments"
            )
        out.append(tuple(example))
    return out


def _check_bwd_structure(formula: Any, example: tuple[Any, ...], name: str) -> None:
    """Raise where f's custom_vjp bwd returns something other than a tuple of one cotangent per
    argument (a bare array): JAX's error then fails every case alike, placed in JAX's code."""
    import jax

    try:
        jax.eval_shape(formula, *example)
    except Exception as exc:
        if "bwd rule must produce" in str(exc):
            raise TypeError(
                f"handgrad.verify: the rule of {name} on the example arguments: {short(exc)}{traced_note(exc, name)}"
            ) from None


def _computes_its_rule(f: Any, rule: Any, args: tuple[Any, ...]) -> bool:
    """Whether f, found to wrap `rule` (through __wrapped__), computes what the rule's primal
    does at the example: a jax.jit or a plain functools.wraps wrapper does; a decorator that
    changes the value (t * rule(x / t)), jax.vmap(rule) or jax.grad(rule) does not, and then the
    rule's primal is not f's truth (a red team's wrong gradient of t * softplus(x / t) passed
    against softplus's autodiff)."""
    import jax

    if f is rule:
        return True
    try:
        ours, theirs = f(*args), rule.fun(*args)
        a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
        if str(jax.tree.structure(ours)) != str(jax.tree.structure(theirs)):
            return False
        for x, y in zip(a, b, strict=True):
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
            if x.shape != y.shape or not np.allclose(x, y, rtol=1e-5, atol=1e-30, equal_nan=True):
                return False
    except Exception:  # (rule.fun does not take f's arguments, or an output is no array)
        return False
    return True


def _rule_of(f: Any) -> Any:
    """The jax.custom_vjp/custom_jvp object f is, or wraps (jax.jit, functools.wraps); else None."""
    import jax

    for _ in range(8):  # a few wrappers deep; a cycle of __wrapped__ ends here
        if isinstance(f, (jax.custom_vjp, jax.custom_jvp)):
            return f
        f = getattr(f, "__wrapped__", None)
        if f is None:
            return None
    return None


def _target(
    check: Check,
    call: Call,
    dtypes: Sequence[str],
    family_names: Sequence[str],
    cuts: Cuts,
    not_finite: NotFinite,
    where: str = "",
) -> Target | None:
    """The check as a catalog-style entry, with the families it can draw: "one-hot" needs an
    extra, "labels" a label-like argument, "low-rank" and "repeated-sv" a matrix argument,
    "size-1" and "broadcast" a shape f takes; None where none is left. `not_finite`: f's
    values at a draw, to redraw where f is not finite. `where`: which extra example
    (" on examples[0]"), appended to the label. The truth's Jacobian, which the allowance's S needs
    (reference/conditioning.py: jax.jacfwd), is taken in reverse mode (reverse_jvp) where JAX
    cannot take it forward (a custom_vjp inside f)."""
    fams: list[Family] = []
    for name in family_names:
        if (name == "one-hot" and not check.extras) or (name == "labels" and not label_like(call)):
            continue
        if name in MATRIX_DRAWS and not matrix_arguments(call, name):
            continue
        if name == "size-1":
            cut = cuts.size_one
            fams += [make_family(name, call, check.extras, cut, not_finite=not_finite)] if cut is not None else []
        elif name == "broadcast":
            fams += [
                make_family(name, call, check.extras, cut, broadcast.PREFIX + call.names[i], not_finite)
                for i, cut in cuts.broadcast
            ]
        else:
            fams.append(make_family(name, call, check.extras, not_finite=not_finite))
    if not fams:
        return None
    directions = tuple(e.name for e in check.extras)
    example = [np.asarray(a, np.float64) for a in call.floats]
    example += [np.ones(call.out_shape if e.like is None else call.floats[e.like].shape) for e in check.extras]
    forward_ok = forward_differentiable(check.truth, example)
    return Target(
        name=check.label + where,
        reference=check.truth if forward_ok else reverse_jvp(check.truth),
        args=(*call.names, *directions),
        layout="elementwise",
        families=tuple(fams),
        dtypes=tuple(dtypes),
        kink=own_rounding(call, check.kink, check.truth),
        tolerance=TOLERANCES,
        cancelled=_own_rounding(check.truth),
        floor_follows_truth=True,
        of=call.name,
        directions=directions,
        where=where,
    )


def _own_rounding(truth: Callable[..., Any]) -> Callable[[tuple[Any, ...]], Any]:
    """Entry.cancelled for a truth: its rounding R (reference/rounding.py), in units
    of S (the allowance multiplies S by CONDITIONING_FACTOR; R is taken ROUNDING_FACTOR times)."""
    import jax

    terms = rounding_terms(truth)
    scale = ROUNDING_FACTOR / CONDITIONING_FACTOR

    def cancelled(args: tuple[Any, ...]) -> Any:
        r = terms(args)
        return None if r is None else jax.tree.map(lambda a: a * scale, r)

    return cancelled


def assert_gradient(f: Callable[..., Any], *args: Any, **options: Any) -> Report:
    """`verify(f, *args, **options)`; raises AssertionError with the report when not ok."""
    report = verify(f, *args, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report
