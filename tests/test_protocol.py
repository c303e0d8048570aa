"""The wire format between grader and worker: every way a message can be refused.

Each refused message must be refused from its header, before its array bytes are
read: the streams below hold a header and no data (or far less than it declares), so
a reader that went on to read would fail with EOFError instead of ProtocolError.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from handgrad.grading import protocol
from handgrad.grading.protocol import MAX_HEADER, ProtocolError, read_message, write_message


def raw(header: Any, data: bytes = b"", *, length: int | None = None) -> io.BytesIO:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return io.BytesIO(struct.pack(">I", len(text) if length is None else length) + text + data)


def nested(depth: int) -> Any:
    tree: Any = []
    for _ in range(depth):
        tree = [tree]
    return tree


def array(index: Any = 0, dtype: str = "float32", shape: Any = (2, 3)) -> dict[str, Any]:
    return {"__array__": index, "dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape}


def test_round_trip_of_every_supported_dtype_and_nesting() -> None:
    values: dict[str, Any] = {name: np.arange(6).reshape(2, 3).astype(dt) for name, dt in protocol.DTYPES.items()}
    message = {
        "ok": True,
        "value": values,
        "list": [np.asarray(1.5), np.zeros((0, 4), np.float32), None, "text", 3, [np.ones(())]],
        "bf16": np.ones((2,), ml_dtypes.bfloat16),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],
    }
    stream = io.BytesIO()
    write_message(stream, message)
    stream.seek(0)
    back = read_message(stream)
    for name, v in values.items():
        assert back["value"][name].dtype == v.dtype and np.array_equal(back["value"][name], v)
    assert back["list"][0].shape == () and back["list"][0] == 1.5
    assert back["list"][1].shape == (0, 4) and back["list"][2:5] == [None, "text", 3]
    assert back["list"][5][0].shape == () and back["bf16"].dtype == ml_dtypes.bfloat16
    assert np.array_equal(back["strided"], np.arange(12.0).reshape(3, 4)[:, ::2])
    assert stream.read() == b""  # nothing left over: exactly one message was consumed


@pytest.mark.parametrize(
    ("value", "said"),
    [(np.zeros(2, np.complex64), "dtype complex64"), (object(), "cannot send a object"), ({1, 2}, "cannot send a set")],
    ids=["complex", "object", "set"],
)
def test_writer_refuses_what_it_cannot_send(value: Any, said: str) -> None:
    with pytest.raises(ProtocolError, match=said):
        write_message(io.BytesIO(), {"value": value})


@pytest.mark.parametrize(
    ("stream", "said"),
    [
        (raw({"ok": True}, length=MAX_HEADER + 1), "too long"),
        (raw(b"\xff\xfe not utf-8"), "not JSON"),
        (raw(b"{not json"), "not JSON"),
        (raw(b"[" * 100_000 + b"]" * 100_000), "not JSON"),
        (raw([1, 2, 3]), "not an object"),
        (raw(b'{"v": ' + b"[" * 500 + b"]" * 500 + b"}"), "nested more than 32 deep"),  # (json takes it)
        (raw({"v": {"__dict__": {"a": {"__dict__": {"b": nested(30)}}}}}), "nested more than 32 deep"),
        (raw({"__blobs__": "12"}), "malformed blob sizes"),
        (raw({"__blobs__": [-1]}), "malformed blob sizes"),
        (raw({"__blobs__": [True]}), "malformed blob sizes"),
        (raw({"__blobs__": [(1 << 30) + 1]}), "malformed blob sizes"),
        (raw({"v": array(), "__blobs__": [1 << 29] * 3}), "larger than the limit"),
        (raw({"v": array(index=1), "__blobs__": [24]}), "malformed array descriptor"),
        (raw({"v": array(index="0"), "__blobs__": [24]}), "malformed array descriptor"),
        (raw({"v": array(index=True), "__blobs__": [24]}), "malformed array descriptor"),
        (raw({"v": [array(), array()], "__blobs__": [24]}), "malformed array descriptor"),
        (raw({"v": array(dtype="object"), "__blobs__": [24]}), "unsupported dtype"),
        (raw({"v": array(dtype="complex128"), "__blobs__": [24]}), "unsupported dtype"),
        (raw({"v": array(shape="2x3"), "__blobs__": [24]}), "malformed array shape"),
        (raw({"v": array(shape=[2, -3]), "__blobs__": [24]}), "malformed array shape"),
        (raw({"v": array(shape=[1] * 33), "__blobs__": [4]}), "malformed array shape"),
        (raw({"v": array(shape=[2, 3.0]), "__blobs__": [24]}), "malformed array shape"),
        (raw({"v": array(), "__blobs__": [25]}), "do not match its shape"),
        (raw({"v": array(shape=[1 << 20, 1 << 20]), "__blobs__": [24]}), "do not match its shape"),
        (raw({"v": 1, "__blobs__": [8]}), "blobs without an array"),
        (raw({"v": {"__dict__": [1, 2]}}), "malformed dict"),
        (raw({"v": {"a": 1}}), "unexpected object"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_reader_refuses_malformed_headers_before_reading_data(stream: io.BytesIO, said: str) -> None:
    with pytest.raises(ProtocolError, match=said):
        read_message(stream, max_bytes=1 << 30)


def test_truncated_streams_end_in_eof() -> None:
    with pytest.raises(EOFError):
        read_message(io.BytesIO(b""))
    with pytest.raises(EOFError):
        read_message(io.BytesIO(b"\x00\x00"))
    with pytest.raises(EOFError):
        read_message(io.BytesIO(struct.pack(">I", 50) + b"{}"))
    with pytest.raises(EOFError):
        read_message(raw({"v": array(), "__blobs__": [24]}, b"\x00" * 10))


def test_the_default_limit_and_a_callers_check_refuse_before_any_array_byte() -> None:
    declared = raw({"v": array(shape=[1 << 27]), "__blobs__": [1 << 29]})  # 512 MiB declared, none sent
    with pytest.raises(ProtocolError, match="larger than the limit"):
        read_message(declared)
    seen: list[int] = []

    def check(header: dict[str, Any], total: int) -> None:
        seen.append(total)
        raise ProtocolError("not what the case expects")

    with pytest.raises(ProtocolError, match="not what the case expects"):
        read_message(raw({"v": array(), "__blobs__": [24]}), check=check)  # data absent: check ran first
    assert seen == [24]


def test_reply_check_bounds_a_reply_by_what_the_reference_returns() -> None:
    from handgrad.grading.pool import reply_check

    x = np.zeros((7, 5), np.float32)
    max_bytes, check = reply_check("softmax_jacobian", (x,), {}, stacked=False)  # (7, 5, 5) elements
    assert max_bytes == 2 * 7 * 5 * 5 * 8 + 4096
    check({}, max_bytes)
    with pytest.raises(ProtocolError, match="expects at most"):
        check({}, max_bytes + 1)
    small, _ = reply_check("relu_grad", (x,), {}, stacked=False)
    assert small == 2 * 35 * 8 + 4096


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"devices": 5}, "malformed devices"),
        ({"devices": "cpu:0"}, "malformed devices"),
        ({"devices": [0]}, "malformed devices"),
        ({"devices": ["cpu:0"] * 65}, "malformed devices"),
        ({"ok": "yes"}, "malformed ok"),
        ({"autodiff": 0}, "malformed autodiff"),
        ({"complex": None}, "malformed complex"),
        ({"host_callback": []}, "malformed host_callback"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_reply_whose_fields_have_other_types_is_refused(fields: dict[str, Any], said: str) -> None:
    """A reply is written by the submission's own process: a field of an unexpected type
    refuses the reply (its function fails), instead of raising inside the grader."""
    from handgrad.grading.pool import reply_fields

    with pytest.raises(ProtocolError, match=said):
        reply_fields({"ok": True, "value": np.zeros(2), "devices": ["cpu:0"]} | fields)


def test_reply_fields_keep_known_kinds_and_refuse_fields_of_the_wrong_type() -> None:
    from handgrad.grading.pool import reply_fields

    assert reply_fields({"ok": False, "kind": "memory", "message": "x"})["kind"] == "memory"
    assert reply_fields({"ok": False, "kind": "timeout"})["kind"] == "exception"  # (not the grader's verdict)
    assert reply_fields({"ok": False, "kind": "made-up", "message": ""})["kind"] == "exception"
    for odd in (
        {"ok": False, "kind": {"a": 1}, "message": "x"},
        {"ok": False, "kind": "exception", "message": ["x", 1]},
        {"ok": False, "kind": "exception", "message": np.zeros(3)},  # (its truth value raised)
        {"ok": False, "kind": "exception", "message": None},
        {"ok": np.bool_(True)},
        {"ok": True, "devices": "cpu:0"},
    ):
        with pytest.raises(ProtocolError):
            reply_fields(odd)


def test_encode_message_is_what_write_message_sends() -> None:
    message = {"ok": True, "value": np.arange(6.0).reshape(2, 3), "devices": ["cpu:0"]}
    stream = io.BytesIO()
    write_message(stream, message)
    assert protocol.encode_message(message) == stream.getvalue()
    back = read_message(io.BytesIO(protocol.encode_message(message)))
    assert np.array_equal(back["value"], message["value"]) and back["devices"] == ["cpu:0"]
