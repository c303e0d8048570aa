"""The runner: inspects and runs the exported program of each jit/vmap cell.

The worker traces the student's function and hands back only `jax.export` bytes. The
runner is a process in which no student Python has ever run (a sealed worker started with
--runner: it never imports the submission). It deserializes the bytes, checks the program
against the policy below, and runs that same deserialized program on the grader's inputs,
so what was inspected is what ran, and no flag or setting of the worker's counts: the
program is the verdict's only input. Each program is compiled once and reused for every
input family of the same shapes and dtypes.

The runner runs under the worker's limits (time, memory, sandbox), so a compile bomb or a
huge constant costs only its own submission.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from handgrad.grading.protocol import DTYPES

# ---- policy: what an exported program may hold --------------------------------------------
MAX_PROGRAM_BYTES = 8 << 20
"""Largest serialized program (a formula's is a few KiB)."""
MAX_CONSTANT_ELEMENTS = 1 << 20
"""Largest constant tensor written out in the program (a splat of any size is one element)."""
MAX_OPS = 20_000
"""Operations in the program's text."""
ALLOWED_CUSTOM_CALLS = frozenset({"mhlo.erf", "mhlo.topk", "Sharding", "SPMDFullToShardShape", "SPMDShardToFullShape"})
"""Custom calls a formula may lower to: none reach the host. The contract's formulas need
none on the CPU (docs/isolation.md); LAPACK and callbacks are refused."""
REFUSED_OPS = ("infeed", "outfeed", "send", "recv", "custom_call")
"""StableHLO operations that reach outside the computation (custom_call: unless allowed above)."""
CALLBACK = re.compile(r"callback", re.I)

_TYPE = re.compile(r"tensor<([0-9x?]*?)x?([a-z]+[0-9]*)>")
_CONSTANT_TYPE = re.compile(r":\s*tensor<([0-9x]*?)x?[a-z]+[0-9]*>")
_CUSTOM = re.compile(r"stablehlo\.custom_call @([\w.$-]+)|call_target_name\s*=\s*\"([^\"]*)\"")
_OP = re.compile(r"=\s*\"?(stablehlo|mhlo|chlo|func|sdy|shardy)\.([a-z_]+)")
ELEMENT_TYPES = frozenset({"f16", "bf16", "f32", "f64", "i1", "i8", "i16", "i32", "i64", "ui8", "ui16", "ui32", "ui64"})


class Refused(Exception):
    """The program is outside the policy; `kind` is the grader's reason (autodiff, forbidden)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def inspect(text: str) -> None:
    """Raise Refused unless the program's text is inside the policy: element types from a
    list (a complex value anywhere is complex-step differentiation), no host callback, custom
    calls only from ALLOWED_CUSTOM_CALLS, no op that reaches outside, bounded size."""
    if "complex<" in text:
        raise Refused(
            "autodiff",
            "computes with complex numbers (seen in its compiled program): complex-step "
            "differentiation is automatic differentiation by another name",
        )
    for match in _TYPE.finditer(text):
        if match.group(2) not in ELEMENT_TYPES:
            raise Refused("forbidden", f"its compiled program holds values of type {match.group(2)[:20]}")
    for match in _CUSTOM.finditer(text):
        target = match.group(1) or match.group(2)
        if CALLBACK.search(target):
            raise Refused(
                "forbidden",
                "calls back into Python on the host under jit (jax.pure_callback, io_callback or "
                "jax.debug.print): a formula must be JAX operations the grader can inspect",
            )
        if target not in ALLOWED_CUSTOM_CALLS:
            raise Refused("forbidden", f"its compiled program calls {target[:60]!r}, which is not on the allowed list")
    ops = 0
    for match in _OP.finditer(text):
        ops += 1
        if match.group(2) in REFUSED_OPS and match.group(2) != "custom_call":
            raise Refused("forbidden", f"its compiled program uses {match.group(2)}, which reaches outside it")
    if ops > MAX_OPS:
        raise Refused("forbidden", f"its compiled program has more than {MAX_OPS} operations")
    for line in text.splitlines():
        if "stablehlo.constant" not in line:
            continue
        types = _CONSTANT_TYPE.findall(line[-200:])  # the constant's type ends its line
        dims = [int(d) for d in types[-1].split("x") if d] if types else []
        if len(line) > 16 * MAX_CONSTANT_ELEMENTS + 200 or int(np.prod(dims, dtype=np.float64)) > MAX_CONSTANT_ELEMENTS:
            raise Refused("forbidden", f"its compiled program holds a constant of shape {dims}")


_COMPILED: OrderedDict[str, tuple[Any, Callable[..., Any], Callable[..., Any]]] = OrderedDict()
"""Deserialized and inspected programs by the hash of their bytes: (exported, jitted as XLA
compiles by default, jitted with EAGER_COMPILER_OPTIONS); the least recently used go past
KEPT_PROGRAMS."""

KEPT_PROGRAMS = 64
"""A grade asks a few programs per function (handgrad/grading/plan.py), so a runner keeps
all of one submission's. A process that runs many (the test suite's) keeps no more: each
compiled program holds memory maps, and XLA aborts a process past vm.max_map_count."""


def forget_all() -> None:
    """Drop every program kept (handgrad.clear_caches)."""
    _COMPILED.clear()


def load(blob: bytes, eager: bool = False) -> tuple[Any, Callable[..., Any]]:
    """(exported, callable) for a program's bytes, inspected; Refused when it may not run.
    `eager`: the callable compiles with EAGER_COMPILER_OPTIONS (a program of eager cells,
    handgrad/op_by_op.py: every result rounded to its dtype)."""
    import jax
    from jax import export

    from handgrad.op_by_op import EAGER_COMPILER_OPTIONS

    if len(blob) > MAX_PROGRAM_BYTES:
        raise Refused("forbidden", f"its compiled program is larger than {MAX_PROGRAM_BYTES >> 20} MiB")
    key = hashlib.sha256(blob).hexdigest()
    found = _COMPILED.get(key)
    if found is not None:
        _COMPILED.move_to_end(key)
        return found[0], found[2 if eager else 1]
    try:
        exported = export.deserialize(bytearray(blob))
        text = exported.mlir_module()
    except Exception as exc:  # not a program at all: the worker's malformed reply
        raise Refused("protocol", f"the worker's program could not be read ({type(exc).__name__})") from None
    if exported.nr_devices != 1 or "cpu" not in exported.platforms:
        raise Refused("forbidden", "its compiled program is not for one CPU device")
    for aval in (*exported.in_avals, *exported.out_avals):
        if aval.dtype.name not in DTYPES:
            raise Refused("forbidden", f"its compiled program takes or returns {aval.dtype.name}")
    inspect(text)
    plain: Callable[..., Any] = jax.jit(exported.call)
    rounded: Callable[..., Any] = jax.jit(exported.call, compiler_options=EAGER_COMPILER_OPTIONS)
    _COMPILED[key] = (exported, plain, rounded)
    while len(_COMPILED) > KEPT_PROGRAMS:
        _COMPILED.popitem(last=False)
    return exported, rounded if eager else plain


def run(blob: bytes, args: tuple[Any, ...], device: str = "cpu:0", eager: bool = False) -> Any:
    """The program's outputs on `args` placed on `device` (one CPU device), as an
    evaluate.Output; Refused when it may not run; TypeError or ValueError when it does not
    take these arguments (then it is not this case's program). `eager`: the program holds
    eager cells (handgrad/op_by_op.py) and is compiled as they need, every result rounded
    to its dtype."""
    import jax

    from handgrad.evaluate import SHARDED, Output, device_name, place

    if device == SHARDED:
        raise ValueError("an exported program runs on one device")
    _, call = load(blob, eager)
    out = jax.block_until_ready(call(*place(args, device, (None,) * len(args))))
    leaves = jax.tree.leaves(out)
    devices = frozenset(device_name(d) for leaf in leaves for d in leaf.devices())
    return Output(jax.tree.map(np.asarray, out), devices)


def _check_output_size(blob: bytes, rounds: int, max_bytes: object) -> None:
    """Refuse, before running it, a program whose outputs for `rounds` rounds of inputs are
    larger than the grader will read (`max_bytes`, from the request; None: no bound): a
    program that returns 512 MiB per cell would otherwise be run, and fill the runner's
    memory, before its reply is refused unread."""
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool):
        return
    exported, _ = load(blob)
    sizes = [math.prod(a.shape) * np.dtype(a.dtype).itemsize for a in exported.out_avals]
    if rounds * sum(sizes) > max_bytes:
        raise Refused(
            "protocol",
            f"its program returns {max(sizes)} bytes in its largest output, {rounds * sum(sizes)} in all; "
            f"the case expects at most {max_bytes}",
        )


def _is_value(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (
        isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values())
    )


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The runner's reply to one request: {"program": uint8 array, "args": [...]} runs a
    cell's program once and replies with its "value"; {"program": ..., "rounds": [[args,
    ...], ...]} runs a whole function's program (evaluate.export_cells) once per round, each
    round a list of argument lists, one per cell, and replies with every result, round after
    round, in "values"."""
    from handgrad.evaluate import describe_exception

    program, device = request.get("program"), str(request.get("device", "cpu:0"))
    eager = request.get("eager") is True
    rounds = request.get("rounds")
    batched = rounds is not None
    if not batched:
        rounds = [request.get("args")]
    if (
        not isinstance(program, np.ndarray)
        or program.dtype != np.uint8
        or not isinstance(rounds, list)
        or not all(isinstance(r, list) for r in rounds)
    ):
        return {"ok": False, "kind": "protocol", "message": "malformed request"}
    values: list[Any] = []
    devices: set[str] = set()
    blob = program.tobytes()
    try:
        _check_output_size(blob, len(rounds), request.get("max_bytes"))
        for args in rounds:
            out = run(blob, tuple(tuple(a) for a in args) if batched else tuple(args), device, eager)
            values.extend(out.value if batched else [out.value])
            devices |= out.devices
    except Refused as exc:
        return {"ok": False, "kind": exc.kind, "message": exc.message}
    except Exception as exc:
        return {"ok": False, "kind": "exception", "message": describe_exception(exc)}
    for value in values:
        if not _is_value(value):
            return {
                "ok": False,
                "kind": "bad-return",
                "message": f"returned a {type(value).__name__}, expected an array",
            }
    if batched:
        return {"ok": True, "values": values, "devices": sorted(devices)}
    return {"ok": True, "value": values[0], "devices": sorted(devices)}
