"""PyTorch models in one module: the torch.nn layers constructed, and the order in which
`nn.Sequential` containers and `nn.Module.forward()` bodies apply them.

The layers become `Layer` facts with the Keras-equivalent spec of `torch_api/layers.py`, and
the order becomes the same stacks (graph/stacks.py) and destinations (graph/guards.py) the
Keras side builds, so the rules and the signal model read PyTorch models as they read Keras
ones. What a forward() does is followed through a small interpretation of its statements: a
tensor is the node that made it, and each application, activation, residual add or return is
a node consuming the ones it reads. Anything else is an opaque node: where a layer's output
goes through one, nothing is concluded.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.graph.facts import ActivationFact, ArgSource, Layer
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
from gradlint.graph.torch_init import TorchInitializers, default_initializer
from gradlint.graph.values import call_argument, constant_value
from gradlint.keras_api.layers import Role
from gradlint.torch_api.activations import (
    METHODS,
    TorchActivation,
    activation_function,
    activation_module,
)
from gradlint.torch_api.layers import (
    MODULE_BASES,
    MODULE_DICT,
    MODULE_LIST,
    ORDERED_DICT,
    SEQUENTIAL,
    TorchLayer,
    torch_layer,
)

if TYPE_CHECKING:
    from gradlint.graph.source import SourceText

# Calls that hand their first argument's signal on unchanged in scale, as far as the stacks
# are concerned (reshapes, pooling, dropout at inference-time view).
_PASS_FUNCTIONS = frozenset({
    *(f"torch.nn.functional.{name}" for name in (
        "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
        "adaptive_max_pool2d", "adaptive_max_pool3d", "dropout", "dropout1d", "dropout2d", "dropout3d",
        "pad", "interpolate",
    )),
    "torch.flatten", "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.permute", "torch.transpose",
})
_PASS_METHODS = frozenset({
    "view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze", "view_as",
    "reshape_as", "expand", "expand_as", "mean",
})
_MAX_INLINE = 4  # submodule classes inlined into a forward(), at most this deep

@dataclass(frozen=True)
class AssignSite:
    """`self.fc1 = nn.Linear(...)` (or `fc = nn.Linear(...)`): where a fix can add a line."""

    statement: ast.stmt
    target: ast.expr


class TorchGraph:
    """Every torch.nn layer of the module, the stacks its models form, and where each
    layer's output goes."""

    def __init__(self, tree: ast.Module, scopes: ScopeTable, resolver: Resolver, source: SourceText) -> None:
        self.tree = tree
        self.scopes = scopes
        self.resolver = resolver
        self.source = source
        self.layers: list[Layer] = []
        self.by_call: dict[int, Layer] = {}
        self.activations: dict[int, Act] = {}  # id(call) → an activation module
        self.assign_sites: dict[int, AssignSite] = {}  # id(layer call) → its assignment
        self.paths: dict[int, str] = {}  # id(layer call) → how code reaches it: self.features[0]
        self.classes: dict[str, ast.ClassDef] = {}
        self.attrs: dict[int, dict[str, object]] = {}  # id(class) → self.X → module value
        # Every value __init__ may give self.X (several behind if/else: then attrs has None).
        self.attr_values: dict[int, dict[str, list[object]]] = {}
        self.nodes: dict[int, list[Node]] = {}  # id(layer call) → its applications
        self.stacks: list[Stack] = []
        # Each model class's forward() input (classes other classes hold as submodules aside).
        self.model_inputs: list[tuple[ast.ClassDef, Node]] = []
        self._inlining: list[int] = []
        self._standalone = False  # reading a submodule class's forward() on its own
        self._fanned: list[tuple[Layer, TorchLayer]] = []
        # Classes deriving from a torch layer: name → (its entry, the class, the torch class name).
        self.layer_classes: dict[str, tuple[TorchLayer, ast.ClassDef, str]] = {}
        self.torch_class: dict[int, str] = {}  # id(layer call) → the torch.nn class it is an instance of
        self._callers: dict[str, list[ast.Call]] = {}  # calls of a plain name: a class's or function's
        if "torch" not in source.text:
            return
        self._find_layers()
        if not self.layers and not self.activations:
            return
        self._find_classes()
        for layer, entry in self._fanned:
            layer.fan_in, layer.fan_out = self._fans(layer, entry)
        for cls in self.classes.values():
            self._read_init(cls)
        self.inits = TorchInitializers(self)
        self.inits.read()
        self._read_models()
        self._settle()

    # -- layers ------------------------------------------------------------------------------
    def owns(self, layer: Layer) -> bool:
        return id(layer.call) in self.by_call

    def _find_layer_classes(self) -> None:
        """Module-level classes deriving from a torch layer (`class ScaledLinear(nn.Linear)`):
        their instances are that layer, initialized by their `reset_parameters` if they
        override it; one that defines its own `__init__` has arguments gradlint cannot place."""
        changed = True
        while changed:
            changed = False
            for node in self.tree.body:
                if not isinstance(node, ast.ClassDef) or node.name in self.layer_classes:
                    continue
                scope = self.scopes.scope_of(node)
                for base in node.bases:
                    name = self.resolver.qualified_name(base, scope) or ""
                    entry = torch_layer(name)
                    inherited = self.layer_classes.get(base.id) if isinstance(base, ast.Name) else None
                    if entry is not None or inherited is not None:
                        torch_name = name.rsplit(".", 1)[1] if entry is not None else inherited[2]  # type: ignore[index]
                        self.layer_classes[node.name] = (entry or inherited[0], node, torch_name)  # type: ignore[index]
                        changed = True
                        break

    def _find_layers(self) -> None:
        self._find_layer_classes()
        for node in self.scopes.calls:  # (every call, in source order: no second walk of the tree)
            if isinstance(node.func, ast.Name):
                self._callers.setdefault(node.func.id, []).append(node)
                own = self.layer_classes.get(node.func.id)
                if own is not None:
                    self._add_layer(node, f"{own[1].name}", own[0], self.scopes.scope_of(node), own[2],
                                    positional=self._own_init(own[1]) is None)
                    continue
            scope = self.scopes.scope_of(node)
            name = self.resolver.qualified_name(node.func, scope)
            if name is None or not name.startswith("torch."):
                continue
            entry = torch_layer(name)
            if entry is not None:
                self._add_layer(node, name, entry, scope)
                continue
            act = activation_module(name)
            if act is not None:
                self.activations[id(node)] = Act(self._activation_fact(act, node, scope))

    def _own_init(self, cls: ast.ClassDef) -> ast.FunctionDef | None:
        """The `__init__` a layer class (or a layer class it derives from) defines."""
        classes = {name: found for name, (_, found, _) in self.layer_classes.items()}
        return class_method(classes, cls, "__init__")

    def _add_layer(self, call: ast.Call, name: str, entry: TorchLayer, scope: Scope, torch_name: str | None = None,
                   positional: bool = True) -> None:
        layer = Layer(call, name.rsplit(".", 1)[-1], entry.spec, scope, [ArgSource(call)])
        self.torch_class[id(call)] = torch_name or layer.class_name
        if entry.fans is not None:
            layer.initializer = default_initializer()
            layer.initializer_home = call
            if positional:  # (a class with its own __init__: where its arguments go is not known)
                self._fanned.append((layer, entry))
        self.layers.append(layer)
        self.by_call[id(call)] = layer

    def _fans(self, layer: Layer, entry: TorchLayer) -> tuple[int | None, int | None]:
        """Fans as torch computes them for the weight: in/groups × kernel area, out × area
        (a transposed convolution's weight is (in, out/groups, *k): the two swap)."""
        fans = entry.fans
        assert fans is not None

        def number(param: str | None) -> int | None:
            if param is None:
                return None
            found = layer.argument(param)
            value = self.value(found[0], layer.scope) if found else None
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

        area: int | None = 1
        if fans.kernel_dims:
            found = layer.argument("kernel_size")
            value = self.value(found[0], layer.scope) if found else None
            if isinstance(value, int) and not isinstance(value, bool):
                area = value ** fans.kernel_dims
            elif isinstance(value, tuple) and len(value) == fans.kernel_dims and all(isinstance(v, int) for v in value):
                area = math.prod(value)
            else:
                area = None
        groups_found = layer.argument("groups")
        groups = self.value(groups_found[0], layer.scope) if groups_found else 1
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            groups = None
        inner, outer = number(fans.fan_in_param), number(fans.fan_out_param)
        if fans.transposed:
            inner, outer = (outer // groups if outer is not None and groups else None), inner
        elif inner is not None:
            inner = inner // groups if groups else None
        if area is None:
            return None, None
        return (inner * area if inner else None), (outer * area if outer else None)

    def value(self, expr: ast.expr, scope: Scope, depth: int = 0) -> object:
        """A constant, integer arithmetic on constants, or a parameter of the enclosing
        `__init__` (or function) that every call of it in the module gives the same value."""
        found = constant_value(expr, scope, self.resolver)
        if isinstance(found, (int, float, str, tuple)) or depth > 3:
            return found
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            left, right = self.value(expr.left, scope, depth), self.value(expr.right, scope, depth)
            if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool) \
                    and not isinstance(right, bool) and (right != 0 or not isinstance(expr.op, ast.FloorDiv)):
                return {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}.get(
                    type(expr.op), left // right if right else None)
            return None
        if isinstance(expr, ast.Name):
            return self._parameter_value(expr.id, scope, depth)
        return None

    def range_count(self, expr: ast.expr, scope: Scope) -> int | None:
        """How many turns `range(...)` makes, its arguments read as `value()` reads them
        (constructor parameters included, which values.range_length does not read)."""
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "range"
                and 1 <= len(expr.args) <= 3 and not expr.keywords):
            return None
        values = [self.value(a, scope) for a in expr.args]
        bounds = [b for b in values if isinstance(b, int) and not isinstance(b, bool)]
        if len(bounds) != len(values):
            return None
        return len(range(*bounds)) if bounds[-1] != 0 or len(bounds) < 3 else None

    def _parameter_value(self, name: str, scope: Scope, depth: int) -> object:
        current: Scope | None = scope
        while current is not None and not isinstance(current.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(current.node, (ast.Module, ast.ClassDef)):
                return None
            current = current.parent  # (a comprehension inside the function)
        if current is None or not isinstance(current.node, ast.FunctionDef) \
                or len(current.bindings.get(name, [])) != 1:
            return None  # (not a parameter, or one the function assigns again)
        scope, function = current, current.node
        args = function.args
        params = [a.arg for a in args.args]
        if name not in params or args.vararg is not None and name == args.vararg.arg:
            return None
        owner = self.scopes.class_of(scope)
        callee = owner.name if owner is not None and function.name == "__init__" else (
            function.name if owner is None else None)
        if callee is None:
            return None
        index = params.index(name) - (1 if owner is not None else 0)
        defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
        values = []
        for call in self._callers.get(callee, []):
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return None
            given = call_argument(call, name, index if index >= 0 else None)
            where = self.scopes.scope_of(call)
            if given is None and name in defaults:
                given, where = defaults[name], self.scopes.scope_of(function)
            value = self.value(given, where, depth + 1) if given is not None else None
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            values.append(value)
        return values[0] if values and len(set(values)) == 1 else None

    def _activation_fact(self, act: TorchActivation, call: ast.Call, scope: Scope, skip: int = 0) -> ActivationFact:
        slope = act.default_slope
        if act.slope_param is not None:
            slope = activation_slope(call, act.slope_param, (act.slope_position or 0) + skip, slope, scope,
                                     self.resolver)
        return ActivationFact(act.key, "layer", call, slope=slope)

    # -- classes -----------------------------------------------------------------------------
    def _find_classes(self) -> None:
        """Module-level classes that derive from nn.Module (or from one of those)."""
        self.classes.update(module_classes(self.tree, self.scopes, self.resolver, MODULE_BASES))

    def method(self, cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
        return class_method(self.classes, cls, name)

    def _read_init(self, cls: ast.ClassDef) -> None:
        attrs = self.attrs.setdefault(id(cls), {})
        values = self.attr_values.setdefault(id(cls), {})
        init = self.method(cls, "__init__")
        if init is None:
            return
        scope = self.scopes.defs.get(id(init), self.scopes.module_scope)
        for statement, targets, value in assignments(init):
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    value_of = self.module_value(value, scope, cls)
                    seen = values.setdefault(target.attr, [])
                    seen.append(value_of)
                    # Assigned more than once (`self.rnn = nn.LSTM(...)` or `nn.GRU(...)` by a
                    # test): which one forward() applies is not known.
                    attrs[target.attr] = value_of if len(seen) == 1 else None
                    self._record_paths(value_of, f"self.{target.attr}")
                    if isinstance(value, ast.Call) and id(value) in self.by_call and len(targets) == 1:
                        self.assign_sites[id(value)] = AssignSite(statement, target)
                elif isinstance(target, ast.Name) and isinstance(value, ast.Call) and id(value) in self.by_call \
                        and len(targets) == 1:
                    self.assign_sites[id(value)] = AssignSite(statement, target)
        self._read_appends(init, scope, cls, attrs, values)

    def _read_appends(self, init: ast.FunctionDef, scope: Scope, cls: ast.ClassDef, attrs: dict[str, object],
                      values: dict[str, list[object]]) -> None:
        """`self.body = nn.Sequential()` and then `self.body.add_module(...)`, `.append(...)`: it
        holds what is added, not what it was built with. An empty container that only
        `append()` fills, in __init__'s own statements or once in a `for _ in range(N)` loop
        there, holds those modules (N times over); any other change makes it unknown."""
        calls: dict[str, list[tuple[ast.Call, ast.AST | None]]] = {}
        todo: list[tuple[ast.AST, ast.AST | None]] = [(s, None) for s in init.body]
        while todo:
            node, loop = todo.pop()
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                owner = node.func.value
                if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self":
                    calls.setdefault(owner.attr, []).append((node, loop))
            inner = loop
            if isinstance(node, ast.For):
                inner = node if loop is None else _UNCOUNTED  # nested loops: how often is not read
            elif isinstance(node, (ast.While, ast.If, ast.Try, ast.With, ast.FunctionDef, ast.Lambda)):
                inner = _UNCOUNTED
            todo.extend((child, inner) for child in ast.iter_child_nodes(node))
        for name, found in calls.items():
            attrs[name] = None
            start = values.get(name, [])
            if len(start) != 1 or not (isinstance(start[0], Seq) and not start[0].items):
                continue
            if not all(isinstance(c.func, ast.Attribute) and c.func.attr == "append" and len(c.args) == 1
                       for c, _ in found):
                continue
            loops = {id(l) for _, l in found if l is not None}
            if not loops:
                items = [self.module_value(c.args[0], scope, cls) for c, _ in
                         sorted(found, key=lambda f: (f[0].lineno, f[0].col_offset))]
                attrs[name] = Seq(items)
            elif len(found) == 1 and isinstance(found[0][1], ast.For) and not found[0][1].orelse:
                count = self.range_count(found[0][1].iter, scope)
                attrs[name] = Seq([self.module_value(found[0][0].args[0], scope, cls)], repeat=count)
            values.setdefault(name, []).append(attrs[name])

    def module_value(self, expr: ast.AST | None, scope: Scope, cls: ast.ClassDef | None, depth: int = 0) -> object:
        """What a module expression stands for: a Layer, an Act, a Seq, an Instance, or None."""
        if expr is None or depth > 6:
            return None
        if isinstance(expr, ast.Call):
            key = id(expr)
            if key in self.by_call:
                return self.by_call[key]
            if key in self.activations:
                return self.activations[key]
            name = self.resolver.qualified_name(expr.func, scope)
            if name == SEQUENTIAL:
                return self._sequential(expr, scope, cls, depth)
            if name == MODULE_LIST:
                return self._list_value(expr.args[0], scope, cls, depth) if expr.args else Seq([])
            if name == MODULE_DICT:
                return self._dict_value(expr, scope, cls, depth)
            if isinstance(expr.func, ast.Name) and expr.func.id in self.classes:
                return Instance(self.classes[expr.func.id])
            return self._factory_value(expr, scope, cls, depth)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self" \
                and cls is not None:
            return self.attrs.get(id(cls), {}).get(expr.attr)
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is not None and found[0] is not expr:
                return self.module_value(found[0], found[1], cls, depth + 1)
            return None
        if isinstance(expr, ast.Subscript):
            inner = self.module_value(expr.value, scope, cls, depth + 1)
            return item_at(inner, constant_value(expr.slice, scope, self.resolver))
        return None

    def _factory_value(self, call: ast.Call, scope: Scope, cls: ast.ClassDef | None, depth: int) -> object:
        """`conv_bn(3, 32)` or `self._block(64)`: a function of the module (or a method of the
        class) whose one `return` builds a module."""
        function: ast.FunctionDef | None = None
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self" \
                and cls is not None:
            function = self.method(cls, func.attr)
        elif isinstance(func, ast.Name):
            found = self.resolver.function_def(func, scope)
            function = found if isinstance(found, ast.FunctionDef) else None
        if function is None:
            return None
        returns = [n for n in ast.walk(function) if isinstance(n, ast.Return)]
        if len(returns) != 1 or returns[0].value is None:
            return None
        inner = self.scopes.defs.get(id(function), scope)
        return self.module_value(returns[0].value, inner, cls, depth + 1)

    def _record_paths(self, value: object, path: str) -> None:
        if isinstance(value, Layer):
            self.paths.setdefault(id(value.call), path)
        elif isinstance(value, Seq) and value.repeat != 1 and len(value.items) == 1:
            self._record_paths(value.items[0], f"{path}[i]")
        elif isinstance(value, Seq) and value.repeat == 1:
            position = 0
            for index, item in enumerate(value.items):
                if isinstance(item, Seq) and item.spliced:
                    flat = _spliced_items(item)
                    for inner in flat or []:
                        self._record_paths(inner, f"{path}[{position}]")
                        position += 1
                    if flat is None:  # a loop's modules: no one place; what follows, counted past them
                        length = _spliced_length(item)
                        if length is None:
                            return
                        position += length
                    continue
                name = value.names[index] if value.names else None
                self._record_paths(item, f"{path}.{name}" if name and name.isidentifier() else f"{path}[{position}]")
                position += 1

    def _sequential(self, call: ast.Call, scope: Scope, cls: ast.ClassDef | None, depth: int) -> Seq:
        items: list[object] = []
        args = call.args
        if len(args) == 1 and isinstance(args[0], ast.Call) and \
                self.resolver.qualified_name(args[0].func, scope) in ORDERED_DICT:
            listed = args[0].args[0] if args[0].args else None
            if isinstance(listed, (ast.List, ast.Tuple)):
                names: list[str | None] = []
                for pair in listed.elts:
                    key = pair.elts[0] if isinstance(pair, ast.Tuple) and pair.elts else None
                    names.append(key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None)
                    if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                        items.append(self.module_value(pair.elts[1], scope, cls, depth + 1))
                    else:
                        items.append(None)
                return Seq(items, names=names)
            return Seq([None])
        for arg in args:
            if isinstance(arg, ast.Starred):
                inner = self._list_value(arg.value, scope, cls, depth)
                items.append(Seq(inner.items, inner.repeat, inner.names, spliced=True) if isinstance(inner, Seq) else inner)
            else:
                items.append(self.module_value(arg, scope, cls, depth + 1))
        return Seq(items)

    def _appended(self, name: str, start: ast.AST, scope: Scope, cls: ast.ClassDef | None, depth: int) -> Seq | None:
        """`layers = []` filled by `layers.append(m)`, `layers.extend([...])` or `layers += [...]`
        in the function's own statements, or inside one `for _ in range(N)` there: the modules
        in order, a loop's N times over. Any other change (or a loop of unknown length) is
        unknown."""
        function = scope.node
        if not isinstance(start, ast.List) or start.elts or not isinstance(function, (ast.FunctionDef, ast.Module)):
            return None
        items: list[object] = []
        uses = 0

        def added(statement: ast.stmt) -> list[ast.expr] | None:
            """What one statement adds to the list (None: not an addition to it)."""
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                call = statement.value
                if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
                        and call.func.value.id == name and len(call.args) == 1 and not call.keywords:
                    if call.func.attr == "append":
                        return [call.args[0]]
                    if call.func.attr == "extend" and isinstance(call.args[0], (ast.List, ast.Tuple)):
                        return list(call.args[0].elts)
            if isinstance(statement, ast.AugAssign) and isinstance(statement.op, ast.Add) \
                    and isinstance(statement.target, ast.Name) and statement.target.id == name \
                    and isinstance(statement.value, (ast.List, ast.Tuple)):
                return list(statement.value.elts)
            return None

        for statement in function.body:
            found = added(statement)
            if found is not None:
                items.extend(self.module_value(e, scope, cls, depth + 1) for e in found)
                uses += 1
            elif isinstance(statement, ast.For) and not statement.orelse:
                inner = [added(s) for s in statement.body]
                if not any(i is not None for i in inner):
                    continue
                if any(i is None for i in inner):
                    return None  # the loop does more than add to the list
                count = self.range_count(statement.iter, scope)
                inner_items = [self.module_value(e, scope, cls, depth + 1) for i in inner for e in i or []]
                items.append(Seq(inner_items, repeat=count, spliced=True))
                uses += len(inner)
        mutations = sum(1 for n in ast.walk(function) if _grows(n, name))
        return Seq(items) if mutations == uses else None

    def _dict_value(self, call: ast.Call, scope: Scope, cls: ast.ClassDef | None, depth: int) -> Seq | None:
        """`nn.ModuleDict({"enc": ..., "dec": ...})`: its modules in insertion order, by key."""
        given = call.args[0] if len(call.args) == 1 and not call.keywords else None
        if not isinstance(given, ast.Dict) or any(k is None for k in given.keys):
            return None
        names = [k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None for k in given.keys]
        return Seq([self.module_value(v, scope, cls, depth + 1) for v in given.values], names=names)

    def _list_value(self, expr: ast.AST, scope: Scope, cls: ast.ClassDef | None, depth: int) -> object:
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope) or _started_empty(expr.id, scope)
            if found is None:
                return None
            if _mutated(expr.id, found[1]):
                # A list built by append() holds what is added, not the literal it starts as.
                return self._appended(expr.id, found[0], found[1], cls, depth)
            expr, scope = found
        if isinstance(expr, (ast.List, ast.Tuple)):
            return Seq([self.module_value(e, scope, cls, depth + 1) for e in expr.elts])
        if isinstance(expr, ast.ListComp) and len(expr.generators) == 1 and not expr.generators[0].ifs:
            count = self.range_count(expr.generators[0].iter, scope)
            inner_scope = self.scopes.scope_of(expr.elt) if isinstance(expr.elt, ast.Call) else scope
            return Seq([self.module_value(expr.elt, inner_scope, cls, depth + 1)], repeat=count)
        return None

    # -- models ------------------------------------------------------------------------------
    def _read_models(self) -> None:
        """Each class's forward(), and each Sequential bound to a module-level name. What a
        class's forward() returns is the model's output, unless another class holds it as a
        submodule (then where it goes is its caller's, seen when the caller is read)."""
        submodules = {id(v.cls) for values in self.attr_values.values() for vs in values.values()
                      for item in vs for v in _instances(item)}
        for cls in self.classes.values():
            forward = self.method(cls, "forward")
            if forward is None or not forward.args.args:
                continue
            params = [a.arg for a in forward.args.args[1:]]
            env = {p: Node(INPUT) for p in params}
            inner = id(cls) in submodules
            if params and not inner:
                self.model_inputs.append((cls, env[params[0]]))
            self._standalone = inner
            try:
                returned = self._run_forward(cls, forward, env)
            finally:
                self._standalone = False
            for node in returned:
                Node.make(OTHER if inner else END, [node])
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                value = self.module_value(statement.value, self.scopes.module_scope, None)
                if _mutated(statement.targets[0].id, self.scopes.module_scope):
                    value = None  # built up by add_module()/append() after this
                self._record_paths(value, statement.targets[0].id)
                if isinstance(statement.value, ast.Call) and id(statement.value) in self.by_call:
                    self.assign_sites[id(statement.value)] = AssignSite(statement, statement.targets[0])
                if isinstance(value, Seq):
                    Node.make(END, [self.apply(value, Node(INPUT), None)])
        functions = [f for f in self.tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        sequentials = self._sequential_calls() if functions else set()
        used_inside = self._calls_inside_modules(sequentials) if functions else set()
        for function in functions:
            if function.name not in used_inside:
                self._read_built(function, sequentials)

    def _read_built(self, function: ast.FunctionDef | ast.AsyncFunctionDef, sequentials: set[int]) -> None:
        """`def build_model(): model = nn.Sequential(...); return model` (or `return
        nn.Sequential(...)`): a model built in a module-level function, whose input is the
        data and whose output the model's."""
        scope = self.scopes.defs.get(id(function), self.scopes.module_scope)
        for statement in function.body:
            target: ast.Name | None = None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                    and isinstance(statement.targets[0], ast.Name):
                target, built = statement.targets[0], statement.value
            elif isinstance(statement, ast.Return) and statement.value is not None:
                built = statement.value
            else:
                continue
            if not isinstance(built, ast.Call) or id(built) not in sequentials:
                continue
            value = self.module_value(built, scope, None)
            if target is not None and _mutated(target.id, scope):
                continue  # built up by add_module()/append() after this
            if isinstance(value, Seq):
                self._record_paths(value, target.id if target is not None else "model")
                if target is not None:
                    self.assign_sites[id(built)] = AssignSite(statement, target)  # type: ignore[arg-type]
                Node.make(END, [self.apply(value, Node(INPUT), None)])

    def _calls_inside_modules(self, sequentials: set[int]) -> set[str]:
        """Names of functions called in a class body or method, or inside an `nn.Sequential(...)`:
        they build a part of a model (a block), whose input and output are the caller's."""
        found = set()
        inner = {id(node) for call in self.scopes.calls if id(call) in sequentials
                 for node in ast.walk(call) if node is not call}
        for call in self.scopes.calls:
            if not isinstance(call.func, ast.Name):
                continue
            scope: Scope | None = self.scopes.scope_of(call)
            while scope is not None and not isinstance(scope.node, ast.ClassDef):
                scope = scope.parent
            if scope is not None or id(call) in inner:
                found.add(call.func.id)
        return found

    def _sequential_calls(self) -> set[int]:
        """The module's calls that build an `nn.Sequential`."""
        return {id(call) for call in self.scopes.calls
                if self.resolver.qualified_name(call.func, self.scopes.scope_of(call)) == SEQUENTIAL}

    def _run_forward(self, cls: ast.ClassDef, forward: ast.FunctionDef, env: dict[str, Node],
                     repeat: int | None = 1) -> list[Node]:
        run = _ForwardRun(self, cls, self.scopes.defs.get(id(forward), self.scopes.module_scope))
        run.repeat = repeat  # (inlined inside a loop: what it applies repeats with it)
        run.env.update(env)
        run.body(forward.body)
        return run.returned

    def apply(self, value: object, node: Node, cls: ast.ClassDef | None, repeat: int | None = 1,
              solo: bool = True) -> Node:
        """The node a module value makes of its input."""
        if isinstance(value, Layer):
            kind = WEIGHTED if value.spec.role is Role.WEIGHTED else LAYER
            made = Node.make(kind, [node], layer=value, repeat=repeat, standalone=self._standalone, solo=solo)
            self.nodes.setdefault(id(value.call), []).append(made)
            return made
        if isinstance(value, Act):
            return Node.make(ACT, [node], activation=value.fact, repeat=repeat)
        if isinstance(value, Seq):
            turns = times(value.repeat, repeat)
            if value.repeat != 1:
                weighted = [i for i in value.items if isinstance(i, Layer) and i.spec.role is Role.WEIGHTED]
                solo = solo and len(weighted) <= 1
            for item in value.items:
                node = self.apply(item, node, cls, turns, solo)
            return node
        if isinstance(value, Instance) and len(self._inlining) < _MAX_INLINE and id(value.cls) not in self._inlining:
            forward = self.method(value.cls, "forward")
            if forward is not None and len(forward.args.args) >= 2:
                self._inlining.append(id(value.cls))
                try:
                    returned = self._run_forward(value.cls, forward, {forward.args.args[1].arg: node}, repeat)
                finally:
                    self._inlining.pop()
                if len(returned) == 1:
                    return returned[0]
                return Node.make(OTHER, returned)
        return Node.make(OTHER, [node])

    # -- facts -------------------------------------------------------------------------------
    def _settle(self) -> None:
        """Each layer's following activation, and the stacks."""
        for layer in self.layers:
            fact = agreed_following(self.applications(layer))[1]
            if fact is not None:
                layer.following = fact
        starts = [node for layer in self.layers for node in self.applications(layer) if node.kind == WEIGHTED]
        # A submodule class applied several times makes the same stack each time: once.
        self.stacks = stacks_from(starts, unique=True)

    def destinations(self, layer: Layer) -> list[tuple[str, Layer | None]]:
        """Where each application's output goes, past homogeneous steps (graph/guards.py's kinds)."""
        return [found for node in self.applications(layer) for found in destinations_from(node)]

    def applications(self, layer: Layer) -> list[Node]:
        """The layer's applications: those its callers make, else those of its class read alone."""
        nodes = self.nodes.get(id(layer.call), [])
        called = [n for n in nodes if not n.standalone]
        return called or nodes

    def all_layers(self, value: object, seen: set[int] | None = None) -> list[Layer]:
        """Every layer a module value holds, submodules included (what `.modules()` visits)."""
        seen = set() if seen is None else seen
        if isinstance(value, Layer):
            return [value]
        if isinstance(value, Seq):
            return [layer for item in value.items for layer in self.all_layers(item, seen)]
        if isinstance(value, Instance):
            if id(value.cls) in seen:
                return []
            seen.add(id(value.cls))
            return [layer for items in self.attr_values.get(id(value.cls), {}).values()
                    for item in items for layer in self.all_layers(item, seen)]
        return []


_MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "reverse", "sort", "add_module",
                       "register_module"})
