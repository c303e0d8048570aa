"""The allowlist check runs in a child process under a budget, not as root (issue 17, item 6):
a submission whose scan needs more CPU time or memory than the budget is refused, alone and
with the reason; within the budget the verdict is the in-process scan's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from handgrad import scan_budget
from handgrad.grading.grader import Options, grade
from handgrad.scan import scan_path
from handgrad.scan_budget import ScanBudget, scan_in_budget

BOTH = ["relu_grad", "l2_grad"]
SMALL = """\
import jax
import jax.numpy as jnp


def relu_grad(x):
    return (x > 0).astype(x.dtype)


def l2_grad(a, y):
    return jax.grad(lambda a: jnp.sum((a - y) ** 2))(a)
"""


def _large(tmp_path: Path, lines: int) -> Path:
    """SMALL followed by `lines` helper functions: a scan's cost grows with them."""
    body = "".join(f"\ndef _h{i}(x):\n    return x * {i} + 1.0\n" for i in range(lines))
    path = tmp_path / "submission.py"
    path.write_text(SMALL + body)
    return path


def test_within_budget_the_verdict_is_the_scans(tmp_path: Path) -> None:
    path = tmp_path / "submission.py"
    path.write_text(SMALL)
    assert scan_in_budget(path, BOTH) == scan_path(path, BOTH)
    assert scan_in_budget(path, BOTH)["l2_grad"][0].kind == "autodiff"


def test_a_scan_past_its_memory_refuses_the_submission_with_the_reason(tmp_path: Path) -> None:
    path = _large(tmp_path, 20000)
    found = scan_in_budget(path, BOTH, ScanBudget(memory_bytes=100 << 20))
    for name in BOTH:
        [finding] = found[name]
        assert finding.kind == "unreadable" and "budget" in finding.what and "MiB" in finding.what
    # The same file within the default budget gets the scan's own verdict.
    assert scan_in_budget(path, BOTH) == scan_path(path, BOTH)


def test_a_scan_past_its_cpu_time_refuses_the_submission_with_the_reason(tmp_path: Path) -> None:
    path = _large(tmp_path, 20000)
    found = scan_in_budget(path, BOTH, ScanBudget(cpu_seconds=1))
    [finding] = found["relu_grad"]
    assert finding.kind == "unreadable" and "s of CPU" in finding.what


def test_the_scan_child_holds_no_root_and_writes_nothing(tmp_path: Path) -> None:
    probe = (
        "from handgrad.scan_budget import drop_root\n"
        "import os\n"
        "drop_root()\n"
        "eff = int(open('/proc/self/status').read().split('CapEff:')[1].split()[0], 16)\n"
        "print(os.geteuid(), eff)\n"
    )
    out = subprocess.run([sys.executable, "-I", "-B", "-c", probe], capture_output=True, text=True, check=True)
    uid, caps = map(int, out.stdout.split())
    if os.geteuid() == 0:
        assert (uid, caps) == (65534, 1 << 2)  # nobody, with CAP_DAC_READ_SEARCH only
    else:
        assert uid == os.geteuid() and caps == 0


def test_the_grader_refuses_a_submission_whose_scan_runs_past_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted against that submission only: its marks are 0 with the reason, no worker ran."""
    monkeypatch.setattr(scan_budget, "DEFAULT_BUDGET", ScanBudget(cpu_seconds=1))
    result = grade(_large(tmp_path, 20000), Options(jobs=1))
    assert result.score == 0 and "within its budget" in result.problem and "s of CPU" in result.problem
    assert result.reason == "import-error"


def test_given_the_graders_module_names_the_scan_child_imports_no_jax_and_says_the_same(tmp_path: Path) -> None:
    """The grader sends its scan child the public names of jax.numpy (module_names), so the
    child does not import JAX to learn them (about 1 s a submission); its verdicts are the
    ones it reaches by importing: a name jnp has is allowed, one it lacks is refused."""
    path = tmp_path / "submission.py"
    path.write_text(
        "import jax.numpy as jnp\n\n"
        "def relu(x):\n    return jnp.maximum(x, 0)\n\n"
        "def l1(a, y):\n    return jnp.sum(jnp.absolutely_not_a_name(a - y), axis=-1)\n"
    )
    command = [sys.executable, "-X", "importtime", "-I", "-B", "-m", "handgrad.scan_budget", "20", str(3 << 30)]
    command += [str(path), "relu", "l1"]
    replies = []
    for names in (scan_budget.module_names(), b""):
        done = subprocess.run(command, input=names, capture_output=True, timeout=120, check=True)
        imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
        assert ("jax.numpy" in imported) == (not names), sorted(m for m in imported if m.startswith("jax"))
        replies.append(done.stdout)
    assert replies[0] == replies[1]
    assert b"absolutely_not_a_name" in replies[0] and b'"relu": []' in replies[0]
