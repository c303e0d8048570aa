"""Guess the likely mistake behind a failed case from the shape of its error.

A hint is a short sentence for a student. It is only a guess, offered when the error
has a recognisable form: a constant factor (2, 1/2, n, 1/n, -1), a lost sign, a
transposed matrix or a reshape where a transpose was meant, a reduction over the wrong
axes, an epsilon added to a denominator, a target assumed to sum to 1, NaN/inf only at
extreme inputs, a wrong dtype, Python control flow under jit, a pure_callback that
cannot be batched, code that only handles one example. State kept between calls is
found by the grader (grading/grader.py), which sees more than one call.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from handgrad.results import CaseResult

TRACER_ERRORS = (
    "TracerBoolConversionError",
    "ConcretizationTypeError",
    "TracerArrayConversionError",
    "TracerIntegerConversionError",
    "UnexpectedTracerError",
)


SIGNATURE_ERRORS = ("positional argument", "unexpected keyword argument", "required keyword-only argument")
"""How Python says a call did not fit the function's parameters."""


def _beyond_ordinary(result: CaseResult) -> bool:
    """A check of the stability or extreme tier (large or extreme inputs), not a derivation one."""
    return result.case.family.tier != "derivation"


def _spread(result: CaseResult) -> float:
    """How much a constant ratio may wobble from rounding in the case's dtype."""
    return max(2e-3, 4 * result.case.entry.tolerance[result.case.dtype].eps)


LIBRARY_WORDS = (
    ("the contract's formula has no epsilon", "the true derivative has no epsilon"),
    ("the contract allows", "the reference allows"),
    ("the contract's name", "the name it was given"),
    ("the contract's shape", "the reference's shape"),
    ("the contract's", "the reference's"),
    ("where the contract sums", "where the reference sums"),
    ("the contract", "the reference"),
)
"""How a hint reads for handgrad.verify, on an engineer's own function: there is no contract
there, only the reference it is checked against (first match first)."""


SIGMOID_BASED = frozenset({"sigmoid", "sigmoid_grad", "two_layer_forward", "two_layer_loss", "two_layer_grads"})
"""Contract functions a student computes with a sigmoid."""
ZERO_WHOLE = "zero where the value is not: a missing term"


def _underflow_example(result: CaseResult) -> str:
    """The common underflow, where the function is computed with a sigmoid in float16."""
    if result.case.dtype == "float16" and result.case.entry.name in SIGMOID_BASED:
        return " (in float16 jax.nn.sigmoid(-x), 1 / (1 + e^x), is 0 from x = 11.1 on: e^x overflows)"
    return ""


def hint_for(result: CaseResult, want: Any, got: Any) -> str:
    hint = _hint_for(result, want, got)
    if hint == ZERO_WHOLE and result.case.dtype in ("float16", "bfloat16") and _beyond_ordinary(result):
        # Zero throughout at the extreme inputs of a low precision: an underflow, more likely than
        # a term left out that the ordinary inputs would have shown.
        hint = f"zero where the value is not: an intermediate underflows to 0 here{_underflow_example(result)}"
    if not _contract_function(result):  # the library API's own function
        for contract, library in LIBRARY_WORDS:
            hint = hint.replace(contract, library)
    return hint


def _hint_for(result: CaseResult, want: Any, got: Any) -> str:
    if result.error_kind:
        return _error_hint(result)
    comparison = result.comparison
    if comparison is None or comparison.ok:
        return ""
    problem = comparison.problem
    if problem == "dtype":
        return (
            "wrong dtype: the formula must return the dtype it was given; look for an array made without "
            "dtype= (jnp.eye(n), jnp.zeros, jnp.ones, jnp.arange, jnp.full: float64 where float64 is on, as in "
            "these checks, float32 elsewhere; pass dtype=x.dtype), a hard-coded dtype (astype, jnp.float32(...), "
            "np.float64 constants) or a boolean/integer result"
        )
    if problem == "structure":
        if isinstance(want, Mapping) and isinstance(got, Mapping):
            return f"the dict's keys must be exactly {', '.join(want)} (names are case-sensitive)"
        return "returns the wrong kind of value: an array (a dict with keys W1, b1, W2, b2 for the network)"
    leaf = comparison.leaf
    want_leaf = _leaf(want, leaf)
    got_leaf = _leaf(got, leaf)
    if problem == "shape":
        return _shape_hint(result, np.shape(want_leaf), np.shape(got_leaf))
    if problem == "nonfinite":
        worst = comparison.worst
        if worst is not None and worst.at_kink and not np.isfinite(worst.got):
            return (
                "NaN/inf at a kink: something divides by zero there (d / |d|, or an added epsilon too small "
                "for the dtype: 1e-12 is 0 in float16)"
            )
        if worst is not None and np.isfinite(worst.got) and np.isinf(worst.expected):
            # Not an overflow of the formula's: the truth itself is past the dtype's range.
            return (
                f"expected inf, as the exact value is past {result.case.dtype}'s range here, and a finite number "
                "came back: the formula computes less than the contract's value (a lost factor, a mean where "
                "the contract sums?) or clamps its result"
            )
        if worst is not None and np.isnan(worst.got) and np.isinf(worst.expected):
            # (not "a division by zero at ordinary inputs": a red team's trace(expm(A)) in float32;
            # where jax.grad itself gives NaN too, verify does not compare it: OwnRounding)
            return (
                f"NaN where the exact value is past {result.case.dtype}'s range (inf): an overflowed intermediate "
                "met another (inf - inf, inf / inf, 0 * inf) where the value rounds to inf. Keep the intermediates in "
                "range (a shift, a scale), or check in a wider dtype"
            )
        if result.case.family.name in ("far-magnitudes", "far-scales"):
            return (
                "NaN/inf where the inputs' squares overflow or underflow the dtype (1e21 or 1e-21 in float32): a "
                "norm or a variance computed from x * x; divide by max |x| first, then square"
            )
        if result.case.family.name in SHIFTED_FAMILIES:  # (a sqrt of a variance that cancelled to <= 0)
            return (
                "NaN/inf where the inputs sit far from 0 with differences of order 1: an expanded square cancelled "
                "to 0 or below (the sqrt or log of mean(x^2) - mean(x)^2?), or an exp of the large values overflowed"
            )
        # (float16's range ends sooner: e^(2x) overflows past x = 5.5, where a red team's tanh at
        # x = 8.75 was told "a division by zero")
        large = FLOAT16_EXP2_OVERFLOW if result.case.dtype == "float16" else LARGE_INPUT
        # (the worst element's own inputs may be small where others feed it; not for a contract
        # activation, whose element depends on its own input alone)
        own_input_alone = _contract_function(result) and result.case.entry.layout == "elementwise"
        drawn_large = result.case.family.name in LARGE_FAMILIES and not own_input_alone
        if (
            _has_large_input(result, large)
            or drawn_large
            or (_beyond_ordinary(result) and not _ordinary_inputs(result))
        ):
            return (
                "NaN/inf only at extreme inputs: an unstable form overflows (exp of a large number, "
                "inf/inf, log of an underflowed probability); rewrite it in a stable form"
            )
        return "NaN/inf at ordinary inputs: a division by zero or the log/sqrt of a non-positive number?"
    with np.errstate(all="ignore"):  # inf and NaN are data here (inf - inf in a comparison), not news
        return _value_hint(result, np.asarray(want_leaf, np.float64), np.asarray(got_leaf, np.float64), leaf)


def _leaf(tree: Any, key: str) -> Any:
    return tree[key] if isinstance(tree, Mapping) and key in tree else tree


