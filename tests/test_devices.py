"""Which devices the matrix runs on, for machine layouts CI does not have (a one-GPU machine
whose CPU has the forced host devices), by standing in for jax.devices."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
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


def test_a_gradient_that_does_not_depend_on_its_input_stays_on_its_device() -> None:
    """jax.jit places an output that does not depend on the inputs (jnp.zeros_like(x)) on the
    default device, whatever device the inputs were on: that is JAX's doing, not a formula's
    result leaving the device (only an eager call can, through NumPy). It failed as "device"
    on cpu:1 under jit and vmap."""
    import handgrad

    assert len(jax.devices("cpu")) >= 2, "conftest asks XLA for two host devices"
    report = handgrad.verify(
        lambda x: jnp.sum(0 * x),
        np.ones(4, np.float32),
        grad=jnp.zeros_like,
        dtypes=["float32"],
        families=["normal"],
        devices=["cpu:0", "cpu:1"],  # (named: the default checks one device of each platform)
    )
    assert report.ok, report
    assert {r.case.device for r in report.results} == {"cpu:0", "cpu:1"}


def test_the_default_is_one_device_of_each_platform_and_sharded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two host devices run the same program: the default checks the first and the placement
    across both ("sharded"), not each; a GPU is a platform of its own (stood in for here by
    the second host device under another platform name)."""
    assert len(jax.devices("cpu")) >= 2, "conftest asks XLA for two host devices"
    here = evaluate.available_devices()
    assert {"cpu:0", "cpu:1", "sharded"} <= set(here)
    assert evaluate.default_devices() == [d for d in here if d == "sharded" or d.endswith(":0")]
    assert evaluate.worker_devices() == ["cpu:0", "sharded"]
    monkeypatch.setattr(evaluate, "available_devices", lambda: ["cpu:0", "cpu:1", "gpu:0", "gpu:1", "gpu:2", "sharded"])
    assert evaluate.default_devices() == ["cpu:0", "gpu:0", "sharded"]
    monkeypatch.setattr(evaluate, "available_devices", lambda: ["cpu:0"])
    assert evaluate.default_devices() == ["cpu:0"]
