"""The measurement: one forward and backward pass per batch, per weighted layer, in one compiled call.

Each row layer's `call` is intercepted while the pass is traced (`tf.function`), for every kind
of model: the layers of a Sequential or functional graph, and each sublayer a subclassed
model's own call() runs. Its output tensor is recorded on the gradient tape; one
`tape.gradient` then gives d loss / d (layer output) for every layer and d loss / d W for every
weight at once, and the graph reduces them to a few numbers per layer before they leave it.
Non-trainable state (BatchNorm's moving statistics) is put back afterwards, so probing never
changes the model.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import time
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gradlint.runtime.backend import Backend
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.inputs import InputSpec, input_specs, pack_inputs, synthetic_batch
from gradlint.runtime.losses import LossPlan, make_targets, plan_loss, total_loss
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.results import BACKWARD, FORWARD, WEIGHTS, LayerStats, ProbeReport
from gradlint.runtime.settings import ProbeOptions, Shape
from gradlint.runtime.structure import (
    SUBCLASSED,
    Row,
    Structure,
    activation_name,
    describe,
    is_builtin,
    model_kind,
)
from gradlint.runtime.units import dead_units

SUBCLASSED_NOTE = (
    "subclassed model: no layer's output was seen during its call(), so only weight gradients "
    "are measured (no forward RMS, no backward signal, no first/last ratio)"
)
NOT_INTERCEPTED_NOTE = "no layer's output was seen during the model's call: only weight gradients are measured"


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
    """Measures a model repeatedly on batches of the same specification.

    Every pass is one compiled call (`tf.function`): the forward pass with each row layer's
    `call` intercepted while it is traced, the loss, one `tape.gradient` for every layer output
    and weight, and the statistics reduced to a few numbers per layer inside the graph. The
    trace is made once per prober; the passes after it cost what a training step costs.
    """

    def __init__(self, model: Any, backend: Backend, *, input_shapes: tuple[Shape, ...] = (), seed: int = 0,
                 sample: list[np.ndarray] | None = None, compiled: bool = True) -> None:
        """`sample`: real input arrays the caller will measure with (no synthetic inputs then).
        `compiled=False` runs the same pass eagerly (the reference the compiled one is held to)."""
        self.model = model
        self.backend = backend
        self.rng = np.random.default_rng(seed)
        self.compiled = compiled
        self.notes: list[str] = []
        kind = model_kind(model, backend)
        if sample is not None:
            self.specs = [InputSpec(f"input_{i}", tuple(a.shape[1:]), str(a.dtype)) for i, a in enumerate(sample)]
            tiny = [a[:2] for a in sample]
        else:
            self.specs = input_specs(model, kind, backend, input_shapes)
            tiny = synthetic_batch(self.specs, 2, np.random.default_rng(0))
        declared = None if kind == SUBCLASSED else _declared_outputs(model)
        outputs = self._warm_up(tiny) if declared is None else declared  # (the warm-up builds the layers)
        self.structure: Structure = describe(model, backend)
        activations = output_activations(model, self.structure, len(outputs))
        if declared is not None and any(a is None for a in activations):  # the loss reads real outputs
            outputs = self._warm_up(tiny)
        self.plan: LossPlan | None = plan_loss(model, outputs, activations, backend)
        self._output_shapes = [tuple(int(d) for d in o.shape[1:]) for o in outputs]
        self._rows = self.structure.rows  # the rows the traced pass reports on, in this order
        self._variables = _unique_variables(self._rows)
        self._weight_squares: dict[int, float] = {}
        self._batch = 0  # the batch size of the pass being measured (for error messages)
        self._with_gradient: list[int] = []  # ids of the variables the pass returns a gradient for
        self._step: Any = None
        self._autograph = False  # whether the compiled pass needs user call()s converted
        self._call_order: list[int] = []  # row indices in the order the trace entered them
        self._head_rows: list[int] = []  # rows whose output is a model output
        self._settled = False

    def reseed(self, seed: int) -> None:
        """Draw batches and targets as a new prober at `seed` would (the model's weights redrawn
        in place keep the compiled pass: it holds the variables, not their values)."""
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> list[np.ndarray]:
        return synthetic_batch(self.specs, batch_size, self.rng)

    def _warm_up(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Build every layer (subclassed models create weights on first call) with a tiny batch,
        eagerly; its outputs choose the loss. A built graph model whose outputs declare their
        shapes and activations skips it: an eager recurrent layer alone can cost a second."""
        from keras import tree

        try:
            with self._state_kept():
                outputs = self.model(pack_inputs(self.model, arrays), training=False)
        except Exception as exc:
            shapes = ", ".join(spec.describe(2) for spec in self.specs)
            raise ProbeError(
                f"calling the model on a synthetic batch ({shapes}) failed: {reason(exc)}; "
                f"if the input shape is wrong, pass --input-shape"
            ) from exc
        return [np.asarray(o) for o in tree.flatten(outputs)]

    def measure(self, arrays: list[np.ndarray], targets: list[Any] | None = None) -> PassResult:
        """One forward and backward pass; `targets` default to synthetic ones fitting the loss."""
        tf = self.backend.tf
        assert self.plan is not None
        n = int(arrays[0].shape[0]) if arrays else 0
        self._batch = n
        y = list(targets) if targets is not None else make_targets(
            self.plan, [_Shaped((n, *shape)) for shape in self._output_shapes], self.rng)
        inputs = pack_inputs(self.model, [tf.convert_to_tensor(a) for a in arrays])
        y_tensors = [tf.convert_to_tensor(t) for t in y]
        with self._state_kept():
            loss, forward, backward, weights = self._run(inputs, y_tensors)
        # Weight norms outside the pass (fewer ops to trace); read at each pass, as a training
        # callback measures weights that move between passes.
        self._weight_squares = {id(v): _squares(v.numpy()) for v in self._variables}
        by_layer = self._row_passes(forward, backward, weights)
        if not self._settled:
            self._settle()
        rows = [by_layer[id(row.layer)] for row in self.structure.rows]
        return PassResult(float(loss), rows, y)

    # --- the pass ----------------------------------------------------------------------------

    def _run(self, inputs: Any, targets: list[Any]) -> Any:
        """The pass, compiled on first use: without AutoGraph (tracing is a good part of a probe's
        time); for user-defined layers whose call() branches on tensors in Python, with their
        call() converted by AutoGraph; eagerly, said in a note, for a model that cannot be
        traced at all (one that reads values in numpy, say)."""
        tf = self.backend.tf
        if not self.compiled:
            return _to_numpy(self._pass(inputs, targets))
        if self._step is not None:
            with _few_graph_optimizations(tf), _autograph_calls(self.model, tf, self._autograph):
                return _to_numpy(self._step(inputs, targets))
        failure: Exception | None = None
        attempts = (False, True) if _user_layers(self.model) else (False,)
        for autograph in attempts:
            step = tf.function(self._pass, autograph=False)
            try:
                with _few_graph_optimizations(tf), _autograph_calls(self.model, tf, autograph):
                    result = _to_numpy(step(inputs, targets))
            except Exception as exc:
                failure = failure or exc  # the first failure says best what cannot be traced
                self._call_order, self._head_rows = [], []
                continue
            self._step, self._autograph = step, autograph
            return result
        self.compiled = False
        try:
            result = _to_numpy(self._pass(inputs, targets))
        except Exception as exc:
            shapes = ", ".join(spec.describe(self._batch) for spec in self.specs)
            raise ProbeError(
                f"calling the model on a synthetic batch ({shapes}) failed: {reason(exc)}; "
                f"if the input shape is wrong, pass --input-shape"
            ) from exc
        assert failure is not None
        self.notes.append(f"the pass could not be compiled ({_where(failure)}); it ran eagerly")
        return result

    def _pass(self, inputs: Any, targets: list[Any]) -> tuple[Any, list[list[Any]], list[list[Any]], list[Any]]:
        """Forward, loss and backward, reduced to statistics in the graph: (loss, per row (Σx²/2,
        size, per-unit peak) of each output, per row Σg²/2 of each output gradient, ‖∂L/∂W‖²/2
        of each variable that has a gradient, in `_with_gradient` order)."""
        tf = self.backend.tf
        from keras import tree

        rows = self._rows
        intercepted = [row for row in rows if row.layer is not self.model]  # its output is the model's
        index = {id(row.layer): i for i, row in enumerate(rows)}
        with _intercept(intercepted) as records, tf.GradientTape() as tape:
            outputs = self.model(inputs, training=True)
            flat = list(tree.flatten(outputs))
            assert self.plan is not None  # (set where the prober is made)
            loss = total_loss(self.plan, targets, flat, self.backend)
        row_outputs: list[list[Any]] = [[] for _ in rows]
        for j, row in enumerate(intercepted):
            row_outputs[index[id(row.layer)]] = [t for t in tree.flatten(records.calls.get(j, []))
                                                 if _is_float_tensor(t)]
        self._call_order = [index[id(intercepted[j].layer)] for j in records.order]
        self._head_rows = [i for i, outs in enumerate(row_outputs) if any(o is f for o in outs for f in flat)]
        watched = [t for outs in row_outputs for t in outs]
        grads = tape.gradient(loss, watched + self._variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
        output_grads, var_grads = grads[: len(watched)], grads[len(watched):]
        forward, backward, position = [], [], 0
        for outs in row_outputs:
            forward.append([_output_summary(t, tf) for t in outs])
            gs = output_grads[position: position + len(outs)]
            position += len(outs)
            backward.append([_grad_summary(g, tf) for g in gs if g is not None])
        self._with_gradient = [id(v) for v, g in zip(self._variables, var_grads) if g is not None]
        weights = [_grad_summary(g, tf) for g in var_grads if g is not None]
        return loss, forward, backward, weights

    def _row_passes(self, forward: list[list[Any]], backward: list[list[Any]], weights: list[Any]) -> dict[int, RowPass]:
        """The pass's statistics per row, keyed by the row's layer."""
        grad_squares = dict(zip(self._with_gradient, weights))
        passes: dict[int, RowPass] = {}
        for row, outs, grads in zip(self._rows, forward, backward):
            result = RowPass()
            _forward(result, outs)
            _backward(result, grads)
            _weights(result, row, self._weight_squares, grad_squares)
            passes[id(row.layer)] = result
        return passes

    def _settle(self) -> None:
        """After the first pass: a subclassed model's rows in the order its call() ran them, its
        head the row whose output the model returns, and a note naming rows never seen."""
        self._settled = True
        structure = self.structure
        if structure.kind == SUBCLASSED and self._call_order:
            called = list(dict.fromkeys(self._call_order))
            slots = sorted(called)  # rows never called keep their places
            order = list(range(len(structure.rows)))
            for slot, i in zip(slots, called):
                order[slot] = i
            rows = tuple(structure.rows[i] for i in order)
            new_index = {i: k for k, i in enumerate(order)}
            heads = frozenset(new_index[i] for i in self._head_rows) or frozenset({new_index[called[-1]]})
            self.structure = replace(structure, rows=rows, heads=heads)
        seen = set(self._call_order)
        unseen = [row.name for i, row in enumerate(self._rows) if i not in seen and row.layer is not self.model]
        if self._call_order and unseen:
            self.notes.append(f"not measured per layer (not called in the model's forward pass): {', '.join(unseen)}")
        elif not self._call_order and structure.rows:
            self.notes.append(SUBCLASSED_NOTE if structure.kind == SUBCLASSED else NOT_INTERCEPTED_NOTE)

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


def probe_model(model: Any, backend: Backend, options: ProbeOptions, *, target: str, filename: str,
                progress: Progress | None = None) -> ProbeReport:
    """Measure `options.repeats` batches and report per-layer medians (findings not yet judged)."""
    started = time.perf_counter()
    prober = Prober(model, backend, input_shapes=options.input_shapes, seed=options.seed)
    return probe_with(prober, options, target=target, filename=filename, progress=progress, started=started)


def probe_with(prober: Prober, options: ProbeOptions, *, target: str, filename: str,
               progress: Progress | None = None, started: float | None = None) -> ProbeReport:
    """`probe_model` with a prober made before (kept to probe the same model at another seed);
    `started`: when the probe began, for its time."""
    progress = progress or NoProgress()
    started = time.perf_counter() if started is None else started
    model, backend = prober.model, prober.backend
    passes = []
    for i in range(options.repeats):
        what = "tracing and measuring" if i == 0 and prober.compiled and prober._step is None else "measuring"
        progress.step(f"{target}: {what} batch {i + 1}/{options.repeats}")
        passes.append(prober.measure(prober.batch(options.batch_size)))
    structure = prober.structure
    assert prober.plan is not None
    notes = list(prober.notes)
    if prober.plan.note:
        notes.append(prober.plan.note)
    measured = measured_report(
        structure, [p.rows for p in passes], [p.loss for p in passes], notes,
        target=target,
        filename=filename,
        model_name=model.name,
        model_class=type(model).__name__,
        loss=prober.plan.description,
        inputs=tuple(spec.describe(options.batch_size) for spec in prober.specs),
        batch_size=options.batch_size,
        repeats=options.repeats,
        seed=options.seed,
        parameters=int(model.count_params()),
    )
    probed = time.perf_counter()
    report = _with_prediction(measured, model, backend, structure)
    return replace(report, timings={"probe": probed - started, "prediction": time.perf_counter() - probed})


def measured_report(structure: Structure, passes: Sequence[Sequence[RowPass]], losses: Sequence[float],
                    notes: Sequence[str], **fields: Any) -> ProbeReport:
    """What every framework's probe reports of its passes: per-layer medians, the median finite
    loss, and its notes (`fields`: the rest of the report, which only the framework knows)."""
    layers = tuple(_aggregate(i, row, [rows[i] for rows in passes], head=i in structure.heads)
                   for i, row in enumerate(structure.rows))
    finite = [v for v in losses if math.isfinite(v)]
    if not structure.rows:
        notes = [*notes, "the model has no weighted layers"]
    return ProbeReport(
        model_kind=structure.kind,
        layers=layers,
        loss_value=float(np.median(finite)) if finite else None,
        loss_non_finite=len(finite) < len(losses),
        notes=tuple(notes),
        **fields,
    )


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


class _Records:
    """What an intercepted pass saw: each row's outputs, and the order rows were entered."""

    def __init__(self) -> None:
        self.calls: dict[int, list[Any]] = {}
        self.order: list[int] = []


@contextlib.contextmanager
def _intercept(rows: tuple[Row, ...] | list[Row]) -> Iterator[_Records]:
    """Record each row layer's outputs while the pass runs (or is traced); restore `call` afterwards."""
    records = _Records()
    patched: list[tuple[Any, Any]] = []
    missing = object()
    try:
        for i, row in enumerate(rows):
            layer = row.layer
            original = layer.call
            previous = layer.__dict__.get("call", missing)

            @functools.wraps(original)
            def recording_call(*args: Any, __original: Any = original, __i: int = i, **kwargs: Any) -> Any:
                records.order.append(__i)
                out = __original(*args, **kwargs)
                records.calls.setdefault(__i, []).append(out)
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


def _user_layers(model: Any) -> list[Any]:
    """The model and its sublayers whose class the user wrote (their call() is Python we trace)."""
    flatten = getattr(model, "_flatten_layers", None)
    layers = list(flatten(include_self=True, recursive=True)) if flatten is not None else [model]
    return [layer for layer in layers if not is_builtin(layer)]


@contextlib.contextmanager
def _autograph_calls(model: Any, tf: Any, enabled: bool) -> Iterator[None]:
    """User-defined call()s converted by AutoGraph, so that a Python `if` on a tensor traces.
    Keras' own __call__ is never converted, so AutoGraph would not reach them on its own."""
    if not enabled:
        yield
        return
    missing = object()
    patched: list[tuple[Any, Any]] = []
    try:
        for layer in _user_layers(model):
            function = getattr(type(layer).call, "__func__", type(layer).call)
            converted = tf.autograph.to_graph(function)
            patched.append((layer, layer.__dict__.get("call", missing)))
            object.__setattr__(layer, "call", types.MethodType(converted, layer))
        yield
    finally:
        for layer, previous in reversed(patched):
            if previous is missing:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", previous)


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\w+)')


