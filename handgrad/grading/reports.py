"""Write grades out: Gradescope's results.json, a CSV of marks, plain text.

Output places are opened and checked before the first worker starts (`Target`): the
directory must exist, belong to the grader's user and not be writable by others, so
nothing a submission could have reached is trusted. Every file is written by the
grader, through a descriptor of that directory, to a new temporary file beside the
target (O_EXCL, O_NOFOLLOW) and then renamed over it: a report is never half-written,
and whatever else sat at that name is replaced, never followed or appended to.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import stat
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handgrad.escape import printable
from handgrad.grading.grader import SHOWN, SubmissionGrade


class TargetError(Exception):
    """An output place that is missing or not safe to write; the message says why."""


class Target:
    """An output directory, opened and checked once, written through its descriptor."""

    def __init__(self, directory: Path, create: bool = False) -> None:
        self.path = directory
        if create and not directory.exists() and not directory.is_symlink():
            if not directory.parent.is_dir():
                raise TargetError(f"{directory.parent}: no such directory (it is not created for you)")
            try:
                os.mkdir(directory, 0o755)
            except OSError as exc:
                raise TargetError(f"{directory}: cannot be created ({exc.strerror})") from None
        try:
            self.fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            if not directory.exists():
                raise TargetError(f"{directory}: no such directory (it is not created for you)") from None
            raise TargetError(f"{directory}: not a directory one can write to ({exc.strerror})") from None
        st = os.fstat(self.fd)
        problem = ""
        if st.st_uid != os.geteuid():
            problem = f"belongs to uid {st.st_uid}, not to the grader's user ({os.geteuid()})"
        elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problem = "is writable by other users (choose a directory only you can write)"
        if problem:
            os.close(self.fd)
            raise TargetError(f"{directory}: {problem}")

    def write(self, name: str, text: str) -> None:
        """Write `name` in the directory atomically (a temporary file, then a rename)."""
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"not a file name: {name!r}")
        with_dir = {"dir_fd": self.fd}
        try:
            if stat.S_ISDIR(os.stat(name, follow_symlinks=False, **with_dir).st_mode):
                raise TargetError(f"{self.path / name} is a directory; not replacing it")
        except FileNotFoundError:
            pass
        tmp = f".handgrad-{secrets.token_hex(6)}.tmp"  # (short: a long target name still fits NAME_MAX)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, **with_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            with _suppress():
                os.unlink(tmp, **with_dir)
            raise

    def close(self) -> None:
        with _suppress():
            os.close(self.fd)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


class FileTarget:
    """A file to write one report to: `-` is standard output."""

    def __init__(self, path: str) -> None:
        self.stdout = path == "-"
        self.path = Path(path)
        self.dir = None if self.stdout else Target(self.path.parent)

    def write(self, text: str) -> None:
        if self.dir is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            self.dir.write(self.path.name, text)


def write_atomic(path: Path, text: str) -> None:
    """Write one file in an existing, safe directory (see Target)."""
    target = Target(path.parent)
    try:
        target.write(path.name, text)
    finally:
        target.close()


def gradescope(grade: SubmissionGrade) -> dict[str, Any]:
    """Gradescope's results.json: one test per contract function."""
    return {
        "score": round(grade.score, 6),
        "execution_time": round(grade.seconds, 3),
        "output": grade.summary(),
        "visibility": "visible",
        "output_format": "text",  # shown as it is: no HTML or Markdown from a submission's own words
        "test_output_format": "text",
        "test_name_format": "text",
        # (extra_data is kept by Gradescope and not shown to the student: the review notes)
        "extra_data": {
            "sandbox": grade.sandbox,
            "seed": grade.seed,
            "reason": grade.reason,
            "review": list(grade.review),
        },
        "tests": [
            {
                "name": f.name,
                "score": round(f.score, 6),
                "max_score": round(f.max_score, 6),
                "output": f.feedback,
                "visibility": f.visibility,
                "status": "passed" if f.passed else "failed",
            }
            for f in grade.functions
        ],
    }


