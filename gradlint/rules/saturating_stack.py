"""GL301 deep-saturating-stack: many hidden layers in a row with sigmoid-like activations and
nothing that re-normalizes the signal between them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.flax_api import vocabulary as flax_words
from gradlint.graph.model import ModuleGraph
from gradlint.graph.stacks import Stack, StackEntry
from gradlint.graph.weights import KernelScale, family_kernel
from gradlint.keras_api.activations import family_of
from gradlint.keras_api.initializers import InitKind
from gradlint.keras_api.scales import SATURATING_ACTIVATIONS, SATURATING_DERIVATIVE_BOUND
from gradlint.rules.base import Invalid, Rule
from gradlint.signal.effects import ERROR, WARNING, times
from gradlint.signal.from_graph import describe_run
from gradlint.signal.recurrence import EXPLODING_RATIO, VANISHING_RATIO, Prediction, predict
from gradlint.torch_api.vocabulary import CHAOTIC_FIX, SATURATING_FIX


class DeepSaturatingStack(Rule):
    code = "GL301"
    name = "deep-saturating-stack"
    summary = "Hidden layers in a row with sigmoid-like activations whose predicted gradient vanishes (or grows) through them"
    severity = "error"
    doc = """\
## What it finds
Runs of hidden Dense or convolution layers whose activation saturates — sigmoid, tanh,
hard_sigmoid, softsign, log_sigmoid — with no BatchNormalization, LayerNormalization,
GroupNormalization or UnitNormalization between them, where gradlint's signal model (the
mean-field recurrence the runtime probe measures against) predicts that the first layer's
gradient ends up below 1e-3 (or above 1e3) of the last one's: an `error`, the probe would
flag the model. A run of `saturating-depth` (default 4) or more layers that loses (or gains)
more than a factor 10 is a `warning`. The output layer does not count; layers repeated by
`for _ in range(N)` or a list comprehension count N times. A layer whose initializer GL101
or GL103 flags is judged as their fix would leave it: this rule is about the activations,
and fixing the initializers never makes its finding appear or vanish.

## Why it matters
Backpropagation multiplies the gradient by each layer's activation derivative. A sigmoid's is
at most 0.25, so sigmoid stacks lose a factor of about 4–5 per layer whatever the
initializer: six layers cross 1e-3. tanh with Glorot initialization stays near its critical
point and does not vanish at any usual depth (8 layers: ×0.44); with He initialization it is
in the chaotic phase and the gradient grows instead.

## Example
```python
model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, activation="sigmoid"),  # GL301: first of 6
    layers.Dense(256, activation="sigmoid"),
    layers.Dense(256, activation="sigmoid"),
    layers.Dense(256, activation="sigmoid"),
    layers.Dense(256, activation="sigmoid"),
    layers.Dense(256, activation="sigmoid"),
    layers.Dense(10, activation="softmax"),
])
```

## Fix
No automatic fix: it is a design change. Either use ReLU (or a variant) with He
initialization:
```python
    layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
```
or keep the activation and normalize between the layers:
```python
    layers.Dense(256),
    layers.BatchNormalization(),
    layers.Activation("sigmoid"),
```

PyTorch stacks (`nn.Sequential`, the order `forward()` applies its layers in, loops over an
`nn.ModuleList`) are judged the same way, and the advice names `nn.ReLU`, `nn.init` and
`nn.BatchNorm*`. So are Flax stacks (`nn.Sequential`, `@nn.compact` bodies, `setup()` and
NNX modules, `for _ in range(n)` around inline layers), with the advice in Flax's words
(`nn.relu` with `kernel_init=nn.initializers.he_normal()`, `nn.BatchNorm`/`nn.LayerNorm`).
"""

    valid = (
        # Normalization between the layers re-centres the signal before each sigmoid.
        """\
import keras
from keras import layers
model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, activation="sigmoid"),
    layers.BatchNormalization(),
    layers.Dense(128, activation="sigmoid"),
    layers.BatchNormalization(),
    layers.Dense(64, activation="sigmoid"),
    layers.BatchNormalization(),
    layers.Dense(32, activation="sigmoid"),
    layers.Dense(10, activation="softmax"),
])
""",
        # Three hidden tanh layers; the sigmoid output layer does not count.
        """\
from tensorflow import keras
model = keras.Sequential([
    keras.layers.Dense(64, activation="tanh", input_shape=(8,)),
    keras.layers.Dense(64, activation="tanh"),
    keras.layers.Dense(64, activation="tanh"),
    keras.layers.Dense(1, activation="sigmoid"),
])
""",
    )
    invalid = (
        Invalid(
            """\
