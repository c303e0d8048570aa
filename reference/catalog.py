"""The catalog: the single list of every contract function and how to check it.

For each function it says: its reference (autodiff of an independent forward), the
input families it is checked on, the dtypes, the kink rule with its valid
subgradients, and the tolerance per dtype. Tests, `handgrad check`, the grader and
the benchmarks all iterate over CATALOG; adding a formula means adding an entry here
(and its hand-written code).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from reference import activations, families, losses, network, softmax
from reference.families import Family
from reference.kinks import HINGE, L1, RELU, Kink
from reference.tolerances import TOLERANCES, Tolerance

Layout = Literal["elementwise", "last_axis", "network"]
"""How outputs line up with inputs: element for element; one row (last axis) per
example; or one network example (params, x, y) at a time."""

ALL_DTYPES = ("float32", "float64", "float16", "bfloat16")
WIDE_DTYPES = ("float32", "float64")


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per function
class Entry:
    name: str
    reference: Callable[..., Any]
    args: tuple[str, ...]
    """Positional argument names of the contract signature; families may draw more
    (the network's families draw (params, x, y); the forward takes the first two)."""
    layout: Layout
    families: tuple[Family, ...]
    dtypes: tuple[str, ...] = WIDE_DTYPES
    kink: Kink | None = None
    tolerance: Mapping[str, Tolerance] = field(default_factory=lambda: TOLERANCES)
    of: str | None = None
    """For a derivative: the catalog name of the function it differentiates."""
    term_scale: Callable[[tuple[Any, ...]], np.ndarray] | None = None
    """Size of the terms a correct formula cancels, per example (see compare)."""

    @property
    def vmap_axes(self) -> tuple[int | None, ...]:
        """in_axes for jax.vmap over a leading batch axis: the network maps x and y, not params."""
        if self.layout == "network":
            return (None,) + (0,) * (len(self.args) - 1)
        return (0,) * len(self.args)

    @property
    def signature(self) -> str:
        """The contract's signature, for messages: "huber_grad(pred, target, delta=1.0)"."""
        extra = ", delta=1.0" if self.name.startswith("huber") else ""
        return f"{self.name}({', '.join(self.args)}{extra})"

    @property
    def batch_polymorphic(self) -> bool:
        """True when the function itself accepts any leading batch axes."""
        return self.layout != "network"

    @property
    def is_gradient(self) -> bool:
        return self.of is not None


def _activation(name: str, kink: Kink | None = None) -> tuple[Entry, Entry]:
    fams: tuple[Family, ...] = (
        families.normal(()),
        families.normal((7,)),
        families.normal((3, 5, 4)),
        families.wide(),
        families.extreme(),
    )
    if kink is not None:
        fams += (families.relu_kink(),)
    value = Entry(name, getattr(activations, name), ("x",), "elementwise", fams, ALL_DTYPES)
    grad = Entry(
        f"{name}_grad",
        getattr(activations, f"{name}_grad"),
        ("x",),
        "elementwise",
        fams,
        ALL_DTYPES,
        kink=kink,
        of=name,
    )
    return value, grad


def _inverse_norm(args: tuple[Any, ...]) -> np.ndarray:
    # Both terms of the cosine gradient are of size 1/|a| per element.
    return 1.0 / np.linalg.norm(np.asarray(args[0], np.float64), axis=-1, keepdims=True)


def _cotangent_size(args: tuple[Any, ...]) -> np.ndarray:
    # s * (g - <g, s>): the two terms are at most max|g| per element.
    return np.max(np.abs(np.asarray(args[1], np.float64)), axis=-1, keepdims=True)


def _loss(
    name: str,
    fams: tuple[Family, ...],
    kink: Kink | None = None,
    term_scale: Callable[[tuple[Any, ...]], np.ndarray] | None = None,
) -> tuple[Entry, Entry]:
    value = Entry(name, getattr(losses, name), ("pred", "target"), "last_axis", fams)
    grad = Entry(
        f"{name}_grad",
        getattr(losses, f"{name}_grad"),
        ("pred", "target"),
        "last_axis",
        fams,
        kink=kink,
        of=name,
        term_scale=term_scale,
    )
    return value, grad


_SOFTMAX = families.softmax_families(with_g=False)
_NETWORK = families.network_families()

CATALOG: tuple[Entry, ...] = (
    *_activation("sigmoid"),
    *_activation("tanh"),
    *_activation("relu", kink=RELU),
    Entry("softmax", softmax.softmax, ("x",), "last_axis", _SOFTMAX),
    Entry("softmax_jacobian", softmax.softmax_jacobian, ("x",), "last_axis", _SOFTMAX, of="softmax"),
    Entry(
        "softmax_vjp",
        softmax.softmax_vjp,
        ("x", "g"),
        "last_axis",
        families.softmax_families(with_g=True),
        of="softmax",
        term_scale=_cotangent_size,
    ),
    *_loss("cross_entropy", families.cross_entropy_families()),
    *_loss(
        "l2", (*families.regression_families(), families.pairs("ties", families.ties, "a = y at half the elements"))
    ),
    *_loss("l1", (*families.regression_families(), families.pairs("ties", families.ties, "a = y (the kink)")), kink=L1),
    *_loss("hinge", families.hinge_families(), kink=HINGE),
    *_loss("huber", families.huber_families()),
    *_loss("cosine_similarity", families.cosine_families(), term_scale=_inverse_norm),
    Entry("two_layer_forward", network.two_layer_forward, ("params", "x"), "network", _NETWORK),
    Entry("two_layer_loss", network.two_layer_loss, ("params", "x", "y"), "network", _NETWORK),
    Entry(
        "two_layer_grads",
        network.two_layer_grads,
        ("params", "x", "y"),
        "network",
        _NETWORK,
        of="two_layer_loss",
    ),
)

BY_NAME: dict[str, Entry] = {e.name: e for e in CATALOG}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def entry(name: str) -> Entry:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a contract function; known: {', '.join(NAMES)}") from None
