"""What handgrad writes never costs the user a file or a run: an existing file is replaced
only when handgrad wrote it (a bundle, a report, marks.csv), shards graded into one folder
make one marks.csv, a submission given twice is graded once, a cell of marks.csv is never a
formula, and every output place and limit is checked before any work starts.

Grading is replaced by a stand-in (`fake_grading`) wherever the check is about files: the
real grader is tested in test_grader.py; here nothing slow runs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from handgrad.cli import MAX_MEMORY, build_parser, main
from handgrad.grading import bundle, grader, reports
from handgrad.grading.grader import FunctionGrade, SubmissionGrade
from reference.names import NAMES

PINS = ["jax==0.6.2", "numpy==2.2.6"]
STUB = "def sigmoid(x):\n    raise NotImplementedError\n"


def _folder(path: Path) -> Path:
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


def _class(folder: Path, *names: str) -> list[Path]:
    _folder(folder)
    for name in names:
        (folder / name).write_text(STUB)
    return [folder / name for name in names]


def fake_grading(monkeypatch: pytest.MonkeyPatch, mark: float = 1.0) -> list[list[Path]]:
    """grade_many stood in for: every function of every path earns `mark` of its weight, each
    grade handed to on_done as the grader does. Returns the paths of each call."""
    calls: list[list[Path]] = []

    def grade_many(paths: Sequence[Path], options: Any, on_done: Any = None, on_progress: Any = None) -> list[Any]:
        calls.append(list(paths))
        grades = []
        for path in paths:
            weights = [(n, options.rubric.weights[n]) for n in NAMES if n in options.functions]
            functions = tuple(FunctionGrade(n, mark * w, w, 1, int(mark < 1), "ok", "visible") for n, w in weights)
            grade = SubmissionGrade(path, functions, 0.1, 7, "test", reason="ok" if mark == 1 else "failed")
            if on_done is not None:
                on_done(path, grade)
            grades.append(grade)
        return grades

    monkeypatch.setattr(grader, "grade_many", grade_many)
    return calls


def no_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any grading at all fails the test: the refusal must come before it."""

    def grade_many(*args: object, **kwargs: object) -> None:
        raise AssertionError("grading started before the outputs were checked")

    monkeypatch.setattr(grader, "grade_many", grade_many)


def _marks(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / "marks.csv").read_text())))


