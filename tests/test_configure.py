"""configure_for_checking: the settings a check runs under, and the XLA flag it must never
pass to a jaxlib that would abort on it."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jaxlib
import pytest

import handgrad

FLAGS = "--xla_cpu_use_fusion_emitters=false --xla_cpu_parallel_codegen_split_count=1"


def _configured_flags(monkeypatch: pytest.MonkeyPatch, version: str, flags: str) -> str:
    monkeypatch.setattr(jaxlib, "__version__", version)
    monkeypatch.setenv("XLA_FLAGS", flags)
    handgrad.configure_for_checking()
    return os.environ["XLA_FLAGS"]


def test_fast_compile_flags_are_added_for_a_vetted_jaxlib_and_kept_once(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = _configured_flags(monkeypatch, "0.10.2", "--xla_force_host_platform_device_count=2")
    assert flags == f"--xla_force_host_platform_device_count=2 {FLAGS}"
    assert _configured_flags(monkeypatch, "0.10.2", flags) == flags


def test_a_flag_the_user_set_is_kept_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = "--xla_cpu_parallel_codegen_split_count=8"
    assert _configured_flags(monkeypatch, "0.10.2", mine) == f"{mine} --xla_cpu_use_fusion_emitters=false"


@pytest.mark.parametrize("version", ["0.11.2", "0.9.0", "1.0.0"])
def test_fast_compile_flag_is_never_passed_to_another_jaxlib(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    # jaxlib 0.11.2 aborts the process (a fatal log, no exception) on this flag: seen on an H200 machine.
    assert _configured_flags(monkeypatch, version, "--xla_force_host_platform_device_count=2") == (
        "--xla_force_host_platform_device_count=2"
    )


def test_checking_settings_are_on_in_the_test_run() -> None:
    # conftest calls configure_for_checking; float32 matmuls must not run in TF32 on a GPU.
    assert jax.config.jax_default_matmul_precision == "highest"
    assert jax.config.jax_enable_x64


def test_this_jaxlib_accepts_the_flags_a_check_passes() -> None:
    """Whatever configure_for_checking puts in XLA_FLAGS, this machine's jaxlib starts with it."""
    code = (
        "import handgrad, os, jax; handgrad.configure_for_checking(); "
        "print(os.environ.get('XLA_FLAGS', '')); print(jax.numpy.ones(3).sum())"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[-1] == "3.0"
