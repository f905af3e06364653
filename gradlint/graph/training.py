"""Training: which models are recurrent, how they are compiled, and custom training steps.

The facts the clipping rules read. A model is followed from where it is trained
(`model.compile(...)`, `model.trainable_variables`) back to what builds it: a Sequential list
or `.add()` chain, a functional `Model(inputs, outputs)` (walking the dataflow backwards from
its outputs), a Model subclass, or one of the module's own functions returning one of these.
An optimizer is followed to its constructor call or string. Whatever cannot be followed is
unknown, and unknown is never judged.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from gradlint.graph.dataflow import MODEL_CLASSES, Dataflow, FlowNode, _ArgumentTo, _ReturnTo, _Terminal
from gradlint.graph.facts import Layer
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import BindingKind, Resolver, Scope, ScopeTable
from gradlint.graph.sequential import SEQUENTIAL, SequentialContexts
from gradlint.graph.values import constant_value, has_splat
from gradlint.keras_api.layers import Role
from gradlint.keras_api.optimizers import (
    CLIP_ARGUMENTS,
    DEFAULT_OPTIMIZER,
    MAX_JUDGED_POSITIONAL,
    OPTIMIZER_WRAPPERS,
    is_gradient_clip,
    optimizer_class,
    optimizer_from_string,
)

_CLONE = frozenset({"keras.models.clone_model"})
_VARIABLE_ATTRIBUTES = frozenset({"trainable_variables", "trainable_weights"})
_TF_GRADIENTS = frozenset({"tensorflow.gradients", "tensorflow.compat.v1.gradients"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_GRADIENT_CALLS = frozenset({"gradient", "gradients"})  # tape.gradient, tf.gradients
_MAX_DEPTH = 8


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """One model: the call or class that builds it, and a recurrent layer in it, if any."""

    node: ast.AST  # the Sequential / Model call, or the ClassDef of a subclass
    recurrent: Layer | None
    custom_compile: bool = False  # a subclass with its own compile(): not Keras' signature


@dataclass(frozen=True, eq=False)
class OptimizerFact:
    """An optimizer, as far as it is known where it is built.

    kind: "call" (a Keras optimizer constructor), "string" (`"adam"`) or "default" (compile()
    without one: Keras' unclipped "rmsprop"). `node` is the constructor call, the string literal
    or the compile call.
    """

    kind: str
    node: ast.AST
    class_name: str
    clipped: bool


@dataclass(frozen=True, eq=False)
class CompileFact:
    """A `<model>.compile(...)` call."""

    call: ast.Call
    models: tuple[ModelInfo, ...]  # empty: the model is not known
    optimizer: OptimizerFact | None  # None: cannot be known statically
    argument: ast.expr | None  # the optimizer argument as written
    keras_compile: bool  # Keras' own compile(), not a subclass's override

    @property
    def recurrent(self) -> Layer | None:
        return _earliest(m.recurrent for m in self.models)


@dataclass(frozen=True, eq=False)
class TrainingStep:
    """An `optimizer.apply_gradients(...)` of a recurrent model with gradients from a tape that
    no clip function touches."""

    call: ast.Call
    recurrent: Layer
    optimizers: tuple[OptimizerFact | None, ...]  # what the receiver can be; None: unknown
    from_compile: bool  # the optimizer is the one a recurrent model's compile() gave it: GL201's
    gradients: ast.Name | None  # the gradient variable handed to apply_gradients
    assignment: ast.Assign | None  # its last assignment before the call, where a clip can go


def recurrent_layer(layer: Layer, catalog: LayerCatalog, depth: int = 0) -> Layer | None:
    """`layer` if it is recurrent or wraps a recurrent layer (Bidirectional, TimeDistributed)."""
    if layer.spec.recurrent:
        return layer
    if layer.spec.role is Role.WRAPPER and depth < _MAX_DEPTH:
        inner = _wrapped(layer, catalog)
        if inner is not None and recurrent_layer(inner, catalog, depth + 1) is not None:
            return layer
    return None


def describe(layer: Layer, catalog: LayerCatalog, depth: int = 0) -> str:
    """How a message names a recurrent layer: "LSTM", "Bidirectional(GRU)"."""
    if layer.spec.role is Role.WRAPPER and depth < _MAX_DEPTH:
        inner = _wrapped(layer, catalog)
        if inner is not None:
            return f"{layer.class_name}({describe(inner, catalog, depth + 1)})"
    return layer.class_name


def _wrapped(layer: Layer, catalog: LayerCatalog) -> Layer | None:
    call = layer.call
    expr = next((k.value for k in call.keywords if k.arg == "layer"), None)
    if expr is None and call.args and not isinstance(call.args[0], ast.Starred):
        expr = call.args[0]
    return catalog.layer_of(expr, layer.scope) if expr is not None else None


def _position(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


def _earliest(layers) -> Layer | None:
    found = [layer for layer in layers if layer is not None]
    return min(found, key=lambda la: _position(la.call)) if found else None


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


@dataclass(frozen=True, eq=False)
class _ClassInfo:
    node: ast.ClassDef
    keras: bool  # subclasses a Keras Model or Layer
    recurrent: Layer | None
    custom_compile: bool


class Training:
    """Models, compile() calls and custom training steps of one module."""

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog,
                 sequential: SequentialContexts, dataflow: Dataflow) -> None:
        self.module = module
        self.table = table
        self.resolver = resolver
        self.catalog = catalog
        self.sequential = sequential
        self.dataflow = dataflow
        self._classes: dict[int, _ClassInfo | None] = {}
        self._functional: dict[int, Layer | None] = {}
        self._sites: dict[int, list[tuple[ast.Call, int]]] = {}
        self._classes_in_progress = 0  # while one is worked out, answers that use it are partial
        self._bindings_by_owner: dict[int, dict[str, list[tuple[ast.stmt, ast.AST | None]]]] = {}

    # -- what the rules read ------------------------------------------------------------------
    @cached_property
    def compiles(self) -> list[CompileFact]:
        return [fact for call in self._method_calls("compile") if (fact := self._compile(call))]

    @cached_property
    def steps(self) -> list[TrainingStep]:
        calls = sorted([*self._method_calls("apply_gradients"), *self._method_calls("apply")], key=_position)
        return [step for call in calls if (step := self._step(call))]

    def models_of(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[ModelInfo]:
        """The models an expression can denote; empty when none is known."""
        if depth > _MAX_DEPTH:
            return []
        if isinstance(expr, ast.Call):
            return self._models_of_call(expr, scope, depth)
        if isinstance(expr, ast.Name):
            found = self.value_of(expr, scope)
            if found is not None:
                return self.models_of(found[0], found[1], depth + 1)
            return [m for value, where in self._parameter_values(expr.id, scope, depth)
                    for m in self.models_of(value, where, depth + 1)]
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._class_of_self(expr.value)
            if cls is not None:
                return [m for value, where in self._self_attribute(cls, expr.attr)
                        for m in self.models_of(value, where, depth + 1)]
        return []

    def value_of(self, name: ast.Name, scope: Scope) -> tuple[ast.AST, Scope] | None:
        """What `name` holds where it is used: its one assignment, or, when it is assigned
        several times in the scope of the use, the last assignment that surely runs before."""
        found = self.resolver.assigned_value(name.id, scope)
        if found is not None:
            return found
        bindings = scope.bindings.get(name.id)
        if not bindings or scope.is_class:
            return None
        if any(b.kind is not BindingKind.ASSIGN or b.node is None for b in bindings):
            return None
        use = _position(name)
        before = [b.node for b in bindings if b.node is not None and self._statement_end(b.node) <= use]
        if not before:
            return None
        value = max(before, key=_position)
        statement = self._statement(value)
        if statement is None or not self._dominates(statement, name):
            return None
        return value, scope

    def optimizer_of(self, expr: ast.AST, scope: Scope, follow_parameters: bool = False,
                     depth: int = 0) -> list[OptimizerFact | None]:
        """The optimizers an expression can be (None: one that cannot be known)."""
        if depth > _MAX_DEPTH:
            return [None]
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            name = optimizer_from_string(expr.value)
            return [OptimizerFact("string", expr, name, False)] if name else [None]
        if isinstance(expr, ast.Call):
            qualified = self.resolver.qualified_name(expr.func, scope)
            if qualified is None:
                return [None]
            if qualified in OPTIMIZER_WRAPPERS:
                param, index = OPTIMIZER_WRAPPERS[qualified]
                inner = next((k.value for k in expr.keywords if k.arg == param), None)
                if inner is None and len(expr.args) > index and not isinstance(expr.args[index], ast.Starred):
                    inner = expr.args[index]
                return self.optimizer_of(inner, scope, follow_parameters, depth + 1) if inner else [None]
            name = optimizer_class(qualified)
            clipped = self._clips(expr, scope) if name else None
            return [OptimizerFact("call", expr, name, clipped)] if name and clipped is not None else [None]
        if isinstance(expr, ast.Name):
            found = self.value_of(expr, scope)
            if found is not None:
                return self.optimizer_of(found[0], found[1], follow_parameters, depth + 1)
            if follow_parameters:
                values = self._parameter_values(expr.id, scope, depth)
                if values:
                    return [f for value, where in values
                            for f in self.optimizer_of(value, where, True, depth + 1)]
            return [None]
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self._class_of_self(expr.value)
            if cls is not None:
                values = self._self_attribute(cls, expr.attr)
                if values:
                    return [f for value, where in values
                            for f in self.optimizer_of(value, where, follow_parameters, depth + 1)]
        return [None]

    def compiled_optimizers(self, models: list[ModelInfo]) -> tuple[list[OptimizerFact | None], bool]:
        """What Keras' compile() gives these models as `model.optimizer` (None: unknown), and
        whether every such compile() is one of a recurrent model, which GL201 judges."""
        nodes = {id(m.node) for m in models}
        found = [c for c in self.compiles if c.keras_compile and any(id(m.node) in nodes for m in c.models)]
        if not found:
            return [None], False
        return [c.optimizer for c in found], all(c.recurrent is not None for c in found)

    # -- compile() ---------------------------------------------------------------------------
    def _method_calls(self, name: str) -> list[ast.Call]:
        return [n for n in self.table.calls if isinstance(n.func, ast.Attribute) and n.func.attr == name]

    def _compile(self, call: ast.Call) -> CompileFact | None:
        receiver = call.func.value  # type: ignore[attr-defined]
        scope = self.table.scope_of(call)
        is_super = (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
                    and receiver.func.id == "super")
        if is_super or (isinstance(receiver, ast.Name) and receiver.id == "self"):
            cls = self._enclosing_class(call)
            info = self._class_info(cls) if cls is not None else None
            if info is None or not info.keras:
                return None
            models: tuple[ModelInfo, ...] = (ModelInfo(info.node, info.recurrent, info.custom_compile),)
            keras_compile = is_super or not info.custom_compile
        else:
            models = tuple(self.models_of(receiver, scope))
            if not models:
                return None
            keras_compile = not any(m.custom_compile for m in models)
        argument = next((k.value for k in call.keywords if k.arg == "optimizer"), None)
        if argument is None and call.args and not isinstance(call.args[0], ast.Starred):
            argument = call.args[0]
        optimizer: OptimizerFact | None = None
        if argument is not None:
            found = self.optimizer_of(argument, scope)
            optimizer = found[0] if len(found) == 1 else None
        elif not has_splat(call) and not call.args and not is_super:
            optimizer = OptimizerFact("default", call, DEFAULT_OPTIMIZER, False)
        return CompileFact(call, models, optimizer, argument, keras_compile)

    def _clips(self, call: ast.Call, scope: Scope) -> bool | None:
        """Whether an optimizer constructor clips; None when that cannot be known."""
        for kw in call.keywords:
            if kw.arg in CLIP_ARGUMENTS and constant_value(kw.value, scope, self.resolver) is not None:
                return True
        if has_splat(call) or len(call.args) > MAX_JUDGED_POSITIONAL:
            return None
        return False

    # -- models ------------------------------------------------------------------------------
    def _models_of_call(self, call: ast.Call, scope: Scope, depth: int) -> list[ModelInfo]:
        qualified = self.resolver.qualified_name(call.func, scope)
        if qualified in SEQUENTIAL:
            return [ModelInfo(call, self._sequential_recurrent(call, scope, depth))]
        if qualified in MODEL_CLASSES:
            has_outputs = len(call.args) >= 2 or any(k.arg == "outputs" for k in call.keywords)
            return [ModelInfo(call, self._functional_recurrent(call))] if has_outputs else []
        if qualified in _CLONE and call.args:
            return self.models_of(call.args[0], scope, depth + 1)
        function = self.resolver.function_def(call.func, scope)
        if function is not None:
            inner = self.table.defs.get(id(function), scope)
            return [m for ret in self._returns(function)
                    for m in self.models_of(ret, self.table.scope_of(ret) if isinstance(ret, ast.Call) else inner,
                                            depth + 1)]
        cls = self._class_named(call.func, scope)
        info = self._class_info(cls) if cls is not None else None
        if info is not None and info.keras:
            return [ModelInfo(info.node, info.recurrent, info.custom_compile)]
        return []

    def _returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
        return [stmt.value for stmt in self._own_nodes(function)
                if isinstance(stmt, ast.Return) and stmt.value is not None]

    @cached_property
    def _chains(self) -> dict[int, list[Layer | None]]:
        return {id(call): layers for call, layers, _ in self.sequential.chains}

    def _sequential_recurrent(self, call: ast.Call, scope: Scope, depth: int) -> Layer | None:
        found: list[Layer | None] = [recurrent_layer(la, self.catalog) for la in self._chains.get(id(call), [])
                                     if la is not None]
        listed: ast.AST | None = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg == "layers"), None)
        where = scope
        if isinstance(listed, ast.Name):
            value = self.value_of(listed, scope)
            listed, where = value if value is not None else (None, scope)
        elements: list[tuple[ast.expr, Scope]] = []
        if isinstance(listed, (ast.List, ast.Tuple)):
            elements.extend((e, where) for e in listed.elts)
        # `.add()` calls on a name that holds this model where they run, even when the name is
        # bound to other models elsewhere in the scope.
        for add in self._method_calls("add"):
            receiver = add.func.value  # type: ignore[attr-defined]
            if isinstance(receiver, ast.Name) and len(add.args) == 1 and not add.keywords:
                add_scope = self.table.scope_of(add)
                held = self.value_of(receiver, add_scope)
                if held is not None and held[0] is call:
                    elements.append((add.args[0], add_scope))
        for element, where in elements:
            if isinstance(element, ast.Starred) and isinstance(element.value, (ast.ListComp, ast.GeneratorExp)):
                element = element.value.elt
            layer = self.catalog.layer_of(element, where)
            if layer is not None:
                found.append(recurrent_layer(layer, self.catalog))
            else:  # a nested model or a layer class of the module's own
                found.extend(m.recurrent for m in self.models_of(element, where, depth + 1))
        return _earliest(found)

    # -- functional models: backwards from the outputs ----------------------------------------
    @cached_property
    def _inverse(self) -> tuple[dict[int, list[FlowNode]], dict[int, list[FlowNode]],
                                dict[int, list[FlowNode]], dict[tuple[int, str], list[FlowNode]]]:
        """What feeds each flow node, each Model's outputs, each function's returns and each
        parameter (from every call), read off the forward graph."""
        inputs: dict[int, list[FlowNode]] = defaultdict(list)
        outputs: dict[int, list[FlowNode]] = defaultdict(list)
        returns: dict[int, list[FlowNode]] = defaultdict(list)
        arguments: dict[tuple[int, str], list[FlowNode]] = defaultdict(list)
        for node in self.dataflow.nodes.values():
            for consumer in node.consumers.values():
                if isinstance(consumer, FlowNode):
                    inputs[id(consumer)].append(node)
                elif isinstance(consumer, _Terminal) and consumer.kind == "output" and consumer.node is not None:
                    outputs[id(consumer.node)].append(node)
                elif isinstance(consumer, _ReturnTo):
                    returns[id(consumer.function)].append(node)
                elif isinstance(consumer, _ArgumentTo):
                    arguments[(id(consumer.function), consumer.param)].append(node)
        return inputs, outputs, returns, arguments

    @cached_property
    def _flow_calls(self) -> tuple[dict[int, int], dict[int, int], dict[int, tuple[int, str]]]:
        """id(result node) → id(its call) and id(function); id(param node) → its key."""
        call_of = {id(node): key for key, node in self.dataflow.nodes.items()
                   if node.kind == "result" and isinstance(key, int)}
        function_of = {id(node): fid for fid, nodes in self.dataflow.results.items() for node in nodes}
        params = {id(node): key for key, node in self.dataflow.params.items()}
        return call_of, function_of, params

    def _functional_recurrent(self, call: ast.Call) -> Layer | None:
        if id(call) in self._functional:
            return self._functional[id(call)]
        inputs, outputs, returns, arguments = self._inverse
        call_of, function_of, params = self._flow_calls
        per_call = getattr(self.dataflow, "call_arguments", None)
        found: list[Layer | None] = []
        # (node, the calls whose bodies the walk is inside): a parameter leads back to the
        # arguments of the call the walk came through, not to every call of the function.
        stack: list[tuple[FlowNode, tuple[int, ...]]] = [(n, ()) for n in outputs.get(id(call), [])]
        seen: set[tuple[int, tuple[int, ...]]] = set()
        while stack:
            node, context = stack.pop()
            if (id(node), context) in seen or len(seen) > 20000:
                continue
            seen.add((id(node), context))
            if node.kind == "layer" and node.layer is not None:
                found.append(recurrent_layer(node.layer, self.catalog))
            stack.extend((n, context) for n in inputs.get(id(node), []))
            if node.kind == "result" and id(node) in function_of and len(context) < _MAX_DEPTH:
                inner = (*context, call_of.get(id(node), 0))
                stack.extend((n, inner) for n in returns.get(function_of[id(node)], []))
            elif node.kind == "param" and id(node) in params:
                key = params[id(node)]
                if context and per_call is not None:
                    outer = context[:-1]
                    stack.extend((n, outer) for n in per_call.get((context[-1], key[1]), ()))
                else:
                    stack.extend((n, context) for n in arguments.get(key, []))
        result = _earliest(found) or self._sliced_recurrent(call)
        self._functional[id(call)] = result
        return result

    def _sliced_recurrent(self, call: ast.Call) -> Layer | None:
        """A recurrent layer among the layers the outputs' expression depends on through the
        assignments of its own function, tuple unpacking included
        (`out, h, c = LSTM(..., return_state=True)(x)`), which the dataflow does not follow."""
        outputs = next((k.value for k in call.keywords if k.arg == "outputs"), None)
        if outputs is None and len(call.args) >= 2:
            outputs = call.args[1]
        if outputs is None:
            return None
        found: list[Layer | None] = []
        for expr in self._expand(outputs, self._owner(call)):
            for node in _walk_outside_gradients(expr):
                if isinstance(node, ast.Call):
                    scope = self.table.scope_of(node)
                    layer = self.catalog.layer_of(node, scope) or (
                        self.catalog.layer_of(node.func, scope) if isinstance(node.func, ast.Name) else None)
                    if layer is not None:
                        found.append(recurrent_layer(layer, self.catalog))
        return _earliest(found)

    # -- classes -----------------------------------------------------------------------------
    def _class_named(self, func: ast.AST, scope: Scope) -> ast.ClassDef | None:
        if not isinstance(func, ast.Name):
            return None
        binding = self.resolver.single_binding(func.id, scope)
        if binding is not None and binding.kind is BindingKind.DEF and isinstance(binding.node, ast.ClassDef):
            return binding.node
        return None

    def _class_info(self, cls: ast.ClassDef) -> _ClassInfo | None:
        if id(cls) in self._classes:
            return self._classes[id(cls)]
        self._classes[id(cls)] = None  # while it is being worked out (a class naming itself)
        scope = self.table.scope_of(cls)
        keras = False
        custom_compile = any(isinstance(s, _FUNCTIONS) and s.name == "compile" for s in cls.body)
        found: list[Layer | None] = []
        for base in cls.bases:
            qualified = self.resolver.qualified_name(base, scope)
            if qualified in MODEL_CLASSES or (qualified or "").startswith("keras.layers."):
                keras = True
                continue
            parent = self._class_named(base, scope)
            info = self._class_info(parent) if parent is not None else None
            if info is not None and info.keras:
                keras = True
                custom_compile = custom_compile or info.custom_compile
                found.append(info.recurrent)
        calls = {id(n) for n in ast.walk(cls) if isinstance(n, ast.Call)}
        found.extend(recurrent_layer(layer, self.catalog) for layer in self.catalog.layers
                     if id(layer.call) in calls and not layer.is_template)
        self._classes[id(cls)] = _ClassInfo(cls, keras, None, custom_compile)
        self._classes_in_progress += 1
        try:
            for values in self._self_assignments(cls).values():
                for value, where in values:
                    if isinstance(value, ast.Call) and self.catalog.layer_of(value, where) is None:
                        found.extend(m.recurrent for m in self.models_of(value, where, 1))
        finally:
            self._classes_in_progress -= 1
        info = _ClassInfo(cls, keras, _earliest(found), custom_compile)
        self._classes[id(cls)] = info
        return info

    def _self_assignments(self, cls: ast.ClassDef) -> dict[str, list[tuple[ast.AST, Scope]]]:
        """`self.<attr> = value` in the class's methods, by attribute."""
        found: dict[str, list[tuple[ast.AST, Scope]]] = defaultdict(list)
        for method in cls.body:
            if not isinstance(method, _FUNCTIONS) or not method.args.args:
                continue
            me = method.args.args[0].arg
            scope = self.table.defs.get(id(method))
            if scope is None:
                continue
            for node in self._own_nodes(method):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id == me):
                            found[target.attr].append((node.value, scope))
        return found

    def _self_attribute(self, cls: ast.ClassDef, attr: str) -> list[tuple[ast.AST, Scope]]:
        return self._self_assignments(cls).get(attr, [])

    def _class_of_self(self, name: ast.Name) -> ast.ClassDef | None:
        """The class whose instance `name` is, when it is a method's first parameter."""
        node: ast.AST | None = name
        while node is not None:
            node = self._parents.get(id(node))
            if isinstance(node, _FUNCTIONS):
                owner = self._parents.get(id(node))
                if (isinstance(owner, ast.ClassDef) and node.args.args
                        and node.args.args[0].arg == name.id):
                    return owner
                return None
        return None

    def _enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        current: ast.AST | None = node
        while current is not None:
            current = self._parents.get(id(current))
            if isinstance(current, _FUNCTIONS):
                owner = self._parents.get(id(current))
                return owner if isinstance(owner, ast.ClassDef) else None
        return None

    # -- parameters: what the module's own calls pass -----------------------------------------
    def _parameter_values(self, name: str, scope: Scope, depth: int) -> list[tuple[ast.AST, Scope]]:
        """For a parameter of one of the module's functions: the argument every call in the
        module passes for it (or its default); empty if any call cannot be read."""
        bindings = scope.lookup(name)
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.OTHER:
            return []
        owner: Scope | None = scope
        while owner is not None and name not in owner.bindings:
            owner = owner.parent
        function = owner.node if owner is not None else None
        if not isinstance(function, _FUNCTIONS) or name not in _parameters(function):
            return []
        values: list[tuple[ast.AST, Scope]] = []
        for call, skip in self._call_sites(function, depth):
            found = _argument(call, function, name, skip)
            if found is None:
                return []
            if found is _DEFAULT:
                default = _default(function, name)
                if default is None:
                    return []
                values.append((default, self.table.scope_of(function)))
            else:
                values.append((found, self.table.scope_of(call)))
        return values

    def _call_sites(self, function: ast.FunctionDef | ast.AsyncFunctionDef, depth: int) -> list[tuple[ast.Call, int]]:
        """Calls of a function of the module's own, with how many leading parameters the call
        does not pass (1 for a method's self)."""
        if id(function) in self._sites:
            return self._sites[id(function)]
        self._sites[id(function)] = []  # while they are being found
        owner = self._parents.get(id(function))
        sites: list[tuple[ast.Call, int]] = []
        for call in self.table.calls:
            scope = self.table.scope_of(call)
            if isinstance(owner, ast.ClassDef):
                if function.name == "__init__":
                    if self._class_named(call.func, scope) is owner:
                        sites.append((call, 1))
                elif isinstance(call.func, ast.Attribute) and call.func.attr == function.name:
                    receiver = call.func.value
                    if isinstance(receiver, ast.Name) and self._class_of_self(receiver) is owner:
                        sites.append((call, 1))
                    elif any(m.node is owner for m in self.models_of(receiver, scope, depth + 1)):
                        sites.append((call, 1))
            elif self.resolver.function_def(call.func, scope) is function:
                sites.append((call, 0))
        if self._classes_in_progress:
            del self._sites[id(function)]
        else:
            self._sites[id(function)] = sites
        return sites

    # -- custom training steps ---------------------------------------------------------------
    def _step(self, call: ast.Call) -> TrainingStep | None:
        """`optimizer.apply_gradients(zip(grads, variables))`, or Keras 3's
        `optimizer.apply(grads, variables)`, of a recurrent model with unclipped tape gradients."""
        found = _step_arguments(call)
        if found is None:
            return None
        parts, gradients = found
        owner = self._owner(call)
        scope = self.table.scope_of(call)
        clipped = tape = False
        holders: list[ast.expr] = []
        for expr in (e for part in parts for e in self._expand(part, owner)):
            for node in _walk_outside_gradients(expr):
                if isinstance(node, ast.Call):
                    if self._is_gradient(node, scope):
                        tape = True
                        holders.extend(self._variable_holders(node, owner))
                    elif self._is_clip(node, scope):
                        clipped = True
                elif isinstance(node, ast.Attribute) and node.attr in _VARIABLE_ATTRIBUTES:
                    holders.append(node.value)
        if not tape or clipped:
            return None
        recurrent = _earliest(self._holder_recurrent(h, scope) for h in holders)
        if recurrent is None:
            return None
        optimizers, from_compile = self._step_optimizer(call.func.value, scope)  # type: ignore[attr-defined]
        if gradients is None:
            gradients = self._zipped_gradients(parts[0], owner, call)
        assignment = self._gradient_assignment(gradients, owner, call) if gradients is not None else None
        return TrainingStep(call, recurrent, tuple(optimizers), from_compile, gradients, assignment)

    def _holder_recurrent(self, holder: ast.expr, scope: Scope) -> Layer | None:
        """The recurrent layer of what `<holder>.trainable_variables` belongs to."""
        if isinstance(holder, ast.Name):
            cls = self._class_of_self(holder)
            if cls is not None:
                info = self._class_info(cls)
                return info.recurrent if info is not None else None
            layer = self.catalog.layer_of(holder, scope)
            if layer is not None:
                return recurrent_layer(layer, self.catalog)
        if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name):
            cls = self._class_of_self(holder.value)
            if cls is not None:
                values = self._self_attribute(cls, holder.attr)
                found: list[Layer | None] = []
                for value, where in values:
                    layer = self.catalog.layer_of(value, where)
                    if layer is not None:
                        found.append(recurrent_layer(layer, self.catalog))
                    else:
                        found.extend(m.recurrent for m in self.models_of(value, where))
                return _earliest(found)
        return _earliest(m.recurrent for m in self.models_of(holder, scope))

    def _variable_holders(self, gradient: ast.Call, owner: ast.AST) -> list[ast.expr]:
        """The models whose variables a `tape.gradient(loss, sources)` differentiates."""
        sources = gradient.args[1] if len(gradient.args) > 1 else next(
            (k.value for k in gradient.keywords if k.arg in ("sources", "xs")), None)
        if sources is None:
            return []
        holders = []
        for expr in self._expand(sources, owner):
            holders.extend(n.value for n in ast.walk(expr)
                           if isinstance(n, ast.Attribute) and n.attr in _VARIABLE_ATTRIBUTES)
        return holders

    def _step_optimizer(self, receiver: ast.expr, scope: Scope) -> tuple[list[OptimizerFact | None], bool]:
        if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name):
            cls = self._class_of_self(receiver.value)
            if cls is not None:
                if self._self_attribute(cls, receiver.attr):
                    return self.optimizer_of(receiver, scope, follow_parameters=True), False
                if receiver.attr == "optimizer":
                    info = self._class_info(cls)
                    if info is None or not info.keras:
                        return [None], False
                    return self.compiled_optimizers([ModelInfo(cls, info.recurrent, info.custom_compile)])
                return [None], False
            if receiver.attr == "optimizer":
                models = self.models_of(receiver.value, scope)
                if models:
                    return self.compiled_optimizers(models)
        return self.optimizer_of(receiver, scope, follow_parameters=True), False

    def _zipped_gradients(self, argument: ast.expr, owner: ast.AST, call: ast.Call) -> ast.Name | None:
        """`zip(grads, variables)` (perhaps in `list(...)` or through a name) → `grads`."""
        expr: ast.AST = argument
        for _ in range(3):
            if isinstance(expr, ast.Name):
                definitions = self._definitions(expr.id, owner, call)
                if len(definitions) != 1 or definitions[0][1] is None:
                    return None
                expr = definitions[0][1]
            elif (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "list"
                  and len(expr.args) == 1):
                expr = expr.args[0]
            else:
                break
        if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "zip"
                and len(expr.args) == 2 and isinstance(expr.args[0], ast.Name)):
            return expr.args[0]
        return None

    def _gradient_assignment(self, gradients: ast.Name, owner: ast.AST, call: ast.Call) -> ast.Assign | None:
        """The last assignment of the gradient variable before `call`, when it is a statement of
        its own (`grads = tape.gradient(...)`) that surely runs before the call."""
        definitions = self._definitions(gradients.id, owner, call)
        if not definitions:
            return None
        statement = definitions[-1][0]
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name) and self._dominates(statement, call)):
            return statement
        return None

    # -- statements of one function ----------------------------------------------------------
    def scope_at(self, node: ast.AST) -> Scope:
        """The scope of the function (or module) whose body holds `node`."""
        return self.table.defs.get(id(self._owner(node)), self.table.module_scope)

    def _owner(self, node: ast.AST) -> ast.AST:
        current: ast.AST | None = node
        while current is not None:
            current = self._parents.get(id(current))
            if isinstance(current, (*_FUNCTIONS, ast.Module)):
                return current
        return self.module

    def _own_nodes(self, owner: ast.AST) -> Iterator[ast.AST]:
        """Nodes of a function's (or the module's) own body, not of functions inside it."""
        stack = list(reversed(getattr(owner, "body", [])))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, (*_FUNCTIONS, ast.ClassDef, ast.Lambda)):
                continue
            stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def _definitions(self, name: str, owner: ast.AST, before: ast.AST) -> list[tuple[ast.stmt, ast.AST | None]]:
        """Statements of `owner` that bind `name` and start before `before`, in order, each
        with the value it binds (None when it binds a part of something)."""
        table = self._bindings_by_owner.get(id(owner))
        if table is None:
            table = self._bindings_by_owner[id(owner)] = _bindings_of(self._own_nodes(owner), self._statement)
        limit = _position(before)
        return [(s, v) for s, v in table.get(name, []) if _position(s) < limit and not self._encloses(s, before)]

    def _encloses(self, outer: ast.AST, node: ast.AST) -> bool:
        current: ast.AST | None = node
        while current is not None:
            if current is outer:
                return True
            current = self._parents.get(id(current))
        return False

    def _reaching(self, name: str, owner: ast.AST, use: ast.AST) -> list[tuple[ast.stmt, ast.AST | None]]:
        """The assignments of `name` that can reach `use`: the last one that surely runs before
        it, and any after that one which may run (in a branch)."""
        found = []
        for statement, value in reversed(self._definitions(name, owner, use)):
            found.append((statement, value))
            if not isinstance(statement, ast.AugAssign) and self._dominates(statement, use):
                break
        return found

    def _expand(self, expr: ast.AST, owner: ast.AST) -> list[ast.AST]:
        """`expr` and, for each name in it, what the function last assigned to that name
        before, transitively. A gradient call's arguments are not followed: they are the loss
        and the variables, not the gradients."""
        found: list[ast.AST] = []
        seen: set[int] = set()
        work = [expr]
        while work and len(found) < 200:
            current = work.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            found.append(current)
            for node in _walk_outside_gradients(current):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    work.extend(v if v is not None else _bound_from(s) for s, v in self._reaching(node.id, owner, node))
        return found

    def _is_gradient(self, call: ast.Call, scope: Scope) -> bool:
        """`tape.gradient(...)` (a tape is not a module's member: `np.gradient` is not one) or
        `tf.gradients(...)`."""
        qualified = self.resolver.qualified_name(call.func, scope)
        if qualified is None:
            return isinstance(call.func, ast.Attribute) and call.func.attr == "gradient"
        return qualified in _TF_GRADIENTS

    def _is_clip(self, call: ast.Call, scope: Scope) -> bool:
        qualified = self.resolver.qualified_name(call.func, scope)
        if qualified is not None and is_gradient_clip(qualified):
            return True
        function = self.resolver.function_def(call.func, scope)
        if function is None:
            return False
        # A helper of the module's own that clips what it is given.
        for node in self._own_nodes(function):
            if isinstance(node, ast.Call):
                found = self.resolver.qualified_name(node.func, self.table.scope_of(node))
                if found is not None and is_gradient_clip(found):
                    return True
        return False

    # -- positions and structure -------------------------------------------------------------
    @cached_property
    def _parents(self) -> dict[int, ast.AST]:
        parents: dict[int, ast.AST] = {}
        for node in ast.walk(self.module):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
        return parents

    def _statement(self, node: ast.AST) -> ast.stmt | None:
        current: ast.AST | None = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self._parents.get(id(current))
        return current

    def _statement_end(self, value: ast.AST) -> tuple[int, int]:
        statement = self._statement(value)
        target = statement if statement is not None else value
        return (target.end_lineno, target.end_col_offset)  # type: ignore[attr-defined]

    def _dominates(self, statement: ast.stmt, use: ast.AST) -> bool:
        """True when `statement` is in a block that also holds (an ancestor of) `use`, before
        it: it has run whenever `use` runs. A `with` block runs its body: a statement in it
        stands for the `with` statement."""
        parent = self._parents.get(id(statement))
        while isinstance(parent, (ast.With, ast.AsyncWith)) and not self._encloses(parent, use):
            statement, parent = parent, self._parents.get(id(parent))
        if parent is None:
            return False
        block = next((getattr(parent, f) for f in ("body", "orelse", "finalbody")
                      if any(s is statement for s in getattr(parent, f, []) or [])), None)
        if block is None:
            return False
        index = next(i for i, s in enumerate(block) if s is statement)
        current: ast.AST | None = use
        while current is not None:
            for i, s in enumerate(block):
                if s is current:
                    return i > index
            current = self._parents.get(id(current))
        return False


