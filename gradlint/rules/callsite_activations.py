"""GL101 where a helper's callers disagree: `def block(x, act): Dense(64, activation=act)`
called with "relu" in one place and "tanh" in another.

One initializer in the helper cannot fit both, so the finding is not on the layer but on each
call whose activation the layer's initializer does not fit, naming the layer's line. No fix is
offered: the initializer must follow the activation, which only the author can thread through
(a parameter of the helper, or a second helper).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, replace

from gradlint.graph.facts import Layer
from gradlint.graph.guards import feeds_zero_kernel, normalization_reached
from gradlint.graph.model import ModuleGraph
from gradlint.keras_api.activations import HOMOGENEOUS_ACTIVATIONS, Family, family_of


@dataclass(frozen=True)
class CallSiteMismatch:
    """One call of the helper whose activation the helper's layer does not fit."""

    node: ast.AST  # the argument as the call writes it, or the call (when it takes the default)
    function: str
    parameter: str
    activation: str
    wanted: Family
    others: tuple[str, ...]  # the activations the other calls pass
    by_default: bool  # the call leaves the parameter out and gets its default


def callsite_mismatches(graph: ModuleGraph, layer: Layer) -> Iterator[CallSiteMismatch]:
    """Each call of the enclosing helper whose activation does not fit the layer's initializer."""
    if layer.unknown_reason is None or layer.unknown_reason[0] != "activation-mixed":
        return
    initializer = layer.initializer
    found = layer.argument("activation")
    if initializer is None or initializer.family is None or found is None or not isinstance(found[0], ast.Name):
        return
    catalog = graph.catalog
    where = catalog.callsites.parameter_of(found[0], layer.scope)
    values = catalog.callsites.values(*where) if where is not None else None
    if where is None or not values:
        return
    facts = [catalog.activation_of(v.expr, v.scope, 1) for v in values]
    names = [f.name if f is not None else None for f in facts]
    if any(n is None for n in names):
        return
    if guarded(graph, layer, names):  # type: ignore[arg-type]
        return
    function, parameter = where
    for value, name in zip(values, names):
        wanted = family_of(name) if name else None
        if wanted is None or wanted is initializer.family:
            continue
        written = _written_in(value.expr, value.call)
        others = tuple(sorted({n for n in names if n and n != name}))
        yield CallSiteMismatch(value.expr if written else value.call, function.name, parameter, name,  # type: ignore[arg-type]
                               wanted, others, not written)


def guarded(graph: ModuleGraph, layer: Layer, names: list[str]) -> bool:
    """A normalization cancels the kernel's scale for every one of these activations (which
    callers pass), or the output feeds only a zero kernel."""
    if feeds_zero_kernel(graph, layer):
        return True
    if not all(n in HOMOGENEOUS_ACTIVATIONS for n in names):
        return False
    return normalization_reached(graph, replace(layer, activation_unknown=False, activation_arg=None)) is not None


def _written_in(expr: ast.AST, call: ast.Call) -> bool:
    return any(expr is a for a in call.args) or any(expr is k.value for k in call.keywords)
