"""The measurement loop: every point x dtype x placement x implementation, one row each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import jax
import numpy as np

from benchmarks import cases, timing
from benchmarks.cases import JAX_IMPLS, Placement, Point
from benchmarks.peers import PEER_IMPLS, peer
from reference.catalog import Entry

SHARDED_IMPLS: tuple[str, ...] = ("handwritten", "autodiff", "copy")
"""Sharded runs measure the two gradients and the roofline; the forward adds nothing there."""

PEER_DTYPES: tuple[str, ...] = ("float32", "float64")


@dataclass(frozen=True)
class Result:
    """One row of the JSON: one program at one size, dtype and placement."""

    case: str
    impl: str
    size: int | list[int]
    dtype: str
    device: str
    seconds: float
    spread: float
    bytes: int
    gbps: float
    items_per_s: float
    group: str
    sweep: int
    items: int
    minimum: float
    repeats: int
    inner: int
    scaling: float | None = None
    """Sharded rows only: the single-device time of the same program over the sharded time."""
    note: str = ""
    samples: list[float] = field(default_factory=list)
    """Seconds per call in each round; rows of one point and dtype share their rounds."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Skip:
    """A measurement that was not made, and why (reported, never silently dropped)."""

    case: str
    impl: str
    """The implementation, or "all" when the whole point was left out."""
    device: str
    reason: str
    size: str = ""
    """The point (e.g. "3x2x1 B=1") when only some sizes were left out."""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Options:
    entries: tuple[Entry, ...]
    dtypes: tuple[str, ...]
    placements: tuple[Placement, ...]
    sizes: cases.Sizes
    settings: timing.Settings
    peers: bool = True
    hlo_dir: Path | None = None


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def skip(self, case: str, impl: str, device: str, reason: str, size: str = "") -> None:
        s = Skip(case, impl, device, reason, size)
        if s not in self.skipped:
            self.skipped.append(s)


@dataclass(frozen=True)
class Task:
    """One point in one dtype: every program on every placement, timed against each other."""

    point: Point
    dtype: str
    placements: tuple[Placement, ...]

    @staticmethod
    def impls(placement: Placement, peers: bool) -> tuple[str, ...]:
        if placement.sharded:
            return SHARDED_IMPLS
        return JAX_IMPLS + (PEER_IMPLS if peers and placement.platform == "cpu" else ())

    def programs(self, peers: bool) -> list[tuple[Placement, str]]:
        return [(placement, impl) for placement in self.placements for impl in self.impls(placement, peers)]


def tasks(options: Options) -> list[Task]:
    found = []
    for point in cases.plan(options.entries, options.sizes):
        found += [Task(point, d, options.placements) for d in options.dtypes if d in point.entry.dtypes]
    return found


Progress = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """A program ready to time: compiled, inputs in place, run once already."""

    placement: Placement
    impl: str
    program: timing.Program
    bytes: int


def _row(task: Task, prepared: Prepared, t: timing.Timing) -> Result:
    p, nbytes = task.point, prepared.bytes
    return Result(
        case=p.case,
        impl=prepared.impl,
        size=p.size,
        dtype=task.dtype,
        device=prepared.placement.name,
        seconds=t.seconds,
        spread=t.spread,
        bytes=nbytes,
        gbps=nbytes / t.seconds / 1e9,
        items_per_s=p.items / t.seconds,
        group=p.group,
        sweep=p.sweep,
        items=p.items,
        minimum=t.minimum,
        repeats=t.repeats,
        inner=t.inner,
        note=p.note,
        samples=list(t.samples),
    )


def _dump_hlo(options: Options, task: Task, placement: Placement, impl: str, compiled: Any) -> None:
    if options.hlo_dir is None:
        return
    p = task.point
    label = p.label.replace(" ", "-").replace("=", "")
    options.hlo_dir.mkdir(exist_ok=True)  # (the command made it; its parent is never made)
    (options.hlo_dir / f"{p.case}-{impl}-{task.dtype}-{placement.name}-{label}.hlo.txt").write_text(compiled.as_text())


def prepare_jax(options: Options, task: Task, placement: Placement, impl: str, inputs: tuple[Any, ...]) -> Prepared:
    """Compile `impl` for the inputs (never timed) and run it once."""
    p, shards = task.point, len(placement.devices)
    if impl == "copy":
        inputs = cases.make_inputs(cases.program_specs(p, impl, task.dtype, shards), task.dtype, placement)
    compiled = jax.jit(cases.jax_program(p.entry, impl)).lower(*inputs).compile()
    _dump_hlo(options, task, placement, impl, compiled)
    call = lambda: compiled(*inputs)  # noqa: E731
    timing.wait(call())
    # CPU calls are waited for one by one; a GPU runs its queue in order (see timing.py).
    mode = timing.Wait.EACH if placement.platform == "cpu" else timing.Wait.LAST
    return Prepared(placement, impl, (call, mode), cases.program_bytes(p, impl, task.dtype, shards))


