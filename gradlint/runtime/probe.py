"""The measurement: one forward and backward pass per batch, per weighted layer.

Each weighted layer's `call` is intercepted for the duration of a pass, so its output tensor is
recorded on the gradient tape; one `tape.gradient` then gives d loss / d (layer output) for every
layer and d loss / d W for every weight at once. Non-trainable state (BatchNorm's moving
statistics) is put back afterwards, so probing never changes the model.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gradlint.runtime.backend import Backend
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.inputs import InputSpec, input_specs, pack_inputs, synthetic_batch
from gradlint.runtime.losses import LossPlan, make_targets, plan_loss, total_loss
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions, Shape
from gradlint.runtime.structure import SUBCLASSED, Row, Structure, activation_name, describe, model_kind
from gradlint.runtime.units import dead_units

SUBCLASSED_NOTE = (
    "subclassed model: layer outputs are not reachable from outside its call(), so only weight "
    "gradients are measured (no forward RMS, no backward signal, no first/last ratio)"
)


@dataclass
class RowPass:
    """One layer in one pass (None: not measured)."""

    forward_rms: float | None = None
    backward_signal: float | None = None
    weight_grad_norm: float | None = None
    weight_norm: float | None = None
    non_finite: set[str] = field(default_factory=set)
    no_gradient: bool = False
    dead_units: int | None = None  # units never positive on this batch (see units.py)
    units: int | None = None


@dataclass
class PassResult:
    loss: float
    rows: list[RowPass]
    targets: list[Any]  # the targets the loss was taken against


class Prober:
    """Measures a model repeatedly on batches of the same specification."""

    def __init__(self, model: Any, backend: Backend, *, input_shapes: tuple[Shape, ...] = (), seed: int = 0,
                 sample: list[np.ndarray] | None = None) -> None:
        """`sample`: real input arrays the caller will measure with (no synthetic inputs then)."""
        self.model = model
        self.backend = backend
        self.rng = np.random.default_rng(seed)
        if sample is not None:
            self.specs = [InputSpec(f"input_{i}", tuple(a.shape[1:]), str(a.dtype)) for i, a in enumerate(sample)]
            self._warm_up([a[:2] for a in sample])
        else:
            self.specs = input_specs(model, model_kind(model, backend), backend, input_shapes)
            self._warm_up(synthetic_batch(self.specs, 2, np.random.default_rng(0)))
        self.structure: Structure = describe(model, backend)
        self.plan: LossPlan | None = None

    def batch(self, batch_size: int) -> list[np.ndarray]:
        return synthetic_batch(self.specs, batch_size, self.rng)

    def _warm_up(self, arrays: list[np.ndarray]) -> None:
        """Build every layer (subclassed models create weights on first call) with a tiny batch."""
        try:
            with self._state_kept():
                self.model(pack_inputs(self.model, arrays), training=False)
        except Exception as exc:
            shapes = ", ".join(spec.describe(2) for spec in self.specs)
            raise ProbeError(
                f"calling the model on a synthetic batch ({shapes}) failed: {reason(exc)}; "
                f"if the input shape is wrong, pass --input-shape"
            ) from exc

    def measure(self, arrays: list[np.ndarray], targets: list[Any] | None = None) -> PassResult:
        """One forward and backward pass; `targets` default to synthetic ones fitting the loss."""
        tf = self.backend.tf
        from keras import tree

        rows = self.structure.rows
        intercepted = rows if self.structure.per_layer else ()
        with self._state_kept(), _intercept(intercepted) as records, tf.GradientTape() as tape:
            outputs = self.model(pack_inputs(self.model, arrays), training=True)
            flat = list(tree.flatten(outputs))
            if self.plan is None:
                activations = output_activations(self.model, self.structure, len(flat))
                self.plan = plan_loss(self.model, [np.asarray(o) for o in flat], activations, self.backend)
            y = targets if targets is not None else make_targets(self.plan, flat, self.rng)
            loss = total_loss(self.plan, list(y), flat, self.backend)
        row_outputs = [[t for t in tree.flatten(records.get(i, [])) if _is_float_tensor(t)]
                       for i in range(len(intercepted))]
        watched = [t for outs in row_outputs for t in outs]
        variables: list[Any] = []
        seen: set[int] = set()
        for row in rows:
            for v in row.variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    variables.append(v)
        grads = tape.gradient(loss, watched + variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
        output_grads, var_grads = grads[: len(watched)], grads[len(watched):]
        grad_of = {id(v): g for v, g in zip(variables, var_grads)}
        results: list[RowPass] = []
        position = 0
        for i, row in enumerate(rows):
            result = RowPass()
            if i < len(row_outputs):
                outs = row_outputs[i]
                gs = output_grads[position: position + len(outs)]
                position += len(outs)
                _forward(result, outs)
                _backward(result, gs)
            _weights(result, row, grad_of, tf)
            results.append(result)
        return PassResult(float(loss.numpy()), results, list(y))

    @contextlib.contextmanager
    def _state_kept(self) -> Iterator[None]:
        """Put back non-trainable state (BatchNorm statistics) that a training-mode pass moves."""
        variables = list(self.model.non_trainable_weights)
        saved = [v.numpy() for v in variables]
        try:
            yield
        finally:
            for v, value in zip(variables, saved):
                v.assign(value)


def probe_model(model: Any, backend: Backend, options: ProbeOptions, *, target: str, filename: str) -> ProbeReport:
    """Measure `options.repeats` batches and report per-layer medians (findings not yet judged)."""
    started = time.perf_counter()
    prober = Prober(model, backend, input_shapes=options.input_shapes, seed=options.seed)
    passes = [prober.measure(prober.batch(options.batch_size)) for _ in range(options.repeats)]
    structure = prober.structure
    assert prober.plan is not None
    notes = []
    if structure.kind == SUBCLASSED:
        notes.append(SUBCLASSED_NOTE)
    if prober.plan.note:
        notes.append(prober.plan.note)
    if not structure.rows:
        notes.append("the model has no weighted layers")
    layers = tuple(
        _aggregate(i, row, [p.rows[i] for p in passes], head=i in structure.heads)
        for i, row in enumerate(structure.rows)
    )
    losses = [p.loss for p in passes]
    finite_losses = [v for v in losses if math.isfinite(v)]
    measured = ProbeReport(
        target=target,
        filename=filename,
        model_name=model.name,
        model_class=type(model).__name__,
        model_kind=structure.kind,
        layers=layers,
        loss=prober.plan.description,
        loss_value=float(np.median(finite_losses)) if finite_losses else None,
        loss_non_finite=len(finite_losses) < len(losses),
        inputs=tuple(spec.describe(options.batch_size) for spec in prober.specs),
        batch_size=options.batch_size,
        repeats=options.repeats,
        seed=options.seed,
        notes=tuple(notes),
        parameters=int(model.count_params()),
    )
    probed = time.perf_counter()
    report = _with_prediction(measured, model, backend, structure)
    return replace(report, timings={"probe": probed - started, "prediction": time.perf_counter() - probed})


def _with_prediction(report: ProbeReport, model: Any, backend: Backend, structure: Structure) -> ProbeReport:
    """The signal model's prediction beside the measurement; a failure to predict is a note,
    never a failed probe."""
    from gradlint.runtime.prediction import predict_built, with_prediction

    try:
        predicted = predict_built(model, backend, structure)
    except Exception as exc:
        return replace(report, notes=(*report.notes, f"signal model: no prediction ({reason(exc)})"))
    return with_prediction(report, predicted)


def single_pass_report(prober: Prober, result: PassResult, *, target: str, filename: str,
                       options: ProbeOptions) -> ProbeReport:
    """One pass as a report, for the training callback (which probes one held batch at a time)."""
    structure = prober.structure
    return ProbeReport(
        target=target,
        filename=filename,
        model_name=prober.model.name,
        model_class=type(prober.model).__name__,
        model_kind=structure.kind,
        layers=tuple(_aggregate(i, row, [result.rows[i]], head=i in structure.heads)
                     for i, row in enumerate(structure.rows)),
        loss=prober.plan.description if prober.plan else "",
        loss_value=result.loss if math.isfinite(result.loss) else None,
        loss_non_finite=not math.isfinite(result.loss),
        inputs=tuple(spec.describe(options.batch_size) for spec in prober.specs),
        batch_size=options.batch_size,
        repeats=1,
        seed=options.seed,
    )


def output_activations(model: Any, structure: Structure, n_outputs: int) -> list[str | None]:
    """The activation that produces each model output, where the graph shows it."""
    if structure.kind == SUBCLASSED:
        return [None] * n_outputs
    try:
        from keras import tree

        tensors = list(tree.flatten(model.outputs))
    except Exception:
        return [None] * n_outputs
    names: list[str | None] = []
    for tensor in tensors:
        history = getattr(tensor, "_keras_history", None)
        layer = history.operation if history is not None else None
        name = type(layer).__name__ if layer is not None else None
        if name == "Softmax":
            names.append("softmax")
        elif layer is not None and hasattr(layer, "weights") and name not in ("Sequential", "Functional"):
            names.append(activation_name(layer) if getattr(layer, "activation", None) is not None else None)
        else:
            names.append(None)
    return names if len(names) == n_outputs else [None] * n_outputs


# --- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _intercept(rows: tuple[Row, ...] | list[Row]) -> Iterator[dict[int, list[Any]]]:
    """Record each row layer's outputs while the pass runs; restore `call` afterwards."""
    records: dict[int, list[Any]] = {}
    patched: list[tuple[Any, Any]] = []
    missing = object()
    try:
        for i, row in enumerate(rows):
            layer = row.layer
            original = layer.call
            previous = layer.__dict__.get("call", missing)

            @functools.wraps(original)
            def recording_call(*args: Any, __original: Any = original, __i: int = i, **kwargs: Any) -> Any:
                out = __original(*args, **kwargs)
                records.setdefault(__i, []).append(out)
                return out

            object.__setattr__(layer, "call", recording_call)  # past Keras' attribute tracking
            patched.append((layer, previous))
        yield records
    finally:
        for layer, previous in patched:
            if previous is missing:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", previous)


