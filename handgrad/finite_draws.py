"""Draws redrawn where f is not finite: outside f's domain nothing can be checked.

Where f's own value is not finite (log of a negative number, sqrt of one, 0/0), its
derivative is undefined and verify does not compare it (the element is counted unchecked,
handgrad/user_gradient.py). A random family that lands outside f's domain would check
nothing there: for a scalar f = sum(log(x)) one negative element leaves the whole draw
unchecked. So each random family's draw is evaluated (f's primal in float64, on the drawn
float arguments) and, where some output element is not finite:

1. drawn again, up to MORE_DRAWS times, from the same generator (reproducible);
2. if none is finite everywhere, the magnitudes |x| of the best draw's drawn arguments are
   tried (a domain x > 0, as of log, sqrt or a power, which a random sign pattern of many
   elements almost never falls inside);

and the draw with the fewest elements where f is not finite is used (the first one of
those). What stays outside the domain is counted unchecked. `given` (the user's own
arguments) is never redrawn; a draw where f is finite is used as it is, so a function
finite everywhere sees exactly the draws it saw before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from handgrad.arguments import Call
from handgrad.checking_scope import x64
from reference.families import Inputs

MORE_DRAWS = 4
"""Draws after the first, where f is not finite at it."""


class NotFinite:
    """How many elements of f's output (its primal, in float64) are not finite at drawn float
    arguments; one compiled program per call and shape. 0 where f cannot be evaluated so (the
    draw then stands, and the engine reports what f does)."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._program: Any = None

    def count(self, floats: Sequence[np.ndarray]) -> int:
        import jax

        call = self.call
        if self._program is None:
            self._program = jax.jit(lambda *fl: call.primal(*call.full(fl)))
        try:
            with x64():
                out = np.asarray(self._program(*(np.asarray(a, np.float64) for a in floats)), np.float64)
        except Exception:
            return 0
        return int(out.size - np.count_nonzero(np.isfinite(out)))


def finite_draw(
    draw_once: Callable[[np.random.Generator], Inputs],
    rng: np.random.Generator,
    not_finite: NotFinite,
    drawn: Sequence[int],
) -> Inputs:
    """The draw to use (see the module's docstring). `drawn`: the positions of the arguments
    the family draws (not held at their given values), whose magnitudes are tried last."""
    n = len(not_finite.call.floats)

    def bad(inputs: Inputs) -> int:
        return not_finite.count(inputs.args[:n])

    best = draw_once(rng)
    fewest = bad(best)
    for _ in range(MORE_DRAWS):
        if not fewest:
            return best
        again = draw_once(rng)
        count = bad(again)
        if count < fewest:
            best, fewest = again, count
    if fewest:
        magnitudes = Inputs(tuple(np.abs(a) if k in drawn else a for k, a in enumerate(best.args)), best.kwargs)
        if bad(magnitudes) < fewest:
            return magnitudes
    return best
