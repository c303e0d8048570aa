"""The `handgrad` command: a thin layer over the library functions."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from handgrad import __version__
from handgrad.errors import UsageError
from reference.names import NAMES
from reference.tolerances import DTYPES

if TYPE_CHECKING:  # the grading modules load JAX: imported when a command runs
    from handgrad.grading import reports as reports_module
    from handgrad.grading.grader import Options, SubmissionGrade

T = TypeVar("T")


def _progress(total_desc: str) -> Callable[[Iterable[T]], Iterable[T]]:
    from tqdm import tqdm

    def wrap(items: Iterable[T]) -> Iterable[T]:
        return tqdm(items, desc=total_desc, unit="case", file=sys.stderr, leave=False, dynamic_ncols=True)

    return wrap


def _function_name(text: str) -> str:
    """A contract function's name; a typo is answered with the nearest names, not all 24."""
    if text in NAMES:
        return text
    import difflib

    near = difflib.get_close_matches(text, NAMES, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(near)}?" if near else "docs/contract.md lists all 24"
    raise argparse.ArgumentTypeError(f"no contract function is named {text!r}: {hint}")


def _dtype_names(text: str) -> list[str]:
    """One --dtype value: a dtype or a comma list of them ("float32,float16"), as bench takes."""
    import difflib

    names = [n for n in text.split(",") if n]
    for name in names:
        if name not in DTYPES:
            close = difflib.get_close_matches(name, DTYPES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise argparse.ArgumentTypeError(f"unknown dtype {name!r}{hint}; known: {', '.join(DTYPES)}")
    if not names:
        raise argparse.ArgumentTypeError("an empty dtype list")
    return names


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            bound = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {value}")
        return value

    return parse


_not_negative = _whole_number(0)
_at_least_one = _whole_number(1)


def cmd_check(args: argparse.Namespace) -> int:
    if args.paths:
        raise UsageError(
            "check verifies the shipped handwritten/ formulas and takes no file; "
            f"to check your own, run: handgrad grade {' '.join(args.paths)}"
        )
    import handwritten
    from handgrad import configure_for_checking
    from handgrad.cases import build_cases
    from handgrad.engine import InProcess, run_all
    from handgrad.evaluate import available_devices, default_devices
    from handgrad.table import HEADER, rows, seed_lines, seed_table, table
    from reference.catalog import CATALOG

    configure_for_checking()
    devices = default_devices()
    if args.device:
        here = available_devices()
        unknown = [d for d in args.device if d not in here]
        if unknown:
            why = " (sharded needs two or more devices)" if "sharded" in unknown else ""
            raise UsageError(f"unknown device {', '.join(unknown)}{why}; this machine has: {', '.join(here)}")
        devices = list(dict.fromkeys(args.device))  # a device named twice is checked once
    entries = [e for e in CATALOG if not args.function or e.name in args.function]
    dtypes = list(dict.fromkeys(d for group in args.dtype for d in group)) if args.dtype else None
    cases = build_cases(entries, dtypes=dtypes, devices=devices)
    if not cases:
        raise UsageError("no case matches the chosen --function/--dtype/--device")
    results = run_all(InProcess(handwritten), cases, strict=args.strict, progress=_progress("check"))
    table_rows = rows(results)
    print(table([r.cells() for r in table_rows], HEADER))
    failed = [r for r in results if not r.ok]
    for r in failed[: args.show]:
        print()
        print(r.message())
    if len(failed) > args.show:
        print(f"\n... and {len(failed) - args.show} more failed cases")
    lines = seed_lines(vars(handwritten))
    print("\nThe seed's worked example (3 inputs, 2 hidden, 1 output), float64:")
    print(seed_table(lines))
    seed_ok = all(s.matches_contract for s in lines)
    n_ok = len(results) - len(failed)
    mode = "strict kink conventions" if args.strict else "any valid subgradient at kinks"
    print(f"\n{n_ok}/{len(results)} cases agree ({mode}); devices: {', '.join(devices)}")
    return 0 if not failed and seed_ok else 1


def _size(text: str) -> int:
    """Bytes, with an optional K/M/G/T/P/E suffix: 4G, 512M, 1T, 1073741824."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 4G, 512M or bytes)") from None


MIN_MEMORY = 256 << 20
"""A worker's smallest memory cap: JAX alone needs about that much."""
MAX_MEMORY = 1 << 60
"""A worker's largest memory cap, 1E: its address-space limit (about twice the cap, plus some
gigabytes: pool.address_space) must fit setrlimit's 2^63 - 1 bytes."""


def _memory(text: str) -> int:
    size = _size(text)
    if size < MIN_MEMORY:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 256M (JAX alone needs that much)")
    if size > MAX_MEMORY:
        raise argparse.ArgumentTypeError(
            f"{text}: must be at most 1E (2^60 bytes; the system takes no larger limit, and no machine has as much)"
        )
    return size


def _seconds(text: str, least: float = 0.0, why: str = "") -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, not {text}")
    if value < least:
        raise argparse.ArgumentTypeError(f"{text} s is too short: at least {least:g} s ({why})")
    return value


def _call_seconds(text: str) -> float:
    # Below a second every function fails as "slow", right or wrong: its first call compiles.
    return _seconds(text, 1.0, "a function's first call compiles it, which alone can take most of a second")


def _budget_seconds(text: str) -> float:
    return _seconds(text, 10.0, "starting a worker and compiling one function's checks take several seconds")


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shard: {text!r} (use K/N, e.g. 1/4)") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"shard {text}: need 1 <= K <= N")
    return k, n


def _grade_options(args: argparse.Namespace) -> Options:
    from handgrad.grading.grader import Options
    from handgrad.grading.pool import Limits
    from handgrad.grading.rubric import Rubric, RubricError, load

    try:
        rubric = load(args.rubric) if args.rubric else Rubric()
    except RubricError as exc:
        raise UsageError(str(exc)) from None
    functions = tuple(args.function) if args.function else NAMES
    if not any(rubric.weights[name] for name in functions):
        raise UsageError(f"every function graded ({', '.join(functions)}) weighs 0 in {args.rubric}: nothing to earn")
    return Options(
        strict=args.strict,
        allow_autodiff=args.allow_autodiff,
        limits=Limits(timeout=args.timeout, memory=args.memory, budget=args.budget),
        insecure=args.insecure,
        seed=args.seed,
        jobs=args.jobs,
        rubric=rubric,
        functions=functions,
        fail_fast=args.fail_fast,
        cache=not args.no_cache,
        reuse=not (args.no_cache or args.recheck or os.environ.get(RECHECK_ENV, "").strip() not in ("", "0")),
    )


RECHECK_ENV = "HANDGRAD_RECHECK"
"""Set (to anything but 0): every grade checks every function anew, as --recheck does (the
test suite sets it, so that no test reads a verdict another test's grade kept)."""

_AS_COMMAND = False
"""Set by entry(): this process is the `handgrad` command, not main() called from Python."""


def _use_grader_cache() -> None:
    """Keep what this process compiles (the references) for the next grade, where the
    submissions run sealed away from it (handgrad/grading/compile_cache.py). Without a full
    sandbox a submission runs with this user's rights and could write the cache, so none.
    Only in the `handgrad` command's own process: main() called from Python (a notebook, a
    test) would otherwise write every later compile of its caller to disk."""
    from handgrad.grading import compile_cache, sandbox

    if not _AS_COMMAND:
        return

    try:
        full = sandbox.detect().full
    except sandbox.SandboxError:
        return  # (grade_many says why)
    where = compile_cache.grader_dir() if full else None
    if where is not None:
        compile_cache.use(where)


def cmd_grade(args: argparse.Namespace) -> int:
    from pathlib import Path

    from handgrad.grading.submission import SubmissionError, resolve  # light: no JAX

    paths = _once_each(args.paths)
    class_paths = paths  # the whole class: its report names and marks.csv's order do not depend on --shard
    if args.shard:
        k, n = args.shard
        paths = [p for i, p in enumerate(sorted(paths)) if i % n == k - 1]
        if not paths:
            raise UsageError(f"shard {k}/{n} holds no submission")
    if args.json is not None and not args.json.strip():
        raise UsageError("--json needs a file name (or - for standard output)")
    if args.out is not None and not args.out.strip():
        raise UsageError("--out needs a folder name")
    if args.json and len(paths) > 1:
        raise UsageError("--json writes one submission's results; use --out DIR for several")
    if args.json and args.json != "-":
        from handgrad.outputs import replace_problem

        target = Path(args.json)
        if target.is_dir():
            raise UsageError(f"--json {args.json}: is a directory; name the file, e.g. {target / 'results.json'}")
        problem = replace_problem(target, "report", paths)
        if problem:
            raise UsageError(f"--json {args.json}: {problem}")
    problems = []
    for p in paths:  # every path is checked, so a class's bad paths are all named at once
        try:
            resolve(p)
        except SubmissionError as exc:
            problems.append(str(exc) + ("" if args.json else _many_files_pointer(p)))  # not in a student's results
    if len(paths) > 1 and all(p.exists() or p.is_symlink() for p in paths):
        # A class: an upload with nothing to grade is that student's 0 (reason "refused", the
        # message in their report), not the end of everyone's run. A path that does not exist
        # is the instructor's typo, and stops the run below before any work.
        for problem in problems:
            print(f"handgrad: {problem}: graded 0", file=sys.stderr)
        problems = []
    if len(problems) > 1:
        listed = "\n  ".join(problems)
        raise UsageError(f"{len(problems)} of {len(paths)} paths hold no gradable submission:\n  {listed}")
    if problems and not args.json:
        raise UsageError(problems[0])  # at once, before JAX loads

    from handgrad import configure_for_checking
    from handgrad.grading import reports
    from handgrad.grading.grader import grade_many
    from handgrad.grading.sandbox import SandboxError

    configure_for_checking()  # for the references computed here, and inherited by the workers
    try:  # every output place exists and is safe before any worker starts
        json_target = reports.FileTarget(args.json) if args.json else None
    except reports.TargetError as exc:
        raise UsageError(str(exc)) from None
    if problems:  # Gradescope's results.json says it too
        if json_target is not None:
            json_target.write(reports.json_text(reports.gradescope_error(problems[0])))
        raise UsageError(problems[0])
    options = _grade_options(args)
    if options.cache:
        _use_grader_cache()
    report_names = reports.report_names(class_paths)
    try:  # created only once every path is known to hold a submission
        out_dir = reports.Target(Path(args.out), create=True) if args.out else None
        if out_dir is not None:
            _check_out(out_dir, paths, report_names, options)
    except reports.TargetError as exc:
        raise UsageError(str(exc)) from None

    def save(path: Path, grade: SubmissionGrade) -> None:
        if out_dir is not None:
            name = f"{report_names[path]}.json"
            try:  # (checked before grading: something put there since is kept, and said; the class goes on)
                out_dir.write(name, reports.json_text(reports.gradescope(grade)), "report")
            except reports.TargetError as exc:
                print(f"handgrad grade: {exc}", file=sys.stderr)
            except OSError as exc:
                print(
                    f"handgrad grade: {out_dir.path / name}: cannot be written ({exc.strerror or exc})", file=sys.stderr
                )

    try:
        if len(paths) > 1 or out_dir is not None:
            from tqdm import tqdm

            total = len(paths) * len(options.functions)
            bar = tqdm(total=total, desc="grade", unit="fn", file=sys.stderr, leave=False)
            grades = grade_many(paths, options, on_done=save, on_progress=bar.update)
            bar.close()
        else:
            grades = grade_many(paths, options)
    except SandboxError as exc:
        if json_target is not None:
            json_target.write(reports.json_text(reports.gradescope_error(str(exc))))
        raise UsageError(str(exc)) from None
    # Checked before grading; what changed since (a folder made at that name, a full disk) is
    # said after the grades are shown (exit 2), never a traceback that hides them.
    unwritten, rows = [], 0
    if out_dir is not None:
        order = [reports.submission_cell(p) for p in class_paths]
        try:
            rows = reports.write_marks(out_dir, reports.marks_csv(grades, report_names), order)
        except reports.TargetError as exc:
            unwritten.append(str(exc))
        except OSError as exc:
            unwritten.append(f"{out_dir.path / 'marks.csv'}: cannot be written ({exc.strerror or exc})")
    if json_target is not None:
        try:
            json_target.write(reports.json_text(reports.gradescope(grades[0])))
        except reports.TargetError as exc:
            unwritten.append(str(exc))
        except OSError as exc:
            unwritten.append(f"{args.json}: cannot be written ({exc.strerror or exc})")
    report = sys.stderr if json_target is not None and json_target.stdout else sys.stdout
    for g in grades:
        print(reports.text(g, verbose=not args.quiet and len(grades) == 1), file=report)
        if len(grades) > 1:
            print(file=report)
    if len(grades) > 1:
        print(reports.failures(grades), file=report)
    if unwritten:
        raise UsageError("; ".join(unwritten))
    if out_dir is not None:
        earlier = f" ({rows - len(grades)} of its rows from earlier runs)" if rows > len(grades) else ""
        print(f"wrote {len(grades)} reports and marks.csv{earlier} to {out_dir.path}", file=report)
    return 0 if all(g.full_marks for g in grades) else 1


def _once_each(texts: Sequence[str]) -> list[Path]:
    """The paths given, less every one that names a submission given before it (a.py, ./a.py
    and /abs/a.py; a folder and the one file it is graded as; a hard link), said in one line
    on stderr: each submission is graded once and has one row. Same means the same file
    once resolved (resolve()); a path that does not resolve is compared as itself (a link
    is refused when graded, so it is not the file it points to)."""
    from handgrad.escape import printable
    from handgrad.grading.submission import SubmissionError, resolve

    def identity(path: Path) -> object:
        try:
            st = os.stat(resolve(path), follow_symlinks=False)
        except (SubmissionError, OSError):
            try:
                st = os.stat(path, follow_symlinks=False)  # (a link: itself, refused when graded)
            except OSError:
                return os.path.normpath(path)
        return st.st_dev, st.st_ino

    first: dict[object, str] = {}
    kept, dropped = [], []
    for text in texts:
        path = Path(text)
        key = identity(path)
        if key in first:
            dropped.append(printable(f"{text} is {first[key]}", newlines=False))
        else:
            first[key] = text
            kept.append(path)
    if dropped:
        listed = ", ".join(dropped[:3]) + (f" and {len(dropped) - 3} more" if len(dropped) > 3 else "")
        print(f"handgrad grade: {len(dropped)} path(s) name a submission given before ({listed}): "
              "each submission is graded once, with one row", file=sys.stderr)  # fmt: skip
    return kept


def _check_out(out_dir: reports_module.Target, paths: Sequence[Path], names: dict[Path, str], options: Options) -> None:
    """Before any worker starts: every file this run writes in --out DIR is new, a link, or
    one handgrad wrote (an earlier report; a marks.csv for the same functions and total)."""
    from handgrad.grading import reports

    for path in paths:
        out_dir.check_replace(f"{names[path]}.json", "report")
    functions = [n for n in NAMES if n in options.functions]  # marks.csv's columns, in the catalog's order
    total = sum(options.rubric.weights[n] for n in functions)
    cells = {reports.submission_cell(p): names[p] for p in paths}
    reports.check_marks(out_dir, functions, total, cells)


def _many_files_pointer(path: Path) -> str:
    """For a folder of several submissions given as one: how to grade each of them."""
    if path.is_dir() and len(list(path.glob("*.py"))) > 1 and not (path / "__init__.py").exists():
        return (
            f"\n(several students' files: handgrad grade {path}/*.py --out DIR; one student's modules: "
            "an __init__.py that imports the functions makes the folder one package)"
        )
    return ""


def _target_python(text: str | None) -> tuple[str, str | None]:
    """--python X.Y or PATH: (the X.Y to resolve for, the interpreter for --check or None)."""
    import shutil
    import subprocess

    from handgrad.grading.bundle import PYTHONS

    def version(path: str) -> str | None:
        """The X.Y `path` runs as, or None where it does not run (a pyenv shim of a version not selected)."""
        try:
            done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if text is None:
        return PYTHONS[0], None
    if re.fullmatch(r"3\.\d+", text):
        pyenv = sorted(Path.home().glob(f".pyenv/versions/{text}.*/bin/python"), reverse=True)
        candidates = [shutil.which(f"python{text}"), *map(str, pyenv)]
        return text, next((c for c in candidates if c and version(c) == text), None)
    try:
        subprocess.run([text, "--version"], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"--python {text}: cannot run it ({why}); give X.Y or an interpreter") from None
    found = version(text)
    if found is None:
        raise UsageError(f"--python {text}: not a working Python interpreter")
    return found, text


def cmd_bundle(args: argparse.Namespace) -> int:
    from handgrad import starter
    from handgrad.grading.bundle import BundleError, check_bundle, check_target, resolve_constraints, write_bundle
    from handgrad.grading.rubric import RubricError, hidden_points_warning, load

    out = Path(args.out)
    try:
        check_target(out)
    except BundleError as exc:
        raise UsageError(str(exc)) from None
    if args.rubric:
        try:
            warning = hidden_points_warning(load(args.rubric))
        except RubricError as exc:
            raise UsageError(f"{exc} (handgrad rubric {args.rubric} writes a starter rubric)") from None
        if warning:
            print(warning, file=sys.stderr)
    version, interpreter = _target_python(args.python)
    if args.check and interpreter is None:
        raise UsageError(f"--check: no Python {version} found on PATH or in pyenv; give --python PATH")
    options = ["--strict"] if args.strict else []
    options += ["--timeout", str(args.timeout), "--memory", str(args.memory), "--jobs", str(args.jobs)]
    options += ["--budget", str(args.budget)]
    try:
        write_bundle(out, options, args.rubric, resolve_constraints(version))
    except (BundleError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {args.out} for Python {version}: upload it as the Gradescope autograder (setup.sh, run_autograder)")
    if not args.check:
        return 0
    import tempfile

    with tempfile.TemporaryDirectory(prefix="handgrad-check-") as scratch:
        solution, wrong = Path(scratch) / "solution.py", Path(scratch) / "wrong.py"
        solution.write_text(starter.solution(), encoding="utf-8")
        wrong.write_text(starter.solution() + WRONG_TAIL, encoding="utf-8")
        print(f"checking {args.out} with {interpreter} (a fresh venv, then the solution and a wrong file)")
        try:
            problems = check_bundle(out, str(interpreter), solution, wrong)
        except BundleError as exc:
            raise UsageError(str(exc)) from None
    for problem in problems:
        print(f"check failed: {problem}", file=sys.stderr)
    if not problems:
        print("check passed: the solution earns full marks, the wrong file less")
    return 1 if problems else 0


WRONG_TAIL = """

_right_l2_grad = l2_grad


def l2_grad(*args, **kwargs):
    return 0.5 * _right_l2_grad(*args, **kwargs)
"""
"""Appended to the solution for --check: a wrong l2_grad (a forgotten factor 2)."""


def cmd_rubric(args: argparse.Namespace) -> int:
    from handgrad.grading.rubric import starter_text

    text = starter_text()
    if args.path is None or str(args.path) == "-":
        sys.stdout.write(text)
        return 0
    try:
        with open(args.path, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(f"{args.path}: already exists (not replaced)") from None
    except OSError as exc:
        raise UsageError(f"{args.path}: cannot be written ({exc.strerror or exc})") from None
    print(f"wrote {args.path}: every function weighs 1; edit it, then --rubric {args.path}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # Benchmarks measure what users run: configure_for_checking (optimisations off) is never called here.
    from benchmarks.cli import run

    return run(args)


def cmd_starter(args: argparse.Namespace) -> int:
    from handgrad import starter

    text = starter.template() if args.command == "template" else starter.solution()
    if args.path is None or str(args.path) == "-":  # "-" is standard output, as for --json
        sys.stdout.write(text)
        return 0
    if Path(args.path).suffix != ".py" and not Path(args.path).is_dir():
        raise UsageError(f"{args.path}: name it with .py, e.g. my_grads.py (handgrad grade takes a .py file)")
    try:
        starter.write(text, args.path)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {args.path}")
    return 0


def _add_limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="require the contract's convention at kinks and count the checks beyond the contract",
    )
    parser.add_argument(
        "--timeout", type=_call_seconds, default=10.0, help="seconds per function call, at least 1 (default 10)"
    )
    parser.add_argument("--memory", type=_memory, default=4 << 30, help="memory cap of a worker (default 4G)")
    parser.add_argument("--jobs", type=_at_least_one, default=2, help="worker processes in parallel (default 2)")
    parser.add_argument(
        "--budget",
        type=_budget_seconds,
        default=300.0,
        help="CPU seconds of worker time per submission, all functions together, at least 10 (default 300)",
    )


def _unknown_options(parser: argparse.ArgumentParser, command: str | None, unknown: list[str]) -> NoReturn:
    """Exit 2 as argparse does, from `command`'s parser (its usage, not the top level's),
    naming the option a misspelt one is closest to."""
    import difflib

    target = parser
    for action in parser._actions:  # the subcommands' parsers, by name
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            target = action.choices[command]
    known = [o for a in target._actions for o in a.option_strings]
    near = [m for u in unknown if u.startswith("-") for m in difflib.get_close_matches(u.split("=")[0], known, 1)]
    hint = f" (did you mean {' or '.join(dict.fromkeys(near))}?)" if near else ""
    target.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handgrad", description="Check hand-written gradients against JAX's automatic differentiation."
    )
    parser.add_argument("--version", action="version", version=f"handgrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser("check", help="verify the shipped handwritten formulas on the CPU, GPU and sharded")
    check.add_argument("--strict", action="store_true", help="require the contract's convention at kinks")
    check.add_argument(
        "--dtype",
        action="extend",
        nargs="+",
        type=_dtype_names,
        metavar="DTYPE",
        help=f"only these dtypes: {', '.join(DTYPES)} (repeatable; comma or space lists, as for bench)",
    )
    check.add_argument(
        "--device",
        action="append",
        help="this device, e.g. cpu:1, gpu:0, sharded (repeatable; default: the first CPU, the first GPU, sharded)",
    )
    check.add_argument("--function", action="append", type=_function_name, metavar="NAME", help="only this function")
    check.add_argument("paths", nargs="*", help=argparse.SUPPRESS)  # a file here gets a pointer to `grade`
    check.add_argument(
        "--show", type=_not_negative, default=10, help="explain at most this many failed cases (default 10)"
    )
    check.set_defaults(run=cmd_check)

    grade = sub.add_parser("grade", help="grade submissions (a .py file or package each) in a sandbox")
    grade.add_argument("paths", nargs="+", metavar="PATH", help="submission file, package or directory")
    grade.add_argument("--json", metavar="OUT", help="write Gradescope results.json for one submission (- for stdout)")
    grade.add_argument("--out", metavar="DIR", help="write one JSON per submission and marks.csv")
    _add_limits(grade)
    grade.add_argument("--shard", type=_shard, help="grade only the K-th of N shares of the paths, e.g. 1/4")
    grade.add_argument("--allow-autodiff", action="store_true", help="do not fail functions that use autodiff")
    grade.add_argument("--rubric", type=Path, help="TOML with weights and visibility per function")
    grade.add_argument("--seed", type=_not_negative, help="seed for the random inputs (default: fresh each run)")
    grade.add_argument(
        "--function", action="append", type=_function_name, metavar="NAME", help="grade only this function"
    )
    grade.add_argument("--quiet", action="store_true", help="no per-function feedback on stdout")
    grade.add_argument("--fail-fast", action="store_true", help="stop each function at its first failing check")
    grade.add_argument("--insecure", action="store_true",
                       help="grade one submission even without a sandbox (it runs with your rights)")  # fmt: skip
    grade.add_argument("--recheck", action="store_true",
                       help="check every function anew, even one whose code is unchanged since a grade "
                            "that checked it (whose verdict is kept otherwise)")  # fmt: skip
    grade.add_argument("--no-cache", action="store_true",
                       help="compile everything anew and check every function anew: keep no compiled "
                            "program or verdict for the next grade (needed where different students' "
                            "files are graded at one path)")  # fmt: skip
    grade.set_defaults(run=cmd_grade)

    bundle = sub.add_parser("gradescope-bundle", help="write a ready Gradescope autograder zip")
    bundle.add_argument("out", metavar="OUT.zip")
    bundle.add_argument(
        "--rubric", type=Path, help="TOML with weights and visibility per function (default: every function weighs 1)"
    )
    bundle.add_argument(
        "--python",
        metavar="X.Y|PATH",
        help="the Python the autograder will run (default 3.10, Gradescope's Ubuntu 22.04); a PATH also serves --check",
    )
    bundle.add_argument(
        "--check", action="store_true", help="install the bundle in a fresh venv and grade a right and a wrong file"
    )
    _add_limits(bundle)
    bundle.set_defaults(run=cmd_bundle)

    for name, what in (("template", "a starter file: every signature, bodies raising NotImplementedError"),
                       ("solution", "a one-file reference solution built from handwritten/")):  # fmt: skip
        starter = sub.add_parser(name, help=f"write {what}")
        starter.add_argument("path", nargs="?", type=Path, metavar="PATH", help="new file to write (default: stdout)")
        starter.set_defaults(run=cmd_starter)

    rubric = sub.add_parser("rubric", help="write a starter rubric (every function weighs 1) to edit")
    rubric.add_argument("path", nargs="?", type=Path, metavar="FILE", help="new file to write (default: stdout)")
    rubric.set_defaults(run=cmd_rubric)

    try:
        from benchmarks.cli import add_arguments
    except ImportError:  # an install without benchmarks/ (the Gradescope bundle): no bench command
        return parser

    bench = sub.add_parser("bench", help="time hand-written gradients against autodiff, the forward and a copy")
    add_arguments(bench)
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, with its usage and the option meant
        _unknown_options(parser, getattr(args, "command", None), unknown)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"handgrad {args.command}: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("handgrad: terminated", file=sys.stderr)
        return 128 + 15
    except KeyboardInterrupt:
        print("handgrad: interrupted", file=sys.stderr)
        return 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is (as Ctrl-C is): the same clean-up runs, so no
    worker, cgroup or copy of a submission is left behind."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def entry() -> NoReturn:
    """The `handgrad` command: main(), then an exit that skips the interpreter's teardown.
    Freeing JAX's modules and compiled programs took 0.2-0.3 s after every command had
    finished (a third of grading the untouched template). The atexit handlers still run
    (temporary folders, JAX's own clean-up) and the output is flushed; where a thread of
    ours still runs, the exit is the usual one, which waits for it."""
    global _AS_COMMAND
    _AS_COMMAND = True
    signal.signal(signal.SIGTERM, _raise_terminated)
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
