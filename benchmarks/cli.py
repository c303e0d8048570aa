"""`handgrad bench` and `python -m benchmarks`: arguments, validation, and the run.

`add_arguments(parser)` declares the options on any argparse parser; `run(args)` checks them
all before anything is measured (a bad one is a one-line error and exit status 2), measures,
prints the table and the targets, and writes the JSON and the PNG when asked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.files import not_writable
from handgrad.errors import UsageError
from handgrad.outputs import replace_problem

DEVICE_CHOICES = ("cpu", "gpu", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the benchmark's options on `parser` (a top-level parser or a subcommand's)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, float32 only, few repeats, no verdicts: a smoke test (under a minute on 2 cores)",
    )
    parser.add_argument("--json", metavar="OUT", type=Path, help="write every result row as JSON to OUT")
    parser.add_argument("--plot", metavar="OUT.png", type=Path, help="write a PNG figure to OUT.png (needs matplotlib)")
    parser.add_argument(
        "--device",
        default="all",
        metavar="cpu|gpu|all",
        help="where to measure (default all: every platform present, and the batch sharded over all "
        "devices where there are several)",
    )
    parser.add_argument(
        "--dtype",
        action="extend",
        nargs="+",
        metavar="DTYPE",
        help="float32, float64, float16, bfloat16 (default float32 and float64; float32 with --quick)",
    )
    parser.add_argument(
        "--cases", action="extend", nargs="+", metavar="NAME", help="only these gradients (default: every one)"
    )
    parser.add_argument(
        "--hlo",
        metavar="DIR",
        type=Path,
        help="also write the optimised HLO of every program to DIR (an existing folder, or a new one in an existing "
        "folder)",
    )
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc as it is: large outputs then page-fault anew on every call (see allocator.py)",
    )
    grading = parser.add_argument_group("grading", "--grading times `handgrad grade` instead (benchmarks/grading.py)")
    grading.add_argument(
        "--grading",
        action="store_true",
        help="time grading: the reference solution, the untouched template and a class, against a bare JAX start",
    )
    # (default None: given without --grading, they are refused rather than ignored; GRADING_DEFAULTS fills them in)
    grading.add_argument("--class-size", type=int, metavar="N", help="submissions in the class (default 4)")
    grading.add_argument("--jobs", type=int, metavar="J", help="--jobs for the class (default 2)")
    grading.add_argument("--repeats", type=int, metavar="R", help="runs of each, the best kept (default 1)")
    parser.set_defaults(bench_prog=parser.prog)


GRADING_DEFAULTS = {"class_size": 4, "jobs": 2, "repeats": 1}
"""The --grading options and their defaults."""


def _split(values: Sequence[str] | None) -> list[str]:
    """["a,b", "c"] -> ["a", "b", "c"]: lists may be given with commas or spaces."""
    return [v for item in values or () for v in item.split(",") if v]


def _entries(names: Sequence[str]) -> tuple[Any, ...]:
    from benchmarks.cases import gradient_entries

    entries = gradient_entries()
    known = [e.name for e in entries]
    for name in names:
        if name not in known:
            hint = next((f" (did you mean {e.name}?)" for e in entries if e.of == name), "")
            raise UsageError(f"unknown case {name!r}{hint}; known: {', '.join(known)}")
    return tuple(e for e in entries if not names or e.name in names)


def _dtypes(names: Sequence[str], quick: bool, entries: Sequence[Any]) -> tuple[str, ...]:
    known = list(dict.fromkeys(d for e in entries for d in e.dtypes))
    for name in names:
        if name not in known:
            raise UsageError(f"unknown dtype {name!r}; the chosen cases run in: {', '.join(known)}")
    if names:
        return tuple(dict.fromkeys(names))
    return ("float32",) if quick else ("float32", "float64")


def _gpus() -> list[Any]:
    import jax

    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU
        return []


def _placements(choice: str) -> tuple[tuple[Any, ...], list[str]]:
    """The placements for --device, and notes on what was left out."""
    import jax

    from benchmarks.cases import sharded, single

    if choice not in DEVICE_CHOICES:
        raise UsageError(f"unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    gpus = _gpus()
    if choice == "gpu" and not gpus:
        raise UsageError("--device gpu: this machine has no GPU that JAX can use (devices: cpu)")
    notes = []
    found = []
    if choice in ("cpu", "all"):
        found.append(single(jax.devices("cpu")[0]))
    if choice in ("gpu", "all") and gpus:
        found.append(single(gpus[0]))
    if choice == "all":
        local = jax.local_devices()
        if len(local) > 1:
            found.append(sharded(local))
        else:
            notes.append(
                "sharding not measured: one device only (on CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2 "
                "gives two)"
            )
        if not gpus:
            notes.append("GPU not measured: no GPU here")
    return tuple(found), notes


def _output(path: Path | None, what: str) -> Path | None:
    if path is None:
        return None
    if not path.parent.is_dir():
        raise UsageError(f"--{what} {path}: no folder {path.parent} (create it first)")
    if path.is_dir():
        raise UsageError(f"--{what} {path}: is a folder, give a file name")
    problem = replace_problem(path, what)
    if problem:
        raise UsageError(f"--{what} {path}: {problem}")
    why = not_writable(path.parent)
    if why:
        raise UsageError(f"--{what} {path}: {path.parent} cannot be written ({why})")
    return path


def _hlo_dir(path: Path | None) -> Path | None:
    """--hlo DIR: an existing folder one can write, or a new one in such a folder (made by
    _make_hlo_dir once every other argument is checked; a missing parent is not created)."""
    if path is None:
        return None
    if path.is_dir():
        folder = path
    elif path.exists() or path.is_symlink():
        raise UsageError(f"--hlo {path}: is not a folder (a file is there); name a folder for the HLO files")
    elif not path.parent.is_dir():
        raise UsageError(f"--hlo {path}: no such folder {path.parent} (it is not created for you)")
    else:
        folder = path.parent
    why = not_writable(folder)
    if why:
        raise UsageError(f"--hlo {path}: {folder} cannot be written ({why})")
    return path


def _make_hlo_dir(path: Path | None) -> None:
    if path is None or path.is_dir():
        return
    try:
        path.mkdir()
    except OSError as exc:
        raise UsageError(f"--hlo {path}: cannot be created ({exc.strerror or exc})") from None


def _configure_jax() -> None:
    import jax

    # float64 cases need x64; float32 inputs stay float32 under it.
    jax.config.update("jax_enable_x64", True)
    # The checker turns XLA's optimisations off to compile faster (handgrad.configure_for_checking);
    # benchmarks measure what users run, so make sure they are on.
    jax.config.update("jax_disable_most_optimizations", False)


def _options(args: argparse.Namespace) -> tuple[Any, list[str], str]:
    """Every argument checked, before anything is measured; then the process set up."""
    from benchmarks import allocator, cases, runner, timing

    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'handgrad[bench]'") from None
    entries = _entries(_split(args.cases))
    dtypes = _dtypes(_split(args.dtype), args.quick, entries)
    _output(args.json, "json")
    _output(args.plot, "plot")
    _hlo_dir(args.hlo)
    if args.device not in DEVICE_CHOICES:  # checked again with the devices, but before any set-up
        raise UsageError(f"unknown device {args.device!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    # Before JAX starts its backend and threads (see allocator.py).
    memory = "system default" if args.default_allocator else allocator.reuse_freed_memory() or "system default"
    placements, notes = _placements(args.device)  # refuses a missing GPU before any setting changes
    _configure_jax()
    options = runner.Options(
        entries=entries,
        dtypes=dtypes,
        placements=placements,
        sizes=cases.QUICK if args.quick else cases.FULL,
        settings=timing.QUICK if args.quick else timing.FULL,
        hlo_dir=args.hlo,
    )
    if not runner.tasks(options):
        raise UsageError(f"nothing to measure: no chosen case runs in {', '.join(dtypes)}")
    _make_hlo_dir(args.hlo)  # the last check passed: nothing is made for a run refused
    return options, notes, memory


def _progress(total: int) -> Any:
    from tqdm import tqdm

    # disable=None: a bar on a terminal, silence in logs and pipes.
    return tqdm(total=total, desc="bench", unit="run", file=sys.stderr, disable=None, dynamic_ncols=True, leave=False)


def run(args: argparse.Namespace) -> int:
    """Validate, measure, report. 0 on success, 2 on a bad argument (one line on stderr)."""
    prog = getattr(args, "bench_prog", "bench")
    try:
        _grading_options(args)
    except UsageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    if getattr(args, "grading", False):
        return _run_grading(args, prog)
    try:
        options, notes, memory = _options(args)
    except UsageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    from benchmarks import runner

    planned = runner.tasks(options)
    where = ", ".join(p.name for p in options.placements)
    print(
        f"Measuring {len(options.entries)} gradients in {', '.join(options.dtypes)} on {where}"
        f"{' (quick)' if args.quick else ''}: {runner.count(options, planned)} programs; allocator: {memory}",
        file=sys.stderr,
    )
    bar = _progress(runner.count(options, planned))

    def tick(label: str) -> None:
        bar.set_postfix_str(label, refresh=False)
        bar.update(1)

    try:
        outcome = runner.run(options, tick)
    finally:
        bar.close()
    return _report(args, options, outcome, notes, memory, prog)


def _grading_options(args: argparse.Namespace) -> None:
    """--class-size, --jobs, --repeats: whole numbers of at least 1 (always checked), given
    only with --grading (nothing else reads them); then their defaults filled in."""
    given = [n for n in GRADING_DEFAULTS if getattr(args, n, None) is not None]
    for name in given:
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if given and not getattr(args, "grading", False):
        flags = ", ".join(f"--{n.replace('_', '-')}" for n in given)
        raise UsageError(f"{flags}: only with --grading (they set up the grading benchmark)")
    for name, default in GRADING_DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, default)


def _run_grading(args: argparse.Namespace, prog: str) -> int:
    """--grading: the options that apply checked first, then benchmarks/grading.py."""
    from benchmarks import grading

    try:
        others = [f"--{n}" for n in ("plot", "hlo", "cases", "dtype") if getattr(args, n)] + ["--quick"] * args.quick
        if others:
            raise UsageError(f"{', '.join(others)}: only for the formula benchmark, not with --grading")
        _output(args.json, "json")
    except UsageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    return grading.run(args.class_size, args.jobs, args.repeats, args.json, prog)


def unwritten(prog: str, what: str, path: Path, exc: OSError) -> int:
    """Say that an output checked before the run could not be written after it (the disk
    filled, the folder changed meanwhile): one line, exit status 2, the table already shown."""
    print(f"{prog}: --{what} {path}: cannot be written ({exc.strerror or exc}); the table above is the result",
          file=sys.stderr)  # fmt: skip
    return 2


def _report(args: argparse.Namespace, options: Any, outcome: Any, notes: list[str], memory: str, prog: str) -> int:
    """The table, the targets and what was not measured on stdout; then the JSON and the PNG."""
    from benchmarks import machine, report, targets

    host = next((p.name for p in options.placements if p.platform == "cpu" and not p.sharded), "cpu")
    # --quick sizes prove nothing either way: no verdicts are printed or written for them.
    checks = [] if args.quick else targets.check(outcome.results, "float32", host)
    print(report.table(report.rows(outcome.results)))
    print()
    print(report.targets_text(checks, quick=args.quick))
    skipped = report.skipped_text(outcome.skipped)
    if skipped:
        print()
        print(skipped)
    caps = sorted({f"{r.case} {report.size_label(r)}: {r.note}" for r in outcome.results if r.note})
    if caps or notes:
        print("\nNotes:")
        print("\n".join(f"  {line}" for line in [*caps, *notes]))
    if args.json is not None:
        settings = {
            "quick": args.quick,
            "dtypes": list(options.dtypes),
            "devices": [p.name for p in options.placements],
            "timing": asdict(options.settings),
            "allocator": memory,
            "notes": notes,
        }
        doc = report.document(machine.describe(), outcome.results, outcome.skipped, checks, settings)
        try:
            report.write_json(args.json, doc)
        except OSError as exc:
            return unwritten(prog, "json", args.json, exc)
        print(f"\nwrote {args.json}")
    if args.plot is not None:
        from benchmarks.plot import plot

        try:
            plot(outcome.results, args.plot, quick=args.quick)
        except OSError as exc:
            return unwritten(prog, "plot", args.plot, exc)
        print(f"wrote {args.plot}")
    return 0


def build_parser(prog: str = "python -m benchmarks") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Time hand-written gradients against JAX autodiff, the forward and a copy, under jit."
    )
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
