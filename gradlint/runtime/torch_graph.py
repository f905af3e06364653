"""A torch module's forward pass as a graph (torch.fx), and what each node does to the signal.

`forward()` is Python: torch.fx's symbolic trace records the modules, functions and tensor
methods it calls, in order, without running real data. The probe reads two things from it: the
activation each weighted layer's output meets (`F.relu(self.fc(x))` as well as an `nn.ReLU()`
module after it), and, in torch_prediction.py, the path the signal model follows. A forward
pass that cannot be traced (data-dependent control flow) leaves both to what the probe saw
the modules do: the order they were called in.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from gradlint.runtime.errors import reason
from gradlint.torch_api.activations import FUNCTIONS, METHODS, MODULES

# Calls that pass their input's values on, only rearranged or thinned: an activation after them
# still acts on the weighted layer's output (modules: `module_op`'s "dropout" and "reshape").
RESHAPE_FUNCTIONS = frozenset({"flatten", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "movedim"})
RESHAPE_METHODS = frozenset({"view", "reshape", "flatten", "contiguous", "permute", "transpose", "squeeze",
                             "unsqueeze", "movedim", "view_as", "reshape_as"})
DROPOUT_FUNCTIONS = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"})
ADD_FUNCTIONS = (operator.add, operator.iadd)
ADD_METHODS = frozenset({"add", "add_", "__add__", "__iadd__"})


@dataclass(frozen=True)
class Op:
    """What one graph node is, as far as the signal goes."""

    kind: str  # "module" | "activation" | "reshape" | "dropout" | "add" | "other"
    module: Any = None  # for "module"
    activation: str | None = None  # the activation key (torch_api/activations.py)
    slope: float | None = None
    rate: float | None = None  # dropout's


@dataclass
class Traced:
    """The traced graph and the modules its nodes call, by qualified name."""

    graph: Any
    modules: dict[str, Any]

    def node_of(self, name: str) -> Any | None:
        """The one node that calls module `name` (None when called never or more than once)."""
        found = [n for n in self.graph.nodes if n.op == "call_module" and n.target == name]
        return found[0] if len(found) == 1 else None


def trace(model: Any) -> tuple[Traced | None, str | None]:
    """(the traced graph, None) or (None, why it could not be traced)."""
    try:
        from torch import fx

        module = fx.symbolic_trace(model)
    except Exception as exc:
        return None, f"the forward pass could not be traced with torch.fx ({reason(exc, 160)})"
    return Traced(module.graph, dict(module.named_modules())), None


def operation(node: Any, traced: Traced) -> Op:
    """Classify a node by what it calls."""
    import torch
    import torch.nn.functional as F

    if node.op == "call_module":
        module = traced.modules.get(node.target)
        return module_op(module)
    if node.op == "call_function":
        target = node.target
        if target in ADD_FUNCTIONS or target is torch.add:
            return Op("add")
        name = getattr(target, "__name__", "")
        official = target is getattr(F, name, None) or target is getattr(torch, name, None)
        if not official:
            return Op("other")
        if name in FUNCTIONS:
            entry = FUNCTIONS[name]
            key = "gelu_tanh" if name == "gelu" and node.kwargs.get("approximate") == "tanh" else entry.key
            return Op("activation", activation=key, slope=_call_slope(node, entry))
        if name in RESHAPE_FUNCTIONS:
            return Op("reshape")
        if name in DROPOUT_FUNCTIONS:
            rate = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
            training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
            return Op("dropout", rate=float(rate) if training else 0.0)
        return Op("other")
    if node.op == "call_method":
        if node.target in ADD_METHODS:
            return Op("add")
        if node.target in METHODS:
            entry = METHODS[node.target]
            return Op("activation", activation=entry.key, slope=_call_slope(node, entry))
        if node.target in RESHAPE_METHODS:
            return Op("reshape")
    return Op("other")


def module_op(module: Any) -> Op:
    """An nn module as an Op: an activation, dropout or reshape when it is one."""
    kind = type(module).__name__
    if kind in MODULES and not any(True for _ in module.parameters(recurse=False)):
        key = "gelu_tanh" if kind == "GELU" and getattr(module, "approximate", "none") == "tanh" else MODULES[kind].key
        return Op("activation", activation=key, slope=module_slope(module))
    if kind.startswith(("Dropout", "AlphaDropout", "FeatureAlphaDropout")):
        return Op("dropout", rate=float(getattr(module, "p", 0.0)))  # (probed in training mode)
    if kind in ("Flatten", "Unflatten", "Identity"):
        return Op("reshape")
    return Op("module", module=module)


def module_slope(module: Any) -> float | None:
    """The slope of LeakyReLU, ELU, CELU and RReLU (its mean slope in training), PReLU's mean weight."""
    kind = type(module).__name__
    if kind == "LeakyReLU":
        return float(module.negative_slope)
    if kind in ("ELU", "CELU"):
        return float(module.alpha)
    if kind == "RReLU":
        return (float(module.lower) + float(module.upper)) / 2
    if kind == "PReLU":
        return float(module.weight.detach().double().mean())
    return None


def _call_slope(node: Any, entry: Any) -> float | None:
    if entry.slope_param is None:
        return None
    value = node.kwargs.get(entry.slope_param)
    position = 1 + (entry.slope_position or 0)
    if value is None and len(node.args) > position:
        value = node.args[position]
    return float(value) if isinstance(value, (int, float)) else entry.default_slope


def data_input(node: Any) -> Any | None:
    """The node a one-input operation reads its tensor from."""
    first = node.args[0] if node.args else None
    return first if _is_node(first) else None


def _is_node(value: Any) -> bool:
    return type(value).__name__ == "Node" and hasattr(value, "op")


def following_activation(node: Any, traced: Traced) -> tuple[str, float | None] | None:
    """The activation the node's output meets, through dropout and reshapes; None when it meets
    anything else, or more than one consumer."""
    current = node
    for _ in range(8):
        users = list(current.users)
        if len(users) != 1:
            return None
        previous, (current,) = current, users
        op = operation(current, traced)
        if op.kind == "activation" and op.activation is not None:
            return op.activation, op.slope
        if op.kind not in ("dropout", "reshape") or data_input(current) is not previous:
            return None
    return None


def activation_after(name: str, order: list[str], modules: dict[str, Any]) -> tuple[str, float | None] | None:
    """Without a graph: the activation module called right after `name` (dropout and reshapes
    skipped), from the order the warm-up pass called the leaf modules in."""
    if name not in order:
        return None
    for later in order[order.index(name) + 1:]:
        op = module_op(modules[later])
        if op.kind == "activation" and op.activation is not None:
            return op.activation, op.slope
        if op.kind not in ("dropout", "reshape"):
            return None
    return None
