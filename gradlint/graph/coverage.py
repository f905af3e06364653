"""What one module's graph lets the rules judge, and why the rest cannot be.

A weighted layer is judged when its activation and its initializer are both known (a guard
such as a following BatchNormalization is a judgement too: it says there is nothing to fix).
A compile() is judged when its model is traced to its layers and, for a recurrent model, its
optimizer is known (any optimizer suits a model with no recurrent layer). The
graph records why it could not know (`Layer.unknown_reason`); this module only counts.
"""

from __future__ import annotations

import ast
import re

from gradlint.coverage import LAYERS, TRAINING, Coverage, Unseen
from gradlint.graph.guards import normalization_reached
from gradlint.graph.model import ModuleGraph
from gradlint.graph.statements import method_calls
from gradlint.keras_api.layers import KERNEL_FREE_LAYERS, KERNEL_FREE_PREFIX, Role
from gradlint.keras_api.layers import LAYERS as LAYER_TABLE
from gradlint.keras_api.names import canonical

# The keywords only Keras' compile() takes among the `compile` methods a module may call
# (re.compile, jax's lowered.compile(), …).
_COMPILE_KEYWORDS = frozenset({"optimizer", "loss", "metrics", "loss_weights", "jit_compile", "run_eagerly"})


def coverage_of(graph: ModuleGraph) -> Coverage:
    coverage = Coverage()
    _layers(graph, coverage)
    _unknown_classes(graph, coverage)
    _compiles(graph, coverage)
    coverage.keras_unseen = (not graph.layers and _imports_keras(graph.tree)
                             and _MENTIONS_WEIGHTED.search(graph.source.text) is not None
                             and _names_a_layer(graph.tree))
    return coverage


_WEIGHTED_NAMES = frozenset(name for name, spec in LAYER_TABLE.items() if spec.role is Role.WEIGHTED)
# The cheap test first: most modules without layers never spell one's name.
_MENTIONS_WEIGHTED = re.compile(r"\b(?:" + "|".join(sorted(_WEIGHTED_NAMES)) + r")\b")


def _imports_keras(tree: ast.Module) -> bool:
    """A top-level import of TensorFlow or of Keras under any of its names (keras_api/names)."""
    for node in tree.body:
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        if any(n.split(".")[0] == "tensorflow" or canonical(n).split(".")[0] == "keras" for n in names):
            return True
    return False


def _names_a_layer(tree: ast.Module) -> bool:
    """Whether the module calls a weighted layer class by its name (`Dense(...)`), or takes one
    from a `layers` module (`tf.keras.layers.Dense`), other than a class it defines itself: it
    seems to build layers, though none was recognised. One walk."""
    own: set[str] = set()
    bases: set[int] = set()  # `class Mine(layers.Dense)` builds none
    named: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            own.add(node.name)
            bases.update(id(base) for base in node.bases)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _WEIGHTED_NAMES:
                named.append((node, node.func.id))
        elif isinstance(node, ast.Attribute) and node.attr in _WEIGHTED_NAMES \
                and isinstance(node.value, (ast.Name, ast.Attribute)) \
                and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "layers":
            named.append((node, node.attr))
    return any(id(node) not in bases and name not in own for node, name in named)


def _layers(graph: ModuleGraph, coverage: Coverage) -> None:
    for layer in graph.layers:
        if layer.is_template or layer.spec.role is not Role.WEIGHTED or layer.spec.initializer_param is None:
            continue
        known = layer.activation is not None and layer.initializer is not None
        # Callers that pass different activations are judged at each call (GL101).
        known = known or (layer.unknown_reason is not None and layer.unknown_reason[0] == "activation-mixed"
                          and layer.initializer is not None)
        # A kernel whose scale a normalization cancels needs no activation to be judged.
        if known or normalization_reached(graph, layer) is not None:
            coverage.judged[LAYERS] += 1
            continue
        reason, detail = layer.unknown_reason or ("output-unseen", "")
        coverage.unseen.append(_unseen(graph, LAYERS, reason, layer.class_name, layer.call, detail))


def _unknown_classes(graph: ModuleGraph, coverage: Coverage) -> None:
    """Calls of a `keras.layers` class the tables do not have: a layer gradlint cannot judge."""
    known = {id(layer.call) for layer in graph.layers}
    for call in graph.scopes.calls:
        func = call.func
        spelled = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if id(call) in known or not spelled[:1].isupper():
            continue  # (a class is spelled with a capital: the cheap test first)
        qualified = graph.resolver.qualified_name(call.func, graph.scopes.scope_of(call))
        if qualified is None or not qualified.startswith("keras.layers."):
            continue
        name = qualified.rsplit(".", 1)[-1]
        if name[:1].isupper() and name not in KERNEL_FREE_LAYERS and not name.startswith(KERNEL_FREE_PREFIX) \
                and graph.catalog.layer_class(call.func, graph.scopes.scope_of(call)) is None:
            coverage.unseen.append(_unseen(graph, LAYERS, "layer-class", name, call, qualified))


def _compiles(graph: ModuleGraph, coverage: Coverage) -> None:
    facts = {id(c.call): c for c in graph.training.compiles}
    for call in method_calls(graph.scopes, "compile"):
        fact = facts.get(id(call))
        if fact is None and not any(k.arg in _COMPILE_KEYWORDS for k in call.keywords):
            continue  # not a Keras compile() as far as can be told
        what = graph.source.segment(call.func)
        if fact is None or not fact.models:
            coverage.unseen.append(_unseen(graph, TRAINING, "model-untraced", what, call))
        elif fact.recurrent is not None and any(o is None for o in fact.optimizers):  # (others need no clip)
            detail = graph.source.segment(fact.argument) if fact.argument is not None else ""
            coverage.unseen.append(_unseen(graph, TRAINING, "optimizer-unknown", what, call, " ".join(detail.split())))
        else:
            coverage.judged[TRAINING] += 1


def _unseen(graph: ModuleGraph, family: str, reason: str, what: str, node: ast.AST, detail: str = "") -> Unseen:
    position = graph.source.position(graph.source.start(node))
    return Unseen(family, reason, what, position.row, position.column, detail)
