"""The benchmarks: `--quick` end to end, argument errors, and that they time the right thing.

Timings are never asserted: they depend on the machine and its load. What is checked is
that a run measures every catalog gradient with every implementation on every device, that
its outputs are well formed, and that the programs it times compute the gradient.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

from benchmarks import cases, cli, peers, report, targets, timing
from benchmarks.runner import Result
from reference.catalog import CATALOG, Entry
from reference.compare import compare
from reference.conditioning import sensitivity

GRADIENTS: tuple[Entry, ...] = tuple(e for e in CATALOG if e.of is not None)
ROW_FIELDS: dict[str, type | tuple[type, ...]] = {
    "case": str,
    "impl": str,
    "size": (int, list),
    "dtype": str,
    "device": str,
    "seconds": float,
    "spread": float,
    "bytes": int,
    "gbps": float,
    "items_per_s": float,
}
ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m benchmarks ARGS` in a fresh process: this process's JAX settings (x64, XLA
    optimisations off for checking) must not leak into a benchmark, and it gets two devices."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    """One `--quick` run for the whole suite. Under xdist the workers' temporary folders share
    a parent made for this run: the first worker to lock it runs the benchmark (25-35 s) and
    keeps what it printed; the others wait for the lock and read it, instead of each running
    it again."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "bench-quick"
    out.mkdir(exist_ok=True)
    with open(shared / "bench-quick.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = out / "process.json"
        if not done.exists():
            proc = _bench(
                "--quick", "--json", str(out / "quick.json"), "--plot", str(out / "quick.png"), "--device", "all"
            )
            done.write_text(json.dumps([proc.args, proc.returncode, proc.stdout, proc.stderr]))
    args, returncode, stdout, stderr = json.loads(done.read_text())
    assert returncode == 0, stderr[-3000:]
    proc = subprocess.CompletedProcess(args, returncode, stdout, stderr)
    return proc, json.loads((out / "quick.json").read_text()), out / "quick.png"


def test_quick_json_describes_the_machine(quick: Any) -> None:
    _, doc, _ = quick
    machine = doc["machine"]
    for key in ("cpu", "cores", "memory", "jax", "devices"):
        assert key in machine, key
    assert machine["jax"] == jax.__version__
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert any(d.startswith("cpu:1") for d in machine["devices"]), "the run was given two host devices"


@pytest.mark.parametrize("entry", GRADIENTS, ids=lambda e: e.name)
def test_quick_json_has_every_implementation_of_every_gradient(quick: Any, entry: Entry) -> None:
    _, doc, _ = quick
    rows = [r for r in doc["results"] if r["case"] == entry.name]
    on_cpu = {r["impl"] for r in rows if r["device"] == "cpu"}
    assert {"handwritten", "autodiff", "forward", "copy"} <= on_cpu
    if entry.name in peers.NUMPY:
        assert "numpy" in on_cpu
    sharded = {r["impl"] for r in rows if r["device"] == "sharded-2"}
    assert {"handwritten", "autodiff", "copy"} <= sharded
    assert all(r["scaling"] > 0 for r in rows if r["device"] == "sharded-2")


def test_quick_json_rows_are_well_formed(quick: Any) -> None:
    _, doc, _ = quick
    assert doc["results"]
    for row in doc["results"]:
        for name, kind in ROW_FIELDS.items():
            assert isinstance(row[name], kind), (name, row)
        assert row["dtype"] == "float32", "--quick measures float32 only"
        assert row["seconds"] > 0 and row["spread"] >= 0 and row["bytes"] > 0
        assert row["gbps"] > 0 and row["items_per_s"] > 0


def test_quick_reports_what_it_did_not_measure(quick: Any) -> None:
    proc, doc, _ = quick
    skipped = {(s["case"], s["impl"]) for s in doc["skipped"]}
    for entry in GRADIENTS:
        if entry.name not in peers.NUMPY:
            assert (entry.name, "numpy") in skipped
    if importlib.util.find_spec("torch") is None:
        assert "torch: torch is not installed" in proc.stdout


def test_quick_prints_no_verdicts(quick: Any) -> None:
    """--quick sizes are too small to show anything: no target is judged, printed or written."""
    proc, doc, _ = quick
    assert doc["targets"] == []
    assert "Targets: not judged" in proc.stdout
    for word in ("met", "missed", "MISSED", "within noise"):
        assert f": {word}" not in proc.stdout and f"{word}," not in proc.stdout, word


def test_quick_prints_the_table_and_writes_the_plot(quick: Any) -> None:
    proc, _, png = quick
    assert "hand/auto (range)" in proc.stdout
    for entry in GRADIENTS:
        assert entry.name in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- arguments ---------------------------------------------------------------------------


def _run_in_process(argv: list[str]) -> int:
    """`handgrad bench ARGV` through the real console entry point, in this process."""
    from handgrad.cli import main

    return main(["bench", *argv])


BAD_ARGUMENTS = {
    "unknown-case": (["--cases", "sigmoid_grad,nope"], "unknown case 'nope'"),
    "forward-not-gradient": (["--cases", "sigmoid"], "did you mean sigmoid_grad?"),
    "unknown-dtype": (["--dtype", "float8"], "unknown dtype 'float8'"),
    "unknown-device": (["--device", "tpu"], "unknown device 'tpu'"),
    "missing-folder": (["--json", "/no/such/folder/r.json"], "no folder /no/such/folder"),
    "grading-no-jobs": (["--grading", "--jobs", "0"], "--jobs must be at least 1, not 0"),
    "grading-no-class": (["--grading", "--class-size", "-2"], "--class-size must be at least 1, not -2"),
    "grading-with-plot": (["--grading", "--plot", "g.png"], "--plot: only for the formula benchmark"),
    "grading-missing-folder": (["--grading", "--json", "/no/such/folder/g.json"], "no folder /no/such/folder"),
}


@pytest.mark.parametrize("argv, message", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_argument_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_in_process(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("handgrad bench: ")
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == "", "nothing is measured before the arguments are checked"


def test_a_dtype_none_of_the_chosen_cases_runs_in_is_a_usage_error() -> None:
    # Every catalog gradient runs in all four dtypes, so the case is made up: a gradient that
    # runs in float32 only, asked for float16.
    only_float32 = [type("Entry", (), {"dtypes": ("float32",)})()]
    with pytest.raises(cli.UsageError, match="unknown dtype 'float16'; the chosen cases run in: float32"):
        cli._dtypes(["float16"], False, only_float32)
    assert cli._dtypes(["float32"], False, only_float32) == ("float32",)


def test_device_gpu_is_measured_where_there_is_one_and_a_usage_error_elsewhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import jax

    if cli._gpus():
        placements, _ = cli._placements("gpu")
        assert [p.platform for p in placements] == ["gpu"]
    else:
        # conftest's checking settings turn XLA's optimisations off; a refused run changes nothing.
        assert jax.config.read("jax_disable_most_optimizations")
        assert _run_in_process(["--device", "gpu"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no GPU" in err
        assert jax.config.read("jax_disable_most_optimizations"), "the refused run changed JAX's settings"


def test_module_entry_point_reports_a_bad_case_in_one_line() -> None:
    proc = _bench("--cases", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown case 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


# ---- the programs timed are the gradients -------------------------------------------------


TINY = cases.Sizes(elements=(64,), widths=(8, 64), row_elements=128, networks=((3, 2, 1),), batches=(4,))
"""Sizes for checking what the timed programs compute: the benchmark's own inputs and programs,
few enough rows that the conditioning tolerance (forward autodiff per input) stays cheap; rows
of 8 and 64 reach both of the CPU's forms of the last-axis gradients (handwritten._util)."""


def _smallest(entry: Entry) -> cases.Point:
    return cases.points(entry, TINY)[0]


def _evaluate(entry: Entry, impl: str, inputs: tuple[Any, ...]) -> Any:
    return jax.tree.map(np.asarray, jax.jit(cases.jax_program(entry, impl))(*inputs))


def _agreement(entry: Entry, impl: str, placement: cases.Placement | None = None, point: Any = None) -> Any:
    """Compare `impl` with autodiff (the truth, in float64) on the benchmark's own inputs."""
    point = point or _smallest(entry)
    placement = placement or cases.single(jax.devices("cpu")[0])
    inputs = cases.make_inputs(point.specs, "float64", placement)
    expected = _evaluate(entry, "autodiff", inputs)
    got = _evaluate(entry, impl, inputs)
    host = tuple(jax.tree.map(np.asarray, inputs))
    return compare(
        expected,
        got,
        dtype="float64",
        tolerance=entry.tolerance["float64"],
        sensitivity=lambda: sensitivity(entry.reference, host),
    )


@pytest.mark.parametrize("entry", GRADIENTS, ids=lambda e: e.name)
def test_timed_handwritten_program_agrees_with_autodiff_on_the_bench_inputs(entry: Entry) -> None:
    for point in cases.points(entry, TINY):
        result = _agreement(entry, "handwritten", point=point)
        assert result.ok, f"{point.label}: {result.detail}"


@pytest.mark.parametrize("entry", GRADIENTS, ids=lambda e: e.name)
def test_timed_forward_program_is_told_apart_from_the_gradient(entry: Entry) -> None:
    # The pair of the test above: the same comparison fails on a program that is not the gradient.
    assert not _agreement(entry, "forward").ok


@pytest.mark.parametrize("name", ["sigmoid_grad", "softmax_vjp", "two_layer_grads"])
def test_sharded_inputs_split_the_batch_and_give_the_same_gradient(name: str) -> None:
    entry = next(e for e in GRADIENTS if e.name == name)
    devices = jax.devices()
    assert len(devices) >= 2, "conftest asks for two host devices"
    placement = cases.sharded(devices)
    point = next(p for p in cases.points(entry, cases.QUICK) if placement.fits(p.specs))
    inputs = cases.make_inputs(point.specs, "float64", placement)
    for spec, array in zip(
        jax.tree.leaves(point.specs, is_leaf=lambda s: isinstance(s, cases.ArgSpec)),
        jax.tree.leaves(inputs),
        strict=True,
    ):
        assert len(array.sharding.device_set) == len(devices)
        assert array.sharding.is_fully_replicated != spec.batched
    one = cases.make_inputs(point.specs, "float64", cases.single(devices[0]))
    np.testing.assert_array_equal(np.asarray(jax.tree.leaves(one)[0]), np.asarray(jax.tree.leaves(inputs)[0]))
    assert _agreement(entry, "handwritten", placement, point).ok


def test_copy_moves_the_gradients_bytes() -> None:
    entry = GRADIENTS[0]
    point = _smallest(entry)
    grad = cases.gradient_bytes(point, "float32")
    assert grad == 2 * point.items * 4  # one float32 read and one written per element
    assert 0 <= cases.program_bytes(point, "copy", "float32") - grad < 2 * 4 * 2


def test_oversized_outputs_are_capped_and_say_so() -> None:
    capped = []
    for entry in GRADIENTS:
        for point in cases.points(entry, cases.FULL):
            out = jax.eval_shape(cases.jax_program(entry, "handwritten"), *cases.abstract(point.specs, "float32"))
            assert sum(np.prod(leaf.shape) for leaf in jax.tree.leaves(out)) <= cases.MAX_OUTPUT_ELEMENTS, point.label
            capped += [point] if point.note else []
    assert capped, "the Jacobian and the per-example network gradients outgrow the cap"
    assert all("capped" in p.note for p in capped)


# ---- targets and report, on made-up numbers -------------------------------------------------


def _row(impl: str, seconds: float, items: int = 1024, samples: tuple[float, ...] = ()) -> Result:
    """A float32 sigmoid_grad row on the CPU (8 bytes moved per element)."""
    nbytes = 8 * items
    return Result(
        case="sigmoid_grad",
        impl=impl,
        size=items,
        dtype="float32",
        device="cpu",
        seconds=seconds,
        spread=0.0,
        bytes=nbytes,
        gbps=nbytes / seconds / 1e9,
        items_per_s=items / seconds,
        group="",
        sweep=items,
        items=items,
        minimum=seconds,
        repeats=5,
        inner=1,
        samples=list(samples),
    )


@pytest.mark.parametrize(
    "hand, auto, copy, speed, roofline",
    [
        (1.0, 1.2, 0.7, "met", "met"),
        (1.0, 0.5, 0.7, "missed", "met"),
        (1.0, 1.2, 0.5, "met", "missed"),
    ],
)
def test_targets_verdicts(hand: float, auto: float, copy: float, speed: str, roofline: str) -> None:
    (check,) = targets.check([_row("handwritten", hand), _row("autodiff", auto), _row("copy", copy)])
    assert (check.speed, check.roofline_verdict) == (speed, roofline)
    assert check.ok == (speed != "missed" and roofline != "missed")


def _rounds(ratios: list[float]) -> list[Result]:
    """Hand-written and autodiff rows whose per-round time ratios are `ratios` (autodiff 1 ms)."""
    auto = [1e-3 * (1 + 0.5 * (i % 3)) for i in range(len(ratios))]  # load varies round to round
    hand = [a * r for a, r in zip(auto, ratios, strict=True)]
    return [
        _row("handwritten", float(np.median(hand)), samples=tuple(hand)),
        _row("autodiff", float(np.median(auto)), samples=tuple(auto)),
    ]


@pytest.mark.parametrize(
    "ratios, speed",
    [
        ([0.90, 0.95, 0.97, 0.98, 0.99, 1.00, 0.96, 0.94], "met"),  # every round <= 1
        ([1.02, 1.04, 1.05, 1.06, 1.08, 1.03, 0.99, 1.07], "within noise"),  # median above 1, one round below
        ([0.90, 0.97, 0.99, 0.91, 0.92, 0.98, 0.96, 1.01], "within noise"),  # median below 1, one round above
        ([1.02, 1.04, 1.05, 1.06, 1.08, 1.03, 1.01, 1.07], "missed"),  # every round above 1
    ],
    ids=["met", "straddles-median-above", "straddles-median-below", "missed"],
)
def test_speed_verdict_is_taken_on_the_range_of_the_rounds(ratios: list[float], speed: str) -> None:
    (check,) = targets.check(_rounds(ratios))
    assert (check.low, check.ratio, check.high) == pytest.approx((min(ratios), np.median(ratios), max(ratios)))
    assert check.speed == speed
    assert check.ok == (speed != "missed")


def test_spread_straddling_one_is_not_missed_however_high_the_median() -> None:
    # A median 10% slow, but a quarter of the rounds faster than autodiff: the run cannot tell.
    ratios = [0.95, 0.99, 1.10, 1.10, 1.10, 1.12, 1.15, 0.90]
    (check,) = targets.check(_rounds(ratios))
    assert check.ratio > 1.05 and check.low <= 1.0 < check.high
    assert check.speed == "within noise"
    text = report.targets_text([check])
    assert "within noise" in text and "MISSED" not in text
    assert f"hand/autodiff {check.ratio:.2f} ({check.low:.2f}-{check.high:.2f})" in text


@pytest.mark.parametrize(
    "copy_ratios, verdict",
    [([0.7, 0.65, 0.9, 0.61], "met"), ([0.7, 0.5, 0.9, 0.8], "within noise"), ([0.5, 0.55, 0.3, 0.59], "missed")],
)
def test_roofline_verdict_is_taken_on_the_range_of_the_rounds(copy_ratios: list[float], verdict: str) -> None:
    hand = [1e-3 * (1 + i % 2) for i in range(len(copy_ratios))]
    copy = [h * r for h, r in zip(hand, copy_ratios, strict=True)]
    rows = [
        _row("handwritten", float(np.median(hand)), samples=tuple(hand)),
        _row("autodiff", float(np.median(hand)), samples=tuple(hand)),
        _row("copy", float(np.median(copy)), samples=tuple(copy)),
    ]
    (check,) = targets.check(rows)
    assert check.roofline == pytest.approx(np.median(copy_ratios))
    assert check.roofline_verdict == verdict
    assert check.ok == (verdict != "missed")


def test_targets_text_says_nothing_is_judged_for_quick() -> None:
    (check,) = targets.check(_rounds([1.2] * 8))
    assert check.speed == "missed"
    text = report.targets_text([check], quick=True)
    assert "not judged" in text and check.case not in text and "MISSED" not in text


def test_targets_use_the_largest_size_only() -> None:
    small = [_row("handwritten", 1.0), _row("autodiff", 0.1)]  # hand-written loses at 1024 ...
    big = [_row("handwritten", 1.0, 4096), _row("autodiff", 2.0, 4096)]  # ... and wins at 4096
    (check,) = targets.check(small + big)
    assert check.size == "4096" and check.speed == "met"


def test_table_has_one_line_per_size_with_the_ratio() -> None:
    lines = report.rows([_row("handwritten", 2e-6), _row("autodiff", 3e-6), _row("copy", 1e-6)])
    assert len(lines) == 1
    text = report.table(lines)
    assert "0.67 (0.67-0.67)" in text and "2.0 us" in text and "50%" in text


@pytest.mark.parametrize("mode", list(timing.Wait))
def test_every_wait_mode_runs_every_call_and_returns_the_last_result(mode: timing.Wait) -> None:
    """The calls of a sample are all run, whichever way they are waited for (each one on the
    CPU, the last one on a GPU, none for a host peer), and the result kept is the last call's."""
    calls: list[None] = []

    def call() -> jax.Array:
        calls.append(None)
        return jax.numpy.asarray(len(calls))

    found, last = timing.measure(call, timing.QUICK, mode)
    assert found.repeats >= timing.QUICK.min_repeats
    # one sizing sample (1 + 1 call), then each sample: one untimed call + `inner` timed ones
    assert len(calls) == 2 + found.repeats * (1 + found.inner)
    assert int(last) == len(calls)


def test_a_program_without_a_wait_mode_is_refused() -> None:
    # A bare function (the old `timing.wait`) in place of a mode would time calls never waited for.
    with pytest.raises(TypeError, match=r"timing\.Wait"):
        timing.measure(lambda: jax.numpy.zeros(3), timing.QUICK, timing.wait)  # type: ignore[arg-type]


def test_grading_table_states_each_target_met_or_not() -> None:
    from benchmarks.grading import Measurement, table

    rows = [
        Measurement("bare JAX start", 1.0, 1.1, 1.0),
        Measurement("solution", 7.5, 12.0, 7.5, 5.0),
        Measurement("template", 1.5, 1.6, 1.5, 2.0),
    ]
    lines = table(rows).splitlines()
    assert lines[2].endswith("<= 5x: NOT met") and lines[3].endswith("<= 2x: met") and lines[1].endswith("1.0x")
    assert [r.met for r in rows] == [None, False, True]


def test_grading_cpu_count_reads_the_whole_machine() -> None:
    """The CPU seconds of a run count every process on the machine (the sandboxed workers are
    not the grader's children for rusage): a child that spins for 0.3 s of CPU is counted."""
    from benchmarks.grading import timed

    wall, cpu, last = timed(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nprint('done')",
        ]
    )
    assert last == "done" and cpu is not None and cpu >= 0.25 and wall >= 0.25
