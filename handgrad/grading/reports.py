"""Write grades out: Gradescope's results.json, a CSV of marks, plain text.

Every file is written by the grader after the workers are gone, to a temporary file
beside the target and then renamed over it, so a report is never half-written and
anything else at that path (whatever a submission may have put there) is replaced.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handgrad.grading.grader import SubmissionGrade


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.is_symlink() or path.is_dir():
            raise OSError(f"{path} is a link or a directory; not replacing it")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def gradescope(grade: SubmissionGrade) -> dict[str, Any]:
    """Gradescope's results.json: one test per contract function."""
    return {
        "score": round(grade.score, 6),
        "execution_time": round(grade.seconds, 3),
        "output": grade.summary(),
        "visibility": "visible",
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


def marks_csv(grades: Sequence[SubmissionGrade]) -> str:
    if not grades:
        return "submission,score,max_score\n"
    names = [f.name for f in grades[0].functions]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *names])
    for g in grades:
        by = {f.name: f.score for f in g.functions}
        writer.writerow([str(g.path), f"{g.score:g}", f"{g.max_score:g}", *(f"{by[n]:g}" for n in names)])
    return out.getvalue()


def text(grade: SubmissionGrade, verbose: bool = True) -> str:
    lines = [grade.summary(), ""]
    width = max(len(f.name) for f in grade.functions)
    for f in grade.functions:
        mark = "PASS" if f.passed else "FAIL"
        lines.append(f"{mark}  {f.name:<{width}}  {f.score:g}/{f.max_score:g}")
    if verbose:
        for f in grade.functions:
            if not f.passed or f.warned:
                lines += ["", f"--- {f.name} ---", f.feedback]
    return "\n".join(lines)


def json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def unique_stem(path: Path, taken: set[str]) -> str:
    stem = path.stem if path.suffix == ".py" else path.name
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "submission"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name
