"""GL201 rnn-optimizer-without-clipping: a recurrent model compiled with an optimizer that
does not clip gradients."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from gradlint.config import Settings
from gradlint.diagnostics import SAFE, UNSAFE, Diagnostic, Edit
from gradlint.edits import insert_argument, insert_first_argument, insert_line_after, replace_node
from gradlint.graph.compiles import CompileFact, OptimizerFact
from gradlint.graph.model import ModuleGraph
from gradlint.graph.scopes import BindingKind, Scope
from gradlint.keras_api.names import canonical
from gradlint.keras_api.optimizers import DEFAULT_OPTIMIZER_STRING
from gradlint.rules.base import FixSafety, Invalid, Rule, place_in
from gradlint.rules.names_in_fixes import OTHER_LIBRARY, keras_root_in_use, namespace_rank

# How a name found in the file reaches `keras.optimizers.<Class>`, best first.
_OPTIMIZER_ROUTES = (("keras.optimizers", "{name}.{cls}"), ("keras", "{name}.optimizers.{cls}"),
                     ("tensorflow", "{name}.keras.optimizers.{cls}"))
_KERAS_SUBPACKAGES = frozenset({"layers", "models", "optimizers", "activations", "initializers",
                                "losses", "metrics", "callbacks", "regularizers", "utils", "ops"})


@dataclass(frozen=True)
class Reference:
    """Text that names something at a place in the file, and the import edit it needs, if any."""

    text: str
    edits: tuple[Edit, ...] = ()


def clip_argument(settings: Settings) -> str:
    """`clipnorm=1.0`, or what `clip` and `clip-value` configure."""
    return f"{settings.clip}={number(settings.clip_value)}"


def constructor_clip_edits(graph: ModuleGraph, call: ast.Call, settings: Settings) -> tuple[Edit, ...]:
    """`clipnorm=1.0` added to an optimizer's constructor in its own layout, or written over
    the `clipnorm=None` it has."""
    given = next((k for k in call.keywords if k.arg == settings.clip), None)
    if given is not None:
        return (replace_node(graph.source, given.value, number(settings.clip_value)),)
    return tuple(insert_argument(graph.source, call, clip_argument(settings)))


def clip_applicability(call: ast.Call, settings: Settings) -> str:
    """Adding `clipnorm=1.0` is safe; writing over a `clipnorm=None` the author wrote is not."""
    return UNSAFE if any(k.arg == settings.clip for k in call.keywords) else SAFE


def number(value: float) -> str:
    return repr(float(value))


def optimizer_reference(graph: ModuleGraph, scope: Scope, cls: str, site: int) -> Reference | None:
    """How to write `keras.optimizers.<cls>` at offset `site`: with a name the file already has
    (`Adam`, `optimizers.Adam`, `keras.optimizers.Adam`, `tf.keras.optimizers.Adam`), else
    with an import added after the file's imports, in the file's own style."""
    target = f"keras.optimizers.{cls}"
    preferred = keras_root_in_use(graph, "optimizers")  # the Keras the file's own calls use
    best: tuple[int, int, str] | None = None
    for name in _visible_names(graph, scope, site):
        denoted = graph.resolver.qualified_name(ast.Name(id=name), scope)
        if denoted == target:
            options = [(0, name)]
        else:
            options = [(rank, pattern.format(name=name, cls=cls))
                       for rank, (module, pattern) in enumerate(_OPTIMIZER_ROUTES, start=1) if denoted == module]
        for rank, text in options:
            option = (namespace_rank(graph, text, scope, preferred), rank, text)
            if _denotes(graph, text, scope, target) and (best is None or option < best):
                best = option
    if best is not None and best[0] != OTHER_LIBRARY:
        return Reference(best[2])
    # No name reaches the file's Keras (another Keras would break the model's compile): import it.
    root, module_style = _keras_import_style(graph)
    root = preferred or root
    if module_style and not _bound_anywhere(graph, scope, "optimizers"):
        return _with_import(graph, site, f"optimizers.{cls}", f"from {root} import optimizers")
    if not _bound_anywhere(graph, scope, cls):
        return _with_import(graph, site, cls, f"from {root}.optimizers import {cls}")
    return None


def tensorflow_reference(graph: ModuleGraph, scope: Scope, site: int) -> Reference | None:
    """The file's own name for tensorflow (`tf`), else `tf` with `import tensorflow as tf` added."""
    names = sorted(n for n in _visible_names(graph, scope, site)
                   if _denotes(graph, n, scope, "tensorflow"))
    if names:
        return Reference("tf" if "tf" in names else names[0])
    if _bound_anywhere(graph, scope, "tf"):
        return None
    return _with_import(graph, site, "tf", "import tensorflow as tf")


