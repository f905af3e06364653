"""The loss a torch module is probed with, chosen from its output as the Keras probe does.

A torch module has no compiled loss, so the loss always follows the output: a softmax →
categorical cross-entropy, a log-softmax → negative log-likelihood, a sigmoid → binary
cross-entropy, anything else (logits included) → mean squared error against standard normal
targets. The activation is read from the traced graph (the operation that produces the
output), else from the output's values, with the Keras probe's rules (runtime/losses.py).
Every floating-point tensor the module returns gets a loss; they are summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlint.runtime.losses import (
    BINARY,
    CATEGORICAL,
    REGRESSION,
    LossPlan,
    OutputLoss,
    _kind_from_output,
    make_targets,
)
from gradlint.runtime.torch_graph import Traced, data_input, operation

LOG_SOFTMAX = "log_softmax"
_NAMES = {CATEGORICAL: "categorical_crossentropy", BINARY: "binary_crossentropy", REGRESSION: "mean_squared_error",
          LOG_SOFTMAX: "nll_loss"}
_EPSILON = 1e-7  # probabilities are clipped as Keras' cross-entropies clip them


@dataclass
class TorchLoss:
    """One loss per output tensor; `loss(output)` draws fresh targets for every batch."""

    kinds: tuple[str, ...]  # CATEGORICAL | LOG_SOFTMAX | BINARY | REGRESSION, per output tensor
    rng: np.random.Generator

    @property
    def plan(self) -> LossPlan:
        """As the Keras probe's plan: how targets are drawn (one-hot for a log-softmax too), and names."""
        return LossPlan(tuple(OutputLoss(CATEGORICAL if k == LOG_SOFTMAX else k, _NAMES[k], None)  # type: ignore[arg-type]
                              for k in self.kinds), "output")

    @property
    def description(self) -> str:
        return self.plan.description

    def loss(self, output: Any) -> Any:
        import torch
        import torch.nn.functional as F

        tensors = output_tensors(output)
        targets = make_targets(self.plan, tensors, self.rng)
        total = torch.zeros(())
        for kind, y_pred, y_true in zip(self.kinds, tensors, targets):
            y = torch.from_numpy(np.asarray(y_true)).to(device=y_pred.device, dtype=y_pred.dtype)
            if kind == CATEGORICAL:
                value = -(y * y_pred.clamp(_EPSILON, 1.0).log()).sum(-1).mean()
            elif kind == LOG_SOFTMAX:
                value = -(y * y_pred).sum(-1).mean()
            elif kind == BINARY:
                value = F.binary_cross_entropy(y_pred.clamp(_EPSILON, 1 - _EPSILON), y)
            else:
                value = F.mse_loss(y_pred, y)
            total = total + value
        return total


def output_tensors(output: Any) -> list[Any]:
    """The floating-point tensors in a module's output (a tensor, or tuples, lists, dicts of them)."""
    if hasattr(output, "is_floating_point"):
        return [output] if output.is_floating_point() else []
    if isinstance(output, dict):
        return [t for value in output.values() for t in output_tensors(value)]
    if isinstance(output, (tuple, list)):
        return [t for value in output for t in output_tensors(value)]
    return []


def plan_torch_loss(output: Any, traced: Traced | None, rng: np.random.Generator) -> TorchLoss:
    """A loss for each output tensor, from the activation that produces it or its values."""
    tensors = output_tensors(output)
    final = _final_activation(traced, tensors[0].dim()) if len(tensors) == 1 else None
    kinds = []
    for tensor in tensors:
        values = tensor.detach().double().cpu().numpy()
        if values.ndim > 1 and (final == LOG_SOFTMAX or (final is None and _looks_log_softmax(values))):
            kind = LOG_SOFTMAX
        else:
            kind = _kind_from_output(final, values)
        kinds.append(BINARY if kind == CATEGORICAL and values.ndim < 2 else kind)
    return TorchLoss(tuple(kinds), rng)


def _final_activation(traced: Traced | None, ndim: int) -> str | None:
    """The activation that produces the one output, where the traced graph shows it (a softmax
    over the last dimension only: the targets are one-hot along it)."""
    if traced is None:
        return None
    outputs = [n for n in traced.graph.nodes if n.op == "output"]
    produced = outputs[0].args[0] if len(outputs) == 1 else None
    if type(produced).__name__ != "Node":
        return None
    op = operation(produced, traced)
    if op.kind != "activation" or data_input(produced) is None:
        return None
    if op.activation in ("softmax", LOG_SOFTMAX) and _softmax_dim(produced, traced) not in (-1, ndim - 1):
        return None
    return op.activation


def _softmax_dim(node: Any, traced: Traced) -> int | None:
    if node.op == "call_module":
        return getattr(traced.modules.get(node.target), "dim", None)
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    return dim if isinstance(dim, int) else None


def _looks_log_softmax(values: np.ndarray) -> bool:
    if values.ndim < 2 or values.shape[-1] < 2 or not np.all(np.isfinite(values)) or values.max() > 0:
        return False
    return bool(np.allclose(np.exp(values).sum(-1), 1, atol=1e-3))
