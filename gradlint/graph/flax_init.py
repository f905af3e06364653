"""A Flax layer's `kernel_init=`, read statically into the same InitializerFact Keras layers get.

No `kernel_init` is Flax's default, lecun_normal(). An expression is followed through a name
assigned once (`init = nn.initializers.normal(0.02)`); what it calls is looked up in
`flax_api/initializers.py`. Anything else (a parameter, a module field, a custom function)
makes the initializer unknown: the rules never guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TypeGuard

from gradlint.flax_api.initializers import (
    CONSTANT,
    CONSTANT_FACTORIES,
    DEFAULT_DISPLAY,
    FAMILY,
    FIXED,
    ORTHOGONAL,
    VARIANCE_SCALING_PARAMS,
    member,
)
from gradlint.flax_api.layers import KERNEL_INIT
from gradlint.graph.facts import InitializerFact, Layer
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.values import constant_value
from gradlint.keras_api.activations import Family
from gradlint.keras_api.initializers import (
    family_spec,
    initializer_spec,
    variance_scaling_family,
)
from gradlint.keras_api.scales import TRUNCATED_VARIANCE_FACTOR, WeightScale

_DISPLAY_LIMIT = 70


def default_initializer() -> InitializerFact:
    """lecun_normal(): variance 1/fan_in. Under tanh or at a linear output it has Glorot's
    gain at equal widths, so only a family with another gain (He, for ReLU) is asked of it."""
    return InitializerFact(None, None, None, family_spec(Family.LECUN, "normal"), Family.LECUN, "normal",
                           DEFAULT_DISPLAY, default_also_fits=(Family.GLOROT,))


def read_initializer(layer: Layer, scopes: ScopeTable, resolver: Resolver,
                     text_of: Callable[[ast.AST], str]) -> tuple[InitializerFact | None, str]:
    """The layer's initializer fact, or None and what made it unknown (the expression)."""
    found = layer.argument(KERNEL_INIT)
    if found is None:
        if any(k.arg is None for s in layer.sources for k in s.call.keywords):
            return None, "**kwargs"
        return default_initializer(), ""
    expr = found[0]
    # (an argument of a partial is evaluated where the partial is written)
    target, scope, via = expr, layer.scope if found[1].call is layer.call else scopes.scope_of(found[1].call), False
    for _ in range(3):
        if not isinstance(target, ast.Name):
            break
        assigned = resolver.assigned_value(target.id, scope)
        if assigned is None:
            break
        value, value_scope = assigned
        if value is target or not isinstance(value, (ast.Call, ast.Name, ast.Attribute)):
            break
        target, scope = value, value_scope
        via = True
    display = " ".join(text_of(expr).split())
    if len(display) > _DISPLAY_LIMIT:
        display = display[: _DISPLAY_LIMIT - 1] + "…"
    fact = _fact(expr, target, scope, resolver, display, via)
    return fact, "" if fact is not None else display


