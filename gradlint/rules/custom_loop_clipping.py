"""GL202 rnn-custom-loop-without-clipping: a custom training step of a recurrent model hands
unclipped gradients to the optimizer."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import SAFE, UNSAFE, Diagnostic, Edit
from gradlint.edits import insert_line_after
from gradlint.graph.model import ModuleGraph
from gradlint.graph.steps import TrainingStep
from gradlint.rules.base import FixSafety, Invalid, Rule
from gradlint.rules.torch_clipping import torch_loop_findings
from gradlint.rules.rnn_clipping import (
    clip_applicability,
    clip_argument,
    constructor_clip_edits,
    display,
    number,
    origin,
    tensorflow_reference,
    written_at,
)


class RnnCustomLoopWithoutClipping(Rule):
    code = "GL202"
    name = "rnn-custom-loop-without-clipping"
    summary = "Custom training step of a recurrent model applies gradients without clipping them"
    fixable = True
    fix_safety = (
        FixSafety("adds `grads, _ = tf.clip_by_global_norm(grads, 1.0)` after the gradients are "
                  "computed, with `import tensorflow as tf` if the file has no name for it", "safe",
                  "one line is added between the gradients and their use; nothing the author "
                  "wrote changes"),
        FixSafety("adds `clipnorm=1.0` to the constructor of the optimizer `minimize()` uses", "safe",
                  "the optimizer and its arguments stay the author's; clipping only caps the rare "
                  "oversized step"),
        FixSafety("writes the clip value over a `clipnorm=None` that optimizer is given", "unsafe",
                  "the author wrote in so many words that this optimizer does not clip"),
        FixSafety("inserts `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)` before a "
                  "PyTorch `optimizer.step()` (after `scaler.unscale_(optimizer)`, added if missing, with AMP)",
                  "safe", "lines are added between backward() and step(); nothing the author wrote changes"),
    )
    doc = """\
## What it finds
A custom training step — `optimizer.apply_gradients(zip(grads, variables))`, or Keras 3's
`optimizer.apply(grads, variables)` — where the variables belong to a recurrent model
(`model.trainable_variables` of a model with an LSTM, GRU, SimpleRNN, … layer, or
`self.trainable_variables` inside a Model subclass that has one), the gradients come from
`tape.gradient(...)` without passing through `tf.clip_by_global_norm`, `tf.clip_by_norm`,
`tf.clip_by_value` or `keras.ops.clip`, and the optimizer is not known to be built with
clipping. A training step of a non-recurrent model is not flagged. When the optimizer is the
one `compile()` gives the model, the compile call is GL201's to judge.

`optimizer.minimize(loss, model.trainable_variables, tape=tape)` (tf.keras and Keras 2
optimizers; a callable loss or `var_list` too) computes and applies the gradients itself,
so only the optimizer can clip them: it is a finding when the optimizer is known — its
constructor in the file, also through a variable or a factory of the module (GL201 says
how it is followed) — and does not clip. An optimizer that cannot be known (a parameter
without known callers) is not judged for `minimize`, since nothing else could be.

Which models are recurrent, a layer class chosen at run time included, is as in GL201.

## Why it matters
A custom loop bypasses nothing of the recurrent net's problem: the same recurrent weight
matrix is multiplied into the gradient at every time step, and over long sequences the
gradient can grow geometrically. An update of that size throws the weights far away and the
loss jumps or turns NaN. Clipping the global norm of the gradients before applying them caps
the step and keeps its direction (`clip_by_value` cuts each component on its own and turns
the gradient: `[0.9, 100.0]` clipped at 1.0 becomes `[0.9, 1.0]`).

## Example
```python
with tf.GradientTape() as tape:
    loss = loss_fn(y, model(x, training=True))
grads = tape.gradient(loss, model.trainable_variables)
optimizer.apply_gradients(zip(grads, model.trainable_variables))   # GL202
```

## Fix
`gradlint fix --write` clips the gradients right after they are computed, with the module's
own name for TensorFlow:
```python
grads = tape.gradient(loss, model.trainable_variables)
grads, _ = tf.clip_by_global_norm(grads, 1.0)
optimizer.apply_gradients(zip(grads, model.trainable_variables))
```
Where the gradients are used inline (`apply_gradients(zip(tape.gradient(...), ...))`) there
is no clean place for the statement: the finding comes without a fix; give the optimizer
`clipnorm=1.0` or clip the gradients yourself. The norm is `clip-value` in `[tool.gradlint]`.