def _denotes(graph: ModuleGraph, text: str, scope: Scope, target: str) -> bool:
    try:
        expr = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return graph.resolver.qualified_name(expr, scope) == target


def _visible_names(graph: ModuleGraph, scope: Scope, site: int) -> list[str]:
    """Names bound by an import (or an alias of one) that is written before `site`, seen from
    `scope`."""
    names: list[str] = []
    current: Scope | None = scope
    while current is not None:
        for name, bindings in current.bindings.items():
            if name in names or not bindings:
                continue
            node = bindings[0].node
            if bindings[0].kind in (BindingKind.IMPORT, BindingKind.ASSIGN) and node is not None \
                    and hasattr(node, "lineno") and graph.source.start(node) < site:
                names.append(name)
        current = current.parent
    return names


def _bound_anywhere(graph: ModuleGraph, scope: Scope, name: str) -> bool:
    """A name an import would shadow or clash with: bound in the module or on the way to it."""
    if scope.lookup(name) is not None or name in graph.scopes.module_scope.bindings:
        return True
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(graph.tree))


def _keras_import_style(graph: ModuleGraph) -> tuple[str, bool]:
    """Where the file imports Keras from ("keras", "tensorflow.keras", "tf_keras") and whether
    it imports Keras' sub-packages (`from keras import layers`) rather than classes."""
    root = None
    module_style = False
    for stmt in graph.tree.body:
        paths: list[str] = []
        if isinstance(stmt, ast.Import):
            paths = [a.name for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
            paths = [f"{stmt.module}.{a.name}" for a in stmt.names]
        for path in paths:
            name = canonical(path)
            if name != "keras" and not name.startswith("keras."):
                continue
            if root is None:
                root = "tf_keras" if path.startswith("tf_keras") else "keras" if path.startswith("keras") \
                    else "tensorflow.keras"
            if path.rsplit(".", 1)[-1] in _KERAS_SUBPACKAGES or name == "keras":
                module_style = True
    return root or "keras", module_style


def _with_import(graph: ModuleGraph, site: int, text: str, line: str) -> Reference | None:
    """`text`, with `line` added after the last top-level import written before `site`."""
    source = graph.source
    imports = [s for s in graph.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))
               and source.start(s) < site]
    if not imports:
        return None
    edit = insert_line_after(source, imports[-1], line)
    return Reference(text, (edit,)) if edit is not None else None


def display(graph: ModuleGraph, optimizer: OptimizerFact) -> str:
    """How a message names an optimizer: `"adam"`, `keras.optimizers.Adam(1e-3)`."""
    graph = optimizer.home or graph  # (written in another module of the project)
    node = optimizer.node
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f'"{node.value}"'
    if isinstance(node, ast.Call):  # argument by argument: comments between them stay out
        argument_nodes: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
        parts = sorted(argument_nodes, key=lambda a: (a.lineno, a.col_offset))
        arguments = ", ".join(graph.source.segment(a) for a in parts)
        text = f"{graph.source.segment(node.func)}({arguments})"
    else:
        text = graph.source.segment(node)
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _within(graph: ModuleGraph, node: ast.AST, outer: ast.AST) -> bool:
    """`node` is written inside `outer` (or is it)."""
    source = graph.source
    return source.start(outer) <= source.start(node) and source.end(node) <= source.end(outer)