def _error_hint(result: CaseResult) -> str:
    kind, text, transform = result.error_kind, result.error, result.case.transform
    if kind == "missing":
        return "the function is not defined at module level with the contract's name"
    if kind == "autodiff":
        return (
            "the formula must be derived by hand: no jax.grad/vjp/jvp/jacrev/jacfwd, other autodiff or "
            "library finite differences (jnp.gradient)"
        )
    if kind == "interface":
        return f"the parameters must take delta as the contract does: {result.case.entry.signature}"
    if kind == "forbidden":
        if "is not a module of your package" in result.error or "is installed here" in result.error:
            return "it imports a file the upload does not hold: add that file, or paste its code into this one"
        return "use only what docs/allowlist.md lists (jax.numpy, listed jax.lax/jax.nn functions, math, ...)"
    if kind == "import":
        return "the file could not be imported: fix the error above (run `python yourfile.py` first)"
    if kind == "timeout":
        return "slow: it did not finish in time (a Python loop over elements, or an endless loop?)"
    if kind == "memory":
        return "out of memory: it allocates far more than the inputs need"
    if kind == "crash":
        return "the process running the submission died (it exited, crashed or was killed)"
    if kind == "device":
        return "the result left the device: NumPy (np.*) or float() inside the formula? use jax.numpy"
    if kind == "bad-return":
        return _bad_return_hint(result)
    if text.startswith("TypeError") and any(w in text for w in SIGNATURE_ERRORS):
        return f"the function's parameters differ from the contract's: it must be {result.case.entry.signature}"
    if text.startswith("TypeError: exceptions must derive from BaseException"):
        return "not implemented yet? `raise NotImplemented` raises a TypeError: write raise NotImplementedError"
    if text.startswith("NotImplementedError: Transpose rule"):  # JAX's own, not a stub's
        return (
            "JAX cannot transpose the rule for reverse mode: a custom_jvp rule's tangent output must be "
            "linear in the tangents (no abs, max, where on them, no tangent times tangent)"
        )
    if text.startswith("NotImplementedError: Differentiation rule for"):
        return "JAX has no derivative rule for an operation in it (the error above names it): not a stub of yours"
    if text.startswith("NotImplementedError"):
        return "not implemented yet: the function still raises NotImplementedError (replace the stub with a formula)"
    if "vmap_method" in text or "callback" in text.lower():
        return (
            "jax.pure_callback (NumPy or Python inside the formula) cannot be batched by vmap without "
            "vmap_method, and is not a JAX formula: write it in jax.numpy"
        )
    traced = any(name in text for name in TRACER_ERRORS)
    if traced and transform == "eager" and "while tracing the function" in text and "Unexpected" not in text:
        # An eager call traced: the formula's own jax.jit (JAX names the traced argument).
        # Only a keyword of the contract (huber's delta) comes as a Python number to be marked
        # static; an array argument must be computed on with jax.numpy instead.
        named = re.search(r"depends on the value of the argument (\w+)", text)
        if named and named[1] in result.kwargs:
            return (
                f"fails under the function's own jax.jit: it traces {named[1]}, a Python number that a Python "
                f"`if` or float() needs: mark it static, static_argnames=('{named[1]}',), or use jnp.where"
            )
        return JIT_HINT
    escaped = transform == "eager" and traced
    if "UnexpectedTracerError" in text or escaped:
        # An eager call never traces: a tracer there was kept from an earlier jit or vmap call.
        return (
            "state kept between calls: a traced value escaped an earlier jit/vmap call through "
            "something stored outside the function (a global, a cache); depend only on the arguments"
        )
    if any(name in text for name in TRACER_ERRORS):
        return JIT_HINT
    if "truth value of an array" in text:
        return "a Python `if` on an array: use jnp.where to choose elementwise"
    if transform == "vmap" or result.case.stacked:
        return (
            "fails on a batch: the code assumes one example "
            "(reduce with axis=-1, keepdims=True; avoid .T, jnp.dot on rows)"
        )
    if "broadcast" in text.lower():  # ((7, 5) against a (7,) sum: the reduced axis dropped)
        return (
            "a shape error: arrays of shapes that do not broadcast; a sum or max over axis=-1 drops that axis, "
            "so dividing or subtracting it from the rows needs keepdims=True (or check .T)"
        )
    if "shape" in text.lower() or "dot_general" in text:
        return "a shape error: the code assumes one example or one layout (reduce with axis=-1; check .T)"
    return "the formula raised an exception"


def _bad_return_hint(result: CaseResult) -> str:
    """The likely slip behind a return value that is not a jax array (see evaluate.returned)."""
    text = result.error
    if text.startswith("changed its argument"):
        return "it updates the caller's dict in place (params[k] = ...): compute the gradients into a new dict"
    if text.startswith("returned NotImplemented"):
        return "not implemented yet: NotImplemented is a value for operators; a stub raises NotImplementedError"
    if text.startswith("returned None"):
        return "no value came back: a `return` is missing (a stub left with `pass` or `...`?)"
    if text.startswith("returned a value the grader cannot receive") and "of dtype" in text:
        return "a dtype no function of the contract returns: keep the input's float dtype (an .astype at the end?)"
    if "NumPy array" in text:
        return "computed with NumPy (np.*): use jax.numpy (jnp.*) so the result is a jax array and runs under jit"
    if "number (" in text:
        return "float(), int() or .item() made a Python number: keep the result a jax array (jnp.*)"
    if result.case.entry.layout == "network" and ("tuple" in text or "list" in text):
        if result.case.entry.of is not None:  # the gradient with respect to params: a dict like params
            return "return a dict with keys W1, b1, W2, b2 (jax arrays), not a tuple or list"
        # The forward and the loss return one array: `return out, h` keeps the hidden layer too.
        return (
            f"{result.case.entry.name} returns one array, not a tuple or list: return the output alone "
            "(`return out, h` hands back the hidden layer too)"
        )
    if "tuple of 1" in text or "list of 1" in text:
        return "the array is wrapped in a tuple or list of one: return the array itself (a stray trailing comma?)"
    return "return a jax array (jnp.*), not a Python number, list, tuple or NumPy array"


def _is_loss(result: CaseResult, want: tuple[int, ...]) -> bool:
    """The function reduces its first argument's last axis (a loss): its shape is that one's, minus it."""
    from handgrad.cases import case_inputs

    args = [a for a in case_inputs(result.case, result.seed).args if not isinstance(a, Mapping)]
    return bool(args) and np.ndim(args[0]) >= 1 and tuple(np.shape(args[0])[:-1]) == tuple(want)


def _shape_hint(result: CaseResult, want: tuple[int, ...], got: tuple[int, ...]) -> str:
    # The last two axes swapped, with or without leading batch axes (a vmap case adds one).
    if len(want) >= 2 and got == (*want[:-2], want[-1], want[-2]) and want[-1] != want[-2]:
        return "transposed: the result has the transposed shape (outer(x, d) vs outer(d, x), or W.T)"
    loss = _is_loss(result, want)
    if len(got) < len(want):
        if loss:
            return "reduces too much: a loss keeps every leading batch axis (sum over axis=-1 only)"
        return f"fewer axes than the contract's shape {want}: a sum or mean too many, or an axis indexed away?"
    if len(got) > len(want):
        if tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1):
            return "an extra axis of size 1: keepdims=True, x[None] or a reshape where the contract has none"
        if loss:
            return "broadcasts where it should reduce, or keeps a reduced axis: use axis=-1 without keepdims for a loss"
        return f"more axes than the contract's shape {want}: an outer product or broadcast where it should not be?"
    if result.case.stacked:
        return "fails on a batch: the code handles only one example or one shape"
    return "wrong shape: the result must have the contract's shape"


LARGE_FAMILIES = ("wide", "overflow")
"""Families drawn for their large values: a NaN there is told as an overflow even where the
worst element's own inputs are small (a red team's attention VJP, NaN at q = -7 from a score
of K's 1e4, was told "a division by zero at ordinary inputs")."""

LARGE_INPUT = 9.0
"""The smallest magnitude the extreme families draw (reference/families.py, EXTREMES)."""

FLOAT16_EXP2_OVERFLOW = 5.5
"""Where e^(2x) passes float16's largest number (ln(65504) / 2 = 5.55): tanh's textbook form."""


def _worst_inputs(result: CaseResult) -> list[np.ndarray]:
    """The array inputs at the worst element (a dict argument, the network's, is left out)."""
    return [np.asarray(v, np.float64) for v in result.inputs_at_worst.values() if not isinstance(v, Mapping)]


def _has_large_input(result: CaseResult, large: float = LARGE_INPUT) -> bool:
    return any(a.size and np.nanmax(np.abs(a)) >= large for a in _worst_inputs(result))


def _ordinary_inputs(result: CaseResult) -> bool:
    """The inputs at the worst element are known and none is extreme: finite, |v| < 9, and
    0 or not tiny (an extreme family's case still draws some ordinary values, x = 0.499)."""
    arrays = _worst_inputs(result)
    if not arrays:
        return False
    for a in arrays:
        m = np.abs(a)
        if not np.all(np.isfinite(a)) or np.any(m >= LARGE_INPUT) or np.any((m > 0) & (m < 1e-6)):
            return False
    return True


