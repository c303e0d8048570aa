"""The wire format between grader and worker: every way a message can be refused.

Each refused message must be refused from its header, before its array bytes are
read: the streams below hold a header and no data (or far less than it declares), so
a reader that went on to read would fail with EOFError instead of ProtocolError.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any, ClassVar

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    # A vmap cell's stack of rows (each row's Jacobian 5 x 5), and a loss with its keyword.
    stacked, _ = reply_check("softmax_jacobian", (np.zeros((3, 7, 5), np.float32),), {}, stacked=True)
    assert stacked == 2 * 3 * 7 * 5 * 5 * 8 + 4096
    loss, _ = reply_check("huber", (x, x), {"delta": 0.5}, stacked=True)
    assert loss == 2 * 7 * 8 + 4096


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"devices": 5}, "malformed devices"),
        ({"devices": "cpu:0"}, "malformed devices"),
        ({"devices": [0]}, "malformed devices"),
        ({"devices": ["cpu:0"] * 65}, "malformed devices"),
        ({"ok": "yes"}, "malformed ok"),
        ({"autodiff": 0}, "malformed autodiff"),
        ({"complex": False}, "unexpected field 'complex'"),  # (no flag a worker sends is believed)
        ({"host_callback": False}, "unexpected field 'host_callback'"),
        ({"program": np.zeros(3, np.float32)}, "malformed program"),
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
    assert reply_fields({"ok": False})["message"] == ""
    for odd in ({"kind": {"a": 1}}, {"message": ["x", 1]}, {"message": None}, {"message": "x" * (1 << 17)}):
        with pytest.raises(ProtocolError, match="malformed"):
            reply_fields({"ok": False} | odd)
    with pytest.raises(ProtocolError, match="unexpected field 'verdict'"):
        reply_fields({"ok": True, "verdict": "pass"})
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


# ---- a class run always finishes: property-based ------------------------------------------
# Whatever bytes a worker writes, the reader raises ProtocolError or EOFError (never anything
# else), and grade_many grades every submission: the one whose worker wrote junk fails, with
# reason `protocol` or as the junk decoded says, and every honest student's marks are unchanged.

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from([*protocol.REPLY, *protocol.READY, "__array__", "__dict__", "__blobs__", "dtype", "shape"])
SPECIAL: list[tuple[bytes, bytes]] = [
    (b'{"ok": ' + b"9" * 5000 + b"}", b""),  # an int json reads and Python will not convert
    (b'{"ok": false, "message": [1, 2]}', b""),
    (b'{"ok": false, "message": {"__array__": 0, "dtype": "uint8", "shape": [3]}, "__blobs__": [3]}', b"abc"),
    (b'{"ok": true, "defined": ["relu_grad"], "others": [], "autodiff": false}', b""),
    (
        b'{"ok": true, "value": {"__dict__": {"a": {"__array__": 0, "dtype": "float32", "shape": [1]}}}, '
        b'"__blobs__": [4]}',
        b"abcd",
    ),
    (b'{"ok": true, "value": {"__array__": 0, "dtype": "float64", "shape": [1e400]}, "__blobs__": [8]}', b"\0" * 8),
    (b'{"ok": true, "value": NaN, "devices": [Infinity]}', b""),
    (b'{"ok": true, "value": {"__array__": 0, "dtype": "bool", "shape": [2]}, "__blobs__": [2]}', b"\x07\xff"),
    (b'{"ok": true, "program": {"__array__": 0, "dtype": "float32", "shape": [1]}, "__blobs__": [4]}', b"abcd"),
]


def framed(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(header)) + header + data


@st.composite
def junk_message(draw: st.DrawFn) -> bytes:
    """One message as a hostile worker might write it: raw bytes, a special case, or a JSON
    header made of the protocol's own field names with values of any type."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=64))
    if choice == 1:
        return framed(*draw(st.sampled_from(SPECIAL)))
    header = draw(st.dictionaries(FIELDS | st.text(max_size=6), JSON, max_size=6))
    try:
        text = json.dumps(header).encode()
    except ValueError:
        text = b"{}"
    return framed(text, draw(st.binary(max_size=32)))


@given(st.binary(max_size=300) | junk_message())
@settings(max_examples=300, deadline=None)
def test_the_reader_raises_only_protocol_errors_or_eof(data: bytes) -> None:
    for schema in (protocol.READY, protocol.REPLY):
        try:
            message = read_message(io.BytesIO(data), max_bytes=1 << 16)
            protocol.validate(message, schema)
        except (ProtocolError, EOFError):
            pass


@pytest.mark.parametrize(("header", "data"), SPECIAL, ids=[str(i) for i in range(len(SPECIAL))])
def test_special_messages_are_refused_or_well_typed(header: bytes, data: bytes) -> None:
    from handgrad.grading.pool import reply_fields

    try:
        fields = reply_fields(read_message(io.BytesIO(framed(header, data)), max_bytes=1 << 16))
    except (ProtocolError, EOFError):
        return
    assert isinstance(fields["ok"], bool) and isinstance(fields["message"], str)
    assert fields["value"] is None or isinstance(fields["value"], (np.ndarray, dict))


