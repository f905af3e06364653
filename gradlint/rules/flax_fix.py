"""Give a Flax layer the initializer its activation's family asks for, as Flax code does:
`kernel_init=nn.initializers.he_normal()`.

- A layer with Flax's default (no `kernel_init`): the argument is added, with the file's own
  name for the initializers (`nn.initializers.` under `from flax import linen as nn`,
  `nnx.initializers.` for an NNX layer, `jax.nn.initializers.` where only jax is imported).
  A safe fix: nobody chose the default.
- A layer given a `kernel_init`: that argument's value is rewritten for this layer alone (a
  shared variable keeps its value for the others), through the module path it was written
  with. Unsafe: the author wrote it.
- A `kernel_init` given in a `functools.partial(nn.Conv, …)` that makes other layers too, or a
  file with no name for jax or flax at all: no edit, the message gives the argument to write.
"""

from __future__ import annotations

import ast

from gradlint.config import Settings
from gradlint.edits import insert_argument, replace_node
from gradlint.flax_api.initializers import family_name
from gradlint.flax_api.layers import KERNEL_INIT
from gradlint.graph.facts import Layer
from gradlint.graph.model import ModuleGraph
from gradlint.keras_api.activations import Family
from gradlint.rules.initializer_fix import InitializerFix

# What a module-level name may denote, and how the initializers are reached from it.
_ROUTES = {
    "jax.nn.initializers": "{}.", "flax.linen.initializers": "{}.", "flax.nnx.initializers": "{}.",
    "flax.linen": "{}.initializers.", "flax.nnx": "{}.initializers.", "jax.nn": "{}.initializers.",
    "jax": "{}.nn.initializers.", "flax": "{}.linen.initializers.",
}


def plan_flax_fix(graph: ModuleGraph, layer: Layer, family: Family, settings: Settings,
                  distribution: str | None = None) -> InitializerFix:
    """The argument to write, and the edit that writes it where the file names jax or flax."""
    fact = layer.initializer
    source = graph.source
    if distribution is None:
        distribution = fact.distribution if fact is not None and fact.expr is not None and \
            fact.distribution in ("normal", "uniform") else settings.fix_distribution
    name = family_name(family, distribution)
    prefix = initializers_prefix(graph, layer)
    if fact is None or fact.expr is None:
        text = f"{KERNEL_INIT}={prefix or 'jax.nn.initializers.'}{name}()"
        if fact is None or prefix is None:
            return InitializerFix((), text, replaces_author_choice=fact is None)
        args = layer.call.args
        anchor = args[-1] if args and not any(isinstance(a, ast.Starred) for a in args) else None
        return InitializerFix(insert_argument(source, layer.call, text, after=anchor), text, replaces_author_choice=False)
    own = _written_prefix(graph, fact.resolved)
    new = f"{own or prefix or 'jax.nn.initializers.'}{name}()"
    text = f"{KERNEL_INIT}={new}"
    if own is None and prefix is None or not any(k.value is fact.expr for k in layer.call.keywords):
        return InitializerFix((), text)  # (in a functools.partial other layers share: not edited)
    return InitializerFix((replace_node(source, fact.expr, new),), text)


def initializers_prefix(graph: ModuleGraph, layer: Layer) -> str | None:
    """How the file reaches jax.nn.initializers: `nn.initializers.`, `nnx.initializers.`,
    `jax.nn.initializers.`, `initializers.` (None: it names neither jax nor flax). The
    layer's own framework first: an NNX layer's file may import linen too."""
    scope = graph.scopes.module_scope
    found: dict[str, str] = {}
    for bound in scope.bindings:
        qualified = graph.resolver.qualified_name(ast.Name(id=bound), scope)
        if qualified in _ROUTES:
            found.setdefault(qualified, bound)
    own = "flax.nnx" if layer.class_name.startswith("nnx.") else "flax.linen"
    order = ("jax.nn.initializers", f"{own}.initializers", own, "jax.nn", "jax", "flax.linen.initializers",
             "flax.nnx.initializers", "flax.linen", "flax.nnx", "flax")
    for target in order:
        if target in found:
            return _ROUTES[target].format(found[target])
    return None


def _written_prefix(graph: ModuleGraph, resolved: ast.AST | None) -> str | None:
    """The module path an initializer call was written with: `nn.initializers.` of
    `nn.initializers.glorot_uniform()`."""
    func = resolved.func if isinstance(resolved, ast.Call) else resolved
    if isinstance(func, ast.Attribute):
        return " ".join(graph.source.segment(func.value).split()) + "."
    return None
