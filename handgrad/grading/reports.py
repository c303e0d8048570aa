"""Write grades out: Gradescope's results.json, a CSV of marks, plain text.

Output places are opened and checked before the first worker starts (`Target`): the
directory must exist, belong to the grader's user and not be writable by others, so
nothing a submission could have reached is trusted. Every file is written by the
grader, through a descriptor of that directory, to a new temporary file beside the
target (O_EXCL, O_NOFOLLOW) and then renamed over it: a report is never half-written,
and a link at that name is replaced, never followed or appended to. The command line
replaces only what handgrad wrote (`Target.check_replace`: an earlier report, an earlier
marks.csv), and merges this run's rows into an earlier marks.csv under a lock
(`write_marks`), so shards graded into one folder make one marks.csv.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import secrets
import stat
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from handgrad.escape import printable
from handgrad.grading.grader import SubmissionGrade


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
            except FileExistsError:
                pass  # made meanwhile (another shard of the class): checked below as any existing one
            except OSError as exc:
                why = "its folder takes no new folders" if exc.errno == errno.ENOENT else exc.strerror
                raise TargetError(f"{directory}: cannot be created ({why})") from None
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
        if not problem:
            problem = _not_writable(self.fd)
        if problem:
            os.close(self.fd)
            raise TargetError(f"{directory}: {problem}")

    def read(self, name: str, limit: int = 64 << 20) -> bytes | None:
        """What the regular file `name` holds (at most `limit` bytes), or None where nothing
        or a link is at that name (a link is replaced by a write, never followed).

        Raises:
            TargetError: a folder or another kind of file is there, or it cannot be read.
        """
        _file_name(name)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None
            if exc.errno == errno.EISDIR:
                raise TargetError(f"{self.path / name} is a directory; not replacing it") from None
            raise TargetError(f"{self.path / name}: cannot be read to check what it holds ({exc.strerror})") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise TargetError(f"{self.path / name} is {what}; not replacing it")
        with os.fdopen(fd, "rb") as f:
            return f.read(limit + 1)

    def check_replace(self, name: str, kind: str) -> None:
        """Refuse, before anything is written, to replace at `name` a file handgrad did not
        write: `kind` "report" (a results.json: is_report) or "marks" (marks_columns).

        Raises:
            TargetError: what is there and what to do.
        """
        data = self.read(name)
        if not data:  # nothing, a link, or an empty file: nothing is lost
            return
        if kind == "report" and not is_report(data):
            raise TargetError(
                f"{self.path / name} exists and is not a handgrad report; not replacing it "
                "(move it, or choose another --out DIR)"
            )
        if kind == "marks" and marks_columns(data) is None:
            raise TargetError(
                f"{self.path / name} exists and was not written by handgrad; not replacing it "
                "(move it, or choose another --out DIR)"
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the directory (flock on its descriptor; where the file
        system refuses that, on a file LOCK_NAME in it) while a read-merge-replace runs."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:  # (NFS takes locks only on files opened for writing)
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
            try:
                fd = os.open(LOCK_NAME, flags, 0o600, dir_fd=self.fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise TargetError(f"{self.path}: cannot be locked to merge marks.csv ({exc.strerror})") from None
            try:
                yield
            finally:
                os.close(fd)  # (closing releases the lock)
            return
        try:
            yield
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def write(self, name: str, text: str, kind: str | None = None) -> None:
        """Write `name` in the directory atomically (a temporary file, then a rename); with a
        `kind`, only over a file of that kind (check_replace), checked right before."""
        _file_name(name)
        if kind is not None:
            self.check_replace(name, kind)
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


LOCK_NAME = ".handgrad-marks.lock"
"""The lock file of a folder whose file system refuses a lock on the folder itself (Target.lock)."""


def _file_name(name: str) -> None:
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a file name: {name!r}")


def _not_writable(fd: int) -> str:
    why = why_not_writable(fd)
    return f"cannot be written ({why})" if why else ""


def why_not_writable(fd: int) -> str:
    """Why no file can be made in the directory open at `fd` (tried: a read-only file system,
    a mode without w, /proc), or "" where one can. The benchmark's outputs are checked with
    it too (benchmarks/files.py)."""
    probe = f".handgrad-{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd))
    except OSError as exc:
        return "it takes no new files" if exc.errno == errno.ENOENT else str(exc.strerror or exc)
    with _suppress():
        os.unlink(probe, dir_fd=fd)
    return ""


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


REPORT_KEYS = frozenset(("score", "execution_time", "output", "visibility", "output_format", "test_output_format",
                         "test_name_format", "extra_data", "tests"))  # fmt: skip
"""The keys of every results.json gradescope() writes: how an earlier report is recognised."""
EXTRA_KEYS = frozenset(("sandbox", "seed", "reason", "review"))
"""The keys of its extra_data."""
ERROR_KEYS = frozenset(("score", "execution_time", "output", "tests"))
ERROR_OUTPUT = "handgrad could not grade this submission: "
"""gradescope_error()'s keys and the start of its output."""


