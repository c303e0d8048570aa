"""Hostile submissions whose forged messages raised inside the grader (and ended a class run)
before every field of every message was checked at the boundary: each forges one message a
different way, then answers honestly. Same shape and use as hostile_runtime_2.py; every
forged message must cost only the function that sent it (`protocol`), or be caught as stale
state when it is answered by the real reply.
"""

from __future__ import annotations

from tests.corpus.hostile_runtime_2 import FORGE, RuntimeHostile2


def _forging(header: str) -> str:
    """relu_grad and l1 write `header` (raw JSON text, so numbers Python would refuse to build
    still reach the grader) onto the reply pipe, then return the right value."""
    return (
        FORGE
        + f"""
_correct_relu_grad, _correct_l1 = relu_grad, l1

def _forge_raw(text):
    data = text.encode()
    os.write(_OUT, struct.pack(">I", len(data)) + data)

def relu_grad(x):
    _forge_raw({header!r})
    return _correct_relu_grad(x)

def l1(pred, target):
    _forge_raw({header!r})
    return _correct_l1(pred, target)
"""
    )


HUGE = "9" * 5000
FORGED = {
    "huge-integer": '{"ok": true, "value": null, "__blobs__": [' + HUGE + "]}",
    "huge-integer-anywhere": '{"ok": false, "kind": "exception", "message": "m", "x": -' + HUGE + ', "__blobs__": []}',
    "array-as-message": '{"ok": false, "kind": "exception", "__blobs__": [0], '
    '"message": {"__array__": 0, "dtype": "float64", "shape": [0]}}',
    "array-as-ok-flag": '{"ok": {"__array__": 0, "dtype": "float64", "shape": [0]}, "__blobs__": [0]}',
    "list-as-kind": '{"ok": false, "kind": ["memory"], "message": "m", "__blobs__": []}',
    "number-as-message": '{"ok": false, "kind": "exception", "message": 1e308, "__blobs__": []}',
    "object-as-devices": '{"ok": true, "value": null, "devices": {"a": 1}, "__blobs__": []}',
    "values-in-a-reply": '{"ok": true, "values": [{"__array__": 0, "dtype": "float32", "shape": [1]}], '
    '"devices": ["cpu:0"], "__blobs__": [4]}',
    "nan-as-dimension": '{"ok": true, "value": {"__array__": 0, "dtype": "float32", "shape": [NaN]}, "__blobs__": [4]}',
}

RUNTIME_HOSTILE_FORGED: tuple[RuntimeHostile2, ...] = tuple(
    RuntimeHostile2(
        f"forged-{name}",
        f"forges a reply with {name.replace('-', ' ')}",
        _forging(header),
        {"relu_grad": "protocol"},
    )
    for name, header in FORGED.items()
)


def _forging_program(make: str) -> str:
    """relu_grad, while it is traced for the grader's program (a jit or vmap cell, or all of them
    at once), writes a reply of its own holding the program `make` builds from `x` (bytes), then
    returns the right value; l1 is honest."""
    return (
        FORGE
        + f"""
_correct_relu_grad = relu_grad

def _forge_program(data):
    header = json.dumps({{"ok": True, "program": {{"__array__": 0, "dtype": "uint8", "shape": [len(data)]}},
                         "__blobs__": [len(data)]}}).encode()
    os.write(_OUT, struct.pack(">I", len(header)) + header + data)

def relu_grad(x):
    if isinstance(x, jax.core.Tracer):
        _forge_program({make})
    return _correct_relu_grad(x)
"""
    )


FORGED_PROGRAMS = {
    # Bytes that are no program: the runner cannot read them.
    "garbage-program": 'b"\\x00" * 64',
    # A real program with one output (sin of x), where the grader's combined program has one
    # output per cell: the wrong count, then (cell by cell) the wrong values.
    "program-of-another-function": (
        "jax.export.export(jax.jit(jnp.sin))(jax.ShapeDtypeStruct(x.shape, x.dtype)).serialize()"
    ),
    # A program that takes no inputs at all: the wrong arity for every round of inputs.
    "program-without-inputs": "jax.export.export(jax.jit(lambda: jnp.zeros(3)))().serialize()",
}

RUNTIME_HOSTILE_FORGED += tuple(
    RuntimeHostile2(
        f"forged-{name}",
        f"forges a reply to the grader's program request holding a {name.replace('-', ' ')}",
        _forging_program(make),
        # The function's first call is live; its programs are traced after it, and a forged reply
        # that reads as a program is refused by the runner (protocol), or, where it is read in
        # place of the program and the real reply is then read as a later live answer, the live
        # answers disagree (stale-state). Either way relu_grad fails and honest l1 keeps its marks.
        {"relu_grad": "protocol" if name == "garbage-program" else "protocol|stale-state", "l1": ""},
    )
    for name, make in FORGED_PROGRAMS.items()
)
