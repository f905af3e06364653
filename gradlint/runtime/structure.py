"""Which layers of a live model get a row in the probe, and what each one is.

Sequential and functional models are walked in model order, nested models opened up, and every
layer that owns weights becomes a row whose output can be intercepted. A subclassed model's
forward pass is opaque Python, so its rows are its weighted sublayers in the order they were
tracked, with weight metrics only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gradlint.runtime.backend import Backend

SEQUENTIAL = "sequential"
FUNCTIONAL = "functional"
SUBCLASSED = "subclassed"

_BUILTIN_ROOTS = {"keras", "tf_keras", "tensorflow"}


@dataclass(frozen=True)
class Row:
    """One weighted layer as shown in the table."""

    layer: Any
    name: str
    type: str
    activation: str | None
    initializer: str | None
    variables: tuple[Any, ...]  # the trainable variables whose gradient is measured

    @property
    def trainable(self) -> bool:
        return bool(self.variables)


@dataclass(frozen=True)
class Structure:
    kind: str  # SEQUENTIAL | FUNCTIONAL | SUBCLASSED
    rows: tuple[Row, ...]
    heads: frozenset[int]  # indices of rows that produce a model output

    @property
    def per_layer(self) -> bool:
        """Whether layer outputs can be intercepted (forward RMS and backward signal)."""
        return self.kind != SUBCLASSED


def model_kind(model: Any, backend: Backend) -> str:
    keras = backend.keras
    if isinstance(model, keras.Sequential):
        return SEQUENTIAL
    if _is_functional(model):
        return FUNCTIONAL
    return SUBCLASSED


def _is_functional(layer: Any) -> bool:
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - Keras moved it
        return hasattr(layer, "_nodes_by_depth") and hasattr(layer, "_run_through_graph")
    return isinstance(layer, Functional)


def describe(model: Any, backend: Backend) -> Structure:
    """The rows of `model` and which of them are output heads."""
    kind = model_kind(model, backend)
    layers: list[Any] = []
    if kind == SUBCLASSED:
        _weighted_sublayers(model, backend, layers, seen=set(), top=True)
    else:
        _graph_layers(model, backend, layers, seen=set())
    # In a subclassed model a user-defined container's sublayers have rows of their own.
    rows = tuple(
        _row(layer, own_only=kind == SUBCLASSED and (layer is model or not is_builtin(layer)),
             keras=None if kind == SUBCLASSED else backend.keras)
        for layer in layers
    )
    heads = _heads(model, kind, rows)
    return Structure(kind, rows, heads)


def _graph_layers(model: Any, backend: Backend, out: list[Any], seen: set[int]) -> None:
    """Model-order weighted layers of a Sequential/functional model, opening nested ones."""
    keras = backend.keras
    for layer in model.layers:
        if id(layer) in seen or isinstance(layer, keras.layers.InputLayer):
            continue
        seen.add(id(layer))
        if isinstance(layer, keras.Sequential) or _is_functional(layer):
            _graph_layers(layer, backend, out, seen)
        elif layer.weights:
            out.append(layer)


def is_builtin(layer: Any) -> bool:
    """A layer class that ships with Keras/TensorFlow (as opposed to one the user wrote)."""
    return type(layer).__module__.split(".")[0] in _BUILTIN_ROOTS


def _sublayers(layer: Any) -> list[Any]:
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is not None:
        return list(flatten(include_self=False, recursive=False))
    return list(getattr(layer, "layers", []))


def _weighted_sublayers(layer: Any, backend: Backend, out: list[Any], seen: set[int], top: bool = False) -> None:
    """Leaves of a subclassed model: built-in layers whole, user-defined containers opened."""
    keras = backend.keras
    for sub in _sublayers(layer):
        if id(sub) in seen:
            continue
        seen.add(id(sub))
        if is_builtin(sub) and not isinstance(sub, keras.Model):
            if sub.weights:
                out.append(sub)
            continue
        if _own_variables(sub):
            out.append(sub)
        _weighted_sublayers(sub, backend, out, seen)
    if top and _own_variables(layer):
        out.insert(0, layer)


def _own_variables(layer: Any) -> list[Any]:
    """Variables created by `layer` itself, not by one of its sublayers."""
    inner = {id(v) for sub in _sublayers(layer) for v in sub.weights}
    return [v for v in layer.weights if id(v) not in inner]


def _row(layer: Any, own_only: bool = False, keras: Any = None) -> Row:
    """`keras`: given for a graph model, whose layers' consumers are known, so that a linear
    layer is labelled with the activation layer that follows it."""
    activation = activation_name(layer)
    if keras is not None and activation in (None, "linear"):
        activation = following_activation(layer, keras) or activation
    if own_only:
        variables = tuple(v for v in _own_variables(layer) if v.trainable)
    else:
        variables = tuple(layer.trainable_weights)
    return Row(
        layer=layer,
        name=layer.name,
        type=type(layer).__name__,
        activation=activation,
        initializer=initializer_name(layer),
        variables=variables,
    )


# --- heads -----------------------------------------------------------------------------------


def _heads(model: Any, kind: str, rows: tuple[Row, ...]) -> frozenset[int]:
    if not rows:
        return frozenset()
    if kind == FUNCTIONAL:
        found = _functional_heads(model, rows)
        if found:
            return found
    return frozenset({len(rows) - 1})


def _functional_heads(model: Any, rows: tuple[Row, ...]) -> frozenset[int]:
    """Rows reached by walking back from the model's outputs through weightless layers."""
    index = {id(r.layer): i for i, r in enumerate(rows)}
    try:
        from keras import tree

        stack = list(tree.flatten(model.outputs))
    except Exception:
        return frozenset()
    heads: set[int] = set()
    seen: set[int] = set()
    while stack:
        tensor = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if history is None or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        operation = history.operation
        if id(operation) in index:
            heads.add(index[id(operation)])
            continue
        try:
            node = operation._inbound_nodes[history.node_index]
        except (AttributeError, IndexError):
            continue
        stack.extend(node.input_tensors)
    return frozenset(heads)


