"""What each input family's name means: one table for the catalog's families and verify's.

A family is a named, reproducible way to draw a function's inputs (reference/families.py,
`Family`). The catalog gives each of its functions its own families (reference/catalog.py);
`handgrad.verify` builds its families from the shapes of the user's example arguments
(handgrad/verify_families.py). Both draw `Family` objects, run through the same engine, and
name them in the same reports, so a name means one thing wherever it appears:

- a name both draw means the same there: `wide` is magnitudes over many decades up to the
  1e4 the contract states (verify draws exactly the activations' `wide`, with the same
  function, `reference.families.wide_values`); `normal` is standard normal (the catalog
  appends the shape it draws at, `normal-7x5`, verify draws at the example's shapes);
- a name only one of them draws is not reused by the other with another meaning: the
  catalog's `extreme` is the largest inputs the contract states (+-1e4), and verify's draw
  around ln(max) of each dtype, where exp overflows, is called `overflow`.

The catalog's names are part of grading (reports, tiers, tests) and do not change. Each
family's own `about` says exactly what it draws for its function; this table says what the
name means. docs/families.md shows it (tests/test_family_meanings.py keeps the two equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

DrawnBy = Literal["catalog", "verify", "both"]

PLACEHOLDERS: dict[str, str] = {
    "<shape>": r"(scalar|\d+(x\d+)*)",
    "<d_in>x<h>x<d_out>": r"\d+x\d+x\d+",
    "<delta>": r"\d+(\.\d+)?",
    "<argument>": r".+",
}
"""The variable parts of a family name, and what they match: "normal-7x5" is normal-<shape>."""


@dataclass(frozen=True)
class Meaning:
    """One row of the table: a family name (or a pattern with placeholders), what a family
    of that name draws, and who draws it."""

    name: str
    draws: str
    drawn_by: DrawnBy

    def matches(self, family: str) -> bool:
        pattern = re.escape(self.name)
        for placeholder, regex in PLACEHOLDERS.items():
            pattern = pattern.replace(re.escape(placeholder), regex)
        return re.fullmatch(pattern, family) is not None


MEANINGS: tuple[Meaning, ...] = (
    # ---- both
    Meaning("wide", "magnitudes over many decades, up to the 1e4 the contract states: 1e-3 to 1e4 of both "
            "signs for elementwise inputs (the activations, and every argument verify draws); logits of 30 x "
            "normal for softmax and cross-entropy; predictions ~1e3 beside targets ~1e-3 for the regression "
            "losses; residuals ~1e3 for huber", "both"),
    # ---- the catalog
    Meaning("normal-<shape>", "standard normal at the shape named (scalar, 7, 5, 7x5, 1x5: a batch of one "
            "row, 3x5x4); for huber, predictions of target + 2 delta x normal", "catalog"),
    Meaning("small", "magnitudes from 1e-7 to 1e-1, both signs, each element on its own", "catalog"),
    Meaning("extreme", "the largest inputs the contract states, up to +-1e4: +-9 ... +-1e4 for the "
            "activations, fixed rows of logits for softmax and cross-entropy, predictions for the losses",
            "catalog"),
    Meaning("landmarks", "fixed inputs for sigmoid and tanh: 0 and -0, +-1/4 ... +-5/4 in quarters, and powers "
            "of two +-2^-3 ... +-2^-126: values no draw lands on (x = 0 above all) and magnitudes below small's "
            "1e-7", "catalog"),
    Meaning("tails", "fixed inputs +-1.5 ... +-8.75 in steps of 1/4, where the activations' derivatives fall "
            "from order 1 towards the float16 and bfloat16 floors (a form that cancels there is judged on the "
            "same inputs in every draw)", "catalog"),
    Meaning("kink", "x = 0 and -0.0 with neighbours, down to 1e-300 (relu's kink)", "catalog"),
    Meaning("ties", "equal values a formula may branch on or divide by the difference of: a = y at half the "
            "elements (l1's kink, l2), equal logits in a row (softmax)", "catalog"),
    Meaning("near-ties", "next to a kink, never on it: 0 < |a - y| < 1e-3 (down to 1e-265), hinge margins "
            "within 1e-3 of 1 (down to 1e-15) (float64 only)", "catalog"),
    Meaning("ulp-ties", "next to a kink by one unit in the last place of each dtype, in every dtype: a = y "
            "+- ulp (l1), one-hot margins 1 +- ulp (hinge); a dtype too coarse for a row rounds it onto the "
            "kink", "catalog"),
    Meaning("row-large", "one 1-D row of logits up to +-1e4, no batch axis", "catalog"),
    Meaning("onehot-g", "one-hot cotangents g (softmax_vjp)", "catalog"),
    Meaning("onehot-<shape>", "scores with one-hot targets, at the shape named (cross-entropy, hinge)",
            "catalog"),
    Meaning("onehot", "one-hot targets y (cosine similarity, as in the seed)", "catalog"),
    Meaning("probs", "soft targets: rows of probabilities", "catalog"),
    Meaning("weights", "non-negative targets whose rows sum to anything from 0 to about 4", "catalog"),
    Meaning("offset", "a and y near 1e3 with |a - y| of order 1, where an expanded square cancels (float32 "
            "and float64 only)", "catalog"),
    Meaning("pm1", "targets +-1 (hinge)", "catalog"),
    Meaning("margin", "margins <y, a> of exactly 1 (hinge's kink)", "catalog"),
    Meaning("delta<delta>", "huber with the delta named", "catalog"),
    Meaning("seam", "|a - y| = delta exactly (huber's seam)", "catalog"),
    Meaning("parallel", "a a multiple of y: the cosine gradient is 0", "catalog"),
    Meaning("small-scales", "norms from 5e-13 to 1, |a|^2 |y|^2 and |a|^3 |y| normal in float32", "catalog"),
    Meaning("tiny-norms", "norms from 1e-60 to 1e40, squares and cubes normal in float64", "catalog"),
    Meaning("far-scales", "norms whose squares overflow or underflow float32", "catalog"),
    Meaning("seed", "the seed's worked example (the network)", "catalog"),
    Meaning("net-<d_in>x<h>x<d_out>", "a random network of those sizes and its inputs", "catalog"),
    Meaning("net-<d_in>x<h>x<d_out>-saturated", "weights x25: saturated sigmoids", "catalog"),
    Meaning("net-saturated-hidden", "hidden pre-activations 15 and -13 under inputs up to 50", "catalog"),
    Meaning("net-saturated-output", "an output pre-activation of 14 behind an unsaturated hidden unit", "catalog"),
    # ---- verify
    Meaning("given", "the example arguments as given", "verify"),
    Meaning("normal", "standard normal at the example's shapes", "verify"),
    Meaning("overflow", "+-11 ... +-1420: around ln(max) of float16 (11.1), float32 and bfloat16 (88.7) and "
            "float64 (709.8), and twice those, where exp overflows in each dtype", "verify"),
    Meaning("sweep", "magnitudes 1 to 100 of both signs, log-uniform, up to 128 examples, under vmap only: where "
            "formulas switch to an asymptotic form (softplus' to 1 past a threshold)", "verify"),
    Meaning("tiny", "standard normal times one scale from 1e-8 to 1e-2, every argument at once", "verify"),
    Meaning("shifted", "every argument at 300 or 1000 plus standard normal: far from 0, differences of order 1, "
            "where an expanded square cancels, as the catalog's offset (float32 and float64 only)", "verify"),
    Meaning("zeros", "half the elements exactly +0.0 or -0.0, the rest standard normal", "verify"),
    Meaning("one-zero", "exactly one element of each argument +0.0 or -0.0, the rest standard normal: where a "
            "product's gradient is the product of the others (zeros rarely leaves exactly one in a long vector)",
            "verify"),
    Meaning("low-rank", "matrix arguments (two axes or more, the last two of length 2 or more) of rank r < "
            "min(m, n), A B / sqrt(r) with A (m, r) and B (r, n) standard normal; the others standard normal",
            "verify"),
    Meaning("repeated-sv", "matrix arguments U diag(s) V^T of full rank with a run of equal singular values "
            "(s about 0.5 to 2); the others standard normal", "verify"),
    Meaning("size-1", "standard normal with the batch axis cut to length 1", "verify"),
    Meaning("labels", "label-like arguments (only 0 and 1 in the example) drawn as 0/1 or one-hot rows; the "
            "rest wide", "verify"),
    Meaning("one-hot", "standard normal, with a one-hot cotangent, tangent or v (one element 1, the rest 0)",
            "verify"),
    Meaning("broadcast:<argument>", "standard normal with the argument named cut to length 1 where f "
            "broadcasts it against the others (drawn only when families= names broadcast)", "verify"),
    Meaning("far-magnitudes", "every argument at 1e21 or 1e-21 at once, where x * x overflows or underflows "
            "float32 and bfloat16 (drawn only when named)", "verify"),
)  # fmt: skip


def meaning(name: str) -> Meaning:
    """The row for a family's name ("normal-7x5", "broadcast:y"); KeyError where none matches."""
    for row in MEANINGS:
        if row.matches(name):
            return row
    raise KeyError(f"input family {name!r} has no meaning in reference/family_meanings.py")


def markdown_table() -> str:
    """MEANINGS as the markdown table of docs/families.md."""
    lines = ["| family | drawn by | what it draws |", "| --- | --- | --- |"]
    for row in MEANINGS:
        who = {"both": "catalog and verify"}.get(row.drawn_by, row.drawn_by)
        draws = row.draws.replace("|", "\\|")  # (a bar inside a cell ends it)
        lines.append(f"| `{row.name}` | {who} | {draws} |")
    return "\n".join(lines) + "\n"
