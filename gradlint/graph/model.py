"""The model graph of one module: its layers, what each one's output meets, and the chains
they form. Built once per file; every rule reads it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from gradlint.graph.dataflow import Dataflow
from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.flax_model import FlaxGraph
from gradlint.keras_api.activations import LINEAR
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import Resolver, ScopeTable
from gradlint.graph.sequential import SequentialContexts
from gradlint.graph.shapes import ShapeFacts, infer_shapes
from gradlint.graph.source import SourceText
from gradlint.graph.stacks import Stack, find_stacks
from gradlint.graph.statements import Statements
from gradlint.graph.torch_model import TorchGraph
from gradlint.graph.training import Training

if TYPE_CHECKING:
    from gradlint.graph.project import Project


@dataclass
class ModuleGraph:
    """Everything the rules may ask about one module."""

    path: str
    source: SourceText
    tree: ast.Module
    scopes: ScopeTable
    resolver: Resolver
    catalog: LayerCatalog
    sequential: SequentialContexts
    dataflow: Dataflow
    # compile() calls, optimizers, custom training steps, which models are recurrent.
    training: Training = field(init=False, repr=False)
    # The shape each layer receives where it is visible (also sets Layer.fan_in/fan_out).
    shapes: ShapeFacts = field(init=False, repr=False)

    @cached_property
    def torch(self) -> TorchGraph:
        """The module's torch.nn layers and the models they form (graph/torch_model.py)."""
        return TorchGraph(self.tree, self.scopes, self.resolver, self.source)

    @cached_property
    def flax(self) -> FlaxGraph:
        """The module's Flax (linen and NNX) layers and the models they form (graph/flax_model.py)."""
        return FlaxGraph(self.tree, self.scopes, self.resolver, self.source)

    @property
    def layers(self) -> list[Layer]:
        torch_layers = self.torch.layers
        layers = self.catalog.layers + torch_layers if torch_layers else self.catalog.layers
        return layers + self.flax.layers if self.flax.layers else layers

    @cached_property
    def stacks(self) -> list[Stack]:
        """Runs of weighted layers, each feeding the next (graph/stacks.py)."""
        return find_stacks(self) + self.torch.stacks + self.flax.stacks


def build_graph(tree: ast.Module, source: SourceText, path: str, project: Project | None = None) -> ModuleGraph:
    """`project`: the project's other modules, which this one's models may come from."""
    scopes = ScopeTable(tree)
    resolver = Resolver(scopes)
    catalog = LayerCatalog(tree, scopes, resolver, source)
    statements = Statements(tree)  # (parents are walked only when a rule of flow needs them)
    sequential = SequentialContexts(tree, scopes, resolver, catalog, statements)
    dataflow = Dataflow(tree, scopes, resolver, catalog)
    graph = ModuleGraph(path, source, tree, scopes, resolver, catalog, sequential, dataflow)
    graph.training = Training(tree, scopes, resolver, catalog, sequential, dataflow, statements, project, path)
    _settle_following(graph)
    graph.shapes = infer_shapes(graph)
    _settle_shortcuts(graph)
    return graph


def _agree(facts: list[ActivationFact | None]) -> ActivationFact | None:
    """One activation when every context agrees on it; None when any is unknown or they differ."""
    if not facts or any(f is None for f in facts):
        return None
    names = {f.name for f in facts if f is not None}
    if len(names) != 1:
        return None
    # Several contexts agree: name the first place in the source, whatever order they came in.
    return _first_in_source([f for f in facts if f is not None])


def _first_in_source(facts: list[ActivationFact]) -> ActivationFact:
    return min(facts, key=lambda f: (getattr(f.node, "lineno", 0), getattr(f.node, "col_offset", 0)))


def _why_no_following(facts: list[ActivationFact | None]) -> tuple[str, str]:
    names = sorted({f.name for f in facts if f is not None})
    if len(names) > 1:
        return "outputs-disagree", " and ".join(names)
    if facts:
        return "output-opaque", ""
    return "output-unseen", ""


def _settle_shortcuts(graph: ModuleGraph) -> None:
    """A layer whose output goes both into an activation (the main path) and straight into a
    residual add (the shortcut, linear) meets that activation: the shortcut carries the signal
    on unchanged, whatever its scale, while on the main path the kernel's scale compounds with
    the activation as in any stack. (Needs the merges' syntax, known once shapes are.)"""
    from gradlint.graph.guards import splits_at_a_shortcut

    for layer in graph.layers:
        if layer.following is not None or layer.unknown_reason is None or layer.unknown_reason[0] != "outputs-disagree":
            continue
        facts = graph.sequential.outcomes.get(id(layer.call), []) + graph.dataflow.outcomes(layer)
        names = {f.name for f in facts if f is not None}
        main = names - {LINEAR}
        if None in facts or LINEAR not in names or len(main) != 1 or not splits_at_a_shortcut(graph, layer):
            continue
        name = main.pop()
        layer.following = replace(_first_in_source([f for f in facts if f is not None and f.name == name]),
                                  shortcut=True)
        layer.unknown_reason = None


def _settle_following(graph: ModuleGraph) -> None:
    """Give every layer the activation its output meets, from all contexts it appears in."""
    instances_of: dict[int, list[Layer]] = {}
    for layer in graph.catalog.layers:
        if layer.is_template:
            continue
        facts = graph.sequential.outcomes.get(id(layer.call), []) + graph.dataflow.outcomes(layer)
        layer.following = _agree(facts)
        if layer.following is None and layer.activation_arg is None and layer.unknown_reason is None:
            layer.unknown_reason = _why_no_following(facts)
        if layer.partial is not None:
            instances_of.setdefault(id(layer.partial), []).append(layer)
    # A partial(...) is judged once, for the layers it makes that take their initializer
    # from it; with none visible, by its own explicit arguments.
    for layer in graph.catalog.layers:
        if layer.is_template:
            made = [m for m in instances_of.get(id(layer.call), []) if m.initializer_home is layer.call]
            if made:
                layer.activation_arg = None
                layer.activation_unknown = False
                layer.following = _agree([m.activation for m in made])
