"""The catalog: the single list of every contract function and how to check it.

For each function it says: its reference (autodiff of an independent forward), the
input families it is checked on, the dtypes, the kink rule with its valid
subgradients, and the tolerance per dtype. Tests, `handgrad check`, the grader and
the benchmarks all iterate over CATALOG; adding a formula means adding an entry here
(and its hand-written code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from reference import activations, families, losses, network, softmax
from reference.families import Family, Tier
from reference.kinks import HINGE, L1, RELU, Kink
from reference.tolerances import TOLERANCES, Tolerance

Layout = Literal["elementwise", "last_axis", "network"]
"""How outputs line up with inputs: element for element; one row (last axis) per
example; or one network example (params, x, y) at a time."""

ALL_DTYPES = ("float32", "float64", "float16", "bfloat16")
"""Every function is checked in every dtype: the contract says each returns its input's dtype."""

TIERS: dict[str, dict[str, Tier]] = {
    # group: {family name: tier}; a family not listed is `derivation` (ordinary inputs).
    # `stability` is what the contract states (docs/contract.md, "Stability"): activations,
    # softmax and the losses finite and accurate for inputs up to 1e4 in magnitude.
    # `extreme` is beyond it: reported, and counted only with --strict or a rubric weight.
    "activation": {"wide": "stability", "extreme": "stability"},
    "softmax": {"wide": "stability", "extreme": "stability", "ties": "stability", "row-large": "stability"},
    "cross_entropy": {"wide": "stability", "extreme": "stability", "row-large": "stability"},
    "regression": {"wide": "stability", "extreme": "stability"},
    "l2": {"wide": "stability", "extreme": "stability", "offset": "stability"},
    "hinge": {"extreme": "stability"},
    "huber": {"wide": "stability", "offset": "stability"},
    "cosine_similarity": {"wide": "stability", "extreme": "stability", "far-scales": "extreme"},
    "network": {"net-5x4x3-saturated": "stability", "net-saturated-hidden": "stability"},
}


def tiered(group: str, fams: tuple[Family, ...]) -> tuple[Family, ...]:
    """The families with the tier TIERS gives them in `group`."""
    table = TIERS[group]
    unknown = set(table) - {f.name for f in fams}
    if unknown:
        raise ValueError(f"TIERS[{group!r}] names families that do not exist: {sorted(unknown)}")
    return tuple(dataclasses.replace(f, tier=table.get(f.name, "derivation")) for f in fams)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per function
class Entry:
    name: str
    reference: Callable[..., Any]
    args: tuple[str, ...]
    """Positional argument names of the contract signature; families may draw more
    (the network's families draw (params, x, y); the forward takes the first two)."""
    layout: Layout
    families: tuple[Family, ...]
    dtypes: tuple[str, ...] = ALL_DTYPES
    kink: Kink | None = None
    tolerance: Mapping[str, Tolerance] = field(default_factory=lambda: TOLERANCES)
    of: str | None = None
    """For a derivative: the catalog name of the function it differentiates."""
    summary: str = ""
    """The contract's one-line math, for the starter file and docs/contract.md."""
    cancelled: Callable[[tuple[Any, ...]], np.ndarray] | None = None
    """Size of terms a correct formula may cancel where the sensitivity S does not see them,
    per element of the output; added to S (reference/tolerances.py). See CANCELLED: the
    contract's own forms that cancel where S is small."""
    floor_follows_input: bool = False
    """The absolute floor (atol) shrinks with |x| below 1, element by element
    (reference/tolerances.py, input_floor): for activations, whose values near 0 are of
    the order of x, a form that cancels there (tanh as 2 sigmoid(2x) - 1) is off by far more
    than rounding of x explains, which a fixed floor of 1e-6 hid."""

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

    def called_with(self, kwargs: Mapping[str, Any]) -> str:
        """The call a case made, for failure headers: the signature with the keywords the case
        really used ("huber_grad(pred, target, delta=0.5)"), the contract's defaults otherwise."""
        if not kwargs:
            return self.signature
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        return f"{self.name}({', '.join(self.args)}, {given})"

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
        families.small(),
        families.wide(),
        families.extreme(),
    )
    if kink is not None:
        fams += (families.relu_kink(),)
    fams = tiered("activation", fams)
    value = Entry(
        name, getattr(activations, name), ("x",), "elementwise", fams, summary=SUMMARIES[name], floor_follows_input=True
    )
    grad = Entry(
        f"{name}_grad",
        getattr(activations, f"{name}_grad"),
        ("x",),
        "elementwise",
        fams,
        kink=kink,
        of=name,
        summary=SUMMARIES[f"{name}_grad"],
        cancelled=CANCELLED.get(f"{name}_grad"),
        floor_follows_input=True,
    )
    return value, grad


