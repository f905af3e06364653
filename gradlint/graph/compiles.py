"""compile() calls and optimizers: which models are compiled with which optimizer, and whether
that optimizer clips.

An optimizer is followed to its constructor call or string. Whatever cannot be followed is
unknown, and unknown is never judged.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from gradlint.graph.facts import Layer
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.statements import method_calls
from gradlint.graph.tracing import MAX_DEPTH, ModelInfo, ModelTracer, earliest
from gradlint.graph.values import constant_value, has_splat
from gradlint.keras_api.optimizers import (
    CLIP_ARGUMENTS,
    DEFAULT_OPTIMIZER,
    MAX_JUDGED_POSITIONAL,
    OPTIMIZER_WRAPPERS,
    optimizer_class,
    optimizer_from_string,
)

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph


@dataclass(frozen=True, eq=False)
class OptimizerFact:
    """An optimizer, as far as it is known where it is built.

    kind: "call" (a Keras optimizer constructor), "string" (`"adam"`) or "default" (compile()
    without one: Keras' unclipped "rmsprop"). `node` is the constructor call, the string literal
    or the compile call. `factory` is the module's own function whose call gave it
    (`compile(optimizer=make_optimizer())`), the outermost when factories call factories.
    """

    kind: str
    node: ast.AST
    class_name: str
    clipped: bool
    factory: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    # The graph of the project's other module `node` is written in, when a factory imported
    # from there gave it (None: this module). Its places are that module's, and no fix of
    # this module's can edit them.
    home: ModuleGraph | None = None


@dataclass(frozen=True, eq=False)
class CompileFact:
    """A `<model>.compile(...)` call."""

    call: ast.Call
    models: tuple[ModelInfo, ...]  # empty: the model is not known
    # What the optimizer can be: one, or one per branch of a factory or of an if; None where
    # it cannot be known statically.
    optimizers: tuple[OptimizerFact | None, ...]
    argument: ast.expr | None  # the optimizer argument as written
    keras_compile: bool  # Keras' own compile(), not a subclass's override

    @property
    def recurrent(self) -> Layer | None:
        return earliest(m.recurrent for m in self.models)

    @property
    def optimizer(self) -> OptimizerFact | None:
        """The optimizer, when it is one known optimizer."""
        return self.optimizers[0] if len(self.optimizers) == 1 else None


class Compiles:
    """The compile() calls of one module and the optimizers expressions denote."""

    def __init__(self, table: ScopeTable, resolver: Resolver, models: ModelTracer) -> None:
        self.table = table
        self.resolver = resolver
        self.models = models

    @cached_property
    def compiles(self) -> list[CompileFact]:
        return [fact for call in method_calls(self.table, "compile") if (fact := self._compile(call))]

    def optimizer_of(self, expr: ast.AST, scope: Scope, follow_parameters: bool = False,
                     depth: int = 0) -> list[OptimizerFact | None]:
        """The optimizers an expression can be (None: one that cannot be known)."""
        if depth > MAX_DEPTH:
            return [None]
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            name = optimizer_from_string(expr.value)
            return [OptimizerFact("string", expr, name, False)] if name else [None]
        if isinstance(expr, ast.IfExp):  # `Adam(1e-3) if cfg.adam else SGD(0.1)`: either
            return [f for arm in (expr.body, expr.orelse)
                    for f in self.optimizer_of(arm, scope, follow_parameters, depth + 1)]
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):  # `optimizer or "adam"`: any
            return [f for value in expr.values for f in self.optimizer_of(value, scope, follow_parameters, depth + 1)]
        if isinstance(expr, ast.Call):
            factory = self.resolver.function_def(expr.func, scope)
            if factory is not None:
                return self.factory_optimizers(factory, depth)
            imported = self.models.imported_function(expr.func, scope)
            if imported is not None:  # `make_optimizer()` from the project's `optim.py`
                other, function = imported
                return [f if f is None or f.home is not None else replace(f, home=other)
                        for f in other.training.factory_optimizers(function, depth + 1)]
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
            found = self.models.value_of(expr, scope)
            if found is not None:
                return self.optimizer_of(found[0], found[1], follow_parameters, depth + 1)
            branches = self.models.reaching_values(expr, scope)
            if branches:  # `opt = Adam(…)` in one branch of an if, `opt = SGD(…)` in the other
                return [f for value in branches for f in self.optimizer_of(value, scope, follow_parameters, depth + 1)]
            if follow_parameters:
                values = self.models.parameter_values(expr.id, scope, depth)
                if values:
                    return [f for value, where in values
                            for f in self.optimizer_of(value, where, True, depth + 1)]
            return [None]
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            cls = self.models.class_of_self(expr.value)
            if cls is not None:
                values = self.models.self_attribute(cls, expr.attr)
                if values:
                    return [f for value, where in values
                            for f in self.optimizer_of(value, where, follow_parameters, depth + 1)]
        return [None]

    def factory_optimizers(self, factory: ast.FunctionDef | ast.AsyncFunctionDef,
                           depth: int) -> list[OptimizerFact | None]:
        """What a call of one of the module's functions gives: what each of its returns is,
        through its own variables. A parameter it returns is the caller's, not known here."""
        returns = self.models.returns(factory)
        own = self.models.statements.own_nodes(factory)
        if not returns or any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own):
            return [None]
        inner = self.table.defs.get(id(factory), self.table.scope_of(factory))
        found: list[OptimizerFact | None] = []
        for value in returns:
            where = self.table.scope_of(value) if isinstance(value, ast.Call) else inner
            found.extend(f if f is None else replace(f, factory=factory)
                         for f in self.optimizer_of(value, where, False, depth + 1))
        return found

    def compiled_optimizers(self, models: list[ModelInfo]) -> tuple[list[OptimizerFact | None], bool]:
        """What Keras' compile() gives these models as `model.optimizer` (None: unknown), and
        whether every such compile() is one of a recurrent model, which GL201 judges."""
        nodes = {id(m.node) for m in models}
        found = [c for c in self.compiles if c.keras_compile and any(id(m.node) in nodes for m in c.models)]
        if not found:
            return [None], False
        return [o for c in found for o in c.optimizers], all(c.recurrent is not None for c in found)

    def _compile(self, call: ast.Call) -> CompileFact | None:
        receiver = call.func.value  # type: ignore[attr-defined]
        scope = self.table.scope_of(call)
        is_super = (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
                    and receiver.func.id == "super")
        if is_super or (isinstance(receiver, ast.Name) and receiver.id == "self"):
            cls = self.models.enclosing_class(call)
            info = self.models.class_info(cls) if cls is not None else None
            if info is None or not info.keras:
                return None
            models: tuple[ModelInfo, ...] = (info.model,)
            keras_compile = is_super or not info.custom_compile
        else:
            models = tuple(self.models.models_of(receiver, scope))
            if not models:
                return None
            keras_compile = not any(m.custom_compile for m in models)
        argument = next((k.value for k in call.keywords if k.arg == "optimizer"), None)
        if argument is None and call.args and not isinstance(call.args[0], ast.Starred):
            argument = call.args[0]
        optimizers: tuple[OptimizerFact | None, ...] = (None,)
        if argument is not None:
            optimizers = tuple(self.optimizer_of(argument, scope))
        elif not has_splat(call) and not call.args and not is_super:
            optimizers = (OptimizerFact("default", call, DEFAULT_OPTIMIZER, False),)
        return CompileFact(call, models, optimizers, argument, keras_compile)

    def _clips(self, call: ast.Call, scope: Scope) -> bool | None:
        """Whether an optimizer constructor clips; None when that cannot be known."""
        for kw in call.keywords:
            if kw.arg in CLIP_ARGUMENTS and constant_value(kw.value, scope, self.resolver) is not None:
                return True
        if has_splat(call) or len(call.args) > MAX_JUDGED_POSITIONAL:
            return None
        return False
