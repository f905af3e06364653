"""`gradlint signal` output: a table per model, or JSON with one object per model."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from gradlint.signal.from_graph import ModelPrediction
from gradlint.signal.recurrence import Prediction


@dataclass(frozen=True)
class ModelSignal:
    """One model found in one file, as the command reports it."""

    filename: str
    function: str | None  # the enclosing function, None at module level
    line: int
    cell: int | None
    model: ModelPrediction

    @property
    def prediction(self) -> Prediction:
        return self.model.prediction


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


def to_json(models: list[ModelSignal]) -> str:
    return json.dumps([_model_dict(m) for m in models], indent=2) + "\n"


def _model_dict(model: ModelSignal) -> dict[str, Any]:
    p = model.prediction
    data: dict[str, Any] = {
        "filename": model.filename,
        "function": model.function,
        "line": model.line,
        "backward_ratio": _number(p.backward_ratio),
        "forward_growth": _number(p.forward_growth),
        "verdict": p.verdict,
        "layers": [
            {
                "name": lp.layer.name,
                "line": lp.layer.line,
                "activation": lp.layer.activation,
                "initializer": lp.layer.initializer,
                "gain": _number(lp.layer.gain),
                "pre_activation_variance": _number(lp.pre_activation),
                "forward_rms": _number(lp.forward_rms),
                "backward_signal": _number(lp.backward_signal),
                "factor": _number(lp.factor),
                "head": lp.layer.head,
            }
            for lp in p.layers
        ],
        "unknown": list(p.unknown),
    }
    if model.cell is not None:
        data["cell"] = model.cell
    return data


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"


def to_text(models: list[ModelSignal]) -> str:
    out: list[str] = []
    for model in models:
        p = model.prediction
        where = f"{model.filename}:{model.line}" + (f" (cell {model.cell})" if model.cell is not None else "")
        title = f"{where}: {model.function or '<module>'}"
        out.append(title)
        header = ("layer", "activation", "initializer", "gain", "forward RMS", "backward")
        rows = [header] + [
            (lp.layer.name + (" [head]" if lp.layer.head else ""), lp.layer.activation or "?",
             lp.layer.initializer or "?", _fmt(lp.layer.gain), _fmt(lp.forward_rms), _fmt(lp.backward_signal))
            for lp in p.layers
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        out.append(f"  predicted backward ratio first/last: {_fmt(p.backward_ratio)}; "
                   f"forward growth: {_fmt(p.forward_growth)}; verdict: {p.verdict}")
        for note in p.unknown:
            out.append(f"  unknown: {note}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")
