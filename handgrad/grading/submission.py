"""What counts as a submission, and finding it in what a student uploaded."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

NOTEBOOK = "export it to a .py file (jupyter nbconvert --to script NAME.ipynb) and submit that"
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
        if path.suffix == ".ipynb":
            raise SubmissionError(f"{path}: a notebook; {NOTEBOOK}")
        if path.suffix != ".py":
            raise SubmissionError(f"{path}: a submission is a .py file or a package directory")
        if path.is_symlink():
            raise _refuse(path, "is a symbolic link")
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK))
        except OSError as exc:
            raise SubmissionError(f"{path}: cannot be read ({exc.strerror})") from None
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
    if not files and not packages:
        notebooks = sorted(p.name for p in path.glob("*.ipynb"))
        also = f" (only the notebook {', '.join(notebooks)}: {NOTEBOOK})" if notebooks else ""
        raise SubmissionError(f"{path}: no .py file or package in it{also}")
    names = ", ".join(p.name for p in [*files, *packages])
    raise SubmissionError(f"{path}: several candidates ({names}); name one, or call it submission.py")


MAX_BYTES = int(os.environ.get("HANDGRAD_MAX_SUBMISSION_BYTES", str(1 << 20)))
"""Largest submission (all its files together) the grader copies."""
MAX_FILES = 200
"""Most entries (files and folders together) in one submission."""
MAX_DEPTH = 16
"""Deepest folder nesting in one submission."""
SKIPPED = ("__pycache__",)


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
        budget[0] -= len(data)
        if budget[0] < 0:
            raise SubmissionError(f"{source}: larger than {MAX_BYTES} bytes in all")
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
