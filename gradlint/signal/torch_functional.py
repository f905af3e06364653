"""PyTorch models as the recurrence sees them: from a model class's forward() input, the layers
in order, residual adds as branches, a loop's layers as a repeated block.

The torch graph's stacks (graph/torch_model.py) stop where a tensor forks or two meet; a
ResNet or a pre-LN transformer is all forks and joins. This walk follows the tensor through
them as signal/functional.py does for Keras: where it forks into two paths that meet again at
one addition, the two become a Residual step (an empty path is the identity skip). Anything
else it cannot put in series (an opaque call, a path used three times, a concatenation) ends
the walk, and the model is not described rather than described wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.graph.module_walk import ACT, ADD, END, INPUT, LAYER, WEIGHTED, Node
from gradlint.keras_api.layers import Role
from gradlint.signal.from_graph import mark_head, walked_unweighted, walked_weighted
from gradlint.signal.model import (
    Activation,
    ModelDescription,
    Residual,
    Step,
    Weighted,
)

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

_MAX_STEPS = 10_000


class _CannotWalk(Exception):
    """A structure the walk does not put in series."""


@dataclass
class TorchModel:
    description: ModelDescription
    line: int
    layers: set[int]  # id(layer.call) of every layer it covers


def torch_models(graph: ModuleGraph) -> list[TorchModel]:
    """One description per model class whose forward() the walk can follow to its output."""
    torch = graph.torch
    found: list[TorchModel] = []
    for cls, start in torch.model_inputs:
        walker = _Walker(graph)
        try:
            pieces = walker.series(start)
        except _CannotWalk:
            continue
        if not walker.residuals or not any(_weighted_in(step) for step, _ in pieces):
            continue  # a plain chain is a stack already
        steps = mark_head(_repeat(pieces))
        line = graph.source.position(graph.source.start(cls)).row
        found.append(TorchModel(ModelDescription(tuple(steps), cls.name, tuple(walker.unknown)), line, walker.seen))
    return found


class _Walker:
    def __init__(self, graph: ModuleGraph) -> None:
        self.graph = graph
        self.unknown: list[str] = []
        self.seen: set[int] = set()
        self.residuals = 0
        self.budget = _MAX_STEPS

    def series(self, node: Node, join: Node | None = None) -> list[tuple[Step, int | None]]:
        """The steps after `node` until the model's output, or until `join` (a branch's end)."""
        pieces: list[tuple[Step, int | None]] = []
        current = node
        while True:
            outs = current.consumers
            if len(outs) == 1:
                target = outs[0]
                if target is join:
                    return pieces
                if target.kind == END:
                    return pieces
                if target.kind == ADD:
                    raise _CannotWalk("an addition reached outside a fork")
                pieces.extend(self._pieces(target))
                current = target
            elif len(outs) == 2:
                meet, residual = self._fork(outs)
                pieces.append((residual, meet.repeat))
                current = meet
            else:
                raise _CannotWalk(f"a tensor used {len(outs)} times")

    def _fork(self, outs: list[Node]) -> tuple[Node, Residual]:
        meet = _meeting_add(outs)
        if meet is None:
            raise _CannotWalk("two paths that do not meet again at one addition")
        paths = [[] if target is meet else self._pieces(target) + self.series(target, meet) for target in outs]
        a, b = paths
        weights = [sum(1 for s, _ in p if isinstance(s, Weighted)) for p in (a, b)]
        skip, branch = (a, b) if weights[0] <= weights[1] else (b, a)
        self.residuals += 1
        return meet, Residual(tuple(_repeat(branch, meet.repeat)), tuple(_repeat(skip, meet.repeat)))

    def _pieces(self, node: Node) -> list[tuple[Step, int | None]]:
        self.budget -= 1
        if self.budget < 0:
            raise _CannotWalk("too large to walk")
        if node.kind == INPUT:
            return []
        if node.kind == ACT and node.activation is not None:
            return [(Activation(node.activation.name, node.activation.slope), node.repeat)]
        layer = node.layer
        if layer is None or node.kind not in (WEIGHTED, LAYER):
            raise _CannotWalk("a step that is not a layer")
        self.seen.add(id(layer.call))
        if layer.spec.role is Role.WEIGHTED:
            if layer.spec.initializer_param is None:
                raise _CannotWalk(f"{layer.class_name}: a layer whose kernel is not modelled")
            return [(walked_weighted(self.graph, layer, self.unknown), node.repeat)]
        found = walked_unweighted(self.graph, layer)
        if found is None:
            raise _CannotWalk(f"{layer.class_name}: not modelled")
        return [(step, node.repeat) for step in found]


def _weighted_in(step: Step) -> bool:
    if isinstance(step, Residual):
        return any(_weighted_in(s) for s in (*step.branch, *step.skip))
    return isinstance(step, Weighted)


def _meeting_add(outs: list[Node]) -> Node | None:
    """The addition both paths from a fork reach along single-consumer steps, if one."""
    reached: list[list[Node]] = []
    for target in outs:
        path: list[Node] = []
        current = target
        while True:
            path.append(current)
            if current.kind == ADD or len(current.consumers) != 1:
                break
            current = current.consumers[0]
        reached.append(path)
    ends = [path[-1] for path in reached]
    if ends[0] is ends[1] and ends[0].kind == ADD:
        return ends[0]
    return None


def _repeat(pieces: list[tuple[Step, int | None]], outer: int | None = 1) -> list[Step]:
    """Consecutive steps a loop repeats (the same count, other than the block's own) form its
    body, repeated as often as it runs; an unknown count is walked once."""
    steps: list[Step] = []
    index = 0
    while index < len(pieces):
        repeat = pieces[index][1]
        end = index
        while end < len(pieces) and pieces[end][1] == repeat:
            end += 1
        body = [step for step, _ in pieces[index:end]]
        times = repeat if isinstance(repeat, int) and repeat != outer else 1
        steps.extend(body * max(times, 1))
        index = end
    return steps
