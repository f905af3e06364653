"""Measurements → GR findings, by the thresholds in ProbeOptions.

GR101 vanishing: backward signal first/last hidden below `vanishing_ratio`, or a weight
gradient that is exactly zero / a relative gradient below `min_relative_grad`.
GR102 exploding: that ratio above `exploding_ratio`, forward RMS growing by more than
`forward_growth` across the stack, or any gradient norm above `max_grad_norm`.
GR103 non-finite: NaN or Inf in the loss, an activation or a gradient.
GR104 dead units: a ReLU-family layer whose every unit outputs zero for every sample.

Each finding also names the layers it localizes (its span: the first dead layer and the dead
run, the layers where the backward signal collapses, …); a static finding explains it only when
it sits on the source rows where one of those layers was constructed.

Pure functions over plain data: no TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gradlint.codes import non_rule_url
from gradlint.diagnostics import Diagnostic, Position
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions

VANISHING = "GR101"
EXPLODING = "GR102"
NON_FINITE = "GR103"
DEAD_UNITS = "GR104"

# Which static findings can explain a runtime one: initialisation (GL1xx) and architecture
# (GL3xx) for every code, clipping/optimizer (GL2xx) for explosions and NaNs. Only findings on a
# layer of the span explain; the others of these families are listed as related.
_EXPLAINING_PREFIXES = {
    VANISHING: ("GL1", "GL3"),
    EXPLODING: ("GL1", "GL2", "GL3"),
    NON_FINITE: ("GL1", "GL2", "GL3"),
    DEAD_UNITS: ("GL1", "GL3"),
}

# Activations with an exactly-zero region: a unit never positive outputs 0 and passes no gradient.
DEAD_CAPABLE = frozenset({"relu", "relu6"})

# The share of the log-scale change the localized run of layers accounts for.
_COLLAPSE_SHARE = 0.8


@dataclass
class Found:
    """A finding before it becomes a Diagnostic: what, why, the numbers, and where."""

    code: str
    criterion: str
    message: str
    values: dict
    span: list[LayerStats] = field(default_factory=list)  # the layers the probe localizes it to
    headline: str = ""  # "dead ReLU stack": how a seed summary names it
    where: str = ""  # "layers dense_7…dense_16, width 5"


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
    static finding on a layer it localizes that explains it."""
    static = [d for d in static if d.code.startswith("GL")]
    dead = dead_run(report)
    found: list[Found] = []
    found += _non_finite(report)
    found += _dead_units(report, dead)
    found += _ratio(report, options, dead)
    found += _forward_growth(report, options)
    found += _large_gradients(report, options)
    found += _dead_weights(report, options, dead)
    diagnostics = []
    for item in found:
        family = [d for d in static if d.code.startswith(_EXPLAINING_PREFIXES[item.code])]
        explaining = [d for d in family if on_span(d, item.span)]
        message = item.message
        if explaining:
            message += f" (explained by {describe_findings(explaining)})"
        diagnostics.append(
            Diagnostic(
                code=item.code,
                message=message,
                filename=report.filename,
                location=location,
                end_location=location,
                url=non_rule_url(item.code),
                severity="error",  # measured on the real model: training suffers at initialization
                extra={
                    "target": report.target,
                    "criterion": item.criterion,
                    **item.values,
                    "headline": item.headline or message.split(":")[0],
                    "where": item.where,
                    "span": [layer.name for layer in item.span],
                    "explained_by": [{"code": d.code, "row": d.location.row} for d in explaining],
                    "related": [{"code": d.code, "row": d.location.row} for d in family if d not in explaining],
                },
            )
        )
    return diagnostics


def on_span(d: Diagnostic, span: Sequence[LayerStats]) -> bool:
    """The static finding's rows meet the construction rows of a layer in the span."""
    first, last = d.location.row, max(d.end_location.row, d.location.row)
    return any(layer.source_rows is not None and first <= layer.source_rows[1] and layer.source_rows[0] <= last
               for layer in span)


def describe_findings(found: Sequence[Diagnostic]) -> str:
    """"GL101 at lines 8, 9; GL301 at line 20"."""
    rows: dict[str, list[int]] = {}
    for d in found:
        rows.setdefault(d.code, [])
        if d.location.row not in rows[d.code]:
            rows[d.code].append(d.location.row)
    return "; ".join(describe_lines(c, sorted(r)) for c, r in sorted(rows.items()))


