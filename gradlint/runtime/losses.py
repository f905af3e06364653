"""The loss the probe differentiates, and synthetic targets that suit it.

The model's compiled loss is used when it has one, so the probe sees the gradients training
would see; otherwise the loss follows the output: softmax → categorical cross-entropy,
sigmoid → binary cross-entropy, anything else → mean squared error. Regularisation losses are
left out on purpose: an L2 penalty's own gradient would hide a vanishing data gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlint.runtime.backend import Backend

CATEGORICAL = "categorical"
SPARSE = "sparse"
BINARY = "binary"
REGRESSION = "regression"


@dataclass(frozen=True)
class OutputLoss:
    kind: str  # how targets are drawn
    name: str
    fn: Callable[[Any, Any], Any]


@dataclass(frozen=True)
class LossPlan:
    outputs: tuple[OutputLoss, ...]
    source: str  # "compiled" | "output"
    note: str | None = None  # why the compiled loss was not used, if it was not

    @property
    def description(self) -> str:
        names = sorted({o.name for o in self.outputs})
        how = "compiled" if self.source == "compiled" else "chosen from the output"
        return f"{' + '.join(names)} ({how})"


def plan_loss(model: Any, outputs: list[Any], output_activations: list[str | None], backend: Backend) -> LossPlan:
    """Pick a loss per output: the compiled one, else one that fits the output's activation."""
    kinds_from_output = [_kind_from_output(act, out) for act, out in zip(output_activations, outputs)]
    compiled = getattr(model, "loss", None)
    note = None
    if compiled is not None:
        try:
            per_output = _align(compiled, model, len(outputs))
            plans = []
            for loss, fallback_kind in zip(per_output, kinds_from_output):
                fn = backend.keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss
                if fn is None or not callable(fn):
                    raise ValueError(f"loss {loss!r} is not callable")
                name = _loss_name(loss, fn)
                plans.append(OutputLoss(_kind_from_loss(name) or fallback_kind, name, fn))
            return LossPlan(tuple(plans), "compiled")
        except Exception as exc:  # an exotic loss structure: fall back, and say so
            note = f"the compiled loss could not be used ({type(exc).__name__}: {exc}); a loss was chosen from the output"
    losses = backend.keras.losses
    plans = []
    for kind in kinds_from_output:
        if kind == CATEGORICAL:
            plans.append(OutputLoss(kind, "categorical_crossentropy", losses.CategoricalCrossentropy()))
        elif kind == BINARY:
            plans.append(OutputLoss(kind, "binary_crossentropy", losses.BinaryCrossentropy()))
        else:
            plans.append(OutputLoss(REGRESSION, "mean_squared_error", losses.MeanSquaredError()))
    return LossPlan(tuple(plans), "output", note)


def make_targets(plan: LossPlan, outputs: list[Any], rng: np.random.Generator) -> list[np.ndarray]:
    """One synthetic target per output, drawn to match what its loss expects."""
    targets = []
    for loss, output in zip(plan.outputs, outputs):
        shape = tuple(int(d) for d in output.shape)
        classes = shape[-1] if len(shape) > 1 else 1
        if loss.kind == SPARSE:
            targets.append(rng.integers(0, max(classes, 1), size=shape[:-1] if len(shape) > 1 else shape).astype("int32"))
        elif loss.kind == CATEGORICAL and classes > 1:
            labels = rng.integers(0, classes, size=shape[:-1])
            targets.append(np.eye(classes, dtype="float32")[labels])
        elif loss.kind in (BINARY, CATEGORICAL):
            targets.append(rng.integers(0, 2, size=shape).astype("float32"))
        else:
            targets.append(rng.standard_normal(shape).astype("float32"))
    return targets


def total_loss(plan: LossPlan, targets: list[Any], outputs: list[Any], backend: Backend) -> Any:
    """The scalar the gradients are taken of: the mean of every output's loss, summed."""
    tf = backend.tf
    total = None
    for loss, y_true, y_pred in zip(plan.outputs, targets, outputs):
        value = tf.reduce_mean(tf.cast(loss.fn(y_true, y_pred), "float32"))
        total = value if total is None else total + value
    return total


# --- helpers ---------------------------------------------------------------------------------


def _align(compiled: Any, model: Any, n_outputs: int) -> list[Any]:
    """The compiled loss as one entry per output (a single loss applies to every output)."""
    if isinstance(compiled, (list, tuple)):
        if len(compiled) != n_outputs:
            raise ValueError(f"{len(compiled)} losses for {n_outputs} outputs")
        return list(compiled)
    if isinstance(compiled, dict) and not {"class_name", "config"} <= set(compiled):
        names = list(getattr(model, "output_names", []) or [])
        if len(names) != n_outputs or not set(compiled) <= set(names):
            raise ValueError(f"loss keys {sorted(compiled)} do not match the outputs {names}")
        return [compiled.get(name) or "mean_squared_error" for name in names]
    return [compiled] * n_outputs


def _loss_name(loss: Any, fn: Any) -> str:
    if isinstance(loss, str):
        return loss
    name = getattr(fn, "name", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return str(name)


def _kind_from_loss(name: str) -> str | None:
    key = name.lower().replace("_", "")
    if "sparse" in key:
        return SPARSE
    if "binary" in key or "hinge" in key or key in ("bce", "binaryfocalcrossentropy"):
        return BINARY
    if "categorical" in key or "kld" in key or "kldivergence" in key or "kullback" in key:
        return CATEGORICAL
    return None


def _kind_from_output(activation: str | None, output: Any) -> str:
    """Kind of target from the output layer's activation, or from the output values."""
    if activation is not None:
        act = activation.lower()
        if act == "softmax":
            return CATEGORICAL
        if act == "sigmoid":
            return BINARY
        return REGRESSION
    values = np.asarray(output, dtype="float64")
    if values.size == 0 or not np.all(np.isfinite(values)):
        return REGRESSION
    if values.ndim > 1 and values.shape[-1] > 1 and values.min() >= 0 and np.allclose(values.sum(-1), 1, atol=1e-3):
        return CATEGORICAL
    if values.min() > 0 and values.max() < 1:  # a constant 0 is a dead output, not a sigmoid
        return BINARY
    return REGRESSION
