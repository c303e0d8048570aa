"""The figure: per case, throughput against size with the copy roofline, and hand/autodiff time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.runner import Result, ratio
from reference.catalog import BY_NAME

STYLE: dict[str, dict[str, Any]] = {
    "handwritten": {"color": "tab:blue", "marker": "o"},
    "autodiff": {"color": "tab:orange", "marker": "s"},
    "forward": {"color": "tab:green", "marker": "^"},
    "numpy": {"color": "tab:purple", "marker": "x"},
    "torch": {"color": "tab:red", "marker": "+"},
}
RATIO_LIMIT = (1 / 8, 8.0)
"""The shared y-range of the ratio panels is clipped to this (an outlying round of a noisy run
would otherwise flatten every panel)."""
X_LABEL = {"elementwise": "elements", "last_axis": "width n (same total elements)", "network": "batch"}


def _panels(results: Sequence[Result], dtype: str, device: str) -> dict[tuple[str, str], list[Result]]:
    panels: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.dtype == dtype and r.device == device:
            panels.setdefault((r.case, r.group), []).append(r)
    return panels


def _series(rows: Sequence[Result], impl: str) -> tuple[list[int], list[Any]]:
    chosen = sorted((r for r in rows if r.impl == impl), key=lambda r: r.sweep)
    return [r.sweep for r in chosen], chosen


def plot(
    results: Sequence[Result], path: Path, dtype: str = "float32", device: str | None = None, *, quick: bool = False
) -> None:
    """Write figure(...) to `path` as a PNG (whole, or not at all)."""
    import io

    from benchmarks.files import replace_file

    fig = figure(results, dtype, device, quick=quick)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    replace_file(path, png.getvalue())


def figure(results: Sequence[Result], dtype: str = "float32", device: str | None = None, *, quick: bool = False) -> Any:
    """Write a PNG: one column of two axes per case (and network size). Above: the gradient's
    bytes (read + written) over each implementation's median time, against the swept size,
    with a copy of the same bytes dashed (the memory roofline). Below: hand-written time over
    autodiff time, the median over rounds with their range shaded (below 1:
    hand-written is faster), on one y-scale shared by every panel. Each axis says which
    way is better; a --quick run (few sizes and rounds) says so in the title."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    if device is None:
        device = next((r.device for r in results if not r.device.startswith("sharded")), "cpu")
    panels = _panels(results, dtype, device)
    if not panels:  # a run without this dtype/device: plot whatever was measured first
        first = results[0]
        dtype, device = first.dtype, first.device
        panels = _panels(results, dtype, device)
    cols = min(4, len(panels))
    grid_rows = math.ceil(len(panels) / cols)
    fig = plt.figure(figsize=(4.2 * cols, 4.6 * grid_rows), layout="constrained")
    outer = fig.add_gridspec(grid_rows, cols)
    ratio_axes = []
    lowest, highest = 1.0, 1.0
    for i, ((case, group), rows) in enumerate(panels.items()):
        cell = outer[i // cols, i % cols].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.05)
        top = fig.add_subplot(cell[0])
        bottom = fig.add_subplot(cell[1], sharex=top)
        ratio_axes.append(bottom)
        # Every program is drawn as the gradient's bytes over its time, so the lines compare
        # times directly; the copy moves those same bytes (the roofline).
        work = {r.sweep: r.bytes for r in rows if r.impl == "handwritten"}
        copy_style: dict[str, Any] = {"color": "k", "linestyle": "--"}
        for impl, style in (*STYLE.items(), ("copy", copy_style)):
            xs, chosen = _series(rows, impl)
            pts = [(x, work[x] / r.seconds / 1e9) for x, r in zip(xs, chosen, strict=True) if x in work]
            if pts:
                label = "copy (roofline)" if impl == "copy" else impl
                top.plot(*zip(*pts, strict=True), label=label, linewidth=1.2, markersize=4, **style)
        top.set_xscale("log", base=2)
        top.set_yscale("log")
        top.set_title(f"{case} {group}".strip(), fontsize=10)
        top.set_ylabel("gradient bytes / time (GB/s), higher is better", fontsize=8)
        top.tick_params(labelbottom=False, labelsize=7)
        top.tick_params(which="minor", labelsize=6)
        top.grid(True, which="major", alpha=0.3)
        xs, hands = _series(rows, "handwritten")
        autos = {r.sweep: r for r in rows if r.impl == "autodiff"}
        pairs = [(x, ratio(h, autos[x])) for x, h in zip(xs, hands, strict=True) if x in autos]
        if pairs:
            sweep, spread = [p[0] for p in pairs], [p[1] for p in pairs]
            low, high = [r.low for r in spread], [r.high for r in spread]
            bottom.fill_between(sweep, low, high, color="tab:blue", alpha=0.25)
            bottom.plot(sweep, [r.median for r in spread], "o-", color="tab:blue", markersize=3)
            lowest, highest = min(lowest, *low), max(highest, *high)
        bottom.axhline(1.0, color="k", linewidth=0.8)
        bottom.set_ylabel("hand / autodiff time\n(lower is better)", fontsize=8)
        bottom.set_xlabel(X_LABEL[BY_NAME[case].layout], fontsize=8)
        bottom.tick_params(labelsize=7)
        bottom.grid(True, alpha=0.3)
        if i == 0:
            top.legend(fontsize=7)
    # One y-scale for every ratio panel, so a 1% wobble never looks like a trend: logarithmic
    # (0.5x and 2x equally far from 1), wide enough for every range, at most 1/8 to 8.
    y_range = (max(RATIO_LIMIT[0], lowest / 1.1), min(RATIO_LIMIT[1], highest * 1.1))
    for ax in ratio_axes:
        ax.set_yscale("log", base=2)
        ax.set_ylim(*y_range)
    for ax in fig.axes:  # set after the scales: a log scale makes its own minor labels, at the default size
        ax.tick_params(which="minor", labelsize=6)
    run = " [--quick: few sizes and rounds, indicative only]" if quick else ""
    fig.suptitle(
        f"handgrad bench: {dtype} on {device}, under jit (ratios: median and range over rounds){run}",
        fontsize=12,
    )
    return fig
    plt.close(fig)
