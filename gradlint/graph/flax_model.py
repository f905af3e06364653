"""Flax models in one module (linen and NNX): the layers constructed, and the order in which
`nn.Sequential`/`nnx.Sequential` and `__call__` bodies apply them.

The layers become `Layer` facts with the Keras-equivalent spec of `flax_api/layers.py`, and the
order becomes the same stacks (graph/stacks.py) and destinations (graph/guards.py) the Keras
and PyTorch sides build, through the nodes of graph/module_walk.py. A `__call__` is
interpreted statement by statement: linen's `@nn.compact` bodies construct and apply layers
inline (`x = nn.Dense(128)(x)`), linen's `setup()` and NNX's `__init__` assign them to `self.X`
for `__call__` to apply. A tensor carries its width where known (the features of the layer
that made it), which gives a linen `Dense(features)` its fan-in; NNX layers name theirs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.flax_api.activations import (
    POOLING,
    RESHAPE_METHODS,
    RESHAPES,
    FlaxActivation,
    activation_function,
)
from gradlint.flax_api.layers import (
    LIFTS,
    LISTS,
    MODULE_BASES,
    RECURRENT_NAMES,
    SEQUENTIAL,
    FlaxLayer,
    class_name,
    flax_layer,
)
from gradlint.graph.facts import ActivationFact, ArgSource, Layer
from gradlint.graph.flax_init import read_initializer
from gradlint.graph.flax_values import ClassArguments, class_scope_of
from gradlint.graph.module_walk import (
    ACT,
    ADD,
    END,
    INPUT,
    LAYER,
    OTHER,
    WEIGHTED,
    Act,
    BodyRun,
    Instance,
    Node,
    Seq,
    activation_slope,
    agreed_following,
    assignments,
    class_method,
    destinations_from,
    is_tensor_method,
    item_at,
    module_classes,
    stacks_from,
    times,
)
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.stacks import Stack
from gradlint.graph.values import constant_value, range_length
from gradlint.keras_api.layers import Role

if TYPE_CHECKING:
    from gradlint.graph.source import SourceText

_MAX_INLINE = 4  # submodule classes inlined into a __call__, at most this deep
Value = tuple[Node, "int | None"]  # a tensor: the node that made it, and its width where known


@dataclass(frozen=True)
class Application:
    """One application of a layer: the width of what it received, and whether it was seen
    inside another module's __call__ (a submodule) or in its class's own, read alone."""

    width: int | None
    repeat: int | None
    inlined: bool = False


class FlaxGraph:
    """Every Flax layer of the module, the stacks its models form, where each layer's output
    goes, and the recurrent classes it names."""

    def __init__(self, tree: ast.Module, scopes: ScopeTable, resolver: Resolver, source: SourceText) -> None:
        self.tree = tree
        self.scopes = scopes
        self.resolver = resolver
        self.source = source
        self.layers: list[Layer] = []
        self.by_call: dict[int, Layer] = {}
        self.entries: dict[int, FlaxLayer] = {}  # id(layer call) → its table entry
        self.classes: dict[str, ast.ClassDef] = {}
        self.attrs: dict[int, dict[str, object]] = {}  # id(class) → self.X → module value
        self.nodes: dict[int, list[Node]] = {}  # id(layer call) → its applications
        self.applied: dict[int, list[Application]] = {}
        self.stacks: list[Stack] = []
        self.recurrent: list[tuple[str, ast.Name | ast.Attribute]] = []  # (nn.LSTMCell, the name's node) wherever named
        self._inlining: list[int] = []
        if "flax" not in source.text:
            return
        self._find_layers()
        if not self.layers and not self.recurrent:
            return
        self._find_classes()
        self.arguments = ClassArguments(scopes, resolver, self.classes)
        for layer in self.layers:
            entry = self.entries[id(layer.call)]
            if entry.fans is not None:
                layer.fan_in, layer.fan_out = self._fans(layer, entry)
        for cls in self.classes.values():
            self._read_attributes(cls)
        self._read_models()
        self._settle()

    def owns(self, layer: Layer) -> bool:
        return id(layer.call) in self.by_call

    # -- layers ------------------------------------------------------------------------------
    def _find_layers(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                self._note_recurrent(node)
            if not isinstance(node, ast.Call):
                continue
            scope = self.scopes.scope_of(node)
            name = self.resolver.qualified_name(node.func, scope)
            partial = None
            if name is None and isinstance(node.func, ast.Name):
                partial, name = self._partial_of(node.func, scope)
            if name is None or not name.startswith("flax."):
                continue
            entry = flax_layer(name)
            if entry is not None:
                self._add_layer(node, name, entry, scope, partial)

    def _partial_of(self, func: ast.Name, scope: Scope) -> tuple[ast.Call | None, str | None]:
        """`conv = functools.partial(nn.Conv, use_bias=False)`, then `conv(64, (3, 3))`: the
        partial and the class it fixes arguments of."""
        found = self.resolver.assigned_value(func.id, scope)
        if found is None or not isinstance(found[0], ast.Call) or not found[0].args:
            return None, None
        call, where = found
        assert isinstance(call, ast.Call)
        if self.resolver.qualified_name(call.func, where) != "functools.partial" \
                or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return None, None
        name = self.resolver.qualified_name(call.args[0], where)
        return (call, name) if name is not None and flax_layer(name) is not None else (None, None)

    def _note_recurrent(self, node: ast.Name | ast.Attribute) -> None:
        if isinstance(node, ast.Attribute) and node.attr not in RECURRENT_NAMES:
            return
        if isinstance(node, ast.Name) and node.id not in RECURRENT_NAMES:
            return
        name = self.resolver.qualified_name(node, self.scopes.scope_of(node))
        if name is None:
            return
        entry = flax_layer(name)
        if entry is not None and entry.spec.recurrent:
            self.recurrent.append((class_name(name), node))

    def _add_layer(self, call: ast.Call, name: str, entry: FlaxLayer, scope: Scope,
                   partial: ast.Call | None = None) -> None:
        sources = [ArgSource(call)]
        if partial is not None:  # the partial's arguments first, the call's after them
            sources = [ArgSource(partial, skip=1), ArgSource(call, offset=len(partial.args) - 1)]
        layer = Layer(call, class_name(name), entry.spec, scope, sources)
        if entry.fans is not None:
            fact, unknown = read_initializer(layer, self.scopes, self.resolver, self.source.segment)
            layer.initializer = fact
            layer.initializer_home = call
            if fact is None:
                layer.unknown_reason = ("initializer-unknown", unknown)
        self.layers.append(layer)
        self.by_call[id(call)] = layer
        self.entries[id(call)] = entry

    def _number(self, layer: Layer, param: str | None) -> int | None:
        """A positive int (or the product of a tuple of them) passed for `param`."""
        if param is None:
            return None
        found = layer.argument(param)
        if found is None:
            return None
        scope = layer.scope if found[1].call is layer.call else self.scopes.scope_of(found[1].call)
        value = self.arguments.value(found[0], scope)
        if isinstance(value, tuple) and value and all(_positive(v) for v in value):
            product = 1
            for v in value:
                product *= v
            return product
        return value if _positive(value) else None

    def _fans(self, layer: Layer, entry: FlaxLayer) -> tuple[int | None, int | None]:
        """JAX's fans for the kernel: in × receptive field, out × receptive field (a linen
        layer's input width is set when it is seen applied)."""
        fans = entry.fans
        assert fans is not None
        area: int | None = self._number(layer, "kernel_size") if fans.conv else 1
        if area is None:
            return None, None
        inner, outer = self._number(layer, fans.fan_in_param), self._number(layer, fans.fan_out_param)
        return (inner * area if inner else None), (outer * area if outer else None)

    def _width_after(self, layer: Layer) -> int | None:
        """The width (last axis) of a weighted layer's output."""
        entry = self.entries.get(id(layer.call))
        if entry is None or entry.fans is None:
            return None
        return self._number(layer, entry.fans.fan_out_param)

    def activation_fact(self, act: FlaxActivation, call: ast.Call | None, node: ast.AST, scope: Scope) -> ActivationFact:
        """The activation applied by `call` (None: given uncalled, with its default slope)."""
        slope = act.default_slope
        if act.slope_param is not None and call is not None:
            slope = activation_slope(call, act.slope_param, (act.slope_position or 0) + 1, slope, scope, self.resolver)
        return ActivationFact(act.key, "layer", node, slope=slope)

    # -- classes -----------------------------------------------------------------------------
    def _find_classes(self) -> None:
        """Module-level classes that derive from nn.Module or nnx.Module (or from one of those)."""
        self.classes.update(module_classes(self.tree, self.scopes, self.resolver, MODULE_BASES))

    def method(self, cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
        return class_method(self.classes, cls, name)

    def _read_attributes(self, cls: ast.ClassDef) -> None:
        """`self.X = …` in linen's setup() or NNX's __init__, and class fields with a module
        default (`act: Callable = nn.relu`)."""
        attrs = self.attrs.setdefault(id(cls), {})
        counts: dict[str, int] = {}
        class_scope = class_scope_of(self.scopes, cls)
        for statement in cls.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                    and statement.value is not None:
                value = self._field_module(cls, statement.target.id, class_scope)
                if value is not None:
                    attrs[statement.target.id] = value
        for method in ("setup", "__init__"):
            function = self.method(cls, method)
            if function is None:
                continue
            scope = self.scopes.defs.get(id(function), self.scopes.module_scope)
            for _, targets, value in assignments(function):
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id == "self":
                        counts[target.attr] = counts.get(target.attr, 0) + 1
                        # Assigned more than once (behind an if): which one __call__ applies is not known.
                        attrs[target.attr] = self.module_value(value, scope, cls) if counts[target.attr] == 1 else None

    def _field_module(self, cls: ast.ClassDef, name: str, scope: Scope) -> object:
        """A field's activation (`act: Callable = nn.relu`), where every instantiation in the
        module leaves it or passes the same one."""
        given = self.arguments.given(ast.Attribute(value=ast.Name(id="self"), attr=name), scope)
        values = [self.module_value(expr, where, cls) for expr, where in given or []]
        acts = [v for v in values if isinstance(v, Act)]
        if not values or len(acts) != len(values) or len({a.fact.name for a in acts}) != 1:
            return None
        return values[0]

    def module_value(self, expr: ast.AST | None, scope: Scope, cls: ast.ClassDef | None, depth: int = 0) -> object:
        """What a module expression stands for: a Layer, an Act, a Seq, an Instance, or None."""
        if expr is None or depth > 6:
            return None
        if isinstance(expr, ast.Call):
            if id(expr) in self.by_call:
                return self.by_call[id(expr)]
            name = self.resolver.qualified_name(expr.func, scope)
            if name in SEQUENTIAL:
                if len(expr.args) == 1 and not expr.keywords and isinstance(expr.args[0], (ast.List, ast.Tuple, ast.Name)):
                    return self._list_value(expr.args[0], scope, cls, depth)  # linen: a list
                return Seq([self._list_value(a.value, scope, cls, depth) if isinstance(a, ast.Starred)
                            else self.module_value(a, scope, cls, depth + 1) for a in expr.args])  # nnx: positional
            if name in LISTS and len(expr.args) == 1:  # nnx.List([...])
                return self._list_value(expr.args[0], scope, cls, depth)
            if name == "functools.partial" and expr.args:
                return self._partial_activation(expr, scope)
            if isinstance(expr.func, ast.Name) and expr.func.id in self.classes:
                return Instance(self.classes[expr.func.id])
            lifter = expr.func if isinstance(expr.func, ast.Call) and expr.func.args else None
            lifted = lifter.args[0] if lifter is not None else None
            if lifter is not None and isinstance(lifted, ast.Name) and lifted.id in self.classes \
                    and self.resolver.qualified_name(lifter.func, scope) in LIFTS:  # nn.remat(Block)(64)
                return Instance(self.classes[lifted.id])
            return None
        if isinstance(expr, (ast.Name, ast.Attribute)):
            name = self.resolver.qualified_name(expr, scope)
            act = activation_function(name) if name is not None else None
            if act is not None:
                return Act(self.activation_fact(act, None, expr, scope))
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self" \
                and cls is not None:
            return self.attrs.get(id(cls), {}).get(expr.attr)
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is not None and found[0] is not expr:
                return self.module_value(found[0], found[1], cls, depth + 1)
            return None
        if isinstance(expr, (ast.List, ast.Tuple, ast.ListComp)):
            return self._list_value(expr, scope, cls, depth)
        if isinstance(expr, ast.Subscript):
            inner = self.module_value(expr.value, scope, cls, depth + 1)
            return item_at(inner, constant_value(expr.slice, scope, self.resolver))
        return None

    def _partial_activation(self, call: ast.Call, scope: Scope) -> object:
        """`functools.partial(nn.leaky_relu, negative_slope=0.2)`: the activation, its slope given."""
        name = self.resolver.qualified_name(call.args[0], scope)
        act = activation_function(name) if name is not None else None
        if act is None or len(call.args) > 1:
            return None
        fact = self.activation_fact(act, None, call, scope)
        given = next((k.value for k in call.keywords if k.arg == act.slope_param), None) if act.slope_param else None
        if given is not None:
            value = constant_value(given, scope, self.resolver)
            slope = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            fact = ActivationFact(fact.name, fact.source, fact.node, slope=slope)
        return Act(fact)

    def _list_value(self, expr: ast.AST, scope: Scope, cls: ast.ClassDef | None, depth: int) -> object:
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is None:
                return None
            expr, scope = found
        if isinstance(expr, (ast.List, ast.Tuple)):
            if any(isinstance(e, ast.Starred) for e in expr.elts):
                return None
            return Seq([self.module_value(e, scope, cls, depth + 1) for e in expr.elts])
        if isinstance(expr, ast.ListComp) and len(expr.generators) == 1 and not expr.generators[0].ifs:
            count = range_length(expr.generators[0].iter, scope, self.resolver)
            inner_scope = self.scopes.scope_of(expr.elt) if isinstance(expr.elt, ast.Call) else scope
            return Seq([self.module_value(expr.elt, inner_scope, cls, depth + 1)], repeat=count)
        return None

    # -- models ------------------------------------------------------------------------------
    def _read_models(self) -> None:
        """Each class's __call__, and each Sequential bound to a module-level name."""
        for cls in self.classes.values():
            call = self.method(cls, "__call__")
            if call is None or not call.args.args:
                continue
            env: dict[str, Value] = {a.arg: (Node(INPUT), None) for a in call.args.args[1:]}
            for node, _ in self._run_call(cls, call, env):
                Node.make(END, [node])
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                value = self.module_value(statement.value, self.scopes.module_scope, None)
                if isinstance(value, Seq):
                    Node.make(END, [self.apply(value, (Node(INPUT), None), None)[0]])

    def _run_call(self, cls: ast.ClassDef, function: ast.FunctionDef, env: dict[str, Value]) -> list[Value]:
        run = _CallRun(self, cls, self.scopes.defs.get(id(function), self.scopes.module_scope))
        run.env.update(env)
        run.body(function.body)
        return run.returned

    def apply(self, value: object, given: Value, cls: ast.ClassDef | None, repeat: int | None = 1) -> Value:
        """What a module value makes of its input."""
        node, width = given
        if isinstance(value, Layer):
            kind = WEIGHTED if value.spec.role is Role.WEIGHTED else LAYER
            made = Node.make(kind, [node], layer=value, repeat=repeat)
            self.nodes.setdefault(id(value.call), []).append(made)
            if kind == WEIGHTED:
                self.applied.setdefault(id(value.call), []).append(Application(width, repeat, bool(self._inlining)))
                return made, self._width_after(value)
            return made, width
        if isinstance(value, Act):
            return Node.make(ACT, [node], activation=value.fact), width
        if isinstance(value, Seq):
            turns = times(value.repeat, repeat)
            current = given
            for item in value.items:
                current = self.apply(item, current, cls, turns)
            return current
        if isinstance(value, Instance) and len(self._inlining) < _MAX_INLINE and id(value.cls) not in self._inlining:
            call = self.method(value.cls, "__call__")
            if call is not None and len(call.args.args) >= 2:
                self._inlining.append(id(value.cls))
                try:
                    returned = self._run_call(value.cls, call, {call.args.args[1].arg: given})
                finally:
                    self._inlining.pop()
                if len(returned) == 1:
                    return returned[0]
                return Node.make(OTHER, [n for n, _ in returned]), None
        return Node.make(OTHER, [node]), None

    # -- facts -------------------------------------------------------------------------------
    def _settle(self) -> None:
        """Each layer's fan-in (linen), following activation, and the stacks."""
        for layer in self.layers:
            entry = self.entries[id(layer.call)]
            if entry.fans is not None and entry.fans.fan_in_param is None and entry.fans.received:
                self._settle_fan_in(layer)
            facts, fact = agreed_following(self.nodes.get(id(layer.call), []))
            if fact is not None:
                layer.following = fact
                if layer.unknown_reason is not None and layer.unknown_reason[0] != "initializer-unknown":
                    layer.unknown_reason = None
            elif layer.unknown_reason is None and layer.spec.role is Role.WEIGHTED:
                names = {f.name for f in facts if f is not None}
                layer.unknown_reason = ("outputs-disagree", " and ".join(sorted(names))) if len(names) > 1 else \
                    ("output-opaque", "") if facts else ("output-unseen", "")
        starts = [node for nodes in self.nodes.values() for node in nodes if node.kind == WEIGHTED]
        self.stacks = stacks_from(starts)

    def _settle_fan_in(self, layer: Layer) -> None:
        """A linen layer's fan-in: the width it receives in every application (× its kernel
        area); a loop's later turns receive its own output, so they must match too."""
        widths: set[int | None] = set()
        applications = self.applied.get(id(layer.call), [])
        if any(a.inlined for a in applications):
            # A submodule class's __call__ read alone has an input of no known width: where
            # the module applies the class, the width it gets is the one seen there.
            applications = [a for a in applications if a.inlined or a.width is not None]
        for application in applications:
            widths.add(application.width)
            if application.repeat != 1:
                widths.add(self._width_after(layer))
        if len(widths) != 1 or None in widths or layer.fan_out is None:
            return
        width = widths.pop()
        outer = self._width_after(layer)
        area = layer.fan_out // outer if outer else None
        layer.fan_in = width * area if width and area else None

    def destinations(self, layer: Layer) -> list[tuple[str, Layer | None]]:
        """Where each application's output goes, past homogeneous steps (graph/guards.py's kinds)."""
        from gradlint.graph.guards import OTHER as ELSEWHERE

        found: list[tuple[str, Layer | None]] = []
        for node in self.nodes.get(id(layer.call), []):
            found.extend(destinations_from(node))
            if node.repeat != 1:  # a loop's earlier turns feed its next turn, not what follows the loop
                found.append((ELSEWHERE, layer))
        return found


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class _CallRun(BodyRun[Value]):
    """One interpretation of a __call__ body: local names → tensors or module values."""

    def __init__(self, graph: FlaxGraph, cls: ast.ClassDef, scope: Scope) -> None:
        super().__init__(cls, scope)
        self.graph = graph

    def assign(self, targets: list[ast.expr], value: ast.expr) -> None:
        module = self._module_of(value)
        if module is not None and len(targets) == 1 and isinstance(targets[0], ast.Name):
            self.modules[targets[0].id] = module  # `dense = nn.Dense(128)`, applied below
            self.env.pop(targets[0].id, None)
            return
        super().assign(targets, value)

    def _module_of(self, expr: ast.expr) -> object:
        """A module an assignment binds (a layer constructed, a Sequential, an activation given
        uncalled), not a tensor an application computes."""
        if isinstance(expr, ast.Call) and (id(expr) in self.graph.by_call or not self._applies(expr)):
            return self.graph.module_value(expr, self.scope, self.cls)
        if isinstance(expr, (ast.Name, ast.Attribute)) and not (isinstance(expr, ast.Name) and expr.id in self.env):
            value = self.graph.module_value(expr, self.scope, self.cls)
            return value if isinstance(value, (Layer, Act, Seq, Instance)) else None
        return None

    def _applies(self, call: ast.Call) -> bool:
        """`nn.Dense(8)(x)`, `self.fc(x)`, `layer(x)`: a module applied (not constructed)."""
        return isinstance(call.func, ast.Call) or self._module_callee(call.func) is not None

    def _module_callee(self, func: ast.expr) -> object:
        if isinstance(func, ast.Name) and func.id in self.modules:
            return self.modules[func.id]
        if isinstance(func, ast.Name) and func.id in self.env:
            return None
        if isinstance(func, (ast.Attribute, ast.Call, ast.Subscript)) and not is_tensor_method(func, self.env, RESHAPE_METHODS):
            return self.graph.module_value(func, self.scope, self.cls)
        return None

    def loop(self, node: ast.For) -> None:
        """`for layer in self.layers: x = layer(x)`: the body once per module the list holds;
        `for _ in range(n)` or `for feat in self.features` around inline layers (a compact
        body's stack): the body once, standing for its turns (n, or a count not known)."""
        container = self.graph.module_value(node.iter, self.scope, self.cls)
        if isinstance(container, Seq) and isinstance(node.target, ast.Name) and not node.orelse:
            for item in container.items:
                self.modules[node.target.id] = item
                outer = self.repeat
                self.repeat = container.repeat if outer == 1 else None
                self.body(node.body)
                self.repeat = outer
            self.modules.pop(node.target.id, None)
            return
        inline = any(id(c) in self.graph.by_call for s in node.body for c in ast.walk(s) if isinstance(c, ast.Call))
        if inline and not node.orelse:
            count = range_length(node.iter, self.scope, self.graph.resolver)
            outer = self.repeat
            self.repeat = count if outer == 1 else None
            if isinstance(node.target, ast.Name):
                self.env.pop(node.target.id, None)
            self.body(node.body)
            self.repeat = outer
            return
        self.branches([node.body, []])

    def bind(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            self.modules.pop(target.id, None)
        super().bind(target, value)

    def merge(self, op: ast.operator, left: Value, right: Value) -> Value:
        if isinstance(op, ast.Add):
            width = left[1] if left[1] == right[1] else None
            return Node.make(ADD, [left[0], right[0]]), width
        return Node.make(OTHER, [left[0], right[0]]), None

    def opaque(self, values: list[Value | None]) -> Value:
        return Node.make(OTHER, [v[0] for v in values if v is not None]), None

    def call(self, node: ast.Call) -> Value:
        graph = self.graph
        func = node.func
        first = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
        name = graph.resolver.qualified_name(func, self.scope) if isinstance(func, (ast.Name, ast.Attribute)) else None
        act = activation_function(name) if name is not None else None
        if act is not None and first is not None:
            fact = graph.activation_fact(act, node, node, self.scope)
            given = self.expr(first)
            return Node.make(ACT, [given[0]], activation=fact), given[1]
        module = self._module_callee(func)
        if module is not None and first is not None:
            return graph.apply(module, self.expr(first), self.cls, self.repeat)
        if name is not None and first is not None:
            if name in POOLING:
                return self.expr(first)
            if name in RESHAPES:
                return self.expr(first)[0], None
        if isinstance(func, ast.Attribute) and is_tensor_method(func, self.env, RESHAPE_METHODS):
            receiver = self.expr(func.value)
            if func.attr in RESHAPE_METHODS:
                return receiver[0], None
            return Node.make(OTHER, [receiver[0]]), None
        inputs = [self.expr(a)[0] for a in node.args] + [self.expr(k.value)[0] for k in node.keywords]
        return Node.make(OTHER, inputs), None
