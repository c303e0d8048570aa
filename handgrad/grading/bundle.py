"""`handgrad gradescope-bundle`: a ready Gradescope autograder as a zip.

The zip holds setup.sh (installs this very handgrad, from the source inside the zip,
into /autograder/venv), run_autograder (grades /autograder/submission into
/autograder/results/results.json) and, when given, the rubric. Paths can be moved
for testing with HANDGRAD_AUTOGRADER_ROOT and HANDGRAD_BIN.
"""

from __future__ import annotations

import shlex
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ITEMS = ("pyproject.toml", "README.md", "handgrad", "handwritten", "reference", "benchmarks")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
set -euo pipefail
ROOT="${HANDGRAD_AUTOGRADER_ROOT:-/autograder}"
apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null || true
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
"$ROOT/venv/bin/pip" install -q "$ROOT/source/handgrad-src"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. Lost marks are not a failure of the
# autograder, so this exits 0 whenever results.json was written.
set -uo pipefail
ROOT="${{HANDGRAD_AUTOGRADER_ROOT:-/autograder}}"
HANDGRAD="${{HANDGRAD_BIN:-$ROOT/venv/bin/handgrad}}"
RESULTS="$ROOT/results/results.json"
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
        if item.is_file() and "__pycache__" not in item.parts and item.suffix not in (".pyc", ".pyo"):
            zf.write(item, f"{arcname}/{item.relative_to(path).as_posix()}")


def write_bundle(out: Path, grade_options: Sequence[str], rubric: Path | None = None) -> None:
    """Write the autograder zip to `out`; grade_options are passed to `handgrad grade`."""
    options = list(grade_options)
    if rubric is not None:
        options += ["--rubric", "$ROOT/source/rubric.toml"]
    quoted = " ".join(o if o.startswith("$ROOT") else shlex.quote(o) for o in options)
    quoted = quoted.replace("$ROOT/source/rubric.toml", '"$ROOT/source/rubric.toml"')
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.format(options=quoted))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
        if rubric is not None:
            zf.write(rubric, "rubric.toml")
        for item in SOURCE_ITEMS:
            _add_tree(zf, ROOT / item, f"handgrad-src/{item}")
    tmp.replace(out)
