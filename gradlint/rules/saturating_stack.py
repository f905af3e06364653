"""GL301 deep-saturating-stack: many hidden layers in a row with sigmoid-like activations and
nothing that re-normalizes the signal between them."""

from __future__ import annotations

import math
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.graph.model import ModuleGraph
from gradlint.graph.stacks import Stack, StackEntry
from gradlint.keras_api.scales import SATURATING_ACTIVATIONS, SATURATING_DERIVATIVE_BOUND
from gradlint.rules.base import Invalid, Rule


class DeepSaturatingStack(Rule):
    code = "GL301"
    name = "deep-saturating-stack"
    summary = "Four or more hidden layers in a row with sigmoid, tanh or similar activations and no normalization between them"
    doc = """\
## What it finds
Four or more consecutive hidden Dense or convolution layers (`saturating-depth`, default 4)
whose activation saturates — sigmoid, tanh, hard_sigmoid, softsign, log_sigmoid — with no
BatchNormalization, LayerNormalization, GroupNormalization or UnitNormalization between them.
The output layer does not count. Layers repeated by `for _ in range(N)` or a list
comprehension count N times.

## Why it matters
Backpropagation multiplies the gradient by each layer's activation derivative. A sigmoid's is
at most 0.25 and a tanh's falls toward 0 as soon as its units leave the linear region, so the
factors compound: through four sigmoid layers the derivatives alone leave at most
0.25⁴ ≈ 0.004 of the gradient for the first layer, and the first layers stop learning.

## Example
```python
model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, activation="sigmoid"),  # GL301: first of 4
    layers.Dense(128, activation="sigmoid"),
    layers.Dense(64, activation="sigmoid"),
    layers.Dense(32, activation="sigmoid"),
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
model.add(Dense(500, input_dim=784, activation='sigmoid'))
model.add(Dense(300, activation='sigmoid'))
model.add(Dense(100, activation='sigmoid'))
model.add(Dense(50, activation='sigmoid'))
model.add(Dense(10, activation='softmax'))
""",
        ),
        # Functional, the activation applied as its own layer, the stack built in a loop.
        Invalid(
            """\
import tensorflow as tf
inputs = tf.keras.Input(shape=(32,))
x = inputs
for _ in range(6):
    x = tf.keras.layers.Dense(64)(x)
    x = tf.keras.layers.Activation("tanh")(x)
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
                if depth < wanted or id(first.call) in reported:
                    continue
                reported.add(id(first.call))
                yield self.report(graph, first.call, _message(counted, depth))


def _member(stack: Stack):
    def member(index: int, entry: StackEntry) -> bool:
        activation = entry.layer.activation
        return (stack.is_hidden(index) and entry.layer.spec.initializer_param is not None
                and activation is not None and activation.name in SATURATING_ACTIVATIONS)
    return member


def _message(counted: list[tuple[StackEntry, int]], depth: int) -> str:
    names: dict[str, int] = {}
    for entry, n in counted:
        name = entry.layer.activation.name  # type: ignore[union-attr]
        names[name] = names.get(name, 0) + n
    listed = ", ".join(names)
    head = f"{depth} hidden layers in a row with saturating activations ({listed}) and no normalization between them"
    capped = {name: SATURATING_DERIVATIVE_BOUND[name] for name in names if SATURATING_DERIVATIVE_BOUND[name] < 1}
    if capped:
        bounds = ", ".join(f"{name}′ ≤ {bound:g}" for name, bound in capped.items())
        expression = " × ".join(f"{bound:g}^{names[name]}" for name, bound in capped.items())
        value = math.prod(bound ** names[name] for name, bound in capped.items())
        why = (f"saturating derivatives multiply down the stack ({bounds}), so the activations alone let at "
               f"most {expression} ≈ {value:.2g} of the gradient through to the first layer")
    else:
        why = (f"saturating derivatives multiply down the stack ({listed}′ is 1 only at 0 and falls toward 0 "
               "as units saturate, e.g. tanh′(2) ≈ 0.07), so the first layers get a vanishing share of the gradient")
    return (f"{head}: {why}; use relu with kernel_initializer=\"he_normal\", or put BatchNormalization "
            "between the layers")
