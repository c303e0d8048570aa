"""Which existing file an output of handgrad may replace.

`handgrad grade --json OUT`, `handgrad bench --json OUT --plot OUT` and the grading benchmark
write one file each. A path that already holds something is replaced only when that
something is what the same option writes (a results.json handgrad wrote, for `grade`; a JSON
document or an image, for `bench`) or an empty file:
a typo such as `--json my_grads.py` must never turn a student's source into a report. A
file named like source code (.py, .ipynb) and a file being graded are never replaced,
whatever they hold (a notebook is JSON too). Everything else is refused before any work
starts, with the reason and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

SOURCE_SUFFIXES = (".py", ".pyw", ".pyi", ".ipynb")
"""Never replaced by a report, whatever they hold."""

_LOOKS_LIKE = {
    "json": (b"{", b"["),
    "plot": (b"\x89PNG", b"%PDF", b"<?xml", b"<svg", b"%!PS"),
}
"""The first non-blank bytes of a file each kind of output writes (matplotlib: png, pdf, svg, eps)."""


MAX_REPORT = 64 << 20
"""A longer file is no report of handgrad's (a whole class's feedback is a few MiB)."""


def replace_problem(path: Path, kind: str, graded: Sequence[Path] = ()) -> str | None:
    """Why `path` must not be replaced by an output of `kind` ("report": a results.json of
    handgrad's, "json" or "plot"), or None when it may be: it does not exist, is empty, or
    already holds that kind of output and is none of `graded` (the submissions of this run).
    Any other JSON (a roster, a config) is not a report."""
    try:
        if not path.exists():
            return None
        if not path.is_file():
            return None  # a folder or a device: the caller's own check says what it is
        for source in graded:
            if source.exists() and os.path.samefile(path, source):
                return "is a submission being graded; name the report another file, e.g. results.json"
            if source.is_dir() and path.resolve().is_relative_to(source.resolve()):
                return f"is inside {source}, a submission being graded; write the report outside it"
        if path.suffix.lower() in SOURCE_SUFFIXES:
            return f"is a {path.suffix} file; name the report another file, e.g. results.json"
        with path.open("rb") as f:
            whole = f.read(MAX_REPORT + 1 if kind == "report" else 4096)
        head = whole[:4096].lstrip()
    except OSError as exc:
        return f"cannot be read to check what it holds ({exc.strerror})"
    if not head:
        return None
    if kind == "report":
        from handgrad.grading.reports import is_report

        if len(whole) <= MAX_REPORT and is_report(whole):
            return None
        return "exists and is not a handgrad report; not replacing it (remove it or choose another name)"
    if head.startswith(_LOOKS_LIKE[kind]):
        return None
    return f"exists and does not hold a {kind} output; not replacing it (remove it or choose another name)"
