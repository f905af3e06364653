"""`--plot FILE.png|.svg`: backward signal and relative gradient per layer, log scale.

Uses matplotlib's object API (no pyplot), so no GUI backend is touched and nothing global
changes in the user's process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from gradlint.errors import UsageError
from gradlint.runtime.errors import INSTALL_HINT, RuntimeMissing
from gradlint.runtime.results import ProbeReport

SUFFIXES = (".png", ".svg")


def check_plot_path(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--plot {path}: the file must end in .png or .svg")


def _positive(values: Sequence[float | None]) -> list[float]:
    """Log axes cannot show 0, None or NaN: those points become gaps."""
    return [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in values]


def write_plot(path: Path, series: Sequence[tuple[str, ProbeReport]]) -> None:
    """One line per (label, report): e.g. [("before", r1), ("after", r2)] with --confirm."""
    check_plot_path(path)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeMissing(f"--plot needs matplotlib ({exc}); {INSTALL_HINT}") from exc
    longest = max(series, key=lambda item: len(item[1].layers))[1]
    n = len(longest.layers)
    figure = Figure(figsize=(max(6.0, min(0.28 * n + 3, 18.0)), 6.5), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    for label, report in series:
        xs = list(range(1, len(report.layers) + 1))
        if report.per_layer:
            top.plot(xs, _positive([layer.backward_signal for layer in report.layers]), marker="o", ms=3, label=label)
        bottom.plot(xs, _positive([layer.relative_grad for layer in report.layers]), marker="o", ms=3, label=label)
    top.set_yscale("log")
    top.set_ylabel("‖∂L/∂output‖")
    top.set_title(f"{longest.target}: backward signal per layer")
    if not longest.per_layer:
        top.text(0.5, 0.5, "not measurable in a subclassed model", ha="center", va="center",
                 transform=top.transAxes)
    bottom.set_yscale("log")
    bottom.set_ylabel("‖∂L/∂W‖ / ‖W‖")
    bottom.set_title("relative weight gradient per layer")
    step = max(1, n // 30)
    ticks = list(range(1, n + 1, step))
    bottom.set_xticks(ticks)
    bottom.set_xticklabels([longest.layers[t - 1].name for t in ticks], rotation=60, ha="right", fontsize=7)
    for axes in (top, bottom):
        axes.grid(True, which="major", alpha=0.3)
        if len(series) > 1:
            axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