def dead_run(report: ProbeReport) -> list[LayerStats]:
    """The first ReLU-family layer whose every unit is dead, and the dead ones that follow it
    without a break ([] when no layer is entirely dead)."""
    layers = list(report.layers)
    start = next((i for i, layer in enumerate(layers) if _dead(layer)), None)
    if start is None:
        return []
    run = [layers[start]]
    for layer in layers[start + 1:]:
        if not _dead(layer):
            break
        run.append(layer)
    return run


def _dead(layer: LayerStats) -> bool:
    return layer.activation in DEAD_CAPABLE and layer.all_dead


def span_name(layers: Sequence[LayerStats]) -> str:
    """"dense_7…dense_16" or "dense_7"."""
    if not layers:
        return ""
    return layers[0].name if len(layers) == 1 else f"{layers[0].name}…{layers[-1].name}"


# --- criteria --------------------------------------------------------------------------------


def _non_finite(report: ProbeReport) -> list[Found]:
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
    # Where it starts: the first layer whose activations are non-finite, else the first with any.
    first = involved.get(FORWARD) or sorted((lay for ls in involved.values() for lay in ls), key=lambda x: x.index)
    return [Found(NON_FINITE, "non_finite", message, values, first[:1], "non-finite values",
                  f"from {first[0].name}" if first else "")]


def _dead_units(report: ProbeReport, dead: list[LayerStats]) -> list[Found]:
    """GR104: some ReLU-family layer has every unit dead for the whole batch."""
    if not dead:
        return []
    first, width = dead[0], dead[0].units
    units = "the only unit" if width == 1 else f"all {width} units"
    where = f"layer{'s' if len(dead) > 1 else ''} {span_name(dead)}, width {width}"
    after = {1: "", 2: ", and so does the ReLU layer after it"}.get(
        len(dead), f", and so do the {len(dead) - 1} ReLU layers after it")
    message = (
        f"dead ReLU stack: {units} of {first.name} (layer {first.index + 1}) output zero for "
        f"every sample of the batch{after} ({where}); no gradient passes back through {first.name}"
    )
    partly = {layer.name: layer.dead_units for layer in report.layers
              if layer.activation in DEAD_CAPABLE and layer.dead_units and not layer.all_dead}
    values = {"layers": [layer.name for layer in dead], "first_dead": first.name, "width": width,
              "partly_dead": partly}
    return [Found(DEAD_UNITS, "dead_units", message, values, [first], "dead ReLU stack", where)]


def _ratio(report: ProbeReport, options: ProbeOptions, dead: list[LayerStats]) -> list[Found]:
    pair = report.ratio_layers()
    if pair is None:
        return []
    first, last = pair
    b_first, b_last = first.backward_signal, last.backward_signal
    if b_first is None or b_last is None or not math.isfinite(b_first) or not math.isfinite(b_last):
        return []
    values = {"layers": [first.name, last.name], "first": b_first, "last": b_last,
              "predicted": report.predicted_backward_ratio}
    where = f"{first.name} (layer {first.index + 1})", f"{last.name} (layer {last.index + 1})"
    predicted = _predicted(report.predicted_backward_ratio)
    if b_last == 0:
        if b_first == 0:
            message = f"vanishing gradients: no backward signal reaches {where[1]} or {where[0]} (‖∂L/∂output‖ = 0)"
            span = dead[:1] or report.hidden()[-1:]
            return [Found(VANISHING, "backward_ratio", message, {**values, "ratio": None}, span,
                          "vanishing gradients", f"no signal at {last.name}")]
        return []
    ratio = b_first / b_last
    values["ratio"] = ratio
    span = dead[:1] or collapse_run(report.hidden(), lambda layer: layer.backward_signal, upward=ratio < 1)
    run = f"; it collapses across {span_name(span)}" if span and len(span) < len(report.hidden()) else ""
    if ratio < options.vanishing_ratio:
        message = (
            f"vanishing gradients: the backward signal ‖∂L/∂output‖ at {where[0]} is {fmt(ratio)} of its "
            f"value at {where[1]} ({fmt(b_first)} vs {fmt(b_last)}{predicted}; limit {options.vanishing_ratio:g})"
            f"{run}"
        )
        return [Found(VANISHING, "backward_ratio", message, values, span, "vanishing gradients",
                      f"ratio {fmt(ratio)}")]
    if ratio > options.exploding_ratio:
        message = (
            f"exploding gradients: the backward signal ‖∂L/∂output‖ at {where[0]} is {fmt(ratio)} times its "
            f"value at {where[1]} ({fmt(b_first)} vs {fmt(b_last)}{predicted}; limit {options.exploding_ratio:g})"
            f"{run}"
        )
        return [Found(EXPLODING, "backward_ratio", message, values, span, "exploding gradients",
                      f"ratio {fmt(ratio)}")]
    return []


