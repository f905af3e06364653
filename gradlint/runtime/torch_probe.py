"""The measurement for a torch module: forward and backward passes with module and tensor hooks.

Each weighted module (one that owns parameters) is a row. A forward hook on it reduces its
output to a few numbers at once (Σx² in float64, size, each unit's peak) and registers a tensor
hook on that output, which receives ∂L/∂output during `loss.backward()`. Tensor hooks, not
`register_full_backward_hook`, because they keep working when an in-place op (`nn.ReLU(
inplace=True)`, `out += identity`) follows the layer, and they see the gradient of the value the
layer produced. ∂L/∂W is each parameter's `.grad` after the backward pass. A module that
returns a tuple (`nn.LSTM`) is measured on its first element.

Rows are ordered as a first small pass (no gradients) calls them; that pass also brings lazy
modules to life and shows which modules the forward pass never calls. The model is probed in
training mode, as the Keras probe does; its buffers (BatchNorm's running statistics), its
mode, its parameters' `.grad` and torch's global random state are put back afterwards, so
probing never changes the model or the user's process.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.probe import RowPass, measured_report
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.structure import SEQUENTIAL, SUBCLASSED, Row, Structure
from gradlint.runtime.torch_backend import load_torch
from gradlint.runtime.torch_graph import (
    activation_after,
    following_activation,
    trace,
)
from gradlint.runtime.torch_inputs import (
    FALLBACK_SPATIAL,
    TorchInput,
    input_specs,
    synthetic_batch,
)
from gradlint.runtime.torch_losses import TorchLoss, plan_torch_loss
from gradlint.runtime.units import dead_units

# Layers whose units (channels) sit on dimension 1 of their output, as torch lays images out.
_CHANNELS_FIRST = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                   "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
                   "InstanceNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyBatchNorm1d",
                   "LazyBatchNorm2d", "LazyBatchNorm3d")
_KERNELED = ("Linear", "Bilinear", "Conv", "ConvTranspose", "LazyLinear", "LazyConv")


@dataclass
class _Seen:
    """What one hooked pass saw of a row: per call, its output's numbers and its gradient's."""

    outputs: list[tuple[Any, int, Any]] = field(default_factory=list)  # (Σx², size, per-unit peak)
    grads: list[Any] = field(default_factory=list)  # Σg²


@dataclass
class WarmUp:
    """The first, gradient-free pass: call order, output sizes, and the input that ran."""

    order: list[str]  # every module called, by qualified name, in order (a module once)
    leaves: list[str]  # leaf modules, in call order (repeats kept)
    elements: dict[str, int]  # values in one example's output, per called module
    specs: list[TorchInput]


class TorchProber:
    """Measures one torch module on synthetic batches of the same specification."""

    def __init__(self, model: Any, options: ProbeOptions) -> None:
        self.torch = load_torch()
        if isinstance(model, self.torch.jit.ScriptModule):
            raise ProbeError(f"{type(model).__name__} is a TorchScript module: its compiled forward runs no Python "
                             f"hooks, so no layer can be measured; return the nn.Module before torch.jit.script")
        self.model = model
        self.options = options
        self.rng = np.random.default_rng(options.seed)
        self.notes: list[str] = []
        self.modules: dict[str, Any] = dict(model.named_modules())
        with self.kept():  # (traced in training mode too: F.dropout's `training` is read then)
            self.warm = self._warm_up(input_specs(model, options.input_shapes))
            self.traced, why = trace(model)
        floats = self._tensors([np.zeros(1, dtype="float32")])[0].dtype  # what float inputs become
        self.specs = [replace(spec, dtype=str(floats).removeprefix("torch.")) if spec.int_high is None else spec
                      for spec in self.warm.specs]
        self.gains: dict[str, tuple[float, float] | None] = {}
        self.trace_note = why
        self.structure = self._describe()
        self.plan: TorchLoss | None = None
        self._weight_norms: dict[int, float] = {}

    # -- passes

    def measure(self) -> tuple[float, list[RowPass]]:
        """One forward and backward pass on a fresh batch: (loss, one RowPass per row)."""
        arrays = synthetic_batch(self.specs, self.options.batch_size, self.rng)
        inputs = self._tensors(arrays)
        seen = {i: _Seen() for i in range(len(self.structure.rows))}
        for p in self.model.parameters():
            p.grad = None
        with self._hooked(seen):
            output = self.model(*inputs)
        if self.plan is None:
            self.plan = plan_torch_loss(output, self.traced, self.rng)
        loss = self.plan.loss(output)
        if loss.requires_grad:
            loss.backward()
        else:
            self.notes.append("the loss does not depend on any parameter: no gradient was measured")
        rows = [self._row_pass(row, seen[i]) for i, row in enumerate(self.structure.rows)]
        return float(loss.detach()), rows

    def _row_pass(self, row: Row, seen: _Seen) -> RowPass:
        result = RowPass()
        if seen.outputs:
            total = sum(float(s) for s, _, _ in seen.outputs)
            size = sum(n for _, n, _ in seen.outputs)
            finite = math.isfinite(total)
            if not finite:
                result.non_finite.add(FORWARD)
            result.forward_rms = math.sqrt(total / size) if size else None
            peak = seen.outputs[0][2]
            if finite and peak is not None and peak.numel():
                counted = dead_units(peak.float().cpu().numpy().reshape(1, -1))
                if counted is not None:
                    result.dead_units, result.units = counted
        if seen.grads:
            total = sum(float(g) for g in seen.grads)
            if not math.isfinite(total):
                result.non_finite.add(BACKWARD)
            result.backward_signal = math.sqrt(total)
        if row.variables:
            result.weight_norm = self._weight_norm(row)
            grads = [p.grad for p in row.variables if p.grad is not None]
            if not grads:
                result.no_gradient = True
            else:
                total = sum(square_sum(g) for g in grads)
                if not math.isfinite(total):
                    result.non_finite.add(WEIGHTS)
                result.weight_grad_norm = math.sqrt(total)
        return result

    def _tensors(self, arrays: list[np.ndarray]) -> list[Any]:
        """The batch on the model's device, floats in its parameters' precision (a `.double()`
        model gets float64 inputs)."""
        torch = self.torch
        first = next((p for p in self.model.parameters() if p.is_floating_point()), None)
        device = first.device if first is not None else None
        dtype = first.dtype if first is not None else torch.float32
        tensors = []
        for array in arrays:
            tensor = torch.from_numpy(array).to(device)
            tensors.append(tensor.to(dtype) if tensor.is_floating_point() else tensor)
        return tensors

    def _weight_norm(self, row: Row) -> float:
        """‖W‖ of a row's parameters (the same in every pass: nothing is trained)."""
        key = id(row.layer)
        if key not in self._weight_norms:
            self._weight_norms[key] = math.sqrt(sum(square_sum(p) for p in row.variables))
        return self._weight_norms[key]

    @contextlib.contextmanager
    def _hooked(self, seen: dict[int, _Seen]) -> Iterator[None]:
        torch = self.torch
        handles = []

        def forward_hook(index: int, channels_first: bool) -> Any:
            def hook(module: Any, args: Any, output: Any) -> None:
                tensor = _first_tensor(output)
                if tensor is None or not tensor.is_floating_point():
                    return
                with torch.no_grad():
                    values = tensor.detach()
                    peak = _unit_peak(values, channels_first)
                    seen[index].outputs.append((square_sum(values), values.numel(), peak))
                if tensor.requires_grad:
                    tensor.register_hook(lambda g: seen[index].grads.append(square_sum(g)))
            return hook

        try:
            for i, row in enumerate(self.structure.rows):
                channels_first = type(row.layer).__name__ in _CHANNELS_FIRST
                handles.append(row.layer.register_forward_hook(forward_hook(i, channels_first)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _warm_up(self, specs: list[TorchInput]) -> WarmUp:
        """Run 2 samples without gradients, recording which modules run in which order; at
        a default spatial size that does not fit the model, try the fallback sizes."""
        attempts = [specs]
        if len(specs) == 1 and specs[0].spatial_default:
            attempts += [[specs[0].with_spatial(size)] for size in FALLBACK_SPATIAL]
        first_error: Exception | None = None
        for tried in attempts:
            try:
                return self._run_recorded(tried)
            except Exception as exc:
                first_error = first_error or exc
        assert first_error is not None
        shapes = ", ".join(s.describe(2) for s in specs)
        also = f" (also tried spatial sizes {', '.join(map(str, FALLBACK_SPATIAL))})" if len(attempts) > 1 else ""
        raise ProbeError(f"the forward pass failed on {shapes}{also}: {reason(first_error)}; "
                         f"pass --input-shape with the per-sample shape") from first_error

    def _run_recorded(self, specs: list[TorchInput]) -> WarmUp:
        torch = self.torch
        order: list[str] = []
        leaves: list[str] = []
        elements: dict[str, int] = {}
        names = {id(m): n for n, m in self.modules.items()}
        handles = []

        def hook(module: Any, args: Any, output: Any) -> None:
            name = names.get(id(module))
            if name is None:
                return
            if name not in elements:
                order.append(name)
                tensor = _first_tensor(output)
                elements[name] = tensor.numel() // 2 if tensor is not None else 0  # (a batch of 2)
            if not any(True for _ in module.children()):
                leaves.append(name)

        arrays = synthetic_batch(specs, 2, np.random.default_rng(0))
        try:
            handles = [m.register_forward_hook(hook) for m in self.modules.values()]
            with torch.no_grad():
                self.model(*self._tensors(arrays))
        finally:
            for handle in handles:
                handle.remove()
        self.modules = dict(self.model.named_modules())  # lazy modules have become real ones
        return WarmUp(order, leaves, elements, specs)

    # -- rows

    def _describe(self) -> Structure:
        weighted = [(n, m) for n, m in self.modules.items() if any(True for _ in m.parameters(recurse=False))]
        called = {n: i for i, n in enumerate(self.warm.order)}
        ordered = sorted(weighted, key=lambda item: (item[0] not in called, called.get(item[0], 0)))
        unseen = [n for n, _ in ordered if n not in called]
        if unseen:
            shown = ", ".join(display_name(n, self.modules[n]) for n in unseen)
            self.notes.append(f"not measured per layer (not called in the model's forward pass): {shown}")
        rows = tuple(self._row(name, module) for name, module in ordered)
        self.qualnames = [name for name, _ in ordered]  # row i's module: model.get_submodule(qualnames[i])
        heads = frozenset({max((i for i, (n, _) in enumerate(ordered) if n in called), default=len(rows) - 1)}
                          if rows else set())
        from torch import nn

        kind = SEQUENTIAL if isinstance(self.model, nn.Sequential) else SUBCLASSED
        return Structure(kind, rows, heads)

    def _row(self, name: str, module: Any) -> Row:
        from gradlint.runtime.torch_prediction import kernel_gains

        self.gains[name] = kernel_gains(module)  # (read by the prediction too)
        return Row(layer=module, name=display_name(name, module), type=type(module).__name__,
                   activation=self._activation(name, module), initializer=describe_gains(self.gains[name]),
                   variables=tuple(p for p in module.parameters(recurse=False) if p.requires_grad))

    def _activation(self, name: str, module: Any) -> str | None:
        """The activation the layer's output meets. Where the traced graph holds the layer, it
        says, and a kernel layer followed by none is `linear`; inside a module torch.fx keeps
        whole (nn.TransformerEncoder) or without a graph, only an activation module called next
        is seen, and a functional one may hide: then "-" rather than a guess."""
        node = self.traced.node_of(name) if self.traced is not None else None
        if node is not None and self.traced is not None:
            found = following_activation(node, self.traced)
        else:
            found = activation_after(name, self.warm.leaves, self.modules)
        if found is not None:
            return found[0]
        kind = type(module).__name__
        if kind in ("RNN", "RNNCell"):
            return str(getattr(module, "nonlinearity", "tanh"))
        if kind in ("LSTM", "GRU", "LSTMCell", "GRUCell"):
            return "tanh"
        if node is not None and kind.startswith(_KERNELED):
            return "linear"
        return None

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """Put back what a training-mode pass changes: buffers, mode, `.grad`, torch's RNG."""
        torch = self.torch
        modes = {id(m): m.training for m in self.model.modules()}
        buffers = {name: b.detach().clone() for name, b in self.model.named_buffers()}
        grads = {id(p): p.grad for p in self.model.parameters()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.options.seed)
            self.model.train()
            try:
                yield
            finally:
                with torch.no_grad():
                    for name, buffer in self.model.named_buffers():
                        if name in buffers and buffers[name].shape == buffer.shape:
                            buffer.copy_(buffers[name])
                for m in self.model.modules():
                    m.training = modes.get(id(m), m.training)
                for p in self.model.parameters():
                    p.grad = grads.get(id(p))


def probe_module(model: Any, options: ProbeOptions, *, target: str, filename: str,
                 progress: Progress | None = None) -> ProbeReport:
    """Measure `options.repeats` batches and report per-layer medians (findings not yet judged)."""
    progress = progress or NoProgress()
    started = time.perf_counter()
    prober = TorchProber(model, options)
    passes: list[tuple[float, list[RowPass]]] = []
    with prober.kept():
        for i in range(options.repeats):
            progress.step(f"{target}: measuring batch {i + 1}/{options.repeats}")
            passes.append(prober.measure())
    assert prober.plan is not None
    report = measured_report(
        prober.structure, [rows for _, rows in passes], [loss for loss, _ in passes],
        list(dict.fromkeys(prober.notes)),
        target=target,
        filename=filename,
        model_name=type(model).__name__,
        model_class=_class_name(model),
        loss=prober.plan.description,
        inputs=tuple(spec.describe(options.batch_size) for spec in prober.specs),
        batch_size=options.batch_size,
        repeats=options.repeats,
        seed=options.seed,
        parameters=int(sum(p.numel() for p in model.parameters())),
        framework="torch",
    )
    probed = time.perf_counter()
    from gradlint.runtime.torch_prediction import with_torch_prediction

    report = with_torch_prediction(report, prober)
    return _timed(report, probe=probed - started, prediction=time.perf_counter() - probed)


def display_name(qualname: str, module: Any) -> str:
    """A module's path as code names it: `[0]`, `features[3]`, `layer1[0].conv1`, `fc` (the
    model itself, when it owns parameters: its class name)."""
    if not qualname:
        return type(module).__name__
    text = ""
    for part in qualname.split("."):
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def describe_gains(gains: tuple[float, float] | None) -> str | None:
    """A kernel's scale as the table shows it in place of an initializer's name, which torch does
    not keep: `fan_in·Var(W)=0.33` (1/3 is PyTorch's default, 1 LeCun's, 2 He's)."""
    return None if gains is None else f"fan_in·Var(W)={gains[0]:.2g}"


# --- helpers ---------------------------------------------------------------------------------


def square_sum(tensor: Any) -> float:
    """Σx² of a tensor: its norm in its own precision (one fused pass), redone in float64 only
    when that overflowed, so an exploding tensor is measured, not Inf; NaN when it holds one."""
    import torch

    values = tensor.detach()
    norm = float(torch.linalg.vector_norm(values))
    if math.isfinite(norm):
        return norm * norm
    return float(values.double().pow(2).sum())


def _timed(report: ProbeReport, **timings: float) -> ProbeReport:
    return replace(report, timings={**report.timings, **timings})


def _class_name(model: Any) -> str:
    """`torch.nn.Sequential` for torch's own classes, the bare name for the user's."""
    cls = type(model)
    module = cls.__module__
    return f"torch.nn.{cls.__name__}" if module.startswith("torch.nn.") else cls.__name__


def _first_tensor(value: Any) -> Any | None:
    """The tensor a module's output is measured on: itself, or a tuple's first element."""
    if hasattr(value, "is_floating_point") and hasattr(value, "shape"):
        return value
    if isinstance(value, (tuple, list)) and value:
        return _first_tensor(value[0])
    return None


def _unit_peak(values: Any, channels_first: bool) -> Any | None:
    """Each unit's largest value over every sample and position (units: dimension 1 for
    convolutions and their normalizations, the last dimension otherwise)."""
    if values.dim() < 2:
        return None
    units = 1 if channels_first and values.dim() > 2 else values.dim() - 1
    return values.amax(dim=[d for d in range(values.dim()) if d != units])  # (no copy of the tensor)
