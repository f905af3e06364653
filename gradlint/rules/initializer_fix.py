"""Rewrite a layer's initializer to the family its activation asks for.

Shared by the rules that fix initializers (GL101, GL103): the family's named initializer is
written in the form already there — a string stays a string (quote style kept), a class call
keeps its module path and arguments, a VarianceScaling call gets the family's scale and mode.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gradlint.config import Settings
from gradlint.diagnostics import SAFE, UNSAFE, Edit
from gradlint.edits import insert_argument, preferred_quote_node, replace_node, replace_span, string_literal
from gradlint.graph.facts import InitializerFact, Layer
from gradlint.graph.model import ModuleGraph
from gradlint.graph.scopes import BindingKind, Scope
from gradlint.keras_api.activations import Family
from gradlint.keras_api.initializers import (
    FAMILY_VARIANCE_SCALING,
    VARIANCE_SCALING_PARAMS,
    InitKind,
    family_spec,
)
from gradlint.keras_api.scales import FIXED_SCALE_PARAMS


@dataclass(frozen=True)
class InitializerFix:
    edits: tuple[Edit, ...]
    suggestion: str  # what the message proposes, e.g. kernel_initializer="he_normal"
    # False only where the layer had no initializer and one is added: every other plan
    # rewrites an initializer the author wrote, perhaps on purpose (an unsafe fix).
    replaces_author_choice: bool = True

    @property
    def applicability(self) -> str:
        return UNSAFE if self.replaces_author_choice else SAFE


def plan_initializer_fix(graph: ModuleGraph, layer: Layer, family: Family, settings: Settings,
                         distribution: str | None = None) -> InitializerFix | None:
    """Edits that give `layer` an initializer of `family`; None where no clean edit exists.

    `distribution` ("normal"/"uniform") overrides the one the current initializer implies."""
    if graph.torch.owns(layer):
        from gradlint.rules.torch_fix import plan_torch_fix  # (it builds on this module's InitializerFix)

        return plan_torch_fix(graph, layer, family, settings, distribution)
    if graph.flax.owns(layer):
        from gradlint.rules.flax_fix import plan_flax_fix  # (it builds on this module's InitializerFix)

        return plan_flax_fix(graph, layer, family, settings, distribution)
    fact = layer.initializer
    param = layer.spec.initializer_param
    if fact is None or param is None or layer.initializer_home is None:
        return None
    if layer.initializer_entry is not None and not layer.initializer_entry.editable:
        return None  # in a `**config` dict other code uses too: editing it would change them

    source = graph.source
    if distribution is None:
        distribution = fact.distribution if fact.distribution in ("normal", "uniform") else settings.fix_distribution
    if fact.expr is None:
        home = layer.initializer_home
        literal = string_literal(family_spec(family, settings.fix_distribution).string_name,
                                 preferred_quote_node(home), source)
        text = f"{param}={literal}"
        anchor = _activation_argument(layer, home)
        return InitializerFix(insert_argument(source, home, text, after=anchor), text, replaces_author_choice=False)
    target = fact.resolved
    if fact.via_variable:
        # A shared variable keeps its value for the other layers; this layer gets its own.
        replacement = _replacement_expression(graph, fact, family, distribution)
        return InitializerFix((replace_node(source, fact.expr, replacement),), f"{param}={replacement}")
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        new = _same_style_name(target.value, family, distribution)
        literal = string_literal(new, target, source)
        return InitializerFix((replace_node(source, target, literal),), f"{param}={literal}")
    if isinstance(target, ast.Call) and fact.spec is not None:
        if fact.spec.kind is InitKind.VARIANCE_SCALING:
            return _variance_scaling_fix(graph, layer, target, family, param)
        edits = _rename_callee(graph, target.func, family, distribution, fact.resolved_scope)
        if edits is None:
            return None
        if fact.spec.kind is InitKind.FIXED_SCALE:
            # RandomNormal(stddev=…, seed=1) → HeNormal(seed=1): only the seed carries over.
            edits = (*edits, _only_seed(graph, target, fact.spec.class_name))
        return InitializerFix(edits, f"{param}={_apply_preview(graph, target, edits)}")
    if isinstance(target, (ast.Name, ast.Attribute)):
        edits = _rename_callee(graph, target, family, distribution, fact.resolved_scope)
        if edits is None:
            return None
        return InitializerFix(edits, f"{param}={_apply_preview(graph, target, edits)}")
    if isinstance(target, ast.Dict) and fact.spec is not None and fact.spec.kind is InitKind.FAMILY:
        for key, value in zip(target.keys, target.values):
            if isinstance(key, ast.Constant) and key.value == "class_name" and isinstance(value, ast.Constant):
                new = family_spec(family, distribution).class_name
                literal = string_literal(new, value, source)
                return InitializerFix((replace_node(source, value, literal),), f'{param}={{"class_name": {literal}, ...}}')
    return None


def _only_seed(graph: ModuleGraph, call: ast.Call, class_name: str) -> Edit:
    """Replace a fixed-scale initializer's arguments with its `seed=`, if it has one."""
    source = graph.source
    params = FIXED_SCALE_PARAMS.get(class_name, ())
    seed = next((k.value for k in call.keywords if k.arg == "seed"), None)
    if seed is None and "seed" in params and params.index("seed") < len(call.args):
        seed = call.args[params.index("seed")]
    text = f"(seed={source.segment(seed)})" if seed is not None else "()"
    return replace_span(source, source.end(call.func), source.end(call), text)


