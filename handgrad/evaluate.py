"""Run one formula on one input under one transform, on one device (or sharded).

This is the only place a formula under test is called. It runs in the grader's
worker process for submissions and in-process for the shipped `handwritten`
formulas, so both take exactly the same path.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import sysconfig
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from handgrad.op_by_op import one_op_at_a_time
from reference.keywords import bind

TRANSFORMS: tuple[str, ...] = ("eager", "jit", "vmap")
SHARDED = "sharded"


def describe_exception(exc: BaseException, limit: int = 400) -> str:
    """'TypeError: message (at file.py:12)', shortened for a report."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    # JAX appends a paragraph about its filtered traceback, and names the function it traced
    # (handgrad's own wrapper of the formula): neither says anything about the formula.
    text = text.split("\n--------------------\n")[0].strip()
    text = _SEE_LINK.sub("", _TRACED_AT.sub(_traced_at, text))
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        # The formula's own line: the last frame outside the libraries (JAX raises a broadcast
        # error in its util.py, which says nothing about where to look); none where every frame
        # is a library's (a custom_vjp's bwd of the wrong structure, found by JAX after it ran).
        own = [f for f in frames if not _in_a_library(f.filename)]
        if own:
            where = f" (at {own[-1].filename.rsplit('/', 1)[-1]}:{own[-1].lineno})"
    room = max(limit - len(where), 40)
    if len(text) > room:  # (cut at a word, not inside one)
        cut = text[: room - 3]
        text = (cut.rsplit(None, 1)[0] if " " in cut else cut) + "..."
    return text + where


_TRACED_AT = re.compile(r"The error occurred while tracing the function (\S+) at (\S+):\d+ for (\w+)\.")


def _traced_at(found: re.Match[str]) -> str:
    """JAX's sentence naming the function it traced, without the place where that is
    handgrad's own wrapper of the formula (the formula's own jax.jit keeps its file and line)."""
    if _in_a_library(found[2]):
        return f"The error occurred while tracing the function for {found[3]}."
    return found[0]


_SEE_LINK = re.compile(r"\s*(For more information, )?[Ss]ee https?://\S+")


