"""Hypothesis strategies that write random Keras model code.

`programs()` draws whole modules, built the way people build models: Sequential lists,
`.add()` chains, functional chains (helper blocks returning tensors, residual merges,
normalisation and dropout between layers), Model subclasses, `functools.partial` layer
templates, wrapped recurrent layers, compile calls with every kind of optimizer and custom
training steps. Layers take every activation spelling (strings known and unknown, tf.nn and
keras.activations functions, layer instances, variables, None, none at all) and every
initializer spelling (strings, classes with and without seed, called or not, VarianceScaling
positional or keyword, config dicts, shared variables, from-imported and aliased classes).
Keras is imported in each common style, and the module may use Keras' initializer names for
its own things.

The layout varies in every way a fix must keep: calls on one line or one argument per line
(or the first on the opening line), with or without trailing commas, comments after arguments
and after `(`, backslash continuations, a keyword's value on a line of its own, parenthesized
arguments, either quote, spaces or tabs, non-ASCII names before the edited spot, trailing white
space, LF, CRLF, CR or mixed line endings, with or without a final newline.

`encoded_programs()` stores such a module in a codec that does not survive decoding and
encoding again (cp932, big5, big5hkscs, johab, unicode_escape, raw_unicode_escape), with
characters spelled the way that codec would not write them.

`STABLE` is the settings every property test starts from: derandomized, so a failure shows up
again on the next run over the same code, and without an example database.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

STABLE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Draw = Callable[[st.SearchStrategy[Any]], Any]


def chance(draw: Draw, p: float) -> bool:
    """True with probability about `p`; shrinks to False, so a failing example loses the
    features it does not need."""
    return draw(st.integers(0, 99)) >= 100 - round(p * 100)


# -- syntax trees just rich enough to lay code out -------------------------------------------

@dataclass
class Call:
    callee: str
    args: list[Any] = field(default_factory=list)  # str | Call | Kw


@dataclass
class Kw:
    name: str
    value: Any  # str | Call
    parens: bool = False  # `activation=("relu")`


@dataclass(frozen=True)
class Layout:
    unit: str  # one level of indentation
    quote: str
    multiline: float  # how often a call is split over several lines
    comments: float  # how often a line gets a trailing comment
    spaced_keywords: bool  # `activation = "relu"`


_COMMENTS = ("# tuned by hand", "# noqa: GL101", "# type: ignore", "# TODO: try (128, 256)",
             "# noqa", "# Größe, 🚀 ) (", "# was: activation='tanh',")


def _comment(draw: Draw, layout: Layout, allow_noqa: bool = True) -> str:
    if not chance(draw, layout.comments):
        return ""
    comments = _COMMENTS if allow_noqa else tuple(c for c in _COMMENTS if "noqa" not in c)
    return "  " + draw(st.sampled_from(comments))


def render(draw: Draw, node: Any, indent: str, layout: Layout, multiline: bool = True) -> str:
    """The text of `node` placed on a line indented by `indent` (the first line is not
    indented here; continuation lines are)."""
    if isinstance(node, str):
        return node
    if isinstance(node, Kw):
        eq = " = " if layout.spaced_keywords else "="
        value = render(draw, node.value, indent, layout, multiline)
        if node.parens:
            return f"{node.name}{eq}({value})"
        if multiline and isinstance(node.value, str) and chance(draw, 1 / 16):
            return f"{node.name}{eq}\n{indent}{layout.unit}{value}"  # the value on a line of its own
        return f"{node.name}{eq}{value}"
    assert isinstance(node, Call)
    form = "inline"
    if multiline and node.args and chance(draw, layout.multiline):
        form = draw(st.sampled_from(["hanging", "hanging", "closing_on_last", "first_on_line", "backslash"]))
    inner = indent + layout.unit
    if form == "inline":
        return f"{node.callee}({', '.join(render(draw, a, indent, layout, False) for a in node.args)})"
    if form == "backslash":  # explicit line continuations inside the brackets
        parts = [render(draw, a, inner, layout, False) for a in node.args]
        return f"{node.callee}(" + f", \\\n{inner}".join(parts) + ")"
    trailing = draw(st.booleans())
    if form == "first_on_line":  # `Dense(64,` then the rest one level deeper
        deeper = inner + layout.unit
        parts = [render(draw, a, deeper, layout, False) for a in node.args]
        text = f"{node.callee}({parts[0]}"
        for part in parts[1:]:
            text += f",{_comment(draw, layout, False)}\n{deeper}{part}"
        return text + ("," if trailing else "") + ")"
    lines = []
    for i, arg in enumerate(node.args):
        last = i == len(node.args) - 1
        text = render(draw, arg, inner, layout)
        comma = "," if not last or trailing else ""
        comment = _comment(draw, layout, False) if not (last and form == "closing_on_last") else ""
        lines.append(f"{inner}{text}{comma}{comment}")
    opening = f"{node.callee}({_comment(draw, layout, False)}\n"
    if form == "closing_on_last":
        return opening + "\n".join(lines) + ")"
    return opening + "\n".join(lines) + f"\n{indent})"


# -- how the module names Keras --------------------------------------------------------------

class Names:
    """Spells Keras names in one import style and collects the imports they need."""

    STYLES = ("tf", "keras_from_tf", "layers_alias", "from_layers")

    def __init__(self, style: str, from_initializers: bool, alias_initializers: bool, paren_imports: bool) -> None:
        self.style = style
        self.from_initializers = from_initializers
        self.alias_initializers = alias_initializers
        self.paren_imports = paren_imports
        self.needs_tf = style == "tf"
        self.partial: str | None = None  # "partial" or "functools.partial", once used
        self.layer_names: dict[str, str] = {}
        self.init_names: dict[str, str] = {}
        self.model_names: dict[str, str] = {}

    @property
    def keras(self) -> str:
        return "tf.keras" if self.style == "tf" else "keras"

    def layer(self, cls: str) -> str:
        if self.style == "tf":
            return f"tf.keras.layers.{cls}"
        if self.style == "keras_from_tf":
            return f"keras.layers.{cls}"
        if self.style == "layers_alias":
            return f"L.{cls}"
        return self.layer_names.setdefault(cls, "D" if cls == "Dense" else cls)

    def initializer(self, name: str) -> str:
        if not self.from_initializers:
            return f"{self.keras}.initializers.{name}"
        alias = f"Init{name}" if self.alias_initializers and name[:1].isupper() else name
        return self.init_names.setdefault(name, alias)

    def model(self, cls: str) -> str:  # Sequential, Model, Input
        if self.style == "from_layers" and cls != "Input":
            return self.model_names.setdefault(cls, cls)
        return f"{self.keras}.{cls}"

    def tf(self, attr: str) -> str:
        self.needs_tf = True
        return f"tf.{attr}"

    def _from(self, module: str, names: dict[str, str]) -> str:
        items = [n if n == local else f"{n} as {local}" for n, local in names.items()]
        if self.paren_imports and len(items) > 1:
            return f"from {module} import (\n" + "".join(f"    {i},\n" for i in items) + ")"
        return f"from {module} import {', '.join(items)}"

    def header(self) -> list[str]:
        root = "keras" if self.style == "layers_alias" else "tensorflow.keras"
        lines = []
        if self.partial == "partial":
            lines.append("from functools import partial")
        elif self.partial:
            lines.append("import functools")
        if self.needs_tf:
            lines.append("import tensorflow as tf")
        if self.style in ("keras_from_tf", "from_layers"):
            lines.append("from tensorflow import keras")
        if self.style == "layers_alias":
            lines += ["import keras", "from keras import layers as L"]
        if self.layer_names:
            lines.append(self._from("tensorflow.keras.layers", self.layer_names))
        if self.model_names:
            lines.append(self._from("tensorflow.keras.models", self.model_names))
        if self.init_names:
            lines.append(self._from(f"{root}.initializers", self.init_names))
        return lines


# -- the module being written ----------------------------------------------------------------

class Module:
    """The state of one program being drawn: its names, layout and module-level bindings."""

    def __init__(self, draw: Draw, names: Names, layout: Layout) -> None:
        self.draw = draw
        self.names = names
        self.layout = layout
        self.prelude: list[str] = []  # module-level assignments: shared initializers, ACT = "relu"
        self.shared: list[str] = []
        self.activation_vars: list[str] = []
        self.templates: list[tuple[str, str]] = []  # (name, layer class) of partial(...) templates
        self.layer_count = 0

    def q(self, text: str) -> str:
        return f"{self.layout.quote}{text}{self.layout.quote}"

    def call_text(self, call: Call, indent: str) -> str:
        return render(self.draw, call, indent, self.layout)


_ACTIVATIONS = ("relu", "relu", "tanh", "sigmoid", "selu", "softmax", "elu", "gelu", "swish",
                "linear", "leaky_relu", "exponential", "my_custom_activation", "Relu")
_INIT_STRINGS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                 "lecun_uniform", "random_normal", "truncated_normal", "orthogonal", "zeros",
                 "xavier_uniform", "variance_scaling", "my_initializer")
_INIT_CLASSES = ("GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
                 "LecunUniform", "Orthogonal", "Zeros", "Ones")
_INIT_FUNCTIONS = ("glorot_uniform", "he_normal", "lecun_normal")


def activation(m: Module, positional_ok: bool = False) -> tuple[str, Any] | None:
    """("keyword" | "positional", value) or None for no activation argument."""
    draw = m.draw
    kind = draw(st.sampled_from([
        "absent", "absent", "string", "string", "string", "none", "tf_nn", "keras_activations",
        "layer_instance", "variable", "unknown_call",
    ]))
    if kind == "absent":
        return None
    if kind == "string":
        value: Any = m.q(draw(st.sampled_from(_ACTIVATIONS)))
    elif kind == "none":
        value = "None"
    elif kind == "tf_nn":
        value = m.names.tf(f"nn.{draw(st.sampled_from(['relu', 'tanh', 'sigmoid', 'selu', 'gelu', 'elu']))}")
    elif kind == "keras_activations":
        value = f"{m.names.keras}.activations.{draw(st.sampled_from(['relu', 'tanh', 'selu', 'softmax', 'swish']))}"
    elif kind == "layer_instance":
        cls = draw(st.sampled_from(["LeakyReLU", "ReLU", "PReLU", "ELU"]))
        value = Call(m.names.layer(cls), ["0.2"] if cls == "LeakyReLU" else [])
    elif kind == "variable":
        if m.activation_vars and draw(st.booleans()):
            value = draw(st.sampled_from(m.activation_vars))
        else:
            value = f"ACT{len(m.activation_vars)}"
            m.activation_vars.append(value)
            m.prelude.append(f"{value} = {m.q(draw(st.sampled_from(_ACTIVATIONS)))}")
    else:
        value = "get_activation()"
    where = "positional" if positional_ok and isinstance(value, str) and chance(draw, 1 / 4) else "keyword"
    return where, value


def initializer(m: Module, allow_shared: bool = True) -> Any | None:
    """An initializer value, or None for no initializer argument."""
    draw = m.draw
    names = m.names
    kind = draw(st.sampled_from([
        "absent", "absent", "absent", "string", "string", "class", "class_seeded", "function",
        "uncalled", "variance_scaling", "dict", "shared", "fixed_scale", "unknown_call",
    ]))
    if kind == "shared" and not allow_shared:
        kind = "string"
    if kind == "absent":
        return None
    if kind == "string":
        return m.q(draw(st.sampled_from(_INIT_STRINGS)))
    if kind in ("class", "class_seeded"):
        args = [Kw("seed", str(draw(st.integers(0, 99))))] if kind == "class_seeded" else []
        return Call(names.initializer(draw(st.sampled_from(_INIT_CLASSES))), args)
    if kind == "function":
        return Call(names.initializer(draw(st.sampled_from(_INIT_FUNCTIONS))))
    if kind == "uncalled":
        return names.initializer(draw(st.sampled_from(_INIT_CLASSES)))
    if kind == "variance_scaling":
        scale = draw(st.sampled_from(["1.0", "2.0", "2", "1.", "0.5"]))
        mode = m.q(draw(st.sampled_from(["fan_in", "fan_avg", "fan_out"])))
        dist = m.q(draw(st.sampled_from(["truncated_normal", "uniform", "untruncated_normal"])))
        form = draw(st.sampled_from(["positional", "keyword", "mixed", "scale_only", "empty"]))
        args: list[Any] = {
            "positional": [scale, mode, dist],
            "keyword": [Kw("mode", mode), Kw("scale", scale), Kw("distribution", dist)],
            "mixed": [scale, Kw("mode", mode)],
            "scale_only": [Kw("scale", scale)],
            "empty": [],
        }[form]
        return Call(names.initializer("VarianceScaling"), args)
    if kind == "dict":
        cls = m.q(draw(st.sampled_from(["GlorotUniform", "HeNormal", "LecunNormal", "Orthogonal"])))
        config = draw(st.sampled_from(["{}", f"{{{m.q('seed')}: 1}}"]))
        return f"{{{m.q('class_name')}: {cls}, {m.q('config')}: {config}}}"
    if kind == "fixed_scale":
        cls, args = draw(st.sampled_from([
            ("RandomNormal", [Kw("stddev", "0.01")]), ("RandomNormal", ["0.0", "1.0"]),
            ("RandomUniform", [Kw("minval", "-0.05"), Kw("maxval", "0.05")]),
            ("TruncatedNormal", [Kw("mean", "0.0"), Kw("stddev", "0.5")]), ("Constant", ["0.1"]),
        ]))
        return Call(names.initializer(cls), list(args))
    if kind == "shared":
        if m.shared and chance(draw, 2 / 3):
            return draw(st.sampled_from(m.shared))
        value = initializer(m, allow_shared=False) or m.q("glorot_uniform")
        name = f"init_{len(m.shared)}"
        m.shared.append(name)
        m.prelude.append(f"{name} = {render(draw, value, '', m.layout, multiline=False)}")
        return name
    return "make_initializer()"


# Names of Keras initializers (and of what a fix may import) that code may use for its own things.
_FOREIGN = ("HeNormal", "HeUniform", "GlorotNormal", "GlorotUniform", "LecunNormal", "LecunUniform",
            "he_normal", "glorot_uniform", "lecun_normal", "optimizers", "Adam", "RMSprop")

_WEIGHTED = ("Dense", "Dense", "Dense", "Conv1D", "Conv2D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D")
_INIT_PARAM = {"SeparableConv2D": "pointwise_initializer", "DepthwiseConv2D": "depthwise_initializer"}


def weighted_layer(m: Module, first: bool = False) -> Call:
    draw = m.draw
    cls = draw(st.sampled_from(_WEIGHTED))
    if cls == "Dense":
        positional = [draw(st.sampled_from(["64", "128", "10", "1", "(32)"]))]
    keywords: list[Kw] = []
    if cls == "Dense" and chance(draw, 1 / 6):
        keywords.append(Kw("units", positional.pop()))
    elif cls == "DepthwiseConv2D":
        positional = [draw(st.sampled_from(["3", "(3, 3)"]))]
    else:
        positional = [draw(st.sampled_from(["32", "64"])), draw(st.sampled_from(["3", "(3, 3)", "5"]))]
    act = activation(m, positional_ok=bool(positional) and cls == "Dense")
    init = initializer(m)
    if act is not None:
        where, value = act
        if where == "positional":
            # Dense(units, activation, use_bias, kernel_initializer): maybe more positionals after it.
            positional.append(value)
            if draw(st.booleans()):
                positional.append(draw(st.sampled_from(["True", "False"])))
                if init is not None and draw(st.booleans()):
                    positional.append(init)
                    init = None
        else:
            keywords.append(Kw("activation", value, parens=chance(draw, 1 / 6)))
    if init is not None:
        keywords.append(Kw(_INIT_PARAM.get(cls, "kernel_initializer"), init, parens=chance(draw, 1 / 8)))
    if cls in ("Conv1D", "Conv2D", "SeparableConv2D") and chance(draw, 1 / 4):
        positional += [draw(st.sampled_from(["1", "(2, 2)"])), m.q(draw(st.sampled_from(["same", "valid"])))]
    elif cls != "Dense" and draw(st.booleans()):
        keywords.append(Kw("padding", m.q(draw(st.sampled_from(["same", "valid"])))))
    if chance(draw, 1 / 4):
        keywords.append(Kw("use_bias", "False"))
    if chance(draw, 1 / 3):
        m.layer_count += 1
        label = draw(st.sampled_from(["{}_{}", "{}({}), #", "schicht_{}_ä_{}", "🚀{}{}"]))
        keywords.append(Kw("name", m.q(label.format(cls.lower(), m.layer_count))))
    if first and draw(st.booleans()):
        keywords.append(Kw("input_shape", draw(st.sampled_from(["(28, 28, 1)", "(784,)", "[32]"]))))
    keywords = draw(st.permutations(keywords))
    splat = ["**common"] if chance(draw, 1 / 12) else []  # what it holds cannot be seen
    if splat and "common = dict(use_bias=True)" not in m.prelude:
        m.prelude.append("common = dict(use_bias=True)")
    return Call(m.names.layer(cls), [*positional, *keywords, *splat])


def other_layer(m: Module) -> Call:
    draw = m.draw
    names = m.names
    kind = draw(st.sampled_from([
        "BatchNormalization", "Dropout", "Activation", "Activation", "ReLU", "LeakyReLU",
        "Flatten", "MaxPooling2D", "GlobalAveragePooling2D", "LayerNormalization", "AlphaDropout",
    ]))
    if kind in ("Dropout", "AlphaDropout"):
        return Call(names.layer(kind), [draw(st.sampled_from(["0.1", "0.5", "rate"]))])
    if kind == "Activation":
        value = draw(st.sampled_from(["string", "string", "tf_nn", "unknown"]))
        if value == "string":
            arg: Any = m.q(draw(st.sampled_from(_ACTIVATIONS)))
        elif value == "tf_nn":
            arg = m.names.tf(f"nn.{draw(st.sampled_from(['relu', 'tanh', 'selu']))}")
        else:
            arg = "my_activation"
        return Call(names.layer(kind), [arg])
    if kind == "LeakyReLU":
        return Call(names.layer(kind), draw(st.sampled_from([[], ["0.1"], [Kw("negative_slope", "0.3")]])))
    return Call(names.layer(kind))


def recurrent_layer(m: Module) -> Call:
    draw = m.draw
    cls = draw(st.sampled_from(["LSTM", "GRU", "SimpleRNN"]))
    args: list[Any] = [draw(st.sampled_from(["32", "64"]))]
    if draw(st.booleans()):
        args.append(Kw("return_sequences", "True"))
    return Call(m.names.layer(cls), args)


def template_layer(m: Module) -> Call:
    """A layer made by a `partial(LayerClass, ...)` template defined at module level."""
    draw = m.draw
    if m.templates and draw(st.booleans()):
        name, cls = draw(st.sampled_from(m.templates))
    else:
        if m.names.partial is None:
            m.names.partial = draw(st.sampled_from(["partial", "functools.partial"]))
        cls = draw(st.sampled_from(["Conv2D", "Dense"]))
        name = f"Default{cls}{len(m.templates)}"
        m.templates.append((name, cls))
        args: list[Any] = [m.names.layer(cls)]
        if cls == "Conv2D":
            args.append(Kw("kernel_size", "3"))
        act = activation(m)
        if act is not None:
            args.append(Kw("activation", act[1]))
        init = initializer(m)
        if init is not None:
            args.append(Kw("kernel_initializer", init))
        if cls == "Conv2D":
            args.append(Kw("padding", m.q("same")))
        m.prelude.append(f"{name} = {m.call_text(Call(m.names.partial, args), '')}")
    args = [draw(st.sampled_from(["64", "32"]))] if draw(st.booleans()) else \
        [Kw("filters" if cls == "Conv2D" else "units", "64")]
    act = activation(m) if chance(draw, 1 / 4) else None
    if act is not None:
        args.append(Kw("activation", act[1]))
    return Call(name, args)


def layer_stack(m: Module, recurrent: bool) -> list[Call]:
    """A plausible list of layers: weighted ones with what usually sits between them."""
    draw = m.draw
    layers: list[Call] = []
    if recurrent:
        layers.append(Call(m.names.layer("Embedding"), ["1000", "64"]))
        rnn = recurrent_layer(m)
        layers.append(Call(m.names.layer("Bidirectional"), [rnn]) if chance(draw, 1 / 4) else rnn)
    for i in range(draw(st.sampled_from([1, 2, 3, 4, 6]))):
        kind = draw(st.sampled_from(["plain", "plain", "plain", "plain", "template", "time_distributed", "saturating"]))
        if kind == "saturating":  # a deep stack of tanh/sigmoid layers
            for _ in range(draw(st.integers(3, 6))):
                args: list[Any] = [Kw("activation", m.q(draw(st.sampled_from(["tanh", "sigmoid", "softsign"]))))]
                init = initializer(m)
                if init is not None:
                    args.append(Kw("kernel_initializer", init))
                layers.append(Call(m.names.layer("Dense"), ["64", *args]))
        elif kind == "template":
            layers.append(template_layer(m))
        elif kind == "time_distributed":
            layers.append(Call(m.names.layer("TimeDistributed"), [weighted_layer(m)]))
        else:
            layers.append(weighted_layer(m, first=i == 0 and not recurrent))
        for _ in range(draw(st.integers(0, 2))):
            layers.append(other_layer(m))
    return layers


def compile_call(m: Module, model: str, indent: str) -> list[str]:
    draw = m.draw
    names = m.names
    kind = draw(st.sampled_from(["none", "string", "adam", "sgd", "clipped", "variable", "positional"]))
    if kind == "none":
        return []
    lines: list[str] = []
    optimizer: Any = {
        "string": m.q(draw(st.sampled_from(["adam", "rmsprop", "sgd"]))),
        "adam": Call(f"{names.keras}.optimizers.Adam", [draw(st.sampled_from(["1e-3", "0.001"]))]),
        "sgd": Call(f"{names.keras}.optimizers.SGD", [Kw("learning_rate", "0.01"), Kw("momentum", "0.9")]),
        "clipped": Call(f"{names.keras}.optimizers.Adam", [Kw("learning_rate", "1e-3"), Kw("clipnorm", "1.0")]),
        "variable": "opt",
        "positional": m.q("rmsprop"),
    }[kind]
    if kind == "variable":
        value = Call(f"{names.keras}.optimizers.RMSprop", [Kw("learning_rate", "1e-3")])
        lines.append(f"{indent}opt = {m.call_text(value, indent)}")
    if kind == "positional":
        args: list[Any] = [optimizer, m.q("mse")]
    else:
        args = [Kw("optimizer", optimizer), Kw("loss", m.q("mse"))]
        if draw(st.booleans()):
            args.append(Kw("metrics", f"[{m.q('accuracy')}]"))
    lines.append(f"{indent}{m.call_text(Call(f'{model}.compile', args), indent)}")
    return lines


# -- model forms -----------------------------------------------------------------------------

def sequential_list(m: Module, indent: str, index: int) -> list[str]:
    draw = m.draw
    layers = layer_stack(m, recurrent=chance(draw, 1 / 5))
    inner = indent + m.layout.unit
    model = f"model{index}"
    form = draw(st.sampled_from(["list", "list", "keyword", "named", "one_line"]))
    if form == "one_line":
        body = ", ".join(render(draw, layer, indent, m.layout, multiline=False) for layer in layers)
        lines = [f"{indent}{model} = {m.names.model('Sequential')}([{body}]){_comment(draw, m.layout)}"]
    else:
        elements = []
        for i, layer in enumerate(layers):
            comma = "," if i < len(layers) - 1 or draw(st.booleans()) else ""
            if chance(draw, m.layout.comments / 2):
                elements.append(f"{inner}# block {i}")
            elements.append(f"{inner}{m.call_text(layer, inner)}{comma}{_comment(draw, m.layout)}")
        opening = {"list": "([", "keyword": "(layers=[", "named": "(["}[form]
        closing = f"], name={m.q(model)})" if form == "named" else "])"
        lines = [f"{indent}{model} = {m.names.model('Sequential')}{opening}", *elements, f"{indent}{closing}"]
    return lines + compile_call(m, model, indent)


def add_chain(m: Module, indent: str, index: int) -> list[str]:
    draw = m.draw
    model = f"model{index}"
    lines = [f"{indent}{model} = {m.names.model('Sequential')}()"]
    for layer in layer_stack(m, recurrent=chance(draw, 1 / 5)):
        statement = f"{model}.add({m.call_text(layer, indent)})"
        if lines and chance(draw, 1 / 8) and "#" not in lines[-1]:
            lines[-1] += f"; {statement}"  # two statements on one line
        else:
            lines.append(f"{indent}{statement}{_comment(draw, m.layout)}")
    return lines + compile_call(m, model, indent)


def _apply(m: Module, layer: Call, indent: str, target: str, source: str) -> str:
    return f"{indent}{target} = {m.call_text(layer, indent)}({source}){_comment(m.draw, m.layout)}"


def helper_block(m: Module, name: str) -> list[str]:
    """`def name(x, units): ...; return x` (the caller may apply the activation)."""
    draw = m.draw
    unit = m.layout.unit
    foreign = f", {draw(st.sampled_from(_FOREIGN))}=None" if chance(draw, 1 / 6) else ""
    lines = [f"def {name}(x, units{foreign}):"]
    for layer in [weighted_layer(m)] + [other_layer(m) for _ in range(draw(st.integers(0, 2)))]:
        lines.append(_apply(m, layer, unit, "x", "x"))
    if draw(st.booleans()):
        lines.append(f"{unit}return {m.call_text(other_layer(m), unit)}(x)")
    else:
        lines.append(f"{unit}return x")
    return lines


def functional(m: Module, indent: str, index: int, helpers: list[str]) -> list[str]:
    draw = m.draw
    names = m.names
    model = f"model{index}"
    shape = draw(st.sampled_from(["(32,)", "(28, 28, 1)", "[784]"]))
    x = draw(st.sampled_from(["x", "x", "h", "größe", "張量"]))  # non-ASCII names shift byte columns
    lines = [f"{indent}inputs = {names.model('Input')}(shape={shape})", f"{indent}{x} = inputs"]
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["layer", "layer", "other", "helper", "residual", "tf_activation"]))
        if step == "helper" and helpers:
            lines.append(f"{indent}{x} = {draw(st.sampled_from(helpers))}({x}, {draw(st.sampled_from(['16', '64']))})")
        elif step == "residual":
            lines.append(f"{indent}shortcut = {x}")
            lines.append(_apply(m, weighted_layer(m), indent, x, x))
            if draw(st.booleans()):
                lines.append(_apply(m, other_layer(m), indent, x, x))
            merge = draw(st.sampled_from(["plus", "add_layer"]))
            if merge == "plus":
                lines.append(f"{indent}{x} = {x} + shortcut")
            else:
                lines.append(f"{indent}{x} = {names.layer('Add')}()([{x}, shortcut])")
            if draw(st.booleans()):
                lines.append(_apply(m, Call(names.layer("Activation"), [m.q("relu")]), indent, x, x))
        elif step == "tf_activation":
            lines.append(f"{indent}{x} = {names.tf('nn.' + draw(st.sampled_from(['relu', 'tanh'])))}({x})")
        elif step == "other":
            lines.append(_apply(m, other_layer(m), indent, x, x))
        else:
            lines.append(_apply(m, weighted_layer(m), indent, x, x))
    lines.append(_apply(m, weighted_layer(m), indent, "outputs", x))
    call = draw(st.sampled_from(["(inputs, outputs)", "(inputs=inputs, outputs=outputs)"]))
    lines.append(f"{indent}{model} = {names.model('Model')}{call}")
    return lines + compile_call(m, model, indent)


def subclassed(m: Module, indent: str, index: int) -> list[str]:
    """A Model subclass: layers made in __init__, applied in call()."""
    draw = m.draw
    unit = m.layout.unit
    body, method = indent + unit, indent + unit + unit
    layers = layer_stack(m, recurrent=chance(draw, 1 / 5))
    lines = [f"{indent}class Net{index}({m.names.model('Model')}):", f"{body}def __init__(self):",
             f"{method}super().__init__()"]
    for i, layer in enumerate(layers):
        lines.append(f"{method}self.layer{i} = {m.call_text(layer, method)}{_comment(draw, m.layout)}")
    lines += ["", f"{body}def call(self, x):"]
    lines += [f"{method}x = self.layer{i}(x)" for i in range(len(layers) - 1)]
    lines.append(f"{method}return self.layer{len(layers) - 1}(x)")
    lines.append(f"{indent}model{index} = Net{index}()")
    return lines + compile_call(m, f"model{index}", indent)


def train_step(m: Module, indent: str, index: int) -> list[str]:
    """A custom training step that applies the gradients of model{index}."""
    draw = m.draw
    unit = m.layout.unit
    body = indent + unit
    model = f"model{index}"
    lines = ["", f"{indent}step_optimizer{index} = {m.names.keras}.optimizers.Adam(1e-3)", ""]
    if draw(st.booleans()):
        lines.append(f"{indent}@{m.names.tf('function')}")
    lines += [
        f"{indent}def train_step{index}(x, y):",
        f"{body}with {m.names.tf('GradientTape')}() as tape:",
        f"{body}{unit}loss = loss_fn(y, {model}(x, training=True))",
        f"{body}grads = tape.gradient(loss, {model}.trainable_variables)",
        f"{body}step_optimizer{index}.apply_gradients(zip(grads, {model}.trainable_variables)){_comment(draw, m.layout)}",
        f"{body}return loss",
    ]
    return lines


@dataclass(frozen=True)
class Program:
    text: str

    def __repr__(self) -> str:  # Hypothesis prints the failing program: show it as code
        return f"Program(text=\n{self.text}\n)"


@st.composite
def programs(draw: Draw) -> Program:
    names = Names(
        style=draw(st.sampled_from(Names.STYLES)),
        from_initializers=draw(st.booleans()),
        alias_initializers=draw(st.booleans()),
        paren_imports=draw(st.booleans()),
    )
    layout = Layout(
        unit=draw(st.sampled_from(["    ", "    ", "  ", "\t"])),
        quote=draw(st.sampled_from(["'", '"'])),
        multiline=draw(st.sampled_from([0.0, 0.3, 0.7, 1.0])),
        comments=draw(st.sampled_from([0.0, 0.2, 0.5])),
        spaced_keywords=chance(draw, 1 / 10),
    )
    m = Module(draw, names, layout)
    helpers: list[str] = []
    helper_lines: list[str] = []
    for i in range(draw(st.integers(0, 2))):
        helpers.append(f"block{i}")
        helper_lines += ["", *helper_block(m, f"block{i}")]
    body: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(["sequential", "add", "functional", "functional_in_def", "subclassed"]))
        body.append("")
        if chance(draw, layout.comments):
            body.append(f"# model {index}")
        indent = ""
        if chance(draw, 1 / 6):
            body.append('if __name__ == "__main__":')
            indent = layout.unit
        if form == "sequential":
            body += sequential_list(m, indent, index)
        elif form == "add":
            body += add_chain(m, indent, index)
        elif form == "functional":
            body += functional(m, indent, index, helpers)
        elif form == "subclassed":
            body += subclassed(m, indent, index)
        else:
            body.append(f"{indent}def build_model{index}():")
            body += functional(m, indent + layout.unit, index, helpers)
            body += [f"{indent}{layout.unit}return model{index}", f"{indent}model{index} = build_model{index}()"]
        if chance(draw, 1 / 4):
            body += train_step(m, indent, index)
    top = []
    if draw(st.booleans()):
        top.append(f'"""Model {draw(st.integers(0, 9))}."""')
    if draw(st.booleans()):
        top.append("# Generated model code.")
    header = names.header()
    if chance(draw, 1 / 4):  # the module's own names, spelled like Keras' ones
        foreign = f"from mylib import {', '.join(draw(st.lists(st.sampled_from(_FOREIGN), min_size=1, max_size=3, unique=True)))}"
        header.insert(draw(st.integers(0, len(header))), foreign)
    lines = [*top, *header, *m.prelude, *helper_lines, *body]
    text = "\n".join(lines)
    if chance(draw, 1 / 6):  # trailing white space after commas and brackets
        text = re.sub(r"([,(\[])\n", lambda match: match.group(1) + "  \n", text)
    if not chance(draw, 1 / 5):
        text += "\n"
    endings = draw(st.sampled_from(["lf", "lf", "crlf", "crlf", "cr", "mixed"]))
    if endings == "crlf":
        text = text.replace("\n", "\r\n")
    elif endings == "cr":
        text = text.replace("\n", "\r")
    elif endings == "mixed":  # a CRLF file with a few LF lines, as editors leave them
        rng = random.Random(draw(st.integers(0, 2**16)))
        text = "".join(part + ("\r\n" if rng.random() < 0.7 else "\n") for part in text.split("\n")[:-1]) \
            + text.split("\n")[-1]
    return Program(text)


# -- files in encodings that do not survive decoding and encoding again -------------------------

# Double-byte codecs in which some characters have two spellings: decoding either gives the
# same character, encoding it gives only one (cp932 reads ≒ from 87 90 and 81 E0).
DOUBLE_BYTE_CODECS = ("cp932", "big5", "big5hkscs", "johab")
# Codecs whose every character may be spelled as an escape (`\x41`, `\u0041`, `\N{...}`).
ESCAPE_CODECS = ("unicode_escape", "raw_unicode_escape")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@cache
def second_spellings(codec: str) -> dict[str, bytes]:
    """Each character that some two bytes decode to, but that the codec encodes otherwise."""
    found: dict[str, bytes] = {}
    for lead in range(0x81, 0x100):
        for trail in range(0x40, 0x100):
            spelled = bytes([lead, trail])
            try:
                char = spelled.decode(codec)
            except UnicodeDecodeError:
                continue
            if len(char) == 1 and char.encode(codec) != spelled:
                found.setdefault(char, spelled)
    return found


def _escape(char: str, codec: str, rng: random.Random) -> bytes:
    """`char` as an escape sequence that `codec` reads back as `char`."""
    code = ord(char)
    if codec == "raw_unicode_escape":
        return f"\\u{code:04x}".encode() if code < 0x10000 else f"\\U{code:08x}".encode()
    name = unicodedata.name(char, None)
    forms = [f"\\U{code:08x}"] + ([f"\\u{code:04x}"] if code < 0x10000 else []) + ([f"\\x{code:02x}"] if code < 0x100 else [])
    if name and code > 0x7f:
        forms.append(f"\\N{{{name}}}")
    return rng.choice(forms).encode()


def _spell_line(line: str, codec: str, seed: int) -> bytes:
    """The bytes of one line, some characters spelled the way the codec would not write them.

    The choice depends only on the line's text (and the seed): equal lines get equal bytes,
    so that matching lines by their text also matches their bytes.
    """
    rng = random.Random(zlib.crc32(line.encode("utf-8", "surrogatepass")) ^ seed)
    body = line.rstrip("\r\n")
    ending = line[len(body):].encode("ascii")
    if codec in DOUBLE_BYTE_CODECS:
        second = second_spellings(codec)
        return b"".join(second[c] if c in second and rng.random() < 0.7 else c.encode(codec) for c in body) + ending
    out = []
    for char in body:
        if char == "\\":  # a lone backslash would start an escape
            out.append(b"\\\\" if codec == "unicode_escape" else b"\\u005c")
        elif rng.random() < 0.15 or (codec == "raw_unicode_escape" and ord(char) > 0xff) or ord(char) > 0x7f:
            out.append(_escape(char, codec, rng))
        else:
            out.append(char.encode("ascii"))
    return b"".join(out) + ending


@dataclass(frozen=True)
class EncodedProgram:
    """A module as Python reads it (`text`) and as it is stored (`data`, in `codec`), line
    by line: `lines[i]` is the bytes of the text's line i, line ending included."""

    text: str
    data: bytes
    codec: str
    lines: tuple[bytes, ...]

    def __repr__(self) -> str:
        return f"EncodedProgram(codec={self.codec!r}, data=\n{self.data!r}\n)"