For `optimizer.minimize(...)` the gradients are never in the code: the fix gives the
optimizer's constructor `clipnorm=1.0` (the `clip` keyword of `[tool.gradlint]`) where it is
built, in a factory if that is where it is, each constructor it can be when there are
several. Rewriting the call into a tape, a clip and `apply_gradients` would restructure the
step; the constructor keyword changes one argument and keeps the step as written:
```python
optimizer = tf.keras.optimizers.Adam(1e-3, clipnorm=1.0)
...
optimizer.minimize(loss, model.trainable_variables, tape=tape)
```

## PyTorch
A training loop whose `loss.backward()` is followed by `optimizer.step()` (or AMP's
`scaler.step(optimizer)`) with no `torch.nn.utils.clip_grad_norm_`/`clip_grad_value_` (nor
Accelerate's or Fabric's clipping) in the module, where the model the loop calls is recurrent:
an instance of a module class of the file that holds an `nn.LSTM`, `nn.GRU` or `nn.RNN`
(also inside a submodule), or such a layer itself, bound in the loop's function or passed to
it by a caller. It is reported on the step call, and the fix inserts, right before it and
with the loop's own names:
```python
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
```
With AMP, gradients are clipped after `scaler.unscale_(optimizer)` (clipping scaled
gradients would clip the loss scale): the fix adds that line too when the loop has none. An
optimizer is a name bound to a `torch.optim` class (learning-rate schedulers are not) or a
parameter named like one (`optimizer`, `opt`).
"""

    valid = (
        # Clipped by global norm before they are applied.
        """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.LSTM(32), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam(1e-3)
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 5.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        # The optimizer clips.
        """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.GRU(32), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.SGD(0.01, clipnorm=1.0)
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        # Not recurrent.
        """\
import tensorflow as tf
mlp = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
                           tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.Adam()
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - mlp(x)))
    grads = tape.gradient(loss, mlp.trainable_variables)
    optimizer.apply_gradients(zip(grads, mlp.trainable_variables))
""",
        # Each gradient clipped by its norm.
        """\
import tensorflow as tf
from tensorflow import keras
class Seq2Seq(keras.Model):
    def __init__(self):
        super().__init__()
        self.encoder = keras.layers.LSTM(64)
        self.head = keras.layers.Dense(10)
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(y=y, y_pred=self.head(self.encoder(x)))
        grads = tape.gradient(loss, self.trainable_variables)
        grads = [tf.clip_by_norm(g, 1.0) for g in grads]
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}
""",
    )
    invalid = (
        Invalid(
            """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Embedding(20000, 128),
    tf.keras.layers.LSTM(128),
    tf.keras.layers.Dense(1),
])
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
""",
            fixed="""\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Embedding(20000, 128),
    tf.keras.layers.LSTM(128),
    tf.keras.layers.Dense(1),
])
optimizer = tf.keras.optimizers.Adam(1e-3)
loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)

@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 1.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
""",
        ),
        Invalid(
            """\
import keras
from keras import layers
import tensorflow


class Forecaster(keras.Model):
    def __init__(self, units=64):
        super().__init__()
        self.rnn = layers.Bidirectional(layers.GRU(units))
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.rnn(x))

    def train_step(self, data):
        x, y = data
        with tensorflow.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}
""",
            fixed="""\
import keras
from keras import layers
import tensorflow


class Forecaster(keras.Model):
    def __init__(self, units=64):
        super().__init__()
        self.rnn = layers.Bidirectional(layers.GRU(units))
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.rnn(x))

    def train_step(self, data):
        x, y = data
        with tensorflow.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        gradients, _ = tensorflow.clip_by_global_norm(gradients, 1.0)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": loss}
""",
        ),
        # Gradients used inline: the finding, without a fix.
        Invalid(
            """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.SimpleRNN(16), tf.keras.layers.Dense(1)])
opt = tf.keras.optimizers.SGD(0.1)
def step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
""",
        ),
        # minimize(): the optimizer's constructor gets the clip.
        Invalid(
            """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.GRU(32), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.RMSprop(learning_rate=1e-3)


