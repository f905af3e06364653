"""GL103 init-scale: a kernel initializer of fixed scale, too small or too large for the layer,
or a constant one."""

from __future__ import annotations

import math
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import UNSAFE, Diagnostic
from gradlint.graph.facts import InitializerFact, Layer
from gradlint.graph.guards import added_back, known_hidden, normalization_reached
from gradlint.graph.model import ModuleGraph
from gradlint.graph.weights import KernelScale, family_kernel, kernel_scale, read_scale
from gradlint.keras_api.activations import Family, family_of
from gradlint.keras_api.initializers import InitKind
from gradlint.keras_api.layers import Role
from gradlint.keras_api.scales import (
    GAIN_LIMITS,
    STDDEV_LIMITS,
    WeightScale,
)
from gradlint.rules.base import FixSafety, Invalid, Rule
from gradlint.rules.initializer_fix import plan_initializer_fix, suggested_text
from gradlint.signal.effects import ERROR, WARNING, layer_effect, times
from gradlint.signal.from_graph import SignalModel, signal_of

# Below this gain the variance reaching a normalization is near its epsilon (1e-3 in Keras),
# and the normalization divides by √ε instead of cancelling the scale.
_NEAR_EPSILON = 1e-2

# The parameters worth naming when a message relies on their defaults.
_SCALE_KEYS = {"RandomNormal": ("stddev",), "TruncatedNormal": ("stddev",), "RandomUniform": ("minval", "maxval")}


