"""The benchmark's output files: checked before the run, written whole after it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def not_writable(folder: Path) -> str:
    """Why no file can be made in `folder` (tried: a read-only file system, a mode without w,
    /proc), or "" where one can: the grader's own probe (reports.why_not_writable)."""
    from handgrad.grading.reports import why_not_writable

    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        return str(exc.strerror or exc)
    try:
        return why_not_writable(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: str | bytes) -> None:
    """Write `path` whole or not at all: a new file beside it, renamed over it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
