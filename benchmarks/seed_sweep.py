"""Correct formulas pass in every draw: the shipped formulas graded under many seeds.

The grader draws fresh inputs every run, so a tolerance that a correct formula misses in one
draw in a hundred would cost a correct student marks one run in a hundred. The test suite
grades the shipped formulas under 12 seeds (tests/test_oracle.py); this sweep grades them,
in this process (the same grade_function the sandboxed grader runs), under seeds 0..N-1 and
writes every function that lost marks with its seed:

    python -m benchmarks.seed_sweep --seeds 400 --json benchmarks/results/seed-sweep.json
    python -m benchmarks.seed_sweep --seeds 400 --correct-forms --json benchmarks/results/seed-sweep-forms.json

--correct-forms grades the test corpus's correct unusual forms (a softmax through
logsumexp, tanh through sigmoid, ...) instead: the suite grades them under one seed.

The first seed takes about a minute (its compiles), each next one 10-25 s on the 2-core
machine; the JSON is rewritten after every seed, so an interrupted sweep keeps its seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, cast


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed_sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=400, help="grade under seeds 0..N-1 (default 400)")
    parser.add_argument("--first", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    parser.add_argument(
        "--correct-forms",
        action="store_true",
        help="grade the test corpus's correct unusual forms (tests/corpus/correct_forms*.py) instead",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    import handgrad

    handgrad.configure_for_checking()
    import handwritten
    from handgrad.engine import InProcess
    from handgrad.grading.grader import Options, grade_function
    from reference.catalog import BY_NAME, CATALOG

    if args.correct_forms:  # one evaluator per form, kept across seeds: each compiles once
        from tests.corpus.correct_forms import CORRECT_FORMS
        from tests.corpus.correct_forms_2 import CORRECT_FORMS_2

        graded = [(f"{f.id} ({f.function})", InProcess(cast("dict[str, Any]", f.namespace())), BY_NAME[f.function])
                  for f in (*CORRECT_FORMS, *CORRECT_FORMS_2)]  # fmt: skip
        what = "the test corpus's correct unusual forms graded in this process (grade_function, fail_fast)"
    else:
        shipped = InProcess(handwritten)
        graded = [(entry.name, shipped, entry) for entry in CATALOG]
        what = "the shipped formulas graded in this process (grade_function, fail_fast) under every seed"
    lost: list[dict[str, object]] = []
    started = time.perf_counter()
    seeds = range(args.first, args.first + args.seeds)
    result: dict[str, object] = {}
    for seed in seeds:
        for label, evaluator, entry in graded:
            grade = grade_function(evaluator, entry, Options(fail_fast=True), seed, "cpu:0")
            if not grade.passed:
                lost.append({"seed": seed, "function": label, "feedback": grade.feedback})
                print(f"seed {seed}: {label} lost marks", flush=True)
        result = {
            "what": what,
            "seeds": [seeds.start, seed],
            "functions": len(graded),
            "lost": lost,
            "seconds": round(time.perf_counter() - started, 1),
        }
        if args.json is not None:  # after every seed: an interrupted sweep keeps what it did
            args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(seeds)} seeds x {len(graded)} functions: {len(lost)} lost marks, {result['seconds']} s")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
