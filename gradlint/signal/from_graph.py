"""The static front-end: the model graph's stacks → descriptions the recurrence predicts.

A stack (graph/stacks.py) is a run of weighted layers, each feeding the next through layers
without weights; its layers and what lies between them become steps. What the graph cannot see
(an activation given as a variable, an initializer's scale, a width) stays unknown and is named,
so that a prediction never rests on a guess it does not admit.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.scopes import Scope
from gradlint.graph.shapes import keeps_shape
from gradlint.graph.stacks import OUTPUT, Stack, StackEntry
from gradlint.graph.values import constant_value
from gradlint.graph.weights import KernelScale, kernel_scale
from gradlint.keras_api.activations import LINEAR
from gradlint.keras_api.layers import NORMALIZATION_LAYERS, Role
from gradlint.signal.model import (
    Activation,
    Dropout,
    ModelDescription,
    Normalize,
    Reshape,
    Residual,
    Step,
    Weighted,
)
from gradlint.signal.recurrence import Prediction, predict
from gradlint.torch_api.layers import TORCH_NN, torch_layer

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

_NORMALIZATION_KIND = {
    "BatchNormalization": "batch", "SyncBatchNormalization": "batch",
    "LayerNormalization": "layer", "GroupNormalization": "layer",
    "RMSNormalization": "rms", "UnitNormalization": "rms",
}
_DEFAULT_EPSILON = {"RMSNormalization": 1e-6, "UnitNormalization": 1e-12}
_DROPOUTS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout"}
# Keras 3's defaults for the slope of its activation layers.
_LAYER_SLOPE = {"LeakyReLU": ("negative_slope", "alpha", 0.3), "ELU": ("alpha", None, 1.0)}


@dataclass(frozen=True)
class StackSignal:
    """One stack's description and prediction, and the steps that stand for each entry."""

    stack: Stack
    description: ModelDescription
    prediction: Prediction
    weighted: tuple[tuple[StackEntry, Weighted], ...]


@dataclass(frozen=True)
class ModelPrediction:
    """A model (or the part of one gradlint can follow) and what the recurrence predicts."""

    description: ModelDescription
    prediction: Prediction
    line: int
    weighted_count: int = -1  # -1: count from the prediction

    @property
    def layers(self) -> int:
        return self.weighted_count if self.weighted_count >= 0 else len(self.prediction.layers)


class SignalModel:
    """The predictions for one module's stacks, computed once and shared by the rules."""

    def __init__(self, graph: ModuleGraph) -> None:
        self.graph = graph

    @cached_property
    def stacks(self) -> list[StackSignal]:
        return [describe_stack(self.graph, s) for s in self.graph.stacks]

    @cached_property
    def models(self) -> list[ModelPrediction]:
        """Whole models: functional ones walked from their Input through forks and residual
        adds, then every stack that is not part of one (Sequential models, fragments)."""
        from gradlint.signal.functional import functional_models

        found: list[ModelPrediction] = []
        covered: set[int] = set()
        for model in functional_models(self.graph):
            found.append(ModelPrediction(model.description, predict(model.description), model.line))
            covered |= model.layers
        if self.graph.torch.layers:
            from gradlint.signal.torch_functional import torch_models

            for torch_model in torch_models(self.graph):  # PyTorch: forward()s with residual adds
                found.append(ModelPrediction(torch_model.description, predict(torch_model.description),
                                             torch_model.line))
                covered |= torch_model.layers
        for signal in self.stacks:
            entries = signal.stack.entries
            if entries and id(entries[0].layer.call) in covered:
                continue
            line = self.graph.source.position(self.graph.source.start(entries[0].layer.call)).row
            found.append(ModelPrediction(signal.description, signal.prediction, line, len(signal.weighted)))
        return sorted(found, key=lambda m: m.line)

    def entry_of(self, layer: Layer) -> tuple[StackSignal, int] | None:
        """The stack that holds the layer, and its index there (the first, if several)."""
        return self._entries.get(id(layer.call))

    @cached_property
    def _entries(self) -> dict[int, tuple[StackSignal, int]]:
        found: dict[int, tuple[StackSignal, int]] = {}
        for signal in self.stacks:
            for index, entry in enumerate(signal.stack.entries):
                found.setdefault(id(entry.layer.call), (signal, index))
        return found


