"""How a function's checks become one program, and its values come back to each check.

The grader asks a function's jit and vmap checks of one program, and its eager checks of
another (evaluate.export_cells): one slot per distinct transform, device, static keywords,
batch axes, shapes and dtypes, in a fixed order, so a function's programs do not depend on
the seed (the compilation caches find them again: compile_cache.py). The program runs once
per round of inputs: round r holds the r-th check of each slot, a slot with fewer checks
repeating its last. Plan holds that bookkeeping, shared by the sandboxed grader
(pool.SubmissionEvaluator) and anything that runs the same programs in one process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Call = Mapping[str, Any]
"""An evaluator's keywords for one check: transform, device, args, kwargs, vmap_axes."""


def _signature(arg: Any) -> Any:
    import numpy as np  # (imported where used: pool imports this module before JAX is needed)

    if isinstance(arg, Mapping):
        return tuple(sorted((str(k), _signature(v)) for k, v in arg.items()))
    arr = np.asarray(arg)
    return (arr.shape, arr.dtype.name)


def program_key(request: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a check's program depends on (`request` is a Call with the function's "name"): the
    transform, device, static keywords, batch axes and the shapes and dtypes of the
    arguments, not their values."""
    kwargs = tuple(sorted((k, repr(v)) for k, v in request["kwargs"].items()))
    args = tuple(_signature(a) for a in request["args"])
    return (request["name"], request["transform"], request["device"], kwargs, tuple(request["vmap_axes"]), args)


def cell_key(request: Mapping[str, Any]) -> tuple[Any, ...]:
    """A check's program_key and a digest of its arguments' values: the same key, the same
    answer from the same program."""
    import numpy as np

    digest = hashlib.sha256()

    def feed(arg: Any) -> None:
        if isinstance(arg, Mapping):
            for k in sorted(arg, key=str):
                digest.update(str(k).encode())
                feed(arg[k])
            return
        arr = np.ascontiguousarray(np.asarray(arg))
        digest.update(f"{arr.dtype.name}{arr.shape}".encode())
        digest.update(arr.tobytes())

    for arg in request["args"]:
        feed(arg)
    return (*program_key(request), digest.hexdigest())


@dataclass(frozen=True)
class Plan:
    """One program's slots for `name`'s checks: `wanted` pairs each Call with whether its
    value is kept (False: a live check, asked of the function itself, that still shapes the
    program so that the program is the same whichever check the seed put first)."""

    name: str
    keys: tuple[tuple[Any, ...], ...]
    """One program_key per slot, sorted by repr (never in the seed's order)."""
    groups: Mapping[tuple[Any, ...], Sequence[tuple[Call, bool]]]

    @classmethod
    def of(cls, name: str, wanted: Sequence[tuple[Call, bool]]) -> Plan:
        groups: dict[tuple[Any, ...], list[tuple[Call, bool]]] = {}
        for call, keep in wanted:
            groups.setdefault(program_key({"name": name, **call}), []).append((call, keep))
        return cls(name, tuple(sorted(groups, key=repr)), groups)

    @property
    def cells(self) -> list[dict[str, Any]]:
        """The first check of each slot, as evaluate.export_cells takes them."""
        return [
            {
                **self.groups[k][0][0],
                "args": list(self.groups[k][0][0]["args"]),
                "vmap_axes": list(self.groups[k][0][0]["vmap_axes"]),
            }
            for k in self.keys
        ]

    @property
    def rounds(self) -> list[list[Call]]:
        """Round r: the r-th check of each slot (its last where a slot has fewer)."""
        count = max((len(g) for g in self.groups.values()), default=0)
        return [[self.groups[k][min(r, len(self.groups[k]) - 1)][0] for k in self.keys] for r in range(count)]

    def assign(self, values: Sequence[Any]) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
        """(kept, live): each check's value by cell_key, from the program's `values`, round
        after round, one per slot; a repeated slot's extra values belong to no check."""
        kept: dict[tuple[Any, ...], Any] = {}
        live: dict[tuple[Any, ...], Any] = {}
        for r in range(len(values) // max(1, len(self.keys))):
            for i, k in enumerate(self.keys):
                if r < len(self.groups[k]):
                    call, keep = self.groups[k][r]
                    (kept if keep else live)[cell_key({"name": self.name, **call})] = values[r * len(self.keys) + i]
        return kept, live
