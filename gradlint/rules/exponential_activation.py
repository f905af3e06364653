"""GL303 exponential-hidden-activation: `exponential` as the activation of a hidden layer."""

from __future__ import annotations

from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.flax_api import vocabulary as flax_words
from gradlint.graph.facts import Layer
from gradlint.graph.model import ModuleGraph
from gradlint.graph.stacks import StackEntry
from gradlint.keras_api.scales import FLOAT32_EXP_OVERFLOW
from gradlint.rules.base import Invalid, Rule
from gradlint.signal.from_graph import describe_run
from gradlint.signal.recurrence import predict
from gradlint.torch_api.vocabulary import EXPONENTIAL_FIX

EXPONENTIAL = "exponential"


class ExponentialHiddenActivation(Rule):
    code = "GL303"
    name = "exponential-hidden-activation"
    severity = "error"  # exp overflows float32: Inf/NaN at the first large input, not a slow start
    summary = "Hidden layer with the unbounded exponential activation: overflows to Inf/NaN"
    doc = """\
## What it finds
A hidden Dense or convolution layer whose activation is `exponential`: the string,
`keras.activations.exponential`, `tf.exp`/`tf.math.exp`/`keras.ops.exp` passed as its
activation or applied to its output, or an `Activation("exponential")` after it. One finding
per run of such layers, at the first. The output layer is exempt: an exponential output is
the usual link for counts and Poisson targets.

## Why it matters
exp grows without bound and float32 overflows to Inf above about 88.7. A hidden exponential
layer hands the next layer inputs that span many orders of magnitude, the gradient through
it is as large as its output, and a stack of them turns an ordinary input into Inf or NaN at
initialization or within the first updates. In a published set of 89 benchmark Keras models,
21 of the 23 that failed with numerical errors were such stacks.

## Example
```python
model = keras.Sequential([
    layers.Dense(64, activation="exponential", input_shape=(10,)),  # GL303
    layers.Dense(64, activation="exponential"),
    layers.Dense(1),
])
```

## Fix
No automatic fix: choose a bounded or linearly growing activation, with He initialization:
```python
    layers.Dense(64, activation="relu", kernel_initializer="he_normal", input_shape=(10,)),
```
(`elu` and `softplus` grow linearly too.)

In PyTorch, `torch.exp(self.fc(x))` or `self.fc(x).exp()` in a `forward()` is the same
finding; in Flax, `jnp.exp(nn.Dense(32)(x))` in a `__call__`.
"""

    valid = (
        # Poisson regression: an exponential output layer is the log link, not a problem.
        """\
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Dense(32, activation="relu", kernel_initializer="he_normal", input_shape=(12,)),
    tf.keras.layers.Dense(1, activation="exponential"),
])
model.compile(optimizer="adam", loss="poisson")
""",
        # Functional form of the same, with tf.exp applied to the output.
        """\
import tensorflow as tf
inputs = tf.keras.Input(shape=(12,))
h = tf.keras.layers.Dense(32, activation="relu")(inputs)
rate = tf.exp(tf.keras.layers.Dense(1)(h))
model = tf.keras.Model(inputs, rate)
""",
    )
    invalid = (
        Invalid(
            """\
from keras import Sequential
from keras.layers import Dense
model = Sequential([
    Dense(64, activation="exponential", input_shape=(10,)),
    Dense(64, activation="exponential"),
    Dense(64, activation="exponential"),
    Dense(1),
])
""",
        ),
        # Applied as a function or an Activation layer, in a functional chain.
        Invalid(
            """\
import tensorflow as tf
from tensorflow import keras
inputs = keras.Input(shape=(16,))
x = keras.layers.Dense(32, activation=tf.exp)(inputs)
x = keras.layers.Dense(32, activation="relu")(x)
x = keras.layers.Dense(32)(x)
x = keras.layers.Activation("exponential")(x)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
""",
            count=2,
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        reported: set[int] = set()
        for stack in graph.stacks:
            def member(index: int, entry: StackEntry) -> bool:
                activation = entry.layer.activation
                return (stack.is_hidden(index) and entry.layer.spec.initializer_param is not None
                        and activation is not None and activation.name == EXPONENTIAL)

            for run in stack.runs(member):
                first = run[0].layer
                if id(first.call) in reported:
                    continue
                reported.add(id(first.call))
                depth = sum(e.depth for e in run)
                growth = _predicted_growth(graph, run)
                yield self.report(graph, first.call, _message(graph, first, depth, growth))


def _predicted_growth(graph: ModuleGraph, run: list[StackEntry]) -> float | None:
    """What the signal model predicts the run does to the forward RMS (from a unit input)."""
    description, _ = describe_run(graph, run)
    prediction = predict(description)
    rms = [p.forward_rms for p in prediction.layers]
    if not rms or any(r is None for r in rms):
        return None
    return max(rms)  # type: ignore[type-var]


def _message(graph: ModuleGraph, layer: Layer, depth: int, growth: float | None = None) -> str:
    activation = layer.activation
    what = f"hidden {layer.class_name}"
    if activation is not None and activation.source == "layer" and activation.node is not None:
        row = graph.source.position(graph.source.start(activation.node)).row
        what += f" followed by an exponential (line {row})"
    else:
        what += " with activation 'exponential'"
    if depth > 1:
        what += f", first of {depth} in a row"
    predicted = ""
    if growth is not None and growth > 1:
        # (the integrals cap exp's argument, so a large figure is a lower bound)
        shown = "overflows to Inf" if growth == float("inf") or growth > 3e38 else f"reaches {growth:.2g}"
        shown += " or more" if growth > 1e6 and "Inf" not in shown else ""
        predicted = f" (from a unit-variance input, the predicted forward RMS {shown})"
    return (f"{what}: exp is unbounded and float32 overflows to Inf above {FLOAT32_EXP_OVERFLOW}, so "
            "exponential hidden layers turn ordinary inputs into Inf/NaN at initialization or within the "
            f"first updates{predicted}; " + (EXPONENTIAL_FIX if graph.torch.owns(layer) else
                                             flax_words.EXPONENTIAL_FIX if graph.flax.owns(layer) else
                                             "use relu, elu or softplus with kernel_initializer=\"he_normal\""))