from keras.models import Sequential
from keras.layers import Dense
model = Sequential()
model.add(Dense(256, input_dim=256, activation='sigmoid'))
model.add(Dense(256, activation='sigmoid'))
model.add(Dense(256, activation='sigmoid'))
model.add(Dense(256, activation='sigmoid'))
model.add(Dense(256, activation='sigmoid'))
model.add(Dense(256, activation='sigmoid'))
model.add(Dense(10, activation='softmax'))
""",
        ),
        # Functional, the activation applied as its own layer, the stack built in a loop.
        Invalid(
            """\
import tensorflow as tf
inputs = tf.keras.Input(shape=(32,))
x = inputs
for _ in range(8):
    x = tf.keras.layers.Dense(64)(x)
    x = tf.keras.layers.Activation("sigmoid")(x)
outputs = tf.keras.layers.Dense(1)(x)
model = tf.keras.Model(inputs, outputs)
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        wanted = settings.saturating_depth
        reported: set[int] = set()
        for stack in graph.stacks:
            for run in stack.runs(_member(stack), split=lambda e: e.normalized_after):
                counted = [(e, 1 if e.normalized_after else e.depth) for e in run]
                depth = sum(n for _, n in counted)
                first = run[0].layer
                if depth < 2 or id(first.call) in reported:
                    continue
                description, _ = describe_run(graph, run, _textbook_kernels(run))
                prediction = predict(description)
                ratio = prediction.backward_ratio
                if ratio is None:
                    continue
                crosses = ratio < VANISHING_RATIO or ratio > EXPLODING_RATIO
                if not crosses and not (depth >= wanted and (ratio < 0.1 or ratio > 10)):
                    continue  # the probe would see a healthy gradient: tanh with Glorot, a short stack
                reported.add(id(first.call))
                yield self.report(graph, first.call, _message(counted, depth, ratio, prediction, graph.torch.owns(first),
                                                                   graph.flax.owns(first)),
                                  severity=ERROR if crosses else WARNING)


def _textbook_kernels(run: list[StackEntry]) -> dict[int, KernelScale]:
    """The kernels GL101's and GL103's fixes would write, for the layers they flag: this rule
    judges what the activations do, whatever those rules say of the initializers, so that
    fixing them never makes a finding of this one appear or vanish."""
    kernels: dict[int, KernelScale] = {}
    for entry in run:
        layer = entry.layer
        fact, activation = layer.initializer, layer.activation
        wanted = family_of(activation.name) if activation is not None else None
        if fact is None or fact.spec is None or wanted is None:
            continue
        if (fact.family is not None and fact.family is not wanted) or fact.spec.kind is InitKind.FIXED_SCALE:
            kernels[id(layer.call)] = family_kernel(wanted, layer.fan_in, layer.fan_out)
    return kernels


def _member(stack: Stack) -> Callable[[int, StackEntry], bool]:
    def member(index: int, entry: StackEntry) -> bool:
        activation = entry.layer.activation
        return (stack.is_hidden(index) and entry.layer.spec.initializer_param is not None
                and activation is not None and activation.name in SATURATING_ACTIVATIONS)
    return member


def _message(counted: list[tuple[StackEntry, int]], depth: int, ratio: float, prediction: Prediction,
             torch: bool = False, flax: bool = False) -> str:
    names: dict[str, int] = {}
    for entry, n in counted:
        name = entry.layer.activation.name  # type: ignore[union-attr]
        names[name] = names.get(name, 0) + n
    listed = ", ".join(names)
    head = f"{depth} hidden layers in a row with saturating activations ({listed}) and no normalization between them"
    factors = [p.factor for p in prediction.layers[1:] if p.factor is not None]
    typical = math.exp(sum(math.log(f) for f in factors) / len(factors)) if factors and all(factors) else None
    if ratio < 1:
        capped = {name: SATURATING_DERIVATIVE_BOUND[name] for name in names if SATURATING_DERIVATIVE_BOUND[name] < 1}
        why = (f"{', '.join(f'{n}′ ≤ {b:g}' for n, b in capped.items())}, so " if capped else
               "the units saturate and their derivatives fall toward 0, so ")
        way = (f"the gradient shrinks {times(typical)} per layer and the first layer gets "
               f"{_fraction(ratio)} of the last one's")
        fix = SATURATING_FIX if torch else flax_words.SATURATING_FIX if flax else "use relu with kernel_initializer=\"he_normal\", or put BatchNormalization between the layers"
        return f"{head}: {why}{way}; {fix}"
    why = ("the weights' gain is above the activation's critical value (the chaotic phase), so the gradient "
           f"grows {times(typical)} per layer and reaches the first layer {times(ratio)} larger")
    if torch or flax:
        chaotic = CHAOTIC_FIX if torch else flax_words.CHAOTIC_FIX
        return f"{head}: {why}; {chaotic.format(listed=listed)}"
    return (f"{head}: {why}; use Glorot initialization (kernel_initializer=\"glorot_normal\") for "
            f"{listed}, or put LayerNormalization between the layers")


def _fraction(ratio: float) -> str:
    return f"{ratio:.1e}" if ratio < 0.01 else f"{ratio:.2g}"