def _reduced_size(result: CaseResult) -> int:
    """n of a mean over the last axis: the first array argument's (the target's for the network)."""
    from handgrad.cases import case_inputs

    args = [a for a in case_inputs(result.case, result.seed).args if not isinstance(a, Mapping)]
    return int(np.shape(args[-1])[-1]) if args and np.ndim(args[-1]) else 1


def _input_term(result: CaseResult, diff: np.ndarray) -> str:
    """Name an argument whose multiple the error equals: 'a missing -target term'."""
    from handgrad.cases import case_inputs

    entry = result.case.entry
    for name, arg in zip(entry.args, case_inputs(result.case, result.seed).args, strict=False):
        if isinstance(arg, Mapping) or np.shape(arg) != diff.shape:
            continue
        a = np.asarray(arg, np.float64)
        if not np.any(a):
            continue
        for c, words in (
            (1.0, f"too large by exactly {name}: a missing -{name} term"),
            (-1.0, f"too small by exactly {name}: a missing +{name} term"),
            (2.0, f"too large by exactly 2*{name}: a sign error on a {name} term"),
        ):
            if np.allclose(diff, c * a, rtol=1e-3, atol=1e-6 * max(1.0, float(np.abs(a).max()))):
                return f"the result is {words}?"
    return ""


def _activation_input(result: CaseResult) -> float | None:
    """|x| at the worst element of an activation's check (None for other functions)."""
    x = result.inputs_at_worst.get("x")
    if not result.case.entry.floor_follows_input or x is None or np.size(x) != 1:
        return None
    return abs(float(np.asarray(x, np.float64).ravel()[0]))


def _cancels_near_zero(result: CaseResult) -> str:
    """An activation wrong beyond rounding at a small |x|, where its value is of the order of x
    (the floor follows the input there: reference/tolerances.py, input_floor)."""
    x = _activation_input(result)
    if x is None or not 0 < x < 1e-2:
        return ""
    return (
        "loses its digits near 0: for small |x| the form subtracts nearly equal numbers (e^x - e^-x, "
        "1 - 2/(e^2x + 1), 2 sigmoid(2x) - 1), leaving a rounding error far larger than x's own; "
        "rewrite it so small x keeps its digits (expm1, or a form without that subtraction)"
    )


def _cancels_in_the_tail(result: CaseResult) -> str:
    """An activation off by a rounding error of 1 where its value is far smaller than 1: for |x|
    of a few units its derivative is small, and a form that subtracts from 1 a number near 1
    (4 s (1 - s) with s = sigmoid(2x)) keeps an error the size of 1's rounding, not the value's.
    Told by that size: at most a few of the dtype's eps, yet over 1% of the value (a wrong
    branch there, 2 s^2 off, is off by far less than 1% of it)."""
    comparison = result.comparison
    worst = comparison.worst if comparison is not None else None
    x = _activation_input(result)
    if worst is None or x is None or x < 1 or not abs(worst.expected) < 0.25:
        return ""
    eps = result.case.entry.tolerance[result.case.dtype].eps
    if not 0.01 * abs(worst.expected) < worst.abs_err <= 4 * eps:
        return ""
    if worst.got == 0:  # as 1 - s with s rounded to 1 gives, or a denominator that overflowed to inf
        return (
            "0 in the tail, where the value is small but not 0: an intermediate overflows the dtype (e^(-x) "
            "or its square in a denominator, inf in float16 from |x| ~ 6) or cancels (1 - s with s rounded "
            "to 1); compute the small factor directly (e^(-|x|) / (1 + e^(-|x|))^2, sigmoid(-x))"
        )
    return (
        "loses its digits in the tail: where the value is small (|x| of a few units) the form subtracts "
        "nearly equal numbers (1 - s with s = sigmoid(2x) near 1) and keeps a rounding error of 1, not of "
        "the value; compute the small factor directly (sigmoid(-x) for 1 - sigmoid(x), e^(-2|x|))"
    )


KINK_ADJACENT = ("kink", "near-ties", "ulp-ties")
"""Families whose inputs sit right next to a kink, never on it (reference/families.py)."""


def switch_window(result: CaseResult, want: Any, got: Any) -> tuple[float, float] | None:
    """Where a piecewise derivative is wrong on one stretch of the quantity its branch depends
    on (reference/kinks.py, Switch: x for relu) and right on both sides of it: the open window
    between the nearest right values below and above that stretch (relu's derivative written
    `x > 1`: wrong for 0 < x <= 1, right below 0 and above 1). Elements that share a value of
    the quantity (a hinge example's row) are one point: wrong if any of them is. None where the
    failure is not of that shape: a stretch of fewer than two points, right on one side only, or
    within 1e-6 of the switch point (a tolerance or an epsilon there, which other hints name)."""
    switch = getattr(result.case.entry.kink, "switch", None)
    if switch is None or not isinstance(want, np.ndarray) or not isinstance(got, np.ndarray) or want.shape != got.shape:
        return None
    value = _switch_values(result)
    if value is None or value.shape != want.shape:  # (not the case's own inputs' output)
        return None
    t = value.ravel()
    w, g = want.ravel().astype(np.float64), got.ravel().astype(np.float64)
    finite = np.isfinite(w) & np.isfinite(t)
    scale = max(float(np.max(np.abs(w[finite]), initial=0.0)), 1e-30)
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(g, w, rtol=1e-3, atol=1e-6 * scale)
    points, where = np.unique(t[finite], return_inverse=True)
    bad = np.zeros(points.size, bool)
    np.logical_or.at(bad, where, wrong[finite])
    if bad.sum() < 2:
        return None
    lo, hi = points[bad].min(), points[bad].max()
    if max(abs(lo - switch.at), abs(hi - switch.at)) <= 1e-6 * max(1.0, abs(switch.at)):
        return None  # a tolerance or an epsilon at the kink itself: _zero_beside_the_kink, _added_epsilon
    good = points[~bad]
    if np.any((good > lo) & (good < hi)):
        return None
    below, above = good[good < lo], good[good > hi]
    if not below.size or not above.size:
        return None
    return float(below.max()), float(above.min())


def _switch_values(result: CaseResult) -> np.ndarray | None:
    """The quantity the case's kink switches on (reference/kinks.py, Switch), at the inputs the
    case was drawn with, in float64; None where its kink has none."""
    switch = getattr(result.case.entry.kink, "switch", None)
    if switch is None:
        return None
    from handgrad.cases import case_inputs

    args = tuple(np.asarray(a) for a in case_inputs(result.case, result.seed).args)
    return np.asarray(switch.value(args), np.float64)


def _misplaced_switch(result: CaseResult) -> str:
    """The hint for a check whose switch_window the engine found (engine.run_case sets it
    before it asks for the hint: the window is computed once per check)."""
    switch = getattr(result.case.entry.kink, "switch", None)
    if result.switch_window is None or switch is None:
        return ""
    return (
        f"wrong on one stretch of {switch.name} and right on both sides of it: a branch switches at the wrong "
        f"point (the derivative changes branch where {switch.name} = {switch.at:g}; a threshold elsewhere, or "
        "a comparison the wrong way round?)"
    )


WEAK_HINTS = (
    "zero where the value is not",
    "zero in ",
    "nonzero in ",
    "loses its digits near 0",
    "0 right next to the kink",
    "sign flipped",
    "not a constant factor or a sign",
    "off by a constant factor",
    "close, but",
)
"""Hints drawn from one check's few elements that a misplaced switch, found in another check of
the same function, explains better where this check's worst input lies inside its window."""


