"""Grade submissions: every check of every function, in sandboxed workers.

Every check belongs to a tier (reference/catalog.py, Entry.tiers). By default a function earns
its weight only when every check of its `derivation` and `stability` tiers passes on
every dtype, transform and input family (on the grading device); failures in the
`extreme` tier are reported ("not robust at ...") and cost nothing unless `--strict`.
A rubric with a [tiers] table gives each tier a share of the weight instead.
A function's checks run in an order shuffled by the seed, and the first check runs
again at the end, after the related functions ran: a different answer is stale state.
Inputs are drawn with a fresh random seed per run unless one is given, so a
submission cannot memorise them; the seed is reported so a run can be repeated.
"""

from __future__ import annotations

import dataclasses
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.cases import Case, build_cases, case_inputs
from handgrad.engine import CaseResult, EvaluationError, Evaluator, run_case
from handgrad.evaluate import Output, describe_exception, worker_devices
from handgrad.failures import FATAL
from handgrad.grading import compile_cache, sandbox, verdicts
from handgrad.grading.calls import contract_calls, shared_causes
from handgrad.grading.pool import Budget, Limits, SubmissionEvaluator, prestart_zygote, printable
from handgrad.grading.rubric import Rubric
from handgrad.grading.stubs import StubKind, find_stubs
from handgrad.grading.submission import SubmissionError, check_submission, resolve
from handgrad.hints import ALSO_AT_EXTREMES, related
from handgrad.scan import NOTEBOOK_EXPORT, Finding
from handgrad.scan_budget import scan_and_review_in_budget
from reference.catalog import CATALOG, NAMES, Entry
from reference.families import TIERS
from reference.keywords import call_keywords
from reference.names import KEYWORDS


@dataclass(frozen=True)
class Options:
    strict: bool = False
    allow_autodiff: bool = False
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    jobs: int = 1
    rubric: Rubric = field(default_factory=Rubric)
    functions: tuple[str, ...] = NAMES
    fail_fast: bool = False
    """Stop a function at its first failing check (quicker; the feedback then cannot
    say which transforms or dtypes the failures are confined to)."""
    insecure: bool = False
    """Grade one submission even where no sandbox is available (it runs with the
    grader's rights); several submissions always need one."""
    scan: bool = True
    """Run the static scan. Only tests turn it off, to show the sandbox holds alone."""
    cache: bool = True
    """Keep each submission's compiled programs for its next grade (compile_cache.runner_dir;
    in a full sandbox only, and not when HANDGRAD_CACHE_DIR=off)."""
    reuse: bool = False
    """Keep each verdict a worker made for the next grade, and report a kept one instead of
    checking a function whose code is unchanged since (verdicts.py; in a full sandbox only,
    with the cache on). The `handgrad` command turns it on unless --recheck or --no-cache."""


@dataclass(frozen=True)
class TierVerdict:
    """How one tier of checks went for one function (see reference/families.py, Tier)."""

    tier: str
    checks: int
    failed: int
    counted: bool
    """Whether a failure here costs marks (the rubric and --strict decide)."""
    families: tuple[str, ...] = ()
    """The input families that failed."""
    not_run: int = 0
    """Checks skipped after a fatal failure or --fail-fast: they earn nothing."""

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.not_run == 0

    def line(self) -> str:
        words = {
            "derivation": "Derivation (ordinary inputs)",
            "stability": "Stability (the extreme inputs the contract states)",
            "extreme": "Beyond the contract",
        }[self.tier]
        if self.passed:
            return f"{words}: passed all {self.checks} checks."
        where = f" ({', '.join(self.families)})" if self.families else ""
        skipped = f"; {self.not_run} not run" if self.not_run else ""
        if not self.counted:
            at = ", ".join(self.families) or "-"
            return f"{words}, not counted: not robust at {at} ({self.failed} of {self.checks} failed{skipped})."
        return f"{words}: FAILED {self.failed} of {self.checks} checks{where}{skipped}."


@dataclass(frozen=True)
class FunctionGrade:
    name: str
    score: float
    max_score: float
    checks: int
    failed: int
    """Failed checks in the tiers that count."""
    feedback: str
    visibility: str
    problem: str = ""
    """Why the first failing check failed (value, shape, timeout, autodiff, ...); "" if none."""
    tiers: tuple[TierVerdict, ...] = ()
    attempted: bool = True
    """False for a function not written yet: a stub (raises NotImplementedError, returns None)
    or missing. Reports list these apart from real mistakes, without a failing check each."""
    steady: bool = True
    """No check timed out, ran out of memory, crashed or broke the protocol: what the machine's
    load cannot have changed (only such a verdict is kept for the next grade, verdicts.py)."""
    kept: bool = False
    """Kept from an earlier grade of the same code instead of checked now (verdicts.py)."""

    @property
    def passed(self) -> bool:
        return self.failed == 0

    @property
    def warned(self) -> bool:
        """Some check that does not count failed: the feedback says where it is not robust."""
        return any(not t.passed and not t.counted for t in self.tiers)

    @property
    def clean(self) -> bool:
        """Every check ran and passed, counted or not, stale state included: the only grade a
        run in a reused worker may keep (grade_many)."""
        return self.failed == 0 and bool(self.tiers) and all(t.passed for t in self.tiers)


SHOWN = ("visible",)
"""Visibilities under which a function may be named, or its result counted, in what students
always see (the summary, Gradescope's top-level output, the text report). A function graded
`hidden`, `after_due_date` or `after_published` shows only in its own test, which Gradescope
holds back as its visibility says: a red team counted "wrong: 1 hidden function" and the
summary's score as a pass/fail oracle for the hidden function, resubmitting against it."""