def _where(exc: BaseException) -> str:
    """`OperatorNotAllowedInGraphError at model.py:13 in call`: the user's line that stops
    tracing, without TensorFlow's traceback text."""
    frames = [f for f in _FRAME.findall(str(exc))
              if not any(part in f[0] for part in ("site-packages", "dist-packages", "/gradlint/runtime/"))]
    if not frames:
        return re.sub(r"\x1b\[[0-9;]*m", "", reason(exc, limit=200))
    path, line, function = frames[-1]
    return f"{type(exc).__name__} at {path}:{line} in {function}"


def _declared_outputs(model: Any) -> list[np.ndarray] | None:
    """Stand-ins (zeros, batch 2) for a built graph model's outputs when their shapes are declared."""
    try:
        from keras import tree

        tensors = list(tree.flatten(model.outputs)) if model.built else []
    except (AttributeError, ValueError):
        return None
    shapes = [tuple(t.shape[1:]) for t in tensors]
    if not tensors or any(d is None for shape in shapes for d in shape):
        return None
    return [np.zeros((2, *shape), dtype="float32") for shape in shapes]


@contextlib.contextmanager
def _few_graph_optimizations(tf: Any) -> Iterator[None]:
    """Grappler's rewrites cost more, on the first call of a large graph, than they save over a
    probe's few passes: off while the probe's own function is instantiated and run."""
    previous = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": previous})


