"""GL302 selu-with-dropout: plain Dropout inside a self-normalizing (SELU) network."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import UNSAFE, Diagnostic, Edit
from gradlint.edits import replace_node, replace_span
from gradlint.graph.facts import Layer
from gradlint.graph.model import ModuleGraph
from gradlint.graph.scopes import BindingKind
from gradlint.keras_api.layers import ALPHA_DROPOUT, PLAIN_DROPOUT
from gradlint.rules.base import FixSafety, Invalid, Rule

SELU = "selu"


class SeluWithDropout(Rule):
    code = "GL302"
    name = "selu-with-dropout"
    summary = "Plain Dropout in a SELU (self-normalizing) network, where AlphaDropout keeps mean and variance"
    fixable = True
    fix_safety = (
        FixSafety("replaces `Dropout` with `AlphaDropout`, keeping the module path and arguments", "unsafe",
                  "it changes a layer class the author wrote, and AlphaDropout at the same rate "
                  "regularizes differently: review the rate"),
    )
    doc = """\
## What it finds
A `Dropout` layer placed after a layer whose activation is SELU, in a Sequential model or a
functional chain.

## Why it matters
A SELU network is self-normalizing: with LeCun-normal weights, each layer drives its output
toward mean 0 and variance 1, which is what keeps gradients from vanishing or exploding in
deep stacks without batch normalization. Plain dropout sets units to 0 and scales the others
up by 1/(1−rate); that shifts the mean and inflates the variance, and the property is lost.
`AlphaDropout` instead sets dropped units to SELU's negative saturation value and applies an
affine correction that keeps the mean and variance.

## Example
```python
model = keras.Sequential([
    layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
    layers.Dropout(0.2),  # GL302
    layers.Dense(10, activation="softmax"),
])
```

## Fix
`gradlint fix --write --unsafe-fixes` replaces it with AlphaDropout, keeping the module path
and arguments (an unsafe fix: it changes a layer the author wrote):
```python
    layers.AlphaDropout(0.2),
```
(A SELU layer without LeCun-normal initialization is GL101's finding.)
"""

    valid = (
        # Géron's self-normalizing net: AlphaDropout before the output.
        """\
from tensorflow import keras
model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=[28, 28]))
model.add(keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"))
model.add(keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"))
model.add(keras.layers.AlphaDropout(rate=0.2))
model.add(keras.layers.Dense(10, activation="softmax"))
""",
        # Dropout in a ReLU network is fine.
        """\
from keras import layers, Sequential
model = Sequential([
    layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])
""",
    )
    invalid = (
        Invalid(
            """\
from tensorflow import keras
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
    keras.layers.Dropout(rate=0.2),
    keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
    keras.layers.Dropout(rate=0.2),
    keras.layers.Dense(10, activation="softmax"),
])
""",
            count=2,
            fixed="""\
from tensorflow import keras
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
    keras.layers.AlphaDropout(rate=0.2),
    keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
    keras.layers.AlphaDropout(rate=0.2),
    keras.layers.Dense(10, activation="softmax"),
])
""",
        ),
        # Functional, with Dropout imported by name: the import gains AlphaDropout.
        Invalid(
            """\
from keras import Input, Model
from keras.layers import Dense, Dropout
inputs = Input(shape=(64,))
x = Dense(128, activation="selu", kernel_initializer="lecun_normal")(inputs)
x = Dropout(0.1)(x)
outputs = Dense(1)(x)
model = Model(inputs, outputs)
""",
            fixed="""\
from keras import Input, Model
from keras.layers import Dense, Dropout, AlphaDropout
inputs = Input(shape=(64,))
x = Dense(128, activation="selu", kernel_initializer="lecun_normal")(inputs)
x = AlphaDropout(0.1)(x)
outputs = Dense(1)(x)
model = Model(inputs, outputs)
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        reported: set[int] = set()
        for stack in graph.stacks:
            for entry in stack.entries:
                activation = entry.layer.activation
                if activation is None or activation.name != SELU:
                    continue
                for item in entry.after:
                    if not isinstance(item, Layer) or item.class_name != PLAIN_DROPOUT or id(item.call) in reported:
                        continue
                    reported.add(id(item.call))
                    edits = _to_alpha_dropout(graph, item)
                    row = graph.source.position(graph.source.start(entry.layer.call)).row
                    suggestion = _preview(graph, item, edits)
                    message = (f"plain Dropout after a SELU layer ({entry.layer.class_name}, line {row}): zeroing units "
                               "shifts the mean and variance that SELU's self-normalization keeps at 0 and 1; "
                               f"use {suggestion}, which keeps them")
                    # Unsafe: the layer class is the author's, and AlphaDropout drops differently.
                    yield self.report(graph, item.call, message, edits, f"Use {suggestion}", applicability=UNSAFE)


def _to_alpha_dropout(graph: ModuleGraph, layer: Layer) -> tuple[Edit, ...]:
    """`layers.Dropout(...)` → `layers.AlphaDropout(...)`; a name imported from a module gets
    AlphaDropout added to the same import."""
    func = layer.call.func
    source = graph.source
    if isinstance(func, ast.Attribute):
        end = source.end(func)
        return (replace_span(source, end - len(func.attr), end, ALPHA_DROPOUT),)
    if not isinstance(func, ast.Name):
        return ()
    wanted = "keras.layers." + ALPHA_DROPOUT
    if graph.resolver.qualified_name(ast.Name(id=ALPHA_DROPOUT), layer.scope) == wanted:
        return (replace_node(source, func, ALPHA_DROPOUT),)
    binding = graph.resolver.single_binding(func.id, layer.scope)
    if binding is None or binding.kind is not BindingKind.IMPORT or not isinstance(binding.node, ast.ImportFrom):
        return ()
    if layer.scope.lookup(ALPHA_DROPOUT) is not None:
        return ()  # the name means something else here
    alias = next((a for a in binding.node.names if (a.asname or a.name) == func.id), None)
    if alias is None:
        return ()
    at = source.end(alias)
    return (replace_node(source, func, ALPHA_DROPOUT), replace_span(source, at, at, f", {ALPHA_DROPOUT}"))


def _preview(graph: ModuleGraph, layer: Layer, edits: tuple[Edit, ...]) -> str:
    """The Dropout call as it reads once renamed (AlphaDropout(...) when there is no edit)."""
    source = graph.source
    call = layer.call
    start = source.start(call)
    text = source.segment(call)
    for edit in sorted(edits, key=lambda e: (e.location.row, e.location.column), reverse=True):
        a, b = source.to_offset(edit.location), source.to_offset(edit.end_location)
        if start <= a and b <= start + len(text):
            text = text[: a - start] + edit.content + text[b - start:]
    if not edits:
        text = ALPHA_DROPOUT + source.text[source.end(call.func):source.end(call)]
    return " ".join(text.split())
