"""Which devices the matrix runs on, for machine layouts CI does not have (a one-GPU machine
whose CPU has the forced host devices), by standing in for jax.devices."""

from __future__ import annotations

import jax
import pytest

from handgrad import evaluate


def _layout(monkeypatch: pytest.MonkeyPatch, default: list[jax.Device]) -> list[jax.Device]:
    cpus = jax.devices("cpu")
    real = jax.devices

    def devices(backend: str | None = None) -> list[jax.Device]:
        return default if backend is None else real(backend)

    monkeypatch.setattr(jax, "devices", devices)
    return cpus


def test_one_accelerator_still_shards_across_the_host_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    cpus = jax.devices("cpu")
    assert len(cpus) >= 2, "conftest asks XLA for two host devices"
    _layout(monkeypatch, default=cpus[:1])  # the default backend has one device, like one GPU
    assert evaluate.shard_devices() == cpus
    assert evaluate.SHARDED in evaluate.available_devices()
    assert evaluate.shard_count() == len(cpus)


def test_several_default_devices_are_sharded_across(monkeypatch: pytest.MonkeyPatch) -> None:
    cpus = _layout(monkeypatch, default=jax.devices("cpu"))
    assert evaluate.shard_devices() == cpus


def test_a_single_device_machine_has_no_sharded_placement(monkeypatch: pytest.MonkeyPatch) -> None:
    one = jax.devices("cpu")[:1]
    monkeypatch.setattr(jax, "devices", lambda backend=None: one)
    assert evaluate.SHARDED not in evaluate.available_devices()
