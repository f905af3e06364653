"""Custom training steps: an `optimizer.apply_gradients(...)` (or Keras 3's `apply`) of a
recurrent model's tape gradients with no clip function between `tape.gradient` and the call,
and an `optimizer.minimize(loss, var_list, tape=tape)` (tf.keras / Keras 2), where the
optimizer computes and applies the gradients itself.

The gradients are followed back through the assignments of the step's own function
(graph/statements.py); the variables to the models that hold them (graph/tracing.py); the
optimizer to its constructor or to the compile() that gave it (graph/compiles.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property

from gradlint.graph.compiles import Compiles, OptimizerFact
from gradlint.graph.facts import Layer
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.statements import Statements, method_calls, position, walk_outside_gradients
from gradlint.graph.tracing import ModelTracer, earliest
from gradlint.keras_api.optimizers import is_gradient_clip

_VARIABLE_ATTRIBUTES = frozenset({"trainable_variables", "trainable_weights"})
_TF_GRADIENTS = frozenset({"tensorflow.gradients", "tensorflow.compat.v1.gradients"})


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
    minimize: bool = False  # `optimizer.minimize(...)`: only the optimizer can clip


class TrainingSteps:
    """The unclipped custom training steps of recurrent models in one module."""

    def __init__(self, table: ScopeTable, resolver: Resolver, statements: Statements,
                 models: ModelTracer, compiles: Compiles) -> None:
        self.table = table
        self.resolver = resolver
        self.statements = statements
        self.models = models
        self.compiles = compiles

    @cached_property
    def steps(self) -> list[TrainingStep]:
        calls = sorted([*method_calls(self.table, "apply_gradients"), *method_calls(self.table, "apply")],
                       key=position)
        steps = [step for call in calls if (step := self._step(call))]
        steps.extend(step for call in method_calls(self.table, "minimize") if (step := self._minimize_step(call)))
        return sorted(steps, key=lambda step: position(step.call))

    def _minimize_step(self, call: ast.Call) -> TrainingStep | None:
        """`optimizer.minimize(loss, var_list, tape=tape)` of a recurrent model's variables (a
        callable `var_list` too), by an optimizer known where it is built or compiled: what
        it clips is all there is to know, so an optimizer that cannot be known is not judged."""
        scope = self.table.scope_of(call)
        if self.resolver.qualified_name(call.func, scope) is not None:  # `scipy.optimize.minimize`
            return None
        var_list = _given(call, "var_list", 1)
        if var_list is None:
            return None
        owner = self.statements.owner(call)
        recurrent = earliest(self._holder_recurrent(h, scope) for h in self._holders_in(var_list, owner))
        if recurrent is None:
            return None
        optimizers, from_compile = self._step_optimizer(call.func.value, scope)  # type: ignore[attr-defined]
        if all(o is None for o in optimizers):
            return None
        return TrainingStep(call, recurrent, tuple(optimizers), from_compile, None, None, minimize=True)

    def _step(self, call: ast.Call) -> TrainingStep | None:
        """`optimizer.apply_gradients(zip(grads, variables))`, or Keras 3's
        `optimizer.apply(grads, variables)`, of a recurrent model with unclipped tape gradients."""
        found = _step_arguments(call)
        if found is None:
            return None
        parts, gradients = found
        owner = self.statements.owner(call)
        scope = self.table.scope_of(call)
        clipped = tape = False
        holders: list[ast.expr] = []
        for expr in (e for part in parts for e in self.statements.expand(part, owner)):
            for node in walk_outside_gradients(expr):
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
        recurrent = earliest(self._holder_recurrent(h, scope) for h in holders)
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
            cls = self.models.class_of_self(holder)
            if cls is not None:
                info = self.models.class_info(cls)
                return info.recurrent if info is not None else None
            layer = self.models.layer_at(holder, scope)
            if layer is not None:
                return self.models.recurrent(layer)
        if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name):
            cls = self.models.class_of_self(holder.value)
            if cls is not None:
                values = self.models.self_attribute(cls, holder.attr)
                found: list[Layer | None] = []
                for value, where in values:
                    layer = self.models.layer_at(value, where)
                    if layer is not None:
                        found.append(self.models.recurrent(layer))
                    else:
                        found.extend(m.recurrent for m in self.models.models_of(value, where))
                return earliest(found)
        return earliest(m.recurrent for m in self.models.models_of(holder, scope))

    def _variable_holders(self, gradient: ast.Call, owner: ast.AST) -> list[ast.expr]:
        """The models whose variables a `tape.gradient(loss, sources)` differentiates."""
        sources = gradient.args[1] if len(gradient.args) > 1 else next(
            (k.value for k in gradient.keywords if k.arg in ("sources", "xs")), None)
        return self._holders_in(sources, owner) if sources is not None else []

    def _holders_in(self, sources: ast.expr, owner: ast.AST) -> list[ast.expr]:
        """What `<holder>.trainable_variables` in `sources` (through the function's own
        assignments) reads the variables of."""
        holders: list[ast.expr] = []
        for expr in self.statements.expand(sources, owner):
            holders.extend(n.value for n in ast.walk(expr)
                           if isinstance(n, ast.Attribute) and n.attr in _VARIABLE_ATTRIBUTES)
        return holders

    def _step_optimizer(self, receiver: ast.expr, scope: Scope) -> tuple[list[OptimizerFact | None], bool]:
        if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name):
            cls = self.models.class_of_self(receiver.value)
            if cls is not None:
                if self.models.self_attribute(cls, receiver.attr):
                    return self.compiles.optimizer_of(receiver, scope, follow_parameters=True), False
                if receiver.attr == "optimizer":
                    info = self.models.class_info(cls)
                    if info is None or not info.keras:
                        return [None], False
                    return self.compiles.compiled_optimizers([info.model])
                return [None], False
            if receiver.attr == "optimizer":
                models = self.models.models_of(receiver.value, scope)
                if models:
                    return self.compiles.compiled_optimizers(models)
        return self.compiles.optimizer_of(receiver, scope, follow_parameters=True), False

    def _zipped_gradients(self, argument: ast.expr, owner: ast.AST, call: ast.Call) -> ast.Name | None:
        """`zip(grads, variables)` (perhaps in `list(...)` or through a name) → `grads`."""
        expr: ast.AST = argument
        for _ in range(3):
            if isinstance(expr, ast.Name):
                definitions = self.statements.definitions(expr.id, owner, call)
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
        definitions = self.statements.definitions(gradients.id, owner, call)
        if not definitions:
            return None
        statement = definitions[-1][0]
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name) and self.statements.dominates(statement, call)):
            return statement
        return None

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
        for node in self.statements.own_nodes(function):
            if isinstance(node, ast.Call):
                found = self.resolver.qualified_name(node.func, self.table.scope_of(node))
                if found is not None and is_gradient_clip(found):
                    return True
        return False


def _step_arguments(call: ast.Call) -> tuple[list[ast.expr], ast.Name | None] | None:
    """What a training step hands the optimizer: the expressions to search for gradients and
    variables, and the gradient variable when `apply(grads, variables)` names it."""
    if call.func.attr == "apply_gradients":  # type: ignore[attr-defined]
        argument = _given(call, "grads_and_vars", 0)
        return ([argument], None) if argument is not None else None
    grads, variables = _given(call, "grads", 0), _given(call, "trainable_variables", 1)
    if grads is None:
        return None
    parts = [grads, variables] if variables is not None else [grads]
    return parts, grads if isinstance(grads, ast.Name) else None


def _given(call: ast.Call, name: str, index: int) -> ast.expr | None:
    """The argument a call passes for a parameter, by keyword or at its position."""
    value = next((k.value for k in call.keywords if k.arg == name), None)
    if value is None and len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        value = call.args[index]
    return value