def _fact(expr: ast.expr, target: ast.AST, scope: Scope, resolver: Resolver, display: str,
          via: bool) -> InitializerFact | None:
    func = target.func if isinstance(target, ast.Call) else target
    qualified = resolver.qualified_name(func, scope) if isinstance(func, (ast.Name, ast.Attribute)) else None
    name = member(qualified) if qualified is not None else None
    if name is None:
        return None
    called = isinstance(target, ast.Call)

    def made(spec: object, family: Family | None = None, distribution: str | None = None, **kw: object) -> InitializerFact:
        return InitializerFact(expr, target, scope, spec, family, distribution, display, via_variable=via, **kw)  # type: ignore[arg-type]

    if not called:
        if name in CONSTANT:  # `nn.initializers.zeros` is itself the initializer
            return _constant(made, name, CONSTANT[name])
        return None  # (a factory given uncalled does not initialize anything)
    assert isinstance(target, ast.Call)
    if any(isinstance(a, ast.Starred) for a in target.args) or any(k.arg is None for k in target.keywords):
        return None
    if name in FAMILY:
        family, distribution = FAMILY[name]
        return made(family_spec(family, distribution), family, distribution)
    if name == "variance_scaling":
        values = _arguments(target, scope, resolver, VARIANCE_SCALING_PARAMS, {})
        scale, mode, dist = values.get("scale"), values.get("mode"), values.get("distribution")
        if not isinstance(dist, str) or mode not in ("fan_in", "fan_out", "fan_avg"):
            return None
        distribution = "uniform" if dist == "uniform" else "normal"
        scaled = variance_scaling_family(scale, mode)
        if scaled is not None:
            return made(family_spec(scaled, distribution), scaled, distribution)
        if not _numeric(scale):
            return None
        return made(initializer_spec("variance_scaling"), None, distribution,
                    variance_scaling={"scale": float(scale), "mode": mode, "distribution": distribution})
    if name in CONSTANT_FACTORIES:
        return _constant(made, name, CONSTANT_FACTORIES[name])
    if name in FIXED:
        params = FIXED[name]
        values = _arguments(target, scope, resolver, tuple(p for p, _ in params), dict(params))
        defaulted = {p: d for p, d in params if p not in _given(target, tuple(p for p, _ in params))}
        if name == "constant":
            value = values.get("value")
            return _constant(made, name, float(value)) if _numeric(value) else None
        if name == "normal":
            std = values.get("stddev")
            if not _numeric(std):
                return None
            return made(initializer_spec("random_normal"), None, "normal",
                        weight_scale=WeightScale("RandomNormal", 0.0, float(std) ** 2, _shown(defaulted, "stddev")))
        if name == "truncated_normal":
            std, low, high = values.get("stddev"), values.get("lower"), values.get("upper")
            if not _numeric(std) or low != -2.0 or high != 2.0:
                return None
            return made(initializer_spec("truncated_normal"), None, "normal",
                        weight_scale=WeightScale("TruncatedNormal", 0.0, float(std) ** 2 * TRUNCATED_VARIANCE_FACTOR,
                                                 _shown(defaulted, "stddev")))
        if name == "uniform":  # U[0, scale)
            scale = values.get("scale")
            if not _numeric(scale):
                return None
            s = float(scale)
            return made(initializer_spec("random_uniform"), None, "uniform",
                        weight_scale=WeightScale("RandomUniform", s / 2, s * s / 12, _shown(defaulted, "scale")))
    if name in ORTHOGONAL:
        values = _arguments(target, scope, resolver, ("scale",), {"scale": 1.0})
        if values.get("scale") != 1.0:
            return None
        return InitializerFact(expr, None, scope, initializer_spec("orthogonal"), None, None, display, via_variable=via)
    return None


def _constant(made: Callable[..., InitializerFact], name: str, value: float) -> InitializerFact:
    class_name = {0.0: "Zeros", 1.0: "Ones"}.get(value, "Constant") if name != "constant" else "Constant"
    return made(initializer_spec(class_name.lower()), None, None, weight_scale=WeightScale(class_name, value, 0.0))


def _shown(defaulted: dict[str, float], key: str) -> dict[str, float]:
    """The default stddev a message names (GL103 says "default stddev=0.01")."""
    return {"stddev": defaulted[key]} if key == "stddev" and key in defaulted else {}


def _given(call: ast.Call, params: tuple[str, ...]) -> set[str]:
    return {p for i, p in enumerate(params) if i < len(call.args)} | {k.arg for k in call.keywords if k.arg}


def _arguments(call: ast.Call, scope: Scope, resolver: Resolver, params: tuple[str, ...],
               defaults: dict[str, object]) -> dict[str, object]:
    values = dict(defaults)
    for param, arg in zip(params, call.args):
        values[param] = constant_value(arg, scope, resolver)
    for kw in call.keywords:
        if kw.arg in params:
            values[kw.arg] = constant_value(kw.value, scope, resolver)
    return values


def _numeric(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
