"""What is measured: the catalog's gradients, at which sizes, on which inputs, as which programs.

Every gradient entry of `reference.catalog.CATALOG` (an entry with `of` set) becomes a
series of points; nothing here lists the functions. The layout decides the sweep:

- elementwise: one array of N elements, N swept (2^10 ... 2^24);
- last_axis: rows (B, n), the width n swept with B = total // n rows, so every width
  moves the same number of elements;
- network: one example per row of x, params shared, the batch B swept per network size.

For each point there are four JAX programs, all run under jit on the same inputs:
handwritten (the formula in `handwritten/`), autodiff (the catalog's reference: jax.grad /
vmap(grad) / vjp / jacrev), forward (the hand-written function it differentiates: the floor
a gradient cannot beat by much) and copy (one array of half the gradient's bytes, copied:
the same bytes read and written as the gradient, the memory roofline).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import handwritten
from reference.catalog import BY_NAME, CATALOG, Entry

JAX_IMPLS: tuple[str, ...] = ("handwritten", "autodiff", "forward", "copy")
"""The programs measured for every point, in table order."""

MAX_OUTPUT_ELEMENTS = 2**26
"""One call's output is capped at 2^26 elements (256 MiB in float32, as much as the largest
elementwise case moves): softmax_jacobian writes n x n per row and the network a full
parameter set per example, so their batch is lowered to the largest power of two under the
cap (per-example gradients of the 784x256x10 network are 0.8 MB each: 65536 of them would
need 53 GB)."""


@dataclass(frozen=True)
class Sizes:
    """The sweep of a run: elementwise sizes, softmax/loss widths, network sizes and batches."""

    elements: tuple[int, ...]
    widths: tuple[int, ...]
    row_elements: int
    """Elements per argument of a last-axis case: B = row_elements // n rows of width n."""
    networks: tuple[tuple[int, int, int], ...]
    batches: tuple[int, ...]


FULL = Sizes(
    elements=tuple(2**k for k in range(10, 25, 2)),
    widths=(8, 64, 512, 4096),
    row_elements=2**22,
    networks=((3, 2, 1), (784, 256, 10)),
    batches=(1, 16, 64, 256, 1024, 4096, 16384, 65536),
)
QUICK = Sizes(
    elements=(2**10, 2**14),
    widths=(8, 64),
    row_elements=2**12,
    networks=((3, 2, 1), (784, 256, 10)),
    batches=(1, 16),
)


@dataclass(frozen=True)
class ArgSpec:
    """One input array: its shape, whether axis 0 is the batch (sharded) and its scale."""

    shape: tuple[int, ...]
    batched: bool
    scale: float = 1.0

    @property
    def size(self) -> int:
        return math.prod(self.shape)


Spec = Any
"""A pytree (tuple / dict) of ArgSpec, shaped like the arguments of a call."""


@dataclass(frozen=True)
class Point:
    """One gradient at one size: the series it belongs to and the inputs it takes."""

    entry: Entry
    specs: tuple[Spec, ...]
    sweep: int
    """The swept quantity: elements (elementwise), width n (last axis) or batch (network)."""
    items: int
    """Independent examples per call: elements, rows or network examples."""
    group: str = ""
    """The series within a case: "" or the network size, e.g. "784x256x10"."""
    note: str = ""

    @property
    def case(self) -> str:
        return self.entry.name

    @property
    def forward(self) -> Entry:
        assert self.entry.of is not None
        return BY_NAME[self.entry.of]

    @property
    def size(self) -> int | list[int]:
        """N for an elementwise case, else the first array argument's shape (rows, width)."""
        first = next(s for s in jax.tree.leaves(self.specs, is_leaf=_is_spec) if s.batched)
        return first.shape[0] if self.entry.layout == "elementwise" else list(first.shape)

    @property
    def label(self) -> str:
        """Short, unique within a case: "16777216", "1024x4096", "784x256x10 B=256"."""
        if self.entry.layout == "network":
            return f"{self.group} B={self.sweep}"
        size = self.size
        return "x".join(map(str, size)) if isinstance(size, list) else str(size)


def _is_spec(x: object) -> bool:
    return isinstance(x, ArgSpec)


def gradient_entries() -> tuple[Entry, ...]:
    """The catalog's gradients, in catalog order."""
    return tuple(e for e in CATALOG if e.is_gradient)