def text_lines(text: str) -> list[str]:
    return _LINE.findall(text)


def byte_lines(data: bytes) -> list[bytes]:
    """`data` cut after each line break; in these codecs no byte of a character is one."""
    return re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+", data)


@st.composite
def encoded_programs(draw: Draw) -> EncodedProgram:
    """A random program stored in a codec that does not round-trip, with some characters
    spelled as the codec would not spell them, and lines of characters with two spellings."""
    codec = draw(st.sampled_from(DOUBLE_BYTE_CODECS + ESCAPE_CODECS))
    text = draw(programs()).text
    if codec in DOUBLE_BYTE_CODECS:  # what the codec cannot hold becomes a plain letter
        text = "".join(c if _encodable(c, codec) else "x" for c in text)
        special = "".join(draw(st.lists(st.sampled_from(sorted(second_spellings(codec))), min_size=1, max_size=6)))
    else:
        special = draw(st.sampled_from(["café → naïve", "Größe 🚀", "張量 ≒ ∫"]))
    newline = next(iter(re.findall(r"\r\n|\r|\n", text)), "\n")
    lines = [f"# -*- coding: {codec} -*-\n", f"# {special}{newline}", *text_lines(text)]
    if not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines.append(f"# {special[::-1]}")
    seed = draw(st.integers(0, 2**16))
    spelled = [lines[0].encode("ascii")] + [_spell_line(line, codec, seed) for line in lines[1:]]  # the cookie as is
    data = b"".join(spelled)
    assert data.decode(codec) == "".join(lines), "the strategy must spell the text it means"
    return EncodedProgram("".join(lines), data, codec, tuple(spelled))


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True
