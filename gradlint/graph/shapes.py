"""Tensor shapes where the source shows them, and from them each weighted layer's fan-in and
fan-out: the numbers an initializer's variance is measured against.

Shapes start at `Input(shape=...)`, `InputLayer`, or a first layer's `input_shape=`/`input_dim=`,
and are carried through the layers whose output shape follows from their arguments (Dense
`units`, Conv `filters`/`kernel_size`/`strides`/`padding`, Flatten, pooling, Embedding,
recurrent `units`, merges). A Dense or Conv fixes its output's last axis even when what flows
in is unknown. Anything else makes the shape unknown: never a guess. Axes are channels-last,
Keras' default; a layer given another `data_format` gets no shape.

Fans follow Keras' own `compute_fans` for the kernel each layer builds, since that is what a
Glorot, He or LeCun initializer would scale by.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradlint.graph.dataflow import FlowNode
from gradlint.graph.facts import Layer
from gradlint.graph.stacks import FlowLinks, Loops, is_input_expr, sequential_items
from gradlint.graph.values import UNKNOWN, constant_value
from gradlint.keras_api.layers import Role

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph


@dataclass(frozen=True)
class Shape:
    """A tensor's shape without its batch axis. `dims` are its last axes (None: size not
    known); `exact` says they are all of its axes, False that more may lead them."""

    dims: tuple[int | None, ...]
    exact: bool = True

    @property
    def last(self) -> int | None:
        return self.dims[-1] if self.dims else None

    def with_last(self, size: int | None) -> Shape:
        return Shape(self.dims[:-1] + (size,), self.exact) if self.dims else Shape((size,), False)


def _clean(shape: Shape | None) -> Shape | None:
    """Nothing known is no shape at all."""
    if shape is None or (not shape.exact and all(d is None for d in shape.dims)):
        return None
    return shape


def join(a: Shape | None, b: Shape | None) -> Shape | None:
    """What is certain of a tensor that has shape `a` on one path and `b` on another."""
    if a is None or b is None:
        return None
    if a == b:
        return a
    if a.exact and b.exact and len(a.dims) == len(b.dims):
        return Shape(tuple(x if x == y else None for x, y in zip(a.dims, b.dims)), True)
    n = min(len(a.dims), len(b.dims))
    dims = tuple(x if x == y else None for x, y in zip(a.dims[len(a.dims) - n:], b.dims[len(b.dims) - n:]))
    return _clean(Shape(dims, False))


def join_all(shapes: list[Shape | None]) -> Shape | None:
    if not shapes:
        return None
    result = shapes[0]
    for shape in shapes[1:]:
        result = join(result, shape)
    return result


def shape_from_value(value: Any, drop_batch: bool = False) -> Shape | None:
    """`(28, 28, 1)`, `[None, 128]` or `784` → a Shape; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, tuple):
        return None
    if drop_batch:
        if not value:
            return None
        value = value[1:]
    if not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in value):
        return None
    return Shape(tuple(value), True)


# -- reading a layer's arguments ---------------------------------------------------------------
_ABSENT: Any = object()

_CONV_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate")
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "Dense": ("units",),
    "Conv": _CONV_ARGS,
    "ConvTranspose": ("filters", "kernel_size", "strides", "padding"),
    "SeparableConv": _CONV_ARGS,
    "DepthwiseConv": ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate"),
    "Embedding": ("input_dim", "output_dim"),
    "Recurrent": ("units",),
    "Pooling": ("pool_size", "strides", "padding", "data_format"),
    "GlobalPooling": ("data_format", "keepdims"),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "Concatenate": ("axis",),
    "Wrapper": ("layer", "merge_mode"),
}


def _kind(class_name: str) -> str:
    """The family of layer a class belongs to, for its shape arithmetic."""
    if class_name.startswith(("SeparableConv", "SeparableConvolution")):
        return "SeparableConv"
    if class_name.startswith("DepthwiseConv"):
        return "DepthwiseConv"
    if class_name.startswith(("Conv", "Convolution")) and "LSTM" not in class_name:
        return "ConvTranspose" if class_name.endswith("Transpose") else "Conv"
    if class_name.startswith("Global"):
        return "GlobalPooling"
    if "Pool" in class_name:
        return "Pooling"
    if class_name in ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU"):
        return "Recurrent"
    if class_name in ("Concatenate", "concatenate"):
        return "Concatenate"
    if class_name in ("Bidirectional", "TimeDistributed"):
        return "Wrapper"
    return class_name


