"""Model tracing: from an expression back to the models it can denote, and whether each is
recurrent.

A model is followed from where it is used (`model.compile(...)`, `model.trainable_variables`)
back to what builds it: a Sequential list or `.add()` chain, a functional `Model(inputs,
outputs)` (walking the dataflow backwards from its outputs), a Model subclass, or one of the
module's own functions returning one of these. Whatever cannot be followed is unknown, and
unknown is never judged.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from gradlint.graph.dataflow import MODEL_CLASSES, Dataflow, FlowNode, _ArgumentTo, _ReturnTo, _Terminal
from gradlint.graph.facts import ArgSource, Layer
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import BindingKind, Resolver, Scope, ScopeTable
from gradlint.graph.sequential import SEQUENTIAL, SequentialContexts
from gradlint.graph.statements import FUNCTIONS, Statements, method_calls, position, walk_outside_gradients
from gradlint.keras_api.layers import Role

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph
    from gradlint.graph.project import Project

MAX_DEPTH = 8  # how far a value is followed through names, calls and wrappers
_CLONE = frozenset({"keras.models.clone_model"})


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """One model: the call or class that builds it, and a recurrent layer in it, if any."""

    node: ast.AST  # the Sequential / Model call, or the ClassDef of a subclass
    recurrent: Layer | None
    custom_compile: bool = False  # a subclass with its own compile(): not Keras' signature


@dataclass(frozen=True, eq=False)
class ClassInfo:
    """A class of the module's own, as far as model tracing needs it."""

    node: ast.ClassDef
    keras: bool  # subclasses a Keras Model or Layer
    recurrent: Layer | None
    custom_compile: bool

    @property
    def model(self) -> ModelInfo:
        """The model an instance of the class is."""
        return ModelInfo(self.node, self.recurrent, self.custom_compile)


@dataclass(eq=False)
class ChosenLayer(Layer):
    """A layer whose class is chosen at run time among several written in the source:
    `rnn = layers.LSTM if cfg.lstm else layers.GRU` … `rnn(64)`. It is not one of the
    catalog's layers: only the clipping rules, which ask whether a model can be recurrent,
    see it. `class_name` is how a message names the choice."""

    choices: tuple[Layer, ...] = ()  # one per candidate that is a Keras layer class
    recurrent_choices: tuple[Layer, ...] = ()  # those that are (or wrap) a recurrent layer


def earliest(layers: Iterable[Layer | None]) -> Layer | None:
    """The first in the source: what a finding names when a model has several."""
    found = [layer for layer in layers if layer is not None]
    return min(found, key=lambda la: position(la.call)) if found else None


def _arms(expr: ast.expr) -> list[ast.expr]:
    """The layers an element of a layer list may be: both arms of `LSTM(8) if c else GRU(8)`."""
    if isinstance(expr, ast.IfExp):
        return [*_arms(expr.body), *_arms(expr.orelse)]
    return [expr]


def _wrapped_expr(layer: Layer) -> ast.expr | None:
    """The layer a wrapper (Bidirectional, TimeDistributed) is given, as written."""
    call = layer.call
    expr = next((k.value for k in call.keywords if k.arg == "layer"), None)
    if expr is None and call.args and not isinstance(call.args[0], ast.Starred):
        expr = call.args[0]
    return expr