# --- naming what a layer is ------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _wrapped(layer: Any) -> Any | None:
    """The layer inside a wrapper (Bidirectional, TimeDistributed) or an RNN's cell."""
    for attr in ("forward_layer", "layer", "cell"):
        inner = getattr(layer, attr, None)
        if inner is not None and inner is not layer and hasattr(inner, "weights"):
            return inner
    return None


def activation_name(layer: Any) -> str | None:
    """`relu`, `sigmoid`, …; None for layers without an activation (Embedding, BatchNorm)."""
    act = getattr(layer, "activation", None)
    if act is None:
        inner = _wrapped(layer)
        return activation_name(inner) if inner is not None else None
    if isinstance(act, str):
        return act
    name = getattr(act, "__name__", None)
    if name is None:  # a layer or other callable object used as activation
        name = _snake(type(act).__name__)
    return name


# Layers that pass their input's sign through unchanged: an activation after them still acts on
# the weighted layer's own output.
_SIGN_KEEPING = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
                 "Flatten", "Reshape", "Permute", "Identity", "ActivityRegularization")


def following_activation(layer: Any, keras: Any) -> str | None:
    """The activation layer that `layer`'s output meets in the model graph (through dropout and
    reshapes), e.g. "relu" for Dense → ReLU(); None when it meets something else, or several."""
    current = layer
    for _ in range(8):  # a short chain of sign-keeping layers, never a loop
        consumers = {id(op): op for op in _consumers(current)}
        if len(consumers) != 1:
            return None
        (current,) = consumers.values()
        name = activation_layer_name(current, keras)
        if name is not None:
            return name
        if type(current).__name__ not in _SIGN_KEEPING:
            return None
    return None


def _consumers(layer: Any) -> list[Any]:
    nodes = getattr(layer, "_outbound_nodes", None) or []
    return [node.operation for node in nodes if getattr(node, "operation", None) is not None]


def activation_layer_name(layer: Any, keras: Any) -> str | None:
    """The activation a weightless activation layer applies: Activation("relu") → "relu",
    ReLU() → "relu", ReLU(max_value=6) → "relu6", LeakyReLU → "leaky_relu"; None otherwise."""
    k = keras.layers
    if isinstance(layer, k.Activation):
        return activation_name(layer)
    if isinstance(layer, k.ReLU):
        if float(layer.negative_slope or 0.0):
            return "leaky_relu"
        if layer.max_value is not None:
            return "relu6" if float(layer.max_value) == 6.0 else "relu (capped)"
        return "relu"
    for cls, name in ((k.LeakyReLU, "leaky_relu"), (k.ELU, "elu"), (k.Softmax, "softmax"), (k.PReLU, "prelu")):
        if isinstance(layer, cls):
            return name
    return None


_INITIALIZER_ATTRS = (
    "kernel_initializer",
    "depthwise_initializer",
    "pointwise_initializer",
    "embeddings_initializer",
)
_SHOWN_PARAMS = ("mean", "stddev", "minval", "maxval", "value", "scale", "mode", "distribution", "gain")
_DEFAULTS = {"mean": 0.0, "distribution": "truncated_normal", "gain": 1.0}


def initializer_name(layer: Any) -> str | None:
    """`glorot_uniform`, `he_normal`, `random_normal(stddev=0.5)`; None if the layer has none."""
    for attr in _INITIALIZER_ATTRS:
        init = getattr(layer, attr, None)
        if init is not None:
            return describe_initializer(init)
    inner = _wrapped(layer)
    return initializer_name(inner) if inner is not None else None


def describe_initializer(init: Any) -> str:
    if isinstance(init, str):
        return init
    name = _snake(type(init).__name__)
    try:
        config = init.get_config()
    except Exception:
        config = {}
    params = []
    if name in ("random_normal", "random_uniform", "truncated_normal", "constant", "variance_scaling",
                "orthogonal"):
        for key in _SHOWN_PARAMS:
            if key in config and config[key] is not None and _DEFAULTS.get(key) != config[key]:
                value = config[key]
                params.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return f"{name}({', '.join(params)})" if params else name
