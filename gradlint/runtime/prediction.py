"""The signal model's runtime front-end: a built Keras model → the steps the recurrence predicts.

The built model knows what its source may hide: every width, every activation object and the
kernels' actual values. A kernel's gain is read from those values (fan_in · Var(W), fans as
Keras' compute_fans counts them: kernel area × channels), so any initializer, seed or custom
scheme is covered without a table. Sequential models are walked in order; functional ones from
their output back to their input, and a two-input Add whose one input is an ancestor of the
other becomes a residual branch. What the walk cannot follow (several inputs or outputs, a
Concatenate, a shortcut with weights of its own, a subclassed call()) is named, and then there
is no prediction rather than a guess.

The numbers are matched to the probe's rows and summarised as the probe summarises its
measurement (first/last hidden row, largest hidden forward RMS over the first's), so the two
can be set side by side.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradlint.runtime.backend import Backend
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.structure import SUBCLASSED, Structure
from gradlint.runtime.verdicts import fmt
from gradlint.signal.expectations import known
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

# Prediction and measurement further apart than this (either way) earn a note.
MISMATCH_FACTOR = 10.0


@dataclass(frozen=True)
class RowPrediction:
    """One probe row's predicted numbers (None: not predictable)."""

    forward_rms: float | None
    backward_signal: float | None  # ‖∂L/∂output‖ relative to the last hidden row's


@dataclass(frozen=True)
class BuiltPrediction:
    """The prediction for every probe row, and the summary numbers as the probe defines them."""

    rows: tuple[RowPrediction | None, ...]
    backward_ratio: float | None
    forward_growth: float | None
    unknown: tuple[str, ...] = ()


class Unmappable(Exception):
    """The model has a structure the signal model cannot describe."""


def predict_built(model: Any, backend: Backend, structure: Structure) -> BuiltPrediction:
    """Describe the built model, run the recurrence, and read it out per probe row."""
    nothing = (None,) * len(structure.rows)
    if structure.kind == SUBCLASSED:
        return BuiltPrediction(nothing, None, None, (
            "subclassed model: its call() is Python code the signal model cannot follow",))
    describer = _Describer(backend, structure)
    try:
        steps = describer.model_steps(model)
    except Unmappable as exc:
        return BuiltPrediction(nothing, None, None, (str(exc),))
    steps = up_to_last_hidden(steps)
    description = ModelDescription(tuple(steps), model.name, tuple(describer.relevant_notes(steps)))
    prediction = predict(description)
    rows = predicted_rows(prediction, describer.tapped, structure)
    ratio, growth = summary_numbers(rows, structure)
    return BuiltPrediction(tuple(rows), ratio, growth, tuple(prediction.unknown))


def predicted_rows(prediction: Prediction, tapped: dict[int, Weighted], structure: Structure,
                   backward: bool = True) -> list[RowPrediction | None]:
    """Each probe row's predicted numbers, from the step that stands for it (`tapped`: row
    index → step); `backward` False: forward ones only (the walk missed the backward anchor)."""
    by_step = {id(lp.layer): lp for lp in prediction.layers}
    rows: list[RowPrediction | None] = []
    for index in range(len(structure.rows)):
        step = tapped.get(index)
        found = by_step.get(id(step)) if step is not None else None
        if found is None:
            rows.append(None)
            continue
        # At an output head the recurrence starts its backward walk: no prediction of its own.
        head = index in structure.heads
        rows.append(RowPrediction(found.forward_rms, None if head or not backward else found.backward_signal))
    return rows


def up_to_last_hidden(steps: list[Step]) -> list[Step]:
    """The steps up to the one that holds the last hidden row. What follows (the output head,
    a softmax, pooling) multiplies every row's gradient by the same factor, so the ratios do not
    depend on it; and starting the backward walk right there keeps a residual add whose branch
    ends in the last hidden row exact (the skip's share is known), where an output the
    recurrence cannot see through would otherwise hide it."""
    last = -1
    for index, step in enumerate(steps):
        taps: list[tuple[str, Any]] = []
        flatten_steps([step], taps)
        if any(kind == "tap" and not item.head for kind, item in taps):
            last = index
    return steps[: last + 1] if last >= 0 else steps


