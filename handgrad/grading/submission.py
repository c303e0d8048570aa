"""What counts as a submission, and finding it in what a student uploaded."""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path

NOTEBOOK_LIMIT = 4 << 20
"""Largest notebook read (outputs and images count): a notebook's code is far smaller."""
PREFERRED = ("submission.py", "formulas.py", "handwritten.py", "solution.py", "gradients.py")


class SubmissionError(Exception):
    """The path does not hold a gradable submission; the message says why."""


def resolve(path: Path) -> Path:
    """The .py file or package directory to import.

    - a .py file: itself;
    - a directory with __init__.py: that package;
    - a directory (e.g. Gradescope's /autograder/submission) with one .py file, or with
      one of PREFERRED, or with exactly one package: that.
    """
    try:
        return _resolve(path)
    except OSError as exc:  # (a folder that cannot be listed, a name too long for the system)
        raise SubmissionError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _resolve(path: Path) -> Path:
    if not path.exists() and not path.is_symlink():
        raise SubmissionError(f"{path}: no such file or directory")
    if path.is_file():
        if path.suffix not in (".py", ".ipynb"):
            raise SubmissionError(f"{path}: a submission is a .py file, a notebook (.ipynb) or a package directory")
        if path.is_symlink():
            raise _refuse(path, "is a symbolic link")
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK))
        except OSError as exc:
            raise SubmissionError(f"{path}: cannot be read ({exc.strerror})") from None
        if path.suffix == ".ipynb":
            notebook_source(path)  # refused now, with the cell and line, rather than when graded
        return path
    if not path.is_dir():
        raise SubmissionError(f"{path}: not a file or directory")
    if (path / "__init__.py").is_file():
        return path
    files = sorted(p for p in path.glob("*.py") if p.is_file())
    if len(files) == 1:
        return files[0]
    for name in PREFERRED:
        if (path / name).is_file():
            return path / name
    packages = sorted(p for p in path.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    if not files and len(packages) == 1:
        return packages[0]
    notebooks = sorted(p for p in path.glob("*.ipynb") if p.is_file())
    if not files and not packages and len(notebooks) == 1:
        return _resolve(notebooks[0])
    if not files and not packages:
        what = f"several notebooks ({', '.join(p.name for p in notebooks)}); name one" if notebooks else "nothing"
        raise SubmissionError(f"{path}: no .py file, notebook or package in it" if not notebooks else f"{path}: {what}")
    names = ", ".join(p.name for p in [*files, *packages])
    raise SubmissionError(f"{path}: several candidates ({names}); name one, or call it submission.py")


MAX_BYTES = int(os.environ.get("HANDGRAD_MAX_SUBMISSION_BYTES", str(1 << 20)))
"""Largest submission (all its files together) the grader copies."""
MAX_FILES = 200
"""Most entries (files and folders together) in one submission."""
MAX_DEPTH = 16
"""Deepest folder nesting in one submission."""
SKIPPED = ("__pycache__",)


def staged_name(path: Path) -> str:
    """The name a submission has in the grader's copy: a notebook becomes NAME.py."""
    return f"{path.stem}.py" if path.suffix == ".ipynb" else path.name


def notebook_source(path: Path, data: bytes | None = None) -> str:
    """The code cells of a notebook as one Python file, in order, each under a `# cell N`
    line (N counts code cells from 1); `data`, when given, is the file's bytes already
    read (the copy reads once). Read as JSON with nbformat: nothing in it runs.

    Raises:
        SubmissionError: not a readable notebook, or a line is IPython rather than Python
            (`%magic`, `%%cell magic`, `!shell`): it names the cell and the line in it.
    """
    import nbformat

    try:
        if data is None:
            with open(path, "rb") as f:
                data = f.read(NOTEBOOK_LIMIT + 1)
        raw = data
        if len(raw) > NOTEBOOK_LIMIT:
            raise SubmissionError(f"{path}: a notebook over {NOTEBOOK_LIMIT} bytes; clear its outputs and hand it in")
        with warnings.catch_warnings():  # (a missing cell id, an old minor version: nbformat fixes and warns)
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except SubmissionError:
        raise
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # nbformat's errors are JSON, encoding and schema errors of many kinds
        raise SubmissionError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__})") from None
    parts: list[str] = []
    code_cells = [c for c in notebook.cells if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, 1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for line_number, line in enumerate(source.splitlines(), 1):
            stripped = line.lstrip()
            if stripped.startswith(("%", "!")):
                kind = "a shell command" if stripped.startswith("!") else "an IPython magic"
                raise SubmissionError(
                    f"{path}: code cell {number}, line {line_number}: {kind} ({stripped[:60]!r}) is not Python; "
                    "remove it (or comment it out) and hand the notebook in again"
                )
        parts.append(f"# cell {number}\n{source}\n")
    return "\n".join(parts)


def _refuse(path: Path, what: str) -> SubmissionError:
    return SubmissionError(f"{path}: {what}; a submission holds only regular files and folders")


def copy_submission(source: Path, target: Path) -> None:
    """Copy a resolved submission (file or package) to `target`, never following a link.

    Symbolic links, FIFOs, sockets and devices are refused, not copied or read; so is
    anything over MAX_BYTES in all, MAX_FILES entries (files and folders; a skipped
    __pycache__ counts too) or MAX_DEPTH levels of folders. Each file is opened with
    O_NOFOLLOW|O_NONBLOCK and checked again on the open descriptor, so a file swapped
    for a link or a FIFO while the copy runs is refused as well. Any error reading the
    submission is a SubmissionError naming the path, never an exception from deep inside.
    """
    try:
        _copy(source, target)
    except OSError as exc:
        raise SubmissionError(f"{exc.filename or source}: cannot be copied ({exc.strerror or exc})") from None


def _copy(source: Path, target: Path) -> None:
    budget = [MAX_BYTES, MAX_FILES]

    def count() -> None:
        budget[1] -= 1
        if budget[1] < 0:
            raise SubmissionError(f"{source}: more than {MAX_FILES} files and folders")

    def copy_file(src: Path, dst: Path) -> None:
        count()
        try:
            fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse(src, "is a symbolic link") from None
            raise SubmissionError(f"{src}: cannot be read ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise _refuse(src, f"is a {_kind(mode)}")
            data = f.read(budget[0] + 1)
        if src.suffix == ".ipynb" and src == source:  # a notebook handed in: its code is what is copied
            data = notebook_source(src, data).encode()
        budget[0] -= len(data)
        if budget[0] < 0:
            raise SubmissionError(
                f"{source}: larger than the limit of {MAX_BYTES:,} bytes in all; a submission holds source code "
                "only (no data, saved outputs or large literals)"
            )
        with open(dst, "xb") as out:
            out.write(data)
        os.chmod(dst, 0o644)

    def copy_dir(src: Path, dst: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SubmissionError(f"{source}: folders nested more than {MAX_DEPTH} deep")
        os.mkdir(dst, 0o755)
        os.chmod(dst, 0o755)
        listed = []
        with os.scandir(src) as entries:
            for entry in entries:  # checked while listed: a folder of a million entries is refused early
                listed.append(entry)
                if len(listed) > budget[1]:
                    raise SubmissionError(f"{source}: more than {MAX_FILES} files and folders")
        for entry in sorted(listed, key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                count()
                if entry.name not in SKIPPED:
                    copy_dir(Path(entry.path), dst / entry.name, depth + 1)
            elif stat.S_ISREG(mode):
                copy_file(Path(entry.path), dst / entry.name)
            else:
                raise _refuse(Path(entry.path), f"is a {_kind(mode)}")

    mode = os.lstat(source).st_mode
    if stat.S_ISDIR(mode):
        copy_dir(source, target, 0)
    elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        copy_file(source, target)
    else:
        raise _refuse(source, f"is a {_kind(mode)}")


def check_submission(source: Path) -> None:
    """Raise SubmissionError where copy_submission would (nothing is kept)."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="handgrad-check-"))
    try:
        copy_submission(source, scratch / "s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):  # fmt: skip
        if test(mode):
            return name
    return "special file"
