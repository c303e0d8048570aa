"""`handgrad bench --grading`: how long a student and an instructor wait, against a bare JAX start.

Each measurement runs `handgrad grade` as a fresh process, as its users do, and records its
wall-clock time and the CPU seconds the whole machine spent meanwhile (read from /proc/stat,
so the sandboxed workers, which are not the grader's children in rusage terms, are counted;
on a busy machine that count includes others' work, which is why the machine's load average
is written beside it). Every time is also given as a ratio to a bare JAX start
(`import jax` and one tiny computation in a fresh interpreter), the unit issue 18 states its
targets in: the reference solution in at most 5x, the untouched template in at most 2x.

The runs share a fresh compilation cache (HANDGRAD_CACHE_DIR, handgrad/grading/compile_cache.py),
so the first grade of the solution pays every compile, as a new installation's first grade
does; the solution graded again, and then with one function changed, find what earlier grades
of their path compiled, and check every function anew (`--recheck`). The last two rows are what
a student iterating on one derivation waits for by default: the solution unchanged, and with
one line added to relu, where every function whose code is unchanged keeps its verdict
(handgrad/grading/verdicts.py).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BARE_JAX = "import jax; jax.numpy.ones(1).block_until_ready()"
TARGETS = {"solution": 5.0, "template": 2.0}
"""Issue 18's targets, as ratios to a bare JAX start (wall clock, one run on the machine)."""


@dataclass(frozen=True)
class Measurement:
    what: str
    wall_s: float
    cpu_s: float | None
    ratio: float
    """wall_s over the bare JAX start's."""
    target: float | None = None
    detail: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


