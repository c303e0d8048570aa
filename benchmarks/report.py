"""The results as a table for people and as JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.files import replace_file
from benchmarks.runner import Ratio, Result, Skip, ratio
from benchmarks.targets import ROOFLINE_TARGET, SPEED_TARGET, Check
from handgrad.table import table as text_table

HEADER = (
    "case",
    "dtype",
    "device",
    "size",
    "hand",
    "autodiff",
    "hand/auto (range)",
    "forward",
    "copy",
    "hand GB/s",
    "% copy",
    "numpy",
    "sharded",
)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def spread(r: Ratio) -> str:
    """ "0.97 (0.93-1.02)": the median ratio over rounds, its lowest and highest."""
    return f"{r.median:.2f} ({r.low:.2f}-{r.high:.2f})"


def size_label(r: Result) -> str:
    if r.group:
        return f"{r.group} B={r.sweep}"
    return "x".join(map(str, r.size)) if isinstance(r.size, list) else str(r.size)


def rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    """One line per case, size, dtype and single device; the sharded column is the
    hand-written gradient's speed-up from one device to all of them."""
    lines: dict[tuple[Any, ...], dict[str, Result]] = {}
    sharded: dict[tuple[Any, ...], Result] = {}
    for r in results:
        key = (r.case, r.group, r.sweep, r.dtype)
        if r.device.startswith("sharded"):
            if r.impl == "handwritten":
                sharded[key] = r
            continue
        lines.setdefault((*key, r.device), {})[r.impl] = r
    out: list[tuple[str, ...]] = []
    order = {case: i for i, case in enumerate(dict.fromkeys(k[0] for k in lines))}
    for (case, group, sweep, dtype, device), by in sorted(lines.items(), key=lambda kv: _order(kv[0], order)):
        hand, auto, copy = by.get("handwritten"), by.get("autodiff"), by.get("copy")
        any_row = next(iter(by.values()))
        shard = sharded.get((case, group, sweep, dtype))
        out.append(
            (
                case,
                dtype,
                device,
                size_label(any_row),
                duration(hand.seconds if hand else None),
                duration(auto.seconds if auto else None),
                spread(ratio(hand, auto)) if hand and auto else "-",
                duration(by["forward"].seconds if "forward" in by else None),
                duration(copy.seconds if copy else None),
                f"{hand.gbps:.2f}" if hand else "-",
                f"{100 * ratio(copy, hand).median:.0f}%" if hand and copy else "-",
                duration(by["numpy"].seconds if "numpy" in by else None),
                f"{shard.scaling:.2f}x" if shard and shard.scaling else "-",
            )
        )
    return out


def _order(key: tuple[Any, ...], cases: dict[str, int]) -> tuple[Any, ...]:
    """Catalog order, then network size, dtype, device and size."""
    case, group, sweep, dtype, device = key
    return (cases[case], group, dtype, device, sweep)


def table(lines: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> str:
    """Text columns left-aligned, numbers right-aligned, a blank line between cases."""
    return text_table(lines, header, right=set(header) - {"case", "dtype", "device", "size"}, break_groups=True)


def targets_text(checks: Sequence[Check], quick: bool = False) -> str:
    """The verdicts at the largest float32 size of every series; none for a --quick run."""
    if quick:
        return "Targets: not judged (--quick sizes are too small to show anything; run without --quick)."
    if not checks:
        return "Targets: not checked (they are defined on float32 on the CPU, which this run did not measure)."
    lines = [f"Targets at the largest float32 size on {checks[0].device}:"]
    lines.append(
        f"  hand/autodiff time <= {SPEED_TARGET:.1f} in every round (met), above it in every round (missed), "
        f"else within noise;"
    )
    lines.append(f"  elementwise gradients >= {ROOFLINE_TARGET:.0%} of the copy roofline")
    for c in checks:
        roof = "" if c.roofline is None else f", copy roofline {c.roofline:.0%}"
        verdict = c.speed if not c.roofline_verdict else f"{c.speed}; roofline {c.roofline_verdict}"
        ratio_text = spread(Ratio(c.ratio, c.low, c.high))
        lines.append(f"  {c.case:<24} {c.size:<22} hand/autodiff {ratio_text}{roof}: {verdict}")
    counts = {v: sum(c.speed == v for c in checks) for v in ("met", "within noise", "missed")}
    roofline_missed = sum(c.roofline_verdict == "missed" for c in checks)
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines.append(
        f"  speed: {summary}; roofline: {roofline_missed} missed"
        + (" (see MISSED above)" if roofline_missed or counts["missed"] else "")
    )
    return "\n".join(
        line.replace(": missed", ": MISSED").replace("roofline missed", "roofline MISSED") for line in lines
    )


def skipped_text(skipped: Sequence[Skip]) -> str:
    """Skips grouped by implementation, device and reason, so each reason is said once."""
    if not skipped:
        return ""
    by_reason: dict[tuple[str, str, str], list[str]] = {}
    for s in skipped:
        by_reason.setdefault((s.impl, s.device, s.reason), []).append(f"{s.case} {s.size}".strip())
    lines = ["Not measured:"]
    for (impl, device, reason), names in by_reason.items():
        what = f"{device} (every program)" if impl == "all" else impl
        lines.append(f"  {what}: {reason}: {', '.join(dict.fromkeys(names))}")
    return "\n".join(lines)


def document(
    machine: dict[str, Any],
    results: Sequence[Result],
    skipped: Sequence[Skip],
    checks: Sequence[Check],
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The JSON output: machine, the settings of the run, every result row, skips, targets."""
    return {
        "machine": machine,
        "settings": settings,
        "results": [r.as_json() for r in results],
        "skipped": [s.as_json() for s in skipped],
        "targets": [c.as_json() for c in checks],
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Pretty at the top, one line per result row: readable, diffable and small."""
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            rows = ",\n".join(f"  {json.dumps(_rounded(v))}" for v in value)
            parts.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, indent=1).replace(chr(10), chr(10) + ' ')}")
    replace_file(path, "{\n" + ",\n".join(parts) + "\n}\n")


def _rounded(row: Any) -> Any:
    """Floats of a row to 6 significant digits, per-round samples to 4: the timings are noisy
    at the percent level, and the file stays small enough to commit."""
    if not isinstance(row, dict):
        return row

    def short(x: Any, digits: int = 6) -> Any:
        return float(f"{x:.{digits}g}") if isinstance(x, float) else x

    out = {k: short(v) for k, v in row.items()}
    if isinstance(row.get("samples"), list):
        out["samples"] = [short(x, 4) for x in row["samples"]]
    return out
