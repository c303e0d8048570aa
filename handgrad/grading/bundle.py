"""`handgrad gradescope-bundle`: a ready Gradescope autograder as a zip.

The zip holds setup.sh (installs this very handgrad, from the source inside the zip,
into /autograder/venv, with every dependency pinned to the version the bundle was made
with: constraints.txt), run_autograder (grades /autograder/submission into
/autograder/results/results.json) and, when given, the rubric. Benchmark results are left
out. Environment variables (docs/grading.md): HANDGRAD_AUTOGRADER_ROOT and HANDGRAD_BIN
move the paths (for testing), HANDGRAD_EXTRA_ARGS adds options to `handgrad grade`.
"""

from __future__ import annotations

import re
import shlex
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ITEMS = ("pyproject.toml", "README.md", "handgrad", "handwritten", "reference", "benchmarks")
LEFT_OUT = ("benchmarks/results",)
"""Parts of SOURCE_ITEMS an autograder has no use for (measured results, megabytes)."""

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
set -euo pipefail
ROOT="${HANDGRAD_AUTOGRADER_ROOT:-/autograder}"
apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null || true
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
"$ROOT/venv/bin/pip" install -q -c "$ROOT/source/constraints.txt" "$ROOT/source/handgrad-src"
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


def _add_tree(zf: zipfile.ZipFile, path: Path, arcname: str) -> None:
    if path.is_file():
        zf.write(path, arcname)
        return
    for item in sorted(path.rglob("*")):
        relative = item.relative_to(ROOT).as_posix()
        if any(relative == x or relative.startswith(f"{x}/") for x in LEFT_OUT):
            continue
        if item.is_file() and "__pycache__" not in item.parts and item.suffix not in (".pyc", ".pyo"):
            zf.write(item, f"{arcname}/{item.relative_to(path).as_posix()}")


def _requirement_name(requirement: str) -> str | None:
    """The distribution a requirement names; None for an extra's requirement
    (`foo>=1; extra == "test"`). One whose marker excludes this Python is not installed
    here, so pinned_requirements skips it."""
    name, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None
    return re.split(r"[\s<>=!~\[(]", name.strip(), maxsplit=1)[0]


def pinned_requirements(root: str = "handgrad") -> list[str]:
    """`name==version` for every distribution `root` needs at run time, transitively, as
    installed here: the autograder then runs with the versions the bundle was made with."""
    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        seen[key] = dist.version
        todo += [n for r in dist.requires or () if (n := _requirement_name(r))]
    seen.pop("handgrad", None)
    return [f"{name}=={version}" for name, version in sorted(seen.items())]


class BundleError(Exception):
    """The bundle cannot be written where asked; the message says why."""


def check_target(out: Path) -> None:
    """`out` names a new or existing .zip file in an existing folder (a missing folder is an
    error, never created; a folder is never replaced). Checked before anything is written."""
    if out.suffix.lower() != ".zip":
        raise BundleError(f"{out}: Gradescope takes the autograder as a .zip file; name it e.g. autograder.zip")
    if out.is_dir():
        raise BundleError(f"{out}: is a directory; name the zip file to write, e.g. {out / 'autograder.zip'}")
    parent = out.parent
    if not parent.is_dir():
        raise BundleError(f"{parent}: no such directory (it is not created for you)")


def write_bundle(out: Path, grade_options: Sequence[str], rubric: Path | None = None) -> None:
    """Write the autograder zip to `out` atomically (check_target's rules); grade_options
    are passed to `handgrad grade`."""
    check_target(out)
    options = list(grade_options)
    if rubric is not None:
        options += ["--rubric", "$ROOT/source/rubric.toml"]
    quoted = " ".join(o if o.startswith("$ROOT") else shlex.quote(o) for o in options)
    quoted = quoted.replace("$ROOT/source/rubric.toml", '"$ROOT/source/rubric.toml"')
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        _write_zip(tmp, quoted, rubric)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written zip left beside the target
        raise


def _write_zip(tmp: Path, quoted: str, rubric: Path | None) -> None:
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.format(options=quoted))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
        zf.writestr("constraints.txt", "".join(f"{line}\n" for line in pinned_requirements()))
        if rubric is not None:
            zf.write(rubric, "rubric.toml")
        for item in SOURCE_ITEMS:
            _add_tree(zf, ROOT / item, f"handgrad-src/{item}")
