"""Inputs nobody wrote the happy path for: a newcomer's rubric, bundle and command line
slips, each answered with one clear line before any work starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.cli import main
from handgrad.grading.rubric import RubricError, load


def _rubric(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("default_weight = nan\n", "default_weight: weight must be a finite number >= 0, got nan"),
        ("[functions.relu]\nweight = inf\n", "functions.relu: weight must be a finite number >= 0, got inf"),
        ("[tiers]\nderivation = nan\n", "tiers.derivation: weight must be a finite number >= 0, got nan"),
        ("default_weight = 0\n", "every function weighs 0"),
        ("[functions.sigmoidd]\nweight = 2\n", "functions.sigmoidd: not a contract function (did you mean sigmoid?)"),
        ('[functions.relu]\nvisibility = "hiden"\n', "got 'hiden' (did you mean hidden?)"),
        ("[function.relu]\nweight = 2\n", "unknown keys ['function'] (did you mean functions?)"),
        ("[functions.relu]\nwieght = 2\n", "functions.relu: unknown keys ['wieght'] (did you mean weight?)"),
        ("[functions]\nrelu = 2\n", "[functions.relu] then weight = ..."),
        ("[tiers]\nstabilty = 1\n", "unknown tiers ['stabilty'] (did you mean stability?)"),
    ],
    ids=["nan", "inf", "nan-tier", "all-zero", "name", "visibility", "section", "key", "shorthand", "tier"],
)
def test_rubric_slips_are_named_with_the_likely_fix(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(RubricError) as exc:
        load(_rubric(tmp_path, text))
    assert words in str(exc.value)


def test_rubric_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_bytes(b"\xff\xfedefault_weight = 1\n")
    with pytest.raises(RubricError, match=r"rubric\.toml: not UTF-8 text"):
        load(path)


def test_rubric_with_one_weighted_function_loads(tmp_path: Path) -> None:
    rubric = load(_rubric(tmp_path, "default_weight = 0\n[functions.relu]\nweight = 2\n"))
    assert rubric.max_score == 2.0 and rubric.weights["relu"] == 2.0 and rubric.weights["sigmoid"] == 0.0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--jobs", "0"], "argument --jobs: must be at least 1, not 0"),
        (["--timeout", "-1"], "argument --timeout: must be a positive number of seconds"),
        (["--timeout", "nan"], "argument --timeout: must be a positive number of seconds"),
        (["--memory", "1K"], "argument --memory: 1K: must be at least 256M"),
    ],
)
def test_bundle_refuses_limits_that_would_fail_every_student(
    tmp_path: Path, argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "autograder.zip"
    with pytest.raises(SystemExit) as exc:
        main(["gradescope-bundle", str(out), *argv])
    assert exc.value.code == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_grade_budget_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["grade", "a.py", "--budget", "0"])
    assert "argument --budget: must be a positive number of seconds, not 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing/sub/autograder.zip", "missing/sub: no such directory (it is not created for you)"),
        ("autograder.txt", "autograder.txt: Gradescope takes the autograder as a .zip file"),
        ("folder.zip", "folder.zip: is a directory"),
    ],
)
def test_bundle_target_is_checked_and_nothing_is_left_behind(
    tmp_path: Path, name: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.zip").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["gradescope-bundle", str(tmp_path / name)]) == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no folder made, no .tmp left


def test_bundle_rubric_is_checked_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rubric = _rubric(tmp_path, "default_weight = 0\n")
    assert main(["gradescope-bundle", str(tmp_path / "a.zip"), "--rubric", str(rubric)]) == 2
    assert "every function weighs 0" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_grade_names_every_bad_path_and_creates_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text("def relu(x):\n    return x\n")
    (tmp_path / "nopy").mkdir()
    (tmp_path / "nopy" / "readme.txt").write_text("hi")
    out = tmp_path / "marks"
    argv = ["grade", str(tmp_path / "ok.py"), str(tmp_path / "nopy"), str(tmp_path / "gone.py"), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "2 of 3 paths hold no gradable submission" in err
    assert f"{tmp_path / 'nopy'}: no .py file or package in it" in err
    assert f"{tmp_path / 'gone.py'}: no such file or directory" in err
    assert not out.exists()


def test_grade_a_folder_of_many_files_points_to_the_glob(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("alice.py", "bob.py"):
        (tmp_path / name).write_text("def relu(x):\n    return x\n")
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "marks")]) == 2
    err = capsys.readouterr().err
    assert f"handgrad grade {tmp_path}/*.py --out DIR" in err
    assert not (tmp_path / "marks").exists()


def test_grade_refuses_a_rubric_that_gives_the_chosen_functions_no_weight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rubric = _rubric(tmp_path, "default_weight = 0\n[functions.relu]\nweight = 1\n")
    (tmp_path / "s.py").write_text("def sigmoid(x):\n    return x\n")
    assert main(["grade", str(tmp_path / "s.py"), "--rubric", str(rubric), "--function", "sigmoid"]) == 2
    assert "every function graded (sigmoid) weighs 0" in capsys.readouterr().err
