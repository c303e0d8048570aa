"""The command line as a newcomer meets it: help, version, pointers, argument checks that
answer before JAX loads, and no JAX configuration changed by importing handgrad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import handgrad
from handgrad.cli import main
from reference.catalog import NAMES as CATALOG_NAMES
from reference.names import NAMES


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_light_name_list_is_the_catalogs() -> None:
    assert NAMES == CATALOG_NAMES


def test_parsing_arguments_loads_no_jax() -> None:
    # Usage errors must answer at once: nothing heavy is imported to build and run the parser.
    code = (
        "import sys; from handgrad.cli import main; rc = main(['check', '--show', 'x']) if False else None; "
        "from handgrad.cli import build_parser; build_parser().parse_args(['grade', 'a.py', '--function', 'relu']); "
        "print(sorted(m for m in ('jax', 'jaxlib', 'matplotlib', 'tqdm') if m in sys.modules))"
    )
    assert _python(code) == "[]"


def test_importing_handgrad_changes_no_jax_setting() -> None:
    code = (
        "import jax, handgrad, handgrad.cli; print(jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)"
    )
    assert _python(code) == "False None"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"handgrad {handgrad.__version__}"


def test_bare_command_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("check", "grade", "gradescope-bundle", "bench"):
        assert f"\n    {command}" in out


def test_check_given_a_file_points_to_grade(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "student.py"]) == 2
    err = capsys.readouterr().err
    assert "handgrad grade student.py" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check", "--show", "-1"], "must be 0 or more"),
        (["check", "--function", "softmax_grad"], "'softmax_grad': did you mean softmax or softmax_vjp"),
        (["grade", "a.py", "--function", "cosine_grad"], "cosine_similarity_grad"),
        (["grade", "a.py", "--function", "qqqq"], "no contract function is named 'qqqq': docs/contract.md"),
        (["grade", "a.py", "--memory", "lots"], "not a size"),
        (["grade", "a.py", "--shard", "3/2"], "need 1 <= K <= N"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


# ---- one convention for --dtype, and a plot that says how to read it (issue 19) ---------


@pytest.mark.parametrize("argv", [["--dtype", "float32,float16"], ["--dtype", "float32", "--dtype", "float16"],
                                  ["--dtype", "float32", "float16"]])  # fmt: skip
def test_check_and_bench_take_dtypes_the_same_ways(argv: list[str]) -> None:
    from benchmarks.cli import _split
    from handgrad.cli import build_parser

    parser = build_parser()
    check = parser.parse_args(["check", *argv]).dtype
    bench = parser.parse_args(["bench", *argv]).dtype
    assert [d for group in check for d in group] == _split(bench) == ["float32", "float16"]


def test_check_dtype_typo_names_the_near_miss(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--dtype", "float32,flaot16"])
    assert "did you mean float16?" in capsys.readouterr().err


def _results() -> list:
    from benchmarks.runner import Result

    rows = []
    for sweep in (64, 256, 1024, 4096):
        for impl, seconds in (("handwritten", 1e-5), ("autodiff", 1.3e-5), ("copy", 0.5e-5)):
            rows.append(Result(case="softmax_vjp", impl=impl, size=sweep, dtype="float32", device="cpu:0",
                               seconds=seconds * sweep / 64, spread=0.0, bytes=8 * sweep, gbps=1.0, items_per_s=1.0,
                               group="", sweep=sweep, items=sweep, minimum=seconds, repeats=3, inner=1))  # fmt: skip
    return rows


@pytest.mark.parametrize("quick", [False, True])
def test_bench_plot_says_how_to_read_it(quick: bool) -> None:
    from benchmarks.plot import figure

    fig = figure(_results(), quick=quick)
    title = fig._suptitle.get_text()
    assert ("--quick" in title) is quick
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("lower is better" in label for label in labels) and any("higher is better" in label for label in labels)
    fig.canvas.draw()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            major = [t.label1.get_fontsize() for t in axis.get_major_ticks()]
            minor = [t.label1.get_fontsize() for t in axis.get_minor_ticks()]
            assert not major or not minor or max(minor) <= min(major)


def test_license_is_an_spdx_string_and_setuptools_reads_it() -> None:
    from handgrad.grading.rubric import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["license"] == "MIT"
    minimum = next(r for r in data["build-system"]["requires"] if r.startswith("setuptools"))
    assert tuple(int(p) for p in minimum.split(">=")[1].split(".")[:1]) >= (77,)  # SPDX strings: setuptools 77


def test_the_command_ends_fast_but_flushes_its_output_and_runs_exit_handlers(tmp_path: Path) -> None:
    # entry() skips the interpreter's teardown; what a command printed, its exit status and
    # the atexit handlers (temporary folders are removed by them) must all survive that.
    code = (
        "import atexit, sys; from pathlib import Path; "
        f"atexit.register(lambda: Path({str(tmp_path / 'handler-ran')!r}).write_text('yes')); "
        "atexit.register(lambda: print('said at exit')); "  # left in the buffer: flushed, or lost
        "sys.argv = ['handgrad', 'rubric']; from handgrad.cli import entry; entry()"
    )
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as in a terminal's pipe
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=buffered)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("# ") and proc.stdout.endswith("weight = 1\nsaid at exit\n"), proc.stdout[-300:]
    assert (tmp_path / "handler-ran").read_text() == "yes"
    failed = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv = ['handgrad', 'check', 'student.py']; "
         "from handgrad.cli import entry; entry()"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 2 and "handgrad grade" in failed.stderr


# ---- an output never replaces a file it did not write --------------------------------


def test_json_and_bench_outputs_never_replace_a_source_or_a_file_they_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = tmp_path / "my_grads.py"
    sub.write_text("def relu(x):\n    return x\n")
    notebook = tmp_path / "hw.ipynb"
    notebook.write_text('{"cells": [], "nbformat": 4}')  # JSON, and still a source
    notes, other, roster = tmp_path / "notes.txt", tmp_path / "other.py", tmp_path / "roster.json"
    notes.write_text("my derivation notes")
    other.write_text("x = 1\n")
    roster.write_text('{"students": ["ann", "bob"]}')
    before = {p: p.read_bytes() for p in (sub, notebook, notes, other, roster)}
    cases = [
        (["grade", str(sub), "--json", str(sub)], "is a submission being graded"),
        (["grade", str(notebook), "--json", str(notebook)], "is a submission being graded"),
        (["grade", str(sub), "--json", str(other)], "is a .py file"),
        (["grade", str(sub), "--json", str(notes)], "is not a handgrad report"),
        (["grade", str(sub), "--json", str(roster)], "is not a handgrad report"),  # JSON, not a report
        (["bench", "--quick", "--json", str(other)], "is a .py file"),
        (["bench", "--quick", "--plot", str(notes)], "does not hold a plot output"),
        (["bench", "--grading", "--json", str(notes)], "does not hold a json output"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        assert words in capsys.readouterr().err, argv
    assert {p: p.read_bytes() for p in before} == before


def test_what_an_output_may_replace(tmp_path: Path) -> None:
    from handgrad.outputs import replace_problem

    report, empty, png = tmp_path / "results.json", tmp_path / "empty.json", tmp_path / "speed.png"
    report.write_text('\n  {"score": 1}')
    empty.write_text("")
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    assert replace_problem(tmp_path / "new.json", "json") is None
    assert replace_problem(report, "json") is None and replace_problem(empty, "json") is None
    assert replace_problem(png, "plot") is None
    assert replace_problem(png, "json") is not None and replace_problem(report, "plot") is not None
    assert replace_problem(report, "json", graded=[report]) is not None
    # `grade --json` replaces only a results.json of handgrad's: not an instructor's roster
    from handgrad.grading.reports import gradescope_error

    earlier, roster = tmp_path / "earlier.json", tmp_path / "roster.json"
    earlier.write_text(json.dumps(gradescope_error("could not start")))
    roster.write_text(json.dumps({"students": ["ann", "bob"], "due": "2026-12-01"}))
    assert replace_problem(earlier, "report") is None and replace_problem(empty, "report") is None
    assert "not a handgrad report" in str(replace_problem(roster, "report"))
    assert "not a handgrad report" in str(replace_problem(report, "report"))
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "config.json").write_text("{}")
    assert "inside" in str(replace_problem(package / "config.json", "json", graded=[package]))
    assert replace_problem(package / "config.json", "json", graded=[report]) is None


def test_sigterm_mid_grade_ends_the_command_and_leaves_nothing_behind(tmp_path: Path) -> None:
    # SIGTERM used to end the command where it stood: the staged copy of the submission
    # stayed in /tmp. Now it is handled as Ctrl-C is (exit 143, "terminated").
    import signal
    import time

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    sub = tmp_path / "sub.py"
    sub.write_text("import jax.numpy as jnp\n\n\ndef relu(x):\n    return jnp.maximum(x, 0)\n")
    argv = [sys.executable, "-m", "handgrad", "grade", str(sub), "--function", "relu", "--insecure", "--no-cache"]
    proc = subprocess.Popen(argv, env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(scratch.glob("handgrad-sub-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the grade ended before its copy was seen"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "handgrad: terminated" in err, err[-2000:]
    assert list(scratch.iterdir()) == []


def test_a_misspelt_option_is_answered_by_its_command_with_the_option_meant(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["grade", "t.py", "--functoin", "sigmoid"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: handgrad grade" in err and "did you mean --function?" in err
    with pytest.raises(SystemExit):
        main(["check", "--strcit"])
    err = capsys.readouterr().err
    assert "usage: handgrad check" in err and "did you mean --strict?" in err
