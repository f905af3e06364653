"""Probe reports as text (a per-layer table with a log-scale bar, then the findings) and JSON.

The findings use the same line and JSON shapes as `gradlint check`, so one reader serves both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gradlint.diagnostics import Diagnostic
from gradlint.report.json_format import diagnostic_json
from gradlint.report.text import plural, render_line
from gradlint.runtime.results import LayerStats, ProbeReport, _jsonable
from gradlint.runtime.verdicts import fmt

if TYPE_CHECKING:
    from gradlint.runtime.confirm import ConfirmResult

BAR_WIDTH = 16
_EIGHTHS = " ▏▎▍▌▋▊▉"


# --- JSON ------------------------------------------------------------------------------------


def report_dict(report: ProbeReport) -> dict[str, Any]:
    data = report.to_dict()
    data["findings"] = [_jsonable(diagnostic_json(d)) for d in report.findings]
    return data


def render_json(reports: Sequence[ProbeReport]) -> str:
    """One target: its report object; several: a list of them."""
    data: Any = [report_dict(r) for r in reports]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, allow_nan=False) + "\n"


def render_confirm_json(results: Sequence[ConfirmResult]) -> str:
    data: Any = [{"before": report_dict(r.before), "after": report_dict(r.after)} for r in results]
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, allow_nan=False) + "\n"


# --- text ------------------------------------------------------------------------------------


def bar(value: float | None, low: float, high: float, width: int = BAR_WIDTH) -> str:
    """A bar whose length is the value's position between `low` and `high` on a log scale."""
    if value is None or not math.isfinite(value) or value <= 0:
        return ""
    if high <= low:
        fraction = 1.0
    else:
        fraction = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
    eighths = max(1, round(min(max(fraction, 0.0), 1.0) * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = []
    for cells in [headers, *rows]:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        lines.append("  " + "  ".join(parts).rstrip())
    return lines


def _marks(layer: LayerStats) -> str:
    notes = []
    if layer.non_finite:
        notes.append("non-finite " + "/".join(layer.non_finite))
    if layer.no_gradient:
        notes.append("no gradient")
    if not layer.trainable:
        notes.append("frozen")
    if layer.head:
        notes.append("output")
    return f" ({', '.join(notes)})" if notes else ""


def render_text(report: ProbeReport, color: bool = False) -> str:
    """The per-layer table, the summary numbers, then the findings in `check`'s line format."""
    head = (
        f"{report.target}: {report.model_class} {report.model_name!r} ({report.model_kind}), "
        f"{plural(len(report.layers), 'weighted layer')}"
    )
    setup = (
        f"loss {report.loss}; input {', '.join(report.inputs)}; "
        f"medians of {report.repeats} batch{'es' if report.repeats != 1 else ''}, seed {report.seed}"
    )
    lines = [head, setup, ""]
    signals = [layer.backward_signal for layer in report.layers
               if layer.backward_signal is not None and math.isfinite(layer.backward_signal)
               and layer.backward_signal > 0]
    low, high = (min(signals), max(signals)) if signals else (1.0, 1.0)
    predicted = any(layer.predicted_backward_signal is not None for layer in report.layers)
    headers = ["#", "layer", "type", "activation", "initializer", "forward RMS", "backward",
               *(["predicted"] if predicted else []), "‖∂L/∂W‖", "‖∂L/∂W‖/‖W‖", "backward signal (log)"]
    rows = [
        [str(layer.index + 1), layer.name, layer.type, layer.activation or "-", layer.initializer or "-",
         fmt(layer.forward_rms), fmt(layer.backward_signal),
         *([fmt(layer.predicted_backward_signal)] if predicted else []), fmt(layer.weight_grad_norm),
         fmt(layer.relative_grad), bar(layer.backward_signal, low, high) + _marks(layer)]
        for layer in report.layers
    ]
    lines += _table(headers, rows, right=set(range(5, len(headers) - 1)) | {0})
    lines.append("")
    summary = []
    ratio = report.backward_ratio()
    if report.ratio_layers() is not None:
        first, last = report.ratio_layers()  # type: ignore[misc]
        summary.append(f"backward signal {first.name}/{last.name}: {fmt(ratio)}"
                       + _predicted(report.predicted_backward_ratio))
    growth = report.forward_growth()
    if growth is not None:
        summary.append(f"forward RMS growth: ×{fmt(growth[0])}" + _predicted(report.predicted_forward_growth, "×"))
    if report.loss_value is not None or report.loss_non_finite:
        summary.append(f"loss: {'non-finite' if report.loss_non_finite else fmt(report.loss_value)}")
    if summary:
        lines.append("; ".join(summary))
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    lines += [render_line(d, color) for d in report.findings]
    lines.append(_summary(report.findings))
    return "\n".join(lines) + "\n"


def _predicted(value: float | None, prefix: str = "") -> str:
    return f" (predicted {prefix}{fmt(value)})" if value is not None else ""


def _summary(findings: Sequence[Diagnostic]) -> str:
    if not findings:
        return "No gradient problems found."
    codes = sorted({d.code for d in findings})
    return f"Found {plural(len(findings), 'problem')} ({', '.join(codes)})."


def render_confirm_text(result: ConfirmResult, color: bool = False) -> str:
    """Before and after the static fixes, per layer, then one verdict line per finding."""
    before, after = result.before, result.after
    fixes = result.fix_summary() or "no static fixes apply"
    lines = [f"{result.target}: before → after the static fixes ({fixes})", ""]
    headers = ["#", "layer", "initializer", "forward RMS", "backward signal", "‖∂L/∂W‖/‖W‖"]
    rows = []
    for i in range(max(len(before.layers), len(after.layers))):
        b = before.layers[i] if i < len(before.layers) else None
        a = after.layers[i] if i < len(after.layers) else None
        name = (a or b).name  # type: ignore[union-attr]
        rows.append([
            str(i + 1),
            name,
            _change(b.initializer if b else None, a.initializer if a else None, text=True),
            _change(b.forward_rms if b else None, a.forward_rms if a else None),
            _change(b.backward_signal if b else None, a.backward_signal if a else None),
            _change(b.relative_grad if b else None, a.relative_grad if a else None),
        ])
    lines += _table(headers, rows, right={0})
    lines.append("")
    lines += result.verdict_lines()
    lines.append("")
    if after.findings:
        lines.append("after the fixes:")
        lines += [render_line(d, color) for d in after.findings]
    lines.append(result.conclusion())
    return "\n".join(lines) + "\n"


def _change(old: Any, new: Any, text: bool = False) -> str:
    show = (lambda v: v or "-") if text else fmt
    if text and old == new:
        return show(old)
    return f"{show(old)} → {show(new)}"