def summary_numbers(rows: list[RowPrediction | None], structure: Structure) -> tuple[float | None, float | None]:
    """First/last hidden backward ratio and forward growth, over the rows the probe uses."""
    hidden = [i for i in range(len(rows)) if i not in structure.heads] or list(range(len(rows) - 1))
    if len(hidden) < 2:
        return None, None
    first, last = rows[hidden[0]], rows[hidden[-1]]
    ratio = None
    if first is not None and last is not None and first.backward_signal is not None and last.backward_signal:
        ratio = first.backward_signal / last.backward_signal
    growth = None
    rms = [rows[i].forward_rms if rows[i] is not None else None for i in hidden]  # type: ignore[union-attr]
    if all(r is not None and math.isfinite(r) for r in rms) and rms[0]:
        growth = max(rms[1:]) / rms[0]  # type: ignore[type-var, operator]
    return ratio, growth


def with_prediction(report: ProbeReport, predicted: BuiltPrediction) -> ProbeReport:
    """The report with the prediction beside each measurement, and notes where the two part
    (more than MISMATCH_FACTOR) or where the signal model could not see."""
    pair = report.ratio_layers()
    anchor = pair[1].backward_signal if pair is not None else None
    anchored = anchor is not None and math.isfinite(anchor) and anchor > 0
    layers = []
    for layer, row in zip(report.layers, predicted.rows):
        if row is None:
            layers.append(layer)
            continue
        backward = row.backward_signal * anchor if anchored and row.backward_signal is not None else None  # type: ignore[operator]
        layers.append(replace(layer, predicted_forward_rms=row.forward_rms, predicted_backward_signal=backward))
    notes = list(report.notes)
    if report.per_layer:  # (a subclassed model's note already says what cannot be seen)
        notes += [f"signal model: {note}" for note in predicted.unknown]
    measured_ratio = report.backward_ratio()
    if mismatch(predicted.backward_ratio, measured_ratio):
        notes.append(f"the signal model predicts a backward ratio of {fmt(predicted.backward_ratio)}, measured "
                     f"{fmt(measured_ratio)}: a structure the model does not know yet")
    growth = report.forward_growth()
    if growth is not None and mismatch(predicted.forward_growth, growth[0]):
        notes.append(f"the signal model predicts a forward growth of ×{fmt(predicted.forward_growth)}, measured "
                     f"×{fmt(growth[0])}: a structure the model does not know yet")
    return replace(report, layers=tuple(layers), notes=tuple(notes),
                   predicted_backward_ratio=predicted.backward_ratio,
                   predicted_forward_growth=predicted.forward_growth)


def mismatch(predicted: float | None, measured: float | None) -> bool:
    """Prediction and measurement differ by more than MISMATCH_FACTOR (both known and finite)."""
    if predicted is None or measured is None or not (math.isfinite(predicted) and math.isfinite(measured)):
        return False
    if predicted <= 0 or measured <= 0:
        return (predicted <= 0) != (measured <= 0)
    return abs(math.log10(predicted / measured)) > math.log10(MISMATCH_FACTOR)


# --- the walk ---------------------------------------------------------------------------------


