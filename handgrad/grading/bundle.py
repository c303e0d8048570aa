"""`handgrad gradescope-bundle`: a ready Gradescope autograder as a zip.

The zip holds setup.sh (installs this very handgrad, from the source inside the zip, into
/autograder/venv, every dependency held to the versions in constraints.txt), run_autograder
(grades /autograder/submission into /autograder/results/results.json) and, when given, the
rubric. constraints.txt is resolved for the TARGET Python (`--python 3.10`, default the
oldest the project supports: Gradescope's Ubuntu 22.04 image has 3.10), from wheels that
exist for it, not copied from this machine: versions installed here may not exist there.
The zip is reproducible: sorted entries, fixed timestamps and modes, nothing grading does
not use (benchmarks, results). It holds a marker, MARKER: an existing file at the target is
replaced only when it is such a bundle (is_bundle), never a class's export or any other zip.
Environment variables (docs/grading.md):
HANDGRAD_AUTOGRADER_ROOT moves the paths, HANDGRAD_PYTHON names the interpreter setup.sh
uses (then apt is not run), HANDGRAD_BIN the handgrad run_autograder calls,
HANDGRAD_EXTRA_ARGS adds options to `handgrad grade`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ITEMS = ("pyproject.toml", "README.md", "handgrad", "handwritten", "reference")
LEFT_OUT: tuple[str, ...] = ()
"""Parts of SOURCE_ITEMS an autograder has no use for."""
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
"""Target Pythons a bundle can be resolved for; the first is the default (requires-python)."""
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
"""Gradescope's images are x86-64 Ubuntu (22.04: glibc 2.35)."""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""Every entry's timestamp: the same source gives the same bytes."""
MARKER = "handgrad-bundle.json"
"""A member every bundle holds, saying what wrote it: how an earlier bundle is told from any other zip."""
MARKER_TEXT = json.dumps({"written_by": "handgrad gradescope-bundle", "format": 1}) + "\n"
EARLIER = frozenset(("setup.sh", "run_autograder", "constraints.txt", "handgrad-src/handgrad/cli.py"))
"""Members of a bundle written before MARKER was: such a bundle is recognised by all of them."""

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built. Any failure
# stops the build (Gradescope shows this script's output), never a half-made image.
set -euo pipefail
ROOT="${HANDGRAD_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${HANDGRAD_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  PYTHON=python3
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q -c "$ROOT/source/constraints.txt" "$ROOT/source/handgrad-src"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. Lost marks are not a failure of the
# autograder, so this exits 0 whenever results.json was written.
set -uo pipefail
ROOT="${{HANDGRAD_AUTOGRADER_ROOT:-/autograder}}"
HANDGRAD="${{HANDGRAD_BIN:-$ROOT/venv/bin/handgrad}}"
RESULTS="$ROOT/results/results.json"
# Students' code never runs unsealed here: without namespaces every submission gets a
# results.json saying so. An instructor who accepts the risk may set it to 0 in the image.
export HANDGRAD_REQUIRE_SANDBOX="${{HANDGRAD_REQUIRE_SANDBOX:-1}}"
mkdir -p "$ROOT/results"
"$HANDGRAD" grade "$ROOT/submission" --json "$RESULTS" {options} ${{HANDGRAD_EXTRA_ARGS:-}}
status=$?
if [ ! -s "$RESULTS" ]; then
  message="handgrad failed to run (status $status); please tell your instructor."
  printf '{{"score": 0, "output": "%s", "tests": []}}\\n' "$message" > "$RESULTS"
fi
exit 0
"""


def _source_files() -> list[tuple[str, Path]]:
    """(name in the zip, file here) for the source the bundle carries, sorted by name."""
    files: list[tuple[str, Path]] = []
    for item in SOURCE_ITEMS:
        path = ROOT / item
        for file in [path] if path.is_file() else sorted(path.rglob("*")):
            relative = file.relative_to(ROOT).as_posix()
            if any(relative == x or relative.startswith(f"{x}/") for x in LEFT_OUT):
                continue
            if file.is_file() and "__pycache__" not in file.parts and file.suffix not in (".pyc", ".pyo"):
                files.append((f"handgrad-src/{relative}", file))
    return sorted(files)


