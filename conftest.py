"""Test configuration: two CPU devices, checking settings (x64 on), and the implementation under test.

`pytest` checks the shipped `handwritten` formulas. `pytest --submission PATH` runs
the same catalog-driven matrix against a student's file or package instead, inside
the grader's sandboxed worker: the submission never runs in this process.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

# Before JAX is imported anywhere: two host devices, so the multi-device and sharded
# paths of the matrix run on any machine (a GPU machine keeps its GPUs as well).
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

# Several processes share a GPU under xdist (and with --submission's worker): none may take
# JAX's default 75% of its memory up front.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np
import pytest

import handgrad  # configure_for_checking() in pytest_configure turns x64 on
from handgrad.pytest_plugin import add_options

if TYPE_CHECKING:
    from handgrad.engine import Evaluator


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # Installed handgrad registers these through its pytest11 entry point (handgrad/pytest_plugin.py);
    # a checkout used without installing gets them here.
    if not pluginmanager.has_plugin("handgrad"):
        add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    handgrad.configure_for_checking()
    config.addinivalue_line("markers", "matrix: a cell of the catalog-driven agreement matrix")


@pytest.fixture(scope="session", autouse=True)
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Grades run by tests (in this process or by the `handgrad` command) keep compiled
    programs in a folder of this run, not in the user's ~/.cache; and check every function
    anew (HANDGRAD_RECHECK): a test's grade never reads a verdict another test's grade kept
    (tests/test_verdicts.py turns that on where it tests it)."""
    os.environ.setdefault("HANDGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("compile-cache")))
    os.environ["HANDGRAD_RECHECK"] = "1"


_MAPS_LIMIT = "/proc/sys/vm/max_map_count"
_tests_run = [0]


@pytest.fixture(autouse=True)
def _memory_maps_in_bounds() -> Iterator[None]:
    """A test process compiles tens of thousands of programs (every catalog formula, every
    corpus file, in every dtype and transform) and each keeps memory maps; XLA aborts a
    process at vm.max_map_count, which crashed an xdist worker near the end of a CI run.
    Every 20 tests, past a third of the limit, handgrad.clear_caches() drops them: later
    tests compile again what they need."""
    yield
    _tests_run[0] += 1
    if _tests_run[0] % 20 or not os.path.exists(_MAPS_LIMIT):
        return
    with open(_MAPS_LIMIT) as f:
        limit = int(f.read())
    with open("/proc/self/maps", "rb") as f:
        held = f.read().count(b"\n")
    if held > limit // 3:
        handgrad.clear_caches()


@pytest.fixture(scope="session")
def strict_kinks(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--strict-kinks"))


@pytest.fixture(scope="session")
def evaluator(request: pytest.FixtureRequest) -> Iterator[Evaluator]:
    """What the matrix checks: handwritten in-process, or a submission in a worker."""
    path = request.config.getoption("--submission")
    if path is None:
        import handwritten
        from handgrad.engine import InProcess

        yield InProcess(handwritten)
        return
    from handgrad.grading.pool import submission_evaluator

    with submission_evaluator(path) as ev:
        yield ev


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's own id: reproducible, independent per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