class _Describer:
    """Turns layers into steps and remembers which step stands for which probe row."""

    def __init__(self, backend: Backend, structure: Structure) -> None:
        self.keras = backend.keras
        self.structure = structure
        self.row_of = {id(row.layer): i for i, row in enumerate(structure.rows)}
        self.tapped: dict[int, Weighted] = {}  # row index → its step
        self.blind: dict[int, str] = {}  # id of an unknown step → what it stands for

    # -- containers

    def model_steps(self, model: Any) -> list[Step]:
        if isinstance(model, self.keras.Sequential):
            return self._sequential(model)
        if _is_functional(model):
            return self._functional(model)
        raise Unmappable(f"{model.name}: a model nested in a subclassed one is not followed")

    def _sequential(self, model: Any) -> list[Step]:
        steps: list[Step] = []
        for layer in model.layers:
            steps.extend(self._layer(layer))
        return steps

    def _functional(self, model: Any) -> list[Step]:
        from keras import tree

        inputs, outputs = list(tree.flatten(model.inputs)), list(tree.flatten(model.outputs))
        if len(inputs) != 1 or len(outputs) != 1:
            raise Unmappable(f"{model.name} has {len(inputs)} inputs and {len(outputs)} outputs; "
                             f"the signal model follows one path from one input to one output")
        return _Graph(self).between(outputs[0], inputs[0])

    # -- layers

    def _layer(self, layer: Any) -> list[Step]:
        """The steps one layer (or nested model) stands for."""
        k = self.keras.layers
        if isinstance(layer, k.InputLayer):
            return []
        if isinstance(layer, self.keras.Sequential) or _is_functional(layer):
            return self.model_steps(layer)
        if id(layer) in self.row_of:
            return self._weighted_layer(layer)
        return self._weightless(layer)

    def _weighted_layer(self, layer: Any) -> list[Step]:
        k = self.keras.layers
        if _own_call(layer):
            self._note_blind(layer, f"{layer.name!r} ({type(layer).__name__}) has a call() of its own; "
                                    f"what it does to the signal is not modelled")
            return [self._tap(layer, None, None, None, None)]
        gains = kernel_gains(layer)
        if gains is not None:
            activation, slope = self._activation_of(layer, getattr(layer, "activation", None))
            return [self._tap(layer, gains[0], gains[1], activation, slope)]
        if isinstance(layer, (k.BatchNormalization, k.LayerNormalization, k.GroupNormalization,
                              k.RMSNormalization)):
            scale = _mean_square(_scale_variable(layer))
            return [self._normalize(layer), self._tap(layer, scale, scale, "linear", None)]
        if isinstance(layer, k.PReLU):
            alpha = float(np.mean(np.asarray(layer.alpha, dtype="float64")))
            return [self._tap(layer, 1.0, 1.0, "prelu", alpha)]
        self._note_blind(layer, f"what {type(layer).__name__} {layer.name!r} does to the signal is not modelled")
        return [self._tap(layer, None, None, None, None)]

    def _tap(self, layer: Any, gain: float | None, back_gain: float | None, activation: str | None,
             slope: float | None) -> Weighted:
        index = self.row_of[id(layer)]
        if index in self.tapped:
            raise Unmappable(f"{layer.name} is applied more than once; the signal model follows one path")
        row = self.structure.rows[index]
        step = Weighted(name=layer.name, gain=gain, back_gain=back_gain, activation=activation, slope=slope,
                        elements=_elements(layer), head=index in self.structure.heads,
                        initializer=row.initializer)
        self.tapped[index] = step
        return step

    def _normalize(self, layer: Any) -> Normalize:
        k = self.keras.layers
        epsilon = float(getattr(layer, "epsilon", 1e-3))
        if isinstance(layer, k.BatchNormalization):
            return Normalize("batch", epsilon)
        if isinstance(layer, k.RMSNormalization) or getattr(layer, "rms_scaling", False):
            return Normalize("rms", epsilon)
        return Normalize("layer", epsilon)

    def _weightless(self, layer: Any) -> list[Step]:
        k = self.keras.layers
        if _own_call(layer):
            return [self._blind(layer, f"{layer.name!r} ({type(layer).__name__}) has a call() of its own; "
                                       f"what it does to the signal is not modelled")]
        if isinstance(layer, (k.Activation, k.ReLU, k.LeakyReLU, k.ELU, k.Softmax)):
            activation, slope = self._activation_of(layer, layer)
            return [Activation(activation, slope)]
        if isinstance(layer, (k.LayerNormalization, k.GroupNormalization, k.RMSNormalization,
                              k.BatchNormalization)):
            return [self._normalize(layer)]  # no scale or centre: nothing to learn, still a row-less step
        if isinstance(layer, (k.Dropout, k.SpatialDropout1D, k.SpatialDropout2D, k.SpatialDropout3D,
                              k.GaussianDropout)):
            return [Dropout(float(layer.rate))]
        if isinstance(layer, (k.Flatten, k.Reshape, k.Permute, k.Identity, k.ActivityRegularization,
                              k.Cropping1D, k.Cropping2D, k.Cropping3D)):
            return [Reshape(_elements(layer))]
        return [self._blind(layer, f"what {type(layer).__name__} {layer.name!r} does to the signal is not modelled")]

    def _activation_of(self, layer: Any, activation: Any) -> tuple[str | None, float | None]:
        """(name, slope) of an activation function or layer; (None, None) with a note if unknown."""
        found = activation_of(self.keras, activation)
        if found[0] is None:
            self._note_blind(layer, f"{layer.name!r}'s activation {activation!r} is not in the signal model's tables")
        return found

    # -- what cannot be modelled

    def _blind(self, layer: Any, note: str) -> Activation:
        """A step that makes everything after it unknown, remembered with why."""
        step = Activation(None)
        self.blind[id(step)] = note
        return step

    def _note_blind(self, layer: Any, note: str) -> None:
        self.blind[id(layer)] = note

    def relevant_notes(self, steps: list[Step]) -> list[str]:
        """The notes of unknown steps and layers that lie before the last hidden row: only they
        change the predicted ratio and growth (what follows scales every gradient alike)."""
        order: list[tuple[str, Any]] = []
        flatten_steps(steps, order)
        last = max((i for i, (kind, step) in enumerate(order) if kind == "tap" and not step.head), default=-1)
        notes: list[str] = []
        for i, (kind, step) in enumerate(order[: last + 1]):
            note = self.blind.get(id(step))
            if note is None and kind == "tap":
                layer = self.structure.rows[self._row_index(step)].layer
                note = self.blind.get(id(layer))
            if note is not None and note not in notes:
                notes.append(note)
        return notes

    def _row_index(self, step: Weighted) -> int:
        return next(i for i, s in self.tapped.items() if s is step)