def _busy_jiffies() -> int | None:
    """CPU time spent by the whole machine so far, in clock ticks (None without /proc)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in fields]
    return sum(values) - values[3] - (values[4] if len(values) > 4 else 0)  # all but idle and iowait


CHANGED = "\n\ndef relu(x):\n    return jnp.where(x > 0, x, jnp.zeros_like(x))\n"
"""Appended to the solution for the "one function changed" run: relu written another way
(a later definition replaces the first, so exactly one function's programs are new)."""


def edited_in_place(source: str, name: str = "relu") -> str:
    """`source` with one line added to the body of `name`, as a student's edit: the function's
    code changes, and every line below it moves down by one."""
    tree = ast.parse(source)
    (node,) = (s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == name)
    last = node.body[-1]
    lines = source.splitlines(keepends=True)
    lines.insert(last.lineno - 1, " " * last.col_offset + "x = x  # edited\n")
    return "".join(lines)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float | None, str]:
    """(wall seconds, machine CPU seconds, last output line) of running `command` to its end."""
    before, started = _busy_jiffies(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = _busy_jiffies()
    cpu = None if before is None or after is None else (after - before) / os.sysconf("SC_CLK_TCK")
    if done.returncode not in (0, 1):  # grade exits 1 when a submission loses marks: expected here
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return wall, cpu, lines[-1] if lines else ""


def _handgrad(*args: str) -> list[str]:
    return [sys.executable, "-m", "handgrad", *args]


def measure(class_size: int = 4, jobs: int = 2, repeats: int = 1) -> tuple[list[Measurement], dict[str, Any]]:
    """Every measurement; the best of `repeats` runs of each (the least disturbed by others).
    A first grade is measured once per repeat with an empty cache of its own."""
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="handgrad-bench-") as tmp:
        root = Path(tmp)
        caches = iter(range(1 << 30))

        def fresh_cache() -> dict[str, str]:
            env = {**os.environ, "HANDGRAD_CACHE_DIR": str(root / f"cache-{next(caches)}")}
            env.pop("HANDGRAD_RECHECK", None)  # (the rows that check everything again say --recheck)
            return env

        solution, template = root / "solution.py", root / "template.py"
        for command, path in (("solution", solution), ("template", template)):
            path.write_text(subprocess.run(_handgrad(command), capture_output=True, text=True, check=True).stdout)
        klass = root / "class"
        klass.mkdir()
        for i in range(class_size):  # alternately right and untouched: what a class hands in early on
            shutil.copy(solution if i % 2 == 0 else template, klass / f"student_{i:03d}.py")

        def best(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float | None, str]:
            runs = [timed(command, env or fresh_cache()) for _ in range(max(1, repeats))]
            return min(runs, key=lambda r: r[0])

        bare, bare_cpu, _ = best([sys.executable, "-c", BARE_JAX])
        rows.append(Measurement("bare JAX start", bare, bare_cpu, 1.0))
        wall, cpu, last = best(_handgrad("grade", str(solution), "--quiet", "--seed", "0"))
        rows.append(Measurement("solution", wall, cpu, wall / bare, TARGETS["solution"], last))
        warm = fresh_cache()
        timed(_handgrad("grade", str(solution), "--quiet"), warm)  # fills `warm`: programs and verdicts
        again = ("--quiet", "--seed", "1", "--recheck")  # every check run again, the programs found
        wall, cpu, last = best(_handgrad("grade", str(solution), *again), warm)
        rows.append(Measurement("solution graded again", wall, cpu, wall / bare, None, last))
        one = ("--function", "softmax_vjp", "--fail-fast")  # the README's loop on one derivation
        wall, cpu, last = best(_handgrad("grade", str(solution), *again, *one), warm)
        rows.append(Measurement("one function of it, graded again", wall, cpu, wall / bare, None, last))
        original = solution.read_text()
        try:
            solution.write_text(original + CHANGED)
            wall, cpu, last = best(_handgrad("grade", str(solution), "--quiet", "--seed", "2", "--recheck"), warm)
            rows.append(Measurement("solution, one function changed", wall, cpu, wall / bare, None, last))
            # What a student re-grading waits for: the verdicts of unchanged code are kept.
            solution.write_text(original)
            wall, cpu, last = best(_handgrad("grade", str(solution), "--quiet"), warm)
            rows.append(Measurement("solution unchanged, verdicts kept", wall, cpu, wall / bare, None, last))
            solution.write_text(edited_in_place(original))
            wall, cpu, last = best(_handgrad("grade", str(solution), "--quiet"), warm)
            rows.append(Measurement("one function edited, rest kept", wall, cpu, wall / bare, None, last))
        finally:
            solution.write_text(original)
        wall, cpu, last = best(_handgrad("grade", str(template), "--quiet", "--seed", "0"))
        rows.append(Measurement("template", wall, cpu, wall / bare, TARGETS["template"], last))
        out = root / "out"
        files = sorted(str(p) for p in klass.iterdir())
        wall, cpu, last = best(
            _handgrad("grade", *files, "--quiet", "--seed", "0", "--jobs", str(jobs), "--out", str(out), "--recheck")
        )
        what = f"class of {class_size} (--jobs {jobs})"
        rows.append(Measurement(what, wall, cpu, wall / bare, None, last))
    settings = {"class_size": class_size, "jobs": jobs, "repeats": repeats, "load_average": list(os.getloadavg())}
    return rows, settings


def table(rows: list[Measurement]) -> str:
    lines = [f"{'what':32s} {'wall':>8s} {'CPU':>8s} {'x bare JAX':>11s}  target"]
    for r in rows:
        cpu = f"{r.cpu_s:7.1f}s" if r.cpu_s is not None else "       -"
        target = "" if r.target is None else f"<= {r.target:g}x: {'met' if r.met else 'NOT met'}"
        lines.append(f"{r.what:32s} {r.wall_s:7.2f}s {cpu} {r.ratio:10.1f}x  {target}".rstrip())
    return "\n".join(lines)


def run(class_size: int, jobs: int, repeats: int, json_path: Path | None, prog: str = "bench") -> int:
    from benchmarks import machine
    from benchmarks.cli import unwritten
    from benchmarks.files import replace_file

    rows, settings = measure(class_size, jobs, repeats)
    print(table(rows))
    if json_path is not None:
        table_rows = [asdict(r) | {"met": r.met} for r in rows]
        doc = {"kind": "grading", "machine": machine.describe(), "settings": settings, "rows": table_rows}
        try:
            replace_file(json_path, json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            return unwritten(prog, "json", json_path, exc)
        print(f"\nwrote {json_path}")
    return 0