def origin(optimizer: OptimizerFact) -> str:
    """"returned by make_optimizer(), " when a factory of the module's own gave it."""
    return f"returned by {optimizer.factory.name}(), " if optimizer.factory is not None else ""


def row_of(graph: ModuleGraph, node: ast.AST) -> int:
    return graph.source.position(graph.source.start(node)).row


def written_at(graph: ModuleGraph, optimizer: OptimizerFact) -> str:
    """`line 12`, or `optim.py:12` for an optimizer written in another module of the project
    (its path as seen from this module's directory)."""
    if optimizer.home is None:
        return f"line {row_of(graph, optimizer.node)}"
    return place_in(graph, optimizer.home, optimizer.node)


class RnnOptimizerWithoutClipping(Rule):
    code = "GL201"
    name = "rnn-optimizer-without-clipping"
    summary = "Recurrent model compiled with an optimizer that does not clip gradients"
    fixable = True
    fix_safety = (
        FixSafety("adds `clipnorm=1.0` (the configured `clip` and `clip-value`) to the optimizer's "
                  "constructor", "safe",
                  "the optimizer and its arguments stay the author's; clipping only caps the rare "
                  "oversized step"),
        FixSafety("adds `optimizer=RMSprop(clipnorm=1.0)` to a compile() that gives no optimizer, with an "
                  "import if the file has no name for it", "safe",
                  "Keras' default optimizer is RMSprop, which the author did not choose; the fix "
                  "writes that same optimizer, clipped"),
        FixSafety("writes the clip value over a `clipnorm=None` the constructor is given", "unsafe",
                  "the author wrote in so many words that this optimizer does not clip"),
        FixSafety("turns a string optimizer (`\"adam\"`) into a clipped class call, with an import if "
                  "the file has no name for it", "unsafe",
                  "it replaces what the author wrote in compile() with a constructor call they did "
                  "not write"),
        FixSafety("adds `gradient_clip_val=1.0` to a PyTorch Lightning `Trainer(...)` that fits a recurrent "
                  "module", "safe", "the Trainer's other arguments stay the author's; clipping only caps the "
                  "rare oversized step"),
        FixSafety("writes `max_grad_norm=1.0` over the `0` or `None` a Hugging Face `TrainingArguments` "
                  "is given", "unsafe", "the author turned the Trainer's clipping off in so many words"),
        FixSafety("wraps an optax optimizer as `optax.chain(optax.clip_by_global_norm(1.0), optimizer)`, or "
                  "puts the clip first in the `optax.chain(...)` it is in", "safe",
                  "the optimizer and its arguments stay the author's; clipping only caps the rare "
                  "oversized step"),
    )
    doc = """\
## What it finds
`model.compile(...)` of a recurrent model — one whose layers include SimpleRNN, LSTM, GRU,
RNN, their cells, ConvLSTM1D/2D/3D, CuDNNLSTM/CuDNNGRU, or Bidirectional/TimeDistributed
around one of them — when its optimizer does not clip gradients:
- a string (`optimizer="adam"`): Keras' string optimizers never clip;
- a constructor without `clipnorm`, `clipvalue` or `global_clipnorm`
  (`keras.optimizers.SGD(learning_rate=0.01)`), also through a variable (`opt = RMSprop(1e-3)`);
- no optimizer at all: Keras' default is an unclipped "rmsprop".

The model is followed to where it is built: a `Sequential([...])` list or `.add()` chain, a
functional `Model(inputs, outputs)` whose outputs depend on a recurrent layer, a Model
subclass, or a function of the module that returns one of these (`model = build_model()`).
A non-recurrent model in the same file is not flagged.

A layer class chosen at run time — `rnn = layers.LSTM if cfg.lstm else layers.GRU`, a name
assigned a class in each branch of an `if`, or `{"lstm": LSTM, "gru": GRU}[cfg.cell]` —
followed by `rnn(64)` makes the model recurrent when any candidate is: the code trains that
model whenever the recurrent class is chosen, and clipping costs the other choices nothing.
The message names the choice: "LSTM or GRU model", or "GRU (when chosen over Dense) model"
when only some candidates are recurrent. A class that cannot be resolved at all
(`getattr(layers, name)`) is not judged.

The optimizer is followed through variables (assigned once, or in each branch of an `if`),
`A(...) if c else B(...)`, `optimizer or "adam"`, and the module's own factories:
`compile(optimizer=make_opt())` or `opt = get_optimizer(cfg)` is judged by what each
`return` of the factory builds, and each unclipped constructor among them is a finding. A
factory imported from another module of the project (`from optim import make_optimizer`) is
read there: the finding is on the compile's argument, naming the constructor's file and line,
without a fix (checking one file never edits another). An optimizer that cannot be known
statically (a parameter, a library's factory, `**kwargs`) is not judged, and
`gradlint check --explain-unknown` lists it.

## Why it matters
A recurrent layer multiplies the gradient by the same recurrent weight matrix at every time
step. Over a long sequence the product grows (or shrinks) geometrically: one long or unusual
sequence can produce a gradient thousands of times larger than usual, and a single update of
that size throws the weights far away — the loss jumps or turns NaN. Gradient clipping caps
the size of each update and is the standard remedy for exploding gradients in recurrent nets.

`clipnorm` rescales the gradient when its norm exceeds the threshold and keeps its
direction. `clipvalue` cuts each component on its own, which can turn the gradient: with
`clipvalue=1.0` the gradient `[0.9, 100.0]` becomes `[0.9, 1.0]`, pointing near the diagonal
instead of along the second axis; with `clipnorm=1.0` it becomes about `[0.009, 1.0]`, the
same direction, shorter. That is why the fix uses `clipnorm`.

## Example
```python
model = keras.Sequential([
    layers.Embedding(10000, 64),
    layers.LSTM(64),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")   # GL201
```

## Fix
`gradlint fix --write` makes the optimizer clip (with `--unsafe-fixes` where the fix replaces
what the author wrote, as a string optimizer):
```python
model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0), loss="binary_crossentropy")
```
A constructor call gets `clipnorm=1.0` in its own layout; a string becomes the class call,
written with the module path the file already uses (`tf.keras.optimizers.Adam`,
`keras.optimizers.Adam`, `optimizers.Adam`), an import being added only where none fits;
a compile without an optimizer gets `optimizer=keras.optimizers.RMSprop(clipnorm=1.0)`,
Keras' default, clipped. The finding and the fix go where the optimizer is built: a
constructor in a factory gets `clipnorm=1.0` in the factory, every branch's constructor its
own. A string a factory returns (or one of several strings a variable may hold) is reported
where it is written, without a fix: a constructor there would change what the factory gives
its other callers, and one in compile() would drop the factory. An optimizer shared with a
non-recurrent model is fixed all the same: clipping does no harm there. The keyword and its
value are configurable: `clip = "clipnorm" | "clipvalue" | "global_clipnorm"` and
`clip-value = 1.0` in `[tool.gradlint]`.

## PyTorch Lightning
A Lightning `Trainer(...)` whose `.fit(model)` trains a recurrent LightningModule (one that
holds an `nn.LSTM`, `nn.GRU` or `nn.RNN`, also in a submodule) without `gradient_clip_val`
is reported on the `Trainer(...)` call, and the fix adds `gradient_clip_val=1.0` (the
configured `clip-value`); a `gradient_clip_val=None` or `0` is rewritten (unsafe). A module
that overrides `configure_gradient_clipping` or optimizes manually, and a file that calls
`clip_grad_norm_` anywhere, are left alone. A plain PyTorch loop is GL202's. A Hugging Face
`Trainer` clips at `max_grad_norm=1.0` by default: it is a finding only where its
`TrainingArguments` set `max_grad_norm=0` (or `None`) for a recurrent model, reported on that
value and rewritten to `1.0` (unsafe: the author wrote it).

## Flax and optax
A module that names a Flax recurrent model (`nn.LSTMCell`, `nn.OptimizedLSTMCell`,
`nn.GRUCell`, `nn.RNN`, `nnx.RNN`, `nnx.LSTMCell`, …, also given to `nn.scan`) and builds an
optax optimizer (`optax.adam(...)`, `optax.adamw`, `optax.sgd`, …,
`optax.inject_hyperparams(optax.adam)(...)`) that reaches training — `TrainState.create(tx=…)`,
`nnx.Optimizer(model, tx)`, `tx.init(params)`, through names, `optax.MultiSteps` and a
function's return — without an `optax.clip_by_global_norm`/`optax.clip` in its
`optax.chain(...)`: the finding is on the optimizer call, and the fix wraps it:
```python
tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
```
(`optax.clip(1.0)` under `clip = "clipvalue"`, the value from `clip-value`). An optimizer
already in an unclipped chain gets the clip as the chain's first transformation. An
optimizer handed to code gradlint cannot follow, and a file that builds a clip
transformation outside a chain (clipping by hand), are left alone.
"""

    valid = (
        # Clipped, with each keyword.
        """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.LSTM(32), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse")
""",
        """\
from keras import layers, optimizers, Sequential
model = Sequential([layers.GRU(16), layers.Dense(1)])
opt = optimizers.SGD(learning_rate=0.01, momentum=0.9, clipvalue=0.5)
model.compile(opt, "mse")
""",
        """\
import keras
model = keras.Sequential([keras.layers.SimpleRNN(8), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.AdamW(global_clipnorm=1.0), loss="mse")
""",
        # Not recurrent: a CNN is not judged.
        """\
from tensorflow import keras
from tensorflow.keras import layers
cnn = keras.Sequential([layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_normal"),
                        layers.Flatten(), layers.Dense(10, activation="softmax")])
cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
""",
        # An optimizer handed in from outside cannot be known.
        """\
import keras
def train(optimizer):
    model = keras.Sequential([keras.layers.LSTM(32), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
""",
        # Flax: the optax optimizer chained behind a clip.
        """\
import optax
from flax import linen as nn

class LM(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(100)(nn.RNN(nn.LSTMCell(128))(x))

tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
opt_state = tx.init(params)
""",
    )
    invalid = (
        Invalid(
            """\
import keras
from keras import layers

model = keras.Sequential([
    layers.Embedding(10000, 64),
    layers.LSTM(64),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
""",
            fixed="""\
import keras
from keras import layers

model = keras.Sequential([
    layers.Embedding(10000, 64),
    layers.LSTM(64),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(
    optimizer=keras.optimizers.Adam(clipnorm=1.0),
    loss="binary_crossentropy",
    metrics=["accuracy"],
)
""",
        ),
        Invalid(
            """\
import tensorflow as tf

def build_model():
    inputs = tf.keras.Input(shape=(None, 8))
    x = tf.keras.layers.Bidirectional(tf.keras.layers.GRU(32))(inputs)
    outputs = tf.keras.layers.Dense(1)(x)
    return tf.keras.Model(inputs, outputs)

model = build_model()
optimizer = tf.keras.optimizers.RMSprop(
    learning_rate=1e-3,
    rho=0.9,
)
model.compile(optimizer, loss="mse")
""",
            fixed="""\
import tensorflow as tf

def build_model():
    inputs = tf.keras.Input(shape=(None, 8))
    x = tf.keras.layers.Bidirectional(tf.keras.layers.GRU(32))(inputs)
    outputs = tf.keras.layers.Dense(1)(x)
    return tf.keras.Model(inputs, outputs)

model = build_model()
optimizer = tf.keras.optimizers.RMSprop(
    learning_rate=1e-3,
    rho=0.9,
    clipnorm=1.0,
)
model.compile(optimizer, loss="mse")
""",
        ),
        Invalid(
            """\
from tensorflow.keras import layers, models

model = models.Sequential()
model.add(layers.LSTM(50, input_shape=(30, 1)))
model.add(layers.Dense(1))
model.compile(loss='mse')
""",
            fixed="""\
from tensorflow.keras import layers, models
from tensorflow.keras import optimizers

model = models.Sequential()
model.add(layers.LSTM(50, input_shape=(30, 1)))
model.add(layers.Dense(1))
model.compile(optimizer=optimizers.RMSprop(clipnorm=1.0), loss='mse')
""",
        ),
        # A factory of the module: each constructor it can return is fixed where it is.
        Invalid(
            """\
import os

import keras
from keras import layers


def get_optimizer(name, lr):
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9)
    return keras.optimizers.Adam(lr)


rnn = layers.LSTM if os.environ.get("CELL") == "lstm" else layers.GRU
model = keras.Sequential([layers.Embedding(5000, 32), rnn(32), layers.Dense(1)])
model.compile(optimizer=get_optimizer("adam", 1e-3), loss="mse")
""",
            fixed="""\
import os

import keras
from keras import layers


def get_optimizer(name, lr):
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, clipnorm=1.0)
    return keras.optimizers.Adam(lr, clipnorm=1.0)


rnn = layers.LSTM if os.environ.get("CELL") == "lstm" else layers.GRU
model = keras.Sequential([layers.Embedding(5000, 32), rnn(32), layers.Dense(1)])
model.compile(optimizer=get_optimizer("adam", 1e-3), loss="mse")
""",
            count=2,
        ),
        Invalid(
            """\
import optax
from flax import linen as nn

class LM(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(100)(nn.RNN(nn.LSTMCell(128))(x))

tx = optax.adam(1e-3)
opt_state = tx.init(params)
""",
            fixed="""\
import optax
from flax import linen as nn

class LM(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(100)(nn.RNN(nn.LSTMCell(128))(x))

tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
opt_state = tx.init(params)
""",
        ),
    )

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        from gradlint.rules.optax_clipping import optax_findings  # (it imports this module's helpers)
        from gradlint.rules.torch_clipping import lightning_findings  # (it imports this module's helpers)

        yield from optax_findings(self, graph, settings)  # Flax: an optax optimizer not chained with a clip
        yield from lightning_findings(self, graph, settings)  # PyTorch Lightning: Trainer(gradient_clip_val=)
        compiles = [c for c in graph.training.compiles if c.keras_compile]
        sharing: dict[int, list[CompileFact]] = defaultdict(list)
        for fact in compiles:
            for optimizer in fact.optimizers:
                if optimizer is not None and optimizer.kind == "call":
                    sharing[id(optimizer.node)].append(fact)
        reported: set[int] = set()
        for fact in compiles:
            layer = fact.recurrent
            if layer is None:
                continue
            what = graph.training.describe(layer)
            # Each optimizer the compile can get: one, or one per return of a factory or per
            # branch; an unclipped one is a path on which the recurrent model trains unclipped.
            for optimizer in fact.optimizers:
                if optimizer is None or optimizer.clipped or id(optimizer.node) in reported:
                    continue
                if optimizer.home is not None:
                    reported.add(id(optimizer.node))
                    yield self._imported(graph, fact, optimizer, what, settings)
                elif optimizer.kind == "call":
                    reported.add(id(optimizer.node))
                    others = [c for c in sharing[id(optimizer.node)] if c.recurrent is None]
                    yield self._constructor(graph, fact, optimizer, what, bool(others), settings)
                elif optimizer.kind == "string" and fact.argument is not None:
                    if _within(graph, optimizer.node, fact.argument):  # `"adam"`, `opt if opt else "adam"`
                        yield self._string(graph, fact, optimizer, optimizer.node, what, settings)
                    elif optimizer is fact.optimizer and optimizer.factory is None:  # `opt = "adam"`
                        yield self._string(graph, fact, optimizer, fact.argument, what, settings)
                    else:
                        reported.add(id(optimizer.node))
                        yield self._string_elsewhere(graph, fact, optimizer, what, settings)
                elif optimizer.kind == "default":
                    yield self._default(graph, fact, what, settings)

    def _constructor(self, graph: ModuleGraph, fact: CompileFact, optimizer: OptimizerFact, what: str,
                     shared: bool, settings: Settings) -> Diagnostic:
        call = optimizer.node
        assert isinstance(call, ast.Call)
        clip = clip_argument(settings)
        edits = constructor_clip_edits(graph, call, settings)
        source = graph.source
        inline = source.start(fact.call) <= source.start(call) < source.end(fact.call)
        where = "" if inline else f" ({origin(optimizer)}compile() on line {row_of(graph, fact.call)})"
        message = (f"{what} model compiled with optimizer {display(graph, optimizer)}{where}, "
                   f"which does not clip gradients; add {clip}")
        fix_message = f"Add {clip} to {optimizer.class_name}(...)"
        if shared:
            fix_message += " (a model that is not recurrent shares this optimizer; clipping does it no harm)"
        return self.report(graph, call, message, edits, fix_message, applicability=clip_applicability(call, settings))

    def _string(self, graph: ModuleGraph, fact: CompileFact, optimizer: OptimizerFact, target: ast.AST,
                what: str, settings: Settings) -> Diagnostic:
        """A string optimizer of compile(): `target` (the literal in the argument, or the
        argument naming a variable that holds it) becomes the clipped class call."""
        clip = clip_argument(settings)
        site = graph.source.start(target)
        reference = optimizer_reference(graph, graph.scopes.scope_of(fact.call), optimizer.class_name, site)
        message = (f"{what} model compiled with optimizer {display(graph, optimizer)}, "
                   f"which does not clip gradients; add {clip}")
        if reference is None:
            return self.report(graph, target, message)
        replacement = f"{reference.text}({clip})"
        edits = (replace_node(graph.source, target, replacement), *reference.edits)
        # Unsafe: the author chose the optimizer by its string name, with its defaults.
        return self.report(graph, target, message, edits, f"Use {replacement}", applicability=UNSAFE)

    def _string_elsewhere(self, graph: ModuleGraph, fact: CompileFact, optimizer: OptimizerFact, what: str,
                          settings: Settings) -> Diagnostic:
        """A string a factory returns, or one of several a name may hold: reported where it
        is written, without a fix. Writing a constructor there would change what the factory
        returns to its other callers, and writing one in compile() would drop the factory or
        the choice."""
        clip = clip_argument(settings)
        site = graph.source.start(optimizer.node)
        reference = optimizer_reference(graph, graph.training.scope_at(optimizer.node), optimizer.class_name, site)
        shown = f"{reference.text if reference else 'keras.optimizers.' + optimizer.class_name}({clip})"
        message = (f"{what} model compiled with optimizer {display(graph, optimizer)} "
                   f"({origin(optimizer)}compile() on line {row_of(graph, fact.call)}), "
                   f"which does not clip gradients; use {shown}")
        return self.report(graph, optimizer.node, message)

    def _imported(self, graph: ModuleGraph, fact: CompileFact, optimizer: OptimizerFact, what: str,
                  settings: Settings) -> Diagnostic:
        """An optimizer a factory imported from the project's other module builds: reported on
        the compile's argument, where this module takes it, naming the constructor's file and
        line; the fix belongs in that file, which checking this one does not edit."""
        clip = clip_argument(settings)
        message = (f"{what} model compiled with optimizer {display(graph, optimizer)} ({origin(optimizer)}"
                   f"{written_at(graph, optimizer)}), which does not clip gradients; add {clip} there")
        return self.report(graph, fact.argument if fact.argument is not None else fact.call, message)

    def _default(self, graph: ModuleGraph, fact: CompileFact, what: str, settings: Settings) -> Diagnostic:
        call = fact.call
        clip = clip_argument(settings)
        site = graph.source.start(call)
        reference = optimizer_reference(graph, graph.scopes.scope_of(call), "RMSprop", site)
        shown = f"{reference.text if reference else 'keras.optimizers.RMSprop'}({clip})"
        message = (f'{what} model compiled without an optimizer: Keras\' default "{DEFAULT_OPTIMIZER_STRING}" '
                   f"does not clip gradients; add optimizer={shown}")
        if reference is None:
            return self.report(graph, call, message)
        edits = (*insert_first_argument(graph.source, call, f"optimizer={shown}"), *reference.edits)
        # Safe: Keras' default optimizer, which the author did not choose, with clipping added.
        return self.report(graph, call, message, edits, f"Add optimizer={shown}", applicability=SAFE)
