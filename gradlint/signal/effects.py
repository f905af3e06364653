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
from gradlint.signal.model import ModelDescription, Step
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
    now = _run_prediction(graph, signal, run, None)
    fixed = _run_prediction(graph, signal, run, replacements) if replacements else None
    key = id(layer.call)
    return LayerEffect(now.factor(key), now.count, now.ratio,
                       fixed.factor(key) if fixed else None, fixed.ratio if fixed else None)


@dataclass(frozen=True)
class _RunPrediction:
    """One run's prediction: what every layer in it multiplies the gradient by, and the ratio."""

    factors: dict[int, list[float | None]]  # id(layer.call) → its instances' factors, in order
    count: int
    ratio: float | None

    def factor(self, key: int) -> float | None:
        return _typical_factor(self.factors.get(key, []))


def _run_prediction(graph: ModuleGraph, signal: SignalModel, run: list[StackEntry],
                    replacements: dict[int, KernelScale] | None) -> _RunPrediction:
    """Predicted once per run and set of replacements, however many of its layers ask: a
    500-layer Sequential is one run, and each of its findings reads the same prediction."""
    memo = signal.__dict__.setdefault("_run_predictions", {})
    key = (id(run[0]), id(run[-1]), len(run), id(replacements) if replacements else 0)
    found = memo.get(key)
    if found is not None:
        return found
    steps: list[Step] = []
    owners: dict[int, int] = {}  # id(Weighted step) → id(layer.call)
    count = 0
    for entry in run:
        scale = (replacements or {}).get(id(entry.layer.call))
        layer_steps, weighted, _ = _entry_steps(graph, entry, False, scale, measured=False)
        for step in weighted:
            owners[id(step)] = id(entry.layer.call)
        count += len(weighted)
        steps.extend(layer_steps)
    prediction = predict(ModelDescription(tuple(steps)))
    factors: dict[int, list[float | None]] = {}
    for predicted in prediction.layers:
        owner = owners.get(id(predicted.layer))
        if owner is not None:
            factors.setdefault(owner, []).append(predicted.factor)
    found = _RunPrediction(factors, count, prediction.backward_ratio if count > 1 else None)
    memo[key] = found
    # The key holds ids: keep what they name alive as long as the memo, so none is reused.
    signal.__dict__.setdefault("_run_keys_alive", []).append((run, replacements))
    return found


def _typical_factor(factors: list[float | None]) -> float | None:
    """A layer repeated by a loop: the geometric mean of its instances after the first (the
    ones the run's ratio multiplies); the first layer's input is the data, not a layer's."""
    used = factors[1:] if len(factors) > 1 else factors
    known = [f for f in used if f is not None]
    if not used or len(known) != len(used):
        return None
    if any(f == 0 for f in known):
        return 0.0
    return math.exp(sum(math.log(f) for f in known) / len(known))


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