class InitScale(Rule):
    code = "GL103"
    name = "init-scale"
    summary = "Kernel initializer of a fixed scale (RandomNormal, RandomUniform, Zeros, Constant, …) that shrinks or grows the signal at every layer"
    fixable = True
    fix_safety = (
        FixSafety("writes the activation family's initializer over the fixed-scale one (only a seed "
                  "carries over)", "unsafe",
                  "the scale is one the author wrote; a small or constant start can be deliberate in "
                  "ways the model graph cannot see, and its stddev or limits are dropped"),
        FixSafety("rewrites a PyTorch `nn.init.*_(…)` call (or `weight.normal_(…)`) of a fixed scale that "
                  "initializes one layer as the family's nn.init function", "unsafe",
                  "the scale is one the author wrote; its std or bounds are dropped"),
    )
    doc = """\
## What it finds
Dense, EinsumDense and convolution layers whose kernel initializer has a fixed scale rather
than one derived from the layer's size: `RandomNormal`, `TruncatedNormal`, `RandomUniform`
(also as strings such as `"random_normal"`, with Keras' default stddev 0.05 or limits ±0.05),
and `Zeros`, `Ones`, `Constant`.

- A random kernel is judged by its gain σ² = fan_in·Var(w), against the gain its activation's
  family sets (He 2, LeCun 1, Glorot 2·fan_in/(fan_in+fan_out)): below 0.1 or above 10 times
  that, or where gradlint's signal model predicts that the run of layers around it takes the
  first layer's gradient past the probe's thresholds (1e-3, 1e3), it is flagged, with the
  factor per layer and over the run. `RandomNormal(stddev=0.05)` is He at fan-in 784 and 25
  times too small at fan-in 32: the name of an initializer decides nothing. Where the fan-in
  cannot be seen, only a stddev below 0.001 or above 1 is flagged: no layer width makes those
  right.
- A constant kernel in a hidden layer is a finding of its own kind: every unit starts with the
  same weights and computes the same output, and a zero kernel passes no gradient below it. A
  non-zero constant is flagged wherever it is.
- Deliberate idioms are left alone: a zero or small kernel in the model's output layer (it
  scales the loss's gradient once), in the last layer of a residual branch whose output is
  added back (ReZero, Fixup, LoRA's B matrix, zero-initialized residual blocks), a zero kernel
  whose destination cannot be seen, and a kernel whose output a normalization cancels — unless
  the kernel is so small that the variance before the normalization is near its epsilon, which
  then divides by √ε instead (30 × Dense(128, stddev=0.001) → BN → ReLU: a ratio of 1e-16).

## Why it matters
A layer multiplies the variance of its signal by fan_in × Var(w). With `stddev=1e-4` and 256
inputs that is 2.6e-6; four such layers take a unit-variance input to about 1e-23, and the
gradients of the first layers vanish the same way. Too large a scale makes them explode.

## Example
```python
init = keras.initializers.RandomNormal(stddev=1e-4)
inputs = keras.Input(shape=(256,))
x = layers.Dense(256, activation="relu", kernel_initializer=init)(inputs)  # GL103
```

## Fix
`gradlint fix --write --unsafe-fixes` writes the initializer of the activation's family, as
GL101 would (an unsafe fix: it replaces the initializer the author wrote):
`RandomNormal(stddev=1e-4, seed=7)` → `HeNormal(seed=7)` for ReLU (only the seed carries over),
`"random_uniform"` → `"glorot_uniform"` for tanh, `Zeros()` → `GlorotNormal()` for a linear
layer. A normal distribution stays normal and a uniform one uniform. A layer whose activation
is unknown, or fits no family, is reported without a fix.

## PyTorch
The same judgement for `nn.init` calls of a fixed scale on a layer's weight:
`nn.init.normal_(w, mean, std)` (torch's default std is 1, not 0.05), `uniform_(w, a, b)`
(default U(0, 1)), `trunc_normal_(w, mean, std, a, b)` (the bounds are absolute, so
`trunc_normal_(w, std=0.02)` is a plain normal), `constant_`, `zeros_`, `ones_`, and the
in-place tensor methods under `torch.no_grad()` (`self.fc.weight.normal_(0, 0.01)`,
`.data.uniform_(-0.1, 0.1)`, `.zero_()`, `.fill_(v)`). Where the call initializes that layer
alone, the fix (unsafe) rewrites it as the family's initializer:
`nn.init.normal_(self.fc.weight, std=1e-4)` → `nn.init.kaiming_normal_(self.fc.weight,
nonlinearity="relu")`; in a loop over several layers it is reported without a fix.

## Flax
The same judgement for a Flax layer's `kernel_init=` of a fixed scale, with JAX's defaults:
`nn.initializers.normal(stddev=0.01)` (also `jax.nn.initializers`, `nnx.initializers`),
`truncated_normal(stddev=0.01)` (truncated at ±2 stddev, its variance not corrected),
`uniform(scale=0.01)` (U[0, scale): not centred), `zeros`, `ones`, `constant(v)`. A linen
`nn.Dense` has its fan-in where the layer before it shows its width; NNX layers name it. The
fix (unsafe) writes the family's initializer over it for that layer alone:
`kernel_init=nn.initializers.normal(0.01)` → `kernel_init=nn.initializers.he_normal()`.
"""

    valid = (
        # Transformer-style stddev=0.02 where the width is not visible: fine at any usual width.
        """\
from tensorflow import keras
def feed_forward(x, d_model):
    x = keras.layers.Dense(4 * d_model, activation="gelu",
                           kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(x)
    return keras.layers.Dense(d_model, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(x)
""",
        # Keras' default RandomNormal(stddev=0.05) with fan_in=784 is close to He's 2/784.
        """\
import keras
from keras import layers
inputs = keras.Input(shape=(784,))
x = layers.Dense(512, activation="relu", kernel_initializer="random_normal")(inputs)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
""",
        # Logistic regression: one output unit may start at zero.
        """\
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros", input_shape=(30,)),
])
""",
    )
    invalid = (
        Invalid(
            """\
import keras
from keras import initializers, layers
inputs = keras.Input(shape=(256,))
x = layers.Dense(256, activation="relu", kernel_initializer=initializers.RandomNormal(stddev=1e-4, seed=7))(inputs)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
""",
            fixed="""\
import keras
from keras import initializers, layers
inputs = keras.Input(shape=(256,))
x = layers.Dense(256, activation="relu", kernel_initializer=initializers.HeNormal(seed=7))(inputs)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
""",
        ),
        Invalid(
            """\
from tensorflow import keras
model = keras.Sequential([
    keras.layers.Dense(100, activation="tanh", kernel_initializer="zeros", input_shape=(20,)),
    keras.layers.Dense(1),
])
""",
            fixed="""\
from tensorflow import keras
model = keras.Sequential([
    keras.layers.Dense(100, activation="tanh", kernel_initializer="glorot_normal", input_shape=(20,)),
    keras.layers.Dense(1),
])
""",
        ),
        # Fan-in not visible, but stddev=2.0 is too large for any width.
        Invalid(
            """\
from tensorflow.keras import layers
from tensorflow.keras.initializers import RandomNormal
def block(x):
    return layers.Conv2D(64, 3, activation="relu", kernel_initializer=RandomNormal(0.0, 2.0))(x)
""",
            fixed="""\
from tensorflow.keras import layers
from tensorflow.keras.initializers import RandomNormal, HeNormal
def block(x):
    return layers.Conv2D(64, 3, activation="relu", kernel_initializer=HeNormal())(x)
""",
        ),
        Invalid(
            """\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(256, 256)
        nn.init.normal_(self.hidden.weight, std=1e-4)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        return self.out(self.hidden(x).relu())
""",
            fixed="""\
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(256, 256)
        nn.init.kaiming_normal_(self.hidden.weight, nonlinearity="relu")
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        return self.out(self.hidden(x).relu())
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        signal = signal_of(graph)
        for layer in graph.layers:
            fact = layer.initializer
            if not _judged(layer) or fact is None or fact.spec is None or fact.spec.kind is not InitKind.FIXED_SCALE:
                continue
            scale = read_scale(graph, fact)
            if scale is None:
                continue
            activation = layer.activation
            family = family_of(activation.name) if activation is not None else None
            kernel = kernel_scale(graph, layer)
            if _deliberate(graph, layer, kernel):
                continue
            severity = ERROR
            if scale.is_constant:
                # A zero kernel is a fault only where it is known to be hidden; where its output
                # goes cannot be seen, it is as likely a deliberate output or branch end.
                hidden = known_hidden(graph, layer)
                problem = (_constant_problem(layer, scale.mean)
                           if scale.mean is not None and (scale.mean != 0 or hidden) else None)
            elif (norm := normalization_reached(graph, layer)) is not None and kernel.gain is not None:
                problem, severity = _below_epsilon(signal, layer, norm, kernel.gain)
            elif (kernel.gain is not None or layer.fan_in_choices) and activation is not None and family is not None:
                found = _signal_problem(graph, signal, layer, activation.name, family, kernel)
                problem, severity = found if found else (None, WARNING)
            else:
                problem = _stddev_problem(scale)
            if problem is None:
                continue
            what = f"{layer.class_name} made by partial(...)" if layer.is_template else layer.class_name
            what += f" ({activation.name})" if activation is not None else ""
            head = f"{what} uses {_display(fact, scale)}: {problem}"
            if family is None:
                yield self.report(graph, layer.call, f"{head}; use the initializer of its activation's family",
                                  severity=severity)
                continue
            plan = plan_initializer_fix(graph, layer, family, settings, _distribution(fact, settings))
            param = layer.spec.initializer_param or "kernel_initializer"
            suggestion = plan.suggestion if plan else suggested_text(family, settings, param)
            # Always unsafe: the fixed-scale initializer is one the author wrote.
            yield self.report(graph, layer.call, f"{head}; use {suggestion}", plan.edits if plan else (),
                              f"Use {suggestion}", severity=severity, applicability=UNSAFE)


def _deliberate(graph: ModuleGraph, layer: Layer, kernel: KernelScale) -> bool:
    """Zero or small starts that are idioms, not faults: the model's output layer (it scales
    the loss's gradient once), the last layer of a residual branch (ReZero, Fixup, LoRA's B),
    and a kernel whose scale a normalization cancels, unless it is so small that the
    variance before the normalization is near its epsilon."""
    following = layer.following
    at_output = following is not None and following.source == "output" or _is_head(graph, layer)
    if at_output and (kernel.is_zero or kernel.constant is None and _small(graph, layer, kernel)):
        return True
    if added_back(graph, layer):
        return True
    if normalization_reached(graph, layer) is not None:
        gain = kernel.gain
        return gain is not None and gain > _NEAR_EPSILON and not kernel.is_zero
    return False


def _small(graph: ModuleGraph, layer: Layer, kernel: KernelScale) -> bool:
    """Random and no larger than its family's scale (or, fan-in unknown, than a stddev of 0.05)."""
    activation = layer.activation
    family = family_of(activation.name) if activation is not None else None
    target = family_kernel(family, layer.fan_in, layer.fan_out).gain if family is not None else None
    if kernel.gain is not None and target:
        return kernel.gain <= target
    scale = read_scale(graph, layer.initializer) if layer.initializer is not None else None
    return scale is not None and scale.stddev is not None and scale.stddev <= 0.05


def _below_epsilon(signal: SignalModel, layer: Layer, norm: Layer, gain: float) -> tuple[str, str]:
    """A kernel so small that the normalization after it divides by √ε instead of cancelling
    its scale (30 × Dense(128, stddev=0.001) → BN → ReLU measures a ratio of 1e-16)."""
    text = (f"its output reaches {norm.class_name}, but with a gain fan_in·Var(w) of {_num(gain)} the variance "
            "there is near the normalization's epsilon, which then divides by √ε instead of cancelling the scale")
    found = signal.entry_of(layer)
    ratio = found[0].prediction.backward_ratio if found else None
    if ratio is not None:
        text += f"; the model's first layer is predicted to get {times(ratio)} of the last one's gradient"
    return text, ERROR if ratio is None or ratio < 1e-3 else WARNING


def _is_head(graph: ModuleGraph, layer: Layer) -> bool:
    return any(stack.end == "output" and stack.entries and stack.entries[-1].layer is layer for stack in graph.stacks)


def _signal_problem(graph: ModuleGraph, signal: SignalModel, layer: Layer, activation: str, family: Family,
                    kernel: KernelScale) -> tuple[str, str] | None:
    """Known fan-in: the gain σ² = fan_in·Var(w) against the one the activation's family sets
    (its critical gain, where the signal keeps its scale), and what the recurrence predicts
    the run of layers makes of it."""
    fans = layer.fan_in_choices or (layer.fan_in,)
    pairs = [(kernel_scale(graph, layer, f).gain, family_kernel(family, f, layer.fan_out).gain) for f in fans]
    if any(g is None or not t for g, t in pairs):
        return None
    relatives = [g / t for g, t in pairs]  # type: ignore[operator]
    low, high = GAIN_LIMITS
    if not (all(r < 1 for r in relatives) or all(r > 1 for r in relatives)):
        return None
    relative = max(relatives) if relatives[0] < 1 else min(relatives)  # the mildest turn
    gains = [g for g, _ in pairs]
    targets = [t for _, t in pairs]
    effect = layer_effect(graph, signal, layer)
    ratio = effect.run_ratio
    crossing = effect.severity == ERROR and ratio is not None and (ratio < 1) == (relative < 1)
    if not (relative < low or relative > high or crossing):
        return None
    way = "shrinks" if relative < 1 else "grows"
    text = (f"with fan_in={_span(fans)} its gain fan_in·Var(w) is {_span(gains)} ({family.value} "
            f"initialization for {activation} sets {_span(targets)}), so the signal {way} "
            f"{times(math.sqrt(relative))} per layer")
    if ratio is not None and effect.run_layers > 1:
        text += f"; the gradient changes {times(ratio)} over this run of {effect.run_layers} layers"
    return text, ERROR if crossing or effect.run_layers == 1 and (relative < low ** 2 or relative > high ** 2) else WARNING


def _stddev_problem(scale: WeightScale) -> str | None:
    """Unknown fan-in: only a scale no layer width could justify."""
    stddev = scale.stddev
    low, high = STDDEV_LIMITS
    if stddev is None or low <= stddev <= high:
        return None
    if stddev < low:
        return (f"a weight stddev of {_num(stddev)} is below {low:g}, too small for any layer width, "
                "so the signal shrinks at every layer")
    return (f"a weight stddev of {_num(stddev)} is above {high:g}, too large for any layer width, "
            "so the signal grows at every layer")


def _judged(layer: Layer) -> bool:
    """The layers GL101 judges: weighted, with a kernel initializer; a partial once."""
    if layer.spec.role is not Role.WEIGHTED or layer.spec.initializer_param is None:
        return False
    return layer.is_template or layer.partial is None or layer.initializer_home is not layer.partial


def _constant_problem(layer: Layer, value: float) -> str | None:
    units = layer.fan_out if layer.spec.name == "Dense" else None
    if units == 1:
        if value == 0:
            return None if _single_output_unit(layer) else "zero weights pass no gradient to the layers below"
        return f"every weight starts at {value:g}, so the unit begins as {value:g} × the sum of its inputs"
    copies = f" {units} times" if units else ""
    text = ("every unit starts with the same weights and computes the same output: the layer begins as one "
            f"unit copied{copies}, which only different gradients from above can tell apart")
    return text + ("; zero weights also pass no gradient to the layers below" if value == 0 else "")


def _single_output_unit(layer: Layer) -> bool:
    following = layer.following
    return layer.fan_out == 1 and layer.spec.name == "Dense" and following is not None and following.source == "output"


def _distribution(fact: InitializerFact, settings: Settings) -> str:
    name = fact.spec.class_name if fact.spec is not None else ""
    if name == "RandomUniform":
        return "uniform"
    if name in ("RandomNormal", "TruncatedNormal"):
        return "normal"
    return settings.fix_distribution


def _display(fact: InitializerFact, scale: WeightScale) -> str:
    """How the message names the initializer, with the defaults it relies on."""
    keys = _SCALE_KEYS.get(scale.class_name, ())
    shown = ", ".join(f"{k}={scale.defaulted[k]:g}" for k in keys if k in scale.defaulted)
    return f"{fact.display} (default {shown})" if shown else fact.display


def _num(value: float | None) -> str:
    return "?" if value is None else f"{value:.2g}"


def _span(values: list | tuple) -> str:
    """`1.3e-06`, or `0.0048 to 0.0064` where a loop's turns differ."""
    shown = sorted({_num(v) if isinstance(v, float) or v is None else str(v) for v in values},
                   key=lambda t: float(t) if t != "?" else math.inf)
    return shown[0] if len(shown) == 1 else f"{shown[0]} to {shown[-1]}"
