"""Functional models: follow tensors from layer to layer through assignments.

Statements are walked in order (both branches of an `if`, loop bodies twice so that what a
loop hands to its next turn is seen), recording for each tensor which calls consume it.
A tensor returned from, or passed into, one of the module's own functions is followed across
the call. Whatever the walk cannot see is recorded as an unknown consumer: gradlint does not
guess.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import Resolver, ScopeTable
from gradlint.keras_api.activations import LINEAR, activation_from_function
from gradlint.keras_api.layers import Role, layer_spec

MODEL_CLASSES = frozenset({"keras.Model", "keras.models.Model"})
INPUT_FUNCTIONS = frozenset({"keras.Input", "keras.layers.Input"})
# Reading these from a tensor does not consume it.
_BENIGN_ATTRIBUTES = frozenset({"shape", "dtype", "name", "ndim"})
_BENIGN_FUNCTIONS = frozenset({
    "tensorflow.shape", "keras.backend.int_shape", "keras.ops.shape", "print", "len",
    "keras.utils.plot_model", "isinstance",
})

Outcome = ActivationFact | None  # None: cannot be known


@dataclass(eq=False)
class FlowNode:
    """Something that produces a tensor: a layer application, an activation function, a
    merge, a function parameter, the result of a call to the module's own function."""

    kind: str
    layer: Layer | None = None
    activation: ActivationFact | None = None
    consumers: dict[int, object] = field(default_factory=dict)

    def feed(self, consumer: object) -> None:
        self.consumers[id(consumer)] = consumer


@dataclass(frozen=True, eq=False)
class _Terminal:
    kind: str  # "unknown" | "output"
    node: ast.AST | None = None


@dataclass(frozen=True, eq=False)
class _ReturnTo:
    function: ast.AST


@dataclass(frozen=True, eq=False)
class _ArgumentTo:
    function: ast.AST
    param: str


UNKNOWN_USE = _Terminal("unknown")
Env = dict[str, frozenset[FlowNode]]


class Dataflow:
    """Tensor flow of a whole module; answers what each layer application's output meets."""

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog) -> None:
        self.table = table
        self.resolver = resolver
        self.catalog = catalog
        self.nodes: dict[object, FlowNode] = {}
        self.applications: dict[int, list[FlowNode]] = {}  # id(layer.call) → its applications
        self.results: dict[int, list[FlowNode]] = {}  # id(def) → results of calls to it
        self.params: dict[tuple[int, str], FlowNode] = {}
        # (id(call), param) → the producers that one call passes for a parameter of the
        # module's own function: lets a walk backwards take the call it came through.
        self.call_arguments: dict[tuple[int, str], set[FlowNode]] = {}
        _Walker(self, None).block(module.body, {})
        for function in table.functions:
            env: Env = {}
            for param in _parameters(function):
                flow = self.node(("param", id(function), param), "param")
                self.params[(id(function), param)] = flow
                env[param] = frozenset({flow})
            _Walker(self, function).block(function.body, env)

    def node(self, key: object, kind: str, **kw: object) -> FlowNode:
        found = self.nodes.get(key)
        if found is None:
            found = self.nodes[key] = FlowNode(kind, **kw)  # type: ignore[arg-type]
        return found

    def outcomes(self, layer: Layer) -> list[Outcome]:
        """What each application of `layer` hands its output to."""
        return [o for app in self.applications.get(id(layer.call), []) for o in self._follow(app, set())]

    def is_applied(self, layer: Layer) -> bool:
        return id(layer.call) in self.applications

    def _follow(self, node: FlowNode, seen: set[int]) -> set[Outcome]:
        if id(node) in seen:
            return set()
        seen.add(id(node))
        if not node.consumers:
            return {None}
        found: set[Outcome] = set()
        for consumer in node.consumers.values():
            if isinstance(consumer, _Terminal):
                found.add(ActivationFact(LINEAR, "output", consumer.node) if consumer.kind == "output" else None)
            elif isinstance(consumer, _ReturnTo):
                results = self.results.get(id(consumer.function))
                if not results:
                    found.add(None)
                for result in results or ():
                    found |= self._follow(result, seen)
            elif isinstance(consumer, _ArgumentTo):
                param = self.params.get((id(consumer.function), consumer.param))
                found |= self._follow(param, seen) if param else {None}
            elif isinstance(consumer, FlowNode):
                found |= self._meets(consumer, seen)
        return found

    def _meets(self, consumer: FlowNode, seen: set[int]) -> set[Outcome]:
        if consumer.kind == "activation":
            return {consumer.activation}
        if consumer.kind == "merge":
            return self._follow(consumer, seen)
        if consumer.kind == "layer" and consumer.layer is not None:
            effect = self.catalog.effect_of(consumer.layer)
            if effect.kind == "transparent":
                return self._follow(consumer, seen)
            if effect.kind in ("activation", "linear"):
                return {effect.activation}
        return {None}


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


def _merge_envs(a: Env, b: Env) -> Env:
    merged = dict(a)
    for name, nodes in b.items():
        merged[name] = merged.get(name, frozenset()) | nodes
    return merged


