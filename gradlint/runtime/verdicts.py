"""Measurements → GR findings, by the thresholds in ProbeOptions.

GR101 vanishing: backward signal first/last hidden below `vanishing_ratio`, or a weight
gradient that is exactly zero / a relative gradient below `min_relative_grad`.
GR102 exploding: that ratio above `exploding_ratio`, forward RMS growing by more than
`forward_growth` across the stack, or any gradient norm above `max_grad_norm`.
GR103 non-finite: NaN or Inf in the loss, an activation or a gradient.

Pure functions over plain data: no TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from gradlint.codes import non_rule_url
from gradlint.diagnostics import Diagnostic, Position
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions

VANISHING = "GR101"
EXPLODING = "GR102"
NON_FINITE = "GR103"

# Which static findings can explain a runtime one: initialisation (GL1xx) and architecture
# (GL3xx) for both directions, clipping/optimizer (GL2xx) for explosions and NaNs.
_EXPLAINING_PREFIXES = {
    VANISHING: ("GL1", "GL3"),
    EXPLODING: ("GL1", "GL2", "GL3"),
    NON_FINITE: ("GL1", "GL2", "GL3"),
}


def fmt(value: float | None) -> str:
    """Numbers as the tables and messages show them: 0.99, 12.3, 3.8e-05, 2.5e+16."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:.3g}"
    return f"{value:.1e}"


def name_layers(layers: Sequence[LayerStats], limit: int = 6) -> str:
    names = [layer.name for layer in layers]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit - 2])} … {names[-1]} ({len(names)} layers)"


def judge(
    report: ProbeReport,
    options: ProbeOptions,
    *,
    location: Position = Position(1, 1),
    static: Iterable[Diagnostic] = (),
) -> list[Diagnostic]:
    """The findings of one probe, each naming layers and numbers and, where one exists, the
    static finding that explains it."""
    static = [d for d in static if d.code.startswith("GL")]
    found: list[tuple[str, str, str, dict]] = []  # code, criterion, message, values
    found += _non_finite(report)
    found += _ratio(report, options)
    found += _forward_growth(report, options)
    found += _large_gradients(report, options)
    found += _dead_weights(report, options)
    diagnostics = []
    for code, criterion, message, values in found:
        explained = _explaining(code, static)
        if explained:
            message += f" (explained by {explained})"
        diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                filename=report.filename,
                location=location,
                end_location=location,
                url=non_rule_url(code),
                severity="error",  # measured on the real model: training suffers at initialization
                extra={
                    "target": report.target,
                    "criterion": criterion,
                    **values,
                    "explained_by": [{"code": d.code, "row": d.location.row} for d in static
                                     if d.code.startswith(_EXPLAINING_PREFIXES[code])],
                },
            )
        )
    return diagnostics


# --- criteria --------------------------------------------------------------------------------


def _non_finite(report: ProbeReport) -> list[tuple[str, str, str, dict]]:
    parts = []
    if report.loss_non_finite:
        parts.append("the loss")
    by_kind = {
        FORWARD: "activations of",
        BACKWARD: "backward signal at",
        WEIGHTS: "weight gradients of",
    }
    involved: dict[str, list[LayerStats]] = {}
    for kind, words in by_kind.items():
        layers = [layer for layer in report.layers if kind in layer.non_finite]
        if layers:
            parts.append(f"{words} {name_layers(layers)}")
            involved[kind] = layers
    if not parts:
        return []
    message = f"non-finite values (NaN or Inf) in {'; '.join(parts)}"
    values = {"layers": sorted({layer.name for ls in involved.values() for layer in ls}),
              "loss_non_finite": report.loss_non_finite}
    return [(NON_FINITE, "non_finite", message, values)]


