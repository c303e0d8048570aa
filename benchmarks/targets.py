"""The issue's targets, checked from the results of one run (never by timed unit tests).

At the largest float32 size of every series on the CPU:
- the hand-written gradient takes at most the time autodiff takes: hand / autodiff <= 1.0;
- an elementwise gradient reaches at least 60% of the copy roofline, i.e. it takes at most
  1/0.6 of the time a copy of the same bytes takes (judged on the rounds' range the same way).

Speed is judged on the spread, not the median alone: hand / autodiff is taken round by round
(both are timed in the same interleaved rounds) and the range of those ratios decides. "met"
when hand-written was as fast or faster in every round, "missed" when it was slower in every
round, "within noise" otherwise: the run cannot tell those two programs apart. (With 15
rounds, two programs of equal cost land all on one side by chance 6 times in 100 000; an
interquartile range would exclude 1.0 for 1 series in 30, a false verdict in most runs.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from benchmarks.runner import Ratio, Result, ratio
from reference.catalog import BY_NAME

SPEED_TARGET = 1.0
ROOFLINE_TARGET = 0.6

Verdict = Literal["met", "within noise", "missed"]


def judge(r: Ratio, target: float) -> Verdict:
    """ "met" when all of [low, high] is <= target, "missed" when all of it is above."""
    if r.high <= target:
        return "met"
    if r.low > target:
        return "missed"
    return "within noise"


def judge_at_least(r: Ratio, target: float) -> Verdict:
    """ "met" when all of [low, high] is >= target, "missed" when all of it is below."""
    if r.low >= target:
        return "met"
    if r.high < target:
        return "missed"
    return "within noise"


@dataclass(frozen=True)
class Check:
    case: str
    size: str
    dtype: str
    device: str
    ratio: float
    """Hand-written time over autodiff time, median over rounds: < 1 when hand-written is faster."""
    low: float
    """Lowest of that ratio over the rounds."""
    high: float
    """Highest of that ratio over the rounds."""
    speed: Verdict
    roofline: float | None
    """Copy time over hand-written time (the fraction of the memory roofline reached)."""
    roofline_verdict: str
    """"met" (every round at least 60% of the copy), "missed" (every round below), "within noise",
    or "" where the target does not apply (not elementwise)."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        """Not shown slower than autodiff, and not below the roofline target."""
        return self.speed != "missed" and self.roofline_verdict != "missed"


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
        speed = ratio(hand, auto)
        reached = None if copy is None else ratio(copy, hand)
        verdict = ""
        if BY_NAME[hand.case].layout == "elementwise" and reached is not None:
            verdict = judge_at_least(reached, ROOFLINE_TARGET)
        label = f"{hand.group} B={hand.sweep}" if hand.group else _size_label(hand.size)
        checks.append(
            Check(
                hand.case,
                label,
                dtype,
                device,
                speed.median,
                speed.low,
                speed.high,
                judge(speed, SPEED_TARGET),
                None if reached is None else reached.median,
                verdict,
            )
        )
    return checks


def _size_label(size: int | list[int]) -> str:
    return "x".join(map(str, size)) if isinstance(size, list) else str(size)
