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
from reference.keywords import call_keywords, shown
from reference.kinks import HINGE, L1, RELU, Kink
from reference.names import KEYWORDS
from reference.tolerances import TOLERANCES, Tolerance

Layout = Literal["elementwise", "last_axis", "network"]
"""How outputs line up with inputs: element for element; one row (last axis) per
example; or one network example (params, x, y) at a time."""

ALL_DTYPES = ("float32", "float64", "float16", "bfloat16")
"""Every function is checked in every dtype: the contract says each returns its input's dtype."""


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
    cancelled: Callable[[tuple[Any, ...]], Any] | None = None
    """Size of terms a correct formula may cancel where the sensitivity S does not see them,
    per element of the output (a tree shaped like the output, or None for none), given one
    example's float64 arguments; added to S (reference/tolerances.py). Set for the contract's
    own forms that cancel where S is small (the *_terms functions below), and by
    handgrad.verify from its truth's own rounding R (reference/rounding.py)."""
    floor_follows_input: bool = False
    """The absolute floor (atol) shrinks with |x| below 1, element by element
    (reference/tolerances.py, input_floor): for activations, whose values near 0 are of
    the order of x, a form that cancels there (tanh as 2 sigmoid(2x) - 1) is off by far more
    than rounding of x explains, which a fixed floor of 1e-6 hid."""
    floor_follows_truth: bool = False
    """The absolute floor (atol) follows the truth's own scale, output by output
    (reference/tolerances.py, truth_floor): handgrad.verify's functions come in any units; a
    gradient of 1e-13 sum(sin x) with the wrong sign was inside float64's fixed 1e-12, and a
    rule within the floor for f failed for 1000 f."""
    tiers: Mapping[str, Tier] = field(default_factory=dict)
    """The tier of each family (by name) that is not `derivation` (reference/families.py,
    Tier); `families` carry it once the entry is built. `stability` is what the contract
    states (docs/contract.md, "Stability"): activations, softmax and the losses finite and
    accurate for inputs up to 1e4 in magnitude. `extreme` is beyond it: reported, and counted
    only with --strict or a rubric weight. Naming a family the entry does not draw is an error."""

    def __post_init__(self) -> None:
        unknown = set(self.tiers) - {f.name for f in self.families}
        if unknown:
            raise ValueError(f"{self.name}: tiers names families that do not exist: {sorted(unknown)}")
        tiered = tuple(
            f if self.tiers.get(f.name, f.tier) == f.tier else dataclasses.replace(f, tier=self.tiers[f.name])
            for f in self.families
        )
        object.__setattr__(self, "families", tiered)

    @property
    def vmap_axes(self) -> tuple[int | None, ...]:
        """in_axes for jax.vmap over a leading batch axis: the network maps x and y, not params."""
        if self.layout == "network":
            return (None,) + (0,) * (len(self.args) - 1)
        return (0,) * len(self.args)

    @property
    def signature(self) -> str:
        """The contract's signature, for messages: "huber_grad(pred, target, delta=1.0)"."""
        keyword = KEYWORDS.get(self.name)
        extra = f", {keyword[0]}={keyword[2]}" if keyword else ""
        return f"{self.name}({', '.join(self.args)}{extra})"

    def called_with(self, kwargs: Mapping[str, Any], by_position: bool = False) -> str:
        """The call a case made, for failure headers: the signature with the keywords the case
        really used, by name or by position as passed ("huber_grad(pred, target, delta=0.5)",
        "huber_grad(pred, target, 0.5)"), the contract's defaults otherwise."""
        if not kwargs:
            return self.signature
        given = ", ".join(shown(call_keywords(self.name, kwargs, by_position)))
        return f"{self.name}({', '.join(self.args)}, {given})"

    @property
    def batch_polymorphic(self) -> bool:
        """True when the function itself accepts any leading batch axes."""
        return self.layout != "network"

    @property
    def is_gradient(self) -> bool:
        return self.of is not None