def signal_of(graph: ModuleGraph) -> SignalModel:
    """The module's signal model, built once however many rules ask."""
    found = graph.__dict__.get("_signal_model")
    if found is None:
        found = graph.__dict__["_signal_model"] = SignalModel(graph)
    return found


def describe_stack(graph: ModuleGraph, stack: Stack) -> StackSignal:
    steps: list[Step] = []
    unknown: list[str] = []
    weighted: list[tuple[StackEntry, Weighted]] = []
    last = len(stack.entries) - 1
    for index, entry in enumerate(stack.entries):
        head = index == last and stack.end == OUTPUT
        layer_steps, layer_weighted, notes = _entry_steps(graph, entry, head)
        steps.extend(layer_steps)
        weighted.extend((entry, w) for w in layer_weighted)
        unknown.extend(n for n in notes if n not in unknown)
    if stack.end != OUTPUT and stack.entries:
        unknown.append("the last layer's output goes where gradlint cannot follow; no output layer is assumed")
    description = ModelDescription(tuple(steps), _name(graph, stack), tuple(unknown))
    return StackSignal(stack, description, predict(description), tuple(weighted))


def describe_run(graph: ModuleGraph, entries: list[StackEntry],
                 replacements: dict[int, KernelScale] | None = None) -> tuple[ModelDescription, list[Weighted]]:
    """A run of entries as a model of its own, without an output layer: for a rule's message.
    `replacements` (id(layer.call) → kernel) stand for what other rules' fixes would write."""
    steps: list[Step] = []
    unknown: list[str] = []
    weighted: list[Weighted] = []
    for entry in entries:
        scale = (replacements or {}).get(id(entry.layer.call))
        layer_steps, layer_weighted, notes = _entry_steps(graph, entry, False, scale, measured=False)
        steps.extend(layer_steps)
        weighted.extend(layer_weighted)
        unknown.extend(notes)
    return ModelDescription(tuple(steps), "run", tuple(unknown)), weighted


def _entry_steps(graph: ModuleGraph, entry: StackEntry, head: bool, scale: KernelScale | None = None,
                 measured: bool = True) -> tuple[list[Step], list[Weighted], list[str]]:
    """The steps one entry stands for: its layer and what follows it, as often as it repeats.

    `measured`: a normalization with a learned scale is a row of the probe's table of its own
    (its γ starts at 1), so it is also a point where the backward signal is read; a rule's run
    reads only the layers it judges."""
    layer = entry.layer
    notes: list[str] = []
    repeat = entry.depth if entry.repeat is not None else 1
    line = graph.source.position(graph.source.start(layer.call)).row
    if entry.repeat is None:
        notes.append(f"line {line}: repeated by a loop of unknown length; counted once")
    elif not entry.solo and (entry.repeat or 1) > 1:
        notes.append(f"line {line}: repeated with other layers by a loop; counted once")
    after: list[Step] = []
    # Values per example as the steps after the layer pass them on: a normalization's row
    # compares by norm, as the probe does, only when its width is known.
    elements = layer_elements(graph, layer)
    for item in entry.after:
        if isinstance(item, Layer) and not keeps_shape(item):
            elements = layer_elements(graph, item)
        found = after_step(graph, item)
        if found is None:
            name = item.class_name if isinstance(item, Layer) else item.name
            notes.append(f"line {line}: what {name} does to the signal is not modelled")
            continue
        after.append(found)
        if measured and isinstance(item, Layer) and (isinstance(found, Normalize) or item.class_name == "PReLU"):
            # a layer with weights: a row of the probe's table
            after.append(normalization_row(graph, item, layer_elements(graph, item) or elements))
    following = layer.following
    if (layer.activation_arg is None and following is not None and following.source == "layer"
            and not any(isinstance(a, Activation) for a in after)):
        # The activation is applied where the stack cannot follow (a helper's caller): the
        # graph still knows which one the output meets.
        after.append(Activation(following.name))
    steps: list[Step] = []
    weighted: list[Weighted] = []
    for turn, fan_in in enumerate(turn_fan_ins(layer, repeat)):
        kernel = scale or kernel_scale(graph, layer, fan_in)
        if turn == 0:
            if kernel.unknown:
                notes.append(f"line {line}: {kernel.unknown}")
            elif kernel.assumed_equal_widths:
                notes.append(f"line {line}: {layer.class_name}'s fan-in is not visible; equal widths assumed")
        step = _weighted(graph, layer, kernel, line, head)
        if turn == 0 and step.activation is None:
            notes.append(f"line {line}: {layer.class_name}'s activation is not known statically")
        steps.extend([step, *after])
        weighted.append(step)
    return steps, weighted, notes


