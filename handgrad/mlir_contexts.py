"""One MLIR context per thread for JAX's lowerings, instead of a new one for each.

JAX makes a fresh MLIR context for every program it lowers, exports or deserializes
(`jax._src.interpreters.mlir.make_ir_context`): it loads every dialect into it, about 3 ms on
the 2-core machine, some 45% of lowering a tiny program. A check lowers thousands of tiny
programs (each formula under each transform, shape and dtype; each eager operation of a
submission; every reference), so creating contexts was about a sixth of the in-process
grading tests' time (py-spy, tests/test_oracle.py). `reuse()` makes each thread keep the
context it was last given and hand it out again, and make a new one after
`LOWERINGS_PER_CONTEXT` uses: a context keeps every type and attribute created in it until
it is freed, so an unbounded one would grow for the life of the process.

What a program is does not depend on its context: the module text, bytecode and compiled
program are the same whichever context held them (tests/test_mlir_contexts.py compares
them). A context is never shared between threads, because the grader lowers references on
several threads at once.

It changes a private function of JAX, so it is done only where that function is what it was
when this was written (`reuse` says whether it did); elsewhere JAX keeps making one context a
lowering, which is only slower. Called by handgrad.configure_for_checking, like the other
settings that are for checking processes only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

LOWERINGS_PER_CONTEXT = 256
"""Uses of one context before its thread makes a new one (bounds what a context accumulates)."""


class _PerThread(threading.local):
    context: Any = None
    uses: int = 0


def _reusing(make: Callable[[], Any]) -> Callable[[], Any]:
    """A make_ir_context that hands each thread its last context until it is used up."""
    held = _PerThread()

    def make_ir_context() -> Any:
        if held.context is None or held.uses >= LOWERINGS_PER_CONTEXT:
            held.context, held.uses = make(), 0
        held.uses += 1
        return held.context

    make_ir_context.made_by = make  # type: ignore[attr-defined]
    return make_ir_context


def reuse() -> bool:
    """Make JAX reuse each thread's MLIR context (idempotent). False where this JAX does not
    make its contexts the way this expects; nothing is changed then."""
    try:
        from jax._src.interpreters import mlir
    except ImportError:
        return False
    make = getattr(mlir, "make_ir_context", None)
    if not callable(make):
        return False
    if hasattr(make, "made_by"):  # already reusing
        return True
    if getattr(make, "__module__", None) != mlir.__name__ or getattr(mlir, "JaxIrContext", None) is None:
        return False
    mlir.make_ir_context = _reusing(make)
    return True


def restore() -> None:
    """Give JAX back its own make_ir_context (tests)."""
    from jax._src.interpreters import mlir

    made_by = getattr(mlir.make_ir_context, "made_by", None)
    if made_by is not None:
        mlir.make_ir_context = made_by
