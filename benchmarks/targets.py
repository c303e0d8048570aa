"""The issue's targets, checked from the results of one run (never by timed unit tests).

At the largest float32 size on the CPU, for every case:
- the hand-written gradient is at least as fast as autodiff (within measurement noise);
- an elementwise gradient reaches at least 60% of the copy roofline, i.e. it takes at most
  1/0.6 of the time a copy of the same bytes takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.runner import Result, paired
from reference.catalog import BY_NAME

SPEED_TARGET = 1.0
ROOFLINE_TARGET = 0.6
NOISE_FLOOR = 0.02
"""Run-to-run drift on a shared machine is a few percent even when the IQR is smaller."""
TOO_NOISY = 0.25
"""Above this relative noise a shortfall smaller than the noise is not judged: "noisy" (measure
again). A shortfall larger than the noise is "missed" however noisy the measurement."""


@dataclass(frozen=True)
class Check:
    case: str
    size: str
    dtype: str
    device: str
    speedup: float
    """Autodiff's time over the hand-written time: > 1 when hand-written is faster."""
    noise: float
    """Relative noise of that ratio: the IQR of the per-round ratios over their median (at least 2%)."""
    speed: str
    """"met"; "within noise" (short by less than the noise); "noisy" (the same, but the noise is
    over 25%: not judged); "missed" (short by more than the noise)."""
    roofline: float | None
    """Copy time over hand-written time (the fraction of the memory roofline reached)."""
    roofline_verdict: str
    """"met", "missed", or "" where the target does not apply (not elementwise)."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        """Met, or short by no more than the noise; a "noisy" check is not ok (not judged)."""
        return self.speed in ("met", "within noise") and self.roofline_verdict != "missed"


def _series(r: Result) -> tuple[Any, ...]:
    """Rows of one series, whose largest size is checked: per case for elementwise sizes, per
    width for softmax/losses (every width moves the same bytes), per network size."""
    layout = BY_NAME[r.case].layout
    if layout == "last_axis":
        return (r.case, r.sweep)
    return (r.case, r.group)


def largest(results: Sequence[Result], dtype: str, device: str) -> dict[tuple[Any, ...], int]:
    """For each series, the largest number of items measured for both implementations."""
    found: dict[tuple[Any, ...], int] = {}
    both = {(r.case, r.group, r.sweep) for r in results if r.impl == "handwritten"} & {
        (r.case, r.group, r.sweep) for r in results if r.impl == "autodiff"
    }
    for r in results:
        if r.dtype == dtype and r.device == device and (r.case, r.group, r.sweep) in both:
            key = _series(r)
            found[key] = max(found.get(key, 0), r.items)
    return found


def check(results: Sequence[Result], dtype: str = "float32", device: str = "cpu") -> list[Check]:
    """One check per series at its largest size; empty when that dtype/device was not run."""
    tops = largest(results, dtype, device)
    by: dict[tuple[Any, ...], dict[str, Result]] = {}
    for r in results:
        if r.dtype == dtype and r.device == device and tops.get(_series(r)) == r.items:
            by.setdefault(_series(r), {})[r.impl] = r
    checks = []
    for impls in by.values():
        hand, auto, copy = impls.get("handwritten"), impls.get("autodiff"), impls.get("copy")
        if hand is None or auto is None:
            continue
        speedup, spread = paired(auto, hand)
        noise = max(NOISE_FLOOR, spread)
        if speedup >= SPEED_TARGET:
            speed = "met"
        elif speedup < SPEED_TARGET * (1 - noise):
            speed = "missed"
        else:
            speed = "within noise" if noise <= TOO_NOISY else "noisy"
        roofline = None if copy is None else paired(copy, hand)[0]
        verdict = ""
        if BY_NAME[hand.case].layout == "elementwise" and roofline is not None:
            verdict = "met" if roofline >= ROOFLINE_TARGET else "missed"
        label = f"{hand.group} B={hand.sweep}" if hand.group else _size_label(hand.size)
        checks.append(Check(hand.case, label, dtype, device, speedup, noise, speed, roofline, verdict))
    return checks


def _size_label(size: int | list[int]) -> str:
    return "x".join(map(str, size)) if isinstance(size, list) else str(size)