_LIBRARIES = tuple(
    {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    | {str(Path(__file__).resolve().parent), str(Path(jax.__file__).resolve().parents[1])}
)


def _in_a_library(filename: str) -> bool:
    """Whether a traceback frame is the standard library's, an installed package's (JAX,
    NumPy) or handgrad's own, not the code under test."""
    if filename.startswith("<frozen "):
        return True  # (importlib's; code compiled from a string, "<string>", is the caller's own)
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return path.startswith(_LIBRARIES) or "/site-packages/" in path or "/dist-packages/" in path


class BadReturn(Exception):
    """The formula returned something that is not what the contract promises."""


@dataclass(frozen=True)
class Output:
    value: Any
    """np.ndarray, or dict[str, np.ndarray] for the network's gradients."""
    devices: frozenset[str]


def device_name(d: jax.Device) -> str:
    return f"{d.platform}:{d.id}"


def shard_devices() -> list[jax.Device]:
    """The devices a "sharded" case splits its batch across: the default backend's where it
    has several (several GPUs, or the forced host devices of a CPU machine), else the CPU's
    (a one-GPU machine still runs the multi-device path on its forced host devices)."""
    default = jax.devices()
    return default if len(default) > 1 else jax.devices("cpu")


def available_devices() -> list[str]:
    """CPU devices always, the default backend's devices (GPU) where present, and
    "sharded" where shard_devices() has more than one device."""
    found = [device_name(d) for d in jax.devices("cpu")]
    found += [device_name(d) for d in jax.devices() if device_name(d) not in found]
    if len(shard_devices()) > 1:
        found.append(SHARDED)
    return found


def default_devices() -> list[str]:
    """What a check runs on when no device is named: the first device of each platform (the
    CPU's, and the first GPU's where present) and "sharded" where available_devices() has it.
    Devices of one platform run the same compiled program: checking each repeats every check
    (eight times on an eight-GPU machine) and finds nothing the first did not, while placement
    across several devices is what "sharded" checks. Any device is checked when named
    (`devices=["cpu:1"]`, `--device cpu:1`)."""
    chosen: list[str] = []
    for name in available_devices():
        platform = name.partition(":")[0]
        if name == SHARDED or not any(c.partition(":")[0] == platform for c in chosen):
            chosen.append(name)
    return chosen


def worker_devices() -> list[str]:
    """The devices a grading worker evaluates on. Workers run with JAX_PLATFORMS=cpu (see
    grading/pool.py): the first CPU device, and "sharded" over them where there are several
    (as default_devices, for the CPU alone)."""
    cpus = [device_name(d) for d in jax.devices("cpu")]
    return cpus[:1] + ([SHARDED] if len(cpus) > 1 else [])


def shard_count() -> int:
    return len(shard_devices())


def _device(name: str) -> jax.Device:
    for d in jax.devices("cpu") + jax.devices():
        if device_name(d) == name:
            return d
    raise ValueError(f"no device {name!r} here; available: {available_devices()}")


def without_float64(transform: str, args: Any) -> bool:
    """Whether an eager call on `args` runs with float64 off: one whose floating inputs are all
    narrower than float64 (a float32, float16 or bfloat16 check). Checks need float64 on for
    the float64 checks and the truths, but JAX's default is off, and a function can read it
    (`jnp.zeros(()).dtype`): a red team's file returned its formulas only where float64 was on,
    and kept full marks while wrong for every user who never turns it on. So the live calls of
    the narrower dtypes run as such a user's do, and the traced programs of every dtype with
    float64 on, as a user who turns it on gets them: a function must be right both ways."""
    if transform != "eager":  # (every traced request passes here in a worker: nothing to read)
        return False
    floats = [d for d in (np.asarray(a).dtype for a in jax.tree.leaves(args)) if np.issubdtype(d, np.floating)]
    return bool(floats) and all(d.itemsize < 8 for d in floats)


def _as_a_user_calls_it(transform: str, args: Any) -> Any:
    """float64_off() where without_float64 says so, else a context that changes nothing."""
    return float64_off() if without_float64(transform, args) else contextlib.nullcontext()


@contextlib.contextmanager
def float64_off() -> Iterator[None]:
    """JAX's float64 switch off, as by default, in this thread. JAX's warning that an explicit
    float64 is truncated to float32 is what a user with float64 off gets too, and no mistake: a
    formula computing in jnp.float64 and casting back is right either way."""
    if not jax.config.read("jax_enable_x64"):
        yield
        return
    switch = getattr(jax, "enable_x64", None)
    off = (
        functools.partial(switch, False)
        if switch is not None
        else importlib.import_module("jax.experimental").disable_x64
    )
    with off(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype", category=UserWarning)
        yield


def place(args: tuple[Any, ...], device: str, vmap_axes: tuple[int | None, ...]) -> tuple[Any, ...]:
    """Put the arguments on `device`; for "sharded", split axis 0 of the batched ones
    across shard_devices() and replicate the rest."""
    if device != SHARDED:
        return jax.device_put(args, _device(device))
    mesh = Mesh(np.array(shard_devices()), ("batch",))
    split, whole = NamedSharding(mesh, PartitionSpec("batch")), NamedSharding(mesh, PartitionSpec())
    return tuple(jax.device_put(a, split if axis == 0 else whole) for a, axis in zip(args, vmap_axes, strict=True))


def returned(x: Any) -> str:
    """What a formula returned instead of an array, in a student's words."""
    if x is None or x is NotImplemented:
        return repr(x)
    if isinstance(x, np.ndarray):
        return f"a NumPy array (numpy.ndarray of shape {x.shape})"
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return f"a Python or NumPy number ({type(x).__name__})"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    return f"{type(x).__module__}.{type(x).__name__}"


def _to_numpy(out: Any) -> Output:
    def leaf(x: Any, where: str) -> tuple[np.ndarray, set[str]]:
        if not isinstance(x, jax.Array):
            raise BadReturn(f"returned {returned(x)}{where}, expected a jax.Array")
        return np.asarray(x), {device_name(d) for d in x.devices()}

    if isinstance(out, Mapping):
        value, devices = {}, set()
        for k, v in out.items():
            value[str(k)], devs = leaf(v, f" under key {k!r}")
            devices |= devs
        return Output(value, frozenset(devices))
    array, on = leaf(out, "")
    return Output(array, frozenset(on))


_TRANSFORMED: OrderedDict[tuple[Any, ...], tuple[Callable[..., Any], Callable[..., Any]]] = OrderedDict()
KEPT_TRANSFORMED = 1024
"""The catalog's formulas under every transform and keyword set fill a few hundred entries.
A process that checks many functions (a test suite, a notebook) keeps no more, least
recently used first out: an entry keeps its compiled programs, three memory maps each, and
XLA aborts a process past vm.max_map_count."""


def _transformed(
    fn: Callable[..., Any], transform: str, kwargs: Mapping[str, Any], vmap_axes: tuple[int | None, ...]
) -> Callable[..., Any]:
    """fn with its static keywords bound, under `transform`; one object per combination.

    Reusing the same jitted object lets JAX reuse a compiled program for every case of the
    same shapes, dtypes and devices (input families differ in values, mostly not in shape):
    a fresh `jax.jit(jax.vmap(f))` per case traced and compiled anew every time. The key
    holds id(fn), not fn, so a submission's object never has its __hash__ or __eq__ called;
    the entry keeps fn alive, so its id is not reused.
    """
    key = (id(fn), transform, tuple(sorted((k, repr(v)) for k, v in kwargs.items())), vmap_axes)
    found = _TRANSFORMED.get(key)
    if found is not None and found[0] is fn:
        _TRANSFORMED.move_to_end(key)
        return found[1]
    f = bind(fn, kwargs)
    if transform == "eager":
        g = f
    elif transform == "jit":
        g = jax.jit(f)
    else:
        # Batched as it is used in practice: jit of vmap. (Eager vmap would only add
        # compile time; a failure under jit alone shows in the "jit" cells.)
        g = jax.jit(jax.vmap(f, in_axes=vmap_axes))
    _TRANSFORMED[key] = (fn, g)
    _TRANSFORMED.move_to_end(key)
    while len(_TRANSFORMED) > KEPT_TRANSFORMED:
        _TRANSFORMED.popitem(last=False)
    return g


def export_cell(
    fn: Callable[..., Any],
    *,
    transform: str,
    device: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    vmap_axes: tuple[int | None, ...],
) -> bytes:
    """The program fn runs under `transform` (jit or vmap) for arguments of these shapes and
    dtypes, serialized with jax.export for one CPU device: what the grader's runner inspects
    and runs (handgrad/grading/runner.py). Exceptions from tracing fn propagate."""
    from jax import export

    if transform not in ("jit", "vmap") or device == SHARDED:
        raise ValueError(f"no exported program for {transform} on {device}")
    program: Any = _transformed(fn, transform, kwargs, vmap_axes)  # a jax.jit object for these transforms
    specs = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), args)
    return bytes(export.export(program, platforms=["cpu"])(*specs).serialize())


