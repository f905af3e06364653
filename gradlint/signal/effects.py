"""What one layer's initializer does to the gradient, in numbers a finding can quote.

A layer's effect is its backward factor √χ (what it multiplies the backward signal's norm
by), and, over the run of layers it belongs to (between normalizations, which cancel what came
before them), the predicted ratio of the first layer's gradient to the last's. The same numbers
with a replacement kernel say what a fix achieves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.graph.facts import Layer
from gradlint.graph.stacks import StackEntry
from gradlint.graph.weights import KernelScale
from gradlint.signal.from_graph import SignalModel, _entry_steps
from gradlint.signal.model import ModelDescription, Step, Weighted
from gradlint.signal.recurrence import EXPLODING_RATIO, VANISHING_RATIO, predict

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class LayerEffect:
    factor: float | None  # √χ of the layer as written
    run_layers: int  # weighted layers in its run (repeats counted)
    run_ratio: float | None  # first/last gradient ratio over the run as written (None: run of 1)
    fixed_factor: float | None = None
    fixed_ratio: float | None = None

    @property
    def severity(self) -> str:
        """error: the run crosses the probe's thresholds, so training will suffer at once."""
        r = self.run_ratio
        return ERROR if r is not None and (r < VANISHING_RATIO or r > EXPLODING_RATIO) else WARNING


def run_of(signal: SignalModel, layer: Layer) -> list[StackEntry]:
    """The entries between normalizations around the layer (just its own when in no stack)."""
    found = signal.entry_of(layer)
    if found is None:
        return []
    stack_signal, index = found
    entries = stack_signal.stack.entries
    start = index
    while start > 0 and not entries[start - 1].normalized_after:
        start -= 1
    end = index
    while end < len(entries) - 1 and not entries[end].normalized_after:
        end += 1
    # The output layer is not part of the run the probe's ratio spans.
    if stack_signal.stack.end == "output" and end == len(entries) - 1 and end > index:
        end -= 1
    return list(entries[start:end + 1])


def layer_effect(graph: ModuleGraph, signal: SignalModel, layer: Layer,
                 replacements: dict[int, KernelScale] | None = None) -> LayerEffect:
    """The layer's effect as written and, with `replacements` (id(layer.call) → the kernel
    after the fix), as fixed."""
    run = run_of(signal, layer) or [StackEntry(layer)]
    now = _predict_run(graph, run, {}, layer)
    fixed = _predict_run(graph, run, replacements, layer) if replacements else None
    return LayerEffect(now[0], now[1], now[2], fixed[0] if fixed else None, fixed[2] if fixed else None)


def _predict_run(graph: ModuleGraph, run: list[StackEntry], replacements: dict[int, KernelScale] | None,
                 layer: Layer) -> tuple[float | None, int, float | None]:
    steps: list[Step] = []
    mine: list[Weighted] = []
    count = 0
    for entry in run:
        scale = (replacements or {}).get(id(entry.layer.call))
        layer_steps, weighted, _ = _entry_steps(graph, entry, False, scale, measured=False)
        if entry.layer is layer:
            mine.extend(weighted)
        count += len(weighted)
        steps.extend(layer_steps)
    prediction = predict(ModelDescription(tuple(steps)))
    factor = _typical_factor([p.factor for p in prediction.layers if any(p.layer is w for w in mine)])
    ratio = prediction.backward_ratio if count > 1 else None
    return factor, count, ratio


def _typical_factor(factors: list[float | None]) -> float | None:
    """A layer repeated by a loop: the geometric mean of its instances after the first (the
    ones the run's ratio multiplies); the first layer's input is the data, not a layer's."""
    used = factors[1:] if len(factors) > 1 else factors
    if not used or any(f is None for f in used):
        return None
    if any(f == 0 for f in used):  # type: ignore[comparison-overlap]
        return 0.0
    return math.exp(sum(math.log(f) for f in used) / len(used))  # type: ignore[arg-type]


def times(value: float | None) -> str:
    """×0.71, ×1.0, ×4.3e-05: a factor as a message shows it."""
    if value is None:
        return "×?"
    if value == 0:
        return "×0"
    if not math.isfinite(value):
        return "×inf"
    if 0.9 < value < 1.1 and abs(value - 1) >= 0.005:
        return f"×{value:.2f}"
    if 0.01 <= value < 100:
        shown = f"{value:.2g}" if value < 10 else f"{value:.0f}"
        return f"×{shown}.0" if value < 10 and "." not in shown else f"×{shown}"
    return f"×{value:.1e}"
