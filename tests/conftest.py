"""Fixtures shared by the test modules (the project's own conftest.py, one level up, holds
what a user's `pytest --submission` run needs too)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The grader's temporary folders (copies, worker folders) go here, to be checked empty."""
    d = tmp_path / "grader-tmp"
    d.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d