def _cross_entropy_terms(args: tuple[Any, ...]) -> np.ndarray:
    # logsumexp(z) * sum(y) - <y, z> is the textbook form: stable, but its two terms cancel
    # when the target sits on a dominant logit (a loss of 1e-6 from terms of 50). Its
    # rounding is eps times the terms, which S (the loss's slope, ~1e-6) does not see.
    z, y = (np.asarray(a, np.float64) for a in args[:2])
    m = np.max(z, axis=-1, keepdims=True)
    lse = (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]
    return np.abs(lse * np.sum(y, axis=-1)) + np.sum(np.abs(y * z), axis=-1)


def _softmax_vjp_terms(args: tuple[Any, ...]) -> np.ndarray:
    # s * (g - <g, s>) is the contract's own form (and autodiff's): g_i - <g, s> cancels where
    # s is nearly one-hot (s_0 ~ 1: g_0 - <g, s> = sum_j s_j (g_0 - g_j) is small), and its
    # rounding, eps (|g_i| + sum |g_j s_j|), does not move with x or g, so S does not see it.
    x, g = (np.asarray(a, np.float64) for a in args[:2])
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    return s * (np.abs(g) + np.sum(np.abs(g * s), axis=-1, keepdims=True))


def _cosine_grad_terms(args: tuple[Any, ...]) -> np.ndarray:
    # y/(|a||y|) - cos a/|a|^2 is the contract's own form: its two terms cancel where a and y
    # are (anti)parallel, and <a, y>/|a|^2 carries the rounding of two n-term sums, about
    # n eps, into a term as large as y/(|a||y|) itself. S sees only part of that.
    a, y = (np.asarray(v, np.float64) for v in args[:2])
    na = np.sqrt(np.sum(a * a, axis=-1, keepdims=True))
    ny = np.sqrt(np.sum(y * y, axis=-1, keepdims=True))
    cos = np.sum(a * y, axis=-1, keepdims=True) / (na * ny)
    return (np.abs(y) / (na * ny) + np.abs(cos * a) / (na * na)) * a.shape[-1]


CANCELLED: dict[str, Callable[[tuple[Any, ...]], np.ndarray]] = {
    "cross_entropy": _cross_entropy_terms,
    "softmax_vjp": _softmax_vjp_terms,
    "cosine_similarity_grad": _cosine_grad_terms,
}
"""The contract's own forms that cancel where S is small, and the size of what they cancel."""


def _loss(name: str, fams: tuple[Family, ...], group: str, kink: Kink | None = None) -> tuple[Entry, Entry]:
    fams = tiered(group, fams)
    value = Entry(
        name,
        getattr(losses, name),
        ("pred", "target"),
        "last_axis",
        fams,
        summary=SUMMARIES[name],
        cancelled=CANCELLED.get(name),
    )
    grad = Entry(
        f"{name}_grad",
        getattr(losses, f"{name}_grad"),
        ("pred", "target"),
        "last_axis",
        fams,
        kink=kink,
        of=name,
        summary=SUMMARIES[f"{name}_grad"],
        cancelled=CANCELLED.get(f"{name}_grad"),
    )
    return value, grad


