"""What a layer's kernel initializer draws, as numbers: the weights' second moment and the
gains σ² = fan_in·E[w²] (forward) and fan_out·E[w²] (backward) the signal model multiplies by.

Family initializers and VarianceScaling are VarianceScaling(scale, mode): E[w²] = scale/fan_mode
for every distribution (Keras corrects its truncated normal). Fixed-scale initializers have a
variance of their own (TruncatedNormal without that correction). Orthogonal(gain) keeps norms:
its rows or columns have length `gain`. Where a fan is not visible, a family initializer's gain
is taken at equal widths (Glorot and LeCun 1, He 2), and that is said; a fixed scale's is unknown.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gradlint.graph.facts import InitializerFact, Layer
from gradlint.graph.values import constant_value, has_splat
from gradlint.keras_api.activations import Family
from gradlint.keras_api.initializers import FAMILY_VARIANCE_SCALING, InitKind
from gradlint.keras_api.scales import FIXED_SCALE_PARAMS, WeightScale, defaults_for, weight_scale

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph


@dataclass(frozen=True)
class KernelScale:
    """A kernel's scale as the recurrence needs it; None where not known, with the reason."""

    gain: float | None
    back_gain: float | None
    constant: float | None = None  # every weight starts at this value (Zeros, Ones, Constant)
    assumed_equal_widths: bool = False
    unknown: str | None = None

    @property
    def is_zero(self) -> bool:
        return self.constant == 0.0


def read_scale(graph: ModuleGraph, fact: InitializerFact) -> WeightScale | None:
    """Mean and variance of a fixed-scale initializer, its defaults filled in."""
    spec = fact.spec
    if fact.weight_scale is not None:
        return fact.weight_scale  # given by a framework's table (torch.nn.init)
    if spec is None or spec.class_name not in FIXED_SCALE_PARAMS:
        return None
    config: dict[str, object] = {}
    target, scope = fact.resolved, fact.resolved_scope or graph.scopes.module_scope
    tf1 = False
    if isinstance(target, ast.Call):
        if has_splat(target):
            return None
        qualified = graph.resolver.qualified_name(target.func, scope) or ""
        tf1 = qualified.startswith("tensorflow.compat.v1.")
        params = FIXED_SCALE_PARAMS[spec.class_name]
        if len(target.args) > len(params):
            return None
        for name, arg in zip(params, target.args):
            config[name] = constant_value(arg, scope, graph.resolver)
        for kw in target.keywords:
            config[kw.arg or ""] = constant_value(kw.value, scope, graph.resolver)
    elif isinstance(target, ast.Dict):
        value = constant_value(target, scope, graph.resolver)
        inner = value.get("config") if isinstance(value, dict) else None
        config = dict(inner) if isinstance(inner, dict) else {}
    defaults = defaults_for(spec.class_name, tf1)
    scale = weight_scale(spec.class_name, {**defaults, **config})
    return replace(scale, defaulted={k: v for k, v in defaults.items() if k not in config})


def kernel_scale(graph: ModuleGraph, layer: Layer, fan_in: int | None = None) -> KernelScale:
    """`fan_in` overrides the layer's (one turn of a loop whose turns see different fan-ins)."""
    fact = layer.initializer
    if fact is None or fact.spec is None:
        return KernelScale(None, None, unknown="initializer not known statically")
    fan_in, fan_out = fan_in or layer.fan_in, layer.fan_out
    if fact.family is not None:
        return family_kernel(fact.family, fan_in, fan_out)
    kind = fact.spec.kind
    if kind is InitKind.VARIANCE_SCALING:
        vs = fact.variance_scaling
        scale, mode = vs.get("scale"), vs.get("mode")
        if not _number(scale) or mode not in ("fan_in", "fan_out", "fan_avg"):
            return KernelScale(None, None, unknown=f"{fact.display}: scale or mode not known statically")
        return _variance_scaling(float(scale), mode, fan_in, fan_out)  # type: ignore[arg-type]
    if kind is InitKind.FIXED_SCALE:
        return _fixed(graph, fact, fan_in, fan_out)
    if fact.spec.class_name == "Orthogonal":
        return _orthogonal(graph, fact, fan_in, fan_out)
    if fact.spec.class_name == "Identity":
        return KernelScale(1.0, 1.0, assumed_equal_widths=True)
    return KernelScale(None, None, unknown=f"{fact.display}: scale not known")


def family_kernel(family: Family, fan_in: int | None, fan_out: int | None) -> KernelScale:
    """The kernel a family initializer would give a layer of these fans."""
    scale, mode = FAMILY_VARIANCE_SCALING[family]
    return _variance_scaling(scale, mode, fan_in, fan_out)


def _variance_scaling(scale: float, mode: str, fan_in: int | None, fan_out: int | None) -> KernelScale:
    if fan_in and fan_out:
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / fan
        return KernelScale(fan_in * variance, fan_out * variance)
    return KernelScale(scale, scale, assumed_equal_widths=True)


def _fixed(graph: ModuleGraph, fact: InitializerFact, fan_in: int | None, fan_out: int | None) -> KernelScale:
    scale = read_scale(graph, fact)
    if scale is None or scale.second_moment is None:
        return KernelScale(None, None, unknown=f"{fact.display}: scale not known statically")
    if scale.is_constant:
        value = scale.mean
        if value == 0:
            return KernelScale(0.0, 0.0, constant=0.0)
        gain = None if fan_in is None or value is None else fan_in * value * value
        back = None if fan_out is None or value is None else fan_out * value * value
        return KernelScale(gain, back, constant=value)
    moment = scale.second_moment
    if not fan_in or not fan_out:
        return KernelScale(None, None, unknown=f"{fact.display}: fan-in not visible, so its gain is unknown")
    return KernelScale(fan_in * moment, fan_out * moment)


def _orthogonal(graph: ModuleGraph, fact: InitializerFact, fan_in: int | None, fan_out: int | None) -> KernelScale:
    gain = float(fact.variance_scaling.get("gain", 1.0))  # (PyTorch's orthogonal_ records it here)
    target, scope = fact.resolved, fact.resolved_scope or graph.scopes.module_scope
    if isinstance(target, ast.Call):
        given = target.args[0] if target.args else next((k.value for k in target.keywords if k.arg == "gain"), None)
        if given is not None:
            value = constant_value(given, scope, graph.resolver)
            if not _number(value):
                return KernelScale(None, None, unknown=f"{fact.display}: gain not known statically")
            gain = float(value)
    if fan_in and fan_out:
        variance = gain * gain / max(fan_in, fan_out)
        return KernelScale(fan_in * variance, fan_out * variance)
    return KernelScale(gain * gain, gain * gain, assumed_equal_widths=True)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
