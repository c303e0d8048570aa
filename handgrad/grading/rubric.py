"""The rubric: a weight and a Gradescope visibility per contract function (TOML).

    default_weight = 1.0            # optional
    default_visibility = "visible"  # optional
    [functions.two_layer_grads]
    weight = 3
    visibility = "after_published"  # visible | hidden | after_due_date | after_published
    [tiers]                         # optional: partial credit per tier of checks
    derivation = 0.7
    stability = 0.3
    extreme = 0                     # 0: reported, not counted
    partial = true                  # optional: a tier earns the share of its checks passed

Defaults: every function weighs 1 and is visible; without [tiers] a function earns its
weight when its derivation and stability checks all pass (extreme ones too with --strict).
With [tiers], a function earns weight * (sum of the shares of the tiers it passes) /
(sum of the shares of the tiers it has); a tier missing from the table has share 0. Shares
under which a weighted function has no counted check are refused (it would earn its weight
for anything, an empty file too).
`partial = true` (with or without [tiers]) makes each tier earn its share times the fraction
of its checks (cells: dtype x transform x input family) that passed, instead of all or
nothing: a function right in float32 and wrong in float16 earns the float32 cells' share.
"""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reference.catalog import NAMES
from reference.families import TIERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


class RubricError(Exception):
    """The rubric file is unreadable or says something impossible; the message says what."""


@dataclass(frozen=True)
class Rubric:
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(NAMES, 1.0))
    visibility: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NAMES, "visible"))
    tiers: dict[str, float] | None = None
    """Each tier's share of a function's weight; None: all or nothing over the counted tiers."""
    partial: bool = False
    """A tier earns its share times the fraction of its checks passed (not all or nothing)."""

    @property
    def max_score(self) -> float:
        return sum(self.weights.values())


def hidden_points_warning(rubric: Rubric) -> str:
    """What an instructor should know of `hidden` functions worth points, or "": Gradescope shows
    students the total of every test's points, hidden ones included (hidden tests are meant to
    be worth none), so a student reads a hidden function's result off the total. handgrad's
    own words never count them (grader.SHOWN); after_due_date and after_published also hold
    the total back until then."""
    paid = [name for name, v in rubric.visibility.items() if v == "hidden" and rubric.weights.get(name, 0) > 0]
    if not paid:
        return ""
    return (
        f"warning: {', '.join(paid)} {'is' if len(paid) == 1 else 'are'} hidden and worth points: Gradescope's "
        "total, which students see, counts hidden tests' points, so a student can read "
        f"{'its' if len(paid) == 1 else 'their'} result off it; after_published (or after_due_date) holds "
        "results and the total back until then"
    )