def gradescope(grade: SubmissionGrade) -> dict[str, Any]:
    """Gradescope's results.json: one test per contract function."""
    report = {
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
    if len(grade.shown) < len(grade.functions):
        # A top-level score "overrides the total of tests" and is shown at once; without it
        # Gradescope sums the tests and holds the total back while a test is after_due_date or
        # after_published. (A `hidden` test's points still count in the total it shows: its own
        # rule, for tests worth no points; the rubric warns of it, rubric.hidden_points_warning.)
        del report["score"]
    return report


def gradescope_error(message: str) -> dict[str, Any]:
    """A results.json for a submission the grader could not even start on."""
    return {"score": 0, "execution_time": 0, "output": ERROR_OUTPUT + message, "tests": []}


def is_report(data: bytes) -> bool:
    """Whether `data` is a results.json handgrad wrote (gradescope or gradescope_error): a JSON
    object with exactly those keys; any other JSON (a roster, a config) is not."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    if not isinstance(doc, dict):
        return False
    if set(doc) in (REPORT_KEYS, REPORT_KEYS - {"score"}):
        return isinstance(doc["extra_data"], dict) and set(doc["extra_data"]) == EXTRA_KEYS
    return set(doc) == ERROR_KEYS and str(doc["output"]).startswith(ERROR_OUTPUT)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What a spreadsheet may read as the start of a formula (OWASP's list: = + - @ tab and
carriage return; and their full-width forms, which some spreadsheets take too)."""


QUOTED_STARTS = (*FORMULA_STARTS, "'")
"""What csv_cell puts an apostrophe before: a formula's start, and an apostrophe itself (so no two
texts share a cell)."""


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: printable, and never a formula (a file named
    `=HYPERLINK(...).py` gets a leading apostrophe, as does one that starts so after spaces).
    A text that starts with an apostrophe gets one more, so no two texts share a cell for it
    (`=a.py` and `'=a.py` both read `'=a.py`, and merging marks kept one student's row)."""
    text = printable(text, newlines=False)
    return "'" + text if text.lstrip(" ").startswith(QUOTED_STARTS) else text


def _uncell(cell: str) -> str:
    """The text csv_cell made `cell` from (its apostrophe taken off)."""
    rest = cell[1:]
    return rest if cell.startswith("'") and rest.lstrip(" ").startswith(QUOTED_STARTS) else cell


def submission_cell(path: Path) -> str:
    """marks.csv's submission column, by which rows merge (merge_marks): one cell per path.
    printable() writes a byte it cannot show as \\x1b, as a file could name itself, so the
    path's own backslashes are doubled first."""
    return csv_cell(str(path).replace("\\", "\\\\"))


FIRST = ("submission", "score", "max_score", "reason")
LAST = ("report", "review")
"""marks.csv's columns before and after one per function."""


def marks_header(functions: Sequence[str]) -> list[str]:
    return [*FIRST, *functions, *LAST]


def marks_csv(grades: Sequence[SubmissionGrade], reports: Mapping[Path, str] | None = None) -> str:
    """One row per submission: its score, a one-word reason, each function's mark and the
    name of its report (REPORT.json in the output folder; `reports`, by default
    report_names of these grades' paths)."""
    if not grades:
        return ",".join(marks_header(())) + "\n"
    names = [f.name for f in grades[0].functions]
    reports = report_names([g.path for g in grades]) if reports is None else reports
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(marks_header(names))
    for g in grades:
        by = {f.name: f.score for f in g.functions}
        row = [submission_cell(g.path), f"{g.score:g}", f"{g.max_score:g}", g.reason, *(f"{by[n]:g}" for n in names)]
        writer.writerow([*row, csv_cell(reports[g.path]), csv_cell(" | ".join(g.review))])
    return out.getvalue()


def marks_columns(data: bytes) -> list[str] | None:
    """The function columns of a marks.csv that handgrad wrote (its header is marks_header of
    contract functions, and every row as long), or None for any other file."""
    from reference.names import NAMES

    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    header = rows[0]
    functions = header[len(FIRST) : -len(LAST)]
    if header != marks_header(functions) or not set(functions) <= set(NAMES) or len(set(functions)) < len(functions):
        return None
    if any(len(row) != len(header) for row in rows[1:]):
        return None
    return functions


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))[1:]