def _rank(class_name: str) -> int | None:
    found = re.search(r"(\d)D", class_name)
    return int(found.group(1)) if found else None


class _Args:
    """Constant values of one layer's arguments, by keyword or by its stable position."""

    def __init__(self, layer: Layer, graph: ModuleGraph) -> None:
        self.layer = layer
        self.graph = graph
        self.positional = _POSITIONAL.get(_kind(layer.class_name), ())
        self.splat = any(s.opaque for s in layer.sources)

    def expr(self, name: str) -> ast.expr | None:
        found = None
        for source in self.layer.sources:
            value = source.keyword(name)
            if value is not None:
                found = value
            if name in self.positional:
                index = self.positional.index(name) - source.offset
                args = source.positional
                if 0 <= index < len(args) and not any(isinstance(a, ast.Starred) for a in args[: index + 1]):
                    found = args[index]
        return found

    def value(self, name: str, default: Any = _ABSENT) -> Any:
        """The argument's constant value; `default` when it is not passed; UNKNOWN when it
        cannot be known (not a constant, or possibly hidden in *args/**kwargs)."""
        expr = self.expr(name)
        if expr is None:
            return UNKNOWN if self.splat else default
        return constant_value(expr, self.layer.scope, self.graph.resolver)

    def size(self, name: str, default: Any = _ABSENT) -> int | None:
        value = self.value(name, default)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    def sizes(self, name: str, rank: int, default: Any = _ABSENT) -> tuple[int, ...] | None:
        """An int or a tuple of `rank` ints (kernel_size, strides, …)."""
        value = self.value(name, default)
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * rank
        if isinstance(value, tuple) and len(value) == rank and all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            return value
        return None

    def channels_last(self) -> bool:
        return self.value("data_format", None) in (None, "channels_last")


# -- shape arithmetic per kind of layer -------------------------------------------------------
def _conv_length(length: int | None, kernel: int, stride: int, dilation: int, padding: Any) -> int | None:
    if length is None:
        return None
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    if padding == "valid":
        reach = (kernel - 1) * dilation + 1
        return (length - reach) // stride + 1 if length >= reach else None
    return None


def _spatial(inp: Shape | None, rank: int, kernel: tuple[int, ...] | None,
             strides: tuple[int, ...] | None, padding: Any, dilation: tuple[int, ...] | None) -> tuple[int | None, ...]:
    """The spatial axes after a convolution or pooling window; None where not known."""
    if inp is None or not inp.exact or len(inp.dims) != rank + 1 or kernel is None or strides is None or dilation is None:
        return (None,) * rank
    return tuple(_conv_length(inp.dims[i], kernel[i], strides[i], dilation[i], padding) for i in range(rank))


def output_shape(layer: Layer, inp: Shape | None, graph: ModuleGraph) -> Shape | None:
    """The shape of a layer's output given the shape of what flows in (None: unknown)."""
    steps = layer.time_axes
    if not steps:
        return _own_output_shape(layer, inp, graph)
    # Applied through TimeDistributed: the layer sees one step, the steps' axes are kept.
    if inp is None or not inp.exact or len(inp.dims) <= steps:
        return None
    out = _own_output_shape(layer, Shape(inp.dims[steps:], True), graph)
    return Shape(inp.dims[:steps] + out.dims, True) if out is not None and out.exact else None


def keeps_shape(layer: Layer) -> bool:
    """The layer passes on the shape it receives: activations, normalizations, dropout, noise
    (not pooling, reshapes, padding, cropping or upsampling)."""
    return layer.spec.role in (Role.ACTIVATION, Role.TRANSPARENT) and _kind(layer.class_name) not in (
        "Pooling", "GlobalPooling", "Reshape", "Permute", "Flatten") and not _changes_spatial(layer)