def identity_skip(first: Any, second: Any, ancestors: Callable[[Any], set[int]]) -> tuple[Any, Any] | None:
    """Of two added tensors, (the skip, the branch's end) where one is an ancestor of the
    other (x + f(x)); None where neither is."""
    if id(first) in ancestors(second):
        return first, second
    if id(second) in ancestors(first):
        return second, first
    return None


def flatten_steps(steps: list[Step] | tuple[Step, ...], out: list[tuple[str, Any]]) -> None:
    for step in steps:
        if isinstance(step, Residual):
            flatten_steps(step.branch, out)
        else:
            out.append(("tap" if isinstance(step, Weighted) else "step", step))


class _Graph:
    """A functional model's graph, walked from a tensor back to the one it derives from."""

    def __init__(self, describer: _Describer) -> None:
        self.describer = describer
        self._ancestors: dict[int, set[int]] = {}

    def between(self, tensor: Any, start: Any) -> list[Step]:
        """The steps that turn `start` into `tensor`, in forward order."""
        if tensor is start:
            return []
        operation, inputs = _producer(tensor)
        if operation is None or not inputs:
            raise Unmappable(f"{_name(tensor)} does not derive from the model's input along one path")
        if type(operation).__name__ == "Add":
            return self._residual(operation, inputs, start)
        if len(inputs) != 1:
            raise Unmappable(f"{operation.name} ({type(operation).__name__}) merges {len(inputs)} tensors; "
                             f"the signal model follows residual adds only")
        before = self.between(inputs[0], start)
        if hasattr(operation, "weights"):  # a layer or a nested model
            return before + self.describer._layer(operation)
        note = f"what the operation {operation.name!r} ({type(operation).__name__}) does to the signal is not modelled"
        return before + [self.describer._blind(operation, note)]

    def _residual(self, operation: Any, inputs: list[Any], start: Any) -> list[Step]:
        if len(inputs) != 2 or inputs[0] is inputs[1]:
            raise Unmappable(f"{operation.name} adds {len(inputs)} tensors; the signal model knows x + f(x)")
        ends = identity_skip(inputs[0], inputs[1], self.ancestors)
        if ends is None:
            raise Unmappable(f"{operation.name} adds two branches, neither of them the identity (a shortcut "
                             f"with weights of its own, or parallel paths); the signal model knows x + f(x)")
        skip, branch_end = ends
        before = self.between(skip, start)
        branch = self.between(branch_end, skip)
        return before + [Residual(tuple(branch))]

    def ancestors(self, tensor: Any) -> set[int]:
        """ids of every tensor `tensor` is computed from."""
        key = id(tensor)
        if key not in self._ancestors:
            found: set[int] = set()
            stack = list(_producer(tensor)[1])
            while stack:
                current = stack.pop()
                if id(current) in found:
                    continue
                found.add(id(current))
                stack.extend(_producer(current)[1])
            self._ancestors[key] = found
        return self._ancestors[key]