# ---- 1. gradescope-bundle replaces only an earlier bundle ------------------------------------


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.fixture
def no_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package index is never asked: constraints are PINS."""
    monkeypatch.setattr(bundle, "resolve_constraints", lambda python: PINS)


@pytest.mark.usefixtures("no_index")
def test_bundle_never_replaces_a_file_that_is_not_an_earlier_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _zip(tmp_path / "submissions.zip", {"alice/hw.py": "def sigmoid(x): ...", "bob/hw.py": "x = 1"})
    other = _zip(tmp_path / "other.zip", {"setup.sh": "#!/bin/sh", "run_autograder": "#!/bin/sh"})  # another autograder
    forged = _zip(tmp_path / "forged.zip", {bundle.MARKER: "{}"})  # the marker's name, not its text
    notes = tmp_path / "notes.zip"
    notes.write_text("hello\n")
    before = {p: p.read_bytes() for p in (export, other, forged, notes)}
    for path in before:
        assert main(["gradescope-bundle", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert err == f"handgrad gradescope-bundle: {path} exists and is not a handgrad bundle; not replacing it " \
                      "(move it, or choose another name)\n"  # fmt: skip
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in before)  # no temporary file left
    link = tmp_path / "link.zip"
    link.symlink_to(export)
    assert main(["gradescope-bundle", str(link)]) == 2 and "symbolic link" in capsys.readouterr().err
    assert link.is_symlink() and export.read_bytes() == before[export]


@pytest.mark.usefixtures("no_index")
def test_bundle_replaces_an_earlier_bundle_an_old_one_and_an_empty_file(tmp_path: Path) -> None:
    earlier = tmp_path / "autograder.zip"
    bundle.write_bundle(earlier, ["--timeout", "3"], constraints=["old==1"])
    old_style = _zip(tmp_path / "old.zip", {name: "x" for name in bundle.EARLIER})  # before the marker
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    for path in (earlier, old_style, empty):
        assert main(["gradescope-bundle", str(path)]) == 0, path
        with zipfile.ZipFile(path) as zf:
            assert zf.read(bundle.MARKER).decode() == bundle.MARKER_TEXT
            assert zf.read("constraints.txt").decode().split() == PINS
        assert bundle.is_bundle(path)
    assert not bundle.is_bundle(tmp_path / "missing.zip")


# ---- 2. an output place that cannot be written is refused before any work ----------------------


def test_grade_json_or_out_where_nothing_can_be_written_is_refused_before_grading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_grading(monkeypatch)
    (sub,) = _class(tmp_path / "subs", "sub.py")
    why = "cannot be written (it takes no new files)" if os.geteuid() == 0 else "belongs to uid 0"
    assert main(["grade", str(sub), "--function", "sigmoid", "--json", "/proc/results.json"]) == 2
    assert capsys.readouterr().err == f"handgrad grade: /proc: {why}\n"
    assert main(["grade", str(sub), "--function", "sigmoid", "--out", "/proc"]) == 2
    assert capsys.readouterr().err == f"handgrad grade: /proc: {why}\n"
    assert main(["grade", str(sub), "--function", "sigmoid", "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert "no such directory (it is not created for you)" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_a_folder_without_write_permission_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (Root writes into a folder of mode 555 anyway: the refusal is made as the system would.)
    import errno

    real_open = os.open

    def refused(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kw)

    locked = _folder(tmp_path / "locked")
    monkeypatch.setattr(reports.os, "open", refused)
    with pytest.raises(reports.TargetError, match=r"locked: cannot be written \(Permission denied\)"):
        reports.Target(locked)


def test_the_write_check_leaves_nothing_behind(tmp_path: Path) -> None:
    out = _folder(tmp_path / "out")
    reports.Target(out).close()
    assert list(out.iterdir()) == []


@pytest.fixture
def no_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bench that got past its checks stops at the measurement (no JAX setting or malloc
    setting of this process changes either)."""
    from benchmarks import allocator, cli, grading, runner

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the benchmark started before its arguments were checked")

    monkeypatch.setattr(runner, "run", refuse)
    monkeypatch.setattr(grading, "measure", refuse)
    monkeypatch.setattr(allocator, "reuse_freed_memory", lambda: None)
    monkeypatch.setattr(cli, "_configure_jax", lambda: None)


@pytest.mark.usefixtures("no_measuring")
@pytest.mark.parametrize(
    "argv",
    [
        ["--quick", "--cases", "sigmoid_grad", "--json", "/proc/b.json"],
        ["--quick", "--cases", "sigmoid_grad", "--plot", "/proc/b.png"],
        ["--grading", "--json", "/proc/g.json"],
    ],
    ids=["json", "plot", "grading-json"],
)
def test_bench_outputs_where_nothing_can_be_written_are_refused_before_the_run(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("handgrad bench: --") and err.endswith(": /proc cannot be written (it takes no new files)\n")


# ---- 3. --out DIR: nothing handgrad did not write is replaced; shards make one marks.csv ---------


def test_out_never_replaces_a_marks_csv_or_report_it_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_grading(monkeypatch)
    (alice,) = _class(tmp_path / "class", "alice.py")
    out = alice.parent
    gradebook = out / "marks.csv"
    gradebook.write_text("student,final_grade\nalice,A\n")
    argv = ["grade", str(alice), "--function", "sigmoid", "--out", str(out)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"handgrad grade: {gradebook} exists and was not written by handgrad; not replacing it "
        "(move it, or choose another --out DIR)\n"
    )
    gradebook.unlink()
    roster = out / "alice.json"
    roster.write_text('{"roster": ["alice", "bob"]}\n')  # JSON, and still not a report
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"handgrad grade: {roster} exists and is not a handgrad report; not replacing it "
        "(move it, or choose another --out DIR)\n"
    )
    assert roster.read_text() == '{"roster": ["alice", "bob"]}\n'
    roster.unlink()
    (out / "marks.csv").mkdir()
    assert main(argv) == 2 and "is a directory; not replacing it" in capsys.readouterr().err


