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
from gradlint.runtime.verdicts import DEAD_CAPABLE, fmt

if TYPE_CHECKING:
    from gradlint.runtime.confirm import ConfirmResult

BAR_WIDTH = 16
NOT_MEASURED = "not measured"
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
    spent = sum(v for k, v in report.timings.items() if k != "import")
    if spent:  # the model's own time: TensorFlow's import is paid once per process
        setup += f"; {spent:.2f} s"
    lines = [head, setup, ""]
    signals = [layer.backward_signal for layer in report.layers
               if layer.backward_signal is not None and math.isfinite(layer.backward_signal)
               and layer.backward_signal > 0]
    low, high = (min(signals), max(signals)) if signals else (1.0, 1.0)
    predicted = any(layer.predicted_backward_signal is not None for layer in report.layers)
    dead = any(_dead_cell(layer) for layer in report.layers)
    headers = ["#", "layer", "type", "activation", "initializer", "forward RMS", "backward",
               *(["predicted"] if predicted else []), "‖∂L/∂W‖", "‖∂L/∂W‖/‖W‖", *(["dead"] if dead else []),
               "backward signal (log)"]
    rows = [
        [str(layer.index + 1), layer.name, layer.type, layer.activation or "-", layer.initializer or "-",
         _measured(layer.forward_rms, layer), _measured(layer.backward_signal, layer, "backward"),
         *([fmt(layer.predicted_backward_signal)] if predicted else []),
         _measured(layer.weight_grad_norm, layer, "weights"),
         fmt(layer.relative_grad) if layer.weight_grad_norm is not None else _measured(None, layer, "weights"),
         *([_dead_cell(layer) or "-"] if dead else []),
         bar(layer.backward_signal, low, high) + _marks(layer)]
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
    if report.seed_summary is not None:
        lines += _seed_lines(report)
    lines.append(_summary(report.findings, report))
    return "\n".join(lines) + "\n"


def _measured(value: float | None, layer: LayerStats, kind: str = "forward") -> str:
    """A number, or "not measured" where the probe could not see it. Not shown ("-"): a head's
    backward signal (the loss's own gradient is no layer's signal), a frozen layer's gradient."""
    if value is None and not (kind == "backward" and layer.head) and (layer.trainable or kind != "weights"):
        return NOT_MEASURED
    return fmt(value)


def _dead_cell(layer: LayerStats) -> str:
    """"5/5" dead units of a ReLU-family layer; "" where it does not apply."""
    if layer.activation not in DEAD_CAPABLE or layer.units is None or layer.dead_units is None:
        return ""
    return f"{layer.dead_units}/{layer.units}"


def _seed_lines(report: ProbeReport) -> list[str]:
    summary = report.seed_summary
    assert summary is not None
    seeds = ", ".join(str(s) for s in summary.seeds)
    lines = ["", f"seeds {seeds} ({summary.reason}):"]
    shown = {(d.code, d.extra.get("criterion")) for d in report.findings}  # after select/ignore
    of = len(summary.seeds)
    lines += [f"  {f.line(of)}" for f in summary.findings if (f.code, f.criterion) in shown] or [
        "  no findings at any seed"]
    return lines


def _predicted(value: float | None, prefix: str = "") -> str:
    return f" (predicted {prefix}{fmt(value)})" if value is not None else ""


def _summary(findings: Sequence[Diagnostic], report: ProbeReport | None = None) -> str:
    if not findings:
        return clean_verdict(report)
    codes = sorted({d.code for d in findings})
    return f"Found {plural(len(findings), 'problem')} ({', '.join(codes)})."


def clean_verdict(report: ProbeReport | None, after: str = "") -> str:
    """What a probe without findings may claim: clean only where signals were measured per
    layer; otherwise what was measured, and that nothing else was."""
    if report is None or fully_measured(report) or not report.layers:
        return f"No gradient problems found{after}."
    if not report.measured_kinds():
        return f"Nothing was measured per layer{after}, so the probe cannot say whether the gradients are healthy."
    return f"No gradient problems found{after} in what was measured ({measured_phrase(report)})."


def fully_measured(report: ProbeReport) -> bool:
    """Every hidden layer's forward RMS and backward signal and every layer's weight gradient
    (but a frozen layer's) was measured, as the verdicts use them: only then may a probe
    without findings call the model clean."""
    return bool(report.layers) and not any(_gaps(layer) for layer in report.layers)


def _gaps(layer: LayerStats) -> list[str]:
    gaps = []
    if layer.forward_rms is None and not layer.head:
        gaps.append("forward RMS")
    if layer.backward_signal is None and not layer.head:
        gaps.append("backward signal")
    if layer.weight_grad_norm is None and layer.trainable:
        gaps.append("weight gradients")
    return gaps


def measured_phrase(report: ProbeReport) -> str:
    """"weight gradients of 7 of 7 layers; not measured: forward RMS and backward signal of
    block, block_1, …"."""
    parts = report.measured_kinds()
    missing: dict[str, list[LayerStats]] = {}
    for layer in report.layers:
        gaps = _gaps(layer)
        if gaps:
            missing.setdefault(" and ".join(gaps), []).append(layer)
    for gap, layers in missing.items():
        which = "every layer" if len(layers) == len(report.layers) else name_list(layers)
        parts.append(f"not measured: {gap} of {which}")
    return "; ".join(parts)


def name_list(layers: Sequence[LayerStats], limit: int = 4) -> str:
    names = [layer.name for layer in layers]
    return ", ".join(names) if len(names) <= limit else f"{', '.join(names[:limit])}, …"


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
            _change(b.backward_signal if b else None, a.backward_signal if a else None,
                    unshown=(a or b).head),  # type: ignore[union-attr]
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


def _change(old: Any, new: Any, text: bool = False, unshown: bool = False) -> str:
    """"old → new"; "not measured" when neither was, "-" for what the table never shows (a head's
    backward signal)."""
    show = (lambda v: v or "-") if text else fmt
    if text and old == new:
        return show(old)
    if not text and old is None and new is None:
        return "-" if unshown else NOT_MEASURED
    return f"{show(old)} → {show(new)}"
