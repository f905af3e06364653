"""What a probe measured, as plain data: no TensorFlow, so verdicts, reports and plots can be
tested and rendered without it, and a report can be written as JSON as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from gradlint.diagnostics import Diagnostic

FORWARD = "forward"  # the layer's output
BACKWARD = "backward"  # d loss / d output
WEIGHTS = "weights"  # d loss / d weights


@dataclass(frozen=True)
class LayerStats:
    """Medians over the probe's batches for one weighted layer (None: not measured)."""

    index: int
    name: str
    type: str
    activation: str | None
    initializer: str | None
    forward_rms: float | None
    backward_signal: float | None
    weight_grad_norm: float | None
    weight_norm: float | None
    relative_grad: float | None
    trainable: bool = True
    head: bool = False
    non_finite: tuple[str, ...] = ()  # FORWARD / BACKWARD / WEIGHTS seen in any batch
    no_gradient: bool = False  # trainable, but the loss does not depend on its weights
    # The signal model's prediction; the backward one anchored at the last hidden layer's measurement.
    predicted_forward_rms: float | None = None
    predicted_backward_signal: float | None = None
    # Units of the output never positive on any batch (a ReLU-family unit that is dead), of `units`.
    dead_units: int | None = None
    units: int | None = None
    # Where the layer was constructed in the target's file: (first row, last row) of the call.
    source_rows: tuple[int, int] | None = None

    @property
    def measured(self) -> bool:
        """Anything was measured for this layer (a subclassed model's layer may have nothing)."""
        return any(v is not None for v in (self.forward_rms, self.backward_signal, self.weight_grad_norm))

    @property
    def all_dead(self) -> bool:
        return self.units is not None and self.units > 0 and self.dead_units == self.units

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "activation": self.activation,
            "initializer": self.initializer,
            "forward_rms": _json_number(self.forward_rms),
            "backward_signal": _json_number(self.backward_signal),
            "predicted_forward_rms": _json_number(self.predicted_forward_rms),
            "predicted_backward_signal": _json_number(self.predicted_backward_signal),
            "weight_grad_norm": _json_number(self.weight_grad_norm),
            "relative_grad": _json_number(self.relative_grad),
            "weight_norm": _json_number(self.weight_norm),
            "trainable": self.trainable,
            "head": self.head,
            "non_finite": list(self.non_finite),
            "dead_units": self.dead_units,
            "units": self.units,
            "source_rows": list(self.source_rows) if self.source_rows else None,
        }


@dataclass(frozen=True)
class SeedFinding:
    """One finding (code and criterion) across the probed seeds."""

    code: str
    criterion: str
    headline: str  # "dead ReLU stack"
    seeds: tuple[int, ...]  # the seeds that show it
    where: tuple[str, ...]  # per showing seed: "layers dense_7…dense_16, width 5" ("" if nothing to add)

    def line(self, of: int) -> str:
        """`GR104 dead ReLU stack in 2 of 5 seeds (layers dense_7…dense_16, width 5)`."""
        places = list(dict.fromkeys(w for w in self.where if w))
        if len(places) > 1:
            detail = "; ".join(f"seed {s}: {w}" for s, w in zip(self.seeds, self.where) if w)
        else:
            detail = places[0] if places else ""
        seeds = f"seed{'s' if len(self.seeds) != 1 else ''} {', '.join(str(s) for s in self.seeds)}"
        return (f"{self.code} {self.headline} in {len(self.seeds)} of {of} seeds ({seeds}"
                + (f"; {detail}" if detail else "") + ")")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "criterion": self.criterion, "headline": self.headline,
                "seeds": list(self.seeds), "count": len(self.seeds), "where": list(self.where)}


@dataclass(frozen=True)
class SeedSummary:
    """Which seeds were probed, why that many, and which findings each seed shows."""

    seeds: tuple[int, ...]
    reason: str  # "3 seeds: 145 parameters ≤ 100,000" / "--seeds 5"
    findings: tuple[SeedFinding, ...]
    per_seed: tuple[tuple[int, tuple[str, ...]], ...]  # (seed, its finding codes)

    def lines(self) -> list[str]:
        return [f.line(len(self.seeds)) for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "reason": self.reason,
            "findings": [f.to_dict() for f in self.findings],
            "per_seed": [{"seed": seed, "findings": list(codes)} for seed, codes in self.per_seed],
        }