def turn_fan_ins(layer: Layer, repeat: int) -> list[int | None]:
    """The fan-in of each turn: a loop's first turn sees what came before it, the others the
    layer's own width."""
    choices = layer.fan_in_choices
    if layer.fan_in is not None or len(choices) != 2 or layer.fan_out is None:
        return [None] * repeat
    # A Dense's own width is its units; a convolution's, its kernel area × filters (its fan-out).
    own = layer.fan_out
    if own not in choices:
        return [None] * repeat
    other = choices[0] if choices[1] == own else choices[1]
    return [other, *[own] * (repeat - 1)]


def _weighted(graph: ModuleGraph, layer: Layer, kernel: KernelScale, line: int, head: bool) -> Weighted:
    activation, slope = own_activation(graph, layer)
    return Weighted(
        name=f"{layer.class_name} (line {line})", gain=kernel.gain, back_gain=kernel.back_gain,
        activation=activation, slope=slope, elements=layer_elements(graph, layer), head=head, line=line,
        initializer=layer.initializer.display if layer.initializer is not None else None,
    )


def walked_weighted(graph: ModuleGraph, layer: Layer, unknown: list[str], fan_in: int | None = None) -> Weighted:
    """A weighted layer as a step of a walk through forks and joins (signal/functional.py,
    signal/torch_functional.py); what its kernel's scale cannot see is added to `unknown`,
    once per line. `fan_in` overrides the layer's (one turn of a loop)."""
    kernel = kernel_scale(graph, layer, fan_in)
    line = graph.source.position(graph.source.start(layer.call)).row
    note = (kernel.unknown if kernel.unknown else
            f"{layer.class_name}'s fan-in is not visible; equal widths assumed" if kernel.assumed_equal_widths else None)
    if note is not None and f"line {line}: {note}" not in unknown:
        unknown.append(f"line {line}: {note}")
    activation, slope = own_activation(graph, layer)
    return Weighted(f"{layer.class_name} (line {line})", kernel.gain, kernel.back_gain, activation, slope,
                    layer_elements(graph, layer), line=line,
                    initializer=layer.initializer.display if layer.initializer is not None else None)


def walked_unweighted(graph: ModuleGraph, layer: Layer) -> list[Step] | None:
    """A layer without a kernel as the steps of a walk: a normalization followed by its γ's
    row (the probe measures it too); None where it is not modelled."""
    found = after_step(graph, layer)
    if found is None:
        return None
    if isinstance(found, Normalize):
        return [found, normalization_row(graph, layer)]
    return [found]


def mark_head(steps: list[Step]) -> list[Step]:
    """The last weighted step at the top level is the model's output layer."""
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        if isinstance(step, Weighted):
            steps[index] = replace(step, head=True)
            break
        if isinstance(step, Residual):
            break
    return steps


def own_activation(graph: ModuleGraph, layer: Layer) -> tuple[str | None, float | None]:
    """The activation inside the layer (linear when none), with its slope where it has one."""
    if layer.activation_unknown:
        return None, None
    fact = layer.activation_arg
    return (fact.name, None) if fact is not None else (LINEAR, None)


