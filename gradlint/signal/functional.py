"""Functional models as the recurrence sees them: from each `Input(...)`, the layers in order,
residual adds as branches, loops as repeated blocks.

The model graph's stacks (graph/stacks.py) stop where a tensor forks or two meet; a ResNet is
all forks and joins. This walk follows a tensor through them: where it forks into two paths
that meet again at one addition, the two paths become a Residual step (an empty path is the
identity skip). Anything else it cannot put in series — a concatenation of two paths, a join
of three, a path that leaves the model — ends the walk, and the model is not described
rather than described wrongly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradlint.graph.dataflow import FlowNode
from gradlint.graph.guards import is_add_node
from gradlint.graph.stacks import OUTPUT, FlowLinks
from gradlint.graph.weights import kernel_scale
from gradlint.keras_api.layers import Role
from gradlint.signal.from_graph import (
    mark_head,
    turn_fan_ins,
    walked_unweighted,
    walked_weighted,
)
from gradlint.signal.model import (
    Activation,
    ModelDescription,
    Residual,
    Step,
    Weighted,
)

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

_MAX_STEPS = 10_000  # a bound on one walk, whatever the graph


class _CannotWalk(Exception):
    """A structure the walk does not put in series; the message says which."""


@dataclass
class _Piece:
    """A step and the loops that repeat it (innermost first), for grouping loop bodies."""

    step: Step
    loops: tuple[int, ...]
    first: Step | None = None  # a loop's first turn, where the layer sees another fan-in


@dataclass
class FunctionalModel:
    description: ModelDescription
    start: FlowNode
    line: int
    layers: set[int] = field(default_factory=set)  # id(layer.call) of every layer it covers


def functional_models(graph: ModuleGraph) -> list[FunctionalModel]:
    """One description per `Input(...)` whose tensor reaches a model output."""
    links = graph.shapes.links
    if links is None:
        return []
    walker = _Walker(graph, links)
    models = []
    for node, owner in _starts(graph, links):
        try:
            pieces, end = walker.series(node)
        except _CannotWalk:
            walker.unknown.clear()
            walker.seen.clear()
            continue
        if end != OUTPUT or not any(isinstance(p.step, Weighted) for p in pieces):
            continue
        steps = mark_head(_repeat(pieces, links))
        syntax = owner or links.syntax_of(node)
        line = graph.source.position(graph.source.start(syntax)).row if syntax is not None else 1
        name = owner.name if isinstance(owner, ast.ClassDef) else _function_name(graph, syntax)
        description = ModelDescription(tuple(steps), name, tuple(walker.unknown))
        models.append(FunctionalModel(description, node, line, set(walker.seen)))
        walker.unknown.clear()
        walker.seen.clear()
    return models


def _starts(graph: ModuleGraph, links: FlowLinks) -> list[tuple[FlowNode, ast.ClassDef | None]]:
    """Where models begin: each `Input(...)`, and the input of a keras.Model subclass's call()
    (its first parameter after self), with the class."""
    starts: list[tuple[FlowNode, ast.ClassDef | None]] = [(n, None) for n in links.nodes if n.kind == "input"]
    table = graph.scopes
    for (function_id, param), node in graph.dataflow.params.items():
        function = links.syntax_of(node)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or not links.is_model_call(function):
            continue
        names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        if len(names) >= 2 and param == names[1]:
            owner = table.class_of(table.defs.get(id(function), table.module_scope))
            starts.append((node, owner))
    return starts


class _Walker:
    def __init__(self, graph: ModuleGraph, links: FlowLinks) -> None:
        self.graph = graph
        self.links = links
        self.unknown: list[str] = []
        self.seen: set[int] = set()
        self.budget = _MAX_STEPS

    def series(self, node: FlowNode) -> tuple[list[_Piece], object]:
        """The steps after `node`'s tensor until the model's output, or a join (returned)."""
        pieces: list[_Piece] = []
        current = node
        while True:
            outs = self.links.consumers(current)
            if len(outs) == 1:
                target = outs[0]
                if not isinstance(target, FlowNode):
                    return pieces, target
                if len(self.links.inputs(target)) != 1:
                    return pieces, target  # a join: the caller decides what it is
                pieces.extend(self._pieces(target))
                current = target
            elif len(outs) == 2:
                join, residual = self._fork(current, outs)
                pieces.append(_Piece(residual, self._loops(join)))
                current = join
            else:
                raise _CannotWalk(f"a tensor used {len(outs)} times")

    def _fork(self, node: FlowNode, outs: list) -> tuple[FlowNode, Residual]:
        paths: list[tuple[list[_Piece], object]] = []
        for target in outs:
            if not isinstance(target, FlowNode):
                raise _CannotWalk("a path that leaves the model")
            if len(self.links.inputs(target)) != 1:
                paths.append(([], target))  # straight into the join: the identity skip
                continue
            first = self._pieces(target)
            rest, join = self.series(target)
            paths.append((first + rest, join))
        (a, join_a), (b, join_b) = paths
        if join_a is not join_b or not isinstance(join_a, FlowNode) or len(self.links.inputs(join_a)) != 2 \
                or not is_add_node(self.graph, join_a):
            raise _CannotWalk("two paths that do not meet again at one addition")
        if a and b:
            skip, branch = (a, b) if _weights(a) <= _weights(b) else (b, a)
        else:
            skip, branch = ([], a or b)
        repeat = self._loops(join_a)
        return join_a, Residual(tuple(_plain(branch, repeat, self.links)), tuple(_plain(skip, repeat, self.links)))

    def _pieces(self, node: FlowNode) -> list[_Piece]:
        self.budget -= 1
        if self.budget < 0:
            raise _CannotWalk("too large to walk")
        loops = self._loops(node)
        if node.kind == "activation" and node.activation is not None:
            return [_Piece(Activation(node.activation.name), loops)]
        if node.kind in ("param", "result", "input"):
            return []
        if node.kind == "merge":
            return []  # a one-input merge (a `+=` whose other side is not a tensor)
        layer = node.layer
        if node.kind != "layer" or layer is None:
            raise _CannotWalk("a step that is not a layer")
        self.seen.add(id(layer.call))
        role = layer.spec.role
        if role is Role.WEIGHTED:
            if layer.spec.initializer_param is None:
                raise _CannotWalk(f"{layer.class_name}: a layer whose kernel is not modelled")
            turns = turn_fan_ins(layer, 2)
            step = walked_weighted(self.graph, layer, self.unknown, turns[-1])
            first = None
            if turns[0] is not None and turns[0] != turns[-1]:
                entry = kernel_scale(self.graph, layer, turns[0])
                first = Weighted(step.name, entry.gain, entry.back_gain, step.activation, step.slope, step.elements,
                                 line=step.line, initializer=step.initializer)
            return [_Piece(step, loops, first)]
        if role in (Role.ACTIVATION, Role.TRANSPARENT):
            found = walked_unweighted(self.graph, layer)
            if found is None:
                raise _CannotWalk(f"{layer.class_name}: not modelled")
            return [_Piece(step, loops) for step in found]
        raise _CannotWalk(f"{layer.class_name}: not modelled")

    def _loops(self, node: FlowNode) -> tuple[int, ...]:
        return tuple(id(loop) for loop in self.links.repeat_loops(node))


def _weights(pieces: list[_Piece]) -> int:
    return sum(1 for p in pieces if isinstance(p.step, Weighted))


def _plain(pieces: list[_Piece], outer: tuple[int, ...], links: FlowLinks) -> list[Step]:
    """A branch's steps: what its own loops repeat, the loops around the whole block aside."""
    inner = [_Piece(p.step, p.loops[:len(p.loops) - len(outer)] if outer and p.loops[-len(outer):] == outer else p.loops)
             for p in pieces]
    return _repeat(inner, links)


def _repeat(pieces: list[_Piece], links: FlowLinks) -> list[Step]:
    """Consecutive pieces inside the same loop form its body, repeated as often as it runs."""
    counts = {id(loop): links.loops.count(loop) for node in links.nodes for loop in links.repeat_loops(node)}
    steps: list[Step] = []
    index = 0
    while index < len(pieces):
        loops = pieces[index].loops
        if not loops:
            steps.append(pieces[index].step)
            index += 1
            continue
        end = index
        while end < len(pieces) and pieces[end].loops == loops:
            end += 1
        body = [p.step for p in pieces[index:end]]
        times = 1
        for loop in loops:
            count = counts.get(loop)
            times *= count if count is not None else 1
        steps.extend(p.first or p.step for p in pieces[index:end])  # the first turn
        steps.extend(body * (max(times, 1) - 1))
        index = end
    return steps


def _function_name(graph: ModuleGraph, syntax: ast.AST | None) -> str:
    if syntax is None:
        return "<module>"
    node = graph.scopes.scope_of(syntax).node
    return node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else "<module>"