def _step_arguments(call: ast.Call) -> tuple[list[ast.expr], ast.Name | None] | None:
    """What a training step hands the optimizer: the expressions to search for gradients and
    variables, and the gradient variable when `apply(grads, variables)` names it."""
    def given(name: str, index: int) -> ast.expr | None:
        value = next((k.value for k in call.keywords if k.arg == name), None)
        if value is None and len(call.args) > index and not isinstance(call.args[index], ast.Starred):
            value = call.args[index]
        return value

    if call.func.attr == "apply_gradients":  # type: ignore[attr-defined]
        argument = given("grads_and_vars", 0)
        return ([argument], None) if argument is not None else None
    grads, variables = given("grads", 0), given("trainable_variables", 1)
    if grads is None:
        return None
    parts = [grads, variables] if variables is not None else [grads]
    return parts, grads if isinstance(grads, ast.Name) else None


class _Default:
    """Marker: the call leaves the parameter to its default."""


_DEFAULT = _Default()


def _argument(call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
              skip: int) -> ast.expr | _Default | None:
    """What `call` passes for parameter `name`; _DEFAULT if nothing; None if unknowable."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    positional = [p.arg for p in [*function.args.posonlyargs, *function.args.args]][skip:]
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return None
        if index < len(positional) and positional[index] == name:
            return arg
    if any(kw.arg is None for kw in call.keywords):
        return None
    return _DEFAULT


def _default(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    a = function.args
    positional = [*a.posonlyargs, *a.args]
    defaults = dict(zip([p.arg for p in positional[len(positional) - len(a.defaults):]], a.defaults))
    defaults.update({p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
    return defaults.get(name)


def _bound_from(statement: ast.stmt) -> ast.AST:
    """What a statement that binds a part of something reads from: its value, a loop's iterable."""
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return statement.iter
    value = getattr(statement, "value", None)
    return value if isinstance(value, ast.AST) else statement


def _walk_outside_gradients(expr: ast.AST) -> Iterator[ast.AST]:
    """Every node of `expr`, not descending into the arguments of a `.gradient(...)` call."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _GRADIENT_CALLS:
            continue
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _bindings_of(nodes: Iterator[ast.AST], statement_of) -> dict[str, list[tuple[ast.stmt, ast.AST | None]]]:
    """name → [(statement, value bound)] for the assignments among `nodes`, in source order."""
    table: dict[str, list[tuple[ast.stmt, ast.AST | None]]] = defaultdict(list)

    def bind(target: ast.AST, statement: ast.stmt, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            table[target.id].append((statement, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                inner = element.value if isinstance(element, ast.Starred) else element
                # A part of the value: the whole right-hand side stands for it.
                bind(inner, statement, None)

    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            bind(node.target, node, node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            bind(node.target, node, None)
        elif isinstance(node, ast.NamedExpr):
            statement = statement_of(node)
            if statement is not None:
                bind(node.target, statement, node.value)
    for entries in table.values():
        entries.sort(key=lambda e: _position(e[0]))
    return table