def test_out_replaces_its_own_reports_and_merges_its_own_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = _class(tmp_path / "class", "alice.py", "bob.py")
    out = _folder(tmp_path / "out")
    fake_grading(monkeypatch, mark=0.0)
    assert main(["grade", *map(str, subs), "--function", "sigmoid", "--out", str(out)]) == 1
    fake_grading(monkeypatch, mark=1.0)  # bob regraded alone: his row changes where it stands, alice's stays
    assert main(["grade", str(subs[1]), "--function", "sigmoid", "--out", str(out)]) == 0
    assert "(1 of its rows from earlier runs)" in capsys.readouterr().out
    rows = _marks(out)
    assert [(r["submission"], r["score"], r["report"]) for r in rows] == [
        (str(subs[0]), "0", "alice"),
        (str(subs[1]), "1", "bob"),
    ]
    assert json.loads((out / "bob.json").read_text())["score"] == 1.0
    assert reports.is_report((out / "alice.json").read_bytes())


@pytest.mark.parametrize("order", [(1, 2), (2, 1)], ids=["in-order", "reversed"])
def test_shards_into_one_folder_make_one_marks_csv_in_the_class_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: tuple[int, int]
) -> None:
    subs = _class(tmp_path / "class", "a.py", "b.py", "c.py", "d.py")
    subs += _class(tmp_path / "other", "a.py")  # a second a.py: its report name comes from the whole class
    out = _folder(tmp_path / "out")
    calls = fake_grading(monkeypatch)
    for k in order:
        assert main(["grade", *map(str, subs), "--function", "sigmoid", "--out", str(out), "--shard", f"{k}/2"]) == 0
    assert sorted(map(len, calls)) == [2, 3]
    rows = _marks(out)
    assert [r["submission"] for r in rows] == [str(p) for p in subs]  # every shard's rows, as given
    names = [r["report"] for r in rows]
    assert len(set(names)) == 5 and all((out / f"{n}.json").is_file() for n in names)
    assert names == [reports.report_names(subs)[p] for p in subs]


def test_a_report_of_another_submission_or_a_table_of_other_marks_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (first,) = _class(tmp_path / "x", "alice.py")
    (second,) = _class(tmp_path / "y", "alice.py")
    out = _folder(tmp_path / "out")
    fake_grading(monkeypatch)
    assert main(["grade", str(first), "--function", "sigmoid", "--out", str(out)]) == 0
    kept = (out / "marks.csv").read_bytes(), (out / "alice.json").read_bytes()
    no_grading(monkeypatch)
    assert main(["grade", str(second), "--function", "sigmoid", "--out", str(out)]) == 2
    assert f"{out / 'alice'}.json is the report of {first} (marks.csv)" in capsys.readouterr().err
    assert main(["grade", str(first), "--function", "relu", "--out", str(out)]) == 2
    assert "holds marks for other functions (sigmoid)" in capsys.readouterr().err
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[functions.sigmoid]\nweight = 2\n")
    assert main(["grade", str(first), "--function", "sigmoid", "--rubric", str(rubric), "--out", str(out)]) == 2
    assert "holds marks out of 1, this run's are out of 2" in capsys.readouterr().err
    assert ((out / "marks.csv").read_bytes(), (out / "alice.json").read_bytes()) == kept