def _producer(tensor: Any) -> tuple[Any, list[Any]]:
    """The operation that made a symbolic tensor and its input tensors ((None, []) for an input)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return None, []
    operation = history.operation
    try:
        node = operation._inbound_nodes[history.node_index]
    except (AttributeError, IndexError):
        return operation, []
    return operation, list(node.input_tensors)


def _name(tensor: Any) -> str:
    return str(getattr(tensor, "name", "a tensor"))


def _is_functional(layer: Any) -> bool:
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - Keras moved it
        return hasattr(layer, "_nodes_by_depth")
    return isinstance(layer, Functional)


# --- what one layer does ----------------------------------------------------------------------


def kernel_gains(layer: Any) -> tuple[float, float] | None:
    """(fan_in · Var(W), fan_out · Var(W)) of a layer's kernel, from its values; None for a layer
    without one kernel of a kind the fans are known for. Strides thin the backward fan-out."""
    from keras import layers as k
    from keras.src.layers.convolutional.base_conv import BaseConv
    from keras.src.layers.convolutional.base_conv_transpose import BaseConvTranspose
    from keras.src.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
    from keras.src.layers.convolutional.base_separable_conv import BaseSeparableConv

    if isinstance(layer, k.Dense):
        kernel = _values(layer.kernel)
        return kernel.shape[0] * _var(kernel), kernel.shape[1] * _var(kernel)
    if isinstance(layer, k.EinsumDense):
        kernel = _values(layer.kernel)
        fan_in, fan_out = einsum_fans(layer.equation, kernel.shape)
        return fan_in * _var(kernel), fan_out * _var(kernel)
    if isinstance(layer, BaseConv):
        kernel = _values(layer.kernel)
        area = math.prod(kernel.shape[:-2])
        groups = getattr(layer, "groups", 1) or 1
        back = area * kernel.shape[-1] / groups / _stride(layer)
        return area * kernel.shape[-2] * _var(kernel), back * _var(kernel)
    if isinstance(layer, BaseConvTranspose):
        kernel = _values(layer.kernel)  # (*kernel, filters, in_channels)
        area = math.prod(kernel.shape[:-2])
        return area * kernel.shape[-1] / _stride(layer) * _var(kernel), area * kernel.shape[-2] * _var(kernel)
    if isinstance(layer, BaseDepthwiseConv):
        kernel = _values(layer.kernel)  # (*kernel, in_channels, multiplier)
        area = math.prod(kernel.shape[:-2])
        return area * _var(kernel), area * kernel.shape[-1] / _stride(layer) * _var(kernel)
    if isinstance(layer, BaseSeparableConv):
        depthwise, pointwise = _values(layer.depthwise_kernel), _values(layer.pointwise_kernel)
        area = math.prod(depthwise.shape[:-2])
        d_var, p_var = _var(depthwise), _var(pointwise)
        forward = area * d_var * pointwise.shape[-2] * p_var
        backward = area * depthwise.shape[-1] / _stride(layer) * d_var * pointwise.shape[-1] * p_var
        return forward, backward
    return None


_EINSUM = re.compile(r"^\s*([\w.]+)\s*,\s*([\w.]+)\s*->\s*([\w.]+)\s*$")


def einsum_fans(equation: str, kernel_shape: tuple[int, ...]) -> tuple[int, int]:
    """An EinsumDense kernel's fans: the dimensions it sums over going forward (in the input,
    not in the output) and going backward (in the output, not in the input)."""
    match = _EINSUM.match(equation)
    if match is None:
        raise Unmappable(f"the einsum equation {equation!r} is not of the form 'ab,bc->ac'")
    inputs, kernel, output = (part.replace("...", "") for part in match.groups())
    sizes = dict(zip(kernel, kernel_shape))
    fan_in = math.prod(sizes[c] for c in kernel if c in inputs and c not in output)
    fan_out = math.prod(sizes[c] for c in kernel if c in output and c not in inputs)
    return fan_in, fan_out


def activation_of(keras: Any, activation: Any) -> tuple[str | None, float | None]:
    """(name, slope) of an activation function or activation layer; (None, None) if unknown."""
    k = keras.layers
    if activation is None:
        return "linear", None
    if isinstance(activation, k.Activation):
        return activation_of(keras, activation.activation)
    if isinstance(activation, k.ReLU):
        slope = float(activation.negative_slope or 0.0)
        if activation.threshold:
            return None, None
        if activation.max_value is not None:
            return ("relu6", None) if float(activation.max_value) == 6.0 and not slope else (None, None)
        return ("leaky_relu", slope) if slope else ("relu", None)
    if isinstance(activation, k.LeakyReLU):
        return "leaky_relu", float(activation.negative_slope)
    if isinstance(activation, k.ELU):
        return "elu", float(activation.alpha)
    if isinstance(activation, k.Softmax):
        return "softmax", None
    name = getattr(activation, "__name__", None)
    if isinstance(name, str) and (known(name) or name in ("softmax", "log_softmax")):
        return name, None
    return None, None


def _own_call(layer: Any) -> bool:
    """The layer's class, or one of its bases outside Keras, defines its forward pass."""
    call = getattr(type(layer), "call", None)
    module = getattr(call, "__module__", None) or ""
    return module.split(".")[0] not in ("keras", "tf_keras", "tensorflow")


def _values(variable: Any) -> np.ndarray:
    return np.asarray(variable, dtype="float64")


def _var(values: np.ndarray) -> float:
    return float(np.var(values)) if values.size else 0.0


def _mean_square(variable: Any) -> float:
    """What a normalization's scale does to the second moment (1 without a scale)."""
    if variable is None:
        return 1.0
    return float(np.mean(np.square(_values(variable))))


def _scale_variable(layer: Any) -> Any:
    """A normalization's learned scale (BatchNormalization's gamma, RMSNormalization's scale)."""
    for name in ("gamma", "scale"):
        found = getattr(layer, name, None)
        if found is not None and hasattr(found, "shape"):
            return found
    return None


def _stride(layer: Any) -> int:
    return math.prod(getattr(layer, "strides", (1,)) or (1,))


def _elements(layer: Any) -> int | None:
    """Values in one example's output, from the built graph's shapes."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    dims = tuple(shape[1:])
    if any(d is None for d in dims):
        return None
    return math.prod(dims) if dims else 1
