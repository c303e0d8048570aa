"""Tables of results: the check table (one row per function, dtype, device and transform),
the seed's worked example, and `table`, the one plain-text table formatter.

Importing this module loads neither JAX nor the engine (the benchmarks' report and the
command line format tables with it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from handgrad.engine import CaseResult


def table(
    lines: Sequence[Sequence[str]],
    header: Sequence[str],
    *,
    right: Collection[str] = (),
    break_groups: bool = False,
) -> str:
    """Columns padded to their widest cell, two spaces apart, under a rule of dashes.

    Columns named in `right` are right-aligned (numbers); the rest left-aligned.
    `break_groups` puts a blank line wherever the first column changes.
    """
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if h in right else str(c).ljust(w) for c, w, h in zip(cells, widths, header, strict=True)
        ).rstrip()

    out = [fmt(header), "  ".join("-" * w for w in widths)]
    previous = None
    for line in lines:
        if break_groups and previous is not None and line[0] != previous:
            out.append("")
        out.append(fmt(line))
        previous = line[0]
    return "\n".join(out)


@dataclass(frozen=True)
class Row:
    """One line of the check table: a function under one dtype, device and transform."""

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
        if cw is not None and np.isfinite(w.ratio):  # relative to what is allowed: 1 is the limit
            err = f"{w.ratio:.2f}" if w.ratio < 100 else f"{w.ratio:.1e}"
        else:
            err = "-"
        if self.ok and all(r.nothing_compared for r in self.results):
            err, status = "-", "not compared"
        else:
            status = "ok" if self.ok else f"FAIL {w.problem} ({w.case.family.name}, {w.case.family.tier} tier)"
        return [self.function, self.dtype, self.device, self.transform, err, status]


HEADER = ["function", "dtype", "device", "transform", "worst err / allowed", "status"]


def rows(results: Iterable[CaseResult]) -> list[Row]:
    """Case results grouped by (function, dtype, device, transform), in first-seen order."""
    grouped: dict[tuple[str, str, str, str], list[CaseResult]] = {}
    for r in results:
        c = r.case
        grouped.setdefault((c.entry.name, c.dtype, c.device, c.transform), []).append(r)
    return [Row(*key, tuple(rs)) for key, rs in grouped.items()]


def check_table(results: Iterable[CaseResult]) -> str:
    return table([r.cells() for r in rows(results)], HEADER)


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
    import jax.numpy as jnp

    from reference import seed_example

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
