"""The timing loop: compile and warm-up excluded, every call waited for, median and spread.

A sample is `inner` back-to-back calls timed together. On the CPU each one is waited for with
`block_until_ready` before the next starts, so a sample is `inner` complete calls (launch,
compute, result ready) and never work still in flight. On a GPU (`Wait.LAST`) the calls are
queued back to back and the sample ends when the last result is ready: one stream runs them in
order, so that is when all of them are done, and the host round trip of a wait (~60 us on the
H200 machine measured, longer than the kernels themselves up to 2^24 elements) is paid once
per sample instead of being charged to every call. `inner` is chosen so a sample lasts
long enough for perf_counter's resolution and the scheduler's jitter not to matter. The
reported time is the median over samples of the time per call; the spread is the
interquartile range of the same, so one preempted sample moves neither. The programs compared
at one point (hand-written, autodiff, forward, copy, peers, each placement) are sampled in
turn, in a shuffled order, round after round, so load from elsewhere slows them alike; each
sample starts with one untimed call so the previous program's after-effects are not timed.
"""

from __future__ import annotations

import enum
import gc
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np


@dataclass(frozen=True)
class Settings:
    sample_s: float
    """Aim for samples at least this long (seconds): calls are repeated inside one sample. On the
    2-core VM, 20 ms samples halve the round-to-round noise of 5 ms ones (~5% against ~12%)."""
    repeats: int
    """Samples to take, at most."""
    min_repeats: int
    """Samples to take at least, however slow the call."""
    budget_s: float
    """Stop adding samples past min_repeats once this much time per program has been spent."""
    warmup: int = 1
    """Untimed calls first, after the one every program gets when it is compiled: the first
    runs touch fresh memory and fill the allocator's free lists."""


FULL = Settings(sample_s=20e-3, repeats=15, min_repeats=5, budget_s=0.6)
QUICK = Settings(sample_s=1e-3, repeats=5, min_repeats=3, budget_s=0.05, warmup=0)


@dataclass(frozen=True)
class Timing:
    seconds: float
    """Median time of one call."""
    spread: float
    """Interquartile range of the time of one call (seconds)."""
    minimum: float
    repeats: int
    inner: int
    samples: tuple[float, ...] = ()
    """Time per call in each round, in round order: programs timed together have one sample per
    round each, so their ratio can be taken round by round (see runner.ratio)."""


class Wait(enum.Enum):
    """How a sample waits for the calls it times."""

    EACH = "each"
    """Every call is waited for (`block_until_ready`) before the next starts: the CPU."""
    LAST = "last"
    """The calls are queued back to back and only the last is waited for: a device that runs
    its queue in order (a GPU stream), where that is when all of them are done."""
    RETURN = "return"
    """The result is ready when the call returns (a synchronous host peer): nothing to wait for."""


def wait(out: Any) -> Any:
    """Block until every array in `out` is computed (host values pass through)."""
    return jax.block_until_ready(out)


def measure(call: Callable[[], Any], settings: Settings, mode: Wait = Wait.EACH) -> tuple[Timing, Any]:
    """Time one `call()` (already compiled, inputs already in place); see `measure_all`."""
    timings = measure_all({"call": (call, mode)}, settings)
    return timings["call"]


Program = tuple[Callable[[], Any], Wait]
"""A zero-argument call and how a sample waits for its results."""


def _sample(call: Callable[[], Any], mode: Wait, inner: int) -> tuple[float, Any]:
    # One untimed call first: the program that ran just before (another placement's threads,
    # a single-threaded peer) leaves threads parked and caches cold, and that transition would
    # otherwise be charged to whichever program follows it (identical HLO measured 15% apart).
    if not isinstance(mode, Wait):  # anything else would time calls never waited for
        raise TypeError(f"expected a timing.Wait, got {mode!r}")
    wait(call())
    start = time.perf_counter()
    if mode is Wait.EACH:
        for _ in range(inner):
            out = wait(call())
    else:
        for _ in range(inner):
            out = call()
        if mode is Wait.LAST:
            out = wait(out)
    return time.perf_counter() - start, out


def measure_all(programs: Mapping[str, Program], settings: Settings) -> dict[str, tuple[Timing, Any]]:
    """Time several programs against each other: their samples are interleaved round by round
    (in a shuffled order), so a burst of load from elsewhere on the machine slows every program
    alike and leaves their ratios alone. Returns each program's timing and last result, which
    stays referenced until here so no output can be treated as dead."""
    last: dict[str, Any] = {}
    inner: dict[str, int] = {}
    for name, (call, mode) in programs.items():
        for _ in range(settings.warmup):
            last[name] = wait(call())
        once, last[name] = _sample(call, mode, 1)
        inner[name] = max(1, math.ceil(settings.sample_s / max(once, 1e-9)))
    per_call: dict[str, list[float]] = {name: [] for name in programs}
    names = list(programs)
    order = random.Random(0)  # reproducible, and every program gets every neighbour
    spent = 0.0
    # A collection pass in the middle of a sample would be timed as part of the call.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for round_ in range(settings.repeats):
            order.shuffle(names)
            for name in names:
                call, mode = programs[name]
                elapsed, last[name] = _sample(call, mode, inner[name])
                per_call[name].append(elapsed / inner[name])
                spent += elapsed
            if round_ + 1 >= settings.min_repeats and spent >= settings.budget_s * len(names):
                break
    finally:
        if enabled:
            gc.enable()
    found = {}
    for name, samples in per_call.items():
        q1, median, q3 = np.percentile(samples, [25, 50, 75])
        timing = Timing(float(median), float(q3 - q1), float(min(samples)), len(samples), inner[name], tuple(samples))
        found[name] = (timing, last[name])
    return found