@dataclass(frozen=True)
class _Shaped:
    """An output's shape for a batch size, all that drawing its targets needs."""

    shape: tuple[int, ...]


def _squares(value: np.ndarray) -> float:
    """Σw² in float64. Not np.dot: its BLAS threads, started on first use, compete with
    TensorFlow's on a small machine (a first probe took 0.5 s longer)."""
    return float(np.sum(np.square(np.asarray(value, dtype="float64"))))


def _unique_variables(rows: tuple[Row, ...]) -> list[Any]:
    variables: list[Any] = []
    seen: set[int] = set()
    for row in rows:
        for v in row.variables:
            if id(v) not in seen:
                seen.add(id(v))
                variables.append(v)
    return variables


def _to_numpy(value: Any) -> Any:
    """Tensors → numpy, keeping the nesting (a few small arrays per layer)."""
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v) for v in value]
    return None if value is None else np.asarray(value)


def _is_float_tensor(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(dtype, "is_floating", False)


def _sum_of_squares(t: Any, tf: Any) -> Any:
    """Σx²/2 (one fused op) in float64: an exploding tensor must not overflow float32. Non-finite
    exactly when some element is, so it also answers whether the tensor is finite."""
    return tf.nn.l2_loss(tf.cast(t, tf.float64))


def _output_summary(t: Any, tf: Any) -> tuple[Any, Any, Any]:
    """(Σx²/2, size, per-unit peak over every sample and position): a unit whose peak is not
    positive never fired on the batch (see units.py)."""
    shape = t.shape
    size = int(np.prod(shape, dtype="int64")) if shape.is_fully_defined() else tf.size(t)
    rank = len(shape)
    peak = tf.reduce_max(t, axis=list(range(rank - 1))) if rank >= 2 else None
    return _sum_of_squares(t, tf), size, peak


def _grad_summary(g: Any, tf: Any) -> Any:
    return _sum_of_squares(tf.convert_to_tensor(g), tf)


def _forward(result: RowPass, outputs: list[Any]) -> None:
    """`outputs`: the row's (Σx²/2, size, peaks) from `_output_summary`, one per output tensor."""
    if not outputs:
        return
    total = 2 * sum(float(squares) for squares, _, _ in outputs)
    size = sum(int(n) for _, n, _ in outputs)
    finite = math.isfinite(total)
    if not finite:
        result.non_finite.add(FORWARD)
    result.forward_rms = math.sqrt(total) / math.sqrt(size) if size else None
    peaks = outputs[0][2]
    if finite and peaks is not None and peaks.size:  # a NaN is GR103's, not a dead unit
        counted = dead_units(np.asarray(peaks).reshape(1, -1))  # the peaks stand for the batch
        if counted is not None:
            result.dead_units, result.units = counted


def _backward(result: RowPass, grads: list[Any]) -> None:
    if not grads:
        return
    total = 2 * sum(float(squares) for squares in grads)
    if not math.isfinite(total):
        result.non_finite.add(BACKWARD)
    result.backward_signal = math.sqrt(total)


def _weights(result: RowPass, row: Row, weight_squares: dict[int, float], grad_squares: dict[int, Any]) -> None:
    """`weight_squares`: ‖W‖² per variable; `grad_squares`: ‖∂L/∂W‖²/2 per variable that has a gradient."""
    if not row.variables:
        return
    result.weight_norm = math.sqrt(sum(weight_squares[id(v)] for v in row.variables))
    present = [2 * float(grad_squares[id(v)]) for v in row.variables if id(v) in grad_squares]
    if not present:
        result.no_gradient = True
        return
    total = sum(present)
    if not math.isfinite(total):
        result.non_finite.add(WEIGHTS)
    result.weight_grad_norm = math.sqrt(total)


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