def test_what_appears_in_out_during_grading_is_kept_and_said_after_the_grades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subs = _class(tmp_path / "class", "alice.py", "bob.py")
    out = _folder(tmp_path / "out")
    fake_grading(monkeypatch)
    graded = grader.grade_many

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        (out / "alice.json").write_text('{"roster": []}\n')  # someone's file, after the check
        (out / "marks.csv").mkdir()
        return graded(*args, **kwargs)

    monkeypatch.setattr(grader, "grade_many", meanwhile)
    assert main(["grade", *map(str, subs), "--function", "sigmoid", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "handgrad: 1 / 1 for alice.py" in captured.out and "handgrad: 1 / 1 for bob.py" in captured.out
    assert f"handgrad grade: {out / 'alice.json'} exists and is not a handgrad report" in captured.err
    assert captured.err.endswith(f"handgrad grade: {out / 'marks.csv'} is a directory; not replacing it\n")
    assert (out / "alice.json").read_text() == '{"roster": []}\n'
    assert reports.is_report((out / "bob.json").read_bytes())


ALIKE = [  # names whose shown cells were the same (a formula's apostrophe, printable's escapes)
    ("=a.py", "'=a.py"),
    ("-x.py", "'-x.py"),
    (" =b.py", "' =b.py"),
    ("a\x1b.py", "a\\x1b.py"),
    ("c\udcff.py", "c\\xff.py"),
]


@pytest.mark.parametrize(("one", "other"), ALIKE, ids=[f"alike-{i}" for i in range(len(ALIKE))])
def test_two_submissions_graded_apart_into_one_folder_keep_a_row_each(one: str, other: str) -> None:
    """A red team graded `=a.py` and then `'=a.py` into one --out: both became the cell `'=a.py`,
    and merging marks.csv replaced the first student's row with the second's."""
    grades = [SubmissionGrade(Path(n), (FunctionGrade("relu", m, 1, 1, 1 - m, "", "visible"),), 0, 1, "t")
              for n, m in ((one, 1), (other, 0))]  # fmt: skip
    names = reports.report_names([g.path for g in grades])
    merged = reports.merge_marks(
        reports.marks_csv(grades[:1], names).encode(), reports.marks_csv(grades[1:], names), []
    )
    rows = list(csv.DictReader(io.StringIO(merged)))
    assert [r["score"] for r in rows] == ["1", "0"], merged
    assert rows[0]["submission"] != rows[1]["submission"]
    assert all(not r["submission"].startswith("=") for r in rows)  # still never a formula


def test_two_targets_merge_their_rows_and_the_lock_excludes_another_process(tmp_path: Path) -> None:
    out = _folder(tmp_path / "out")
    grades = [SubmissionGrade(Path(f"{n}.py"), (FunctionGrade("relu", 1, 1, 1, 0, "", "visible"),), 0, 1, "t")
              for n in ("a", "b", "c")]  # fmt: skip
    order = [reports.submission_cell(g.path) for g in grades]
    first, second = reports.Target(out), reports.Target(out)  # two shards, both checked before either wrote
    assert reports.write_marks(second, reports.marks_csv(grades[2:]), order) == 1
    assert reports.write_marks(first, reports.marks_csv(grades[:2]), order) == 3
    assert [r["submission"] for r in _marks(out)] == ["a.py", "b.py", "c.py"]
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"
    )
    with first.lock():
        held = subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True, text=True, timeout=60)
    assert held.returncode != 0 and "BlockingIOError" in held.stderr
    free = subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True, text=True, timeout=60)
    assert free.returncode == 0, free.stderr
    first.close()
    second.close()


# ---- 4. a submission given twice is graded once --------------------------------------------


def test_paths_naming_one_submission_are_graded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sub, _ = _class(tmp_path / "class", "a.py", "b.py")
    os.link(sub, tmp_path / "class" / "hard.py")
    alone = _class(tmp_path / "alone", "only.py")[0].parent  # a folder graded as its one file
    out = _folder(tmp_path / "out")
    calls = fake_grading(monkeypatch)
    monkeypatch.chdir(tmp_path / "class")
    given = ["a.py", "./a.py", str(sub), "hard.py", "b.py", str(alone), str(alone / "only.py")]
    assert main(["grade", *given, "--function", "sigmoid", "--out", str(out)]) == 0
    assert calls == [[Path("a.py"), Path("b.py"), alone]]
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if "given before" in line]
    assert said == [
        f"handgrad grade: 4 path(s) name a submission given before (./a.py is a.py, {sub} is a.py, hard.py is a.py "
        "and 1 more): each submission is graded once, with one row"
    ]
    assert [r["submission"] for r in _marks(out)] == ["a.py", "b.py", str(alone)]


# ---- 5. no cell of marks.csv is a formula --------------------------------------------------------