def _activation(
    name: str, summary: str, grad_summary: str, tiers: Mapping[str, Tier], kink: Kink | None = None
) -> tuple[Entry, Entry]:
    """An activation and its derivative: elementwise, on the same families."""
    fams: tuple[Family, ...] = (
        families.normal(()),
        families.normal((7,)),
        families.normal((3, 5, 4)),
        families.small(),
        families.wide(),
        families.tails(),
        families.extreme(),
    )
    if kink is not None:
        fams += (families.relu_kink(),)
    else:  # (relu's kink family holds 0 and tiny neighbours, judged there by its kink rule)
        fams += (families.landmarks(),)
    value = Entry(
        name, getattr(activations, name), ("x",), "elementwise", fams, summary=summary, tiers=tiers,
        floor_follows_input=True,
    )  # fmt: skip
    grad = dataclasses.replace(
        value, name=f"{name}_grad", reference=getattr(activations, f"{name}_grad"), kink=kink, of=name,
        summary=grad_summary,
    )  # fmt: skip
    return value, grad


def _loss(
    name: str,
    fams: tuple[Family, ...],
    summary: str,
    grad_summary: str,
    tiers: Mapping[str, Tier],
    kink: Kink | None = None,
    cancelled: Callable[[tuple[Any, ...]], np.ndarray] | None = None,
    grad_cancelled: Callable[[tuple[Any, ...]], np.ndarray] | None = None,
) -> tuple[Entry, Entry]:
    """A loss over the last axis, loss(pred, target), and its gradient in pred."""
    value = Entry(
        name, getattr(losses, name), ("pred", "target"), "last_axis", fams, summary=summary, cancelled=cancelled,
        tiers=tiers,
    )  # fmt: skip
    grad = dataclasses.replace(
        value, name=f"{name}_grad", reference=getattr(losses, f"{name}_grad"), kink=kink, of=name,
        summary=grad_summary, cancelled=grad_cancelled,
    )  # fmt: skip
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


STABLE_WIDE_EXTREME: Mapping[str, Tier] = {"wide": "stability", "extreme": "stability"}
"""The contract's stability promise for most functions: its wide and extreme families."""
_ACTIVATION_TIERS: Mapping[str, Tier] = {**STABLE_WIDE_EXTREME, "tails": "stability"}
_SOFTMAX_TIERS: Mapping[str, Tier] = {**STABLE_WIDE_EXTREME, "ties": "stability", "row-large": "stability"}
_NETWORK_TIERS: Mapping[str, Tier] = {
    "net-5x4x3-saturated": "stability",
    "net-saturated-hidden": "stability",
    "net-saturated-output": "stability",
}
_SOFTMAX = families.softmax_families(with_g=False)
_NETWORK = families.network_families()
_REGRESSION = families.regression_families()