def _zero_beside_the_kink(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """0 (the kink's convention) wherever the value is wrong, on inputs next to the kink but not
    on it: the formula treats a neighbourhood of the kink as the kink (`x > 1e-8`, a tie when
    `abs(a - y) < 1e-10`, a margin within 1e-12 of 1)."""
    kink = result.case.entry.kink
    if kink is None or result.case.family.name not in KINK_ADJACENT:
        return ""
    with np.errstate(all="ignore"):
        wrong = ~np.isclose(got, want, rtol=1e-3, atol=0.0)
    if not wrong.any() or not np.all(got[wrong] == 0) or not np.all(np.isfinite(want[wrong])):
        return ""
    return (
        f"0 right next to the kink in {int(wrong.sum())} elements: a threshold or tolerance (x > 1e-8, "
        "abs(a - y) < 1e-10)? Next to the kink the derivative is already the one-sided value; "
        "only the kink itself (x = 0, a = y, a margin of exactly 1) takes the convention"
    )


def _ignores_its_cotangent(
    result: CaseResult, want: np.ndarray, got: np.ndarray, sig: np.ndarray, spread: float
) -> bool:
    """A VJP of a scalar f (verify's check of f's own rule: one cotangent number per example)
    that came back as the gradient at cotangent 1: got * g = want."""
    from handgrad.cases import case_inputs

    entry = result.case.entry
    if "cotangent" not in getattr(entry, "directions", ()):
        return False
    g = np.asarray(case_inputs(result.case, result.seed).args[entry.args.index("cotangent")], np.float64)
    if g.ndim != (1 if result.case.stacked else 0) or g.ndim > want.ndim or np.all(np.abs(g) == 1):
        return False
    scaled = got * g.reshape(g.shape + (1,) * (want.ndim - g.ndim))
    return bool(np.allclose(scaled[sig], want[sig], rtol=max(spread, 1e-6), atol=0))


BRANCH = "a term that should vanish there is left over, or a wrong branch condition (a margin, a threshold)?"

JIT_HINT = (
    "fails under jit: Python control flow or NumPy on traced values (if/float()/np.*); use jnp.where and jax.numpy"
)
"""One hint for the eager check under the function's own jax.jit and for the jit checks: one
cause, told once."""


def _value_hint(result: CaseResult, want: np.ndarray, got: np.ndarray, leaf: str) -> str:
    comparison = result.comparison
    worst = comparison.worst if comparison is not None else None
    if worst is not None and worst.at_kink:
        kink = result.case.entry.kink
        return f"wrong at a kink: {kink.rule}" if kink is not None else "wrong at a kink"
    if want.shape != got.shape:
        return ""
    quantity = _wrong_quantity(result, want, got) if not leaf else ""
    if quantity:
        return quantity
    switched = _misplaced_switch(result) if not leaf else ""
    if switched:
        return switched
    beside = _zero_beside_the_kink(result, want, got)
    if beside:
        return beside
    spread = _spread(result)  # the dtype's rounding: a bfloat16 transpose is one to 0.4%
    if _transposed(want, got, spread):
        return "transposed: the result is the transpose of the right one"
    if _reshaped_transpose(want, got, spread):
        return (
            "reshape where a transpose was meant: the values are the transpose's, laid out row by row "
            "in the original shape (use .T or jnp.swapaxes, not reshape)"
        )
    axis = _wrong_axis(result, want, got) if not leaf else ""
    if axis:
        return axis
    finite = np.isfinite(want) & np.isfinite(got)
    scale = max(float(np.max(np.abs(want[finite]), initial=0.0)), 1e-30)
    sig = finite & (np.abs(want) > 1e-3 * scale)
    wrong = finite & ~np.isclose(got, want, rtol=max(1e-3, spread), atol=1e-6 * scale)  # rounding is not wrong
    if not sig.any():  # the value is 0 throughout (a hinge past its margin): what came back is not
        nonzero = finite & (got != 0)
        if not nonzero.any():
            return ""
        # Counted where it is beyond rounding (within it, -1e-87 for 1e-87 is not "nonzero"); at a
        # one-hot row softmax's Jacobian is 0 throughout, and without diag(s) -1 at i = j only.
        beyond = nonzero & wrong
        on_diagonal = _only_on_the_diagonal(beyond)
        if on_diagonal:
            return on_diagonal
        shown = beyond if beyond.any() else nonzero
        return f"nonzero in {int(shown.sum())} of {int(finite.sum())} elements where it should be 0: {BRANCH}"
    if _ignores_its_cotangent(result, want, got, sig, spread):
        return (
            "the rule ignores its cotangent: right only where the cotangent g is 1, here off by a factor of 1/g "
            "(return g times the gradient)"
        )
    n = _reduced_size(result)
    ratios = got[sig] / want[sig]
    rest = finite & ~sig  # where the value is (nearly) 0
    if np.allclose(ratios, ratios[0], rtol=spread) and _scaled_alike(want[rest], got[rest], float(ratios[0]), scale):
        # With one or two distinct elements any ratio is "constant" (a vmap batch of one example
        # repeated holds one number several times); only name a telling one then.
        distinct = np.unique(want[sig]).size
        c = float(ratios[0])
        # A number the function is called with (Huber's delta) before the combined readings: 0.4
        # at delta = 2.5 over rows of 5 is one missing delta, not "an extra 1/n and a factor 2".
        # Not a power of 2, which reads as well as a factor of its own (2 at delta = 0.5).
        power = 2.0 ** np.round(np.log2(abs(c))) if c else 0.0
        by_option = "" if abs(abs(c) - power) <= spread * power else _option_factor(result, c, spread)
        factor = (
            by_option
            or _per_row_words(result, c, n, spread)
            or _factor_words(
                c,
                n,
                named_only=distinct < 3,
                rel=spread,
                combined=_reduces_rows(result),
                contract=_contract_function(result),
            )
        )
        if factor:
            return factor
    within = _factor_within_allowance(result, want, got, leaf, n)
    if within:
        return within
    negative = sig & (want < 0)
    if negative.any() and np.allclose(got[sig], np.abs(want[sig]), rtol=spread):
        return "lost the sign: an absolute value where a signed difference belongs (2|a-y| instead of 2(a-y))"
    known = _known_form(result, got)
    if known:
        return known
    cancels = _cancels_near_zero(result) or _cancels_in_the_tail(result)
    if cancels:
        return cancels
    epsilon = _added_epsilon(result, want, got)
    if epsilon:
        return epsilon
    flipped = _flipped_term(result, want, got)
    if flipped:
        return flipped
    window = _wrong_on_a_stretch(result, want, got)
    if window:
        return window
    if _off_the_diagonal(sig):  # (a Jacobian that is diagonal by nature keeps "close, but" words)
        on_diagonal = _only_on_the_diagonal(wrong)
        if on_diagonal:
            return on_diagonal
    near = not rest.any() or bool(np.all(np.abs(got[rest] - want[rest]) <= 1e-2 * scale))
    if near and np.allclose(got[sig], want[sig], rtol=1e-2, atol=0):
        rels = np.abs(got[sig] - want[sig]) / np.abs(want[sig])
        rel = float(rels.max())
        off = rels[rels > 1e-3 * rel]
        uniform = rel > 0 and float(off.max()) <= 10 * float(off.min())  # one ratio, not growing where |want| is small
        eps = result.case.entry.tolerance[result.case.dtype].eps
        if uniform and rel > 1e-5 and rel > 100 * eps:
            return (
                f"close, but {rel:.2g} off (relative), far more than {result.case.dtype} rounding: a constant "
                "or coefficient slightly wrong, or one branch of a piecewise formula slightly off"
            )
        if rel > max(FAR_FROM_ROUNDING, 1e3 * eps):  # (tanh' as sech x, not sech^2 x, at small x: 0.5% off)
            return (
                f"close, but up to {rel:.2g} off (relative), far more than any rounding or a float32 intermediate "
                "explains: a term or power slightly wrong, near the right one only at these inputs"
            )
        return (
            "close, but not within the tolerance: the derivation looks right and the arithmetic loses "
            "precision (an added epsilon, a float32 constant or intermediate, a less accurate form)"
        )
    if not leaf:
        term = _input_term(result, got - want)
        if term:
            return term
    on_diagonal = _only_on_the_diagonal(wrong)
    if on_diagonal:
        return on_diagonal
    sub = sig & wrong
    if sub.any() and sub.sum() < sig.sum():
        sub_ratios = got[sub] / want[sub]
        if np.allclose(sub_ratios, sub_ratios[0], rtol=spread, atol=1e-6):
            by_option = _option_factor(result, float(sub_ratios[0]), spread)
            if by_option:
                return f"{by_option}, {_only_some(result, sub, sig)}"
            factor = _factor_words(
                float(sub_ratios[0]),
                n,
                named_only=sub.sum() < 2,
                rel=spread,
                combined=_reduces_rows(result),
                contract=_contract_function(result),
            )
            if factor.startswith("zero"):  # (unless it is also nonzero where the value is 0: no one pattern)
                if not (wrong & rest).any():
                    # (a piecewise formula zero there more likely took the other branch: a hinge's
                    # margin as max(y * a), not <y, a>, was told "a missing term?")
                    why = "a missing term?"
                    if result.case.entry.kink is not None:
                        why = "a missing term, or a wrong branch condition?"
                    return f"zero in {sub.sum()} of {sig.sum()} elements where the value is not: {why}"
                factor = ""
            # At large or extreme inputs an unnamed factor on some elements is more likely a
            # cancellation there (a(1 - a) where a sigmoid saturates) than a branch.
            named = _factor_words(float(sub_ratios[0]), n, named_only=True, rel=spread)
            if factor and (named or not _beyond_ordinary(result)):
                return f"{factor}, {_only_some(result, sub, sig)}"
    if wrong.any() and not (sig & wrong).any():
        return f"nonzero in {int(wrong.sum())} of {int(rest.sum())} elements where it should be 0: {BRANCH}"
    if _beyond_ordinary(result):
        what = "an intermediate overflows, underflows to 0 or cancels"
        return f"inaccurate at extreme inputs: {what}{_underflow_example(result)}; use a stable form"
    if result.case.family.name in SHIFTED_FAMILIES:
        return OFFSET_HINT
    return "not a constant factor or a sign: a term is missing, extra or wrong"


STRETCH_ELEMENTS = 32
"""Elements a check needs before a stretch of wrong ones is evidence: in a 3x3 matrix the
diagonal's three values fall between the others' by chance (a gradient missing its identity)."""


def _wrong_on_a_stretch(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """For verify's functions (the contract's switches are known: _misplaced_switch): the
    elements beyond the allowance are exactly those whose input lies in one stretch [lo, hi],
    with right elements on both sides of it. A softplus rule switching to 1 past x = 15 is off
    by 1e-7 for 15 < x < 21 only, and was told "the arithmetic loses precision"."""
    from handgrad.cases import case_inputs
    from handgrad.engine import case_tolerance  # (engine imports this module)

    if _contract_function(result) or want.size < STRETCH_ELEMENTS:
        return ""
    entry = result.case.entry
    args = case_inputs(result.case, result.seed).args
    found = [(n, a) for n, a in zip(entry.args, args, strict=False) if np.shape(a) == want.shape]
    if not found:
        return ""
    name, x = found[0]
    xs = np.asarray(x, np.float64).ravel()
    w, g = want.ravel(), got.ravel()
    finite = np.isfinite(xs) & np.isfinite(w) & np.isfinite(g)
    tolerance = case_tolerance(result.case, want, args)
    assert not isinstance(tolerance, Mapping)  # (want is one array: one Tolerance)
    bad = finite & (np.abs(g - w) > tolerance.allowed(np.abs(w)))
    if bad.sum() < 3 or np.unique(xs[bad]).size < 3:
        return ""
    lo, hi = float(xs[bad].min()), float(xs[bad].max())
    inside = finite & (xs >= lo) & (xs <= hi)
    below, above = int((finite & (xs < lo)).sum()), int((finite & (xs > hi)).sum())
    if (inside & ~bad).any() or below < 3 or above < 3:
        return ""
    return (
        f"wrong only for {lo:.3g} <= {name} <= {hi:.3g}, right on both sides: one piece of a piecewise form, or a "
        "switch to another form at the wrong point (an asymptotic form taken too early: the two agree only past "
        "where the error ends)?"
    )


FAR_FROM_ROUNDING = 1e-4
"""A relative error no precision loss of an ordinary form explains (float32 intermediates in a
float64 check are off by about 1e-7): the formula is wrong, not inexact."""


UNBRANCHED = frozenset({
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "softmax", "softmax_jacobian", "softmax_vjp", "cross_entropy",
    "cross_entropy_grad", "l2", "l2_grad", "cosine_similarity", "cosine_similarity_grad", "two_layer_forward",
    "two_layer_loss", "two_layer_grads",
})  # fmt: skip
"""The contract's functions that are one formula everywhere (no branch, kink or switch; huber's
gradient has a switch at |r| = delta though no kink). verify's functions are not known to be."""


def _only_some(result: CaseResult, sub: np.ndarray, sig: np.ndarray) -> str:
    """Where a factor holds in some elements only: one branch of a piecewise function, or, for a
    function with no branch (UNBRANCHED), a term only those elements have (softmax's Jacobian without its
    diagonal s_i was told "one branch of a piecewise formula?", though softmax has no branch)."""
    some = f"but only in {sub.sum()} of {sig.sum()} elements"
    if result.case.entry.name not in UNBRANCHED:
        return f"{some}: one branch of a piecewise formula?"
    return f"{some}: a term that only those elements have is missing or wrong"


ON_THE_DIAGONAL = (
    "wrong only on the diagonal (i = j), right everywhere else: a term only the diagonal has (a Kronecker "
    "delta, an identity: diag(s) in a softmax Jacobian diag(s) - s s^T) is missing or wrong"
)


def _only_on_the_diagonal(wrong: np.ndarray) -> str:
    """ON_THE_DIAGONAL where every wrong element of a square matrix (the last two axes) is on
    its diagonal: one cause in every check, whatever the diagonal's error looks like (softmax's
    Jacobian without diag(s) is -s_i^2 there, no factor of s_i - s_i^2 but at a tie, and was
    told "a term is missing" at ordinary inputs, "a factor of -0.5 ... on the diagonal" at a
    tie and "inaccurate at extreme inputs" beyond them: three causes for one term)."""
    if not _square(wrong) or not wrong.any():
        return ""
    return ON_THE_DIAGONAL if not _off_the_diagonal(wrong) else ""


def _square(mask: np.ndarray) -> bool:
    """Whether `mask`'s last two axes are a square matrix larger than 1 x 1."""
    return mask.ndim >= 2 and mask.shape[-1] == mask.shape[-2] > 1


def _off_the_diagonal(mask: np.ndarray) -> bool:
    """Whether `mask` holds an element off the diagonal of a square matrix (the last two axes)."""
    return _square(mask) and bool((mask & ~np.eye(mask.shape[-1], dtype=bool)).any())


SHIFTED_FAMILIES = ("offset", "shifted")
"""The catalog's and verify's families of values far from 0 with differences of order 1."""

OFFSET_HINT = (
    "inaccurate where the inputs sit far from 0 with differences of order 1: an expanded square cancels "
    "(mean(x^2) - mean(x)^2, a^2 - 2ay + y^2); subtract the mean, or the other argument, before squaring"
)
"""For a wrong value in the catalog's `offset` or verify's `shifted` family (values near 1e3,
spread of order 1) that no other pattern explains."""


NAMED_COEFFICIENTS = (1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 4.0, -4.0)
"""The coefficients a term of a textbook formula has; a fit to any other is no evidence."""


def _flipped_term(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """got = A + T where want = A - T, one term's sign flipped (1 + t^2 for 1 - t^2; s(1 + s)
    for s(1 - s)): the half sum A and the half difference T are each simple, a constant or a
    quantity the formula is built from (an input, the function's own value, their products)."""
    finite = np.isfinite(want) & np.isfinite(got)
    if not finite.all() or want.size == 0:
        return ""
    half_sum, half_diff = (got + want) / 2, (got - want) / 2
    scale = max(float(np.max(np.abs(want))), 1e-30)
    simple = _simple_quantities(result, want.shape)

    rtol, atol = _spread(result), 1e-9 * scale
    k = np.asarray(NAMED_COEFFICIENTS).reshape((-1,) + (1,) * want.ndim)
    candidates = [k]  # every k * q at once (one comparison, not one np.allclose per pair: 6600 in a grade)
    if simple:
        candidates.append((k[:, None] * np.stack(simple)).reshape((-1, *want.shape)))

    def fits(v: np.ndarray, allow_constant: bool) -> bool:
        """v is k or k*q for a named coefficient k and a simple quantity q: named, so that one
        element (a scalar case) is evidence too, not a fit that any number passes."""
        for c in candidates[0 if allow_constant else 1 :]:
            close = np.isclose(v, c, rtol=rtol, atol=atol).reshape(len(c), -1)
            if close.all(axis=1).any():
                return True
        return False

    if np.allclose(half_diff, 0, atol=1e-9 * scale) or np.allclose(half_sum, 0, atol=1e-9 * scale):
        return ""  # right, or the whole result negated (said elsewhere)
    if fits(half_sum, allow_constant=True) and fits(half_diff, allow_constant=False):
        return "a sign error on one term: the result is A + T where it should be A - T (or the reverse)"
    return ""


def _simple_quantities(result: CaseResult, shape: tuple[int, ...]) -> list[np.ndarray]:
    """What a formula is built from, broadcast to the output's shape: each input, the
    function's own value for a derivative (tanh(x) for tanh_grad), and their pairwise products."""
    from handgrad.cases import case_inputs

    args = [a for a in case_inputs(result.case, result.seed).args if not isinstance(a, Mapping)]
    base = [np.asarray(a, np.float64) for a in args if np.shape(a) == shape]
    value = _own_value(result, shape)
    if value is not None and len(base) == len(args) == 1:
        base.append(value)
    return base + [a * b for i, a in enumerate(base) for b in base[i:]]


def _own_value(result: CaseResult, shape: tuple[int, ...]) -> np.ndarray | None:
    """For a derivative of one input (tanh_grad), the function's own value at the case's
    inputs in float64 (tanh(x)), where it has the output's shape; None otherwise."""
    from handgrad.cases import case_inputs
    from reference.catalog import BY_NAME

    entry = result.case.entry
    of = BY_NAME.get(entry.of) if entry.of is not None else None
    args = case_inputs(result.case, result.seed).args
    if of is None or len(args) != 1 or np.shape(args[0]) != shape:
        return None
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(of.reference(np.asarray(args[0], np.float64)), np.float64)
    except Exception:  # a reference that does not take these inputs: no such quantity
        return None
    return value if value.shape == shape else None


OUTPUT_FORMS: dict[str, tuple[str, str, Callable[[np.ndarray], np.ndarray]]] = {
    "sigmoid": ("s(1 - s)", "x(1 - x)", lambda v: v * (1 - v)),
    "tanh": ("1 - t^2", "1 - x^2", lambda v: 1 - v * v),
}
"""A derivative the textbook writes in terms of the function's output (s' = s(1 - s)): its words
and the wrong value it has where the input is put in for the output."""


def _wrong_quantity(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """A derivative of one input that returns something else the student knows: the function's
    own value (relu(x) for relu'(x)), or the derivative's output form evaluated at the input
    (x(1 - x) for sigmoid'(x) = s(1 - s)). Told only where that quantity explains every element
    to within the dtype's allowance, and the right value differs beyond it somewhere; not in
    bfloat16, whose 3% holds other forms too (1.01 sigmoid(x) is sigmoid(x) there):
    _related_hint gives its checks float32's words."""
    value = _own_value(result, want.shape) if result.case.dtype != "bfloat16" else None
    if value is None:
        return ""
    entry = result.case.entry
    tolerance = entry.tolerance[result.case.dtype]
    of = entry.of or ""
    candidates = [(value, f"returns {of}(x) itself, not its derivative")]
    if of in OUTPUT_FORMS:
        words, at_input, form = OUTPUT_FORMS[of]
        from handgrad.cases import case_inputs

        x = np.asarray(case_inputs(result.case, result.seed).args[0], np.float64)
        candidates.append(
            (
                form(x),
                f"the derivative's form in terms of the output, {words}, evaluated at the input ({at_input}): "
                f"compute the output {of}(x) first and put it in",
            )
        )
    for candidate, words in candidates:
        allowed = tolerance.allowed(np.abs(candidate))
        with np.errstate(all="ignore"):
            telling = np.any(np.abs(candidate) > allowed)  # (not a 0 that any zero answer matches)
            if telling and np.all(np.abs(got - candidate) <= allowed) and np.any(np.abs(got - want) > allowed):
                return words
    return ""


def _factor_within_allowance(result: CaseResult, want: np.ndarray, got: np.ndarray, leaf: str, n: int) -> str:
    """A named factor c (a sign, 2, 1/2, n, 1/n, ...) with got = c * want within the check's own
    allowance at every element, S included: in float16 s(s - 1) for s(1 - s) is the negation
    to within the rounding s(1 - s) itself is allowed (its ratio wobbles by 7% where s ~ 1), and
    was told "not a constant factor or a sign". Only where the truth's whole Jacobian is small
    enough to be kept (cases.DENSE_JACOBIAN): then S is at hand."""
    from handgrad.cases import whole_sensitivity

    case = result.case
    finite = np.isfinite(want) & np.isfinite(got)
    tree = whole_sensitivity(case, result.seed) if finite.any() else None
    if tree is None:
        return ""
    s_leaf = np.asarray(tree[leaf] if isinstance(tree, Mapping) else tree, np.float64)
    if s_leaf.shape != want.shape:  # (a part of the output: one row, one example)
        return ""
    tolerance = case.entry.tolerance[case.dtype]
    own = tolerance.allowed(np.abs(want), s_leaf)
    if np.any((got == 0) & finite & (np.abs(want) > own)):  # a 0 where the value is not, beyond rounding: no factor
        return ""
    candidates = (*NAMED_COEFFICIENTS, *((float(n), 1.0 / n) if n > 1 else ()), 0.25)
    for c in candidates:
        if c == 1.0:
            continue
        allowed = tolerance.allowed(np.abs(c * want), abs(c) * s_leaf)
        if np.all(np.abs(got[finite] - c * want[finite]) <= allowed[finite]):
            return _factor_words(c, n, named_only=True, contract=_contract_function(result))
    return ""


def _scaled_alike(want: np.ndarray, got: np.ndarray, c: float, scale: float) -> bool:
    """The elements left out of a factor's ratio (|want| under 1e-3 of the largest) agree with
    it too, to 1% of the output's scale: a constant factor is the whole result's, not the large
    elements' alone beside a tiny one that came back as -8.8."""
    return bool(np.all(np.abs(got - c * want) <= 1e-2 * scale * max(1.0, abs(c))))


def _option_factor(result: CaseResult, c: float, rel: float) -> str:
    """A factor equal to a number the function is called with (Huber's delta), or its inverse:
    Huber's linear branch written sign(a - y) without delta is off by 1/delta there, 2 at
    delta = 0.5 and 0.4 at 2.5, one mistake told as two factors. No value, so that the
    feedback groups every delta's checks as one cause."""
    for name, value in result.kwargs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) in (0.0, 1.0):
            continue
        if abs(c * value - 1.0) <= rel:
            return f"off by a factor of 1/{name}: a factor {name} missing"
        if abs(c / value - 1.0) <= rel:
            return f"off by a factor of {name}: a factor {name} too many"
    return ""


def _per_row_words(result: CaseResult, c: float, n: int, rel: float) -> str:
    """A factor of 1/rows or rows, rows the length of the first argument's leading axis (as the
    formula sees it, a vmap case's stacking axis left out), other than n: a catalog loss or
    gradient divided by `x.shape[0]`, the batch size, where the contract's values are per
    example. Not for handgrad.verify's functions, whose leading axis need be no batch."""
    from handgrad.cases import case_inputs

    if not _contract_function(result):  # (verify's functions have no batch)
        return ""
    args = [a for a in case_inputs(result.case, result.seed).args if not isinstance(a, Mapping)]
    shape: tuple[int, ...] = tuple(np.shape(args[0])) if args else ()
    shape = shape[1:] if result.case.stacked else shape
    if len(shape) < 2 or shape[0] in (1, 2, 4, n):  # (2 and 4 rows: the named factors 2, 1/2, 4, 1/4 say it)
        return ""
    rows = int(shape[0])
    if abs(c * rows - 1.0) <= rel:
        return (
            f"off by a factor of 1/{rows}, one over the number of rows (x.shape[0]): the contract's values are "
            "per example, not averaged over the batch"
        )
    if abs(c / rows - 1.0) <= rel:
        return f"off by a factor of {rows}, the number of rows (x.shape[0]): summed over the batch, not per example?"
    return ""


def _contract_function(result: CaseResult) -> bool:
    """The check is of a catalog function (graded), not of one handgrad.verify was given."""
    from reference.catalog import BY_NAME

    return BY_NAME.get(result.case.entry.name) is result.case.entry


def _reduces_rows(result: CaseResult) -> bool:
    """A contract function over the last axis (a loss, softmax): where a mean and a sum over
    its rows of n are both plausible, and two factors at once (2n) say more than a number.
    Not for handgrad.verify's functions, where a ratio of 2/n is as often a coincidence (a
    scatter dropping a repeated index: 1/3, with n = 6)."""
    return _contract_function(result) and result.case.entry.layout == "last_axis"


def _factor_words(
    c: float, n: int, named_only: bool = False, rel: float = 2e-3, combined: bool = False, contract: bool = True
) -> str:
    """Words for a constant factor c between what came back and the truth, n the length reduced
    over. `contract`: a contract function, where a mean taken for a sum is the common mistake, so
    n = 2 or 4 is said as 1/n first; for handgrad.verify's own functions a named factor comes
    first, with the 1/n reading beside it (a red team's attention VJP missing 1/sqrt(d), d = 4,
    over rows of 2, was told only "a missing 1/n (mean vs sum)")."""

    def _close(a: float, b: float) -> bool:
        return abs(a - b) <= rel * max(abs(a), abs(b))

    if _close(c, 1.0):
        return ""
    if abs(c) < 1e-6:
        return ZERO_WHOLE
    if _close(c, -1.0):
        return "sign flipped: the result is the negative of the right one"
    named = {2.0: "2", 0.5: "1/2", 4.0: "4", 0.25: "1/4"}
    if not contract:
        for value, text in named.items():
            if _close(c, value):
                also = n > 1 and (_close(c, float(n)) or _close(c, 1.0 / n))
                return f"off by a constant factor of {text}" + (
                    f" (n = {n} here too: a mean where a sum belongs, or the reverse?)" if also else ""
                )
    # n first: with n = 4 or 2, "a missing 1/n" says more than "a factor of 4".
    if n > 1 and _close(c, float(n)):
        return f"off by a factor of n = {n}: a missing 1/n (mean vs sum)"
    if n > 1 and _close(c, 1.0 / n):
        return f"off by a factor of 1/n = 1/{n}: an extra 1/n (mean where the contract sums)"
    for value, text in named.items():
        if _close(c, value):
            return f"off by a constant factor of {text}"
    if _close(c, -2.0) or _close(c, -0.5):
        return f"sign flipped and off by a factor of {abs(c):g}"
    # Two mistakes at once, each common alone: the mean taken as a sum (or the reverse) and a
    # lost or extra 1/2 (Huber's 1/2 r^2 written r^2, its gradient 2r). The factor then changes
    # with the row length (10 for rows of 5, 8 for 4), one cause told as several without this.
    if combined and n > 2:
        both = {
            2.0 * n: "2n",
            n / 2.0: "n/2",
            1.0 / (2 * n): "1/(2n)",
            2.0 / n: "2/n",
        }  # (after the named factors: n = 4's 2 and 1/2 are said as such)
        for value, text in both.items():
            if _close(c, value):
                per_row = "a missing 1/n (mean vs sum)" if value > 1 else "an extra 1/n (mean where the contract sums)"
                half = "a factor of 2 (a missing 1/2?)" if text in ("2n", "2/n") else "an extra 1/2"
                return f"off by a factor of {text} (n = {n}): {per_row} and {half}"
    return "" if named_only else f"off by a constant factor of {c:.4g}"


def _transposed(want: np.ndarray, got: np.ndarray, spread: float) -> bool:
    """got is want with its last two axes swapped, and want is not (nearly) symmetric: a
    symmetric truth (a softmax Jacobian) is its own transpose, so a result near it is no
    evidence of a transpose."""
    if want.ndim < 2 or not want.shape[-1] == want.shape[-2] > 1:
        return False
    swapped = np.swapaxes(want, -1, -2)
    return bool(np.allclose(got, swapped, rtol=spread) and not np.allclose(want, swapped, rtol=spread))


def _reshaped_transpose(want: np.ndarray, got: np.ndarray, spread: float) -> bool:
    """got is want's last two axes transposed and then reshaped back: M.T.reshape(M.shape),
    to within `spread`, the rounding of the dtype under test."""
    if want.ndim < 2 or want.shape[-1] == want.shape[-2] or min(want.shape[-2:]) < 2:
        return False
    flipped = np.swapaxes(want, -1, -2).reshape(want.shape)
    scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))  # inf is no scale
    rtol, atol = spread, spread * 1e-3 * scale
    # A truth that hardly varies (near constant) is its own reshaped transpose: no evidence then.
    return bool(
        np.allclose(got, flipped, rtol=rtol, atol=atol) and not np.allclose(want, flipped, rtol=rtol, atol=atol)
    )


def _row(v: np.ndarray, f: Any) -> np.ndarray:
    return np.asarray(f(v), np.float64)


def _denominators(result: CaseResult, shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """Quantities a formula plausibly divides by, broadcast to the output's shape."""
    from handgrad.cases import case_inputs

    entry = result.case.entry
    named = [
        (n, np.asarray(a, np.float64))
        for n, a in zip(entry.args, case_inputs(result.case, result.seed).args, strict=False)
        if not isinstance(a, Mapping) and np.shape(a) == shape
    ]
    out: list[tuple[str, np.ndarray]] = []
    if len(named) >= 2:
        out.append((f"|{named[0][0]} - {named[1][0]}|", np.abs(named[0][1] - named[1][1])))
    for n, a in named:
        out.append((f"|{n}|", np.abs(a)))
        if a.ndim:
            out.append((f"the norm of {n}", np.broadcast_to(np.linalg.norm(a, axis=-1, keepdims=True), shape)))
            out.append((f"the sum of {n}", np.broadcast_to(np.abs(a.sum(axis=-1, keepdims=True)), shape)))
    return out


def _added_epsilon(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """got = want * D / (D + eps) for one small constant eps and a D built from the inputs."""
    ok = np.isfinite(want) & np.isfinite(got) & (got != 0) & (want != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ok, want / np.where(got == 0, 1.0, got) - 1, 0.0)
    off = ok & (np.abs(r) > 1e-12)
    if not off.any():
        return ""
    if off.sum() < 3:  # one or two elements fit any epsilon: no evidence
        return ""
    for name, d in _denominators(result, want.shape):
        e = r[off] * d[off]
        if float(d[off].max()) < 2 * float(d[off].min()):  # D hardly varies: a constant factor fits as well
            continue
        if np.all(e > 0):
            lo, hi = float(e.min()), float(e.max())
            if hi <= 1.5 * lo and 1e-20 < hi < 1e-2:
                return (
                    f"an added epsilon: the result is what dividing by ({name} + {np.sqrt(lo * hi):.0e}) gives; "
                    "the contract's formula has no epsilon, and near the kink or at small values it shows"
                )
    return ""


def _wrong_axis(result: CaseResult, want: np.ndarray, got: np.ndarray) -> str:
    """A row-wise function (softmax, a loss over the last axis) computed over another axis: the
    truth of the inputs with that axis and the last one swapped, swapped back, is what came
    back. Axes are counted as the student's function sees them (without vmap's batch axis)."""
    from handgrad.cases import case_inputs, reference_at

    entry = result.case.entry
    if entry.layout != "last_axis" or entry.kink is not None:  # (a piecewise one's few levels, a hinge's
        return ""  # 0 and -y, agree over any axis by chance)
    inputs = case_inputs(result.case, result.seed)
    args = [np.asarray(a, np.float64) for a in inputs.args]
    batched = result.case.transform == "vmap"
    ndim = args[0].ndim
    if ndim < 2 + batched or any(a.ndim != ndim for a in args):
        return ""
    for k in range(int(batched), ndim - 1):
        if args[0].shape[k] == 1:  # (over one element a reduction is none: a sum or mean left out
            continue  # reads the same there, huber_grad without its 1/n at a batch of one row)
        swapped = [np.swapaxes(a, k, -1) for a in args]
        other = np.asarray(reference_at(entry, inputs.kwargs, swapped), np.float64)
        if other.shape != np.swapaxes(got, k, -1).shape:
            continue
        other = np.swapaxes(other, k, -1)
        finite = np.isfinite(other) & np.isfinite(got)
        if not finite.all():
            continue
        # It explains the error at every element, not only most of the values: what is left is at
        # most 5% of that element's error, or the dtype's rounding of it (float16's own rounding
        # of a cancelling form is more than a fixed 1e-3 of the values). A norm let a few huge
        # elements decide: a gradient taken with respect to the wrong argument matched the
        # rows of tiny scale over axis 0, and was named a wrong axis.
        rounding = 10 * entry.tolerance[result.case.dtype].allowed(np.abs(other))
        # And the error it explains is beyond rounding at some elements (bfloat16's rounding hides
        # most of a softmax's error over the wrong axis, not all of it): where every value is
        # below the dtype's floor (bfloat16's 8e-3 at extreme inputs, a cosine gradient of 1e-4),
        # the swapped truth "explained" an error of another kind (a red team's, missing 1/|y|).
        beyond = np.abs(got - want) > rounding
        telling = beyond.sum() >= 2 and beyond.mean() >= 0.1
        if telling and np.all(np.abs(got - other) <= 0.05 * np.abs(got - want) + rounding):
            return (
                f"computed over the wrong axis: these are the values over axis {k - int(batched)}, "
                "not over the last one (axis=-1)"
            )
    return ""


def _known_form(result: CaseResult, got: np.ndarray) -> str:
    """A wrong formula common enough to name: cross-entropy that assumes sum(y) = 1."""
    from handgrad.cases import case_inputs

    name = result.case.entry.name
    if name not in ("cross_entropy", "cross_entropy_grad"):
        return ""
    z, y = (np.asarray(a, np.float64) for a in case_inputs(result.case, result.seed).args[:2])
    total = y.sum(axis=-1, keepdims=True)
    if np.allclose(total, 1.0):
        return ""
    m = z.max(axis=-1, keepdims=True)
    e = np.exp(z - m)
    lse = m + np.log(e.sum(axis=-1, keepdims=True))
    form = (
        e / e.sum(axis=-1, keepdims=True) - y
        if name.endswith("_grad")
        else (lse - (y * z).sum(-1, keepdims=True))[..., 0]
    )
    if np.shape(form) == got.shape and np.allclose(got, form, rtol=1e-3, atol=1e-5):
        right = "softmax(z) * sum(y) - y" if name.endswith("_grad") else "logsumexp(z) * sum(y) - <y, z>"
        return (
            "right only when the target sums to 1: the contract allows any non-negative weights, "
            f"for which it is {right}"
        )
    return ""


LOW_PRECISION = ("float16", "bfloat16")
"""Dtypes whose hints yield to a float32 or float64 check of the same family (_related_hint)."""
BATCH_HINTS = ("fails on a batch",)
"""Hints that blame a batch (vmap): only right when the function's unbatched checks pass."""
EXTREME_HINTS = {"nonfinite": "NaN/inf only at extreme inputs", "value": "inaccurate at extreme inputs"}
"""Hints that blame extreme inputs: only right when the ordinary inputs give no such failure."""


ALSO_AT_EXTREMES = (
    "also at extreme inputs, as at ordinary ones: most likely the same mistake; if it stays once that one "
    "is fixed, look for an overflow or a cancellation at these inputs"
)
"""For an extreme-input failure whose own inputs are extreme while ordinary inputs fail alike:
one mistake or two (an overflow besides), which the values cannot tell apart."""


def related(results: Sequence[CaseResult]) -> list[CaseResult]:
    """The results of one function's checks, with a hint that only one check's view made
    (a batch, extreme inputs) replaced where a check shows the same failure without that
    condition: a vmap call that raises as the eager call does takes that call's hint, as does
    a NaN or a wrong value in an extreme family at an ordinary input (one cause). At an input
    that is itself extreme it may be a second mistake (an overflow), so it is not folded: its
    hint says both (ALSO_AT_EXTREMES). Order and everything else are kept."""
    return [dataclasses.replace(r, hint=h) if (h := _related_hint(r, results)) else r for r in results]


def _related_hint(result: CaseResult, results: Sequence[CaseResult]) -> str:
    if result.ok or not result.hint:
        return ""
    lower = _in_higher_precision(result, results)
    if lower and not lower.startswith(WEAK_HINTS):  # (relu(x) for relu'(x), which float16 cannot tell)
        return lower
    switched = _inside_a_switch_window(result, results)
    if switched:
        return switched
    if lower:
        return lower
    precision = _only_in_low_precision(result, results)
    if precision:
        return precision
    extreme = EXTREME_HINTS.get(result.problem)
    if result.case.stacked and result.hint.startswith(BATCH_HINTS):
        # The same exception unbatched, or the same wrong shape: the batch is not the cause.
        kind = _exception_type(result)
        if kind:
            found = _alike(result, results, lambda r: not r.case.stacked and _exception_type(r) == kind)
        else:
            found = _alike(result, results, lambda r: not r.case.stacked) if result.problem == "shape" else None
        return found.hint if found else ""
    if extreme is not None and _beyond_ordinary(result) and result.hint.startswith(extreme):
        found = _alike(result, results, lambda r: not _beyond_ordinary(r) and r.case.dtype == result.case.dtype)
        if not found:
            return ""
        return found.hint if _ordinary_inputs(result) else ALSO_AT_EXTREMES
    return ""


def _in_higher_precision(result: CaseResult, results: Sequence[CaseResult]) -> str:
    """float16 and bfloat16 name a factor or a form within their own loose rounding, which a
    coincidence meets (0.1995 for 1/5); a check of the same inputs in float32 or float64 that
    fails too tells the cause better: its hint, where it differs and does not blame extremes."""
    if result.case.dtype not in LOW_PRECISION or result.problem != "value":
        return ""
    family, transform = result.case.family.name, result.case.transform
    found = _alike(
        result,
        results,
        lambda r: r.case.dtype not in LOW_PRECISION and r.case.family.name == family and r.case.transform == transform,
    ) or _alike(result, results, lambda r: r.case.dtype not in LOW_PRECISION and r.case.family.name == family)
    blames_extremes = found is not None and found.hint.startswith((*EXTREME_HINTS.values(), ALSO_AT_EXTREMES))
    if found is not None and found.hint != result.hint and not blames_extremes:
        return found.hint
    return ""


def _only_in_low_precision(result: CaseResult, results: Sequence[CaseResult]) -> str:
    """A float16 or bfloat16 check whose hint reads the values' shape (WEAK_HINTS: a missing
    term, a zero, a factor) while every float32 and float64 check of the same family passes:
    the derivation holds, and the dtype's range or precision is the cause (a two-layer network
    on jax.nn.sigmoid, whose sigmoid(-14) is 0 in float16, was told "a missing term"). Not where
    a float32 or float64 check of another family fails with the same words: one cause, seen
    there too (tanh as (e^2x - 1)/(e^2x + 1) loses its digits near 0 in both)."""
    if result.case.dtype not in LOW_PRECISION or result.problem != "value" or not result.hint.startswith(WEAK_HINTS):
        return ""
    family = result.case.family.name
    higher = [r for r in results if r.case.family.name == family and r.case.dtype not in LOW_PRECISION]
    if not higher or not all(r.ok for r in higher):
        return ""
    if any(not r.ok and r.hint == result.hint and r.case.dtype not in LOW_PRECISION for r in results):
        return ""  # (the same words at another family in float32: one cause, shown there as well)
    dtypes = " and ".join(sorted({r.case.dtype for r in higher}))
    dtype = result.case.dtype
    return (
        f"right in {dtypes} on the same family, wrong in {dtype}: the formula holds, {dtype}'s range or precision "
        f"fails it: an intermediate that overflows, underflows to 0 or cancels in {dtype} (keep it in range, or "
        "compute in float32 and round once)"
    )


def _inside_a_switch_window(result: CaseResult, results: Sequence[CaseResult]) -> str:
    """The misplaced-switch hint of another check of the function, for a check with a hint in
    WEAK_HINTS whose worst element's switch quantity lies inside that check's window (a
    scalar case at x = 0.16 where relu's derivative was written x > 1)."""
    worst = result.comparison.worst if result.comparison is not None else None
    if worst is None or result.problem != "value" or not result.hint.startswith(WEAK_HINTS):
        return ""
    value = _switch_values(result)
    if value is None or len(worst.index) != value.ndim:
        return ""
    t = float(value[worst.index])
    for r in results:
        window = r.switch_window
        if r is not result and r.case.entry.name == result.case.entry.name and window and window[0] < t < window[1]:
            return r.hint
    return ""


def _alike(result: CaseResult, results: Sequence[CaseResult], where: Callable[[CaseResult], bool]) -> CaseResult | None:
    """The first other failed check of the same function and problem, off a kink, that `where` takes."""
    for r in results:
        if (
            not r.ok and r.hint and r is not result and r.case.entry.name == result.case.entry.name
            and r.problem == result.problem and not _at_kink(r) and where(r)
        ):  # fmt: skip
            return r
    return None


def _at_kink(result: CaseResult) -> bool:
    worst = result.comparison.worst if result.comparison is not None else None
    return worst is not None and worst.at_kink


def _exception_type(result: CaseResult) -> str:
    """The exception's class as the error quotes it first ("TypeError"), "" for other failures."""
    return result.error.split(":", 1)[0].strip() if result.error_kind == "exception" else ""