def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
    optimizer.minimize(loss, model.trainable_variables, tape=tape)
""",
            fixed="""\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.GRU(32), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.RMSprop(learning_rate=1e-3, clipnorm=1.0)


def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
    optimizer.minimize(loss, model.trainable_variables, tape=tape)
""",
        ),
        Invalid(
            """\
import torch
import torch.nn as nn

class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10000, 256)
        self.lstm = nn.LSTM(256, 512, num_layers=2)
        self.out = nn.Linear(512, 10000)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.out(h)

model = LM()
optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
for x, y in batches:
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    loss.backward()
    optimizer.step()
""",
            fixed="""\
import torch
import torch.nn as nn

class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10000, 256)
        self.lstm = nn.LSTM(256, 512, num_layers=2)
        self.out = nn.Linear(512, 10000)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.out(h)

model = LM()
optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
for x, y in batches:
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        for step in graph.training.steps:
            known = [o for o in step.optimizers if o is not None]
            if known and len(known) == len(step.optimizers) and all(o.clipped for o in known):
                continue
            if step.from_compile and any(not o.clipped for o in known):
                continue  # the compile() that gives this optimizer is GL201's finding
            yield self._minimize(graph, step, settings) if step.minimize else self._finding(graph, step, settings)
        yield from torch_loop_findings(self, graph, settings)  # PyTorch: backward() → step()

    def _minimize(self, graph: ModuleGraph, step: TrainingStep, settings: Settings) -> Diagnostic:
        """`optimizer.minimize(...)`: the gradients never appear, so the optimizer clips or
        nothing does. The fix gives each unclipped constructor it can be `clipnorm=1.0`."""
        what = graph.training.describe(step.recurrent)
        clip = clip_argument(settings)
        unclipped = [o for o in step.optimizers if o is not None and not o.clipped]
        shown = " or ".join(f"{display(graph, o)} ({origin(o)}{written_at(graph, o)})" for o in unclipped)
        receiver = " ".join(graph.source.segment(step.call.func).split())
        message = f"{what} model trained by {receiver}(...) with {shown}, which does not clip gradients; add {clip}"
        edits: tuple[Edit, ...] = ()
        applicability = SAFE
        calls = [o.node for o in unclipped if isinstance(o.node, ast.Call) and o.kind == "call" and o.home is None]
        if len(calls) == len(unclipped):
            edits = tuple(e for call in calls for e in constructor_clip_edits(graph, call, settings))
            if any(clip_applicability(call, settings) == UNSAFE for call in calls):
                applicability = UNSAFE
        names = " and ".join(f"{name}(...)" for name in dict.fromkeys(o.class_name for o in unclipped))
        return self.report(graph, step.call, message, edits, f"Add {clip} to {names}", applicability=applicability)

    def _finding(self, graph: ModuleGraph, step: TrainingStep, settings: Settings) -> Diagnostic:
        what = graph.training.describe(step.recurrent)
        value = number(settings.clip_value)
        grads = step.gradients.id if step.gradients is not None else "grads"
        edits: tuple[Edit, ...] = ()
        tf_name = "tf"
        if step.gradients is not None and step.assignment is not None:
            site = graph.source.start(step.assignment)
            reference = tensorflow_reference(graph, graph.training.scope_at(step.assignment), site)
            if reference is not None:
                tf_name = reference.text
                line = f"{grads}, _ = {tf_name}.clip_by_global_norm({grads}, {value})"
                edit = insert_line_after(graph.source, step.assignment, line)
                if edit is not None:
                    edits = (edit, *reference.edits)
        suggestion = f"{grads}, _ = {tf_name}.clip_by_global_norm({grads}, {value})"
        unclipped = [o for o in step.optimizers if o is not None and not o.clipped and not step.from_compile]
        also = ""
        if unclipped:
            optimizer = unclipped[0]
            also = f" (and its optimizer {display(graph, optimizer)}, {written_at(graph, optimizer)}, does not clip)"
        message = (f"{what} model trained by a custom step that applies unclipped gradients{also}; "
                   f"clip them first: {suggestion}")
        # Safe: a line added between the gradients and their use; nothing the author wrote changes.
        return self.report(graph, step.call, message, edits, f"Clip the gradients: {suggestion}", applicability=SAFE)
