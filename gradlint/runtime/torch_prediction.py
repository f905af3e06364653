"""The signal model's front-end for torch modules: the traced forward pass → the recurrence's steps.

As for a built Keras model (runtime/prediction.py), a kernel's gain is read from its values
(fan_in · Var(W) forward, fan_out · Var(W) backward, fans as torch counts them: `in_features`,
`in_channels / groups × kernel area`), so PyTorch's default init, an `nn.init.*_` call or any
custom scheme are all covered. The graph is torch.fx's trace of `forward()`, walked from the
output back to the input: `nn.Linear`, `nn.Conv*` and `nn.ConvTranspose*` are weighted steps;
activation modules, `F.*` functions and tensor methods are activations; `nn.BatchNorm*`,
`nn.LayerNorm`, `nn.GroupNorm` and `nn.RMSNorm` normalize (their affine scale a weighted step
of its own row); dropout thins; flatten, view and reshape only rearrange; `a + b` where `a` is
an ancestor of `b` is a residual branch, and `g(x) + f(x)` one with a shortcut of its own (a
projection). Anything else (an embedding, a recurrent layer, attention, pooling, a parameter
used directly) is named, and the prediction stops there: "-"
in the table rather than a guess. Biases are left out, as in the Keras front-end: they do not
change the backward factors, but PyTorch's default bias (Var = 1/(3·fan_in)) puts a floor under
a shrinking forward RMS that the predicted one does not have.
"""

from __future__ import annotations

import math
from typing import Any

from gradlint.runtime.prediction import (
    BuiltPrediction,
    Unmappable,
    flatten_steps,
    identity_skip,
    predicted_rows,
    summary_numbers,
    up_to_last_hidden,
    with_prediction,
)
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.torch_graph import Op, Traced, data_input, operation
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
from gradlint.signal.recurrence import predict

_NORMS = {"BatchNorm1d": "batch", "BatchNorm2d": "batch", "BatchNorm3d": "batch", "SyncBatchNorm": "batch",
          "LayerNorm": "layer", "GroupNorm": "layer", "RMSNorm": "rms"}


def with_torch_prediction(report: ProbeReport, prober: Any) -> ProbeReport:
    """The report with the prediction beside the measurement; no prediction is a note, never a
    failed probe."""
    from dataclasses import replace

    try:
        predicted = predict_module(prober)
    except Exception as exc:  # the prediction is an aid: its failure is said, not raised
        return replace(report, notes=(*report.notes, f"signal model: no prediction ({type(exc).__name__}: {exc})"))
    return with_prediction(report, predicted)


def predict_module(prober: Any) -> BuiltPrediction:
    """Describe the traced module, run the recurrence, and read it out per probe row."""
    structure = prober.structure
    nothing = (None,) * len(structure.rows)
    if prober.traced is None:
        return BuiltPrediction(nothing, None, None, (prober.trace_note,))
    describer = _Describer(prober)
    try:
        steps = describer.model_steps()
    except Unmappable as exc:
        return BuiltPrediction(nothing, None, None, (str(exc),))
    steps = up_to_last_hidden(steps)
    description = ModelDescription(tuple(steps), type(prober.model).__name__, tuple(describer.notes_before(steps)))
    prediction = predict(description)
    # The backward values are relative to the probe's last hidden row: without it in the walk
    # (inside a module torch.fx keeps whole) they would be relative to another row.
    called = set(prober.warm.order)
    hidden = [i for i in range(len(structure.rows)) if i not in structure.heads and prober.qualnames[i] in called]
    anchored = bool(hidden) and hidden[-1] in describer.tapped
    rows = predicted_rows(prediction, describer.tapped, structure, backward=anchored)
    ratio, growth = summary_numbers(rows, structure)
    unknown = list(prediction.unknown)
    if hidden and not anchored:
        unknown.append(f"the last hidden layer {structure.rows[hidden[-1]].name} is not on the path the signal "
                       f"model follows, so no backward signal is predicted")
    return BuiltPrediction(tuple(rows), ratio, growth, tuple(unknown))