def _own_output_shape(layer: Layer, inp: Shape | None, graph: ModuleGraph) -> Shape | None:
    args = _Args(layer, graph)
    kind = _kind(layer.class_name)
    rank = _rank(layer.class_name)
    if keeps_shape(layer):
        return inp
    if kind == "Dense":
        units = args.size("units")
        return inp.with_last(units) if inp is not None else _clean(Shape((units,), False))
    if kind in ("Conv", "ConvTranspose", "SeparableConv", "DepthwiseConv"):
        if rank is None or not args.channels_last():
            return None
        if kind == "DepthwiseConv":
            multiplier = args.size("depth_multiplier", 1)
            channels = inp.last * multiplier if inp is not None and inp.last and multiplier else None
        else:
            channels = args.size("filters")
        if kind == "ConvTranspose":
            spatial: tuple[int | None, ...] = (None,) * rank
        else:
            spatial = _spatial(inp, rank, args.sizes("kernel_size", rank), args.sizes("strides", rank, 1),
                               args.value("padding", "valid"), args.sizes("dilation_rate", rank, 1))
        return Shape(spatial + (channels,), True)
    if kind == "Pooling":
        if rank is None or not args.channels_last():
            return None
        pool = args.sizes("pool_size", rank, 2)
        strides = args.sizes("strides", rank, None) if args.value("strides", None) is not None else pool
        spatial = _spatial(inp, rank, pool, strides, args.value("padding", "valid"), (1,) * rank)
        return Shape(spatial + (inp.last if inp is not None else None,), True)
    if kind == "GlobalPooling":
        if not args.channels_last():
            return None
        keepdims = args.value("keepdims", False)
        channels = inp.last if inp is not None else None
        if keepdims is False:
            return Shape((channels,), True)
        if keepdims is True and rank is not None:
            return Shape((1,) * rank + (channels,), True)
        return None
    if kind == "Flatten":
        if inp is not None and inp.exact and all(d is not None for d in inp.dims):
            return Shape((math.prod(d for d in inp.dims if d is not None),), True)
        return Shape((None,), True)
    if kind == "Reshape":
        return _reshape(args.value("target_shape"), inp)
    if kind == "Permute":
        dims = args.value("dims")
        if inp is None or not inp.exact or not isinstance(dims, tuple) or sorted(dims) != list(range(1, len(inp.dims) + 1)):
            return None
        return Shape(tuple(inp.dims[d - 1] for d in dims), True)
    if kind == "Embedding":
        out = args.size("output_dim")
        if inp is not None and inp.exact:
            return Shape(inp.dims + (out,), True)
        return _clean(Shape((out,), False))
    if kind == "Recurrent":
        units = args.size("units")
        return Shape((None, units), True) if args.value("return_sequences", False) is True else (
            Shape((units,), True) if args.value("return_sequences", False) is False else None)
    if layer.class_name in ("MultiHeadAttention", "GroupQueryAttention", "Attention", "AdditiveAttention"):
        return inp if args.value("output_shape", None) is None else None
    if kind == "Wrapper":
        return _wrapper_shape(layer, inp, graph)
    if _changes_spatial(layer) and inp is not None:  # padding, cropping, upsampling: channels kept
        return Shape((None,) * (len(inp.dims) - 1) + (inp.last,), True) if inp.exact else _clean(Shape((inp.last,), False))
    return None


def _changes_spatial(layer: Layer) -> bool:
    return layer.class_name.startswith(("ZeroPadding", "Cropping", "UpSampling"))


