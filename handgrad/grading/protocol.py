"""The wire format between the grader and its worker: JSON headers and raw array bytes.

Nothing is pickled or evaluated. A message is a 4-byte big-endian header length, a
UTF-8 JSON header, then the raw bytes of every array it mentions, in order. An array
in the header is {"__array__": i, "dtype": "float32", "shape": [2, 3]}; the reader
checks the dtype against a short list, the byte count against the shape, and every
size against a limit, so a hostile worker can send garbage but nothing worse.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import IO, Any

import ml_dtypes
import numpy as np

MAX_HEADER = 1 << 20
MAX_ARRAY_BYTES = 1 << 30
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


def write_message(stream: IO[bytes], message: Mapping[str, Any]) -> None:
    blobs: list[bytes] = []
    header = json.dumps({k: _encode(v, blobs) for k, v in message.items()} | {"__blobs__": [len(b) for b in blobs]})
    data = header.encode()
    stream.write(struct.pack(">I", len(data)) + data)
    for blob in blobs:
        stream.write(blob)
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


def _decode(tree: Any, blobs: list[bytes]) -> Any:
    if isinstance(tree, dict) and "__array__" in tree:
        index, dtype, shape = tree.get("__array__"), tree.get("dtype"), tree.get("shape")
        if not isinstance(index, int) or not 0 <= index < len(blobs) or dtype not in DTYPES:
            raise ProtocolError("malformed array descriptor")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) or len(shape) > 32:
            raise ProtocolError("malformed array shape")
        expected = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize
        if expected != len(blobs[index]):
            raise ProtocolError("array bytes do not match its shape")
        return np.frombuffer(blobs[index], dtype=DTYPES[dtype]).reshape(shape).copy()
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


def read_message(stream: IO[bytes]) -> dict[str, Any]:
    (length,) = struct.unpack(">I", _read_exact(stream, 4))
    if length > MAX_HEADER:
        raise ProtocolError(f"header of {length} bytes is too long")
    try:
        header = json.loads(_read_exact(stream, length))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    sizes = header.pop("__blobs__", [])
    if not isinstance(sizes, list) or not all(isinstance(s, int) and 0 <= s <= MAX_ARRAY_BYTES for s in sizes):
        raise ProtocolError("malformed blob sizes")
    if sum(sizes) > MAX_ARRAY_BYTES:
        raise ProtocolError("message too large")
    blobs = [_read_exact(stream, s) for s in sizes]
    return {str(k): _decode(v, blobs) for k, v in header.items()}
