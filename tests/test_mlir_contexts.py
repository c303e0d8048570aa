"""handgrad/mlir_contexts.py: each thread reuses its MLIR context, bounded, and programs are
the same as with a new context per lowering."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export
from jax._src.interpreters import mlir

import handwritten
from handgrad import mlir_contexts
from reference.catalog import CATALOG


@pytest.fixture
def own_contexts() -> Iterator[None]:
    """JAX's own make_ir_context for the test, the reusing one back after it."""
    mlir_contexts.restore()
    try:
        yield
    finally:
        assert mlir_contexts.reuse()


def test_configure_for_checking_makes_each_thread_reuse_its_context() -> None:
    # conftest calls handgrad.configure_for_checking()
    assert hasattr(mlir.make_ir_context, "made_by")
    first = mlir.make_ir_context()
    assert mlir.make_ir_context() is first
    other: list[object] = []
    t = threading.Thread(target=lambda: other.extend([mlir.make_ir_context(), mlir.make_ir_context()]))
    t.start()
    t.join()
    assert other[0] is other[1] and other[0] is not first


def test_a_context_is_renewed_after_its_uses() -> None:
    seen = [mlir.make_ir_context() for _ in range(3 * mlir_contexts.LOWERINGS_PER_CONTEXT)]
    distinct = {id(c) for c in seen}
    assert 3 <= len(distinct) <= 4  # a new one each LOWERINGS_PER_CONTEXT uses, never more
    run = max(sum(1 for _ in group) for group in _runs(seen))
    assert run <= mlir_contexts.LOWERINGS_PER_CONTEXT


def _runs(seen: list[object]) -> Iterator[Iterator[object]]:
    import itertools

    return (g for _, g in itertools.groupby(seen, key=id))


def test_reuse_is_idempotent_and_restore_gives_jax_its_own(own_contexts: None) -> None:
    own = mlir.make_ir_context
    assert not hasattr(own, "made_by")
    assert mlir.make_ir_context() is not mlir.make_ir_context()  # JAX's own: one per call
    assert mlir_contexts.reuse() and mlir_contexts.reuse()
    assert mlir.make_ir_context.made_by is own  # type: ignore[attr-defined]  # wrapped once
    mlir_contexts.restore()
    assert mlir.make_ir_context is own


def _programs() -> list[tuple[str, str, list[np.ndarray]]]:
    """(module text, compiled program text, outputs of its export run) of every catalog formula's jit and vmap
    programs at its first family's float32 and float64 inputs."""
    from handgrad.cases import build_cases, case_inputs

    out = []
    for case in build_cases(CATALOG, dtypes=["float32", "float64"], transforms=["jit", "vmap"], devices=["cpu:0"]):
        if case.family != case.entry.families[0]:
            continue
        inputs = case_inputs(case)
        args, kwargs = inputs.args, dict(inputs.kwargs)
        fn = functools.partial(getattr(handwritten, case.entry.name), **kwargs)
        program = jax.jit(jax.vmap(fn, in_axes=case.entry.vmap_axes) if case.transform == "vmap" else fn)
        lowered = program.lower(*args)
        exported = export.export(program, platforms=["cpu"])(*args)
        values = [np.asarray(v) for v in jax.tree.leaves(export.deserialize(exported.serialize()).call(*args))]
        out.append((lowered.as_text(), lowered.compile().as_text(), values))
    return out


def test_programs_are_the_same_with_a_reused_context(own_contexts: None) -> None:
    made = []
    for reusing in (False, True):  # one call site: the programs' source locations are the same
        if reusing:
            assert mlir_contexts.reuse()
        jax.clear_caches()
        made.append(_programs())
    fresh, reused = made
    assert len(fresh) == len(reused) > 40
    for (text_a, hlo_a, values_a), (text_b, hlo_b, values_b) in zip(fresh, reused, strict=True):
        assert text_a == text_b
        assert hlo_a == hlo_b
        for a, b in zip(values_a, values_b, strict=True):
            np.testing.assert_array_equal(a, b)


def test_an_exported_program_called_inside_a_trace_lowers_in_the_same_thread() -> None:
    # Exported.call lowers its module inside the caller's lowering: the same context entered
    # twice on one thread.
    inner = export.export(jax.jit(lambda x: jnp.sin(x) * 2), platforms=["cpu"])(jax.ShapeDtypeStruct((3,), jnp.float32))
    outer = jax.jit(lambda x: inner.call(x) + 1)
    x = jnp.arange(3, dtype=jnp.float32)
    np.testing.assert_allclose(outer(x), np.sin(np.arange(3, dtype=np.float32)) * 2 + 1, rtol=1e-6)
    text = export.export(outer, platforms=["cpu"])(x).mlir_module()
    assert "sine" in text