# Where an append sits inside a loop whose count is not read (a nested loop, a while, a branch):
# any node that is not an ast.For says so.
_UNCOUNTED: ast.AST = ast.Pass()


def _started_empty(name: str, scope: Scope) -> tuple[ast.AST, Scope] | None:
    """`name = []` as the only plain assignment of `name` in the function (or module) holding
    `scope`, where `name += [...]` binds it again."""
    while scope.parent is not None and not isinstance(scope.node, (ast.FunctionDef, ast.Module)):
        scope = scope.parent
    holder = scope.node
    if not isinstance(holder, (ast.FunctionDef, ast.Module)):
        return None
    starts = [s for s in ast.walk(holder) if isinstance(s, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == name for t in s.targets)]
    if len(starts) != 1 or len(starts[0].targets) != 1 or starts[0] not in holder.body:
        return None
    return starts[0].value, scope


def _grows(node: ast.AST, name: str) -> bool:
    """`name.append(...)` (or another mutating method) or `name += ...`."""
    if isinstance(node, ast.Call):
        func = node.func
        return isinstance(func, ast.Attribute) and func.attr in _MUTATORS \
            and isinstance(func.value, ast.Name) and func.value.id == name
    return isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name


def _mutated(name: str, scope: Scope) -> bool:
    """The list `name` names in this scope is changed after it is built: `name.append(...)`,
    `name += [...]`, `name[i] = ...`."""
    for node in ast.walk(scope.node):
        if _grows(node, name):
            return True
        if isinstance(node, (ast.Assign, ast.Delete)) and any(
                isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name
                for t in getattr(node, "targets", [])):
            return True
    return False


