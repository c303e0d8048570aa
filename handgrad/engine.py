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
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from handgrad.cases import DEFAULT_SEED, Case, case_inputs, expected, sensitivity
from handgrad.evaluate import SHARDED, BadReturn, Output, describe_exception, evaluate
from reference.compare import Comparison, compare


class EvaluationError(Exception):
    """The formula could not produce a value; `kind` says why (missing, exception,
    bad-return, timeout, memory, crash, autodiff)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


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


@dataclass(frozen=True)
class CaseResult:
    case: Case
    comparison: Comparison | None = None
    error_kind: str = ""
    error: str = ""
    devices: frozenset[str] = field(default_factory=frozenset)
    inputs_at_worst: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error_kind and self.comparison is not None and self.comparison.ok

    @property
    def problem(self) -> str:
        if self.error_kind:
            return self.error_kind
        return self.comparison.problem if self.comparison is not None else "error"

    @property
    def ratio(self) -> float:
        """Worst error over allowed error (<= 1 passes); inf for failures without one."""
        worst = self.comparison.worst if self.comparison else None
        if worst is None:
            return 0.0 if self.ok else float("inf")
        if worst.allowed == 0:
            return float("inf")
        return worst.abs_err / worst.allowed

    def message(self) -> str:
        """What a student needs: which input, what was expected, what came back, why."""
        if self.ok:
            return f"{self.case.id}: ok"
        lines = [f"{self.case.id}: {self.case.entry.signature} FAILED ({self.problem})"]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.comparison is not None and not self.comparison.ok:
            lines.append(f"  {self.comparison.detail}")
            if self.comparison.worst is not None and self.comparison.worst.at_kink:
                lines.append(f"  this element is at a kink: {self.case.entry.kink.rule}")  # type: ignore[union-attr]
        for name, value in self.inputs_at_worst.items():
            lines.append(f"  input {name} = {_fmt(value)}")
        for name, value in self.kwargs.items():
            lines.append(f"  with {name} = {value!r}")
        if self.hint:
            lines.append(f"  likely mistake: {self.hint}")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: shape {np.shape(v)}" for k, v in value.items()) + "}"
    arr = np.asarray(value)
    with np.printoptions(precision=6, threshold=24, edgeitems=4, linewidth=200):
        return np.array2string(arr.astype(np.float64), separator=", ") + f" ({arr.dtype.name})"


def inputs_at(case: Case, args: tuple[Any, ...], index: tuple[int, ...], leaf: str) -> dict[str, Any]:
    """The arguments that produced the output element at `index`."""
    entry = case.entry
    out: dict[str, Any] = {}
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
) -> CaseResult:
    """Evaluate the formula on the case's inputs and compare with the truth."""
    from handgrad.hints import hint_for  # the hints read CaseResult; import late

    inputs = case_inputs(case, seed)
    want = expected(case, seed)
    try:
        out = evaluator(
            case.entry.name,
            transform=case.transform,
            device=case.device,
            args=inputs.args,
            kwargs=dict(inputs.kwargs),
            vmap_axes=case.entry.vmap_axes,
        )
    except EvaluationError as exc:
        result = CaseResult(case, error_kind=exc.kind, error=exc.message, kwargs=inputs.kwargs)
        return _with_hint(result, hint_for(result, want, None))
    if case.device != SHARDED and out.devices and out.devices != {case.device}:
        result = CaseResult(
            case,
            error_kind="device",
            error=f"the result lives on {sorted(out.devices)}, but the inputs were on {case.device}",
            devices=out.devices,
            kwargs=inputs.kwargs,
        )
        return _with_hint(result, hint_for(result, want, out.value))
    kink_mask, want_eff = _apply_kink(case, inputs.args, want, out.value, strict)
    comparison = compare(
        want_eff,
        out.value,
        dtype=case.dtype,
        tolerance=case.entry.tolerance[case.dtype],
        kink_mask=kink_mask,
        sensitivity=lambda: sensitivity(case, seed),
    )
    at: dict[str, Any] = {}
    if not comparison.ok and comparison.worst is not None:
        at = inputs_at(case, inputs.args, comparison.worst.index, comparison.worst.leaf)
    result = CaseResult(case, comparison, devices=out.devices, inputs_at_worst=at, kwargs=inputs.kwargs)
    if comparison.ok:
        return result
    return _with_hint(result, hint_for(result, want_eff, out.value))


def _with_hint(result: CaseResult, hint: str) -> CaseResult:
    return dataclasses.replace(result, hint=hint)


def _apply_kink(case: Case, args: tuple[Any, ...], want: Any, got: Any, strict: bool) -> tuple[Any, Any]:
    """Replace the truth at kink elements by the valid value closest to `got` (or the
    convention when strict). Outputs of the wrong shape are left for compare to reject."""
    kink = case.entry.kink
    if kink is None or not isinstance(got, np.ndarray) or got.shape != np.shape(want):
        return None, want
    got64 = got.astype(np.float64) if got.dtype.kind in "fV" else np.zeros(np.shape(want))
    mask, at_kink = kink.expected_at(args, got64, strict)
    return mask, np.where(mask, at_kink, want)


def run_all(
    evaluator: Evaluator,
    cases: Sequence[Case],
    *,
    strict: bool = False,
    seed: int = DEFAULT_SEED,
    progress: Callable[[Iterable[Case]], Iterable[Case]] = lambda it: it,
) -> list[CaseResult]:
    """run_case for every case, in order; `progress` wraps the iteration (a progress bar)."""
    return [run_case(evaluator, c, strict=strict, seed=seed) for c in progress(cases)]
