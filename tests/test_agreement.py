"""The agreement matrix: every catalog function x dtype x transform x device x family.

Each cell evaluates the implementation under test (handwritten, or --submission) and
compares it with the autodiff reference. Ids read `sigmoid_grad-float32-jit-cpu:0-extreme`.
"""

from __future__ import annotations

import pytest

from handgrad.cases import Case, build_cases
from handgrad.engine import run_case

LOW_PRECISION = ("float16", "bfloat16")


def matrix() -> list[Case]:
    """Every cell, except that float16 and bfloat16 run on one device per backend (the first
    CPU and the default backend's first device): where an array lives does not depend on its
    dtype, and the placements are covered in float32 and float64. Keeps the suite in budget."""
    import jax

    from handgrad.evaluate import device_name

    one_per_backend = {device_name(jax.devices("cpu")[0]), device_name(jax.devices()[0])}
    return [c for c in build_cases() if c.dtype not in LOW_PRECISION or c.device in one_per_backend]


CASES = matrix()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The whole matrix for handwritten; for --submission, the devices its worker has (CPU)."""
    if metafunc.definition.name != "test_agreement":
        return
    cases, prefix = CASES, ""
    submission = metafunc.config.getoption("--submission")
    if submission is not None:
        from pathlib import Path

        from handgrad.escape import printable
        from handgrad.evaluate import worker_devices

        cases = build_cases(devices=worker_devices())
        prefix = printable(Path(submission).name, newlines=False, tabs=False) + ":"  # the file, in every node id
    metafunc.parametrize("case", cases, ids=lambda c: prefix + c.id)


SEEN_CAUSES: dict[tuple[str, str, str], str] = {}
"""(function, problem, likely mistake) -> the node id of the first cell that failed so (per
process: with -n, once per xdist worker)."""


@pytest.mark.matrix
def test_agreement(evaluator, case: Case, strict_kinks: bool, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    result = run_case(evaluator, case, strict=strict_kinks)
    if result.ok:
        return
    # The explanation alone (no traceback into the engine, no repr of the result), in full once
    # per distinct cause; a later cell that fails the same way says so in one line.
    cause = (case.entry.name, result.problem, result.hint)
    first = SEEN_CAUSES.setdefault(cause, request.node.nodeid)
    if first != request.node.nodeid:
        pytest.fail(f"{result.problem}: the same cause as {first} (its message says what and why)", pytrace=False)
    pytest.fail(result.message(), pytrace=False)


def test_matrix_covers_every_function_dtype_transform_and_device() -> None:
    from handgrad.evaluate import TRANSFORMS, available_devices
    from reference.catalog import CATALOG

    seen = {(c.entry.name, c.dtype, c.transform, c.device) for c in CASES}
    for entry in CATALOG:
        assert set(entry.dtypes) == {"float32", "float64", "float16", "bfloat16"}, entry.name
        for dtype in entry.dtypes:
            for transform in TRANSFORMS:
                assert (entry.name, dtype, transform, "cpu:0") in seen
    assert "sharded" in available_devices(), "conftest asks for two host devices"
    assert any(c.device == "sharded" for c in CASES)
