"""The pytest plugin behind `pytest --submission PATH` (registered as the `handgrad` pytest11
entry point, so the options are known in any directory and take `--submission PATH` with a
space as well as `--submission=PATH`).

With `--submission` and no test paths, pytest runs handgrad's agreement matrix
(tests/test_agreement.py of the checkout handgrad is installed from) against the submission,
from whatever directory it is started in. The fixtures live in the checkout's conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "tests" / "test_agreement.py"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("handgrad")
    group.addoption(
        "--submission",
        metavar="PATH",
        default=None,
        help="run handgrad's agreement matrix against this submission (a .py file or a package directory)",
    )
    group.addoption(
        "--strict-kinks",
        action="store_true",
        default=False,
        help="at kinks accept only the contract's convention, not any valid subgradient",
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    known = early_config.known_args_namespace
    submission = getattr(known, "submission", None)
    if submission is None:
        return
    from handgrad.grading.submission import SubmissionError, resolve  # light: no JAX

    try:  # one clear line now, not an error in the setup of every test
        resolve(Path(submission))
    except SubmissionError as exc:
        raise pytest.UsageError(f"--submission {exc}") from None
    if known.file_or_dir:
        return  # the user named the tests to run
    if not MATRIX.is_file():
        raise pytest.UsageError(
            f"--submission runs handgrad's agreement matrix, which ships with a checkout of handgrad; "
            f"{MATRIX} is missing (install with `pip install -e .` from a clone), or use `handgrad grade`"
        )
    args.append(str(MATRIX))
    known.file_or_dir = [str(MATRIX)]
    if not Path.cwd().resolve().is_relative_to(ROOT):
        known.confcutdir = str(ROOT)  # so the checkout's conftest.py (the fixtures) is loaded


STUB_REASONS = {
    "raises": "its body only raises NotImplementedError",
    "returns-none": "its body does nothing (it returns None)",
}


def stub_skips(submission: Path, names: list[str]) -> dict[str, str]:
    """The contract functions the submission has not written yet, read from its source as the
    grader reads them (handgrad/grading/stubs.py), each with the reason its cells are skipped:
    one skip per cell with that reason, instead of the same failure in every cell."""
    from handgrad.grading.stubs import find_stubs
    from handgrad.grading.submission import resolve

    path = resolve(submission)
    shown = path.name
    return {
        name: f"{shown}: {name} is not attempted yet ({STUB_REASONS[kind]})"
        for name, kind in find_stubs(path, names).items()
    }


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    submission = config.getoption("--submission", None)
    if submission is None:
        return
    cases = {item: getattr(item, "callspec", None) for item in items}
    names = sorted({spec.params["case"].entry.name for spec in cases.values() if spec and "case" in spec.params})
    skips = stub_skips(Path(submission), names)
    for item, spec in cases.items():
        if spec is not None and "case" in spec.params and spec.params["case"].entry.name in skips:
            item.add_marker(pytest.mark.skip(reason=skips[spec.params["case"].entry.name]))
