"""The model the signal recurrence reads: a sequence of steps, residual branches nested in it.

Front-ends build it: the static one from the model graph (`gradlint.signal.from_graph`), the
runtime one from a built Keras model. Every number that could not be determined is None, and
the reason is kept, so a prediction says what it could not see instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Weighted:
    """A layer with a kernel: y = φ(W·x). `activation` is the layer's own (linear when none).

    `gain` is σ² = fan_in · Var(w), the factor on the forward second moment; `back_gain` is
    fan_out · Var(w), the factor on the backward one (fans as Keras computes them for the
    kernel: kernel area × channels for convolutions). They are equal for equal widths.
    `elements` is the size of one example's output, for turning per-unit moments into the
    norm the probe measures. None: not known.
    """

    name: str
    gain: float | None
    back_gain: float | None
    activation: str | None = "linear"
    slope: float | None = None  # leaky_relu's negative slope and the like
    elements: int | None = None
    head: bool = False  # an output layer: not part of the probe's first/last ratio
    line: int | None = None  # where the layer is written, for messages
    initializer: str | None = None  # how messages name the initializer


@dataclass(frozen=True)
class Activation:
    """An activation applied on its own (an Activation/ReLU layer, tf.nn.relu(x), …)."""

    activation: str | None
    slope: float | None = None


@dataclass(frozen=True)
class Normalize:
    """A normalization layer: batch statistics (`batch`) or per example (layer, group, RMS)."""

    kind: str  # "batch" | "layer" | "rms" | "unit"
    epsilon: float = 1e-3


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout in training: kept units are scaled by 1/(1 − rate)."""

    rate: float


@dataclass(frozen=True)
class Residual:
    """y = skip(x) + branch(x): both applied to the same input; an empty skip is the identity
    (a projection shortcut has steps of its own)."""

    branch: tuple[Step, ...]
    skip: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Reshape:
    """Changes how many values one example holds, not their moments (flatten, pooling,
    reshape, cropping): `elements` is the new count where known."""

    elements: int | None = None


Step = Weighted | Activation | Normalize | Dropout | Residual | Reshape


@dataclass(frozen=True)
class ModelDescription:
    """One model as the recurrence sees it, with what could not be determined about it."""

    steps: tuple[Step, ...]
    name: str = "model"
    unknown: tuple[str, ...] = field(default_factory=tuple)