@dataclass(frozen=True)
class ProbeReport:
    """One target's probe: per-layer statistics, how they were obtained, and the findings."""

    target: str
    filename: str
    model_name: str
    model_class: str
    model_kind: str  # sequential | functional | subclassed
    layers: tuple[LayerStats, ...]
    loss: str
    loss_value: float | None
    loss_non_finite: bool
    inputs: tuple[str, ...]
    batch_size: int
    repeats: int
    seed: int
    notes: tuple[str, ...] = ()
    # What the signal model predicts for the two summary numbers (None: not predictable).
    predicted_backward_ratio: float | None = None
    predicted_forward_growth: float | None = None
    parameters: int | None = None  # the model's parameter count
    framework: str = "keras"  # "keras" | "torch"
    seed_summary: SeedSummary | None = None  # set when several seeds were probed
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    findings: tuple[Diagnostic, ...] = ()

    @property
    def per_layer(self) -> bool:
        """Whether the backward signal was measured per layer, which the first/last ratio and
        the forward growth need."""
        return any(layer.backward_signal is not None for layer in self.layers) or (
            self.model_kind != "subclassed" and not self.layers)

    def measured_kinds(self) -> list[str]:
        """What was measured per layer, in words: ["forward RMS of 7 of 7 layers", …]."""
        kinds = []
        for label, attr in (("forward RMS", "forward_rms"), ("backward signal", "backward_signal"),
                            ("weight gradients", "weight_grad_norm")):
            count = sum(getattr(layer, attr) is not None for layer in self.layers)
            if count:
                kinds.append(f"{label} of {count} of {len(self.layers)} layers")
        return kinds

    # --- the summary numbers the verdicts and the confirm table share -----------------------

    def hidden(self) -> list[LayerStats]:
        """Weighted layers that are not output heads (fall back to all but the last)."""
        hidden = [layer for layer in self.layers if not layer.head]
        return hidden if hidden else list(self.layers[:-1])

    def ratio_layers(self) -> tuple[LayerStats, LayerStats] | None:
        """(first weighted layer, last hidden weighted layer) whose backward signal was measured,
        when they differ."""
        if not self.per_layer:
            return None
        hidden = [layer for layer in self.hidden() if layer.backward_signal is not None]
        if len(hidden) < 2:
            return None
        return hidden[0], hidden[-1]

    def backward_ratio(self) -> float | None:
        """Backward signal at the first weighted layer / at the last hidden one."""
        pair = self.ratio_layers()
        if pair is None:
            return None
        first, last = pair
        if not _finite(first.backward_signal) or not _finite(last.backward_signal):
            return None
        if last.backward_signal == 0:
            return None
        return first.backward_signal / last.backward_signal  # type: ignore[operator]

    def forward_growth(self) -> tuple[float, LayerStats, LayerStats] | None:
        """Largest hidden forward RMS / the first layer's, with the two layers."""
        if not self.per_layer:
            return None
        hidden = [h for h in self.hidden() if _finite(h.forward_rms)]
        if len(hidden) < 2 or not hidden[0].forward_rms:
            return None
        top = max(hidden[1:], key=lambda h: h.forward_rms)  # type: ignore[arg-type, return-value]
        return top.forward_rms / hidden[0].forward_rms, hidden[0], top  # type: ignore[operator]

    def with_findings(self, findings: list[Diagnostic]) -> ProbeReport:
        return replace(self, findings=tuple(findings))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: target, layers, findings (in `check`'s shape), and how it was made."""
        growth = self.forward_growth()
        return {
            "target": self.target,
            "filename": self.filename,
            "model": {"name": self.model_name, "class": self.model_class, "kind": self.model_kind,
                      "framework": self.framework},
            "loss": self.loss,
            "loss_value": _json_number(self.loss_value),
            "inputs": list(self.inputs),
            "batch_size": self.batch_size,
            "repeats": self.repeats,
            "seed": self.seed,
            "per_layer": self.per_layer,
            "summary": {
                "backward_ratio": _json_number(self.backward_ratio()),
                "forward_growth": _json_number(growth[0] if growth else None),
                "predicted_backward_ratio": _json_number(self.predicted_backward_ratio),
                "predicted_forward_growth": _json_number(self.predicted_forward_growth),
                "loss_non_finite": self.loss_non_finite,
            },
            "layers": [layer.to_dict() for layer in self.layers],
            "findings": [_jsonable(d.to_dict()) for d in self.findings],
            "parameters": self.parameters,
            "seeds": self.seed_summary.to_dict() if self.seed_summary else None,
            "notes": list(self.notes),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _json_number(value: float | None) -> float | None:
    """JSON has no NaN or Infinity: non-finite numbers become null (see `non_finite`)."""
    return value if _finite(value) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