def _reshape(target: Any, inp: Shape | None) -> Shape | None:
    if not isinstance(target, tuple) or not all(isinstance(d, int) and not isinstance(d, bool) for d in target):
        return None
    if -1 not in target:
        return shape_from_value(target)
    if target.count(-1) != 1:
        return None
    known = [d for d in target if d != -1]
    total = math.prod(inp.dims) if inp is not None and inp.exact and all(d is not None for d in inp.dims) else None  # type: ignore[arg-type]
    if total is None or total % math.prod(known):
        return Shape(tuple(None if d == -1 else d for d in target), True)
    return Shape(tuple(total // math.prod(known) if d == -1 else d for d in target), True)


def _wrapper_shape(layer: Layer, inp: Shape | None, graph: ModuleGraph) -> Shape | None:
    inner = _wrapped(layer, graph)
    if inner is None:
        return None
    if layer.class_name == "TimeDistributed":
        if inp is None or not inp.exact or not inp.dims:
            return None
        out = output_shape(inner, Shape(inp.dims[1:], True), graph)
        return Shape((inp.dims[0],) + out.dims, True) if out is not None and out.exact else None
    out = output_shape(inner, inp, graph)
    mode = _Args(layer, graph).value("merge_mode", "concat")
    if out is None or not out.dims:
        return None
    if mode == "concat":
        return out.with_last(out.last * 2 if out.last else None)
    return out if mode in ("sum", "mul", "ave") else None


def _wrapped(layer: Layer, graph: ModuleGraph) -> Layer | None:
    expr = _Args(layer, graph).expr("layer")
    return graph.catalog.layer_of(expr, layer.scope) if expr is not None else None


def layer_fans(layer: Layer, inp: Shape | None, graph: ModuleGraph) -> tuple[int | None, int | None]:
    """(fan_in, fan_out) of the kernel whose initializer GL101/GL103 judge, as Keras counts them."""
    args = _Args(layer, graph)
    kind = _kind(layer.class_name)
    channels = inp.last if inp is not None else None
    if kind == "Dense":
        return channels, args.size("units")
    rank = _rank(layer.class_name)
    if kind not in ("Conv", "ConvTranspose", "SeparableConv", "DepthwiseConv") or rank is None or not args.channels_last():
        return None, None
    kernel = args.sizes("kernel_size", rank)
    area = math.prod(kernel) if kernel else None
    filters = args.size("filters")
    if kind == "SeparableConv":  # the pointwise kernel: (1, …, 1, channels × depth_multiplier, filters)
        multiplier = args.size("depth_multiplier", 1)
        return (channels * multiplier if channels and multiplier else None), filters
    if area is None:
        return None, None
    if kind == "DepthwiseConv":  # (kernel…, channels, depth_multiplier)
        multiplier = args.size("depth_multiplier", 1)
        return (channels * area if channels else None), (multiplier * area if multiplier else None)
    if kind == "ConvTranspose":  # (kernel…, filters, channels)
        return (filters * area if filters else None), (channels * area if channels else None)
    groups = args.size("groups", 1)
    fan_in = channels // groups * area if channels and groups and channels % groups == 0 else None
    return fan_in, (filters * area if filters else None)


# -- carrying shapes through the model ---------------------------------------------------------
_PENDING: Any = object()


@dataclass
class ShapeFacts:
    """The shapes each layer receives, over every place and every turn of a loop it is applied."""

    loops: Loops | None  # None in a module without weighted layers: nothing to follow
    links: FlowLinks | None  # the functional graph both ways, shared with graph/stacks.py
    seen: dict[int, list[Shape | None]] = field(default_factory=dict)  # id(layer.call) → shapes

    def input_of(self, layer: Layer) -> Shape | None:
        """What is certain of the layer's input wherever it is applied (None: unknown)."""
        return join_all(self.seen.get(id(layer.call), []))

    def inputs_of(self, layer: Layer) -> list[Shape | None]:
        return list(self.seen.get(id(layer.call), []))

    def record(self, layer: Layer, shape: Shape | None) -> None:
        shapes = self.seen.setdefault(id(layer.call), [])
        if shape not in shapes:
            shapes.append(shape)


def infer_shapes(graph: ModuleGraph) -> ShapeFacts:
    """Shapes through every Sequential chain and the functional graph; sets each layer's fans."""
    if not any(layer.spec.role is Role.WEIGHTED for layer in graph.catalog.layers):
        return ShapeFacts(None, None)
    loops = Loops(graph.tree, graph.scopes, graph.resolver, graph.catalog)
    links = FlowLinks(graph.dataflow, loops)
    facts = ShapeFacts(loops, links)
    for call, chain, _ in graph.sequential.chains:
        _through_sequential(graph, facts, call, chain, loops)
    _through_functional(graph, facts, links)
    for layer in graph.catalog.layers:
        if layer.is_template or layer.spec.role is not Role.WEIGHTED:
            continue
        _set_fans(layer, facts.inputs_of(layer), graph)
    for template in graph.catalog.layers:
        if template.is_template and template.spec.role is Role.WEIGHTED:
            _set_template_fans(template, graph)
    return facts


def _set_template_fans(template: Layer, graph: ModuleGraph) -> None:
    """A partial(...) is judged for the layers it makes with its initializer: their fans."""
    made = [l for l in graph.catalog.layers if not l.is_template and l.partial is template.call
            and l.initializer_home is template.call]
    fan_ins: set[int | None] = set()
    for layer in made:
        fan_ins.update(layer.fan_in_choices or (layer.fan_in,))
    fan_outs = {layer.fan_out for layer in made}
    if not made or None in fan_ins:
        return
    template.fan_out = fan_outs.pop() if len(fan_outs) == 1 else None
    if len(fan_ins) == 1:
        template.fan_in = fan_ins.pop()
    else:
        template.fan_in_choices = tuple(sorted(f for f in fan_ins if f is not None))


def _set_fans(layer: Layer, shapes: list[Shape | None], graph: ModuleGraph) -> None:
    """One fan-in where every application agrees; the choices where a loop's turns differ."""
    fans = [layer_fans(layer, shape, graph) for shape in shapes or [None]]
    fan_ins = {f for f, _ in fans}
    fan_outs = {f for _, f in fans}
    layer.fan_out = fan_outs.pop() if len(fan_outs) == 1 else None
    if len(fan_ins) == 1:
        layer.fan_in = fan_ins.pop()
    elif None not in fan_ins:
        layer.fan_in_choices = tuple(sorted(f for f in fan_ins if f is not None))


def _start_of(graph: ModuleGraph, expr: ast.AST | None, layer: Layer | None, scope: Any) -> Shape | None:
    """The input shape a Sequential's first element declares."""
    if layer is None:
        if not isinstance(expr, ast.Call) or not is_input_expr(graph, expr, scope):
            return None
        return input_call_shape(graph, expr, scope)
    if layer.wrappers:  # what a wrapped layer's model is given is declared on its outermost wrapper
        return _declared_input(graph, layer.wrappers[-1].call)
    args = _Args(layer, graph)
    for name, drop in (("input_shape", False), ("batch_input_shape", True), ("batch_shape", True)):
        value = args.value(name, None)
        if value is not None:
            return shape_from_value(value, drop)
    dim = args.size("input_dim", None)
    if dim is not None:
        return Shape((dim,), True)
    length = args.size("input_length", None) if layer.class_name == "Embedding" else None
    return Shape((length,), True) if length is not None else None


def _declared_input(graph: ModuleGraph, call: ast.Call) -> Shape | None:
    """`TimeDistributed(Dense(8), input_shape=(10, 16))`: the wrapper's own declaration."""
    if any(k.arg is None for k in call.keywords):
        return None
    scope = graph.scopes.scope_of(call)
    for kw in call.keywords:
        if kw.arg in ("input_shape", "batch_input_shape", "batch_shape"):
            return shape_from_value(constant_value(kw.value, scope, graph.resolver), drop_batch=kw.arg != "input_shape")
    return None


def input_call_shape(graph: ModuleGraph, call: ast.Call, scope: Any) -> Shape | None:
    """`keras.Input(shape=...)`, `InputLayer(input_shape=...)`, or their batch_shape forms."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    for kw in call.keywords:
        if kw.arg in ("shape", "input_shape", "batch_shape", "batch_input_shape"):
            value = constant_value(kw.value, scope, graph.resolver)
            return shape_from_value(value, drop_batch=kw.arg.startswith("batch"))
    if call.args:
        return shape_from_value(constant_value(call.args[0], scope, graph.resolver))
    return None


def _through_sequential(graph: ModuleGraph, facts: ShapeFacts, call: ast.Call,
                        chain: list[Layer | None], loops: Loops) -> None:
    items = sequential_items(graph, call, chain, loops)
    if not items:
        return
    scope = graph.scopes.scope_of(call)
    shape = _start_of(graph, items[0].expr, items[0].layer, scope)
    start = 1 if items[0].layer is None else 0
    index = start
    while index < len(items):
        loop = items[index].loops[0] if items[index].loops and items[index].repeat != 1 else None
        end = index + 1
        while loop is not None and end < len(items) and items[end].loops and items[end].loops[0] is loop:
            end += 1
        segment = [item.layer for item in items[index:end]]
        if loop is None:
            shape = _run(graph, segment, shape, facts)
        else:
            shape = _repeated(graph, segment, shape, facts, items[index].repeat)
        index = end


def _run(graph: ModuleGraph, segment: list[Layer | None], shape: Shape | None, facts: ShapeFacts | None) -> Shape | None:
    for layer in segment:
        if layer is None:
            return None
        if facts is not None:
            facts.record(layer, shape)
            inner = _wrapped(layer, graph) if layer.spec.role is Role.WRAPPER else None
            if inner is not None:
                facts.record(inner, Shape(shape.dims[1:], True) if layer.class_name == "TimeDistributed"
                             and shape is not None and shape.exact and shape.dims else
                             (shape if layer.class_name == "Bidirectional" else None))
        shape = output_shape(layer, shape, graph)
    return shape


def _repeated(graph: ModuleGraph, segment: list[Layer | None], shape: Shape | None,
              facts: ShapeFacts, count: int | None) -> Shape | None:
    """A loop body applied again to its own output: what every turn may receive."""
    turns: list[Shape | None] = []
    current = shape
    while len(turns) < (count if count is not None else 8) and current not in turns:
        turns.append(current)
        current = _run(graph, segment, current, None)
    if current in turns or (count is not None and len(turns) == count):
        # Every turn's input is one of these: record each, and join what may come out.
        outs = [_run(graph, segment, turn, facts) for turn in turns]
        out = join_all(outs)
        return out if count is not None and count >= 1 else join(shape, out)
    entry = shape
    for _ in range(12):
        widened = join(entry, _run(graph, segment, entry, None))
        if widened == entry:
            break
        entry = widened
    else:
        entry = None
    out = _run(graph, segment, entry, facts)
    return out if count is not None and count >= 1 else join(shape, out)


def _through_functional(graph: ModuleGraph, facts: ShapeFacts, links: FlowLinks) -> None:
    state: dict[int, Any] = {id(n): _PENDING for n in links.nodes}

    def arriving(node: FlowNode) -> Any:
        inputs = links.all_inputs(node)
        if not inputs:
            return None
        known = [state[id(p)] for p in inputs if state[id(p)] is not _PENDING]
        return join_all(known) if known else _PENDING

    def evaluate(node: FlowNode) -> Any:
        syntax = links.syntax_of(node)
        if node.kind == "input":
            return input_call_shape(graph, syntax, graph.scopes.scope_of(syntax)) if isinstance(syntax, ast.Call) else None
        if node.kind == "merge" or (node.kind == "layer" and node.layer is not None and node.layer.spec.role is Role.MERGE):
            return _merge_shape(graph, node, syntax, links, state)
        inp = arriving(node)
        if inp is _PENDING:
            return _PENDING
        if node.kind == "layer" and node.layer is not None:
            return output_shape(node.layer, inp, graph)
        return inp  # activations, function parameters and results pass the tensor on

    for _ in range(30):
        changed = False
        for node in links.nodes:
            new = evaluate(node)
            if new != state[id(node)]:
                state[id(node)] = new
                changed = True
        if not changed:
            break
    else:
        return  # no stable answer: record nothing
    for node in links.nodes:
        if node.kind == "layer" and node.layer is not None:
            inputs = links.all_inputs(node)
            arrived = [state[id(p)] for p in inputs] or [None]
            for inp in arrived:
                _run(graph, [node.layer], None if inp is _PENDING else inp, facts)


def _merge_shape(graph: ModuleGraph, node: FlowNode, syntax: ast.AST | None, links: FlowLinks,
                 state: dict[int, Any]) -> Any:
    shapes = [state[id(p)] for p in links.all_inputs(node)]
    if not shapes:
        return None
    if any(s is _PENDING for s in shapes):
        return _PENDING
    concat = False
    if node.kind == "layer" and node.layer is not None:
        concat = _kind(node.layer.class_name) == "Concatenate"
        axis = _Args(node.layer, graph).value("axis", -1) if concat else -1
    elif isinstance(syntax, ast.Call):
        name = graph.resolver.qualified_name(syntax.func, graph.scopes.scope_of(syntax)) or ""
        concat = name.endswith(".concatenate")
        axis = next((constant_value(k.value, graph.scopes.scope_of(syntax), graph.resolver)
                     for k in syntax.keywords if k.arg == "axis"), -1)
    else:
        axis = -1
    if not concat:
        return join_all(shapes)
    if axis != -1 or any(s is None or not s.dims for s in shapes):
        return None
    common = join_all([s.with_last(None) for s in shapes])
    lasts = [s.last for s in shapes]
    total = sum(lasts) if all(lasts) else None  # type: ignore[arg-type]
    return common.with_last(total) if common is not None else _clean(Shape((total,), False))