def _did_you_mean(word: object, known: Iterable[str]) -> str:
    """' (did you mean X?)' for a near miss of a known word, else ''."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _weight(value: object, where: str) -> float:
    # TOML reads nan and inf as floats: a NaN or infinite weight would make every total NaN or inf.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise RubricError(f"{where}: weight must be a finite number >= 0, got {value!r}")
    return float(value)


def _visibility(value: object, where: str) -> str:
    if value not in VISIBILITIES:
        raise RubricError(
            f"{where}: visibility must be one of {', '.join(VISIBILITIES)}, got {value!r}"
            + _did_you_mean(value, VISIBILITIES)
        )
    return str(value)


def load(path: Path) -> Rubric:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # (a byte-order mark, as Notepad writes, is no TOML)
    except OSError as exc:
        raise RubricError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else f"not valid TOML ({exc})"
        raise RubricError(f"{path}: {what}") from None
    keys = ("default_weight", "default_visibility", "functions", "tiers", "partial")
    unknown = sorted(set(data) - set(keys))
    if unknown:
        hints = "".join(_did_you_mean(k, keys) for k in unknown)
        raise RubricError(f"{path}: unknown keys {unknown}{hints}; known: {', '.join(keys)}")
    weight = _weight(data.get("default_weight", 1.0), f"{path}: default_weight")
    visible = _visibility(data.get("default_visibility", "visible"), f"{path}: default_visibility")
    weights, visibility = dict.fromkeys(NAMES, weight), dict.fromkeys(NAMES, visible)
    functions = data.get("functions", {})
    if not isinstance(functions, dict):
        raise RubricError(f"{path}: [functions] must be a table")
    for name, spec in functions.items():
        where = f"{path}: functions.{name}"
        if name not in NAMES:
            raise RubricError(f"{where}: not a contract function{_did_you_mean(name, NAMES)}")
        if not isinstance(spec, dict):
            raise RubricError(
                f"{where}: expected a table with weight and/or visibility ([functions.{name}] then weight = ...), "
                f"got {spec!r}"
            )
        extra = sorted(set(spec) - {"weight", "visibility"})
        if extra:
            hints = "".join(_did_you_mean(k, ("weight", "visibility")) for k in extra)
            raise RubricError(f"{where}: unknown keys {extra}{hints}; a function takes weight and/or visibility")
        if "weight" in spec:
            weights[name] = _weight(spec["weight"], where)
        if "visibility" in spec:
            visibility[name] = _visibility(spec["visibility"], where)
    if not any(weights.values()):
        raise RubricError(f"{path}: every function weighs 0, so no submission could earn a mark")
    if not math.isfinite(sum(weights.values())):
        raise RubricError(f"{path}: the weights add up to more than a number can hold: use smaller weights")
    partial = data.get("partial", False)
    if not isinstance(partial, bool):
        raise RubricError(f"{path}: partial must be true or false, got {partial!r}")
    tiers = _tiers(data.get("tiers"), f"{path}: tiers")
    _every_weight_earnable(weights, tiers, f"{path}: tiers")
    return Rubric(weights, visibility, tiers, partial)


def _every_weight_earnable(weights: dict[str, float], tiers: dict[str, float] | None, where: str) -> None:
    """Refuse tier shares that count no check of a function with weight: it would earn its
    weight whatever was submitted (an empty file too), as nothing it could fail counts."""
    if tiers is None:
        return
    from reference.catalog import BY_NAME

    idle = [
        name
        for name, weight in weights.items()
        if weight > 0 and not any(tiers[f.tier] > 0 for f in BY_NAME[name].families)
    ]
    if idle:
        counted = ", ".join(t for t in TIERS if tiers[t] > 0)
        shown = ", ".join(idle[:4]) + (f" and {len(idle) - 4} more" if len(idle) > 4 else "")
        raise RubricError(
            f"{where}: only {counted} counts, and {shown} {'has' if len(idle) == 1 else 'have'} no check in it: "
            "they would earn their weight whatever is submitted (an empty file too). Give derivation or "
            "stability a share, or weigh those functions 0"
        )


def _tiers(spec: object, where: str) -> dict[str, float] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise RubricError(f"{where}: must be a table like derivation = 0.7, stability = 0.3")
    unknown = set(spec) - set(TIERS)
    if unknown:
        hints = "".join(_did_you_mean(t, TIERS) for t in sorted(unknown))
        raise RubricError(f"{where}: unknown tiers {sorted(unknown)}{hints}; known: {', '.join(TIERS)}")
    shares: dict[str, float] = {t: _weight(spec.get(t, 0.0), f"{where}.{t}") for t in TIERS}
    if not any(shares.values()):
        raise RubricError(f"{where}: every share is 0, so no check would count")
    return shares


def starter_text() -> str:
    """A rubric that grades as no rubric does (every function weighs 1, visible), with each
    function listed so an instructor only edits numbers; `load` reads it back unchanged."""
    lines = [
        "# handgrad rubric (docs/grading.md). As written it grades like no rubric: every function 1.",
        "default_weight = 1.0",
        'default_visibility = "visible"  # visible | hidden | after_due_date | after_published',
        "",
        "# Optional: partial credit per tier of checks (shares of a function's weight).",
        "# [tiers]",
        "# derivation = 0.7",
        "# stability = 0.3",
        "# extreme = 0",
        "",
        "# Optional: a tier earns the share of its checks passed, not all or nothing.",
        "# partial = true",
        "",
    ]
    for name in NAMES:
        lines += [f"[functions.{name}]", "weight = 1", ""]
    return "\n".join(lines)