class ModelTracer:
    """The models of one module: what an expression denotes, and which are recurrent."""

    def __init__(self, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog,
                 sequential: SequentialContexts, dataflow: Dataflow, statements: Statements,
                 project: Project | None = None, path: str | None = None) -> None:
        self.project = project  # the project's other modules, where a model may be built
        self.path = path
        self.table = table
        self.resolver = resolver
        self.catalog = catalog
        self.sequential = sequential
        self.dataflow = dataflow
        self.statements = statements
        self._classes: dict[int, ClassInfo | None] = {}
        self._functional: dict[int, Layer | None] = {}
        self._sites: dict[int, list[tuple[ast.Call, int]]] = {}
        self._chosen: dict[int, ChosenLayer | None] = {}
        self._classes_in_progress = 0  # while one is worked out, answers that use it are partial

    # -- layers, and whether they are recurrent -------------------------------------------------
    def layer_at(self, expr: ast.AST, scope: Scope) -> Layer | None:
        """The layer an expression denotes: the catalog's, else a call of a layer class chosen
        at run time (a ChosenLayer), directly or through a name bound once to it."""
        layer = self.catalog.layer_of(expr, scope)
        if layer is not None:
            return layer
        if isinstance(expr, ast.Call):
            return self.chosen_layer(expr, scope)
        if isinstance(expr, ast.Name):
            found = self.resolver.assigned_value(expr.id, scope)
            if found is not None and isinstance(found[0], ast.Call):
                return self.chosen_layer(found[0], found[1])
        return None

    def recurrent(self, layer: Layer, depth: int = 0) -> Layer | None:
        """`layer` if it is recurrent, wraps a recurrent layer (Bidirectional, TimeDistributed),
        or is a choice of classes of which one is."""
        if isinstance(layer, ChosenLayer):
            return layer if layer.recurrent_choices else None
        if layer.spec.recurrent:
            return layer
        if layer.spec.role is Role.WRAPPER and depth < MAX_DEPTH:
            inner = self._wrapped(layer)
            if inner is not None and self.recurrent(inner, depth + 1) is not None:
                return layer
        return None

    def describe(self, layer: Layer, depth: int = 0) -> str:
        """How a message names a recurrent layer: "LSTM", "Bidirectional(GRU)", "LSTM or GRU"."""
        if isinstance(layer, ChosenLayer):
            return layer.class_name
        if self.project is not None and id(layer.call) not in self.catalog.by_call:
            home = self.project.graph_holding(layer)  # a model built in another module
            if home is not None:
                return home.training.tracer.describe(layer, depth)
        if layer.spec.role is Role.WRAPPER and depth < MAX_DEPTH:
            inner = self._wrapped(layer)
            if inner is not None:
                return f"{layer.class_name}({self.describe(inner, depth + 1)})"
        return layer.class_name

    def _wrapped(self, layer: Layer) -> Layer | None:
        expr = _wrapped_expr(layer)
        return self.layer_at(expr, layer.scope) if expr is not None else None

    def chosen_layer(self, call: ast.Call, scope: Scope) -> ChosenLayer | None:
        """The layer `call` builds when its callee is one of several layer classes chosen at
        run time: `(LSTM if c else GRU)(64)`, a name bound to such an expression or assigned a
        class in each branch of an `if`, or a literal dict of classes looked up by key. None
        unless at least one candidate is a Keras layer class."""
        if id(call) in self._chosen:
            return self._chosen[id(call)]
        self._chosen[id(call)] = None  # while it is worked out (a wrapper of itself)
        candidates = self._class_choices(call.func, scope, 0)
        chosen = self._choice_layer(call, scope, candidates) if candidates else None
        self._chosen[id(call)] = chosen
        return chosen

    def _choice_layer(self, call: ast.Call, scope: Scope,
                      candidates: list[tuple[ast.expr, Scope]]) -> ChosenLayer | None:
        """One layer per candidate class, and the name a message gives the choice: the
        recurrent candidates, and the others they are chosen over."""
        choices: list[Layer] = []
        unresolved: list[str] = []
        for expr, where in sorted(candidates, key=lambda c: position(c[0])):  # as the source reads
            if isinstance(expr, ast.Constant) and expr.value is None:
                continue  # no layer at all on that path
            found = self.catalog.layer_class(expr, where)
            if found is None:
                text = ast.unparse(expr)
                unresolved.append(text if len(text) <= 40 else text[:37] + "...")
            elif all(c.class_name != found[0] for c in choices):
                choices.append(Layer(call, found[0], found[1], scope, [ArgSource(call)]))
        if not choices:
            return None
        recurrent = tuple(c for c in choices if self.recurrent(c) is not None)
        named = [self.describe(c) for c in recurrent]
        others = [c.class_name for c in choices if c not in recurrent] + unresolved
        name = " or ".join(named) + (f" (when chosen over {' or '.join(others)})" if others and named else "")
        return ChosenLayer(call, name or " or ".join(others), choices[0].spec, scope, [ArgSource(call)],
                           choices=tuple(choices), recurrent_choices=recurrent)

    def _class_choices(self, func: ast.AST, scope: Scope, depth: int) -> list[tuple[ast.expr, Scope]]:
        """The class expressions a callee may be, when it is a run-time choice among several;
        empty when it is not one (or cannot be read)."""
        if depth > MAX_DEPTH:
            return []
        if isinstance(func, ast.IfExp):
            return self._alternatives(func.body, scope, depth) + self._alternatives(func.orelse, scope, depth)
        if isinstance(func, ast.Subscript):
            table: ast.AST | None = func.value
            where = scope
            if isinstance(table, ast.Name):
                found = self.resolver.assigned_value(table.id, scope)
                table, where = found if found is not None else (None, scope)
            if isinstance(table, ast.Dict) and table.values and all(k is not None for k in table.keys):
                return [c for value in table.values for c in self._alternatives(value, where, depth)]
            return []
        if isinstance(func, ast.Name) and self.resolver.qualified_name(func, scope) is None:
            found = self.value_of(func, scope)
            if found is not None:
                value, where = found
                return self._class_choices(value, where, depth + 1) if isinstance(value, ast.expr) else []
            values = self.reaching_values(func, scope)
            if len(values) > 1:
                return [c for value in values if isinstance(value, ast.expr)
                        for c in self._alternatives(value, scope, depth)]
        return []

    def _alternatives(self, expr: ast.expr, scope: Scope, depth: int) -> list[tuple[ast.expr, Scope]]:
        """One arm of a choice: a nested choice's candidates, else the expression itself."""
        nested = self._class_choices(expr, scope, depth + 1)
        return nested or [(expr, scope)]

    def models_of(self, expr: ast.AST, scope: Scope, depth: int = 0) -> list[ModelInfo]:
        """The models an expression can denote; empty when none is known."""
        if depth > MAX_DEPTH:
            return []
        if isinstance(expr, ast.Call):
            return self._models_of_call(expr, scope, depth)
        if isinstance(expr, ast.Name):
            found = self.value_of(expr, scope)
            if found is not None:
                return self.models_of(found[0], found[1], depth + 1)
            branches = self.reaching_values(expr, scope)
            if branches:  # `model = …` in each branch of a model zoo: any of them
                return [m for value in branches for m in self.models_of(value, scope, depth + 1)]
            return [m for value, where in self.parameter_values(expr.id, scope, depth)
                    for m in self.models_of(value, where, depth + 1)]
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self.class_of_self(expr.value)
            if cls is not None:
                return [m for value, where in self.self_attribute(cls, expr.attr)
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
        use = position(name)
        before = [b.node for b in bindings if b.node is not None and self.statements.statement_end(b.node) <= use]
        if not before:
            return None
        value = max(before, key=position)
        statement = self.statements.statement(value)
        if statement is None or not self.statements.dominates(statement, name):
            return None
        return value, scope

    def reaching_values(self, name: ast.Name, scope: Scope) -> list[ast.AST]:
        """Every value a name assigned in several branches may hold where it is used; empty
        unless all of them are plain assignments of the use's own scope."""
        bindings = scope.bindings.get(name.id)
        if not bindings or scope.is_class or any(b.kind is not BindingKind.ASSIGN for b in bindings):
            return []
        owner = self.statements.owner(name)
        reaching = self.statements.reaching(name.id, owner, name)
        if not reaching or any(value is None for _, value in reaching):
            return []
        return [value for _, value in reaching]  # type: ignore[misc]

    # -- models ------------------------------------------------------------------------------
    def _models_of_call(self, call: ast.Call, scope: Scope, depth: int) -> list[ModelInfo]:
        qualified = self.resolver.qualified_name(call.func, scope)
        if qualified in SEQUENTIAL:
            return [ModelInfo(call, self._sequential_recurrent(call, scope, depth))]
        if qualified in MODEL_CLASSES:
            has_outputs = len(call.args) >= 2 or any(k.arg == "outputs" for k in call.keywords)
            return [ModelInfo(call, self._functional_recurrent(call, depth))] if has_outputs else []
        if qualified in _CLONE and call.args:
            return self.models_of(call.args[0], scope, depth + 1)
        function = self.resolver.function_def(call.func, scope)
        if function is not None:
            inner = self.table.defs.get(id(function), scope)
            return [m for ret in self.returns(function)
                    for m in self.models_of(ret, self.table.scope_of(ret) if isinstance(ret, ast.Call) else inner,
                                            depth + 1)]
        cls = self._class_named(call.func, scope)
        info = self.class_info(cls) if cls is not None else None
        if info is not None and info.keras:
            return [info.model]
        return self._imported_models(call, scope, depth)

    def _imported_models(self, call: ast.Call, scope: Scope, depth: int) -> list[ModelInfo]:
        """`build_lstm()` imported from the project's own `models.py`: the models its returns
        build there (`from models import build_lstm`, `import models` … `models.build_lstm()`)."""
        if self.project is None or self.path is None:
            return []
        found = self._import_of(call.func, scope)
        if found is None:
            return []
        module, level, name = found
        target = self.project.function(self.path, module, level, name)
        if target is None:
            return []
        other, function = target
        tracer = other.training.tracer
        inner = other.scopes.defs.get(id(function), other.scopes.module_scope)
        return [m for ret in tracer.returns(function)
                for m in tracer.models_of(ret, other.scopes.scope_of(ret) if isinstance(ret, ast.Call) else inner,
                                          depth + 1)]

    def imported_function(self, func: ast.AST, scope: Scope
                          ) -> tuple[ModuleGraph, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """The function of the project's other module a called name is imported from, with
        that module's graph."""
        if self.project is None or self.path is None:
            return None
        found = self._import_of(func, scope)
        return self.project.function(self.path, *found) if found is not None else None

    def _import_of(self, func: ast.AST, scope: Scope) -> tuple[str, int, str] | None:
        """(module, level, function name) of a called name bound by an import."""
        if isinstance(func, ast.Name):
            binding = self.resolver.single_binding(func.id, scope)
            # (a relative import is bound as a name of unknown value, with its statement)
            statement = binding.node if binding is not None and binding.kind in (BindingKind.IMPORT, BindingKind.OTHER) else None
            if isinstance(statement, ast.ImportFrom):
                alias = next((a for a in statement.names if (a.asname or a.name) == func.id), None)
                if alias is not None:
                    return statement.module or "", statement.level, alias.name
            return None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            binding = self.resolver.single_binding(func.value.id, scope)
            statement = binding.node if binding is not None and binding.kind in (BindingKind.IMPORT, BindingKind.OTHER) else None
            if isinstance(statement, ast.Import):
                alias = next((a for a in statement.names if (a.asname or a.name.split(".")[0]) == func.value.id), None)
                if alias is not None and (alias.asname or "." not in alias.name):
                    return alias.name, 0, func.attr
            if isinstance(statement, ast.ImportFrom):  # `from . import models` … models.build()
                alias = next((a for a in statement.names if (a.asname or a.name) == func.value.id), None)
                if alias is not None:
                    prefix = f"{statement.module}." if statement.module else ""
                    return f"{prefix}{alias.name}", statement.level, func.attr
        return None

    def returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
        """The values a function of the module's own returns, in its own body."""
        return [stmt.value for stmt in self.statements.own_nodes(function)
                if isinstance(stmt, ast.Return) and stmt.value is not None]

    @cached_property
    def _chains(self) -> dict[int, list[Layer | None]]:
        return {id(call): layers for call, layers, _ in self.sequential.chains}

    def _sequential_recurrent(self, call: ast.Call, scope: Scope, depth: int) -> Layer | None:
        found: list[Layer | None] = [self.recurrent(la) for la in self._chains.get(id(call), []) if la is not None]
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
        for add in method_calls(self.table, "add"):
            receiver = add.func.value  # type: ignore[attr-defined]
            if isinstance(receiver, ast.Name) and len(add.args) == 1 and not add.keywords:
                add_scope = self.table.scope_of(add)
                held = self.value_of(receiver, add_scope)
                if held is not None and held[0] is call:
                    elements.append((add.args[0], add_scope))
        elements = [(arm, where) for element, where in elements for arm in _arms(element)]
        for element, where in elements:
            if isinstance(element, ast.Starred) and isinstance(element.value, (ast.ListComp, ast.GeneratorExp)):
                element = element.value.elt
            layer = self.layer_at(element, where)
            if layer is not None:
                found.append(self.recurrent(layer))
            else:  # a nested model or a layer class of the module's own
                found.extend(m.recurrent for m in self.models_of(element, where, depth + 1))
        return earliest(found)

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

    def _functional_recurrent(self, call: ast.Call, depth: int = 0) -> Layer | None:
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
                found.append(self.recurrent(node.layer))
            stack.extend((n, context) for n in inputs.get(id(node), []))
            if node.kind == "result" and id(node) in function_of and len(context) < MAX_DEPTH:
                inner = (*context, call_of.get(id(node), 0))
                stack.extend((n, inner) for n in returns.get(function_of[id(node)], []))
            elif node.kind == "param" and id(node) in params:
                key = params[id(node)]
                if context and per_call is not None:
                    outer = context[:-1]
                    stack.extend((n, outer) for n in per_call.get((context[-1], key[1]), ()))
                else:
                    stack.extend((n, context) for n in arguments.get(key, []))
        result = earliest(found) or self._sliced_recurrent(call, depth)
        self._functional[id(call)] = result
        return result

    def _sliced_recurrent(self, call: ast.Call, depth: int = 0) -> Layer | None:
        """A recurrent layer among the layers the outputs' expression depends on through the
        assignments of its own function, which the dataflow does not follow: tuple unpacking
        (`out, h, c = LSTM(..., return_state=True)(x)`), and models applied as layers
        (`encoder(inputs)`, where `encoder = make_encoder()`)."""
        outputs = next((k.value for k in call.keywords if k.arg == "outputs"), None)
        if outputs is None and len(call.args) >= 2:
            outputs = call.args[1]
        if outputs is None:
            return None
        found: list[Layer | None] = []
        for expr in self.statements.expand(outputs, self.statements.owner(call)):
            for node in walk_outside_gradients(expr):
                if isinstance(node, ast.Call):
                    scope = self.table.scope_of(node)
                    layer = self.layer_at(node, scope) or (
                        self.layer_at(node.func, scope) if isinstance(node.func, ast.Name) else None)
                    if layer is not None:
                        found.append(self.recurrent(layer))
                    elif isinstance(node.func, ast.Name) and depth < MAX_DEPTH:
                        found.extend(m.recurrent for m in self.models_of(node.func, scope, depth + 1))
        return earliest(found)

    # -- classes -----------------------------------------------------------------------------
    def _class_named(self, func: ast.AST, scope: Scope) -> ast.ClassDef | None:
        if not isinstance(func, ast.Name):
            return None
        binding = self.resolver.single_binding(func.id, scope)
        if binding is not None and binding.kind is BindingKind.DEF and isinstance(binding.node, ast.ClassDef):
            return binding.node
        return None

    def class_info(self, cls: ast.ClassDef) -> ClassInfo | None:
        """Whether a class of the module's own is a Keras one, and its recurrent layer; None
        while it is being worked out (a class naming itself)."""
        if id(cls) in self._classes:
            return self._classes[id(cls)]
        self._classes[id(cls)] = None
        scope = self.table.scope_of(cls)
        keras = False
        custom_compile = any(isinstance(s, FUNCTIONS) and s.name == "compile" for s in cls.body)
        found: list[Layer | None] = []
        for base in cls.bases:
            qualified = self.resolver.qualified_name(base, scope)
            if qualified in MODEL_CLASSES or (qualified or "").startswith("keras.layers."):
                keras = True
                continue
            parent = self._class_named(base, scope)
            info = self.class_info(parent) if parent is not None else None
            if info is not None and info.keras:
                keras = True
                custom_compile = custom_compile or info.custom_compile
                found.append(info.recurrent)
        calls = [n for n in ast.walk(cls) if isinstance(n, ast.Call)]
        ids = {id(n) for n in calls}
        found.extend(self.recurrent(layer) for layer in self.catalog.layers
                     if id(layer.call) in ids and not layer.is_template)
        found.extend(self._chosen_recurrent(calls))
        self._classes[id(cls)] = ClassInfo(cls, keras, None, custom_compile)
        self._classes_in_progress += 1
        try:
            for values in self._self_assignments(cls).values():
                for value, where in values:
                    if isinstance(value, ast.Call) and self.layer_at(value, where) is None:
                        found.extend(m.recurrent for m in self.models_of(value, where, 1))
        finally:
            self._classes_in_progress -= 1
        info = ClassInfo(cls, keras, earliest(found), custom_compile)
        self._classes[id(cls)] = info
        return info

    def _chosen_recurrent(self, calls: list[ast.Call]) -> list[Layer | None]:
        """The recurrent choices among calls the catalog does not know as layers."""
        return [self.recurrent(chosen) for call in calls if id(call) not in self.catalog.by_call
                and isinstance(call.func, (ast.Name, ast.IfExp, ast.Subscript))
                and (chosen := self.chosen_layer(call, self.table.scope_of(call))) is not None]

    def _self_assignments(self, cls: ast.ClassDef) -> dict[str, list[tuple[ast.AST, Scope]]]:
        """`self.<attr> = value` in the class's methods, by attribute."""
        found: dict[str, list[tuple[ast.AST, Scope]]] = defaultdict(list)
        for method in cls.body:
            if not isinstance(method, FUNCTIONS) or not method.args.args:
                continue
            me = method.args.args[0].arg
            scope = self.table.defs.get(id(method))
            if scope is None:
                continue
            for node in self.statements.own_nodes(method):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id == me):
                            found[target.attr].append((node.value, scope))
        return found

    def self_attribute(self, cls: ast.ClassDef, attr: str) -> list[tuple[ast.AST, Scope]]:
        """The values the class's methods assign to `self.<attr>`."""
        return self._self_assignments(cls).get(attr, [])

    def class_of_self(self, name: ast.Name) -> ast.ClassDef | None:
        """The class whose instance `name` is, when it is a method's first parameter."""
        method = self._method_of(name)
        if method is None or method[1] is None:
            return None
        function, cls = method
        return cls if function.args.args and function.args.args[0].arg == name.id else None

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The class whose method holds `node`."""
        method = self._method_of(node)
        return method[1] if method is not None else None

    def _method_of(self, node: ast.AST) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None] | None:
        """The nearest function holding `node`, and its class when it is a method."""
        current: ast.AST | None = self.statements.parents.get(id(node))
        while current is not None and not isinstance(current, FUNCTIONS):
            current = self.statements.parents.get(id(current))
        if current is None:
            return None
        owner = self.statements.parents.get(id(current))
        return current, owner if isinstance(owner, ast.ClassDef) else None

    # -- parameters: what the module's own calls pass -----------------------------------------
    def parameter_values(self, name: str, scope: Scope, depth: int) -> list[tuple[ast.AST, Scope]]:
        """For a parameter of one of the module's functions: the argument every call in the
        module passes for it (or its default); empty if any call cannot be read."""
        bindings = scope.lookup(name)
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.OTHER:
            return []
        owner: Scope | None = scope
        while owner is not None and name not in owner.bindings:
            owner = owner.parent
        function = owner.node if owner is not None else None
        if not isinstance(function, FUNCTIONS) or name not in _parameters(function):
            return []
        values: list[tuple[ast.AST, Scope]] = []
        for call, skip in self._call_sites(function, depth):
            found = _argument(call, function, name, skip)
            if found is None:
                return []
            if isinstance(found, _Default):
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
        owner = self.statements.parents.get(id(function))
        sites: list[tuple[ast.Call, int]] = []
        for call in self.table.calls:
            scope = self.table.scope_of(call)
            if isinstance(owner, ast.ClassDef):
                if function.name == "__init__":
                    if self._class_named(call.func, scope) is owner:
                        sites.append((call, 1))
                elif isinstance(call.func, ast.Attribute) and call.func.attr == function.name:
                    receiver = call.func.value
                    if isinstance(receiver, ast.Name) and self.class_of_self(receiver) is owner:
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


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]


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