@dataclass(frozen=True)
class SubmissionGrade:
    path: Path
    functions: tuple[FunctionGrade, ...]
    seconds: float
    seed: int
    sandbox: str
    problem: str = ""
    """Why no function could be graded (the submission did not import, was refused,
    ...), said once for the whole submission; "" when its functions were graded."""
    reason: str = ""
    """One word for marks.csv: ok, failed, syntax-error, empty, import-error, ..."""
    review: tuple[str, ...] = ()
    """Notes for the instructor, never shown to the student and never a refusal: code worth
    reading by hand (handgrad/scan_review.py: a class defining arithmetic, where dual numbers
    would live). In marks.csv and results.json's extra_data."""
    calls: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Which contract functions each one calls, read from the source (calls.contract_calls):
    a failing function that failing ones call is named as their likely shared cause."""

    @property
    def score(self) -> float:
        return sum(f.score for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_score for f in self.functions)

    @property
    def full_marks(self) -> bool:
        return all(f.passed for f in self.functions)

    @property
    def shown(self) -> tuple[FunctionGrade, ...]:
        """The functions students always see (SHOWN)."""
        return tuple(f for f in self.functions if f.visibility in SHOWN)

    def lost(self) -> str:
        """The functions students always see that lost marks: real mistakes first, then
        (apart) the functions not attempted yet. The others are neither named nor counted."""
        parts = []
        for attempted in (True, False):
            names = ", ".join(f.name for f in self.shown if not f.passed and f.attempted == attempted)
            if names:
                parts.append(f"wrong: {names}" if attempted else f"not attempted: {names}")
        return "; ".join(parts)

    def summary(self) -> str:
        """What students always see: the score and verdicts of the SHOWN functions only. The
        total over every function is `score` (marks.csv, each function's own test)."""
        lost = self.lost()
        shown = self.shown
        score, top = sum(f.score for f in shown), sum(f.max_score for f in shown)
        passed = f"{sum(f.passed for f in shown)} of {len(shown)} functions pass every check"
        lines = [f"handgrad: {score:g} / {top:g} for {printable(self.path.name, newlines=False)}"]
        apart = len(self.functions) - len(shown)
        if apart:
            lines.append(
                f"{apart} more function{'s are' if apart > 1 else ' is'} graded apart (hidden, or shown after the "
                "due date or once published): not counted here."
            )
        if self.problem:  # its first line is ours; any further line quotes the submission: indented
            lines.append(printable(self.problem).replace("\n", "\n  "))
        else:
            lines.append(passed + (f"; {lost}." if lost else "."))
            failing = [f.name for f in shown if not f.passed and f.attempted]
            lines += shared_causes({name: frozenset(called) for name, called in self.calls}, failing)
        kept = [f.name for f in shown if f.kept]
        if kept and not self.problem:
            which = f"{len(kept)} functions" if len(kept) > 1 else kept[0]
            lines.append(
                f"{which} kept {'their verdicts' if len(kept) > 1 else 'its verdict'} from an earlier grade: "
                "the code is unchanged since (--recheck checks everything again)."
            )
        lines.append(
            f"Inputs drawn with seed {self.seed} (repeat with --seed {self.seed}); "
            f"sandbox: {self.sandbox}; {self.seconds:.1f} s."
        )
        return "\n".join(lines)


def grading_device() -> str:
    """Submissions are graded on the CPU, on every machine.

    Workers run with JAX_PLATFORMS=cpu: a GPU backend in each of `--jobs` sandboxed
    workers would have to share one card (JAX preallocates 75% of its memory per process)
    under an address-space cap that CUDA's reservations exceed, and a derivation is as
    right or wrong on the CPU. The shipped formulas are checked on the GPU by
    `handgrad check` and the matrix."""
    return worker_devices()[0]


def _pattern(results: Sequence[CaseResult]) -> str:
    """Which transforms, dtypes or families the failures are confined to, in words: one
    condition where one separates failures from passes, else a pair (dtype and family, ...)."""
    failed = [r for r in results if not r.ok]
    passed = [r for r in results if r.ok]
    if not failed or not passed:
        return ""

    def value(r: CaseResult, attr: str) -> str:
        return r.case.family.name if attr == "family" else str(getattr(r.case, attr))

    def values(rs: Sequence[CaseResult], attr: str) -> set[str]:
        return {value(r, attr) for r in rs}

    bad_t, ok_t = values(failed, "transform"), values(passed, "transform")
    callback = any("vmap_method" in r.error for r in failed)  # the hint says it better
    if bad_t == {"vmap"} and "vmap" not in ok_t and not callback:
        return "Fails only under vmap (a batch of examples): the code handles one example only?"
    if bad_t == {"jit", "vmap"} and "eager" in ok_t and not ({"jit", "vmap"} & ok_t):
        return "Passes eagerly but fails under jit: Python control flow or NumPy on traced values?"
    bad_d, ok_d = values(failed, "dtype"), values(passed, "dtype")
    low = bad_d <= {"float16", "bfloat16"}
    if not bad_d & ok_d:
        why = ": low-precision overflow or a dtype-specific constant?" if low else "."
        return f"Fails only in {', '.join(sorted(bad_d))}{why}"
    bad_f, ok_f = values(failed, "family"), values(passed, "family")
    if not bad_f & ok_f:
        confined = f"Fails only on the input families {', '.join(sorted(bad_f))}; passes on {', '.join(sorted(ok_f))}."
        if all(r.case.family.by_position for r in failed) and any(r.kwargs for r in passed):
            entry = failed[0].case.entry
            keyword, position, _ = KEYWORDS[entry.name]
            confined += (
                f" Their checks pass {keyword} by position ({entry.called_with(failed[0].kwargs, True)}), the others "
                f"by name: {keyword} must be parameter {position + 1}, as in the contract's {entry.signature}."
            )
        return confined
    # Two conditions together: no passing case has both a failing dtype and a failing family.
    if not any(value(r, "dtype") in bad_d and value(r, "family") in bad_f for r in passed):
        why = ": a low-precision overflow, underflow or cancellation at those inputs?" if low else "."
        return f"Fails only in {', '.join(sorted(bad_d))} on the input families {', '.join(sorted(bad_f))}{why}"
    if not any(value(r, "transform") in bad_t and value(r, "dtype") in bad_d for r in passed):
        return f"Fails only under {', '.join(sorted(bad_t))} in {', '.join(sorted(bad_d))}."
    return ""


class _Recorder:
    """Passes calls to the evaluator and keeps each case's output, to compare answers."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.last: Output | None = None

    def __call__(self, name: str, **call: Any) -> Output:
        self.last = None
        out = self.evaluator(name, **call)
        self.last = out
        return out


def _related(entry: Entry) -> list[Entry]:
    """The functions that share state most plausibly with `entry`: its value/derivative
    family (sigmoid and sigmoid_grad; softmax, its Jacobian and VJP; the network's three)."""

    def group(e: Entry) -> str:
        return "network" if e.layout == "network" else (e.of or e.name)

    return [e for e in CATALOG if e is not entry and group(e) == group(entry)]


SIBLINGS = {e.name: tuple(r.name for r in _related(e)) for e in CATALOG}
"""The functions called in each function's worker before its first check is repeated."""


def _call_related(evaluator: Evaluator, entry: Entry, dtype: str, device: str, seed: int) -> None:
    """Call the related functions on their own inputs, as a program would between two calls."""
    for other in _related(entry):
        found = build_cases([other], dtypes=[dtype], transforms=["eager"], devices=[device])
        if not found:
            continue
        inputs = case_inputs(found[-1], seed + 1)
        try:
            evaluator(
                other.name,
                transform="eager",
                device=device,
                args=inputs.args,
                kwargs=call_keywords(other.name, inputs.kwargs, found[-1].family.by_position),
                vmap_axes=other.vmap_axes,
            )
        except Exception:  # a missing or broken sibling is graded on its own
            pass


STALE_HINT = (
    "state kept between calls: the same input gave a different answer the second time, or an "
    "earlier call's answer came back (a global cache, a module-level variable, a value another "
    "function left behind); every function must depend only on its arguments"
)
NOT_IMPLEMENTED = "NotImplementedError"
TRACED_HINT = (
    "it answers differently when traced than on concrete arrays: a check called on concrete "
    "arrays, and the same inputs traced (as under jax.jit, and as most checks run), got "
    "different verdicts. Python that looks at values (an `if` on an array, float(), .item(), "
    "a try/except around a conversion, isinstance on arrays) changes what it computes; write the "
    "formula with jnp operations alone"
)

TRACED_X64_HINT = (
    "it answers differently when traced than on concrete arrays: a check called on concrete "
    "arrays with float64 off (JAX's default, as a user who never turns on jax_enable_x64 calls it), "
    "and the same inputs traced with float64 on (as under jax.jit once a user turns it on), got "
    "different verdicts. Code that reads JAX's settings (jnp.zeros(()).dtype), computes in "
    "jnp.float64 (float32 while float64 is off) or looks at values in Python (an `if` on an array, "
    "float(), .item()) changes what it computes; write the formula in the input's dtype with jnp "
    "operations alone"
)


def _traced_hint(case: Case) -> str:
    """TRACED_HINT, or TRACED_X64_HINT where the live call ran with float64 off (a narrower
    dtype's eager check: evaluate.without_float64)."""
    return TRACED_X64_HINT if case.dtype != "float64" else TRACED_HINT


def _not_implemented(result: CaseResult) -> bool:
    """The function itself raises NotImplementedError (a stub), even when called eagerly;
    JAX raising it under a transform (pure_callback under vmap) is a failure like another."""
    return result.case.transform == "eager" and result.error.startswith(NOT_IMPLEMENTED)


def _returned_none(result: CaseResult) -> bool:
    return result.error_kind == "bad-return" and result.error.startswith("returned None")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
        )
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and a.dtype == b.dtype
        and bool(np.array_equal(a, b, equal_nan=True))
    )