def _ratio(report: ProbeReport, options: ProbeOptions) -> list[tuple[str, str, str, dict]]:
    pair = report.ratio_layers()
    if pair is None:
        return []
    first, last = pair
    b_first, b_last = first.backward_signal, last.backward_signal
    if b_first is None or b_last is None or not math.isfinite(b_first) or not math.isfinite(b_last):
        return []
    values = {"layers": [first.name, last.name], "first": b_first, "last": b_last}
    where = f"{first.name} (layer {first.index + 1})", f"{last.name} (layer {last.index + 1})"
    if b_last == 0:
        if b_first == 0:
            message = f"vanishing gradients: no backward signal reaches {where[1]} or {where[0]} (‖∂L/∂output‖ = 0)"
            return [(VANISHING, "backward_ratio", message, {**values, "ratio": None})]
        return []
    ratio = b_first / b_last
    values["ratio"] = ratio
    if ratio < options.vanishing_ratio:
        message = (
            f"vanishing gradients: the backward signal ‖∂L/∂output‖ at {where[0]} is {fmt(ratio)} of its "
            f"value at {where[1]} ({fmt(b_first)} vs {fmt(b_last)}; limit {options.vanishing_ratio:g})"
        )
        return [(VANISHING, "backward_ratio", message, values)]
    if ratio > options.exploding_ratio:
        message = (
            f"exploding gradients: the backward signal ‖∂L/∂output‖ at {where[0]} is {fmt(ratio)} times its "
            f"value at {where[1]} ({fmt(b_first)} vs {fmt(b_last)}; limit {options.exploding_ratio:g})"
        )
        return [(EXPLODING, "backward_ratio", message, values)]
    return []


def _forward_growth(report: ProbeReport, options: ProbeOptions) -> list[tuple[str, str, str, dict]]:
    growth = report.forward_growth()
    if growth is None:
        return []
    factor, first, top = growth
    if factor <= options.forward_growth:
        return []
    message = (
        f"exploding activations: forward RMS grows from {fmt(first.forward_rms)} at {first.name} to "
        f"{fmt(top.forward_rms)} at {top.name} (×{fmt(factor)}; limit {options.forward_growth:g})"
    )
    return [(EXPLODING, "forward_growth", message,
             {"layers": [first.name, top.name], "growth": factor})]


def _large_gradients(report: ProbeReport, options: ProbeOptions) -> list[tuple[str, str, str, dict]]:
    limit = options.max_grad_norm
    large = [
        layer for layer in report.layers
        if any(v is not None and math.isfinite(v) and v > limit
               for v in (layer.weight_grad_norm, layer.backward_signal))
    ]
    if not large:
        return []
    worst = max(large, key=lambda layer: max(v for v in (layer.weight_grad_norm, layer.backward_signal)
                                             if v is not None and math.isfinite(v)))
    peak = max(v for v in (worst.weight_grad_norm, worst.backward_signal) if v is not None and math.isfinite(v))
    message = (
        f"exploding gradients: gradient norms above {limit:g} at {name_layers(large)} "
        f"(largest {fmt(peak)} at {worst.name})"
    )
    return [(EXPLODING, "max_grad_norm", message, {"layers": [layer.name for layer in large], "peak": peak})]


def _dead_weights(report: ProbeReport, options: ProbeOptions) -> list[tuple[str, str, str, dict]]:
    found: list[tuple[str, str, str, dict]] = []
    zero = [layer for layer in report.layers
            if layer.trainable and (layer.no_gradient or layer.weight_grad_norm == 0)]
    if zero:
        message = (
            f"vanishing gradients: the weight gradient of {name_layers(zero)} is exactly zero; "
            f"{'it does' if len(zero) == 1 else 'they do'} not learn"
        )
        found.append((VANISHING, "zero_gradient", message, {"layers": [layer.name for layer in zero]}))
    slow = [layer for layer in report.layers
            if layer.trainable and layer.relative_grad is not None and math.isfinite(layer.relative_grad)
            and 0 < layer.relative_grad < options.min_relative_grad]
    if slow:
        smallest = min(slow, key=lambda layer: layer.relative_grad)  # type: ignore[arg-type, return-value]
        message = (
            f"vanishing gradients: relative gradient ‖∂L/∂W‖/‖W‖ below {options.min_relative_grad:g} at "
            f"{name_layers(slow)} (smallest {fmt(smallest.relative_grad)} at {smallest.name}); "
            f"these weights would barely move"
        )
        found.append((VANISHING, "relative_grad", message,
                      {"layers": [layer.name for layer in slow], "smallest": smallest.relative_grad}))
    return found


def _explaining(code: str, static: list[Diagnostic]) -> str:
    """"GL101 at lines 8, 9; GL201 at line 20" for the static findings that bear on `code`."""
    rows: dict[str, list[int]] = {}
    for d in static:
        if d.code.startswith(_EXPLAINING_PREFIXES[code]):
            rows.setdefault(d.code, [])
            if d.location.row not in rows[d.code]:
                rows[d.code].append(d.location.row)
    return "; ".join(describe_lines(c, sorted(r)) for c, r in sorted(rows.items()))


def describe_lines(code: str, rows: list[int]) -> str:
    if len(rows) == 1:
        return f"{code} at line {rows[0]}"
    return f"{code} at lines {', '.join(str(r) for r in rows)}"
