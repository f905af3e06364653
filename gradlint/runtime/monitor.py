"""GradientMonitor: the probe as a Keras callback, run on a held batch during `fit`.

Every `every_n_batches` training batches it measures per-layer gradients on the same batch,
records them (in `monitor.records`, in the History returned by `fit` and, with `log_dir`, in
TensorBoard) and reports GR101/GR102/GR103 the first time each appears.

The class derives from `keras.callbacks.Callback`, so it is created on first use: importing
this module does not import Keras.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from gradlint.diagnostics import Diagnostic

ON_PROBLEM = ("warn", "raise", "stop")


class GradientProblemWarning(UserWarning):
    """A runtime gradient finding seen during training (on_problem="warn" or "stop")."""


class GradientProblemError(RuntimeError):
    """Raised from `fit` by GradientMonitor(on_problem="raise")."""

    def __init__(self, message: str, findings: list[Diagnostic]) -> None:
        super().__init__(message)
        self.findings = findings


class GradientMonitorMixin:
    """Keras callback: probe per-layer gradients on a held batch during `fit`.

    GradientMonitor(every_n_batches=100, on_problem="warn", *, batch=None, batch_size=32,
                    seed=0, input_shape=None, options=None, log_dir=None)

    - every_n_batches: probe after the first training batch and then every n batches
      (counted across epochs).
    - on_problem: "warn" (a GradientProblemWarning), "raise" (GradientProblemError out of
      `fit`) or "stop" (warn and stop training after the current batch). Each finding is
      reported once, when it first appears.
    - batch: (x, y) to probe with, e.g. a slice of the training data. Default: a synthetic
      batch shaped like the model's inputs with targets that fit its loss, drawn once and held.
    - batch_size, seed, input_shape: for that synthetic batch ("28,28,1" or a tuple).
    - options: a ProbeOptions with the thresholds; the probe's defaults otherwise.
    - log_dir: also write the per-layer numbers to TensorBoard event files there.

    After `fit`: `monitor.records` (one dict per probe: step, epoch, loss, per-layer numbers,
    codes found), `monitor.findings` (Diagnostics, first appearances), and the History gains
    `grad_norm/<layer>` per epoch (the latest probe's weight-gradient norm).
    """

    # Set by Keras on the callback class this is mixed into (`Callback.model`); an annotation
    # only, so that attribute is not shadowed.
    model: Any

    def __init__(self, every_n_batches: int = 100, on_problem: str = "warn", *, batch: Any = None,
                 batch_size: int = 32, seed: int = 0, input_shape: Any = None, options: Any = None,
                 log_dir: str | None = None) -> None:
        super().__init__()
        from gradlint.runtime.settings import ProbeOptions, parse_shape

        if isinstance(every_n_batches, bool) or not isinstance(every_n_batches, int) or every_n_batches < 1:
            raise ValueError(f"every_n_batches must be a positive integer, not {every_n_batches!r}")
        if on_problem not in ON_PROBLEM:
            raise ValueError(f"on_problem must be one of {', '.join(map(repr, ON_PROBLEM))}, not {on_problem!r}")
        self.every_n_batches = every_n_batches
        self.on_problem = on_problem
        self.batch = batch
        shapes = (parse_shape(input_shape, where="input_shape"),) if input_shape is not None else ()
        self.options = (options or ProbeOptions()).with_overrides(batch_size=batch_size, seed=seed,
                                                                  input_shapes=shapes or None)
        self.log_dir = log_dir
        self.records: list[dict[str, Any]] = []
        self.findings: list[Diagnostic] = []
        self._seen: set[tuple[str, str]] = set()
        self._step = 0
        self._epoch = 0
        self._prober: Any = None
        self._x: Any = None
        self._y: Any = None
        self._writer: Any = None

    # --- Keras hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs: Any = None) -> None:
        self._prober = None
        self._step = 0
        if self.log_dir is not None:
            import importlib.util

            if importlib.util.find_spec("tensorboard") is None:
                warnings.warn(f"GradientMonitor: TensorBoard is not installed; nothing is written to {self.log_dir}",
                              stacklevel=2)
                return
            from gradlint.runtime.backend import load

            self._writer = load().tf.summary.create_file_writer(self.log_dir)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._step += 1
        if (self._step - 1) % self.every_n_batches == 0:
            self.probe_now()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if not self.records:
            return
        latest = self.records[-1]["layers"]
        history = getattr(getattr(self.model, "history", None), "history", None)
        target: dict[str, Any] | None = history if isinstance(history, dict) else logs
        if target is None:
            return
        into_history = history is target  # History.history: a list per key, an entry per epoch
        for name, numbers in latest.items():
            value = numbers["weight_grad_norm"]
            if into_history:
                target.setdefault(f"grad_norm/{name}", []).append(value)
            else:
                target[f"grad_norm/{name}"] = value

    def on_train_end(self, logs: Any = None) -> None:
        if self._writer is not None:
            self._writer.flush()

    # --- the probe ---------------------------------------------------------------------------

    def probe_now(self) -> list[Diagnostic]:
        """Measure the held batch now; return the findings (new and old)."""
        from gradlint.runtime.probe import single_pass_report
        from gradlint.runtime.verdicts import judge

        if self._prober is None:
            self._setup()
        result = self._prober.measure(self._x, self._y)
        if self._y is None:
            self._y = result.targets  # hold the synthetic targets with the batch
        report = single_pass_report(self._prober, result, target=self.model.name, filename=self.model.name,
                                    options=self.options)
        findings = judge(report, self.options)
        record = {
            "step": self._step,
            "epoch": self._epoch,
            "loss": result.loss,
            "layers": {layer.name: {"weight_grad_norm": layer.weight_grad_norm,
                                    "backward_signal": layer.backward_signal,
                                    "relative_grad": layer.relative_grad,
                                    "forward_rms": layer.forward_rms} for layer in report.layers},
            "codes": sorted({d.code for d in findings}),
        }
        self.records.append(record)
        self._log_tensorboard(record)
        new = []
        for d in findings:
            key = (d.code, str(d.extra.get("criterion", "")))
            if key not in self._seen:
                self._seen.add(key)
                new.append(d)
        self.findings.extend(new)
        if new:
            self._handle(new)
        return findings

    def _setup(self) -> None:
        import numpy as np
        from keras import tree

        from gradlint.runtime.backend import load
        from gradlint.runtime.probe import Prober

        backend = load()
        if self.batch is not None:
            try:
                x, y = self.batch
            except (TypeError, ValueError):
                raise ValueError("batch must be a pair (x, y)") from None
            self._x = [np.asarray(a) for a in tree.flatten(x)]
            self._y = [np.asarray(a) for a in tree.flatten(y)]
            self._prober = Prober(self.model, backend, sample=self._x, seed=self.options.seed)
        else:
            self._prober = Prober(self.model, backend, input_shapes=self.options.input_shapes, seed=self.options.seed)
            self._x = self._prober.batch(self.options.batch_size)

    def _log_tensorboard(self, record: dict[str, Any]) -> None:
        if self._writer is None:
            return
        from gradlint.runtime.backend import load

        tf = load().tf
        with self._writer.as_default():
            for name, numbers in record["layers"].items():
                for metric, value in numbers.items():
                    if value is not None:
                        tf.summary.scalar(f"gradlint/{metric}/{name}", value, step=record["step"])

    def _handle(self, new: list[Diagnostic]) -> None:
        text = "; ".join(f"{d.code} {d.message}" for d in new)
        message = f"GradientMonitor, step {self._step} (epoch {self._epoch + 1}): {text}"
        if self.on_problem == "raise":
            raise GradientProblemError(message, new)
        warn(message)
        if self.on_problem == "stop":
            self.model.stop_training = True


@functools.cache
def _monitor_class() -> type:
    from gradlint.runtime.backend import load

    keras = load().keras
    return type("GradientMonitor", (GradientMonitorMixin, keras.callbacks.Callback), {
        "__module__": "gradlint.keras",
        "__qualname__": "GradientMonitor",
        "__doc__": GradientMonitorMixin.__doc__,
    })


def __getattr__(name: str) -> Any:
    if name == "GradientMonitor":
        return _monitor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn(message: str) -> None:
    warnings.warn(message, GradientProblemWarning, stacklevel=3)
