"""The command line as a newcomer meets it: help, version, pointers, argument checks that
answer before JAX loads, and no JAX configuration changed by importing handgrad."""

from __future__ import annotations

import subprocess
import sys

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
