"""`--plot FILE.png|.svg`: backward signal and relative gradient per layer, log scale.

The measured backward signal is drawn beside the signal model's prediction (dashed), with the
GR101 and GR102 thresholds where the first layer's signal would trip them (the last hidden
layer's signal × the vanishing and exploding ratios), and the relative gradient below with the
GR101 limit. Each layer is labelled with the activation that follows it.

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
from gradlint.runtime.settings import ProbeOptions

SUFFIXES = (".png", ".svg")


def check_plot_path(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--plot {path}: the file must end in .png or .svg")


def _positive(values: Sequence[float | None]) -> list[float]:
    """Log axes cannot show 0, None or NaN: those points become gaps."""
    return [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in values]


def write_plot(path: Path, series: Sequence[tuple[str, ProbeReport]], options: ProbeOptions | None = None) -> None:
    """One line per (label, report): e.g. [("before", r1), ("after", r2)] with --confirm."""
    check_plot_path(path)
    figure = plot_figure(series, options or ProbeOptions())
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def plot_figure(series: Sequence[tuple[str, ProbeReport]], options: ProbeOptions):  # type: ignore[no-untyped-def]
    """The figure `write_plot` saves: backward signal above, relative gradient below."""
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
            (line,) = top.plot(xs, _positive([layer.backward_signal for layer in report.layers]), marker="o", ms=3,
                               label=f"{label} measured")
            predicted = _positive([layer.predicted_backward_signal for layer in report.layers])
            if any(math.isfinite(v) for v in predicted):
                top.plot(xs, predicted, linestyle="--", color=line.get_color(), label=f"{label} predicted")
        bottom.plot(xs, _positive([layer.relative_grad for layer in report.layers]), marker="o", ms=3, label=label)
    _thresholds(top, longest, options)
    top.set_yscale("log")
    top.set_ylabel("‖∂L/∂output‖")
    top.set_title(f"{longest.target}: backward signal per layer")
    if not longest.per_layer:
        top.text(0.5, 0.5, "backward signal not measured", ha="center", va="center", transform=top.transAxes)
    bottom.axhline(options.min_relative_grad, color="tab:red", linestyle=":", linewidth=1,
                   label=f"GR101 limit {options.min_relative_grad:g}")
    bottom.set_yscale("log")
    bottom.set_ylabel("‖∂L/∂W‖ / ‖W‖")
    bottom.set_title("relative weight gradient per layer")
    step = max(1, n // 30)
    ticks = list(range(1, n + 1, step))
    bottom.set_xticks(ticks)
    bottom.set_xticklabels([tick_label(longest, t - 1) for t in ticks], rotation=60, ha="right", fontsize=7)
    for axes in (top, bottom):
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=7)
    return figure


def threshold_levels(report: ProbeReport, options: ProbeOptions) -> tuple[float, float] | None:
    """The backward signal at which the first layer would be GR101 and GR102: the last hidden
    layer's signal times the vanishing and exploding ratios (None without that signal)."""
    pair = report.ratio_layers()
    if pair is None:
        return None
    last = pair[1].backward_signal
    if last is None or not math.isfinite(last) or last <= 0:
        return None
    return last * options.vanishing_ratio, last * options.exploding_ratio


def _thresholds(axes, report: ProbeReport, options: ProbeOptions) -> None:  # type: ignore[no-untyped-def]
    levels = threshold_levels(report, options)
    if levels is None:
        return
    low, high = levels
    axes.axhline(low, color="tab:red", linestyle=":", linewidth=1,
                 label=f"GR101 below: last hidden × {options.vanishing_ratio:g}")
    axes.axhline(high, color="tab:purple", linestyle=":", linewidth=1,
                 label=f"GR102 above: last hidden × {options.exploding_ratio:g}")


def tick_label(report: ProbeReport, index: int) -> str:
    """"dense_3 (relu)": the layer and the activation that follows it."""
    layer = report.layers[index]
    return f"{layer.name} ({layer.activation})" if layer.activation else layer.name
