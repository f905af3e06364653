"""Training: what the clipping rules read about how a module trains its models.

One object per module that builds the parts in dependency order and shares their caches:
statements.py (reaching assignments, dominance) → tracing.py (which models an expression
denotes, which are recurrent) → compiles.py (compile() calls, optimizers) → steps.py (custom
training steps).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from gradlint.graph.compiles import CompileFact, Compiles, OptimizerFact
from gradlint.graph.dataflow import Dataflow
from gradlint.graph.facts import Layer
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.sequential import SequentialContexts
from gradlint.graph.statements import Statements
from gradlint.graph.steps import TrainingStep, TrainingSteps
from gradlint.graph.tracing import ModelTracer

if TYPE_CHECKING:
    from gradlint.graph.project import Project


class Training:
    """Models, compile() calls and custom training steps of one module."""

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog,
                 sequential: SequentialContexts, dataflow: Dataflow, statements: Statements | None = None,
                 project: Project | None = None, path: str | None = None) -> None:
        self.table = table
        self._statements = statements or Statements(module)
        models = ModelTracer(table, resolver, catalog, sequential, dataflow, self._statements, project, path)
        self._models = models
        self._compiles = Compiles(table, resolver, models)
        self._steps = TrainingSteps(table, resolver, self._statements, models, self._compiles)

    @property
    def tracer(self) -> ModelTracer:
        """Which models an expression denotes: what another module asks of this one."""
        return self._models

    @property
    def compiles(self) -> list[CompileFact]:
        return self._compiles.compiles

    @property
    def steps(self) -> list[TrainingStep]:
        return self._steps.steps

    def factory_optimizers(self, function: ast.FunctionDef | ast.AsyncFunctionDef,
                           depth: int) -> list[OptimizerFact | None]:
        """The optimizers a call of one of this module's functions gives: what another module
        that imports it asks."""
        return self._compiles.factory_optimizers(function, depth)

    def describe(self, layer: Layer) -> str:
        """How a message names a model's recurrent layer: "LSTM", "Bidirectional(GRU)",
        "LSTM or GRU" (a class chosen at run time)."""
        return self._models.describe(layer)

    def scope_at(self, node: ast.AST) -> Scope:
        """The scope of the function (or module) whose body holds `node`."""
        return self.table.defs.get(id(self._statements.owner(node)), self.table.module_scope)
