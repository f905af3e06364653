"""GL101 init-activation-mismatch: a layer's kernel initializer does not fit its activation."""

from __future__ import annotations

import math
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import SAFE, Diagnostic
from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.guards import feeds_zero_kernel, normalization_reached
from gradlint.graph.model import ModuleGraph
from gradlint.graph.weights import family_kernel, kernel_scale
from gradlint.keras_api.activations import Family, family_of
from gradlint.keras_api.layers import Role
from gradlint.rules.base import FixSafety, Invalid, Rule
from gradlint.rules.callsite_activations import callsite_mismatches
from gradlint.rules.imported_helpers import imported_helper_mismatches, where
from gradlint.rules.initializer_fix import plan_initializer_fix, suggested_text
from gradlint.signal.effects import LayerEffect, layer_effect, times
from gradlint.signal.from_graph import signal_of


class InitActivationMismatch(Rule):
    code = "GL101"
    name = "init-activation-mismatch"
    summary = "Kernel initializer does not fit the layer's activation (He for ReLU, Glorot for tanh/sigmoid/linear, LeCun for SELU)"
    fixable = True
    fix_safety = (
        FixSafety("adds `kernel_initializer=` (the family's initializer) to a layer that gives none", "safe",
                  "the layer had Keras' default, which nobody chose; the textbook initializer is added "
                  "and nothing the author wrote changes"),
        FixSafety("rewrites an initializer the layer is given: a string, a class call, a VarianceScaling "
                  "call, a config dict's class_name, or (for this layer alone) a shared variable", "unsafe",
                  "the author wrote that initializer, perhaps on purpose (a paper reproduced, a tuned "
                  "scale, a seed kept); review the change before applying it"),
        FixSafety("adds one `nn.init.kaiming_normal_(self.fc1.weight, nonlinearity=\"relu\")` line (the "
                  "family's nn.init function) after a PyTorch layer's assignment", "safe",
                  "the layer had PyTorch's default, which nobody chose; one line is added and nothing "
                  "the author wrote changes"),
        FixSafety("rewrites an `nn.init.*_(…)` call that initializes that PyTorch layer alone", "unsafe",
                  "the author wrote that initializer; review the change before applying it"),
        FixSafety("adds `kernel_init=nn.initializers.he_normal()` (the family's initializer, in the file's "
                  "name for jax.nn.initializers) to a Flax layer that gives none", "safe",
                  "the layer had Flax's default, lecun_normal(), which nobody chose; nothing the author "
                  "wrote changes"),
        FixSafety("rewrites a Flax layer's `kernel_init=` for that layer alone", "unsafe",
                  "the author wrote that initializer; review the change before applying it"),
    )
    doc = """\
## What it finds
Dense, EinsumDense and convolution layers whose kernel initializer belongs to a different
family than the activation their output meets. The activation is the layer's own
`activation=`, or else the activation applied next (an `Activation`/`ReLU`/`LeakyReLU` layer,
`tf.nn.relu(x)`, …, looking past BatchNormalization, Dropout, pooling and merges), or linear
when the output goes into another weighted layer or out of the model. Keras' default
initializer is `glorot_uniform`, so a ReLU layer with no initializer is flagged.

Only where the kernel's scale reaches the gradient: a layer whose output reaches a
normalization (BatchNormalization, LayerNormalization, …) through linear, ReLU-like, dropout,
pooling or reshape steps is left alone, since BN(c·Wx) = BN(Wx); so is one whose output only
feeds a zero-initialized kernel. A lone layer whose consumer cannot be seen keeps its finding.
Where the layer's fans are known and its initializer, though of another family, gives the
wanted family's variance anyway (He and Glorot on a 512→10 head: 2/512 against 2/522; Glorot
for SELU between equal widths: LeCun's 1/fan), the signal cannot tell them apart: no finding.

A layer whose output goes both into an activation (a residual block's main path) and straight
into an add (its shortcut) is judged by the main path's activation: the shortcut carries the
signal on whatever its scale, while on the main path the kernel's scale meets the activation
as in any stack.

An activation passed to a helper (`def block(x, units, act="relu")`) is judged from every
call of the helper in the module: when they all pass one activation, the layer is judged
with it and the calls are named. When they pass different ones, no single initializer in
the helper fits them all, and the finding is on each call whose activation the helper's
initializer does not fit, naming the layer's line (without a fix: the initializer has to
follow the activation through the helper). A helper imported from another module of the
project (`from blocks import dense_block`) is judged at each call in the importing module,
against the activation that call passes, naming the layer's file and line. A helper whose
calls cannot all be read is not judged (`gradlint check --explain-unknown` lists it).

## Why it matters
An initializer sets the variance of the weights so that the signal keeps its scale from layer
to layer, forwards and backwards. Glorot (variance 1/fan_avg) is derived for activations
that are linear around zero (none, tanh, sigmoid, softmax); ReLU zeroes half of its input, so
it needs twice the variance, 2/fan_in (He); SELU's self-normalization assumes 1/fan_in
(LeCun). With the wrong family the signal shrinks or grows by a constant factor at every
layer, and over a deep stack the gradients of the first layers vanish or explode.

The message gives the effect as gradlint's signal model predicts it (the mean-field
recurrence the runtime probe measures against): the factor per layer, what it compounds to
over the run of layers between normalizations, and the same after the fix. ReLU after Glorot
at equal widths is ×0.71 per layer: 30 such layers leave the first layer 4.3e-5 of the last
one's gradient. The run's ratio is quoted only where it says more than the layer's factor
(the same way, further): between layers of different widths the ratio of norms also holds the
widths' ratio, and a run of one or two layers adds nothing. The finding is an `error` when the
run crosses the probe's thresholds (below 1e-3 or above 1e3), else a `warning`;
`--min-severity error` shows only the errors.

## Example
```python
model = keras.Sequential([
    layers.Dense(256, activation="relu"),   # GL101: relu with glorot_uniform (default)
    layers.Dense(10, activation="softmax"),
])
```

## Fix
`gradlint fix --write` adds the initializer where the layer gives none (a safe fix), and
`gradlint fix --write --unsafe-fixes` also rewrites one the author wrote, in the form already
there (an unsafe fix):
```python
    layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
```
A string keeps its distribution (`glorot_uniform` → `he_uniform`), a class call keeps its
module path and arguments (`initializers.GlorotUniform(seed=42)` → `initializers.HeUniform(seed=42)`),
a `VarianceScaling` call gets the family's `scale` and `mode`. A variable shared by several
layers is left alone; the flagged layer gets its own initializer. Added initializers use the
normal distribution unless `fix-distribution = "uniform"` is set.

## PyTorch
`nn.Linear` and `nn.Conv1d/2d/3d` (also `ConvTranspose*` and `Lazy*`) start with
`kaiming_uniform_(a=√5)`: U(±1/√fan_in), a variance of 1/(3·fan_in). That is a gain of 1/3,
a third of LeCun's and a sixth of He's, and it fits no activation: under ReLU the signal
shrinks ×0.41 per layer (in norm), under tanh ×0.58. GL101 flags it in hidden layers; the
output layer's scale multiplies the loss's gradient once and is left alone. The activation is
what `forward()` (or the `nn.Sequential`) applies next: `F.relu(self.fc1(x))`, `self.act(...)`,
`x.relu()`, an `nn.ReLU()`/`nn.LeakyReLU(0.2)` element, through dropout and pooling; a layer
whose output reaches `nn.BatchNorm*`, `nn.LayerNorm`, `nn.GroupNorm` or `nn.RMSNorm` through
homogeneous steps is left alone, as in Keras. An initialization the code writes is read where
PyTorch code writes it: `nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")` in
`__init__` (He), `kaiming_*_` with its `a`, `mode` and `nonlinearity`, `xavier_*_` with
`gain` (also `nn.init.calculate_gain(...)`), inside `for m in self.modules(): if
isinstance(m, nn.Linear): ...`, in the function given to `self.apply(...)`/`model.apply(...)`,
and in a method `__init__` calls (`self._init_weights()`). An initialization behind a test
gradlint cannot decide makes the layer's initializer unknown, and it is not judged.

For a layer assigned on its own line, `gradlint fix` adds the family's initializer after it,
with the file's name for `torch.nn.init` and its quotes:
```python
        self.fc1 = nn.Linear(784, 256)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
```
(`nn.init.xavier_normal_(...)` for Glorot, `nonlinearity="linear"` for LeCun.) A layer
written inside `nn.Sequential(...)` has no line of its own: it is reported without a fix,
and the message names it as the code can reach it. Initialize it after the model is built:
```python
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
```

## Flax
linen's `nn.Dense`, `nn.DenseGeneral`, `nn.Conv`, `nn.ConvTranspose` and NNX's `nnx.Linear`,
`nnx.LinearGeneral`, `nnx.Conv`, `nnx.ConvTranspose` default to `kernel_init=lecun_normal()`,
a variance of 1/fan_in: under ReLU the signal shrinks ×0.71 per layer, as with Keras' Glorot,
and GL101 flags it. Under tanh, sigmoid or at a linear output lecun_normal has Glorot's gain at
equal widths, and the default is left alone there. The activation is what `__call__` applies
next (`nn.relu(x)`, `jax.nn.gelu`, `jnp.tanh`, `self.act` given `nn.relu`, an element of
`nn.Sequential([...])`), in `@nn.compact` bodies, `setup()` attributes and NNX modules alike;
a layer whose output reaches `nn.BatchNorm`, `nn.LayerNorm`, `nn.GroupNorm` or `nn.RMSNorm`
(or the `nnx.` ones) through homogeneous steps is left alone. `kernel_init=` is read from
`nn.initializers`, `nnx.initializers` and `jax.nn.initializers` (`he_*`, `kaiming_*`,
`glorot_*`, `xavier_*`, `lecun_*`, `variance_scaling(scale, mode, distribution)`).

The fix adds the family's initializer with the file's name for it, a safe fix:
```python
        x = nn.Dense(512, kernel_init=nn.initializers.he_normal())(x)
        self.fc1 = nnx.Linear(784, 256, kernel_init=nnx.initializers.he_normal(), rngs=rngs)
```
(`jax.nn.initializers.he_normal()` where the file imports only jax.) An initializer the
author wrote is rewritten for that layer alone, through the path it was written with
(`jax.nn.initializers.glorot_uniform()` → `jax.nn.initializers.he_uniform()`): unsafe.
"""

    valid = (
        # He where ReLU follows; Glorot (default) where the output is linear or softmax.
        """\
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
""",
        # The activation comes later, through Dropout: He is right.
        """\
from keras import layers
x = layers.Conv2D(32, 3, kernel_initializer="he_uniform")(inputs)
x = layers.Dropout(0.1)(x)
x = layers.Activation("relu")(x)
""",
        # BatchNormalization cancels the kernel's scale (BN(c·Wx) = BN(Wx)): any family is fine.
        """\
from keras import layers
x = layers.Conv2D(32, 3, use_bias=False)(inputs)
x = layers.BatchNormalization()(x)
x = layers.ReLU()(x)
""",
        # A Dense of the user's own is not Keras; PyTorch's Linear neither.
        """\
from mylib import Dense
import torch.nn as nn
a = Dense(64, activation="relu")
b = nn.Linear(10, 10)
""",
        # Where the output goes cannot be seen: not judged.
        """\
from tensorflow.keras import layers
def make():
    return layers.Dense(32)
""",
        # `Model` is not Keras' here (never imported): where the output goes is not known.
        """\
from tensorflow.keras import layers, initializers
out = layers.Dense(
    1,
    kernel_initializer=initializers.HeNormal(seed=7),
)(features)
model = Model(inputs, out)
""",
        # PyTorch: each convolution feeds a BatchNorm, and the Linear is the output layer.
        """\
import torch.nn as nn
model = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
    nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
)
""",
        # SELU with LeCun normal, tanh with an explicit Glorot.
        """\
from tensorflow import keras
keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal")
keras.layers.Dense(100, activation="tanh", kernel_initializer=keras.initializers.GlorotNormal())
""",
        # Flax NNX with He where ReLU follows; the default lecun_normal at the linear output.
        """\
from flax import nnx

class MLP(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(784, 256, kernel_init=nnx.initializers.he_normal(), rngs=rngs)
        self.fc2 = nnx.Linear(256, 10, rngs=rngs)

    def __call__(self, x):
        return self.fc2(nnx.relu(self.fc1(x)))
""",
    )
    invalid = (
        Invalid(
            """\
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Dense(64, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
""",
            fixed="""\
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
""",
        ),
        Invalid(
            """\
from keras import layers
x = layers.Conv2D(32, 3, kernel_initializer="glorot_uniform")(inputs)
x = layers.Dropout(0.1)(x)
x = layers.ReLU()(x)
""",
            fixed="""\
from keras import layers
x = layers.Conv2D(32, 3, kernel_initializer="he_uniform")(inputs)
x = layers.Dropout(0.1)(x)
x = layers.ReLU()(x)
""",
        ),
        Invalid(
            """\
from tensorflow import keras
from tensorflow.keras import initializers
inputs = keras.Input(shape=(64,))
reconstruction = keras.layers.Dense(
    64,
    kernel_initializer=initializers.HeNormal(seed=7),
)(inputs)
model = keras.Model(inputs, reconstruction)
""",
            fixed="""\
from tensorflow import keras
from tensorflow.keras import initializers
inputs = keras.Input(shape=(64,))
reconstruction = keras.layers.Dense(
    64,
    kernel_initializer=initializers.GlorotNormal(seed=7),
)(inputs)
model = keras.Model(inputs, reconstruction)
""",
        ),
        Invalid(
            """\
from functools import partial
from tensorflow import keras
DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")
model = keras.Sequential([
    DefaultConv2D(filters=64, kernel_size=7, input_shape=[28, 28, 1]),
    DefaultConv2D(filters=128),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
""",
            fixed="""\
from functools import partial
from tensorflow import keras
DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", kernel_initializer="he_normal", padding="SAME")
model = keras.Sequential([
    DefaultConv2D(filters=64, kernel_size=7, input_shape=[28, 28, 1]),
    DefaultConv2D(filters=128),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
""",
        ),
        Invalid(
            """\
import torch.nn as nn
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""",
            fixed="""\
import torch.nn as nn
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""",
        ),
        Invalid(
            """\
from flax import linen as nn

class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(512)(x))
        return nn.Dense(10)(x)
""",
            fixed="""\
from flax import linen as nn

class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(512, kernel_init=nn.initializers.he_normal())(x))
        return nn.Dense(10)(x)
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        signal = signal_of(graph)
        mismatched = {id(layer.call): wanted for layer in graph.layers if (wanted := self._mismatch(graph, layer))}
        # Every layer's kernel as fixed: the same for each finding, so built once.
        fixed = {key: family_kernel(family, other.fan_in, other.fan_out)
                 for other in graph.layers if (key := id(other.call)) in mismatched and (family := mismatched[key])}
        for layer in graph.layers:
            wanted = mismatched.get(id(layer.call))
            if wanted is None:
                continue
            activation, initializer = layer.activation, layer.initializer
            assert activation is not None and initializer is not None
            effect = layer_effect(graph, signal, layer, fixed)
            param = layer.spec.initializer_param or "kernel_initializer"
            plan = plan_initializer_fix(graph, layer, wanted, settings)
            suggestion = plan.suggestion if plan else suggested_text(wanted, settings, param)
            message = (
                f"{_describe(graph, layer, activation)} uses {initializer.display}: {_effect_text(effect)}; "
                f"{activation.name} wants {wanted.value} initialization: {suggestion}{_after_fix(effect)}"
            )
            yield self.report(graph, layer.call, message, plan.edits if plan else (), f"Use {suggestion}",
                              severity=effect.severity, applicability=plan.applicability if plan else SAFE)
        yield from self._callsite_findings(graph)
        yield from self._imported_helper_findings(graph)

    def _imported_helper_findings(self, graph: ModuleGraph) -> Iterator[Diagnostic]:
        """Calls of a helper imported from the project's other module, whose layer's
        initializer does not fit the activation this call passes (see imported_helpers)."""
        for m in imported_helper_mismatches(graph):
            initializer = m.layer.initializer
            assert initializer is not None
            default = " (its default)" if m.by_default else ""
            yield self.report(graph, m.node, (
                f"{m.function}() gets activation '{m.activation}'{default} here for its {m.layer.class_name} "
                f"({where(graph, m)}), which uses {initializer.display}; {m.activation} wants {m.wanted.value} "
                f"initialization: give {m.function}() the initializer as a parameter too, and pass the one "
                f"this activation wants"))

    def _callsite_findings(self, graph: ModuleGraph) -> Iterator[Diagnostic]:
        """A helper's layer whose callers pass different activations: each call the layer's
        initializer does not fit, naming the layer's line (no fix: see callsite_activations)."""
        for layer in graph.layers:
            if not self._judged(layer) or layer.initializer is None:
                continue
            row = graph.source.position(graph.source.start(layer.call)).row
            for m in callsite_mismatches(graph, layer):
                others = ", ".join(f"'{o}'" for o in m.others)
                yield self.report(graph, m.node, (
                    f"{m.function}() gets activation '{m.activation}'{' (its default)' if m.by_default else ''} "
                    f"here for its {layer.class_name} on line "
                    f"{row}, which uses {layer.initializer.display}; {m.activation} wants {m.wanted.value} "
                    f"initialization, but other calls pass {others}: make the initializer a parameter of "
                    f"{m.function}() too, and pass the one each activation wants"))

    def _mismatch(self, graph: ModuleGraph, layer: Layer) -> Family | None:
        """The family the layer's activation wants, where its initializer's family differs and
        its scale reaches the gradient at all."""
        if not self._judged(layer):
            return None
        activation = layer.activation
        initializer = layer.initializer
        if activation is None or initializer is None:
            return None
        if initializer.family is None and not (initializer.no_family_default and not _is_head(graph, layer)):
            return None  # (a default of no family's scale is judged, but not in the output layer,
            # whose scale multiplies the loss's gradient once)
        wanted = family_of(activation.name)
        if wanted is None or wanted is initializer.family or (initializer.is_default and wanted in initializer.default_also_fits):
            return None
        if normalization_reached(graph, layer) is not None:
            return None  # BN(c·Wx) = BN(Wx): the kernel's scale cancels
        if feeds_zero_kernel(graph, layer):
            return None  # nothing passes a zero kernel: its input's scale cannot matter
        if _same_scale(graph, layer, wanted):
            return None  # another family's name, the wanted family's variance at these fans
        return wanted

    @staticmethod
    def _judged(layer: Layer) -> bool:
        if layer.spec.role is not Role.WEIGHTED or layer.spec.initializer_param is None:
            return False
        # A layer a partial makes with the partial's initializer is judged once, on the partial.
        return layer.is_template or layer.partial is None or layer.initializer_home is not layer.partial


def _is_head(graph: ModuleGraph, layer: Layer) -> bool:
    """The model's output layer: its output leaves the model, directly or through its activation."""
    following = layer.following
    if following is not None and following.source == "output":
        return True
    return any(stack.end == "output" and stack.entries and stack.entries[-1].layer is layer for stack in graph.stacks)


# Kernels whose gains (forward and backward) differ by less than this are the same to the
# signal: a 512→10 softmax head with He (Var 2/512) and with Glorot (Var 2/522), or SELU with
# Glorot between equal widths (Var 1/fan, LeCun's).
_SAME_GAIN = 1.25


def _same_scale(graph: ModuleGraph, layer: Layer, wanted: Family) -> bool:
    """Whether the layer's kernel, at its known fans, has the wanted family's gains anyway."""
    if not layer.fan_in or not layer.fan_out:
        return False
    now = kernel_scale(graph, layer)
    target = family_kernel(wanted, layer.fan_in, layer.fan_out)
    pairs = ((now.gain, target.gain), (now.back_gain, target.back_gain))
    if now.assumed_equal_widths or any(a is None or b is None or a <= 0 or b <= 0 for a, b in pairs):
        return False
    return all(1 / _SAME_GAIN <= a / b <= _SAME_GAIN for a, b in pairs)  # type: ignore[operator]


def _effect_text(effect: LayerEffect) -> str:
    """`the gradient shrinks ×0.71 per layer, ×4.3e-05 over this run of 30 layers`."""
    factor = effect.factor
    if factor is None:
        return "the signal's scale drifts at every layer"
    way = "shrinks" if factor < 1 else "grows"
    text = f"the gradient {way} {times(factor)} per layer"
    if _compounds(effect):
        text += f", {times(effect.run_ratio)} over this run of {effect.run_layers} layers"
    return text


def _compounds(effect: LayerEffect) -> bool:
    """Whether the run's ratio says more than the layer's factor: it goes the same way and
    further. Between layers of different widths the ratio of norms also holds the widths'
    ratio, and a run of mostly fitting layers can end near 1 or past it; quoted then, it would
    read as the opposite of the layer's own effect."""
    factor, ratio = effect.factor, effect.run_ratio
    if factor is None or ratio is None or effect.run_layers <= 1 or factor <= 0 or ratio <= 0:
        return False
    return (ratio < 1) == (factor < 1) and abs(math.log(ratio)) > abs(math.log(factor))


def _after_fix(effect: LayerEffect) -> str:
    if effect.fixed_factor is None:
        return ""
    text = f" (after the fix: {times(effect.fixed_factor)} per layer"
    if effect.fixed_ratio is not None and _compounds(effect):
        text += f", {times(effect.fixed_ratio)} over the run"
    return text + ")"


def _describe(graph: ModuleGraph, layer: Layer, activation: ActivationFact) -> str:
    what = f"{layer.class_name} made by partial(...)" if layer.is_template else layer.class_name
    if activation.source == "argument" and activation.parameter is not None:
        lines = ", ".join(str(n) for n in activation.call_lines)
        where = f"the call on line {lines}" if len(activation.call_lines) == 1 else f"every call: lines {lines}"
        return f"{what} with activation '{activation.name}' (parameter '{activation.parameter}' at {where})"
    if activation.source == "argument":
        return f"{what} with activation '{activation.name}'"
    row = graph.source.position(graph.source.start(activation.node)).row if activation.node is not None else None
    at = f" (line {row})" if row else ""
    if activation.source == "layer" and activation.shortcut:
        return f"{what} followed by activation '{activation.name}'{at} on its main path (its output is also added back on a shortcut)"
    if activation.source == "layer":
        return f"{what} followed by activation '{activation.name}'{at}"
    if activation.source == "output":
        return f"{what} with linear output (the model's output{at})"
    return f"{what} with linear output (feeds a weighted layer{at})"
