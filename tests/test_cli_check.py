"""`handgrad check`: the table, the seed example and the exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

import handwritten
from handgrad import cli
from handgrad.cases import build_cases
from handgrad.engine import InProcess, run_all
from handgrad.table import rows, seed_lines


def test_check_prints_table_and_seed_example_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["check", "--function", "relu_grad", "--function", "two_layer_grads", "--dtype", "float32"])
    out = capsys.readouterr().out
    assert code == 0
    assert "function" in out and "worst err / allowed" in out
    for device in ("cpu:0", "sharded"):  # (one device of each platform, and the placement across both)
        assert f"relu_grad        float32  {device}" in out
    assert "cpu:1" not in out
    assert "dL/dW1" in out and "0.00683471" in out
    assert "FAIL" not in out and "DIFFERS" not in out


def test_check_exits_1_on_a_wrong_formula() -> None:
    def bad_relu_grad(x):  # type: ignore[no-untyped-def]
        return (x > 1).astype(x.dtype)

    evaluator = InProcess({**vars(handwritten), "relu_grad": bad_relu_grad})
    from reference.catalog import BY_NAME

    results = run_all(evaluator, build_cases([BY_NAME["relu_grad"]], dtypes=["float32"], devices=["cpu:0"]))
    table_rows = rows(results)
    assert not all(r.ok for r in table_rows)
    assert any(cells[-1].startswith("FAIL value") for cells in (r.cells() for r in table_rows))


def test_seed_lines_flag_a_wrong_network() -> None:
    def no_two(params, x, y):  # type: ignore[no-untyped-def]
        return {k: v / 2 for k, v in handwritten.two_layer_grads(params, x, y).items()}

    lines = seed_lines({**vars(handwritten), "two_layer_grads": no_two})
    by = {s.quantity: s for s in lines}
    assert by["loss"].matches_contract and not by["W1"].matches_contract and not by["b2"].matches_printed


def test_bad_device_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--device", "tpu:7"]) == 2
    err = capsys.readouterr().err
    assert "unknown device tpu:7" in err and "Traceback" not in err


def test_console_entry_point_runs_as_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "handgrad", "check", "--function", "l1_grad", "--dtype", "float64", "--device", "cpu:0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "l1_grad" in proc.stdout and "cases agree" in proc.stdout


def test_the_error_column_is_a_share_of_what_is_allowed_not_an_absolute_error() -> None:
    """Extreme inputs make absolute errors like 9.9e+21 that alarm and mean nothing: the
    column shows worst error / allowed error, at most 1 where the check passes."""
    from reference.catalog import BY_NAME

    cases = build_cases([BY_NAME["l2_grad"], BY_NAME["softmax"]], dtypes=["float32"], devices=["cpu:0"])
    table_rows = rows(run_all(InProcess(vars(handwritten)), cases))
    shown = [r.cells()[4] for r in table_rows]
    assert all(r.ok for r in table_rows)
    assert all(0.0 <= float(cell) <= 1.0 for cell in shown), shown
    assert any(float(cell) > 0 for cell in shown)  # not all zero: a real ratio
