"""The wire format between the grader and its worker: JSON headers and raw array bytes.

Nothing is pickled or evaluated. A message is a 4-byte big-endian header length, a
UTF-8 JSON header, then the raw bytes of every array it mentions, in order. An array
in the header is {"__array__": i, "dtype": "float32", "shape": [2, 3]}; the reader
checks the header before it reads a single array byte: the dtype against a short list,
the byte count against the shape, the total against a limit and, for a reply, against
what the case expects (handgrad.grading.pool), so a hostile worker can send garbage,
but no more than a little of it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from typing import IO, Any, Literal

import ml_dtypes
import numpy as np

MAX_HEADER = 1 << 20
MAX_DEPTH = 32
"""Deepest nesting of lists and objects in a header (the reader walks it recursively)."""
MAX_ARRAY_BYTES = 1 << 30
MAX_MESSAGE_BYTES = 256 << 20
"""Largest message (all its arrays together) either side accepts unless told otherwise."""
DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(name) for name in ("float16", "float32", "float64", "bool", "int8", "int16", "int32", "int64")
}
DTYPES["bfloat16"] = np.dtype(ml_dtypes.bfloat16)
DTYPES.update({f"uint{b}": np.dtype(f"uint{b}") for b in (8, 16, 32, 64)})


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def _encode(tree: Any, blobs: list[bytes]) -> Any:
    if isinstance(tree, np.ndarray) or type(tree).__module__.startswith(("jax", "jaxlib")):
        arr = np.asarray(tree)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
        if arr.dtype.name not in DTYPES:
            raise ProtocolError(f"cannot send an array of dtype {arr.dtype}")
        blobs.append(arr.tobytes())
        return {"__array__": len(blobs) - 1, "dtype": arr.dtype.name, "shape": list(arr.shape)}
    if isinstance(tree, Mapping):
        return {"__dict__": {str(k): _encode(v, blobs) for k, v in tree.items()}}
    if isinstance(tree, (list, tuple)):
        return [_encode(v, blobs) for v in tree]
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise ProtocolError(f"cannot send a {type(tree).__name__}")


def encode_message(message: Mapping[str, Any]) -> bytes:
    """One message as the bytes write_message sends."""
    blobs: list[bytes] = []
    header = json.dumps({k: _encode(v, blobs) for k, v in message.items()} | {"__blobs__": [len(b) for b in blobs]})
    data = header.encode()
    return b"".join([struct.pack(">I", len(data)), data, *blobs])


def write_message(stream: IO[bytes], message: Mapping[str, Any]) -> None:
    stream.write(encode_message(message))
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the stream")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _arrays(tree: Any, found: list[dict[str, Any]]) -> None:
    """Every array descriptor in a header, in order."""
    if isinstance(tree, dict) and "__array__" in tree:
        found.append(tree)
    elif isinstance(tree, dict):
        for value in tree.values():
            _arrays(value, found)
    elif isinstance(tree, list):
        for value in tree:
            _arrays(value, found)


def _check_descriptors(header: dict[str, Any], sizes: list[int]) -> None:
    """Each blob belongs to exactly one well-formed array whose shape and dtype give its size."""
    descriptors: list[dict[str, Any]] = []
    _arrays(header, descriptors)
    seen: set[int] = set()
    for d in descriptors:
        index, dtype, shape = d.get("__array__"), d.get("dtype"), d.get("shape")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(sizes) or index in seen:
            raise ProtocolError("malformed array descriptor")
        if dtype not in DTYPES:
            raise ProtocolError(f"unsupported dtype {str(dtype)[:40]!r}")
        if not isinstance(shape, list) or len(shape) > 32 or not all(_is_dim(n) for n in shape):
            raise ProtocolError("malformed array shape")
        seen.add(index)
        if int(np.prod(shape, dtype=np.float64)) * DTYPES[dtype].itemsize != sizes[index]:
            raise ProtocolError("array bytes do not match its shape")
    if len(seen) != len(sizes):
        raise ProtocolError("blobs without an array")


def _too_deep(tree: Any) -> bool:
    """Whether lists and objects nest deeper than MAX_DEPTH (walked without recursion: json
    accepts nesting deep enough to exhaust the recursion of whatever reads it next)."""
    todo = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            todo.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            todo.extend((v, depth + 1) for v in node)
    return False


MAX_INT_DIGITS = 20
"""Integers in a header are sizes, indices and dimensions: a 5000-digit one is refused here
(Python's own limit raised ValueError deep inside the reader, which ended a class run)."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolError(f"an integer of {len(text)} digits")
    return int(text)


def _is_dim(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ARRAY_BYTES


def _decode(tree: Any, blobs: list[bytes]) -> Any:
    if isinstance(tree, dict) and "__array__" in tree:
        dtype = DTYPES[tree["dtype"]]
        return np.frombuffer(blobs[tree["__array__"]], dtype=dtype).reshape(tree["shape"]).copy()
    if isinstance(tree, dict) and "__dict__" in tree:
        inner = tree["__dict__"]
        if not isinstance(inner, dict):
            raise ProtocolError("malformed dict")
        return {str(k): _decode(v, blobs) for k, v in inner.items()}
    if isinstance(tree, list):
        return [_decode(v, blobs) for v in tree]
    if isinstance(tree, dict):
        raise ProtocolError("unexpected object")
    return tree


Check = Callable[[dict[str, Any], int], None]
"""Called with a message's header and its total array bytes before any array byte is
read; raises ProtocolError to refuse the message."""


def read_message(stream: IO[bytes], max_bytes: int = MAX_MESSAGE_BYTES, check: Check | None = None) -> dict[str, Any]:
    """One message. Its header is checked first (well-formed, at most `max_bytes` of
    arrays in all, and whatever `check` says); a refused message's arrays are not read."""
    (length,) = struct.unpack(">I", _read_exact(stream, 4))
    if length > MAX_HEADER:
        raise ProtocolError(f"header of {length} bytes is too long")
    data = _read_exact(stream, length)
    try:
        header = json.loads(data, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int digits
        raise ProtocolError(f"header is not JSON: {str(exc)[:200]}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    if _too_deep(header):
        raise ProtocolError(f"header nested more than {MAX_DEPTH} deep")
    sizes = header.pop("__blobs__", [])
    if not isinstance(sizes, list) or not all(_is_dim(s) for s in sizes):
        raise ProtocolError("malformed blob sizes")
    total = sum(sizes)
    if total > max_bytes:
        raise ProtocolError(f"message of {total} bytes is larger than the limit of {max_bytes}")
    _check_descriptors(header, sizes)
    if check is not None:
        check(header, total)
    blobs = [_read_exact(stream, s) for s in sizes]
    try:
        return {str(k): _decode(v, blobs) for k, v in header.items()}
    except ProtocolError:
        raise
    except Exception as exc:  # whatever the checks above missed is still the sender's malformed message
        raise ProtocolError(f"malformed message ({type(exc).__name__})") from None


# ---- what each kind of message may hold -------------------------------------------------
# A message from a worker is data from the submission's own process. Before the grader looks
# at it, it is checked against its kind's schema: every field it may hold (no other), with
# one type and a size each, so nothing downstream meets a type or a size it did not expect.
FieldType = Literal["bool", "text", "names", "value", "values", "program"]
MAX_TEXT = 64 << 10
"""Longest text field (a message is cut to 2000 characters before anyone reads it)."""
MAX_NAMES = 5000
MAX_NAME = 200
MAX_LEAVES = 64
"""Arrays in one value (the network's gradients: a dict of a few)."""
MAX_VALUES = 4096
"""Values in one reply (a function's compiled cells, every round: a hundred or so)."""
READY: Mapping[str, FieldType] = {
    "ok": "bool", "defined": "names", "others": "names", "autodiff": "bool", "kind": "text", "message": "text",
}  # fmt: skip
"""The worker's first message: whether the submission imported, and what it defines."""
REPLY: Mapping[str, FieldType] = {
    "ok": "bool", "value": "value", "devices": "names", "kind": "text", "message": "text", "autodiff": "bool",
    "program": "program", "values": "values",
}  # fmt: skip
"""The worker's answer to one call: a value (eager), a serialized program (jit, vmap) or a
failure; the runner's: a value, or every value of a function's program (values)."""
DEFAULTS: Mapping[FieldType, Any] = {
    "bool": False, "text": "", "names": [], "value": None, "values": None, "program": None,
}  # fmt: skip


def _valid(kind: FieldType, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str) and len(value) <= MAX_TEXT
    if kind == "names":
        return (
            isinstance(value, list)
            and len(value) <= MAX_NAMES
            and all(isinstance(n, str) and len(n) <= MAX_NAME for n in value)
        )
    if kind == "values":
        return value is None or (
            isinstance(value, list)
            and len(value) <= MAX_VALUES
            and all(v is not None and _valid("value", v) for v in value)
        )
    if kind == "value":
        if value is None or isinstance(value, np.ndarray):
            return True
        return (
            isinstance(value, dict)
            and len(value) <= MAX_LEAVES
            and all(len(k) <= MAX_NAME and isinstance(v, np.ndarray) for k, v in value.items())
        )
    if kind == "program":
        return value is None or (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 1)
    return False


def validate(message: Mapping[str, Any], schema: Mapping[str, FieldType]) -> dict[str, Any]:
    """`message` with every field of `schema` (absent ones at their default), or ProtocolError
    for a field the schema does not list or one of another type or size."""
    for key in message:
        if key not in schema:
            raise ProtocolError(f"unexpected field {key[:40]!r}")
    out: dict[str, Any] = {}
    for key, kind in schema.items():
        value = message.get(key, DEFAULTS[kind])
        if not _valid(kind, value):
            raise ProtocolError(f"malformed {key}")
        out[key] = value
    return out