FORMULA = ("=", "+", "-", "@", "\t", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""A cell a spreadsheet may run: OWASP's starts, and their full-width forms."""


@pytest.mark.parametrize("name", ["=cmd.py", "+1.py", "-x.py", "@a.py", "\tt.py", " =sp.py", "\uff1dw.py"])
def test_no_cell_of_marks_csv_is_a_formula_and_the_json_keeps_the_name(name: str) -> None:
    grade = SubmissionGrade(Path(name), (FunctionGrade("relu", 1, 1, 1, 0, "", "visible"),), 0, 1, "t")
    (row,) = list(csv.DictReader(io.StringIO(reports.marks_csv([grade]))))
    for column, cell in row.items():
        assert not cell.lstrip(" ").startswith(FORMULA), (column, cell)
    assert row["submission"] == "'" + name
    assert reports.gradescope(grade)["output"].startswith(f"handgrad: 1 / 1 for {name}\n")


def test_an_escaped_report_name_is_still_known_as_that_report(tmp_path: Path) -> None:
    out = _folder(tmp_path / "out")
    dash = SubmissionGrade(Path("-x.py"), (FunctionGrade("relu", 1, 1, 1, 0, "", "visible"),), 0, 1, "t")
    target = reports.Target(out)
    reports.write_marks(target, reports.marks_csv([dash]), ["'-x.py"])
    assert _marks(out)[0]["report"] == "'-x"
    with pytest.raises(reports.TargetError, match=r"is the report of '-x\.py"):
        reports.check_marks(target, ["relu"], 1, {"other/-x.py": "-x"})
    reports.check_marks(target, ["relu"], 1, {"'-x.py": "-x"})  # its own row: regraded
    target.close()


# ---- 6. a memory cap the system cannot take is refused by the parser ---------------------------


@pytest.mark.parametrize("command", [["grade", "a.py"], ["gradescope-bundle", "a.zip"]])
@pytest.mark.parametrize("size", ["99999999T", "8E", "4194304T", str(MAX_MEMORY + 1)])
def test_a_memory_cap_past_what_the_system_takes_is_refused(
    command: list[str], size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--memory", size])
    assert exc.value.code == 2
    assert f"argument --memory: {size}: must be at most 1E" in capsys.readouterr().err


def test_the_largest_memory_cap_fits_setrlimit() -> None:
    from handgrad.grading.pool import Limits, address_space

    assert build_parser().parse_args(["grade", "a.py", "--memory", "1E"]).memory == MAX_MEMORY
    assert address_space(Limits(memory=MAX_MEMORY), cores=4096, cgroup=True) <= 2**63 - 1
    assert address_space(Limits(memory=MAX_MEMORY), cores=4096, cgroup=False) <= 2**63 - 1


# ---- 7. bench: --hlo is a folder; grading options only with --grading -------------------------


@pytest.mark.usefixtures("no_measuring")
def test_bench_hlo_must_be_a_folder_or_a_new_one_in_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "sol.py"
    a_file.write_text("x = 1\n")
    assert main(["bench", "--quick", "--cases", "sigmoid_grad", "--hlo", str(a_file)]) == 2
    assert "is not a folder (a file is there)" in capsys.readouterr().err
    deep = tmp_path / "missing" / "hlo"
    assert main(["bench", "--quick", "--cases", "sigmoid_grad", "--hlo", str(deep)]) == 2
    assert f"no such folder {deep.parent} (it is not created for you)" in capsys.readouterr().err
    assert not deep.parent.exists()
    new = tmp_path / "hlo"
    assert main(["bench", "--quick", "--cases", "nope", "--hlo", str(new)]) == 2
    assert not new.exists(), "a refused run makes no folder"
    with pytest.raises(AssertionError, match="started before"):  # every check passed: made, then measured
        main(["bench", "--quick", "--cases", "sigmoid_grad", "--hlo", str(new)])
    assert new.is_dir() and list(new.iterdir()) == []


@pytest.mark.usefixtures("no_measuring")
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--repeats", "-1"], "--repeats must be at least 1, not -1"),
        (["--class-size", "0", "--grading"], "--class-size must be at least 1, not 0"),
        (["--class-size", "3"], "--class-size: only with --grading"),
        (["--quick", "--jobs", "4", "--repeats", "2"], "--jobs, --repeats: only with --grading"),
    ],
)
def test_bench_grading_options_are_checked_always_and_refused_without_grading(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("handgrad bench: ") and message in err and err.count("\n") == 1