SUMMARIES: dict[str, str] = {
    "sigmoid": "s(x) = 1 / (1 + e^-x), elementwise.",
    "sigmoid_grad": "s'(x) = s(x) (1 - s(x)), elementwise.",
    "tanh": "tanh x = (e^x - e^-x) / (e^x + e^-x), elementwise.",
    "tanh_grad": "tanh'(x) = 1 - tanh(x)^2, elementwise.",
    "relu": "max(x, 0), elementwise.",
    "relu_grad": "1 where x > 0, 0 where x < 0; at x = 0 any value in [0, 1] (convention 0).",
    "softmax": "s_i = e^{x_i} / sum_j e^{x_j} over the last axis; shape kept.",
    "softmax_jacobian": "J[..., i, j] = ds_i/dx_j = s_i (delta_ij - s_j); shape (..., n, n).",
    "softmax_vjp": "g @ J without building J: s * (g - sum(g * s)) over the last axis; shape of x.",
    "cross_entropy": "-sum_i y_i log softmax(z)_i over the last axis (y one-hot or any non-negative weights).",
    "cross_entropy_grad": "softmax(z) * sum(y) - y (= softmax(z) - y only when y sums to 1).",
    "l2": "sum_i (a_i - y_i)^2 over the last axis.",
    "l2_grad": "2 (a - y).",
    "l1": "sum_i |a_i - y_i| over the last axis.",
    "l1_grad": "sign(a - y); where a_i = y_i any value in [-1, 1] (convention 0).",
    "hinge": "max(0, 1 - <y, a>) over the last axis; y one-hot or +-1.",
    "hinge_grad": "-y where <y, a> < 1, else 0; at <y, a> = 1 any t (-y), t in [0, 1] (convention 0).",
    "huber": "mean_i of 0.5 r_i^2 if |r_i| <= delta else delta (|r_i| - delta / 2), r = a - y.",
    "huber_grad": "clip(a - y, -delta, delta) / n.",
    "cosine_similarity": "<a, y> / (|a| |y|) over the last axis (Euclidean norms).",
    "cosine_similarity_grad": "y / (|a| |y|) - cos(a, y) a / |a|^2.",
    "two_layer_forward": "sigmoid(sigmoid(x @ W1 + b1) @ W2 + b2), shape (d_out,); x of shape (d_in,).",
    "two_layer_loss": "sum_k (two_layer_forward(params, x)_k - y_k)^2, a scalar.",
    "two_layer_grads": "the gradient of two_layer_loss w.r.t. params by backpropagation: a dict like params.",
}


_SOFTMAX = tiered("softmax", families.softmax_families(with_g=False))
_NETWORK = tiered("network", families.network_families())
_REGRESSION = families.regression_families()

CATALOG: tuple[Entry, ...] = (
    *_activation("sigmoid"),
    *_activation("tanh"),
    *_activation("relu", kink=RELU),
    Entry("softmax", softmax.softmax, ("x",), "last_axis", _SOFTMAX, summary=SUMMARIES["softmax"]),
    Entry(
        "softmax_jacobian",
        softmax.softmax_jacobian,
        ("x",),
        "last_axis",
        _SOFTMAX,
        of="softmax",
        summary=SUMMARIES["softmax_jacobian"],
    ),
    Entry(
        "softmax_vjp",
        softmax.softmax_vjp,
        ("x", "g"),
        "last_axis",
        tiered("softmax", families.softmax_families(with_g=True)),
        of="softmax",
        summary=SUMMARIES["softmax_vjp"],
        cancelled=CANCELLED["softmax_vjp"],
    ),
    *_loss("cross_entropy", families.cross_entropy_families(), "cross_entropy"),
    *_loss(
        "l2",
        (
            *_REGRESSION,
            families.pairs("ties", families.ties, "a = y at half the elements"),
            families.full_precision(families.pairs("offset", families.offset, "a and y near 1e3, |a - y| of order 1")),
        ),
        "l2",
    ),
    *_loss(
        "l1",
        (
            *_REGRESSION,
            families.pairs("ties", families.ties, "a = y (the kink)"),
            families.float64_only(families.pairs("near-ties", families.near_ties, "0 < |a - y| < 1e-3")),
        ),
        "regression",
        kink=L1,
    ),
    *_loss("hinge", families.hinge_families(), "hinge", kink=HINGE),
    *_loss("huber", families.huber_families(), "huber"),
    *_loss("cosine_similarity", families.cosine_families(), "cosine_similarity"),
    Entry(
        "two_layer_forward",
        network.two_layer_forward,
        ("params", "x"),
        "network",
        _NETWORK,
        summary=SUMMARIES["two_layer_forward"],
    ),
    Entry(
        "two_layer_loss",
        network.two_layer_loss,
        ("params", "x", "y"),
        "network",
        _NETWORK,
        summary=SUMMARIES["two_layer_loss"],
    ),
    Entry(
        "two_layer_grads",
        network.two_layer_grads,
        ("params", "x", "y"),
        "network",
        _NETWORK,
        of="two_layer_loss",
        summary=SUMMARIES["two_layer_grads"],
    ),
)

BY_NAME: dict[str, Entry] = {e.name: e for e in CATALOG}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def entry(name: str) -> Entry:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a contract function; known: {', '.join(NAMES)}") from None