def _is_float_tensor(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(dtype, "is_floating", False)


def _norm(arrays: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a, dtype="float64"))) for a in arrays))


def _forward(result: RowPass, outputs: list[Any]) -> None:
    if not outputs:
        return
    arrays = [np.asarray(t, dtype="float64") for t in outputs]
    if not all(np.all(np.isfinite(a)) for a in arrays):
        result.non_finite.add(FORWARD)
    size = sum(a.size for a in arrays)
    result.forward_rms = _norm(arrays) / math.sqrt(size) if size else None
    counted = dead_units(arrays[0])
    if counted is not None:
        result.dead_units, result.units = counted


def _backward(result: RowPass, grads: list[Any]) -> None:
    arrays = [np.asarray(g, dtype="float64") for g in grads if g is not None]
    if not arrays:
        return
    if not all(np.all(np.isfinite(a)) for a in arrays):
        result.non_finite.add(BACKWARD)
    result.backward_signal = _norm(arrays)


def _weights(result: RowPass, row: Row, grad_of: dict[int, Any], tf: Any) -> None:
    if not row.variables:
        return
    values = [np.asarray(v.numpy(), dtype="float64") for v in row.variables]
    result.weight_norm = _norm(values)
    grads = [grad_of.get(id(v)) for v in row.variables]
    present = [tf.convert_to_tensor(g).numpy() for g in grads if g is not None]
    if not present:
        result.no_gradient = True
        return
    arrays = [np.asarray(g, dtype="float64") for g in present]
    if not all(np.all(np.isfinite(a)) for a in arrays):
        result.non_finite.add(WEIGHTS)
    result.weight_grad_norm = _norm(arrays)


