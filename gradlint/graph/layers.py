"""Find the Keras layers a module constructs and read their explicit arguments.

Every call whose callee resolves to a Keras layer class is a layer; so is the layer a
`functools.partial(LayerClass, ...)` makes when it is called. Arguments from literal
`**config` dicts count as written (splats.py). A wrapper that applies its layer's kernel as
written (TimeDistributed, SpectralNormalization, WeightNormalization) stands for that layer:
where the wrapper is used, the graph sees the wrapped layer. What the layer's output meets
next is the job of the context builders (sequential.py, dataflow.py), not of this module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gradlint.graph.callsites import CallSites
from gradlint.graph.facts import (
    ActivationFact,
    ArgSource,
    InitializerFact,
    Layer,
    WrapperFact,
)
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.source import SourceText
from gradlint.graph.splats import RAISES, SplatReader
from gradlint.graph.values import UNKNOWN, constant_value, range_length
from gradlint.keras_api.activations import (
    ACTIVATION_LAYERS,
    LINEAR,
    activation_from_function,
    normalize_activation,
)
from gradlint.keras_api.initializers import (
    VARIANCE_SCALING_DEFAULTS,
    VARIANCE_SCALING_PARAMS,
    InitKind,
    distribution_of_variance_scaling,
    initializer_spec,
    variance_scaling_family,
)
from gradlint.keras_api.layers import (
    DEFAULT_INITIALIZER,
    LayerSpec,
    Role,
    Wrapping,
    is_wrapper_class,
    layer_spec,
)

_PARTIAL = "functools.partial"
_CONSTANT_INITIALIZERS = frozenset({"Zeros", "Ones", "Constant"})
# What each kind of wrapper applies as the layer itself.
_WRAPPED_ROLES = {
    Wrapping.TIME: frozenset({Role.WEIGHTED, Role.ACTIVATION, Role.TRANSPARENT}),
    Wrapping.NORMALIZED: frozenset({Role.WEIGHTED}),
    Wrapping.DATA_INIT: frozenset({Role.WEIGHTED}),
}


@dataclass(frozen=True)
class Effect:
    """What a layer does to the signal that the layer before it hands on.

    kind: "activation" (applies `activation`), "linear" (a weighted layer: what flows in is
    taken as linear), "transparent" (passes it on), "unknown".
    """

    kind: str
    activation: ActivationFact | None = None


UNKNOWN_EFFECT = Effect("unknown")


class LayerCatalog:
    """All layers of one module, keyed by the call that constructs each."""

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, source: SourceText) -> None:
        self.table = table
        self.resolver = resolver
        self.source = source
        self.splats = SplatReader(module, resolver)
        self.callsites = CallSites(module, table, resolver)
        self.by_call: dict[int, Layer] = {}
        calls = table.calls
        for call in calls:
            self._make_template(call)
        for call in calls:
            if id(call) not in self.by_call:
                self._make_layer(call)
        # `self.fc = Dense(...)` in a method: the layer `self.fc` names elsewhere in the class.
        self.self_layers: dict[tuple[int, str], ast.Call | None] = {}
        # `self.blocks = [Dense(h) for _ in range(4)]`: containers of layers, kept on self.
        self.self_containers: dict[tuple[int, str], tuple[ast.expr, Scope] | None] = {}
        for scope, attr, value in table.self_assignments:
            owner = table.class_of(scope)
            if owner is not None:
                key = (id(owner), attr)
                single = isinstance(value, ast.Call) and key not in self.self_layers
                self.self_layers[key] = value if single else None  # type: ignore[assignment]
                container = isinstance(value, (ast.ListComp, ast.List, ast.Tuple)) and key not in self.self_containers
                self.self_containers[key] = (value, scope) if container else None
        self._merge_wrappers(calls)
        self._unique = list({id(layer): layer for layer in self.by_call.values()}.values())
        # Arguments are read once every layer is known: `activation=LeakyReLU(0.2)` refers to
        # a layer call that may come later in the walk.
        for layer in self._unique:
            self._read_arguments(layer)
            self._apply_wrapping(layer)
        self._forget_custom_wrapped(calls)

    @property
    def layers(self) -> list[Layer]:
        return list(self._unique)

    # -- recognising layers ---------------------------------------------------------------
    def layer_class(self, func: ast.AST, scope: Scope) -> tuple[str, LayerSpec] | None:
        name = self.resolver.qualified_name(func, scope)
        if name is None:
            return None
        spec = layer_spec(name)
        return (spec.name, spec) if spec else None

    def _make_template(self, call: ast.Call) -> bool:
        scope = self.table.scope_of(call)
        if not call.args or self.resolver.qualified_name(call.func, scope) != _PARTIAL:
            return False
        found = self.layer_class(call.args[0], scope)
        if found is None:
            return False
        name, spec = found
        sources = self._sources(spec, [(call, scope, 1, 0)])
        if sources is not None:
            self.by_call[id(call)] = Layer(call, name, spec, scope, sources, partial=call, is_template=True)
        return True

    def _make_layer(self, call: ast.Call) -> None:
        scope = self.table.scope_of(call)
        found = self.layer_class(call.func, scope)
        if found is not None:
            name, spec = found
            sources = self._sources(spec, [(call, scope, 0, 0)])
            partial = None
        else:
            template = self.template_named(call.func, scope)
            if template is None:
                return
            name, spec, partial = template.class_name, template.spec, template.call
            sources = self._sources(spec, [(partial, template.scope, 1, 0), (call, scope, 0, len(partial.args) - 1)])
        if sources is not None:
            self.by_call[id(call)] = Layer(call, name, spec, scope, sources, partial=partial)

    def _sources(self, spec: LayerSpec, calls: list[tuple[ast.Call, Scope, int, int]]) -> list[ArgSource] | None:
        """The calls that supply a layer's arguments (call, scope, skip, offset); None where
        Python refuses them: a keyword given twice, or also given by position."""
        sources = []
        for call, scope, skip, offset in calls:
            source = self.splats.source(call, scope, skip, offset)
            if source is RAISES:
                return None
            sources.append(source)
        by_position = {spec.positional[s.offset + i] for s in sources
                       for i in range(len(s.positional)) if s.offset + i < len(spec.positional)}
        if any(name in by_position for s in sources for name in s.keyword_names()):
            return None
        return sources

    def template_named(self, func: ast.AST, scope: Scope) -> Layer | None:
        """The partial(...) template a name is bound to, e.g. `DefaultConv2D`."""
        if not isinstance(func, ast.Name):
            return None
        found = self.resolver.assigned_value(func.id, scope)
        if found is None or not isinstance(found[0], ast.Call):
            return None
        layer = self.by_call.get(id(found[0]))
        return layer if layer is not None and layer.is_template else None

    def layer_of(self, expr: ast.AST, scope: Scope) -> Layer | None:
        """The layer an expression denotes: a constructor call, or a name bound once to one."""
        if isinstance(expr, ast.Call):
            layer = self.by_call.get(id(expr))
            return None if layer is None or layer.is_template else layer
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is not None and isinstance(found[0], ast.Call):
                return self.layer_of(found[0], found[1])
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            owner = self.table.class_of(scope)
            call = self.self_layers.get((id(owner), expr.attr)) if owner is not None else None
            if call is not None:
                return self.layer_of(call, scope)
        return None

    def container_layer(self, expr: ast.AST, scope: Scope) -> tuple[Layer, int | None] | None:
        """A list of one layer repeated, `[Dense(h) for _ in range(n)]` (or `[Dense(h)] * n`),
        held by `self.attr` or a name bound once: the layer, and how many copies (None: not
        known). A loop over it applies the copies in turn."""
        found: tuple[ast.expr, Scope] | None = None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            owner = self.table.class_of(scope)
            found = self.self_containers.get((id(owner), expr.attr)) if owner is not None else None
        elif isinstance(expr, ast.Name):
            assigned = self.resolver.assigned_value(expr.id, scope)
            found = assigned if assigned is not None and isinstance(assigned[0], ast.expr) else None  # type: ignore[assignment]
        if found is None:
            return None
        value, where = found
        if isinstance(value, ast.ListComp) and len(value.generators) == 1 and not value.generators[0].ifs:
            layer = self.layer_of(value.elt, where)
            if layer is None:
                return None
            return layer, range_length(value.generators[0].iter, where, self.resolver)
        if isinstance(value, (ast.List, ast.Tuple)) and len(value.elts) == 1:
            layer = self.layer_of(value.elts[0], where)
            return (layer, 1) if layer is not None else None
        return None

    # -- wrappers ----------------------------------------------------------------------------
    def _merge_wrappers(self, calls: list[ast.Call]) -> None:
        """`TimeDistributed(Dense(...))`: the wrapper's call denotes the Dense, which records
        the wrapper. Innermost wrappers first (an argument starts after its call), so that
        `TimeDistributed(WeightNormalization(Dense(...)))` reaches the Dense. Only a layer
        written in the wrapper's call is taken, and only one the wrapper applies as it is: a
        weighted one, or for TimeDistributed also an activation, normalization, dropout or
        reshape (the same operation on every step). A recurrent layer stays inside its wrapper
        (Bidirectional(LSTM) is judged as one recurrent layer)."""
        for call in reversed(calls):
            wrapper = self.by_call.get(id(call))
            if wrapper is None or wrapper.call is not call or wrapper.spec.role is not Role.WRAPPER:
                continue
            wrapping = wrapper.spec.wraps
            expr = wrapped_argument(call)
            if wrapping not in _WRAPPED_ROLES or not isinstance(expr, ast.Call):
                continue
            inner = self.by_call.get(id(expr))
            if inner is None or inner.is_template or inner.spec.recurrent or inner.spec.role not in _WRAPPED_ROLES[wrapping]:
                continue
            inner.wrappers = (*inner.wrappers, WrapperFact(call, wrapper.class_name, wrapping))
            self.by_call[id(call)] = inner

    def _apply_wrapping(self, layer: Layer) -> None:
        """A wrapper that rescales the kernel makes its initializer's scale irrelevant: not
        judged. A constant kernel stays constant when rescaled: its units stay alike."""
        fact = layer.initializer
        if fact is not None and fact.spec is not None and fact.spec.class_name in _CONSTANT_INITIALIZERS:
            return
        for wrapper in layer.wrappers:
            if wrapper.wrapping is Wrapping.NORMALIZED or (
                    wrapper.wrapping is Wrapping.DATA_INIT and self._data_init(wrapper.call) is not False):
                _forget_initializer(layer)

    def _data_init(self, call: ast.Call) -> object:
        """WeightNormalization's `data_init` (default True); UNKNOWN where not constant."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return UNKNOWN
        expr = next((k.value for k in call.keywords if k.arg == "data_init"), None)
        if expr is None and len(call.args) > 1:
            expr = call.args[1]
        return True if expr is None else constant_value(expr, self.table.scope_of(call), self.resolver)

    def _forget_custom_wrapped(self, calls: list[ast.Call]) -> None:
        """A layer handed to a wrapper class of the module's own (a `keras.layers.Wrapper`
        subclass) may have its kernel changed in any way: its initializer is not judged."""
        custom = {id(s.node) for s in self.table.defs.values()
                  if s.is_class and isinstance(s.node, ast.ClassDef) and self._derives_from_wrapper(s.node)}
        if not custom:
            return
        for call in calls:
            if not isinstance(call.func, ast.Name) or id(call) in self.by_call:
                continue
            scope = self.table.scope_of(call)
            binding = self.resolver.single_binding(call.func.id, scope)
            if binding is None or id(binding.node) not in custom:
                continue
            expr = wrapped_argument(call)
            inner = self.layer_of(expr, scope) if expr is not None else None
            if inner is not None:
                _forget_initializer(inner)

    def _derives_from_wrapper(self, node: ast.ClassDef) -> bool:
        scope = self.table.scope_of(node)
        return any(is_wrapper_class(self.resolver.qualified_name(base, scope) or "") for base in node.bases)

    # -- explicit arguments ----------------------------------------------------------------
    def _unknowable(self, layer: Layer) -> bool:
        """True when an argument not found may hide in *args/**kwargs or in positional
        arguments beyond those whose meaning is the same in every Keras version."""
        for source in layer.sources:
            if source.opaque:
                return True
            if source.offset + len(source.positional) > len(layer.spec.positional):
                return True
        return False

    def _read_arguments(self, layer: Layer) -> None:
        found = layer.argument("activation")
        if found is None:
            layer.activation_unknown = self._unknowable(layer) and layer.spec.role is Role.WEIGHTED
            if layer.activation_unknown:
                layer.unknown_reason = ("arguments-opaque", "")
        else:
            fact = self.activation_of(found[0], layer.scope)
            if fact is None:
                layer.activation_unknown = True
                layer.unknown_reason = self._why_unknown(found[0], layer.scope)
            elif not fact.is_linear:
                layer.activation_arg = fact
        param = layer.spec.initializer_param
        if param is None:
            return
        found = layer.argument(param)
        if found is None:
            if self._unknowable(layer):
                layer.unknown_reason = layer.unknown_reason or ("arguments-opaque", "")
                return
            spec = initializer_spec(DEFAULT_INITIALIZER)
            layer.initializer = InitializerFact(
                expr=None, resolved=None, resolved_scope=None, spec=spec,
                family=spec.family if spec else None, distribution="uniform",
                display=f"{DEFAULT_INITIALIZER} (Keras default)",
            )
            # Added where the layer's own arguments are: on the partial for partial-made layers.
            layer.initializer_home = layer.partial if layer.partial is not None else layer.call
        else:
            expr, source = found
            layer.initializer = self.initializer_of(expr, layer.scope)
            layer.initializer_home = source.call
            layer.initializer_entry = source.entry_of(expr)
            if layer.initializer is None and layer.unknown_reason is None:
                layer.unknown_reason = ("initializer-unknown", self._brief(expr))

    def activation_of(self, expr: ast.AST, scope: Scope, depth: int = 0) -> ActivationFact | None:
        """An `activation=` value → its activation; None if it cannot be known."""
        if isinstance(expr, ast.Constant):
            if expr.value is None:
                return ActivationFact(LINEAR, "argument", expr)
            if isinstance(expr.value, str):
                name = normalize_activation(expr.value)
                return ActivationFact(name, "argument", expr) if name else None
            return None
        if isinstance(expr, (ast.Name, ast.Attribute)):
            qualified = self.resolver.qualified_name(expr, scope)
            if qualified:
                name = activation_from_function(qualified)
                return ActivationFact(name, "argument", expr) if name else None
            value = constant_value(expr, scope, self.resolver)
            if isinstance(value, str):
                name = normalize_activation(value)
                return ActivationFact(name, "argument", expr) if name else None
            if value is None:
                return ActivationFact(LINEAR, "argument", expr)
            if isinstance(expr, ast.Name):
                return self._from_call_sites(expr, scope, depth)
            return None
        if isinstance(expr, ast.Call):
            layer = self.by_call.get(id(expr))
            if layer is not None and layer.spec.role is Role.ACTIVATION:
                effect = self.effect_of(layer)
                if effect.activation is not None:
                    return ActivationFact(effect.activation.name, "argument", expr)
        return None

    def _why_unknown(self, expr: ast.expr, scope: Scope) -> tuple[str, str]:
        """Why an `activation=` value cannot be known: the reason's key and the particular."""
        brief = self._brief(expr)
        if isinstance(expr, ast.Constant):
            return "activation-name", brief
        if isinstance(expr, ast.Name):
            found = self.callsites.parameter_of(expr, scope)
            if found is None:
                return "activation-dynamic", brief
            function, param = found
            where = f"`{param}` of {function.name}()"
            values = self.callsites.values(function, param)
            if not values:
                return "activation-parameter", where
            facts = [self.activation_of(v.expr, v.scope, 1) for v in values]
            if any(f is None for f in facts):
                return "activation-callers", where
            return "activation-mixed", where
        if isinstance(expr, ast.Subscript) or (
                isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get"):
            return "activation-config", brief
        if isinstance(expr, ast.Attribute) and not (isinstance(expr.value, ast.Name) and expr.value.id == "self"):
            return "activation-config", brief
        return "activation-dynamic", brief

    def _brief(self, expr: ast.AST) -> str:
        text = " ".join(self.source.segment(expr).split())
        return text if len(text) <= 40 else text[:37] + "..."

    def _from_call_sites(self, name: ast.Name, scope: Scope, depth: int) -> ActivationFact | None:
        """A parameter of the enclosing function: the one activation every call passes."""
        found = self.callsites.parameter_of(name, scope) if depth < 4 else None
        values = self.callsites.values(*found) if found is not None else None
        if not values:
            return None
        facts = [self.activation_of(v.expr, v.scope, depth + 1) for v in values]
        names = {f.name for f in facts if f is not None}
        if any(f is None for f in facts) or len(names) != 1:
            return None  # unknown at some call, or different ones: not judged here
        lines = tuple(sorted({v.call.lineno for v in values}))
        return ActivationFact(names.pop(), "argument", name, parameter=name.id, call_lines=lines)

    def effect_of(self, layer: Layer) -> Effect:
        """What `layer` does to the output of the layer before it."""
        role = layer.spec.role
        if role in (Role.WEIGHTED, Role.WRAPPER):
            return Effect("linear", ActivationFact(LINEAR, "weighted", layer.call))
        if role in (Role.TRANSPARENT, Role.MERGE):
            return Effect("transparent")
        if layer.class_name == "Activation":
            found = layer.argument("activation") or (
                (layer.call.args[0], layer.sources[-1]) if layer.call.args else None
            )
            fact = self.activation_of(found[0], layer.scope) if found else None
            if fact is None:
                return UNKNOWN_EFFECT
            return Effect("activation", ActivationFact(fact.name, "layer", layer.call))
        name = ACTIVATION_LAYERS.get(layer.class_name)
        if name is None:
            return UNKNOWN_EFFECT
        return Effect("activation", ActivationFact(name, "layer", layer.call))

    def initializer_of(self, expr: ast.expr, scope: Scope) -> InitializerFact | None:
        """An initializer argument → what it is; None if it cannot be known."""
        target: ast.AST = expr
        where = scope
        via_variable = False
        if isinstance(expr, ast.Name) and self.resolver.qualified_name(expr, scope) is None:
            found = self.resolver.assigned_value(expr.id, scope)
            if found is None:
                return None
            target, where = found
            via_variable = True
        display = self._display(expr, target, via_variable)
        name: str | None = None
        config: dict = {}
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            name = target.value
        elif isinstance(target, (ast.Name, ast.Attribute)):
            name = self._initializer_name(target, where)
        elif isinstance(target, ast.Call):
            name = self._initializer_name(target.func, where)
            if name is not None:
                config = self._call_config(target, where)
        elif isinstance(target, ast.Dict):
            value = constant_value(target, where, self.resolver)
            if isinstance(value, dict) and isinstance(value.get("class_name"), str):
                name = value["class_name"]
                inner = value.get("config")
                config = inner if isinstance(inner, dict) else {}
        if name is None:
            return None
        spec = initializer_spec(name)
        if spec is None:
            return None
        family = spec.family
        distribution = spec.distribution
        vs: dict = {}
        if spec.kind is InitKind.VARIANCE_SCALING:
            vs = {k: config.get(k, VARIANCE_SCALING_DEFAULTS.get(k)) for k in ("scale", "mode", "distribution")}
            family = variance_scaling_family(vs["scale"], vs["mode"])
            distribution = distribution_of_variance_scaling(vs["distribution"])
        return InitializerFact(expr=expr, resolved=target, resolved_scope=where, spec=spec,
                               family=family, distribution=distribution, display=display,
                               via_variable=via_variable, variance_scaling=vs)

    def _initializer_name(self, func: ast.AST, scope: Scope) -> str | None:
        qualified = self.resolver.qualified_name(func, scope)
        if qualified is None:
            return None
        last = qualified.rsplit(".", 1)[-1]
        if qualified.startswith("keras.initializers."):
            return last
        if qualified.startswith("tensorflow.") and last.endswith("_initializer"):
            return last
        return None

    def _call_config(self, call: ast.Call, scope: Scope) -> dict:
        """VarianceScaling's keyword and positional values (UNKNOWN where not constant)."""
        config = {}
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred) or index >= len(VARIANCE_SCALING_PARAMS):
                return {"scale": UNKNOWN}
            config[VARIANCE_SCALING_PARAMS[index]] = constant_value(arg, scope, self.resolver)
        for kw in call.keywords:
            if kw.arg is None:
                return {"scale": UNKNOWN}
            config[kw.arg] = constant_value(kw.value, scope, self.resolver)
        return config

    def _display(self, expr: ast.expr, target: ast.AST, via_variable: bool) -> str:
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            text = target.value
        elif isinstance(target, ast.Dict):
            value = constant_value(target, self.table.module_scope, self.resolver)
            name = value.get("class_name") if isinstance(value, dict) else None
            text = f"{name} (config dict)" if isinstance(name, str) else "a config dict"
        else:
            text = " ".join(self.source.segment(target).split())
        if len(text) > 48:
            text = text[:45] + "..."
        return f"{self.source.segment(expr)} = {text}" if via_variable else text


def wrapped_argument(call: ast.Call) -> ast.expr | None:
    """The layer a wrapper's call wraps: its `layer=` or first positional argument."""
    found = next((k.value for k in call.keywords if k.arg == "layer"), None)
    if found is None and call.args and not isinstance(call.args[0], ast.Starred):
        found = call.args[0]
    return found


def _forget_initializer(layer: Layer) -> None:
    layer.initializer = None
    layer.initializer_home = None
    layer.initializer_entry = None
