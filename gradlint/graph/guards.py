"""Where a layer's output goes, as far as its kernel's scale is concerned.

Two facts decide whether an initializer's scale can matter at all:
- the output reaches a normalization layer through positively homogeneous operations only
  (linear, ReLU/LeakyReLU/PReLU, dropout, pooling, reshape, concatenation): BN(c·Wx) = BN(Wx),
  so the scale cancels;
- the output is added back onto another path (the last layer of a residual branch), where a
  zero or tiny start is a deliberate idiom (ReZero, Fixup, LoRA's B, zero-init blocks).
Every context a layer appears in must agree; anything not followed answers "no".
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from gradlint.graph.dataflow import FlowNode, _ArgumentTo, _ReturnTo, _Terminal
from gradlint.graph.facts import Layer
from gradlint.keras_api.activations import HOMOGENEOUS_ACTIVATIONS
from gradlint.keras_api.layers import NORMALIZATION_LAYERS, Role

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

# Layers without weights that scale with their input (no offset, no added noise).
HOMOGENEOUS_LAYERS = frozenset(
    "Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianDropout ActivityRegularization "
    "MaxPooling1D MaxPooling2D MaxPooling3D MaxPool1D MaxPool2D MaxPool3D "
    "AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D "
    "GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D "
    "GlobalMaxPooling2D GlobalMaxPooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D "
    "GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D Reshape Flatten Permute ZeroPadding1D "
    "ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D UpSampling1D UpSampling2D "
    "UpSampling3D Concatenate concatenate".split()
)
_ADDS = frozenset({"Add", "add"})

NORMALIZED, ADDED, OTHER = "normalized", "added", "other"


def normalization_reached(graph: ModuleGraph, layer: Layer) -> Layer | None:
    """The normalization layer every use of the layer's output reaches through homogeneous
    operations only (its own activation included), or None."""
    own = layer.activation_arg
    if layer.activation_unknown or (own is not None and own.name not in HOMOGENEOUS_ACTIVATIONS):
        return None
    found = _destinations(graph, layer)
    if not found or any(kind != NORMALIZED for kind, _ in found):
        return None
    return found[0][1]


def added_back(graph: ModuleGraph, layer: Layer) -> bool:
    """Every use of the layer's output is added onto another path (a residual branch's end)."""
    found = _destinations(graph, layer)
    return bool(found) and all(kind == ADDED for kind, _ in found)


def _destinations(graph: ModuleGraph, layer: Layer) -> list[tuple[str, Layer | None]]:
    """Where each context takes the output, past homogeneous steps: (kind, layer)."""
    found: list[tuple[str, Layer | None]] = []
    for _, chain, end_known in graph.sequential.chains:
        for index, member in enumerate(chain):
            if member is layer:
                found.append(_along_chain(graph, chain[index + 1:]))
    for application in graph.dataflow.applications.get(id(layer.call), []):
        found.extend(_along_flow(graph, application, set()))
    found.extend(graph.torch.destinations(layer))
    found.extend(graph.flax.destinations(layer))
    return found


def _step(graph: ModuleGraph, item: Layer) -> tuple[str, Layer | None] | None:
    """What one layer does on the way: ends the walk (a kind), or passes (None)."""
    if item.spec.name in NORMALIZATION_LAYERS:
        return NORMALIZED, item
    if item.spec.name in _ADDS:
        return ADDED, item
    if item.spec.name in HOMOGENEOUS_LAYERS:
        return None
    if item.spec.role is Role.ACTIVATION:
        effect = graph.catalog.effect_of(item)
        if effect.activation is not None and effect.activation.name in HOMOGENEOUS_ACTIVATIONS:
            return None
    return OTHER, item


def _along_chain(graph: ModuleGraph, rest: list[Layer | None]) -> tuple[str, Layer | None]:
    for item in rest:
        if item is None:
            return OTHER, None
        ended = _step(graph, item)
        if ended is not None:
            return ended
    return OTHER, None


def _along_flow(graph: ModuleGraph, node: FlowNode, seen: set[int]) -> list[tuple[str, Layer | None]]:
    if id(node) in seen:
        return []
    seen.add(id(node))
    if not node.consumers:
        return [(OTHER, None)]
    flow = graph.dataflow
    found: list[tuple[str, Layer | None]] = []
    for consumer in node.consumers.values():
        if isinstance(consumer, _Terminal):
            found.append((OTHER, None))
        elif isinstance(consumer, _ReturnTo):
            results = flow.results.get(id(consumer.function)) or []
            if not results:
                found.append((OTHER, None))
            for result in results:
                found.extend(_along_flow(graph, result, seen))
        elif isinstance(consumer, _ArgumentTo):
            param = flow.params.get((id(consumer.function), consumer.param))
            found.extend(_along_flow(graph, param, seen) if param is not None else [(OTHER, None)])
        elif isinstance(consumer, FlowNode):
            found.extend(_into(graph, consumer, seen))
    return found


def _into(graph: ModuleGraph, node: FlowNode, seen: set[int]) -> list[tuple[str, Layer | None]]:
    if node.kind == "activation":
        if node.activation is not None and node.activation.name in HOMOGENEOUS_ACTIVATIONS:
            return _along_flow(graph, node, seen)
        return [(OTHER, None)]
    if node.kind == "merge":
        return [(ADDED if is_add_node(graph, node) else OTHER, None)]
    if node.kind == "layer" and node.layer is not None:
        ended = _step(graph, node.layer)
        return [ended] if ended is not None else _along_flow(graph, node, seen)
    if node.kind in ("param", "result"):
        return _along_flow(graph, node, seen)
    return [(OTHER, None)]


def is_add_node(graph: ModuleGraph, node: FlowNode) -> bool:
    """A merge node made by `a + b`, `x += y` or `layers.add([...])`."""
    if node.kind == "layer":
        return node.layer is not None and node.layer.class_name in _ADDS
    syntax = graph.shapes.links.syntax_of(node) if graph.shapes.links is not None else None
    if isinstance(syntax, (ast.BinOp, ast.AugAssign)):
        return isinstance(syntax.op, ast.Add)
    if isinstance(syntax, ast.Call):
        name = graph.resolver.qualified_name(syntax.func, graph.scopes.scope_of(syntax)) or ""
        return name.rsplit(".", 1)[-1] in _ADDS
    return False


def splits_at_a_shortcut(graph: ModuleGraph, layer: Layer) -> bool:
    """The layer's output goes straight into a residual add and also somewhere else (a main
    path): `h = relu(x)` … `x + h` with `x` the layer's output."""
    consumers = [c for application in graph.dataflow.applications.get(id(layer.call), [])
                 for c in application.consumers.values()]
    adds = [c for c in consumers if isinstance(c, FlowNode) and c.kind in ("merge", "layer") and is_add_node(graph, c)]
    return bool(adds) and len(adds) < len(consumers)


def known_hidden(graph: ModuleGraph, layer: Layer) -> bool:
    """The layer's output is known to feed another layer with weights (or an activation and
    then one), not to leave the model, a residual add or a function whose caller is unseen."""
    following = layer.following
    if following is not None and following.source == "weighted":
        return True
    return any(stack.is_hidden(i) for stack in graph.stacks for i, e in enumerate(stack.entries) if e.layer is layer)


def feeds_zero_kernel(graph: ModuleGraph, layer: Layer) -> bool:
    """The layer's output goes only into a weighted layer whose kernel deliberately starts at
    zero (LoRA's A matrix before its zero B, which ends a residual branch): nothing of its
    scale passes that kernel at initialization. A zero kernel in a hidden layer is a fault of
    its own (GL103), which its fix removes: it does not excuse the layer before it."""
    from gradlint.graph.weights import kernel_scale

    nexts = [stack.entries[i + 1].layer for stack in graph.stacks
             for i, entry in enumerate(stack.entries[:-1]) if entry.layer is layer]
    return bool(nexts) and all(kernel_scale(graph, n).is_zero and not known_hidden(graph, n) for n in nexts)