def _predicted(value: float | None, prefix: str = "") -> str:
    """The signal model's number beside the measured one."""
    return f"; predicted {prefix}{fmt(value)}" if value is not None else ""


def collapse_run(layers: Sequence[LayerStats], value: Callable[[LayerStats], float | None], *,
                 upward: bool) -> list[LayerStats]:
    """The shortest run of consecutive layers across which the value changes by at least
    `_COLLAPSE_SHARE` of its whole change on a log scale: where a signal collapses, rather than
    where it ends. `upward`: the value judged is larger at the top of the stack than at the
    bottom (a vanishing backward signal, growing activations). A step from zero is the collapse."""
    points: list[tuple[LayerStats, float]] = [
        (layer, v) for layer in layers if (v := value(layer)) is not None and math.isfinite(v)]
    if len(points) < 2:
        return [layer for layer, _ in points]
    zero = [i for i, (_, v) in enumerate(points) if v <= 0]
    if zero:
        top = zero[-1]
        return [layer for layer, _ in points[top: top + 2]]
    logs = [math.log10(v) for _, v in points]
    sign = 1.0 if upward else -1.0
    steps = [sign * (logs[i + 1] - logs[i]) for i in range(len(logs) - 1)]
    total = sum(steps)
    if total <= 0:
        return [layer for layer, _ in points]
    best = (0, len(steps))
    for i in range(len(steps)):
        acc = 0.0
        for j in range(i, len(steps)):
            acc += steps[j]
            if acc >= _COLLAPSE_SHARE * total:
                if j + 1 - i < best[1] - best[0]:
                    best = (i, j + 1)
                break
    return [layer for layer, _ in points[best[0]: best[1] + 1]]


def _forward_growth(report: ProbeReport, options: ProbeOptions) -> list[Found]:
    growth = report.forward_growth()
    if growth is None:
        return []
    factor, first, top = growth
    if factor <= options.forward_growth:
        return []
    rising = [layer for layer in report.hidden() if first.index <= layer.index <= top.index]
    span = collapse_run(rising, lambda layer: layer.forward_rms, upward=True)
    message = (
        f"exploding activations: forward RMS grows from {fmt(first.forward_rms)} at {first.name} to "
        f"{fmt(top.forward_rms)} at {top.name} (×{fmt(factor)}{_predicted(report.predicted_forward_growth, '×')}; "
        f"limit {options.forward_growth:g})"
    )
    return [Found(EXPLODING, "forward_growth", message,
                  {"layers": [first.name, top.name], "growth": factor, "predicted": report.predicted_forward_growth},
                  span, "exploding activations", f"×{fmt(factor)}")]


def _large_gradients(report: ProbeReport, options: ProbeOptions) -> list[Found]:
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
    return [Found(EXPLODING, "max_grad_norm", message, {"layers": [layer.name for layer in large], "peak": peak},
                  large, "large gradients", f"largest {fmt(peak)} at {worst.name}")]


def _dead_weights(report: ProbeReport, options: ProbeOptions, dead: list[LayerStats]) -> list[Found]:
    found: list[Found] = []
    zero = [layer for layer in report.layers
            if layer.trainable and (layer.no_gradient or layer.weight_grad_norm == 0)]
    if zero:
        message = (
            f"vanishing gradients: the weight gradient of {name_layers(zero)} is exactly zero; "
            f"{'it does' if len(zero) == 1 else 'they do'} not learn"
        )
        # What blocks it: the first dead layer, else the layer right above the topmost zero one.
        above = [layer for layer in report.layers if layer.index == zero[-1].index + 1]
        span = dead[:1] or [zero[-1], *above]
        found.append(Found(VANISHING, "zero_gradient", message, {"layers": [layer.name for layer in zero]},
                           span, "zero weight gradients", f"{len(zero)} layers"))
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
        found.append(Found(VANISHING, "relative_grad", message,
                           {"layers": [layer.name for layer in slow], "smallest": smallest.relative_grad},
                           slow, "tiny relative gradients", f"smallest {fmt(smallest.relative_grad)}"))
    return found


def describe_lines(code: str, rows: list[int]) -> str:
    if len(rows) == 1:
        return f"{code} at line {rows[0]}"
    return f"{code} at lines {', '.join(str(r) for r in rows)}"