def export_cells(fn: Callable[..., Any], cells: Sequence[Mapping[str, Any]]) -> bytes:
    """One program computing every cell of `cells` (transform, device, args, kwargs,
    vmap_axes, as export_cell takes them: all jit and vmap cells, or all eager cells),
    serialized like export_cell's. It takes a list of argument tuples, one per cell in
    order, and returns a list of results: what the grader's runner compiles once for a whole
    function instead of once per shape and dtype. An eager cell is fn one operation at a
    time (handgrad/op_by_op.py), which the runner compiles with EAGER_COMPILER_OPTIONS.
    Exceptions from tracing fn propagate."""
    from jax import export

    eager = {cell["transform"] == "eager" for cell in cells}
    if len(eager) > 1:
        raise ValueError("one program holds eager cells or jit and vmap cells, not both")
    specs = [
        jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), tuple(c["args"])) for c in cells
    ]
    parts = []
    for cell, spec in zip(cells, specs, strict=True):
        if cell["transform"] not in TRANSFORMS or cell["device"] == SHARDED:
            raise ValueError(f"no exported program for {cell['transform']} on {cell['device']}")
        bound = bind(fn, cell["kwargs"])
        # A jit or vmap cell is traced inline, not through its own jax.jit: the whole program is
        # jitted, so the computation is the same, and the worker traces and lowers each cell
        # once instead of through a nested jit (about 15% of the export).
        if cell["transform"] == "eager":
            parts.append(one_op_at_a_time(bound, spec))
        elif cell["transform"] == "jit":
            parts.append(bound)
        else:
            parts.append(jax.vmap(bound, in_axes=tuple(cell["vmap_axes"])))

    def program(*argsets: tuple[Any, ...]) -> list[Any]:
        return [part(*args) for part, args in zip(parts, argsets, strict=True)]

    return bytes(export.export(jax.jit(program), platforms=["cpu"])(*specs).serialize())


def forget_all() -> None:
    """Drop every transformed copy (handgrad.clear_caches)."""
    _TRANSFORMED.clear()


def forget(fn: Callable[..., Any]) -> None:
    """Drop the transformed copies of fn (handgrad.verify checks a function once; the
    catalog's formulas stay for the whole run)."""
    for key in [k for k, (f, _) in list(_TRANSFORMED.items()) if f is fn]:
        del _TRANSFORMED[key]


def evaluate(
    fn: Callable[..., Any],
    *,
    transform: str,
    device: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    vmap_axes: tuple[int | None, ...],
) -> Output:
    """fn(*args, **kwargs) under `transform` with the arguments on `device`.

    Keywords (Huber's delta) are static: closed over, never traced or mapped.
    Exceptions from fn propagate to the caller, which reports them. (The grader does not run
    a submission's jit and vmap cases here: see export_cell.)
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; known: {TRANSFORMS}")
    with _as_a_user_calls_it(transform, args):
        placed = place(args, device, vmap_axes)
        program = _transformed(fn, transform, kwargs, vmap_axes)
        before = [dict(a) if isinstance(a, dict) else None for a in placed]
        out = jax.block_until_ready(program(*placed))
    for position, (arg, kept) in enumerate(zip(placed, before, strict=True)):
        if kept is not None and (arg.keys() != kept.keys() or any(arg[k] is not kept[k] for k in kept)):
            raise BadReturn(
                f"changed its argument {position + 1} (a dict) in place: a caller's dict (the network's "
                "params) must come back as it was given; build a new dict instead"
            )
    return _to_numpy(out)