def prepare_peer(task: Task, placement: Placement, impl: str, inputs: tuple[Any, ...]) -> Prepared | str:
    """The peer on host copies of the inputs, or the reason it is not measured."""
    if task.dtype not in PEER_DTYPES:
        return f"peers run in {' and '.join(PEER_DTYPES)} only"
    host = jax.tree.map(np.asarray, inputs)  # copied to the host before timing
    call, reason = peer(impl, task.point.case, host)
    if call is None:
        return reason
    call()
    return Prepared(placement, impl, (call, timing.Wait.RETURN), cases.gradient_bytes(task.point, task.dtype))


def run_task(options: Options, task: Task, outcome: Outcome, progress: Progress) -> None:
    p = task.point
    ready: list[Prepared] = []
    programs = task.programs(options.peers)
    for placement in task.placements:
        if placement.sharded and not placement.fits(p.specs):
            reason = f"the batch does not split over {len(placement.devices)} devices"
            outcome.skip(p.case, "all", placement.name, reason, p.label)
            continue
        inputs = cases.make_inputs(p.specs, task.dtype, placement)
        for impl in task.impls(placement, options.peers):
            try:
                if impl in JAX_IMPLS:
                    ready.append(prepare_jax(options, task, placement, impl, inputs))
                    continue
                found = prepare_peer(task, placement, impl, inputs)
            except Exception as e:  # out of memory, a missing kernel: report it, measure the rest
                first = (str(e).strip().splitlines() or [""])[0]
                found = f"failed: {type(e).__name__}: {first}"[:300]
                outcome.skip(p.case, impl, placement.name, found, f"{p.label} {task.dtype}")
                continue
            if isinstance(found, str):
                outcome.skip(p.case, impl, placement.name, found)
            else:
                ready.append(found)
    if ready:
        timings = timing.measure_all({f"{r.placement.name}/{r.impl}": r.program for r in ready}, options.settings)
        for r in ready:
            t, _ = timings[f"{r.placement.name}/{r.impl}"]
            outcome.results.append(_row(task, r, t))
        del timings  # the last outputs: kept alive until every program of the point was timed
    for _ in programs:
        progress(f"{p.case} {p.label} {task.dtype}")


@dataclass(frozen=True)
class Ratio:
    """One program's time over another's: the median, lowest and highest over the rounds."""

    median: float
    low: float
    high: float


def ratio(num: Result, den: Result) -> Ratio:
    """num's time over den's, round by round where both were sampled in the same rounds (same
    point and dtype: load from elsewhere that slows one round slows both programs in it, so
    the per-round ratios are steadier than the ratio of two medians); otherwise the ratio of
    the medians, widened by both programs' relative spreads (interquartile ranges)."""
    if num.samples and len(num.samples) == len(den.samples):
        per_round = np.asarray(num.samples) / np.asarray(den.samples)
        return Ratio(float(np.median(per_round)), float(per_round.min()), float(per_round.max()))
    median = num.seconds / den.seconds
    rel = float(np.hypot(num.spread / num.seconds, den.spread / den.seconds))
    return Ratio(median, median * (1 - rel), median * (1 + rel))


def add_scaling(results: Sequence[Result]) -> list[Result]:
    """Sharded rows get scaling = single-device seconds / sharded seconds for the same program."""
    key = lambda r: (r.case, r.impl, r.group, r.sweep, r.dtype)  # noqa: E731
    single: dict[tuple[Any, ...], dict[str, Result]] = {}
    for r in results:
        if not r.device.startswith("sharded"):
            single.setdefault(key(r), {})[r.device] = r
    out = []
    for r in results:
        base = single.get(key(r), {})
        if r.device.startswith("sharded") and base:
            # The baseline is one device of the default backend: the kind the mesh is made of.
            one = base.get(jax.default_backend()) or next(iter(base.values()))
            r = replace(r, scaling=ratio(one, r).median)
        out.append(r)
    return out


def count(options: Options, planned: Sequence[Task]) -> int:
    return sum(len(t.programs(options.peers)) for t in planned)


def run(options: Options, progress: Progress | None = None) -> Outcome:
    """Measure everything the options ask for; `progress(label)` is called once per program."""
    outcome = Outcome()
    tick = progress or (lambda label: None)
    for task in tasks(options):
        run_task(options, task, outcome, tick)
    outcome.results = add_scaling(outcome.results)
    return outcome
