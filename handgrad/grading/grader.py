"""Grade submissions: every check of every function, in sandboxed workers.

A function earns its weight only when every case of the matrix passes on every dtype,
transform and input family of the catalog (on the grading device). Inputs are drawn
with a fresh random seed per run unless one is given, so a submission cannot
memorise them; the seed is reported so a run can be repeated.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from handgrad.cases import Case, build_cases
from handgrad.engine import CaseResult, run_case
from handgrad.evaluate import worker_devices
from handgrad.grading import sandbox
from handgrad.grading.pool import Limits, SubmissionEvaluator
from handgrad.grading.rubric import Rubric
from handgrad.grading.submission import resolve
from handgrad.scan import Finding, scan_path
from reference.catalog import CATALOG, NAMES, Entry

FATAL = ("timeout", "crash", "memory", "autodiff", "forbidden", "missing", "import")
"""Failures after which the function's other cases are not worth running."""


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


@dataclass(frozen=True)
class FunctionGrade:
    name: str
    score: float
    max_score: float
    checks: int
    failed: int
    feedback: str
    visibility: str
    problem: str = ""
    """Why the first failing check failed (value, shape, timeout, autodiff, ...); "" if none."""

    @property
    def passed(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class SubmissionGrade:
    path: Path
    functions: tuple[FunctionGrade, ...]
    seconds: float
    seed: int
    sandbox: str

    @property
    def score(self) -> float:
        return sum(f.score for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_score for f in self.functions)

    @property
    def full_marks(self) -> bool:
        return all(f.passed for f in self.functions)

    def summary(self) -> str:
        lost = [f.name for f in self.functions if not f.passed]
        lines = [
            f"handgrad: {self.score:g} / {self.max_score:g} for {self.path.name}",
            f"{sum(f.passed for f in self.functions)} of {len(self.functions)} functions pass every check"
            + (f"; marks lost on: {', '.join(lost)}" if lost else "."),
            f"Inputs drawn with seed {self.seed} (repeat with --seed {self.seed}); "
            f"sandbox: {self.sandbox}; {self.seconds:.1f} s.",
        ]
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
    """Which transforms, dtypes or families the failures are confined to, in words."""
    failed = [r for r in results if not r.ok]
    passed = [r for r in results if r.ok]
    if not failed or not passed:
        return ""

    def values(rs: Sequence[CaseResult], attr: str) -> set[str]:
        return {getattr(r.case, attr) if attr != "family" else r.case.family.name for r in rs}

    bad_t, ok_t = values(failed, "transform"), values(passed, "transform")
    if bad_t == {"vmap"} and "vmap" not in ok_t:
        return "Fails only under vmap (a batch of examples): the code handles one example only?"
    if bad_t == {"jit", "vmap"} and "eager" in ok_t and not ({"jit", "vmap"} & ok_t):
        return "Passes eagerly but fails under jit: Python control flow or NumPy on traced values?"
    bad_d, ok_d = values(failed, "dtype"), values(passed, "dtype")
    if not bad_d & ok_d:
        low = bad_d <= {"float16", "bfloat16"}
        why = ": low-precision overflow or a dtype-specific constant?" if low else "."
        return f"Fails only in {', '.join(sorted(bad_d))}{why}"
    bad_f, ok_f = values(failed, "family"), values(passed, "family")
    if not bad_f & ok_f:
        return f"Fails only on the input families {', '.join(sorted(bad_f))}; passes on {', '.join(sorted(ok_f))}."
    return ""


def grade_function(
    evaluator: SubmissionEvaluator, entry: Entry, options: Options, seed: int, device: str
) -> FunctionGrade:
    cases: list[Case] = build_cases([entry], devices=[device])
    results: list[CaseResult] = []
    for case in cases:
        result = run_case(evaluator, case, strict=options.strict, seed=seed)
        results.append(result)
        if result.error_kind in FATAL or (options.fail_fast and not result.ok):
            break
    failed = [r for r in results if not r.ok]
    weight = options.rubric.weights[entry.name]
    visibility = options.rubric.visibility[entry.name]
    if not failed:
        families = sorted({c.family.name for c in cases})
        dtypes = sorted({c.dtype for c in cases})
        feedback = (
            f"All {len(cases)} checks passed: dtypes {', '.join(dtypes)}; eager, jit and vmap; "
            f"inputs {', '.join(families)}."
        )
        return FunctionGrade(entry.name, weight, weight, len(cases), 0, feedback, visibility)
    first = failed[0]
    if first.error_kind in FATAL:
        head = f"Failed: {first.error or first.problem}."
        counted = len(cases) - len(results) + len(failed)
    elif options.fail_fast:
        head = "Failed (stopped at the first failing check)."
        counted = len(failed)
    else:
        head = f"Failed {len(failed)} of {len(cases)} checks."
        counted = len(failed)
    pattern = _pattern(results) if first.error_kind not in FATAL else ""
    parts = [head] + ([pattern] if pattern else []) + ["First failing check:", first.message()]
    return FunctionGrade(entry.name, 0.0, weight, len(cases), counted, "\n".join(parts), visibility, first.problem)


def _scan(path: Path) -> dict[str, list[Finding]]:
    return scan_path(path, NAMES)


def grade_many(
    paths: Sequence[Path],
    options: Options,
    on_done: Callable[[Path, SubmissionGrade], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[SubmissionGrade]:
    """Grade each submission with `options.jobs` workers in parallel.

    Work is handed out function by function. A worker is never shared between two
    submissions (a submission's state must not leak into another's); each thread
    keeps its worker while it grades functions of the same submission.
    """
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    device = grading_device()
    entries = [e for e in CATALOG if e.name in options.functions]
    resolved = [resolve(p) for p in paths]
    findings = [_scan(p) for p in resolved]
    tasks = [(i, e) for i in range(len(paths)) for e in entries]
    grades: list[dict[str, FunctionGrade]] = [{} for _ in paths]
    started = [0.0] * len(paths)
    finished: list[SubmissionGrade | None] = [None] * len(paths)
    lock = threading.Lock()
    local = threading.local()
    evaluators: list[SubmissionEvaluator] = []

    def evaluator_for(i: int) -> SubmissionEvaluator:
        current = getattr(local, "current", None)
        if current is not None and current[0] == i:
            return current[1]
        if current is not None:
            current[1].close()
        ev = SubmissionEvaluator(resolved[i], options.limits, findings[i], options.allow_autodiff)
        with lock:
            evaluators.append(ev)
        local.current = (i, ev)
        return ev

    def run(task: tuple[int, Entry]) -> None:
        i, entry = task
        with lock:
            started[i] = started[i] or time.monotonic()
        grade = grade_function(evaluator_for(i), entry, options, seed, device)
        with lock:
            grades[i][entry.name] = grade
            done = len(grades[i]) == len(entries)
            if done:
                finished[i] = SubmissionGrade(
                    Path(paths[i]),
                    tuple(grades[i][e.name] for e in entries),
                    time.monotonic() - started[i],
                    seed,
                    sandbox.detect().mode,
                )
        if on_progress is not None:
            on_progress(1)
        if done and on_done is not None:
            on_done(Path(paths[i]), finished[i])  # type: ignore[arg-type]

    try:
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            for _ in pool.map(run, tasks):
                pass
    finally:
        for ev in evaluators:
            ev.close()
    return [g for g in finished if g is not None]


def grade(path: Path, options: Options) -> SubmissionGrade:
    return grade_many([path], options)[0]