def _median(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite:
        return float(np.median(finite))
    if any(v is not None for v in values):
        return math.nan  # measured, never finite
    return None


def _aggregate(index: int, row: Row, passes: list[RowPass], *, head: bool) -> LayerStats:
    weight_grad = _median([p.weight_grad_norm for p in passes])
    weight = _median([p.weight_norm for p in passes])
    relative = None
    if weight_grad is not None and weight and math.isfinite(weight) and math.isfinite(weight_grad):
        relative = weight_grad / weight
    non_finite = set().union(*(p.non_finite for p in passes))
    return LayerStats(
        index=index,
        name=row.name,
        type=row.type,
        activation=row.activation,
        initializer=row.initializer,
        forward_rms=_median([p.forward_rms for p in passes]),
        backward_signal=_median([p.backward_signal for p in passes]),
        weight_grad_norm=weight_grad,
        weight_norm=weight,
        relative_grad=relative,
        trainable=row.trainable,
        head=head,
        non_finite=tuple(k for k in (FORWARD, BACKWARD, WEIGHTS) if k in non_finite),
        no_gradient=row.trainable and all(p.no_gradient for p in passes),
        # Dead in every batch: the fewest dead units over the batches.
        dead_units=min((p.dead_units for p in passes if p.dead_units is not None), default=None),
        units=next((p.units for p in passes if p.units is not None), None),
    )
