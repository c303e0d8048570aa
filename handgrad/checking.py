"""`handgrad check`: the shipped formulas against the references, as a table.

Library functions the command line calls; tests call them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from handgrad.cases import Case
from handgrad.check import CaseResult, Evaluator, run_case
from reference import seed_example


@dataclass(frozen=True)
class Row:
    """One line of the table: a function under one dtype, device and transform."""

    function: str
    dtype: str
    device: str
    transform: str
    results: tuple[CaseResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def worst(self) -> CaseResult:
        return max(self.results, key=lambda r: (not r.ok, r.ratio))

    def cells(self) -> list[str]:
        w = self.worst
        cw = w.comparison.worst if w.comparison is not None else None
        if cw is not None and np.isfinite(cw.abs_err):
            err = f"{cw.abs_err:.1e} / {cw.allowed:.1e}"
        else:
            err = "-"
        status = "ok" if self.ok else f"FAIL {w.problem} ({w.case.family.name})"
        return [self.function, self.dtype, self.device, self.transform, err, status]


HEADER = ["function", "dtype", "device", "transform", "worst err / allowed", "status"]


def run_all(
    evaluator: Evaluator,
    cases: Sequence[Case],
    *,
    strict: bool = False,
    progress: Callable[[Iterable[Case]], Iterable[Case]] = lambda it: it,
) -> list[CaseResult]:
    return [run_case(evaluator, c, strict=strict) for c in progress(cases)]


def rows(results: Iterable[CaseResult]) -> list[Row]:
    grouped: dict[tuple[str, str, str, str], list[CaseResult]] = {}
    for r in results:
        c = r.case
        grouped.setdefault((c.entry.name, c.dtype, c.device, c.transform), []).append(r)
    return [Row(*key, tuple(rs)) for key, rs in grouped.items()]


def table(lines: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


@dataclass(frozen=True)
class SeedLine:
    quantity: str
    got: np.ndarray
    contract: np.ndarray
    printed: np.ndarray
    printed_tol: np.ndarray

    @property
    def matches_contract(self) -> bool:
        return bool(np.allclose(self.got, self.contract, rtol=0, atol=1e-7))

    @property
    def matches_printed(self) -> bool:
        return bool(np.all(np.abs(self.got - self.printed) <= self.printed_tol))


def seed_lines(namespace: dict[str, Any]) -> list[SeedLine]:
    """The network's worked example through `namespace`'s formulas, in float64."""
    params = {k: jnp.asarray(v, jnp.float64) for k, v in seed_example.PARAMS.items()}
    x, y = jnp.asarray(seed_example.X), jnp.asarray(seed_example.Y)
    grads = namespace["two_layer_grads"](params, x, y)
    got = {
        "loss": namespace["two_layer_loss"](params, x, y),
        "a": namespace["two_layer_forward"](params, x),
        **{k: grads[k] for k in ("b2", "b1", "W2", "W1")},
    }
    lines = []
    for key, contract in seed_example.CONTRACT.items():
        printed, tol = seed_example.printed_array(key)
        lines.append(SeedLine(key, np.asarray(got[key], np.float64), contract, printed, tol))
    return lines


def seed_table(lines: Sequence[SeedLine]) -> str:
    def fmt(a: np.ndarray) -> str:
        return np.array2string(np.ravel(a), precision=8, separator=", ")

    body = [
        [
            f"dL/d{s.quantity}" if s.quantity in ("W1", "b1", "W2", "b2") else s.quantity,
            fmt(s.got),
            fmt(s.contract),
            "ok" if s.matches_contract else "DIFFERS",
            fmt(s.printed),
            "ok" if s.matches_printed else "DIFFERS",
        ]
        for s in lines
    ]
    return table(body, ["quantity", "handwritten (float64)", "contract", "", "seed printed", ""])