def suggested_text(family: Family, settings: Settings, param: str) -> str:
    return f'{param}="{family_spec(family, settings.fix_distribution).string_name}"'


def _activation_argument(layer: Layer, home: ast.Call) -> ast.AST | None:
    found = layer.argument("activation")
    if found is not None and found[1].call is home and found[1].entry_of(found[0]) is None:
        return found[0]
    return None


def _same_style_name(old: str, family: Family, distribution: str) -> str:
    spec = family_spec(family, distribution)
    return spec.class_name if old[:1].isupper() else spec.string_name


def _rename_callee(graph: ModuleGraph, func: ast.AST, family: Family, distribution: str,
                   scope: Scope | None) -> tuple[Edit, ...] | None:
    """`initializers.GlorotUniform` → `initializers.HeUniform`; a bare imported name is
    renamed and the new name added to the same `from … import`."""
    source = graph.source
    spec = family_spec(family, distribution)
    if isinstance(func, ast.Attribute):
        if func.attr.endswith("_initializer"):
            return None  # TF1 names like glorot_uniform_initializer have no He twin
        new = spec.class_name if func.attr[:1].isupper() else spec.string_name
        end = source.end(func)
        return (replace_span(source, end - len(func.attr), end, new),)
    if not isinstance(func, ast.Name):
        return None
    new = spec.class_name if func.id[:1].isupper() else spec.string_name
    scope = scope or graph.scopes.module_scope
    wanted = graph.resolver.qualified_name(func, scope)
    if wanted is None:
        return None
    wanted = wanted.rsplit(".", 1)[0] + "." + new
    if graph.resolver.qualified_name(ast.Name(id=new), scope) == wanted:
        return (replace_node(source, func, new),)
    binding = graph.resolver.single_binding(func.id, scope)
    if binding is None or binding.kind is not BindingKind.IMPORT or not isinstance(binding.node, ast.ImportFrom):
        return None
    alias = next((a for a in binding.node.names if (a.asname or a.name) == func.id), None)
    if alias is None or _name_in_use(graph, new):
        return None
    at = source.end(alias)
    return (replace_node(source, func, new), replace_span(source, at, at, f", {new}"))


def _name_in_use(graph: ModuleGraph, name: str) -> bool:
    """`name` already means something in the module: importing it would shadow that meaning,
    or be shadowed by it (`from mylib import HeNormal`, a local `HeNormal = ...`)."""
    if name in graph.scopes.module_scope.bindings:
        return True
    return any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(graph.tree))


def _apply_preview(graph: ModuleGraph, node: ast.AST, edits: tuple[Edit, ...]) -> str:
    """The text of `node` once those of `edits` that fall inside it are applied."""
    source = graph.source
    start, end = source.start(node), source.end(node)
    text = source.text[start:end]
    for edit in sorted(edits, key=lambda e: (e.location.row, e.location.column), reverse=True):
        a, b = source.to_offset(edit.location), source.to_offset(edit.end_location)
        if start <= a and b <= end:
            text = text[: a - start] + edit.content + text[b - start:]
    return " ".join(text.split())


def _replacement_expression(graph: ModuleGraph, fact: InitializerFact, family: Family, distribution: str) -> str:
    """A fresh initializer expression for one layer, in the style of the shared one."""
    source = graph.source
    target = fact.resolved
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) and fact.spec is not None \
            and fact.spec.kind is InitKind.FAMILY and all(
                isinstance(a, ast.Constant) for a in [*target.args, *(k.value for k in target.keywords)]):
        edits = _rename_callee(graph, target.func, family, distribution, fact.resolved_scope)
        if edits:
            return _apply_preview(graph, target, edits)
    like = target if isinstance(target, ast.Constant) else None
    name = family_spec(family, distribution).string_name
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        name = _same_style_name(target.value, family, distribution)
    return string_literal(name, like, source)


def _variance_scaling_fix(graph: ModuleGraph, layer: Layer, call: ast.Call, family: Family, param: str) -> InitializerFix | None:
    source = graph.source
    scale, mode = FAMILY_VARIANCE_SCALING[family]
    wanted = {"scale": repr(scale), "mode": string_literal(mode, preferred_quote_node(call), source)}
    edits: list[Edit] = []
    missing: list[str] = []
    for name, text in wanted.items():
        node = next((k.value for k in call.keywords if k.arg == name), None)
        index = VARIANCE_SCALING_PARAMS.index(name)
        if node is None and index < len(call.args):
            node = call.args[index]
        if node is None:
            missing.append(f"{name}={text}")
        elif source.segment(node) != text:
            edits.append(replace_node(source, node, text))
    if missing:
        edits.extend(insert_argument(source, call, ", ".join(missing)))
    if not edits:
        return None
    return InitializerFix(tuple(edits), f"{param}=VarianceScaling(scale={wanted['scale']}, mode={wanted['mode']})")
