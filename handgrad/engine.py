"""The checking engine: run one case (call the formula through an evaluator), compare, explain.

Everything that checks a gradient goes through `run_case`: `handgrad check`, the
agreement matrix in the tests, the grader, and `handgrad.verify` for anyone's function.
An evaluator is anything that runs a named formula on given inputs: `InProcess` for a
module loaded here (the shipped `handwritten`), or the grader's sandboxed worker for a
submission. The reference, the kink rule and the comparison always run here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from handgrad.cases import DEFAULT_SEED, Case, case_inputs, expected, sensitivity
from handgrad.evaluate import SHARDED, BadReturn, Output, describe_exception, evaluate
from handgrad.hints import hint_for, switch_window
from handgrad.results import CaseResult, EvaluationError
from reference.compare import Comparison, compare
from reference.keywords import call_keywords
from reference.tolerances import Tolerance, input_floor, truth_floor


class Evaluator(Protocol):
    def __call__(
        self,
        name: str,
        *,
        transform: str,
        device: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        vmap_axes: tuple[int | None, ...],
    ) -> Output: ...


class InProcess:
    """Evaluate formulas from a module or mapping loaded in this process (trusted code)."""

    def __init__(self, namespace: ModuleType | Mapping[str, Callable[..., Any]]) -> None:
        self.namespace = vars(namespace) if isinstance(namespace, ModuleType) else dict(namespace)

    def __call__(self, name: str, **call: Any) -> Output:
        fn = self.namespace.get(name)
        if not callable(fn):
            raise EvaluationError("missing", f"{name} is not defined (or not callable)")
        try:
            return evaluate(fn, **call)
        except BadReturn as exc:
            raise EvaluationError("bad-return", str(exc)) from None
        except Exception as exc:  # the formula's own failure, reported per case
            raise EvaluationError("exception", describe_exception(exc)) from None


def inputs_at(case: Case, args: tuple[Any, ...], index: tuple[int, ...], leaf: str) -> dict[str, Any]:
    """The arguments that produced the output element at `index`.

    A gradient leaf named after an argument (handgrad.verify's outputs) is indexed like
    that argument: the element it differentiates is the input to show, with the directions
    verify drew beside the arguments (`entry.directions`: a cotangent, tangents, v) when small.
    Any other leaf of a check with directions (verify's JVPs) shows every argument, of the
    failing example where the case is stacked.
    """
    entry = case.entry
    out: dict[str, Any] = {}
    directions = getattr(entry, "directions", ())
    if leaf and leaf in entry.args:
        arr = np.asarray(args[entry.args.index(leaf)])
        where = f"[{', '.join(map(str, index))}]" if index else ""
        out = {f"{leaf}{where}": arr[index] if arr.ndim == len(index) else arr}
        for name in directions:
            drawn = np.asarray(args[entry.args.index(name)])
            if drawn.size <= 24:
                out[name] = drawn
        return out
    if leaf and directions:
        for name, arg in zip(entry.args, args, strict=True):
            arr = np.asarray(arg)
            out[name] = arr[index[0]] if case.stacked and index else arr
        return out
    for name, arg, axis in zip(entry.args, args, entry.vmap_axes, strict=True):
        if isinstance(arg, Mapping):
            out[name] = arg
            continue
        arr = np.asarray(arg)
        if entry.layout == "elementwise":
            out[name] = arr[index[: arr.ndim]]
        elif entry.layout == "last_axis":
            out[name] = arr[index[: arr.ndim - 1]]
        else:  # network: one example (x, y), picked by the batch index when stacked
            out[name] = arr[index[0]] if case.stacked and axis == 0 and index else arr
    return out


def run_case(
    evaluator: Evaluator,
    case: Case,
    *,
    strict: bool = False,
    seed: int = DEFAULT_SEED,
    nan_truth_unchecked: bool = False,
) -> CaseResult:
    """Evaluate the formula on the case's inputs and compare with the truth.

    `nan_truth_unchecked`: elements whose float64 truth is NaN are not compared (the
    reference itself is undefined there, as autodiff of a user's unstable primal can be);
    they are counted in `CaseResult.unchecked`. The catalog's references are trusted, so
    the catalog leaves this off and a NaN truth must be matched.

    What came back is data: no NumPy warning of judging it (an overflow in a kink rule's sum
    of the largest float64s) reaches the output (np.errstate is per thread).
    """
    with np.errstate(all="ignore"):
        return _run_case(evaluator, case, strict, seed, nan_truth_unchecked)


def _run_case(evaluator: Evaluator, case: Case, strict: bool, seed: int, nan_truth_unchecked: bool) -> CaseResult:
    inputs = case_inputs(case, seed)
    want = expected(case, seed)
    try:
        out = evaluator(
            case.entry.name,
            transform=case.transform,
            device=case.device,
            args=inputs.args,
            kwargs=call_keywords(case.entry.name, inputs.kwargs, case.family.by_position),
            vmap_axes=case.entry.vmap_axes,
        )
    except EvaluationError as exc:
        result = CaseResult(case, error_kind=exc.kind, error=exc.message, kwargs=inputs.kwargs, seed=seed)
        return _with_hint(result, hint_for(result, want, None))
    # Only an eager call can move its result off the inputs' device (through NumPy); a jit or
    # vmap program with an output that does not depend on its inputs (jnp.zeros_like(x)) has
    # it placed on the default device by JAX itself.
    if case.transform == "eager" and case.device != SHARDED and out.devices and out.devices != {case.device}:
        result = CaseResult(
            case,
            error_kind="device",
            error=f"the result lives on {sorted(out.devices)}, but the inputs were on {case.device}",
            devices=out.devices,
            kwargs=inputs.kwargs,
            seed=seed,
        )
        return _with_hint(result, hint_for(result, want, out.value))
    unchecked = 0
    if nan_truth_unchecked:
        by_slopes = lambda: _by_slopes(case.entry.kink, inputs.args, out.value)  # noqa: E731
        want, unchecked = _undefined_as_returned(want, out.value, by_slopes)
    # The allowance: per dtype (entry.tolerance) plus the truth's conditioning S
    # (reference/conditioning.py), for every caller alike (the catalog and handgrad.verify).
    tolerance = case_tolerance(case, want, inputs.args)

    def conditioning(needed: Any) -> Any:
        return sensitivity(case, seed, needed)

    def judged(kink: Any) -> tuple[Any, Comparison, int]:
        kink_mask, want_eff = _apply_kink(kink, inputs.args, want, out.value, strict)
        found = compare(
            want_eff,
            out.value,
            dtype=case.dtype,
            tolerance=tolerance,
            kink_mask=kink_mask,
            sensitivity_at=conditioning,
            singular=case.entry.floor_follows_truth,  # (handgrad.verify's functions, not the contract's)
        )
        return want_eff, found, _unjudged(kink_mask, want_eff, want)

    # A rule that only widens what passes (verify's allowance for autodiff's own rounding,
    # verify_kinks.OwnRounding, which runs a program) is asked only where the narrower rule
    # inside it fails: whatever passes without it passes with it.
    kink = case.entry.kink
    narrower = getattr(kink, "narrower", _NO_RULE)
    want_eff, comparison, lost = judged(kink if narrower is _NO_RULE else narrower)
    if narrower is not _NO_RULE and not comparison.ok:
        want_eff, comparison, lost = judged(kink)
    unchecked += lost  # (a rule's valid value NaN: no answer in the dtype holds one there)
    at: dict[str, Any] = {}
    if not comparison.ok and comparison.worst is not None:
        at = inputs_at(case, inputs.args, comparison.worst.index, comparison.worst.leaf)
    unchecked += comparison.undetermined  # (not finite where no answer in the dtype holds a digit)
    result = CaseResult(
        case,
        comparison,
        devices=out.devices,
        inputs_at_worst=at,
        kwargs=inputs.kwargs,
        unchecked=unchecked,
        elements=sum(np.size(leaf) for leaf in _as_leaves(out.value).values()),
        seed=seed,
    )
    if comparison.ok:
        return result
    if strict and comparison.worst is not None and comparison.worst.at_kink and case.entry.kink is not None:
        # Not "wrong": another valid subgradient, which strict mode does not take.
        return _with_hint(result, f"at a kink strict mode takes only the convention: {case.entry.kink.rule}")
    if comparison.problem == "value":  # (the window's hint is a value hint: hints._misplaced_switch)
        result = dataclasses.replace(result, switch_window=switch_window(result, want_eff, out.value))
    return _with_hint(result, hint_for(result, want_eff, out.value))


def _with_hint(result: CaseResult, hint: str) -> CaseResult:
    return dataclasses.replace(result, hint=hint)


_NO_RULE = object()


def _apply_kink(kink: Any, args: tuple[Any, ...], want: Any, got: Any, strict: bool) -> tuple[Any, Any]:
    """Replace the truth at `kink`'s elements (the case's kink rule, or None) by the valid value
    closest to `got` (or the convention when strict). Outputs of the wrong structure or shape
    are left for compare to reject. Outputs are arrays or dicts of arrays; the kink rule sees
    the same form."""
    if kink is None or not _same_layout(want, got):
        return None, want
    got64 = _leafwise(lambda g, w: g.astype(np.float64) if g.dtype.kind in "fV" else np.zeros(np.shape(w)), got, want)
    mask, at_kink = kink.expected_at(args, got64, strict)
    if not strict:  # autodiff's own value is a valid derivative at a kink too: the closer one stands
        at_kink = _leafwise(_closer, got64, at_kink, want)
    return mask, _leafwise(np.where, mask, at_kink, want)


def _unjudged(mask: Any, want_eff: Any, want: Any) -> int:
    """How many elements a kink rule gave NaN as their valid value (verify's OwnRounding, where
    autodiff's own answer in the dtype is NaN past its range): they are not compared."""
    if mask is None:
        return 0
    masks, eff, truth = _as_leaves(mask), _as_leaves(want_eff), _as_leaves(want)
    return sum(
        int(
            np.sum(
                np.asarray(masks[k], bool)
                & np.isnan(np.asarray(eff[k], np.float64))
                & ~np.isnan(np.asarray(truth[k], np.float64))
            )
        )
        for k in masks
    )


def _closer(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise, whichever of a and b is closer to got (a where got is not finite)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(got - b) < np.abs(got - a), b, a)


def _undefined_as_returned(
    want: Any, got: Any, by_slopes: Callable[[], Mapping[str, np.ndarray] | None]
) -> tuple[Any, int]:
    """The truth with its NaN elements judged by f's one-sided derivatives there, where the
    check's kink rule can probe them (`by_slopes`: handgrad.verify's FoundKink.judged_by_slopes:
    a derivative f has although its autodiff is NaN, or a kink's range); elsewhere by the
    returned value itself (they agree: not compared). With how many were not compared;
    unchanged where the output's layout does not match."""
    if not _same_layout(want, got):
        return want, 0
    if not any(np.isnan(np.asarray(w, np.float64)).any() for w in _as_leaves(want).values()):
        return want, 0
    slopes = by_slopes() or {}
    unchecked = 0
    judged = {}
    for key, w in _as_leaves(want).items():
        w = np.asarray(w, np.float64)
        g = np.asarray(_as_leaves(got)[key]).astype(np.float64)
        value = np.broadcast_to(slopes.get(key, np.nan), w.shape)
        undefined, known = np.isnan(w), np.isfinite(value)
        unchecked += int((undefined & ~known).sum())
        judged[key] = np.where(undefined, np.where(known, value, g), w)
    return (judged if isinstance(want, Mapping) else judged[""]), unchecked


def _by_slopes(kink: Any, args: tuple[Any, ...], got: Any) -> Mapping[str, np.ndarray] | None:
    """The values the case's kink rule (or the rule inside it: verify's OwnRounding wraps its
    FoundKink) judges `got` by from f's one-sided derivatives; None for every other rule."""
    rule = getattr(kink, "inner", kink)
    judge = getattr(rule, "judged_by_slopes", None)
    return judge(args, got) if judge is not None else None


def case_tolerance(case: Case, want: Any, args: Sequence[Any]) -> Tolerance | Mapping[str, Tolerance]:
    """The case's fixed allowance (before the truth's conditioning S is added): its entry's
    tolerance for the dtype, with the absolute floor following the input (input_floor) or
    the truth's typical size (truth_floor) where the entry says so; one per leaf of a dict truth."""
    fixed = case.entry.tolerance[case.dtype]
    if case.entry.floor_follows_input and _same_layout(want, args[0]):
        return input_floor(fixed, args[0], case.dtype)
    if case.entry.floor_follows_truth:
        return truth_floor(fixed, want, case.dtype)
    return fixed


def _as_leaves(tree: Any) -> dict[str, Any]:
    return dict(tree) if isinstance(tree, Mapping) else {"": tree}


def _same_layout(want: Any, got: Any) -> bool:
    """Both arrays, or dicts with the same keys, with ndarrays of the truth's shapes."""
    if isinstance(want, Mapping) != isinstance(got, Mapping):
        return False
    w, g = _as_leaves(want), _as_leaves(got)
    return set(w) == set(g) and all(isinstance(g[k], np.ndarray) and g[k].shape == np.shape(w[k]) for k in w)


def _leafwise(fn: Callable[..., Any], *trees: Any) -> Any:
    """fn applied leaf by leaf to arrays, or to dicts of arrays with the first tree's keys."""
    if not isinstance(trees[0], Mapping):
        return fn(*trees)
    return {k: fn(*(t[k] for t in trees)) for k in trees[0]}


def run_all(
    evaluator: Evaluator,
    cases: Sequence[Case],
    *,
    strict: bool = False,
    seed: int = DEFAULT_SEED,
    nan_truth_unchecked: bool = False,
    progress: Callable[[Iterable[Case]], Iterable[Case]] = lambda it: it,
) -> list[CaseResult]:
    """run_case for every case, in order; `progress` wraps the iteration (a progress bar)."""
    return [
        run_case(evaluator, c, strict=strict, seed=seed, nan_truth_unchecked=nan_truth_unchecked)
        for c in progress(cases)
    ]