CATALOG: tuple[Entry, ...] = (
    *_activation(
        "sigmoid",
        "s(x) = 1 / (1 + e^-x), elementwise.",
        "s'(x) = s(x) (1 - s(x)), elementwise.",
        _ACTIVATION_TIERS,
    ),
    *_activation(
        "tanh",
        "tanh x = (e^x - e^-x) / (e^x + e^-x), elementwise.",
        "tanh'(x) = 1 - tanh(x)^2, elementwise.",
        _ACTIVATION_TIERS,
    ),
    *_activation(
        "relu",
        "max(x, 0), elementwise.",
        "1 where x > 0, 0 where x < 0; at x = 0 any value in [0, 1] (convention 0).",
        _ACTIVATION_TIERS,
        kink=RELU,
    ),
    Entry(
        "softmax",
        softmax.softmax,
        ("x",),
        "last_axis",
        _SOFTMAX,
        summary="s_i = e^{x_i} / sum_j e^{x_j} over the last axis; shape kept.",
        tiers=_SOFTMAX_TIERS,
    ),
    Entry(
        "softmax_jacobian",
        softmax.softmax_jacobian,
        ("x",),
        "last_axis",
        _SOFTMAX,
        of="softmax",
        summary="J[..., i, j] = ds_i/dx_j = s_i (delta_ij - s_j); shape (..., n, n).",
        tiers=_SOFTMAX_TIERS,
    ),
    Entry(
        "softmax_vjp",
        softmax.softmax_vjp,
        ("x", "g"),
        "last_axis",
        families.softmax_families(with_g=True),
        of="softmax",
        summary="g @ J without building J: s * (g - sum(g * s)) over the last axis; shape of x.",
        cancelled=_softmax_vjp_terms,
        tiers=_SOFTMAX_TIERS,
    ),
    *_loss(
        "cross_entropy",
        families.cross_entropy_families(),
        "-sum_i y_i log softmax(z)_i over the last axis (y one-hot or any non-negative weights).",
        "softmax(z) * sum(y) - y (= softmax(z) - y only when y sums to 1).",
        {**STABLE_WIDE_EXTREME, "row-large": "stability"},
        cancelled=_cross_entropy_terms,
    ),
    *_loss(
        "l2",
        (
            *_REGRESSION,
            families.pairs("ties", families.ties, "a = y at half the elements"),
            families.full_precision(families.pairs("offset", families.offset, "a and y near 1e3, |a - y| of order 1")),
        ),
        "sum_i (a_i - y_i)^2 over the last axis.",
        "2 (a - y).",
        {**STABLE_WIDE_EXTREME, "offset": "stability"},
    ),
    *_loss(
        "l1",
        (
            *_REGRESSION,
            families.pairs("ties", families.ties, "a = y (the kink)"),
            families.float64_only(families.pairs("near-ties", families.near_ties, "0 < |a - y| < 1e-3")),
            families.pairs("ulp-ties", families.ulp_ties, "a one unit in the last place of each dtype from y"),
        ),
        "sum_i |a_i - y_i| over the last axis.",
        "sign(a - y); where a_i = y_i any value in [-1, 1] (convention 0).",
        STABLE_WIDE_EXTREME,
        kink=L1,
    ),
    *_loss(
        "hinge",
        families.hinge_families(),
        "max(0, 1 - <y, a>) over the last axis; y one-hot or +-1.",
        "-y where <y, a> < 1, else 0; at <y, a> = 1 any t (-y), t in [0, 1] (convention 0).",
        {"extreme": "stability"},
        kink=HINGE,
    ),
    *_loss(
        "huber",
        families.huber_families(),
        "mean_i of 0.5 r_i^2 if |r_i| <= delta else delta (|r_i| - delta / 2), r = a - y.",
        "clip(a - y, -delta, delta) / n.",
        {"wide": "stability", "offset": "stability"},
    ),
    *_loss(
        "cosine_similarity",
        families.cosine_families(),
        "<a, y> / (|a| |y|) over the last axis (Euclidean norms).",
        "y / (|a| |y|) - cos(a, y) a / |a|^2.",
        {**STABLE_WIDE_EXTREME, "far-scales": "extreme"},
        grad_cancelled=_cosine_grad_terms,
    ),
    Entry(
        "two_layer_forward",
        network.two_layer_forward,
        ("params", "x"),
        "network",
        _NETWORK,
        summary="sigmoid(sigmoid(x @ W1 + b1) @ W2 + b2), shape (d_out,); x of shape (d_in,).",
        tiers=_NETWORK_TIERS,
    ),
    Entry(
        "two_layer_loss",
        network.two_layer_loss,
        ("params", "x", "y"),
        "network",
        _NETWORK,
        summary="sum_k (two_layer_forward(params, x)_k - y_k)^2, a scalar.",
        tiers=_NETWORK_TIERS,
    ),
    Entry(
        "two_layer_grads",
        network.two_layer_grads,
        ("params", "x", "y"),
        "network",
        _NETWORK,
        of="two_layer_loss",
        summary="the gradient of two_layer_loss w.r.t. params by backpropagation: a dict like params.",
        tiers=_NETWORK_TIERS,
    ),
)

BY_NAME: dict[str, Entry] = {e.name: e for e in CATALOG}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def entry(name: str) -> Entry:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a contract function; known: {', '.join(NAMES)}") from None
