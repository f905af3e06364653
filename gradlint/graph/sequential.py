"""Sequential models: `Sequential([...])` lists and `model.add(...)` chains.

Each layer in such a chain learns what its output meets: the next activation layer, a
weighted layer (so it is linear), or the end of the model (its output, linear too).
"""

from __future__ import annotations

import ast
from collections import defaultdict

from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.layers import LayerCatalog
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.statements import Statements
from gradlint.keras_api.activations import LINEAR

SEQUENTIAL = frozenset({"keras.Sequential", "keras.models.Sequential"})

Outcome = ActivationFact | None  # None: cannot be known


def sequential_models(table: ScopeTable, resolver: Resolver) -> list[ast.Call]:
    return [c for c in table.calls if resolver.qualified_name(c.func, table.scope_of(c)) in SEQUENTIAL]


class SequentialContexts:
    """Collects, for each layer constructor call in a sequential chain, what follows it."""

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog,
                 statements: Statements | None = None) -> None:
        self.table = table
        self.statements = statements or Statements(module)
        self.resolver = resolver
        self.catalog = catalog
        self.outcomes: dict[int, list[Outcome]] = defaultdict(list)
        # Every chain: (the Sequential call, its layers in order), for rules over whole stacks.
        self.chains: list[tuple[ast.Call, list[Layer | None], bool]] = []
        homes = _model_homes(module, table)
        add_calls = _add_calls(table)
        self._used_as_layers = _names_used_as_layers(table)
        for call in sequential_models(table, resolver):
            self._chain(call, homes.get(id(call)), add_calls)

    def _chain(self, call: ast.Call, home: tuple[str | None, ast.AST] | None,
               add_calls: dict[str, list[ast.Call]]) -> None:
        scope = self.table.scope_of(call)
        elements: list[ast.expr] = []
        listed = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "layers"), None)
        if listed is not None:
            if not isinstance(listed, (ast.List, ast.Tuple)):
                return  # built elsewhere: nothing to see
            elements.extend(listed.elts)
        end_known = home is not None
        name = home[0] if home else None
        if name is not None:
            binding = scope.lookup(name)
            single = self.resolver.single_binding(name, scope) is not None
            for add in add_calls.get(name, []):
                add_scope = self.table.scope_of(add)
                if add_scope.lookup(name) is not binding:
                    continue
                if single or self._reached_by(call, add, name):
                    elements.append(add.args[0])
                elif self._may_reach(call, add, name):
                    end_known = False  # this model may grow after its last layer seen here
            if name in self._used_as_layers:
                end_known = False
        chain = [self._element(e, scope) for e in elements]
        self.chains.append((call, chain, end_known))
        for i, layer in enumerate(chain):
            if layer is not None:
                self.outcomes[id(layer.call)].append(self._following(chain, i + 1, call, end_known))

    def _reached_by(self, call: ast.Call, add: ast.Call, name: str) -> bool:
        """A name bound to several models (`model = Sequential()` in each branch of a model
        zoo): the `.add()` belongs to this one when it is the only binding that reaches it."""
        owner = self.statements.owner(add)
        if self.statements.owner(call) is not owner:
            return False
        reaching = self.statements.reaching(name, owner, add)
        return len(reaching) == 1 and reaching[0][1] is call

    def _may_reach(self, call: ast.Call, add: ast.Call, name: str) -> bool:
        owner = self.statements.owner(add)
        return self.statements.owner(call) is not owner or any(
            value is call for _, value in self.statements.reaching(name, owner, add))

    def _element(self, expr: ast.expr, scope: Scope) -> Layer | None:
        if isinstance(expr, ast.Starred) and isinstance(expr.value, (ast.ListComp, ast.GeneratorExp)):
            expr = expr.value.elt
        return self.catalog.layer_of(expr, scope)

    def _following(self, chain: list[Layer | None], start: int, model: ast.Call, end_known: bool) -> Outcome:
        for index in range(start, len(chain)):
            layer = chain[index]
            if layer is None:
                return None
            effect = self.catalog.effect_of(layer)
            if effect.kind == "transparent":
                continue
            return effect.activation if effect.kind in ("activation", "linear") else None
        return ActivationFact(LINEAR, "output", model) if end_known else None


def _model_homes(module: ast.Module, table: ScopeTable) -> dict[int, tuple[str | None, ast.AST]]:
    """Sequential calls that are a whole model: assigned to a name or returned.

    Maps id(call) → (the name or None, the statement's enclosing body owner).
    """
    homes: dict[int, tuple[str | None, ast.AST]] = {}
    for owner in (module, *table.functions):
        for stmt in _statements(owner.body):
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                targets = stmt.targets
                # (A model stored on an attribute, `self.block = Sequential(...)`, is a block
                # used inside another model: where its output goes is not known here.)
                if len(targets) == 1 and isinstance(targets[0], ast.Name):
                    homes[id(stmt.value)] = (targets[0].id, owner)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Call) and isinstance(stmt.target, ast.Name):
                homes[id(stmt.value)] = (stmt.target.id, owner)
            elif isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call):
                homes[id(stmt.value)] = (None, owner)
    return homes


def _statements(body: list[ast.stmt]):
    """Statements of a body, descending into blocks but not into nested functions/classes."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _statements(handler.body)


def _add_calls(table: ScopeTable) -> dict[str, list[ast.Call]]:
    """`name.add(layer)` calls by receiver name, in source order."""
    calls: dict[str, list[ast.Call]] = defaultdict(list)
    for node in table.calls:
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "add"
                and isinstance(node.func.value, ast.Name) and len(node.args) == 1 and not node.keywords):
            calls[node.func.value.id].append(node)
    for group in calls.values():
        group.sort(key=lambda c: (c.lineno, c.col_offset))
    return calls


def _names_used_as_layers(table: ScopeTable) -> set[str]:
    """Names called on a tensor or listed inside another call (`Sequential([base, …])`):
    a model under such a name hands its last layer's output on, not out of the model."""
    names: set[str] = set()
    for call in table.calls:
        if isinstance(call.func, ast.Name):
            names.add(call.func.id)
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, (ast.List, ast.Tuple)):
                names.update(e.id for e in arg.elts if isinstance(e, ast.Name))
    return names