def _agrees(first: Output | None, again: Output | None, case: Case) -> bool:
    """The same structure, shapes and dtypes, and values within 4 units in the last place: the
    same code on the same inputs, eagerly, gives the same bits unless something changed."""
    if first is None or again is None:
        return first is again
    a, b = first.value, again.value
    if isinstance(a, dict) != isinstance(b, dict) or (isinstance(a, dict) and a.keys() != b.keys()):
        return False
    pairs = [(a[k], b[k]) for k in a] if isinstance(a, dict) else [(a, b)]
    ulps = 4 * case.entry.tolerance[case.dtype].eps
    for x, y in pairs:
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = (x64 == y64) | (np.abs(x64 - y64) <= ulps * np.abs(x64)) | (np.isnan(x64) & np.isnan(y64))
        if not close.all():
            return False
    return True


def _stale(case: Case, why: str) -> CaseResult:
    return CaseResult(case, error_kind="stale-state", error=why, hint=STALE_HINT)


def _earlier_answer(result: CaseResult, out: Output | None, seen: list[tuple[Case, Output]], seed: int) -> bool:
    """A wrong answer that is exactly a right answer the function gave before, for other inputs
    (an answer of one or two distinct values proves nothing: masks and signs repeat)."""
    if out is None or result.error_kind or result.comparison is None or result.comparison.problem != "value":
        return False
    leaves = list(out.value.values()) if isinstance(out.value, dict) else [out.value]
    if len(np.unique(np.concatenate([np.ravel(leaf).astype(np.float64) for leaf in leaves]))) < 3:
        return False  # all zeros, or a mask of 0/1 or a sign: equal by coincidence, not by state
    args = case_inputs(result.case, seed).args
    return any(_same(o.value, out.value) and not _same_args(case_inputs(c, seed).args, args) for c, o in seen)