def normalization_row(graph: ModuleGraph, layer: Layer, elements: int | None = None) -> Weighted:
    """A layer without a kernel but with weights (a normalization's learned scale γ, ones at
    first; PReLU's slopes) as the row the probe measures after it: it changes nothing. Its
    width (`elements`, else its own visible output's) lets ratios across it compare norms."""
    line = graph.source.position(graph.source.start(layer.call)).row
    start = "γ = 1" if layer.class_name != "PReLU" else "α = 0"
    return Weighted(f"{layer.class_name} (line {line})", 1.0, 1.0, "linear",
                    elements=elements if elements is not None else layer_elements(graph, layer), line=line,
                    initializer=start)


def after_step(graph: ModuleGraph, item: Layer | ActivationFact) -> Step | None:
    """A layer without weights (or an activation function) between two weighted layers."""
    if isinstance(item, ActivationFact):
        return Activation(item.name, item.slope)
    name = item.spec.name  # a torch layer's is the Keras layer it stands for
    torch_entry = torch_layer(TORCH_NN + graph.torch.torch_class[id(item.call)]) if graph.torch.owns(item) else None
    if item.spec.role is Role.ACTIVATION:
        effect = graph.catalog.effect_of(item)
        if effect.activation is None:
            return Activation(None)
        slope = _layer_slope(graph, item)
        activation = "relu" if name == "PReLU" else effect.activation.name  # PReLU starts at slope 0
        return Activation(activation, slope)
    if name in NORMALIZATION_LAYERS:
        epsilon = _number(graph, item, "epsilon" if torch_entry is None else "eps")
        if epsilon is None:
            epsilon = torch_entry.default_epsilon if torch_entry is not None else None
        if epsilon is None and graph.flax.owns(item):
            epsilon = graph.flax.entries[id(item.call)].default_epsilon  # (Flax's: 1e-5 or 1e-6)
        return Normalize(_NORMALIZATION_KIND[name], epsilon if epsilon is not None else _DEFAULT_EPSILON.get(name, 1e-3))
    if name in _DROPOUTS:
        rate = _number(graph, item, "rate" if torch_entry is None else "p", position=0)
        if rate is None and torch_entry is not None and not item.call.args and not item.call.keywords:
            rate = torch_entry.default_rate
        return Dropout(rate) if rate is not None and 0 <= rate < 1 else None
    if name in ("AlphaDropout", "ActivityRegularization", "Masking") or item.spec.role is Role.TRANSPARENT and name not in (
            "GaussianNoise",) and not name.startswith(("MaxPool", "GlobalMaxPool")):
        return Reshape()
    return None


def _layer_slope(graph: ModuleGraph, layer: Layer) -> float | None:
    found = _LAYER_SLOPE.get(layer.class_name)
    if found is None:
        return None
    key, old_key, default = found
    value = _number(graph, layer, key)
    if value is None and old_key is not None:
        value = _number(graph, layer, old_key)
    return default if value is None else value


def _number(graph: ModuleGraph, layer: Layer, name: str, position: int | None = None) -> float | None:
    found = layer.argument(name)
    expr = found[0] if found else (layer.call.args[position] if position is not None and len(layer.call.args) > position else None)
    if expr is None:
        return None
    value = constant_value(expr, layer.scope, graph.resolver)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def layer_elements(graph: ModuleGraph, layer: Layer) -> int | None:
    """Values in one example's output, where its shape is fully visible."""
    from gradlint.graph.shapes import output_shape

    shape = output_shape(layer, graph.shapes.input_of(layer), graph)
    if shape is None or not shape.exact or any(d is None for d in shape.dims):
        return layer.fan_out if layer.spec.name == "Dense" else None
    return math.prod(shape.dims)  # type: ignore[arg-type]


def _name(graph: ModuleGraph, stack: Stack) -> str:
    first = stack.entries[0].layer if stack.entries else None
    if first is None:
        return "model"
    scope: Scope | None = graph.scopes.scope_of(first.call)
    while scope is not None and not isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
        scope = scope.parent  # (a comprehension's own scope)
    if scope is None or not isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "<module>"  # (the loop stops at a function or the module)
    parent = scope.parent
    if parent is not None and isinstance(parent.node, ast.ClassDef):
        return parent.node.name  # layers made in a method: the model is the class
    return scope.node.name