def test_a_5000_digit_integer_or_an_array_for_a_message_is_a_protocol_error() -> None:
    from handgrad.grading.pool import reply_fields

    with pytest.raises(ProtocolError, match="integer of 5000 digits"):
        read_message(io.BytesIO(framed(*SPECIAL[0])))
    for header, data in SPECIAL[1:3]:
        with pytest.raises(ProtocolError, match="malformed message"):
            reply_fields(read_message(io.BytesIO(framed(header, data))))


class FakeWorker:
    """Stands in for pool.Worker without a process: an honest one answers from the shipped
    formulas (through the real encoder and reader), a hostile one replays `JUNK` bytes. Both
    go through the Worker's own checks of each message (READY, reply_fields)."""

    JUNK: ClassVar[list[bytes]] = []
    live: ClassVar[set[int]] = set()

    def __init__(self, budget: Any, names: Any = None, runner: bool = False, wait: bool = True) -> None:
        from handgrad.grading import pool

        self.waited = True

        self.budget, self.limits = budget, budget.limits
        self.runner = runner
        self.kinds = pool.RUNNER_KINDS if runner else pool.REPLY_KINDS
        self.hostile = "hostile" in budget.submission.name and not runner  # (a runner runs no student code)
        self.closed, self.started, self.calls = False, 0.0, 0
        self.import_error = None
        self.autodiff_at_import = False
        FakeWorker.live.add(id(self))
        first = self._next() if self.hostile else {"ok": True, "defined": list(pool.NAMES), "autodiff": False}
        try:
            if isinstance(first, bytes):
                first = read_message(io.BytesIO(first), 1 << 16)
            ready = protocol.validate(first, protocol.READY)
        except (ProtocolError, EOFError) as exc:
            self.import_error = pool.EvaluationError("protocol", str(exc))
            self.close()
            return
        self.defined, self.others = ready["defined"], []
        if not ready["ok"]:
            self.import_error = pool.EvaluationError("import", ready["message"][:2000])
            self.close()

    def _next(self) -> bytes:
        self.calls += 1
        return self.JUNK[self.calls % len(self.JUNK)] if self.JUNK else b""

    @property
    def alive(self) -> bool:
        return not self.closed and self.import_error is None

    def running(self) -> float:
        return 0.0

    def used(self) -> float:
        return self.running()

    def unbilled(self) -> tuple[float, float]:
        return self.used(), self.running()

    def bill(self, used: float | None = None) -> None:
        pass  # (it uses no time to charge)

    def call(self, request: dict[str, Any], timeout: float, max_bytes: int, check: Any) -> dict[str, Any]:
        import handwritten
        from handgrad.grading import pool, runner, worker

        if self.hostile:
            data = self._next()
        elif self.runner:
            data = protocol.encode_message(runner.answer(read_message(io.BytesIO(protocol.encode_message(request)))))
        else:
            reply = worker.reply_to(getattr(handwritten, request["name"]), request, str)
            data = protocol.encode_message(reply)
        try:
            return pool.reply_fields(read_message(io.BytesIO(data), max_bytes, check), self.kinds)
        except (ProtocolError, EOFError) as exc:
            self.close()
            raise pool.WorkerDied("protocol", str(exc)) from None

    def close(self) -> None:
        self.closed = True
        FakeWorker.live.discard(id(self))

    dispose = close


HONEST = ("honest_a.py", "honest_b.py")
GRADED = ("relu_grad", "l2_grad")


def _grade_class(tmp: Any, hostile: bool) -> list[Any]:
    import types

    from handgrad.grading import grader
    from handgrad.grading.grader import Options, grade_many
    from handgrad.grading.pool import Limits
    from handgrad.grading.reports import marks_csv

    paths = []
    for name in (HONEST[0], "hostile.py", HONEST[1]) if hostile else HONEST:
        (tmp / name).write_text("def relu_grad(x):\n    return x\n")  # (never run: FakeWorker answers)
        paths.append(tmp / name)
    options = Options(functions=GRADED, seed=5, scan=False, limits=Limits(restarts=0), jobs=2)
    real = grader.sandbox.require
    grader.sandbox.require = lambda *a, **k: types.SimpleNamespace(mode="test", full=False)  # type: ignore[assignment]
    try:
        grades = grade_many(paths, options)
    finally:
        grader.sandbox.require = real  # type: ignore[assignment]
    csv = marks_csv(grades).splitlines()
    assert len(grades) == len(paths) and len(csv) == len(paths) + 1  # marks.csv has every student
    return grades


@pytest.fixture(scope="module")
def honest_marks(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[float, str]]:
    from handgrad.grading import pool

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pool, "Worker", FakeWorker)
        grades = _grade_class(tmp_path_factory.mktemp("baseline"), hostile=False)
    assert [g.reason for g in grades] == ["ok", "ok"], [f.feedback for g in grades for f in g.functions]
    return [(g.score, g.reason) for g in grades]


@given(junk=st.lists(junk_message(), min_size=1, max_size=4))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_grade_many_finishes_whatever_a_worker_writes(
    junk: list[bytes], honest_marks: list[tuple[float, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from handgrad.grading import pool

    FakeWorker.JUNK = junk
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pool, "Worker", FakeWorker)
        grades = _grade_class(tmp_path_factory.mktemp("class"), hostile=True)
    assert [(g.score, g.reason) for i, g in enumerate(grades) if i != 1] == honest_marks
    assert grades[1].score == 0 or grades[1].reason == "ok"
    assert not FakeWorker.live  # every worker was closed