def _same_args(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _order(cases: list[Case], entry: Entry, seed: int) -> list[Case]:
    """The cases in an order drawn from the seed, so state carried from one call to the next
    cannot hide behind a fixed order (eager before jit, float32 before float16). An eager case
    goes first: it is the one repeated at the end, and a repeated jitted call would replay the
    program compiled the first time, state and all. One of ordinary inputs (the derivation
    tier) where there is one: the first check is also asked on inputs drawn anew
    (_fresh_draw), and a family of fixed inputs (the activations' tails and extreme)
    draws the same values again, only moved; and a function wrong on concrete arrays for
    some values only should meet ordinary ones in its first call too (_concrete_checks)."""
    rng = random.Random(f"{seed}/{entry.name}")
    order = list(cases)
    rng.shuffle(order)
    eager = [i for i, c in enumerate(order) if c.transform == "eager"]
    ordinary = [i for i in eager if order[i].family.tier == "derivation"]
    if eager:
        order.insert(0, order.pop((ordinary or eager)[0]))
    return order


def _counted(options: Options) -> dict[str, float]:
    """Each tier's share of a function's marks; 0 for a tier that is only reported."""
    if options.rubric.tiers is not None:
        return dict(options.rubric.tiers)
    return {"derivation": 1.0, "stability": 1.0, "extreme": 1.0 if options.strict else 0.0}


def grade_function(
    evaluator: Evaluator, entry: Entry, options: Options, seed: int, device: str, *, until_failure: bool = False
) -> FunctionGrade:
    """Run every check of `entry` in a seeded shuffled order, then the first one again after
    the related functions ran (its answer must not change), and score it by tier. An
    evaluator with `prepare` (a sandboxed submission's) runs every check but the first ahead,
    as programs in the runner, once the first has been asked; the first, an eager one where
    there is one, is a real eager call in the submission's process (the function's first
    call there), as are its repeat and the same check on inputs drawn anew (_fresh_draw).
    `until_failure`: stop at the first failing check of any tier, counted or not (a run in a
    reused worker, kept only when clean: the rest would be discarded anyway)."""
    in_catalog_order = build_cases([entry], devices=[device])
    cases = _order(in_catalog_order, entry, seed)
    shares = _counted(options)
    prepare = getattr(evaluator, "prepare", None)
    recorder = _Recorder(evaluator)
    results: list[CaseResult] = []
    outputs: list[tuple[Case, Output]] = []
    first_out: Output | None = None
    stopped = fatal = abandoned = False
    for case in cases:
        result = run_case(recorder, case, strict=options.strict, seed=seed)
        out = recorder.last if not result.error_kind else None
        if case is cases[0]:
            first_out = out
        if _earlier_answer(result, out, outputs, seed):
            result = dataclasses.replace(result, hint=STALE_HINT)
        if out is not None and result.ok:
            outputs.append((case, out))
        results.append(result)
        fatal = (
            result.error_kind in FATAL
            or _not_implemented(result)
            or (_returned_none(result) and case.transform == "eager")
        )
        if fatal or (options.fail_fast and not result.ok and shares.get(case.family.tier, 0) > 0):
            stopped = True
            break
        if until_failure and not result.ok:
            stopped = abandoned = True  # (nor the stale-state check: this grade is not kept)
            break
        if case is cases[0] and prepare is not None:
            # Every other check runs ahead, as two programs compiled once in the runner. They are
            # traced only now: the first check is the function's first call in its process, so
            # a function that goes wrong on concrete arrays until it has been traced, or that
            # keeps a concrete answer and hands it to a later trace, shows it (a function that
            # fails or raises at once is never traced at all).
            live = [_call(cases[0], seed), _call(cases[0], seed + 1)]
            prepare(entry.name, [_call(c, seed) for c in cases[1:]], live=live)
    if prepare is not None and not fatal and not abandoned and not (stopped and options.fail_fast):
        results += _concrete_checks(recorder, cases, results, outputs, options, seed)
    if results and results[0].case is cases[0] and not results[0].error_kind:
        results = _explain_tracing(evaluator, results, options, seed)
    if not fatal and not abandoned and cases and cases[0].transform == "eager":
        first = cases[0]
        _call_related(evaluator, entry, first.dtype, device, seed)
        again = run_case(recorder, first, strict=options.strict, seed=seed)
        repeated = recorder.last if not again.error_kind else None
        first_ok = next(r for r in results if r.case is first).ok
        fresh = _fresh_draw(evaluator, recorder, first, options, seed) if first_ok and again.ok else None
        unfinished = next((r for r in (again, fresh) if r is not None and r.error_kind in UNSTEADY), None)
        if unfinished is not None:
            # The repeat or the fresh draw did not finish (time, memory, the submission's budget a
            # sibling spent, a crash): that is what happened, not state kept between calls.
            results.append(unfinished)
        elif not _agrees(first_out, repeated, first):
            results.append(_stale(first, "the first check, repeated at the end, gave a different answer"))
        elif not again.ok and first_ok:
            results.append(_stale(first, "the first check, repeated at the end, failed where it had passed"))
        elif fresh is not None and not fresh.ok:
            results.append(
                _stale(first, "the first check's inputs drawn anew (same shape and dtype) got a wrong answer on "
                       "concrete arrays, where the first call was right and the same inputs traced are right")
            )  # fmt: skip
    return _score(entry, options, in_catalog_order, results, shares, stopped)


def _concrete_checks(
    recorder: _Recorder,
    cases: list[Case],
    results: list[CaseResult],
    outputs: list[tuple[Case, Output]],
    options: Options,
    seed: int,
) -> list[CaseResult]:
    """Eager checks asked again live on concrete arrays after their program's answer passed:
    failures where live and traced disagree, with TRACED_HINT. The program answers every
    eager check but the first, so a function wrong on concrete arrays of one dtype only, or
    right only for the first shape and dtype it was called with, passed unless the seed put
    that dtype first.

    One check of each dtype and each tier that costs marks (ordinary inputs, and the extreme
    ones the contract states), the first in the seeded order with more than one element
    where there is one; not the first check's dtype and tier where that was as telling. A
    function wrong on concrete arrays for some values only shows it where those values are
    asked: x > -1 for x > 0 on ordinary inputs of both signs around 1, a branch on |x| > 5 on
    large ones. One check per dtype, the first that came, let the first kind keep its marks
    in 3 seeds of 30 (its check fell on +-9 ... +-1e4, or on a single number), and would let
    the second keep them whenever it fell on ordinary inputs. A live answer that is exactly
    one the function gave before for other inputs (`outputs`, the passing answers so far, and
    the live answers here) is told as state kept between calls (STALE_HINT), not as tracing.

    And one check of every input shape none of those had: the picks prefer inputs of more
    than one number and shapes already compiled, so an activation's 0-d cells were never
    asked live, and a function wrong on concrete arrays of one shape (a 0-d one, or any but
    the shape of its first concrete call) kept its marks in most seeds (a red team, 2026-12-07)."""
    passed = {id(r.case) for r in results if r.ok}
    shares = _counted(options)
    eligible = [
        c for c in cases[1:] if c.transform == "eager" and id(c) in passed and shares.get(c.family.tier, 0) > 0
    ]  # (in the seeded order)
    groups: dict[tuple[str, str], list[Case]] = {}  # (dtype, tier) -> its candidates
    for case in eligible:
        groups.setdefault((case.dtype, case.family.tier), []).append(case)
    asked = {cases[0].dtype: _shapes(cases[0], seed)}
    picked: dict[tuple[str, str], Case] = {}
    for tier in TIERS:  # (a dtype's ordinary inputs are picked before its extreme ones, for their shapes)
        for (dtype, of), group in groups.items():
            if of == tier:  # (max: the first of the best)
                picked[dtype, of] = max(group, key=lambda c: _live_rank(c, seed, asked))
                asked.setdefault(dtype, _shapes(picked[dtype, of], seed))
    first_key = (cases[0].dtype, cases[0].family.tier)
    if first_key in picked and _live_rank(picked[first_key], seed, {}) <= _live_rank(cases[0], seed, {}):
        del picked[first_key]  # (the first check was asked live, on inputs as telling)
    chosen = list(picked.values())
    covered = {_shapes(cases[0], seed)} | {_shapes(c, seed) for c in chosen}
    for case in eligible:  # every input shape asked live once: the first of it in the seeded order
        if (shapes := _shapes(case, seed)) not in covered:
            covered.add(shapes)
            chosen.append(case)
    found = []
    seen = list(outputs)
    for case in chosen:
        live = run_case(recorder, case, strict=options.strict, seed=seed)  # (its program's answer was taken)
        out = recorder.last if not live.error_kind else None
        if live.ok and out is not None:
            seen.append((case, out))
        elif not live.ok:  # (a failure of its own kind, a dict changed in place, keeps its own hint)
            hint = STALE_HINT if _earlier_answer(live, out, seen, seed) else _traced_hint(case)
            found.append(live if live.error_kind else dataclasses.replace(live, hint=hint))
    return found


def _shapes(case: Case, seed: int) -> tuple[tuple[int, ...], ...]:
    """The shapes of a check's input arrays (the network's parameters included)."""
    import jax

    return tuple(np.shape(a) for a in jax.tree.leaves(case_inputs(case, seed).args))


def _live_rank(case: Case, seed: int, asked: dict[str, tuple[tuple[int, ...], ...]]) -> tuple[bool, bool]:
    """How well a check serves as a live one: inputs of more than one number first (a single
    one rarely shows a function that is wrong on concrete arrays for some values only), then
    the shapes a live call of its dtype already had (the worker's eager operations for them
    are compiled: a second live call of a dtype costs a few ms, not a compile per operation)."""
    shapes = _shapes(case, seed)
    return sum(int(np.prod(s)) for s in shapes) > 1, asked.get(case.dtype) == shapes


def _fresh_draw(
    evaluator: Evaluator, recorder: _Recorder, first: Case, options: Options, seed: int
) -> CaseResult | None:
    """The first check asked live again on inputs drawn anew (seed + 1: the same family,
    shape and dtype), where the same inputs traced (its slot in the function's program,
    SubmissionEvaluator.traced) pass; None otherwise. Most eager values come from a program,
    traced once, and the first check's repeat asks the same inputs again. So a function that
    keeps its concrete answers (a memo by shape, a cache) and computes only when traced would
    pass every check: the repeat gives the same inputs, and the memo the same answer; the
    fresh draw's failure shows it. Without a program to compare with (an in-process
    evaluator), nothing is claimed."""
    shadow = _traced_verdict(evaluator, first, options, seed + 1)
    if shadow is None or not shadow.ok:
        return None
    return run_case(recorder, first, strict=options.strict, seed=seed + 1)


def _traced_verdict(evaluator: Evaluator, case: Case, options: Options, seed: int) -> CaseResult | None:
    """`case` under `seed` judged on its traced twin (a live call's slot in the function's
    program, SubmissionEvaluator.traced); None without one (an in-process evaluator)."""
    traced = getattr(evaluator, "traced", None)
    shadow = traced(case.entry.name, _call(case, seed)) if traced is not None else None
    if shadow is None:
        return None
    return run_case(lambda name, **call: shadow, case, strict=options.strict, seed=seed)


def _explain_tracing(evaluator: Evaluator, results: list[CaseResult], options: Options, seed: int) -> list[CaseResult]:
    """`results` with TRACED_HINT on every failed one where the first check, called live on
    concrete arrays, and the same inputs traced (its slot in the function's program,
    SubmissionEvaluator.traced) get different verdicts: a function that looks at values in
    Python, which no formula needs, rather than a wrong formula."""
    first = results[0]
    if all(r.ok for r in results):
        return results
    again = _traced_verdict(evaluator, first.case, options, seed)
    if again is None or again.ok == first.ok:
        return results
    hint = _traced_hint(first.case)
    # With float64 off live and on traced, a dtype that differs is told by its own hint
    # (jnp.eye(n) without dtype= is float32 with float64 off, float64 with it on).
    own = {"dtype"} if hint == TRACED_X64_HINT else set()
    return [r if r.ok or r.error_kind or r.problem in own else dataclasses.replace(r, hint=hint) for r in results]


def _call(case: Case, seed: int) -> dict[str, Any]:
    """The evaluator's keywords for `case`, as run_case calls it."""
    inputs = case_inputs(case, seed)
    return {
        "transform": case.transform,
        "device": case.device,
        "args": inputs.args,
        "kwargs": call_keywords(case.entry.name, inputs.kwargs, case.family.by_position),
        "vmap_axes": case.entry.vmap_axes,
    }


def stub_grade(entry: Entry, options: Options, seed: int, device: str, kind: StubKind) -> FunctionGrade:
    """The grade of a function whose source is a stub (handgrad/grading/stubs.py): what its
    first check would have said, without starting a worker to run it."""
    from handgrad.hints import hint_for

    in_catalog_order = build_cases([entry], devices=[device])
    first = _order(in_catalog_order, entry, seed)[0]
    if kind == "raises":
        why = f"{NOT_IMPLEMENTED}: its body only raises NotImplementedError (read from the source, not run)"
        result = CaseResult(first, error_kind="exception", error=why, seed=seed)
    else:
        why = "returned None: its body does nothing (pass, ...)"
        result = CaseResult(first, error_kind="bad-return", error=why, seed=seed)
        result = dataclasses.replace(result, hint=hint_for(result, None, None))
    return _score(entry, options, in_catalog_order, [result], _counted(options), stopped=True)


def _score(
    entry: Entry,
    options: Options,
    cases: list[Case],
    results: list[CaseResult],
    shares: dict[str, float],
    stopped: bool,
) -> FunctionGrade:
    weight = options.rubric.weights[entry.name]
    visibility = options.rubric.visibility[entry.name]
    ran = {id(r.case) for r in results}
    rank = {id(c): i for i, c in enumerate(cases)}
    verdicts = []
    for tier in TIERS:
        in_tier = [c for c in cases if c.family.tier == tier]
        if not in_tier:
            continue
        bad = [r for r in results if not r.ok and r.case.family.tier == tier]
        skipped = [c for c in in_tier if id(c) not in ran] if stopped else []
        families = tuple(sorted({r.case.family.name for r in bad}))
        verdicts.append(TierVerdict(tier, len(in_tier), len(bad), shares.get(tier, 0) > 0, families, len(skipped)))
    total = sum(shares.get(v.tier, 0.0) for v in verdicts)
    earned = sum(shares.get(v.tier, 0.0) for v in verdicts if v.passed)
    if options.rubric.partial:  # each tier: its share times the fraction of its checks passed
        earned = sum(shares.get(v.tier, 0.0) * max(0, v.checks - v.failed - v.not_run) / v.checks for v in verdicts)
        score = weight * earned / total if total > 0 else 0.0  # (nothing counted: nothing earned)
    elif options.rubric.tiers is None:
        score = weight if all(v.passed for v in verdicts if v.counted) else 0.0
    else:
        score = weight * earned / total if total > 0 else 0.0  # (nothing counted: nothing earned)
    counted_failed = sum(v.failed + v.not_run for v in verdicts if v.counted)
    tier_lines = [v.line() for v in verdicts]
    results = related(results)  # a batch's or an extreme input's hint where the plain check fails alike: one cause
    failed = sorted(
        (r for r in results if not r.ok),
        key=lambda r: (
            # The cause, when found, before its symptoms: state kept between calls, or a value
            # that is not a jax array (a Python number comes back from jit as a float64 array,
            # so its dtype and shape failures there are what it looks like).
            r.error_kind not in ("stale-state", "bad-return"),
            not shares.get(r.case.family.tier, 0),
            TIERS.index(r.case.family.tier),
            rank.get(id(r.case), 0),
        ),
    )
    if not failed:
        names = sorted({c.family.name for c in cases})
        dtypes = sorted({c.dtype for c in cases})
        feedback = "\n".join(
            [
                f"All {len(cases)} checks passed: dtypes {', '.join(dtypes)}; eager, jit and vmap; "
                f"inputs {', '.join(names)}.",
                *tier_lines,
            ]
        )
        return FunctionGrade(entry.name, weight, weight, len(cases), 0, feedback, visibility, "", tuple(verdicts))
    steady = not any(r.error_kind in UNSTEADY or any(t in (r.error or "") for t in UNSTEADY_ERRORS) for r in results)
    first = failed[0]
    if _not_implemented(first):
        head = "Not implemented yet: it raises NotImplementedError."
    elif first.error_kind in FATAL or _returned_none(first):
        head = f"Failed: {first.error or first.problem}."
    elif options.fail_fast:
        head = "Failed (stopped at the first failing check)."
    elif counted_failed == 0:
        head = f"Full marks; {len(failed)} of {len(cases)} checks beyond the contract failed (reported only)."
    else:  # the checks that failed, and apart from them those a failure left unrun: they earn nothing either
        failed_here = sum(v.failed for v in verdicts if v.counted)
        not_run = sum(v.not_run for v in verdicts if v.counted)
        head = f"Failed {failed_here} of {len(cases)} checks{f'; {not_run} not run' if not_run else ''}."
    fatal = first.error_kind in FATAL or _not_implemented(first)
    # Where the function stopped at its first failure, the checks it never ran say nothing of
    # where failures are confined: "Fails only under vmap" from one failure and the passes
    # before it misled a red team's student (the same formula failed eager and jit too).
    pattern = _pattern(results) if not fatal and not (options.fail_fast and stopped) else ""
    if first.error_kind in FATAL:  # a whole-function failure: per-tier counts would only say where it stopped
        not_run = sum(v.not_run for v in verdicts)
        tier_lines = [f"This failure is the whole function's: {not_run} of its {len(cases)} checks were not run."]
    parts = [head, *tier_lines] + ([pattern] if pattern else [])
    label = "First failing check:" if counted_failed else "First check beyond the contract that failed:"
    if _not_implemented(first):
        parts = [head]
    else:
        causes = _causes(failed)
        parts += [label, first.message()]
        if first.error_kind == "bad-return" and len(causes) > 1:  # the others are its symptoms: said once
            n = len(failed) - 1
            others = "the other failing check may" if n == 1 else f"the other {n} failing checks may all"
            parts.append(f"(Fix this first: {others} follow from it.)")
            causes = causes[:1]
        elif len(causes) == 1 and len(failed) > 1:
            beyond = sum(1 for r in failed if not shares.get(r.case.family.tier, 0))
            also = f", the {beyond} beyond the contract too," if beyond and counted_failed else ""
            parts.append(f"(All {len(failed)} failing checks{also} show this same problem and likely mistake.)")
        for result, alike in causes[1:MAX_CAUSES]:
            parts += [f"Another cause ({_checks_at(alike)}):", result.message()]
        if len(causes) > MAX_CAUSES:
            parts.append(f"... and {len(causes) - MAX_CAUSES} more distinct causes.")
    problem = first.problem if counted_failed else ""
    unattempted = _not_implemented(first) or first.error_kind == "missing" or _returned_none(first)
    return FunctionGrade(
        entry.name, score, weight, len(cases), counted_failed, "\n".join(parts), visibility, problem,
        tuple(verdicts), attempted=not (unattempted and counted_failed), steady=steady,
    )  # fmt: skip


UNSTEADY_ERRORS = ("RecursionError", "maximum recursion depth")
"""An exception that says the stack ran out: how deep a call may go depends on what the
worker ran before (JAX's trace caches make a traced call shallower), so never kept either."""

UNSTEADY = frozenset({"timeout", "memory", "crash", "protocol", "import"})
"""Failure kinds the machine's load or the grader's own faults can cause, and the whole
submission's failure to import: a verdict with one is never kept for the next grade."""


SHAPE_NUMBERS = re.compile(
    r"in \d+ of \d+ elements|n = (1/)?\d+|factor of -?\d+\.\d+(e[-+]?\d+)?|factor of (1/)?\d+, (one over )?the "
    r"number of rows|\((\d+, )*\d+,?\)|\b(b?float(16|32|64))\b|[\d.]+(e-?\d+)? off \(relative\)"
)
"""What a hint says of one check's shape, dtype or draw, left out when checks are grouped by
cause: elements ("nonzero in 1 of 5 elements"), the length n of a mean ("1/n = 1/5"), the
number of rows, a shape ("(5, 5)"), a dtype ("float32 rounding"), an unnamed factor
("0.1429": 1/7 at one batch size, 1/3 at another) and how far off ("0.00025 off"). The same
mistake at another shape or dtype is the same cause; named factors (2, 1/2, n) stay apart."""

MAX_CAUSES = 3
"""Distinct causes a function's feedback shows, each by its first failing check."""


def _causes(failed: Sequence[CaseResult]) -> list[tuple[CaseResult, list[CaseResult]]]:
    """The failed checks grouped by cause (what went wrong and the likely mistake), each group
    with its first check, in the order of `failed`: one message per cause, not one per cell."""
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for result in failed:
        key = (result.problem, SHAPE_NUMBERS.sub("#", result.hint))
        if result.hint == ALSO_AT_EXTREMES:  # (its words: most likely the same mistake as at ordinary inputs)
            key = next((k for k in groups if k[0] == result.problem and k[1] != ALSO_AT_EXTREMES), key)
        groups.setdefault(key, []).append(result)
    return [(alike[0], alike) for alike in groups.values()]


def _checks_at(alike: Sequence[CaseResult]) -> str:
    families = sorted({r.case.family.name for r in alike})
    return f"{len(alike)} check{'s' * (len(alike) > 1)}, inputs {', '.join(families)}"


def _scan(path: Path) -> tuple[dict[str, list[Finding]], list[str]]:
    # In a child process under a budget, not as root (handgrad/scan_budget.py).
    return scan_and_review_in_budget(path, NAMES)


def _reason(functions: Sequence[FunctionGrade], problem_kind: str) -> str:
    if any(f.problem == "protocol" for f in functions) and problem_kind in ("", "budget"):
        return "protocol"
    if all(f.passed for f in functions) and problem_kind in ("", "budget"):
        return "ok"
    if not problem_kind and not any(f.passed or f.attempted for f in functions):
        return "not-attempted"  # every function a stub, missing or returning None: the template as handed out
    return problem_kind or "failed"


def _unreadable(findings: dict[str, list[Finding]]) -> EvaluationError | None:
    """The submission-wide verdict when the allowlist could not read a file: Python cannot
    import it either (a syntax or encoding error), or it is too deeply nested to check.
    Said once at the top; no worker is started for it."""
    said = sorted({str(f) for found in findings.values() for f in found if f.kind == "unreadable"})
    if not said:
        return None
    syntax = any("cannot be read as Python" in s and "too deeply" not in s for s in said)
    return EvaluationError("import", ("SyntaxError: " if syntax else "") + "; ".join(said[:3]))


def _import_problem(budget: Budget, path: Path) -> tuple[str, str]:
    """(message, reason) when the submission as a whole could not be graded."""
    error = budget.import_error
    if error is None:
        if budget.autodiff_at_import:
            message = "Automatic differentiation ran while the submission was imported: every function fails."
            return message, "autodiff-at-import"
        if budget.defined == []:
            if _is_empty(path):
                return "The submission is empty: it defines no function.", "empty"
            return f"The submission defines none of the contract's functions ({_near_names(budget)}).", "no-functions"
        return "", ""
    message = error.message
    if _is_empty(path):
        reason = "empty"
    elif error.kind == "import" and ("SyntaxError" in message or "IndentationError" in message):
        reason = "syntax-error"
    elif error.kind == "timeout":
        reason = "import-timeout"
    elif error.kind == "protocol":
        reason = "protocol"
    elif error.kind == "crash":
        reason = "import-crash"
    else:
        reason = "import-error"
    if "get_ipython" in message:
        message += f" ({NOTEBOOK_EXPORT})"
    return f"The submission could not be imported, so no function was graded: {message}", reason


def _near_names(budget: Budget) -> str:
    """'check their names', with the submission's names that look like contract ones."""
    import difflib

    pairs = [(o, n) for o in budget.others for n in difflib.get_close_matches(o, NAMES, n=1, cutoff=0.75)]
    if not pairs:
        return "check their names"
    return "check their names: " + ", ".join(f"{o} for {n}?" for o, n in pairs[:3])


def _is_empty(path: Path) -> bool:
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    try:
        return all(not f.read_text(errors="replace").strip() for f in files)
    except OSError:
        return False


def _protocol_failure(entry: Entry, options: Options, exc: Exception) -> FunctionGrade:
    """A function whose grading raised an exception other than the evaluation errors every
    known failure becomes: it fails that function (reason `protocol`: no marks for what was
    not judged), and every other function and submission goes on. The grader cannot tell a
    worker's message it did not foresee from a bug of its own, so the feedback says both and
    where it was raised (no hostile submission of the corpora reaches this; only the test
    that raises here on purpose does)."""
    why = printable(describe_exception(exc, limit=300))
    return _zero(
        entry, options,
        f"Failed: grading this function raised an error the grader did not foresee ({why}): a message "
        "from the worker it cannot use, or a bug in handgrad (report it with this line).",
        "protocol",
    )  # fmt: skip


def _not_graded(entry: Entry, options: Options, why: str) -> FunctionGrade:
    return _zero(entry, options, f"Not graded: {why}", "import")


def _zero(entry: Entry, options: Options, feedback: str, problem: str) -> FunctionGrade:
    """No marks for `entry`, every one of its checks counted as failed."""
    cases = len(build_cases([entry], devices=[grading_device()]))
    weight, visibility = options.rubric.weights[entry.name], options.rubric.visibility[entry.name]
    return FunctionGrade(entry.name, 0.0, weight, cases, cases, feedback, visibility, problem)


def grade_many(
    paths: Sequence[Path],
    options: Options,
    on_done: Callable[[Path, SubmissionGrade], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[SubmissionGrade]:
    """Grade each submission with `options.jobs` workers in parallel.

    Work is handed out function by function. A worker serves one submission only (its
    state must not leak into another's); within a submission, a worker whose function
    passed every check grades the next one (in_worker), and a failure seen in such a
    reused worker counts only once a fresh worker gives it too, so no function fails by
    state another left. The workers of a submission share its copy, its time budget and
    its import verdict (a submission that does not import is reported once, not retried).
    Raises sandbox.SandboxError before anything runs where no safe sandbox exists, and
    RuntimeError where float64 is off (handgrad.configure_for_checking(), which the
    `handgrad` command calls, turns it on): every reference is computed in float64.
    """
    import jax

    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError(
            "grading needs float64 for its references: call handgrad.configure_for_checking() "
            "before grade() or grade_many() (the handgrad command does)"
        )
    box = sandbox.require(options.insecure, bulk=len(paths) > 1)
    prestart_zygote(box)
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    device = grading_device()
    entries = [e for e in CATALOG if e.name in options.functions]
    limits = dataclasses.replace(options.limits, jobs=max(1, options.jobs))
    resolved: list[Path] = []
    refused: list[str] = []
    for p in paths:
        try:
            r = resolve(p)
        except SubmissionError as exc:  # an upload with nothing to grade: that student's 0
            resolved.append(Path(p))
            refused.append(f"The submission was refused: {exc}")
            continue
        resolved.append(r)
        try:
            check_submission(r)
        except SubmissionError as exc:
            refused.append(f"The submission was refused: {exc}")
        else:
            refused.append("")
    caches = [
        compile_cache.runner_dir(r, box.mode == "namespaces")
        if options.cache and box.mode in sandbox.FULL and not refused[i]
        else None
        for i, r in enumerate(resolved)
    ]
    budgets = [
        Budget(r, limits, cache=c, allow_autodiff=options.allow_autodiff) for r, c in zip(resolved, caches, strict=True)
    ]
    try:
        findings: list[dict[str, list[Finding]]] = []
        reviews: list[tuple[str, ...]] = []
        for i, budget in enumerate(budgets):
            # The scan reads the very copy the workers will run (made now, read-only to them): a
            # file swapped at the upload path after the scan is never what runs.
            found: dict[str, list[Finding]] = {}
            notes: list[str] = []
            if not refused[i]:
                try:
                    staged = budget.staged()
                except SubmissionError as exc:
                    refused[i] = f"The submission was refused: {exc}"
                else:
                    found, notes = _scan(staged) if options.scan else ({}, [])
            findings.append(found)
            reviews.append(tuple(notes))
        for budget, found in zip(budgets, findings, strict=True):
            budget.import_error = _unreadable(found)
        calls = [
            ()
            if refused[i] or budgets[i].import_error is not None
            else tuple(sorted((k, tuple(sorted(v))) for k, v in contract_calls(budgets[i].staged(), NAMES).items()))
            for i in range(len(paths))
        ]
        # Stubs are read from the staged copy and graded without a worker; a function the scan
        # refused keeps the scan's verdict.
        stubs: list[dict[str, StubKind]] = [
            {}
            if refused[i] or budgets[i].import_error is not None
            else {
                name: kind
                for name, kind in find_stubs(budgets[i].staged(), [e.name for e in entries]).items()
                if not findings[i].get(name)
            }
            for i in range(len(paths))
        ]
        # Functions whose code is unchanged since a grade that checked them keep its verdict
        # (verdicts.py); the scan's and the stubs' verdicts are always made anew.
        store = verdicts.Store.open() if options.reuse and options.cache and box.mode in sandbox.FULL else None
        engine = {e.name: verdicts.engine_key(options, e.name, device, box.mode) for e in entries} if store else {}
        keys: list[dict[str, verdicts.Key]] = [
            {}
            if store is None or refused[i] or budgets[i].import_error is not None
            else verdicts.function_keys(budgets[i].staged(), NAMES, engine, SIBLINGS)
            for i in range(len(paths))
        ]
        kept: list[dict[str, FunctionGrade]] = [{} for _ in paths]
        if store is not None:
            for i, found_keys in enumerate(keys):
                for name, key in found_keys.items():
                    if name not in stubs[i] and not findings[i].get(name) and (grade := store.get(key)) is not None:
                        kept[i][name] = grade
        # Each submission's visible functions first, the held-back ones after them, in workers of
        # their own (SubmissionEvaluator.group): a visible function cannot see whether a held-back
        # one passed from the worker it lands in, nor (with --jobs 1) from its run's timing.
        shown_first = sorted(entries, key=lambda e: options.rubric.visibility[e.name] not in SHOWN)
        tasks = [(i, e) for i in range(len(paths)) for e in shown_first]
        # Each submission's functions still to begin in a worker, by visibility: an idle worker
        # waits only for these.
        unstarted = [
            Counter(
                options.rubric.visibility[e.name]
                for e in entries
                if not refused[i] and e.name not in stubs[i] and e.name not in kept[i]
            )
            for i in range(len(paths))
        ]
        grades: list[dict[str, FunctionGrade]] = [{} for _ in paths]
        started = [0.0] * len(paths)
        finished: list[SubmissionGrade | None] = [None] * len(paths)
        protocol = [False] * len(paths)
        lock = threading.Lock()

        def finish(i: int) -> SubmissionGrade:
            problem, reason = (refused[i], "refused") if refused[i] else _import_problem(budgets[i], resolved[i])
            functions = tuple(grades[i][e.name] for e in entries)
            if refused[i] or budgets[i].import_error is not None:  # said once at the top, not in every function
                functions = tuple(
                    f
                    if f.passed and not f.kept
                    else _not_graded(BY_ENTRY[f.name], options, "see the message at the top.")
                    for f in functions
                )
            return SubmissionGrade(
                Path(paths[i]),
                functions,
                time.monotonic() - started[i],
                seed,
                box.mode,
                problem,
                _reason(functions, reason or _spent_or_protocol(protocol[i], budgets[i])),
                reviews[i],
                calls[i],
            )

        def in_worker(i: int, entry: Entry, reuse: bool) -> tuple[FunctionGrade, bool]:
            """(grade, kept): `entry` of submission i graded in a worker, with `reuse` in one the
            submission left idle where one waits (pool.Budget.take_idle). A run in a reused worker
            stops at its first failing check and is not kept (the caller grades the function again
            in a fresh worker) unless every check passed or the worker was never asked anything:
            so a failure is never caused by state another function left, and its feedback is what
            a fresh worker gives. The discarded run stays charged to the submission's budget: the
            budget bounds all the time a submission's code runs, and the run ended at its first
            failure, so it costs little more than a fresh worker's start would have. A worker whose
            function passed every check, or never reached it, is given back while the submission
            has functions left to begin (at most one per thread, so `jobs` per submission)."""
            group = options.rubric.visibility[entry.name]
            ev = SubmissionEvaluator(
                resolved[i], limits, findings[i], options.allow_autodiff, budgets[i], reuse=reuse, group=group
            )
            unharmed = protocol_error = False
            try:
                try:
                    grade = grade_function(ev, entry, options, seed, device, until_failure=ev.reused)
                except Exception as exc:  # whatever a worker sent costs its own submission only
                    grade, protocol_error = _protocol_failure(entry, options, exc), True
                unharmed = grade.clean or not ev.sent
            finally:
                with lock:
                    wanted = unstarted[i][group] > 0
                ev.close(keep_budget=True, give_back=unharmed and wanted)
            kept = unharmed or not ev.reused
            if kept and protocol_error:
                with lock:
                    protocol[i] = True
            return grade, kept

        def run(task: tuple[int, Entry]) -> None:
            i, entry = task
            with lock:
                started[i] = started[i] or time.monotonic()
            if refused[i]:
                grade = _not_graded(entry, options, "the submission was refused (see the message at the top).")
            elif entry.name in stubs[i]:
                grade = stub_grade(entry, options, seed, device, stubs[i][entry.name])
            elif entry.name in kept[i]:
                grade = kept[i][entry.name]
            else:
                with lock:
                    unstarted[i][options.rubric.visibility[entry.name]] -= 1
                grade, fresh = in_worker(i, entry, reuse=True)
                if not fresh:  # it failed in a reused worker: only a fresh worker's verdict counts
                    grade, _ = in_worker(i, entry, reuse=False)
                key = keys[i].get(entry.name)
                if store is not None and key is not None and grade.steady and budgets[i].import_error is None:
                    store.put(key, grade, seed)
            with lock:
                grades[i][entry.name] = grade
                done = len(grades[i]) == len(entries)
                if done:
                    budgets[i].close()
                    finished[i] = finish(i)
            if on_progress is not None:
                on_progress(1)
            if done and on_done is not None:
                on_done(Path(paths[i]), finished[i])  # type: ignore[arg-type]

        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            for _ in pool.map(run, tasks):
                pass
    finally:  # from the first copy on: an interrupt (Ctrl-C, SIGTERM) mid-scan leaves no copy behind
        for b in budgets:
            b.close()
    return [g for g in finished if g is not None]


def _spent_or_protocol(protocol: bool, budget: Budget) -> str:
    """The reason of a submission that imported: "protocol", "budget" (spent) or none."""
    return "protocol" if protocol else "budget" if budget.left() <= 0 else ""


BY_ENTRY = {e.name: e for e in CATALOG}


def grade(path: Path, options: Options) -> SubmissionGrade:
    return grade_many([path], options)[0]