def _network_specs(entry: Entry, dims: tuple[int, int, int], batch: int) -> tuple[Spec, ...]:
    d_in, hidden, d_out = dims
    # Weights of size ~1/sqrt(fan_in) keep the sigmoids out of saturation, as a trained net
    # would; the cost of the programs does not depend on the values.
    params = {
        "W1": ArgSpec((d_in, hidden), False, math.sqrt(3 / d_in)),
        "b1": ArgSpec((hidden,), False, 0.1),
        "W2": ArgSpec((hidden, d_out), False, math.sqrt(3 / hidden)),
        "b2": ArgSpec((d_out,), False, 0.1),
    }
    mapped = iter([ArgSpec((batch, d_in), True), ArgSpec((batch, d_out), True)])
    return tuple(params if axis is None else next(mapped) for axis in entry.vmap_axes)


def _output_elements(entry: Entry, specs: tuple[Spec, ...]) -> int:
    out = jax.eval_shape(jax_program(entry, "handwritten"), *abstract(specs, "float32"))
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(out))


def _capped(entry: Entry, make: Callable[[int], tuple[Spec, ...]], batch: int) -> tuple[int, str]:
    """The batch, lowered to a power of two so one call's output stays under the cap."""
    per_example = _output_elements(entry, make(1))
    if batch * per_example <= MAX_OUTPUT_ELEMENTS:
        return batch, ""
    capped = 2 ** int(math.log2(max(1, MAX_OUTPUT_ELEMENTS // per_example)))
    return capped, f"batch capped at {capped} (asked {batch}): {per_example} output elements per example"


def points(entry: Entry, sizes: Sizes) -> list[Point]:
    """The points of one gradient entry for a sweep, smallest first."""
    n_args = len(entry.args)
    found: list[Point] = []
    if entry.layout == "elementwise":
        for n in sizes.elements:
            # |x| up to 4 reaches both branches of |x| and the flat tails of the activations
            # without producing subnormals (which would slow x86 down).
            found.append(Point(entry, tuple(ArgSpec((n,), True, 4.0) for _ in range(n_args)), n, n))
    elif entry.layout == "last_axis":
        for width in sizes.widths:

            def rows(b: int, width: int = width) -> tuple[Spec, ...]:
                return tuple(ArgSpec((b, width), True) for _ in range(n_args))

            batch, note = _capped(entry, rows, max(1, sizes.row_elements // width))
            found.append(Point(entry, rows(batch), width, batch, note=note))
    elif entry.layout == "network":
        for dims in sizes.networks:
            group = "x".join(map(str, dims))
            by_batch: dict[int, Point] = {}
            for wanted in sizes.batches:

                def net(b: int, dims: tuple[int, int, int] = dims) -> tuple[Spec, ...]:
                    return _network_specs(entry, dims, b)

                batch, note = _capped(entry, net, wanted)
                # Batches capped to one already measured are dropped; the note says so.
                if batch not in by_batch or note:
                    by_batch[batch] = Point(entry, net(batch), batch, batch, group=group, note=note)
            found += by_batch.values()
    else:
        raise ValueError(f"{entry.name}: no benchmark sweep for layout {entry.layout!r}")
    return found


def plan(entries: Sequence[Entry], sizes: Sizes) -> list[Point]:
    return [p for e in entries for p in points(e, sizes)]


# ---- the programs ----------------------------------------------------------------------


def _batched(entry: Entry, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function over a batch: batch-polymorphic ones as they are, the network under
    vmap with the catalog's in_axes (params shared, x and y mapped), for both implementations."""
    return fn if entry.batch_polymorphic else jax.vmap(fn, in_axes=entry.vmap_axes)


def jax_program(entry: Entry, impl: str) -> Callable[..., Any]:
    """The function jit compiles for `impl` ("handwritten", "autodiff", "forward", "copy")."""
    if impl == "handwritten":
        return _batched(entry, getattr(handwritten, entry.name))
    if impl == "autodiff":
        return _batched(entry, entry.reference)
    if impl == "forward":
        assert entry.of is not None
        fwd = BY_NAME[entry.of]
        inner = _batched(fwd, getattr(handwritten, fwd.name))
        n = len(fwd.args)
        # softmax takes x only where softmax_vjp takes (x, g): the forward gets its own arguments.
        return lambda *args: inner(*args[:n])
    if impl == "copy":
        return jnp.copy
    raise ValueError(f"unknown implementation {impl!r}; known: {JAX_IMPLS}")


def program_specs(point: Point, impl: str, dtype: str, shards: int = 1) -> tuple[Spec, ...]:
    """The inputs of `impl` at `point`: the gradient's own, or the copy's single flat array."""
    if impl != "copy":
        return point.specs
    itemsize = jnp.dtype(dtype).itemsize
    elements = -(-gradient_bytes(point, dtype) // (2 * itemsize))
    elements = -(-elements // shards) * shards  # whole shards: the flat array is split over devices
    return (ArgSpec((elements,), True),)


def abstract(specs: tuple[Spec, ...], dtype: str) -> tuple[Any, ...]:
    """ShapeDtypeStructs for the specs (for shapes and byte counts, nothing allocated)."""
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, jnp.dtype(dtype)), specs, is_leaf=_is_spec)


def program_bytes(point: Point, impl: str, dtype: str, shards: int = 1) -> int:
    """Bytes a call reads and writes at least once: every input plus every output."""
    specs = program_specs(point, impl, dtype, shards)
    args = abstract(specs, dtype)
    out = jax.eval_shape(jax_program(point.entry, impl), *args)
    leaves = jax.tree.leaves(args) + jax.tree.leaves(out)
    return sum(math.prod(a.shape) * jnp.dtype(a.dtype).itemsize for a in leaves)


def gradient_bytes(point: Point, dtype: str) -> int:
    return program_bytes(point, "handwritten", dtype)


@dataclass(frozen=True)
class Placement:
    """Where a program's inputs live: one device, or split along the batch over a mesh."""

    name: str
    """"cpu", "gpu" or "sharded-<devices>"."""
    devices: tuple[jax.Device, ...]
    mesh: jax.sharding.Mesh | None = field(default=None, compare=False)

    @property
    def sharded(self) -> bool:
        return self.mesh is not None

    @property
    def platform(self) -> str:
        return self.devices[0].platform

    def sharding(self, spec: ArgSpec) -> jax.sharding.Sharding:
        if self.mesh is None:
            return jax.sharding.SingleDeviceSharding(self.devices[0])
        axes = ("batch",) if spec.batched else ()
        return jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec(*axes))

    def fits(self, specs: tuple[Spec, ...]) -> bool:
        """Whether every batched input splits into whole shards."""
        n = len(self.devices)
        return all(s.shape[0] % n == 0 for s in jax.tree.leaves(specs, is_leaf=_is_spec) if s.batched)


def single(device: jax.Device) -> Placement:
    return Placement(device.platform, (device,))


def sharded(devices: Sequence[jax.Device]) -> Placement:
    mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
    return Placement(f"sharded-{len(devices)}", tuple(devices), mesh)


def _uniform(shape: tuple[int, ...], salt: int) -> jax.Array:
    """Uniform in [-1, 1) from a counter-based hash of the element index (murmur3's finaliser).

    Statistically plain but cheap to compile: jax.random's threefry costs ~0.2 s of XLA
    compilation per shape, which over the hundreds of input shapes of a run would dominate
    --quick; this costs ~0.03 s. The timed programs do not depend on the values.
    """
    h = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape) * jnp.uint32(0x9E3779B1) + jnp.uint32(salt)
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    h = h ^ (h >> 16)
    return (h >> 8).astype(jnp.float32) * (2.0 / 2**24) - 1.0  # the top 24 bits: exact in float32


def make_inputs(specs: tuple[Spec, ...], dtype: str, placement: Placement, seed: int = 0) -> tuple[Any, ...]:
    """Inputs computed on the device itself (never copied from the host), each array laid out
    as the placement says: uniform in [-scale, scale), the same values on every placement."""
    leaves, tree = jax.tree.flatten(specs, is_leaf=_is_spec)

    def draw() -> list[jax.Array]:
        # Drawn in float32 and rounded, so float32 and float64 runs see the same numbers.
        return [(s.scale * _uniform(s.shape, 7919 * (seed * 64 + i))).astype(dtype) for i, s in enumerate(leaves)]

    shardings = [placement.sharding(s) for s in leaves]
    arrays = jax.jit(draw, out_shardings=shardings)()
    return tuple(jax.tree.unflatten(tree, arrays))