def gradescope_error(message: str) -> dict[str, Any]:
    """A results.json for a submission the grader could not even start on."""
    return {"score": 0, "execution_time": 0, "output": f"handgrad could not grade this submission: {message}",
            "tests": []}  # fmt: skip


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: printable, and never a formula (a file named
    `=HYPERLINK(...).py` gets a leading apostrophe)."""
    text = printable(text, newlines=False)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t")) else text


def marks_csv(grades: Sequence[SubmissionGrade]) -> str:
    """One row per submission: its score, a one-word reason, each function's mark and the
    name of its report (REPORT.json in the output folder; see report_names)."""
    if not grades:
        return "submission,score,max_score,reason,report,review\n"
    names = [f.name for f in grades[0].functions]
    reports = report_names([g.path for g in grades])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", "reason", *names, "report", "review"])
    for g in grades:
        by = {f.name: f.score for f in g.functions}
        row = [csv_cell(str(g.path)), f"{g.score:g}", f"{g.max_score:g}", g.reason, *(f"{by[n]:g}" for n in names)]
        writer.writerow([*row, reports[g.path], csv_cell(" | ".join(g.review))])
    return out.getvalue()


def failures(grades: Sequence[SubmissionGrade]) -> str:
    """A short summary of every submission that lost marks, one line each."""
    lines = []
    for g in grades:
        if g.full_marks and not g.problem:
            continue
        why = printable(g.problem.split(": ", 1)[0], newlines=False) if g.problem else g.lost()
        lines.append(f"  {printable(str(g.path), newlines=False)}: {g.score:g}/{g.max_score:g} ({g.reason}) {why}")
    review = [f"  {printable(str(g.path), newlines=False)}: {len(g.review)} note(s)" for g in grades if g.review]
    also = ["To read by hand (the review column of marks.csv):", *review] if review else []
    if not lines:
        return "\n".join([f"All {len(grades)} submissions have full marks.", *also])
    return "\n".join([f"{len(lines)} of {len(grades)} submissions lost marks:", *lines, *also])


def text(grade: SubmissionGrade, verbose: bool = True) -> str:
    """The plain-text report: a function whose visibility hides it is counted, not named."""
    lines = [grade.summary(), ""]
    shown = [f for f in grade.functions if f.visibility in SHOWN]
    hidden = [f for f in grade.functions if f.visibility not in SHOWN]
    width = max((len(f.name) for f in shown), default=0)
    for f in shown:
        mark = "PASS" if f.passed else "FAIL" if f.attempted else "TODO"
        lines.append(f"{mark}  {f.name:<{width}}  {f.score:g}/{f.max_score:g}")
    if hidden:
        score = sum(f.score for f in hidden)
        top = sum(f.max_score for f in hidden)
        lines.append(f"      {len(hidden)} hidden function{'s' * (len(hidden) > 1)}: {score:g}/{top:g}")
    if verbose and not grade.problem:
        for f in shown:  # real mistakes, each with its failing check
            if f.attempted and (not f.passed or f.warned):  # indented: only the grader's own lines start a line
                lines += ["", f"--- {f.name} ---", "  " + f.feedback.replace("\n", "\n  ")]
        todo = [f for f in shown if not f.attempted]
        if todo:  # one line each, why it counts as not written: no check of a function never run
            lines += ["", "--- not attempted yet ---"]
            lines += [f"  {f.name}: " + printable(f.feedback.split("\n", 1)[0], newlines=False) for f in todo]
    return "\n".join(lines)


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def _clean_stem(path: Path) -> str:
    stem = path.stem if path.suffix == ".py" else path.name
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in stem)[:100].lstrip(".")


def report_names(paths: Sequence[Path]) -> dict[Path, str]:
    """Each submission's report file name (without .json), decided from all the paths at once,
    so it does not depend on which submission finished first, and injective: a stem that
    cleaning changed, or that another path shares (ignoring case, as some file systems do),
    gets a hash of its whole original path (`alice smith.py` and `alice_smith.py` become
    alice_smith-3f2a9c1e and alice_smith-8b07d4aa). marks.csv names each row's report."""
    stems = {p: _clean_stem(p) for p in paths}
    count = Counter(stem.casefold() for stem in stems.values())

    def digest(p: Path, n: int) -> str:
        return hashlib.sha256(os.fsencode(str(p))).hexdigest()[:n]

    names = {}
    for p, stem in stems.items():
        original = p.stem if p.suffix == ".py" else p.name
        unique = stem and stem == original and count[stem.casefold()] == 1
        names[p] = stem if unique else f"{stem or 'submission'}-{digest(p, 8)}"
    seen: dict[str, Path] = {}
    for p, name in list(names.items()):  # 8 hex digits clashing: the whole hash
        if name.casefold() in seen:
            names[p] = f"{stems[p] or 'submission'}-{digest(p, 64)}"
        seen[names[p].casefold()] = p
    return names