def project_requirements() -> list[str]:
    """The runtime requirements pyproject.toml declares (the one list, not repeated here)."""
    from handgrad.grading.rubric import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def _marker_holds(marker: str, python: str) -> bool:
    """A requirement's `python_version OP 'X.Y'` marker evaluated for the target Python."""
    match = re.fullmatch(r"\s*python_version\s*(<=|>=|<|>|==|!=)\s*['\"](\d+)\.(\d+)['\"]\s*", marker)
    if match is None:
        raise BundleError(f"cannot evaluate the marker {marker!r} for Python {python}")
    op, bound = match[1], (int(match[2]), int(match[3]))
    major, minor = python.split(".")
    have = (int(major), int(minor))
    return {"<": have < bound, "<=": have <= bound, ">": have > bound, ">=": have >= bound,
            "==": have == bound, "!=": have != bound}[op]  # fmt: skip


def requirements_for(python: str) -> list[str]:
    """pyproject's runtime requirements that apply on `python`, markers evaluated for it
    (pip would evaluate them for the Python it runs on, not the target)."""
    kept = []
    for requirement in project_requirements():
        spec, _, marker = requirement.partition(";")
        if not marker or _marker_holds(marker, python):
            kept.append(spec.strip())
    return kept


def resolve_constraints(python: str) -> list[str]:
    """`name==version` for everything handgrad needs on CPython `python` (X.Y) on Gradescope's
    platform, as pip resolves it from the package index (binary wheels only, so every pin
    installs there without a compiler). Needs the index (network or a configured mirror).

    Raises:
        BundleError: an unknown target, or pip could not resolve (its last lines say why).
    """
    if python not in PYTHONS:
        raise BundleError(f"--python {python}: choose one of {', '.join(PYTHONS)}")
    with tempfile.TemporaryDirectory(prefix="handgrad-resolve-") as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--disable-pip-version-check", "--target", str(Path(scratch) / "t"), "--report", str(report),
                   "--python-version", python, "--implementation", "cp", "--only-binary=:all:"]  # fmt: skip
        for platform in PLATFORMS:
            command += ["--platform", platform]
        done = subprocess.run([*command, *requirements_for(python)], capture_output=True, text=True, check=False)
        if done.returncode != 0 or not report.is_file():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise BundleError(f"cannot resolve handgrad's requirements for Python {python}:\n{tail}")
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    pins = {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"] for i in installs}
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


class BundleError(Exception):
    """The bundle cannot be written where asked; the message says why."""


def is_bundle(path: Path) -> bool:
    """Whether `path` is a zip that gradescope-bundle wrote: it holds MARKER saying so (or,
    written before the marker was, every member of EARLIER). A Gradescope export of the
    class's submissions, another autograder or a text file named .zip is not."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if MARKER in names:
                small = zf.getinfo(MARKER).file_size <= len(MARKER_TEXT)  # (not a member made to be large)
                return small and zf.read(MARKER).decode("utf-8") == MARKER_TEXT
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError, NotImplementedError, RuntimeError):
        return False
    return EARLIER <= names


def check_target(out: Path) -> None:
    """`out` names a .zip file in an existing folder (a missing folder is an error, never
    created): new, empty, or an earlier bundle (is_bundle); anything else there (a folder, a
    link, the class's submissions export, any other file) is never replaced. Checked before
    anything is written, and again right before the zip replaces it."""
    if out.suffix.lower() != ".zip":
        raise BundleError(f"{out}: Gradescope takes the autograder as a .zip file; name it e.g. autograder.zip")
    if out.is_dir():
        raise BundleError(f"{out}: is a directory; name the zip file to write, e.g. {out / 'autograder.zip'}")
    parent = out.parent
    if not parent.is_dir():
        raise BundleError(f"{parent}: no such directory (it is not created for you)")
    if not os.access(parent, os.W_OK):  # (a read-only file system too)
        raise BundleError(f"{parent}: cannot be written (no permission, or a read-only file system)")
    if out.is_symlink():
        raise BundleError(f"{out}: is a symbolic link; not replacing it (name the file itself, or remove the link)")
    if not out.exists():
        return
    if not out.is_file():
        raise BundleError(f"{out}: exists and is not a regular file; not replacing it")
    try:
        empty = out.stat().st_size == 0
    except OSError as exc:
        raise BundleError(f"{out}: cannot be read to check what it holds ({exc.strerror})") from None
    if not empty and not is_bundle(out):
        raise BundleError(
            f"{out} exists and is not a handgrad bundle; not replacing it (move it, or choose another name)"
        )


def write_bundle(
    out: Path, grade_options: Sequence[str], rubric: Path | None = None, constraints: Sequence[str] = ()
) -> None:
    """Write the autograder zip to `out` atomically (check_target's rules); grade_options
    are passed to `handgrad grade`; constraints (resolve_constraints) go to constraints.txt."""
    check_target(out)
    options = list(grade_options)
    if rubric is not None:
        options += ["--rubric", "$ROOT/source/rubric.toml"]
    quoted = " ".join(o if o.startswith("$ROOT") else shlex.quote(o) for o in options)
    quoted = quoted.replace("$ROOT/source/rubric.toml", '"$ROOT/source/rubric.toml"')
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))  # new: nothing replaced
    try:
        _write_zip(tmp, quoted, rubric, constraints)
        check_target(out)  # again, right before: something may have been put there meanwhile
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written zip left beside the target
        raise


def _write_zip(tmp: Path, quoted: str, rubric: Path | None, constraints: Sequence[str]) -> None:
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", SETUP.encode(), 0o755),
        ("run_autograder", RUN.format(options=quoted).encode(), 0o755),
        ("constraints.txt", "".join(f"{line}\n" for line in constraints).encode(), 0o644),
        (MARKER, MARKER_TEXT.encode(), 0o644),
    ]
    if rubric is not None:
        entries.append(("rubric.toml", rubric.read_bytes(), 0o644))
    entries += [(name, path.read_bytes(), 0o644) for name, path in _source_files()]
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = (0o100000 | mode) << 16  # a regular file with this mode
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine made it
            zf.writestr(info, data)


WRONG_FUNCTION = "l2_grad"
"""The function the wrong file of --check breaks (handgrad.cli.WRONG_TAIL)."""


def check_bundle(bundle: Path, python: str, solution: Path, wrong: Path) -> list[str]:
    """Install `bundle` with the interpreter `python` in a fresh venv and grade `solution` and
    `wrong` with its run_autograder, laid out as Gradescope does (source/, submission/,
    results/results.json under a temporary root standing for /autograder). apt is not run.

    Returns:
        The problems found (empty when the solution earns full marks and the wrong file less).

    Raises:
        BundleError: setup.sh failed (its last lines say why).
    """
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="handgrad-autograder-") as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(root / "source")
        for name in ("setup.sh", "run_autograder"):
            (root / "source" / name).chmod(0o755)
        env = {**_environ(), "HANDGRAD_AUTOGRADER_ROOT": str(root), "HANDGRAD_PYTHON": python}
        done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join((done.stderr + done.stdout).strip().splitlines()[-8:])
            raise BundleError(f"setup.sh failed with {python} (status {done.returncode}):\n{tail}")
        for label, source, full in (("the solution", solution, True), ("the wrong file", wrong, False)):
            submission, results = root / "submission", root / "results" / "results.json"
            if submission.exists():
                for old in submission.iterdir():
                    old.unlink()
            submission.mkdir(exist_ok=True)
            results.unlink(missing_ok=True)
            (submission / "submission.py").write_bytes(source.read_bytes())
            # The wrong file is graded on the function it breaks only: the full solution run
            # already exercised every function, and this halves the check's time.
            extra = {} if full else {"HANDGRAD_EXTRA_ARGS": f"--function {WRONG_FUNCTION}"}
            subprocess.run(["bash", str(root / "source" / "run_autograder")], env={**env, **extra},
                           capture_output=True, check=False, cwd=root)  # fmt: skip
            try:
                data = json.loads(results.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                problems.append(f"{label}: no readable results.json ({exc})")
                continue
            tests = data.get("tests") or []
            top = sum(t.get("max_score", 0) for t in tests)
            # (no top-level score where a function is held back: Gradescope's total is the tests' sum)
            score = data.get("score", sum(t.get("score", 0) for t in tests))
            if not tests or not isinstance(score, (int, float)):
                problems.append(f"{label}: results.json has no score or tests: {data.get('output', '')[:300]}")
            elif full and abs(score - top) > 1e-9:
                problems.append(f"{label}: scored {score} of {top}, expected full marks")
            elif not full and score >= top:
                problems.append(f"{label}: scored full marks ({score} of {top}), expected less")
    return problems


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("HANDGRAD_", "VIRTUAL_ENV", "PYTHON"))}
