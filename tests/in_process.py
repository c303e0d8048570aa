"""The sandboxed grader's way of evaluating, in this process, for the tests' trusted formulas.

grade_function asks an evaluator with `prepare` for every check but the first ahead, as
two programs per function (handgrad/grading/plan.py): the worker exports them
(evaluate.export_cells), the runner inspects and runs them (runner.run). InProcessPrograms
does the same here, without the processes, so a test that grades a mistake's namespace in
this process sees the values the grader would: the same programs, the same slots, the same
compiler options. It is also much cheaper than InProcess, which compiles each check's shape
and dtype on its own (about 60 programs a function against 2): grading the shipped formulas
in one seed took 46 s one check at a time, 23 s as programs.

Each function object's programs are exported once and kept for the session (the runner keeps
what it compiled, by the program's bytes), so a second seed, or a second evaluator of the same
module, only runs them. The first check, the
live one, is a real call, as in the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from handgrad.engine import InProcess
from handgrad.evaluate import Output, export_cells
from handgrad.grading import runner
from handgrad.grading.plan import Plan, cell_key

_EXPORTED: dict[tuple[Any, ...], tuple[Callable[..., Any], bytes | None]] = {}
"""Each function's program by (id(fn), eager, slots), with fn itself: kept alive, so its id is
never another's (as evaluate._TRANSFORMED)."""


class InProcessPrograms(InProcess):
    def __init__(self, namespace: ModuleType | Mapping[str, Callable[..., Any]]) -> None:
        super().__init__(namespace)
        self._prepared: dict[tuple[Any, ...], Output] = {}
        self._traced: dict[tuple[Any, ...], Output] = {}

    def prepare(self, name: str, calls: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]] = ()) -> None:
        fn = self.namespace.get(name)
        if not callable(fn):
            return
        here = [(c, True) for c in calls if c["device"] != "sharded"]
        here += [(c, False) for c in live if c["device"] != "sharded"]
        for eager in (False, True):
            wanted = [c for c in here if (c[0]["transform"] == "eager") == eager]
            if any(keep for _, keep in wanted):
                self._run(fn, Plan.of(name, wanted), eager, wanted[0][0]["device"])

    def _run(self, fn: Callable[..., Any], plan: Plan, eager: bool, device: str) -> None:
        """As SubmissionEvaluator._prepare_program: where the program cannot be made or run,
        nothing is kept and each check is asked on its own (its own failure, told as its own)."""
        key = (id(fn), eager, plan.keys)
        if key not in _EXPORTED or _EXPORTED[key][0] is not fn:
            try:
                _EXPORTED[key] = (fn, export_cells(fn, plan.cells))
            except Exception:
                _EXPORTED[key] = (fn, None)
        blob = _EXPORTED[key][1]
        if blob is None:
            return
        values: list[Output] = []
        try:
            for row in plan.rounds:
                out = runner.run(blob, tuple(tuple(call["args"]) for call in row), device, eager)
                values += [Output(v, out.devices) for v in out.value]
        except Exception:
            return
        kept, live = plan.assign(values)
        self._prepared.update(kept)
        self._traced.update(live)

    def __call__(self, name: str, **call: Any) -> Output:
        if call["device"] != "sharded":
            found = self._prepared.pop(cell_key({"name": name, **call}), None)
            if found is not None:
                return found
        return super().__call__(name, **call)

    def traced(self, name: str, call: Mapping[str, Any]) -> Output | None:
        return self._traced.get(cell_key({"name": name, **call}))