def kernel_gains(module: Any) -> tuple[float, float] | None:
    """(fan_in · Var(W), fan_out · Var(W)) of a Linear/Conv/ConvTranspose weight, from its values;
    None for other modules. Strides thin the backward fan-out (the forward one of a transpose)."""
    from torch import nn

    weight = getattr(module, "weight", None)
    if weight is None or not hasattr(weight, "shape") or type(weight).__name__ == "UninitializedParameter":
        return None
    if isinstance(module, nn.Linear):
        var = _var(weight)
        return weight.shape[1] * var, weight.shape[0] * var
    if isinstance(module, nn.modules.conv._ConvNd):
        var = _var(weight)
        area = math.prod(weight.shape[2:])
        groups = module.groups or 1
        stride = math.prod(module.stride)
        if module.transposed:  # weight: (in, out / groups, *kernel)
            return area * weight.shape[0] / groups / stride * var, area * weight.shape[1] * var
        return area * weight.shape[1] * var, area * weight.shape[0] / groups / stride * var
    return None


class _Describer:
    """Turns graph nodes into steps and remembers which step stands for which probe row."""

    def __init__(self, prober: Any) -> None:
        self.prober = prober
        self.traced: Traced = prober.traced
        self.structure = prober.structure
        self.row_of = {name: i for i, name in enumerate(prober.qualnames)}
        self.tapped: dict[int, Weighted] = {}
        self.blind: dict[int, str] = {}  # id of an unknown step → why
        self._ancestors: dict[int, set[int]] = {}

    def model_steps(self) -> list[Step]:
        nodes = list(self.traced.graph.nodes)
        inputs = [n for n in nodes if n.op == "placeholder"]
        outputs = [n for n in nodes if n.op == "output"]
        produced = outputs[0].args[0] if len(outputs) == 1 else None
        if len(inputs) != 1 or type(produced).__name__ != "Node":
            raise Unmappable(f"{type(self.prober.model).__name__} takes {len(inputs)} inputs or returns several "
                             f"outputs; the signal model follows one path from one input to one output")
        if any(n.op == "get_attr" for n in nodes):
            used = next(n.target for n in nodes if n.op == "get_attr")
            raise Unmappable(f"forward() uses the parameter or buffer {used!r} directly; the signal model "
                             f"follows modules and activations")
        return self.between(produced, inputs[0])

    def between(self, node: Any, start: Any) -> list[Step]:
        """The steps that turn `start` into `node`, in forward order."""
        if node is start:
            return []
        op = operation(node, self.traced)
        if op.kind == "add":
            return self._residual(node, start)
        source = data_input(node)
        if source is None:
            raise Unmappable(f"{_label(node)} does not derive from the model's input along one path")
        if op.kind == "module" and len(node.all_input_nodes) != 1:
            raise Unmappable(f"{_label(node)} reads {len(node.all_input_nodes)} tensors; the signal model "
                             f"follows one path")
        return self.between(source, start) + self._steps(node, op)

    def _steps(self, node: Any, op: Op) -> list[Step]:
        if op.kind == "activation":
            return [Activation(op.activation, op.slope)]
        if op.kind == "dropout":
            return [Dropout(op.rate or 0.0)]
        if op.kind == "reshape":
            return [Reshape(None)]
        if op.kind == "module":
            return self._module(node.target, op.module)
        return [self._unknown(f"what {_label(node)} does to the signal is not modelled")]

    def _module(self, name: str, module: Any) -> list[Step]:
        kind = type(module).__name__
        index = self.row_of.get(name)
        if index is None:  # a module without parameters of its own
            if kind in _NORMS:
                return [Normalize(_NORMS[kind], float(getattr(module, "eps", 1e-5) or 1e-5))]
            return [self._unknown(f"what {kind} {name!r} does to the signal is not modelled")]
        gains = self.prober.gains[name] if name in self.prober.gains else kernel_gains(module)
        if gains is not None:
            return [self._tap(index, name, gains[0], gains[1])]
        if kind in _NORMS:
            scale = getattr(module, "weight", None)
            square = float(scale.detach().double().pow(2).mean()) if scale is not None else 1.0
            return [Normalize(_NORMS[kind], float(getattr(module, "eps", 1e-5) or 1e-5)),
                    self._tap(index, name, square, square)]
        if kind == "PReLU":
            slope = float(module.weight.detach().double().mean())
            return [self._tap(index, name, 1.0, 1.0, "prelu", slope)]
        step = self._tap(index, name, None, None, None)
        self.blind[id(step)] = f"what {kind} {name!r} does to the signal is not modelled"
        return [step]

    def _tap(self, index: int, name: str, gain: float | None, back_gain: float | None,
             activation: str | None = "linear", slope: float | None = None) -> Weighted:
        if index in self.tapped:
            raise Unmappable(f"{name} is applied more than once; the signal model follows one path")
        row = self.structure.rows[index]
        elements = self.prober.warm.elements.get(self.prober.qualnames[index]) or None
        step = Weighted(name=row.name, gain=gain, back_gain=back_gain, activation=activation, slope=slope,
                        elements=elements, head=index in self.structure.heads, initializer=row.initializer)
        self.tapped[index] = step
        return step

    def _unknown(self, note: str) -> Activation:
        step = Activation(None)
        self.blind[id(step)] = note
        return step

    def _residual(self, node: Any, start: Any) -> list[Step]:
        tensors = [a for a in node.args if type(a).__name__ == "Node"]
        if len(tensors) != 2 or tensors[0] is tensors[1] or len(node.args) != 2 or node.kwargs:
            raise Unmappable(f"{_label(node)} is not x + f(x); the signal model knows residual adds")
        first, second = tensors
        ends = identity_skip(first, second, self.ancestors)
        if ends is None:
            return self._projected(node, first, second, start)
        skip, end = ends
        return self.between(skip, start) + [Residual(tuple(self.between(end, skip)))]

    def _projected(self, node: Any, first: Any, second: Any, start: Any) -> list[Step]:
        """g(x) + f(x): a shortcut with steps of its own (a 1×1 convolution and its BatchNorm, as
        in a ResNet's downsampling block). Both paths start where they fork, the latest node both
        derive from; the shorter one is the skip."""
        common = (self.ancestors(first) | {id(first)}) & (self.ancestors(second) | {id(second)})
        fork = max((n for n in self.traced.graph.nodes if id(n) in common),
                   key=lambda n: len(self.ancestors(n)), default=None)
        if fork is None:
            raise Unmappable(f"{_label(node)} adds two tensors that share no input; the signal model knows "
                             f"x + f(x) and g(x) + f(x)")
        paths = sorted((self.between(first, fork), self.between(second, fork)), key=len)
        return self.between(fork, start) + [Residual(tuple(paths[1]), tuple(paths[0]))]

    def ancestors(self, node: Any) -> set[int]:
        key = id(node)
        if key not in self._ancestors:
            found: set[int] = set()
            stack = list(node.all_input_nodes)
            while stack:
                current = stack.pop()
                if id(current) not in found:
                    found.add(id(current))
                    stack.extend(current.all_input_nodes)
            self._ancestors[key] = found
        return self._ancestors[key]

    def notes_before(self, steps: list[Step]) -> list[str]:
        """Notes of unknown steps up to the last hidden row: only they change the ratio."""
        order: list[tuple[str, Any]] = []
        flatten_steps(steps, order)
        last = max((i for i, (kind, step) in enumerate(order) if kind == "tap" and not step.head), default=-1)
        notes = [self.blind[id(step)] for _, step in order[: last + 1] if id(step) in self.blind]
        return list(dict.fromkeys(notes))


def _label(node: Any) -> str:
    if node.op == "call_module":
        return f"{node.target!r}"
    target = getattr(node.target, "__name__", node.target)
    return f"the operation {target!r}"


def _var(weight: Any) -> float:
    """Var(W) over every entry (float32 is ample for a kernel's scale)."""
    values = weight.detach()
    return float(values.var(unbiased=False)) if values.numel() else 0.0
