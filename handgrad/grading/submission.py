"""What counts as a submission, and finding it in what a student uploaded."""

from __future__ import annotations

from pathlib import Path

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
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or directory")
    if path.is_file():
        if path.suffix != ".py":
            raise SubmissionError(f"{path}: a submission is a .py file or a package directory")
        try:
            path.read_bytes()
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
        raise SubmissionError(f"{path}: no .py file or package in it")
    names = ", ".join(p.name for p in [*files, *packages])
    raise SubmissionError(f"{path}: several candidates ({names}); name one, or call it submission.py")