def _spliced_items(seq: Seq) -> list[object] | None:
    """A spliced list's modules in the positions they take, its own spliced lists flattened;
    None where a loop repeats some (their count, and so what follows, is not placed)."""
    if seq.repeat != 1:
        return None
    found: list[object] = []
    for item in seq.items:
        if isinstance(item, Seq) and item.spliced:
            inner = _spliced_items(item)
            if inner is None:
                return None
            found.extend(inner)
        else:
            found.append(item)
    return found


def _spliced_length(seq: Seq) -> int | None:
    """How many positions a spliced list takes, loops counted; None where a count is unknown."""
    if seq.repeat is None:
        return None
    total = 0
    for item in seq.items:
        inner = _spliced_length(item) if isinstance(item, Seq) and item.spliced else 1
        if inner is None:
            return None
        total += inner
    return total * seq.repeat


def _instances(value: object) -> list[Instance]:
    if isinstance(value, Instance):
        return [value]
    if isinstance(value, Seq):
        return [i for item in value.items for i in _instances(item)]
    return []


class _ForwardRun(BodyRun[Node]):
    """One interpretation of a forward() body: local names → nodes (tensors) or module values."""

    def __init__(self, graph: TorchGraph, cls: ast.ClassDef, scope: Scope) -> None:
        super().__init__(cls, scope)
        self.graph = graph
        self.indexed: dict[str, object] = {}  # `self.convs[i]` in an indexed loop → this turn's module

    def merge(self, op: ast.operator, left: Node, right: Node) -> Node:
        return Node.make(ADD if isinstance(op, ast.Add) else OTHER, [left, right], repeat=self.repeat)

    def opaque(self, values: list[Node | None]) -> Node:
        return Node.make(OTHER, [v for v in values if v is not None])

    def loop(self, node: ast.For) -> None:
        """`for layer in self.layers: x = layer(x)`: the body once per module the container
        holds (once, N times over, for a comprehension's); any other loop's names are opaque."""
        container, target = dict_iteration(self.graph, node.iter, node.target, self.scope, self.cls)
        if isinstance(container, Seq) and isinstance(target, ast.Name) and not node.orelse:
            for item in container.items:
                self.modules[target.id] = item
                outer = self.repeat
                self.repeat = times(container.repeat, outer)
                self.body(node.body)
                self.repeat = outer
            self.modules.pop(target.id, None)
            return
        if self._indexed_loop(node):
            return
        self.branches([node.body, []])

    def _indexed_loop(self, node: ast.For) -> bool:
        """`for i in range(len(self.convs)): x = F.relu(self.bns[i](self.convs[i](x)))`: the
        containers indexed by the loop variable, walked together, position by position (once, N
        times over, for comprehension-made ones of the same N)."""
        if not isinstance(node.target, ast.Name) or node.orelse:
            return False
        index = node.target.id
        containers: dict[str, Seq] = {}
        for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Name) and sub.slice.id == index:
                value = self.graph.module_value(sub.value, self.scope, self.cls)
                if not isinstance(value, Seq) or value.names is not None:
                    return False  # indexes something that is not a module list
                containers[ast.dump(sub.value)] = value
            elif isinstance(sub, ast.Name) and sub.id == index and not _subscript_index(sub, node.body):
                return False  # the index is used otherwise: its value matters
        if not containers:
            return False
        seqs = list(containers.values())
        lengths = {len(s.items) for s in seqs}
        repeats = {s.repeat for s in seqs}
        count = self.graph.range_count(node.iter, self.scope)
        if len(lengths) != 1 or len(repeats) != 1:
            return False
        length, repeat = lengths.pop(), repeats.pop()
        turns = length * (repeat or 0) if repeat != 1 else length
        if count is not None and repeat is not None and count != turns:
            return False  # a range over some of the layers only
        outer = self.repeat
        for position in range(length):
            self.indexed = {key: seq.items[position] for key, seq in containers.items()}
            self.repeat = times(repeat, outer)
            self.body(node.body)
        self.indexed = {}
        self.repeat = outer
        return True

    def call(self, node: ast.Call) -> Node:
        graph = self.graph
        func = node.func
        first = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
        module = None
        if isinstance(func, ast.Name) and func.id in self.modules:
            module = self.modules[func.id]
        elif isinstance(func, ast.Subscript) and self.indexed and ast.dump(func.value) in self.indexed:
            module = self.indexed[ast.dump(func.value)]
        elif isinstance(func, (ast.Attribute, ast.Call, ast.Subscript)) and not is_tensor_method(func, self.env, _PASS_METHODS):
            module = graph.module_value(func, self.scope, self.cls)
        if module is not None and first is not None:
            return graph.apply(module, self.expr(first), self.cls, self.repeat)
        name = graph.resolver.qualified_name(func, self.scope) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if name is not None and first is not None:
            act = activation_function(name)
            if act is not None:
                fact = graph._activation_fact(act, node, self.scope, skip=1)
                return Node.make(ACT, [self.expr(first)], activation=fact, repeat=self.repeat)
            if name in _PASS_FUNCTIONS:
                return self.expr(first)
        if isinstance(func, ast.Attribute) and is_tensor_method(func, self.env, _PASS_METHODS):
            receiver = self.expr(func.value)
            act = METHODS.get(func.attr)
            if act is not None:
                return Node.make(ACT, [receiver], activation=ActivationFact(act.key, "layer", node), repeat=self.repeat)
            if func.attr in _PASS_METHODS:
                return receiver
            return Node.make(OTHER, [receiver])
        inputs = [self.expr(a) for a in node.args] + [self.expr(k.value) for k in node.keywords]
        return Node.make(OTHER, inputs)


def dict_iteration(graph: TorchGraph, iterable: ast.expr, target: ast.expr, scope: Scope,
                   cls: ast.ClassDef | None) -> tuple[object, ast.expr]:
    """What `for <target> in <iterable>` runs over, and the name bound to each module:
    `self.blocks`, `self.heads.values()`, `for name, head in self.heads.items()`."""
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) and not iterable.args \
            and iterable.func.attr in ("values", "items"):
        container = graph.module_value(iterable.func.value, scope, cls)
        if iterable.func.attr == "items":
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                return None, target
            target = target.elts[1]
        return container, target
    return graph.module_value(iterable, scope, cls), target


def _subscript_index(name: ast.Name, body: list[ast.stmt]) -> bool:
    """The name is the index of a subscript somewhere in body (`self.convs[i]`)."""
    return any(isinstance(n, ast.Subscript) and n.slice is name for s in body for n in ast.walk(s))