class _Walker:
    """Walks one function body (or the module body) in statement order."""

    def __init__(self, flow: Dataflow, function: ast.AST | None) -> None:
        self.flow = flow
        self.function = function
        self.loop_layers: dict[str, Layer] = {}  # loop variables over a list of one layer

    # -- statements -------------------------------------------------------------------------
    def block(self, body: Iterable[ast.stmt], env: Env) -> Env:
        for stmt in body:
            env = self.stmt(stmt, env)
        return env

    def stmt(self, stmt: ast.stmt, env: Env) -> Env:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return env  # walked on their own
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            if stmt.value is None:
                return env
            produced = self.value(stmt.value, env)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            env = dict(env)
            for target in targets:
                if isinstance(target, ast.Name):
                    env[target.id] = produced
                else:
                    self.unknown(produced)
                    for name in _names(target):
                        env[name] = frozenset()
            return env
        if isinstance(stmt, ast.AugAssign):
            produced = self.value(stmt.value, env)
            if isinstance(stmt.target, ast.Name):
                current = env.get(stmt.target.id, frozenset())
                env = dict(env)
                if isinstance(stmt.op, ast.Add) and (current or produced):
                    merge = self.flow.node(id(stmt), "merge")
                    for node in current | produced:
                        node.feed(merge)
                    env[stmt.target.id] = frozenset({merge})
                else:
                    self.unknown(current | produced)
                    env[stmt.target.id] = frozenset()
            return env
        if isinstance(stmt, ast.Return):
            if stmt.value is not None:
                produced = self.value(stmt.value, env)
                if self.function is None:
                    self.unknown(produced)
                else:
                    for node in produced:
                        node.feed(_ReturnTo(self.function))
            return env
        if isinstance(stmt, ast.If):
            self.unknown(self.value(stmt.test, env))
            return _merge_envs(self.block(stmt.body, dict(env)), self.block(stmt.orelse, dict(env)))
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(stmt, ast.While):
                self.unknown(self.value(stmt.test, env))
            else:
                self.unknown(self.value(stmt.iter, env))
                env = dict(env)
                for name in _names(stmt.target):
                    env[name] = frozenset()
            held = self._loop_layer(stmt)
            if held is not None:
                self.loop_layers[held[0]] = held[1]
            first = _merge_envs(env, self.block(stmt.body, dict(env)))
            second = _merge_envs(env, self.block(stmt.body, dict(first)))
            if held is not None:
                del self.loop_layers[held[0]]
            return self.block(stmt.orelse, second)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.unknown(self.value(item.context_expr, env))
            return self.block(stmt.body, env)
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            env = self.block(stmt.body, env)  # type: ignore[attr-defined]
            for handler in stmt.handlers:  # type: ignore[attr-defined]
                env = self.block(handler.body, env)
            env = self.block(stmt.orelse, env)  # type: ignore[attr-defined]
            return self.block(stmt.finalbody, env)  # type: ignore[attr-defined]
        if isinstance(stmt, ast.Expr):
            self.value(stmt.value, env)  # a result nobody uses: its producers get no consumer
            return env
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self.unknown(self.value(child, env))
        return env

    # -- expressions ------------------------------------------------------------------------
    def unknown(self, nodes: Iterable[FlowNode]) -> None:
        for node in nodes:
            node.feed(UNKNOWN_USE)

    def value(self, expr: ast.AST, env: Env) -> frozenset[FlowNode]:
        """The producers of the tensor `expr` evaluates to (empty if it is none we track)."""
        if isinstance(expr, ast.Name):
            return env.get(expr.id, frozenset())
        if isinstance(expr, ast.Call):
            return self.call(expr, env)
        if isinstance(expr, ast.BinOp):
            left, right = self.value(expr.left, env), self.value(expr.right, env)
            if isinstance(expr.op, ast.Add) and (left or right):
                merge = self.flow.node(id(expr), "merge")
                for node in left | right:
                    node.feed(merge)
                return frozenset({merge})
            self.unknown(left | right)
            return frozenset()
        if isinstance(expr, ast.IfExp):
            self.unknown(self.value(expr.test, env))
            return self.value(expr.body, env) | self.value(expr.orelse, env)
        if isinstance(expr, ast.Attribute):
            inner = self.value(expr.value, env)
            if expr.attr not in _BENIGN_ATTRIBUTES:
                self.unknown(inner)
            return frozenset()
        if isinstance(expr, (ast.Lambda, ast.Constant)):
            return frozenset()
        for child in ast.iter_child_nodes(expr):
            if isinstance(child, ast.expr):
                self.unknown(self.value(child, env))
            elif isinstance(child, ast.keyword):
                self.unknown(self.value(child.value, env))
            elif isinstance(child, ast.comprehension):
                self.unknown(self.value(child.iter, env))
        return frozenset()

    def _tensor_args(self, args: Iterable[ast.AST], env: Env) -> frozenset[FlowNode]:
        """Producers of the tensors in a call's arguments, lists of tensors included."""
        found: frozenset[FlowNode] = frozenset()
        for arg in args:
            if isinstance(arg, (ast.List, ast.Tuple)):
                found |= self._tensor_args(arg.elts, env)
            elif isinstance(arg, ast.Dict):
                found |= self._tensor_args([v for v in arg.values if v is not None], env)
            elif isinstance(arg, ast.Starred):
                self.unknown(self.value(arg.value, env))
            else:
                found |= self.value(arg, env)
        return found

    def _loop_layer(self, stmt: ast.stmt) -> tuple[str, Layer] | None:
        """`for block in self.blocks:` over a list of one layer repeated: the name that holds it."""
        if not isinstance(stmt, (ast.For, ast.AsyncFor)) or not isinstance(stmt.target, ast.Name):
            return None
        table = self.flow.table
        scope = table.defs.get(id(self.function), table.module_scope) if self.function is not None else table.module_scope
        found = self.flow.catalog.container_layer(stmt.iter, scope) if isinstance(stmt.iter, (ast.Name, ast.Attribute)) else None
        return (stmt.target.id, found[0]) if found is not None else None

    def call(self, call: ast.Call, env: Env) -> frozenset[FlowNode]:
        flow = self.flow
        scope = flow.table.scope_of(call)
        layer = self.loop_layers.get(call.func.id) if isinstance(call.func, ast.Name) else None
        if layer is None and isinstance(call.func, (ast.Call, ast.Name, ast.Attribute)):
            layer = flow.catalog.layer_of(call.func, scope)
        if layer is not None:
            node = flow.node(id(call), "layer", layer=layer)
            apps = flow.applications.setdefault(id(layer.call), [])
            if node not in apps:
                apps.append(node)
            for producer in self._tensor_args(call.args, env):
                producer.feed(node)
            for kw in call.keywords:
                produced = self.value(kw.value, env)
                if kw.arg == "inputs":
                    for producer in produced:
                        producer.feed(node)
                else:
                    self.unknown(produced)
            return frozenset({node})
        qualified = flow.resolver.qualified_name(call.func, scope)
        if qualified is not None:
            handled = self._library_call(call, qualified, env)
            if handled is not None:
                return handled
        function = flow.resolver.function_def(call.func, scope)
        if function is not None:
            return self._helper_call(call, function, env)
        if isinstance(call.func, ast.Call):
            self.value(call.func, env)
        elif not isinstance(call.func, ast.Name):
            self.unknown(self.value(call.func, env))
        self.unknown(self._tensor_args(call.args, env))
        self.unknown(self._tensor_args([k.value for k in call.keywords], env))
        return frozenset()

    def _library_call(self, call: ast.Call, qualified: str, env: Env) -> frozenset[FlowNode] | None:
        flow = self.flow
        if qualified in _BENIGN_FUNCTIONS:
            self._tensor_args([*call.args, *(k.value for k in call.keywords)], env)
            return frozenset()
        activation = activation_from_function(qualified)
        if activation is not None and call.args:
            node = flow.node(id(call), "activation", activation=ActivationFact(activation, "layer", call))
            for producer in self.value(call.args[0], env):
                producer.feed(node)
            self.unknown(self._tensor_args([*call.args[1:], *(k.value for k in call.keywords)], env))
            return frozenset({node})
        spec = layer_spec(qualified)
        if spec is not None and spec.role is Role.MERGE and call.args:
            node = flow.node(id(call), "merge")
            for producer in self._tensor_args(call.args[:1], env):
                producer.feed(node)
            return frozenset({node})
        if qualified in MODEL_CLASSES:
            outputs = next((k.value for k in call.keywords if k.arg == "outputs"), None)
            if outputs is None and len(call.args) >= 2:
                outputs = call.args[1]
            if outputs is not None:
                for producer in self._tensor_args([outputs], env):
                    producer.feed(_Terminal("output", call))
            rest = [a for a in call.args if a is not outputs] + [k.value for k in call.keywords if k.value is not outputs]
            self._tensor_args(rest, env)
            return frozenset()
        if qualified in INPUT_FUNCTIONS:
            return frozenset({flow.node(id(call), "input")})
        return None

    def _helper_call(self, call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef,
                     env: Env) -> frozenset[FlowNode]:
        flow = self.flow
        params = _parameters(function)
        for index, arg in enumerate(call.args):
            produced = self.value(arg, env) if not isinstance(arg, ast.Starred) else frozenset()
            if index < len(params) and not isinstance(arg, ast.Starred):
                flow.call_arguments.setdefault((id(call), params[index]), set()).update(produced)
                for producer in produced:
                    producer.feed(_ArgumentTo(function, params[index]))
            else:
                self.unknown(produced)
        for kw in call.keywords:
            produced = self.value(kw.value, env)
            if kw.arg in params:
                flow.call_arguments.setdefault((id(call), kw.arg), set()).update(produced)
                for producer in produced:
                    producer.feed(_ArgumentTo(function, kw.arg))
            else:
                self.unknown(produced)
        result = flow.node(id(call), "result")
        results = flow.results.setdefault(id(function), [])
        if result not in results:
            results.append(result)
        return frozenset({result})


def _names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
