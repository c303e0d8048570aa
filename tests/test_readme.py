"""The README's two set-up commands are the ones CI runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    install_and_check, test = block
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_check.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[test]'")
    assert install_and_check.endswith("&& .venv/bin/handgrad check")
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'" in ci
    assert test in ci.splitlines()