def check_marks(target: Target, functions: Sequence[str], max_score: float, reports: Mapping[str, str]) -> None:
    """Before grading: the marks.csv in `target` (if any) is handgrad's, for the same
    functions and out of the same total, and none of its rows names a report of another
    submission at a name this run writes. `reports`: this run's submission cell -> report name.

    Raises:
        TargetError: which and what to do.
    """
    data = target.read("marks.csv")
    if not data:
        return
    where = target.path / "marks.csv"
    found = marks_columns(data)
    if found is None:
        raise TargetError(
            f"{where} exists and was not written by handgrad; not replacing it (move it, or choose another --out DIR)"
        )
    if found != list(functions):
        raise TargetError(
            f"{where} holds marks for other functions ({', '.join(found) or 'none'}); its rows and this run's "
            "cannot share a table: choose another --out DIR, or move it"
        )
    rows = _rows(data)
    totals = {row[2] for row in rows} - {f"{max_score:g}"}
    if totals:
        raise TargetError(
            f"{where} holds marks out of {', '.join(sorted(totals))}, this run's are out of {max_score:g} "
            "(another rubric): choose another --out DIR, or move it"
        )
    owner = {_uncell(row[-2]): row[0] for row in rows}
    for cell, name in reports.items():
        other = owner.get(name)
        if other is not None and other != cell:
            raise TargetError(
                f"{target.path / name}.json is the report of {other} (marks.csv); {cell}'s would replace it: "
                "choose another --out DIR"
            )


def merge_marks(old: bytes | None, new: str, order: Sequence[str]) -> str:
    """marks.csv with `new`'s rows merged into `old`'s (both marks_csv of the same functions),
    keyed by the submission column: a submission graded again has its row replaced where it
    stood; one new to the table goes after the nearest submission before it in `order` (the
    class as given, before --shard split it) that the table holds, else before the nearest
    after it, else at the end. So the shards of a class, merged in any order, list it in
    `order`; rows of submissions not in `order` keep their place."""
    if not old:
        return new
    rows = _rows(old)
    header, *fresh = list(csv.reader(io.StringIO(new)))
    position = {cell: i for i, cell in enumerate(order)}
    for row in sorted(fresh, key=lambda r: position.get(r[0], len(order))):
        keys = [r[0] for r in rows]
        if row[0] in keys:
            rows[keys.index(row[0])] = row
            continue
        at = len(rows)
        i = position.get(row[0])
        if i is not None:
            before = [keys.index(c) + 1 for c in reversed(order[:i]) if c in keys][:1]
            after = [keys.index(c) for c in order[i + 1 :] if c in keys][:1]
            at = (before or after or [len(rows)])[0]
        rows.insert(at, row)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([header, *rows])
    return out.getvalue()


def write_marks(target: Target, text: str, order: Sequence[str]) -> int:
    """Write marks.csv (marks_csv's `text`) into `target`, merged with the marks.csv there
    (merge_marks), under the folder's lock: two shards finishing at once each re-read the
    other's rows before replacing the file, atomically. An earlier marks.csv not handgrad's,
    or for other functions, is refused (checked again here: it was before grading).

    Returns:
        The number of submissions marks.csv now lists.
    """
    new_columns = marks_columns(text.encode("utf-8"))
    with target.lock():
        old = target.read("marks.csv")
        if old and marks_columns(old) != new_columns:
            raise TargetError(
                f"{target.path / 'marks.csv'} was replaced during grading by a file for other functions or not "
                "written by handgrad; not replacing it (the reports are written; move it and grade again)"
            )
        merged = merge_marks(old, text, order)
        target.write("marks.csv", merged)
    return len(_rows(merged.encode("utf-8")))


def failures(grades: Sequence[SubmissionGrade]) -> str:
    """A short summary of every submission that lost marks, one line each, naming only the
    functions students always see (tests/test_sandbox.py holds it to that; marks.csv has every
    function). Each path is written as marks.csv's submission column writes it, so that two
    files whose names print alike (a newline and a literal backslash-n) are told apart the
    same way there."""
    lines = []
    for g in grades:
        if g.full_marks and not g.problem:
            continue
        why = printable(g.problem.split(": ", 1)[0], newlines=False) if g.problem else g.lost()
        lines.append(f"  {submission_cell(g.path)}: {g.score:g}/{g.max_score:g} ({g.reason}) {why}")
    review = [f"  {submission_cell(g.path)}: {len(g.review)} note(s)" for g in grades if g.review]
    also = ["To read by hand (the review column of marks.csv):", *review] if review else []
    if not lines:
        return "\n".join([f"All {len(grades)} submissions have full marks.", *also])
    return "\n".join([f"{len(lines)} of {len(grades)} submissions lost marks:", *lines, *also])


def text(grade: SubmissionGrade, verbose: bool = True) -> str:
    """The plain-text report: a function not SHOWN is neither named nor counted (marks.csv has it)."""
    lines = [grade.summary(), ""]
    shown = grade.shown
    width = max((len(f.name) for f in shown), default=0)
    for f in shown:
        mark = "PASS" if f.passed else "FAIL" if f.attempted else "TODO"
        lines.append(f"{mark}  {f.name:<{width}}  {f.score:g}/{f.max_score:g}")
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
