"""GL101 at the calls of a helper imported from another module of the project.

`from blocks import dense_block` … `dense_block(x, 64, act="relu")`: the Dense is written in
blocks.py, with `activation=act`, and no call there says what `act` is. Each module that
calls the helper knows the activation it passes; where the helper's initializer does not fit
it, the finding is on that call, naming the layer's file and line. No fix is offered: the
initializer is written in the other module, for every caller at once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from gradlint.graph.callsites import argument_of
from gradlint.graph.facts import Layer
from gradlint.graph.model import ModuleGraph
from gradlint.keras_api.activations import Family, family_of
from gradlint.rules.base import place_in
from gradlint.rules.callsite_activations import guarded

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class ImportedMismatch:
    node: ast.AST  # the argument this module passes, or the call (when it takes the default)
    layer: Layer  # in the other module
    home: ModuleGraph  # the other module's graph
    function: str
    activation: str
    wanted: Family
    by_default: bool


def imported_helper_mismatches(graph: ModuleGraph) -> Iterator[ImportedMismatch]:
    """Each call of an imported helper whose activation its layer's initializer does not fit."""
    tracer = graph.training.tracer
    imported = _imported_names(graph)
    if not imported:
        return
    helpers: dict[int, list[tuple[Layer, str]]] = {}
    for call in graph.scopes.calls:
        func = call.func
        root = func.id if isinstance(func, ast.Name) else (
            func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None)
        if root not in imported:
            continue
        scope = graph.scopes.scope_of(call)
        if graph.resolver.function_def(call.func, scope) is not None:
            continue  # the module's own: judged from its calls here (graph/callsites.py)
        found = tracer.imported_function(call.func, scope)
        if found is None:
            continue
        home, function = found
        if id(function) not in helpers:
            helpers[id(function)] = _parameterized_layers(home, function)
        for layer, param in helpers[id(function)]:
            mismatch = _judge(graph, home, function, layer, param, call, scope)
            if mismatch is not None:
                yield mismatch


def _imported_names(graph: ModuleGraph) -> set[str]:
    """The module-level names bound by imports of the project's own modules: the only calls
    worth following (a library's, Keras' or the standard library's, are not looked at again)."""
    project, importer = graph.training.tracer.project, graph.training.tracer.path
    if project is None or importer is None:
        return set()
    names = set()
    for name, bindings in graph.scopes.module_scope.bindings.items():
        statement = bindings[0].node if len(bindings) == 1 else None
        if isinstance(statement, ast.ImportFrom):
            module, level = statement.module or "", statement.level
        elif isinstance(statement, ast.Import):
            alias = next((a for a in statement.names if (a.asname or a.name.split(".")[0]) == name), None)
            if alias is None:
                continue
            module, level = (alias.name if alias.asname else alias.name.split(".")[0]), 0
        else:
            continue
        if level == 0 and module.split(".")[0] in _LIBRARIES:
            continue
        if project.first_party(importer, module, level) or (
                isinstance(statement, ast.ImportFrom) and project.first_party(importer, f"{module}.{name}".lstrip("."), level)):
            names.add(name)
    return names


_LIBRARIES = frozenset({"keras", "tensorflow", "tf_keras", "keras_core", "torch", "flax", "jax", "optax",
                        "numpy", "pandas", "scipy", "sklearn", "matplotlib", "os", "sys", "math", "re",
                        "json", "typing", "collections", "functools", "itertools", "pathlib", "absl"})


def where(graph: ModuleGraph, mismatch: ImportedMismatch) -> str:
    """`blocks.py:10`: where the layer is, as seen from the calling module."""
    return place_in(graph, mismatch.home, mismatch.layer.call)


def _parameterized_layers(home: ModuleGraph, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[Layer, str]]:
    """The helper's layers whose activation is one of its parameters that nothing in their own
    module passes (else their module judges them)."""
    found = []
    for layer in home.layers:
        if layer.unknown_reason is None or layer.unknown_reason[0] != "activation-parameter":
            continue
        given = layer.argument("activation")
        if given is None or not isinstance(given[0], ast.Name) or layer.initializer is None:
            continue
        owner = home.catalog.callsites.parameter_of(given[0], layer.scope)
        if owner is not None and owner[0] is function:
            found.append((layer, owner[1]))
    return found


def _judge(graph: ModuleGraph, home: ModuleGraph, function: ast.FunctionDef | ast.AsyncFunctionDef,
           layer: Layer, param: str, call: ast.Call, scope) -> ImportedMismatch | None:
    value = argument_of(function.args, param, call)
    if value is None:
        return None
    expr, from_default = value
    if from_default:
        fact = home.catalog.activation_of(expr, home.scopes.defs.get(id(function), home.scopes.module_scope))
    else:
        fact = graph.catalog.activation_of(expr, scope)
    initializer = layer.initializer
    if fact is None or initializer is None or initializer.family is None:
        return None
    wanted = family_of(fact.name)
    if wanted is None or wanted is initializer.family or guarded(home, layer, [fact.name]):
        return None
    return ImportedMismatch(call if from_default else expr, layer, home, function.name, fact.name, wanted,
                            from_default)
