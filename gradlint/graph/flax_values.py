"""What a Flax layer's argument is when it is not a literal: a linen module's field
(`nn.Dense(self.features)`, `features: int = 128`) or an NNX `__init__` parameter
(`nnx.Linear(din, 256)`), known where every instantiation of the class in the module gives it
the same value (its default included). A class never instantiated here, or instantiated with
values that differ or cannot be read, leaves it unknown: the rules never guess.
"""

from __future__ import annotations

import ast
from typing import Any

from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.values import UNKNOWN, constant_value

Given = tuple[ast.expr, Scope]  # an expression and where it is evaluated


class ClassArguments:
    """The values instantiations give a module class's fields and __init__ parameters."""

    def __init__(self, scopes: ScopeTable, resolver: Resolver, classes: dict[str, ast.ClassDef]) -> None:
        self.scopes = scopes
        self.resolver = resolver
        self.classes = classes
        self._calls: dict[str, list[ast.Call]] = {}
        for call in scopes.calls:
            if isinstance(call.func, ast.Name) and call.func.id in classes:
                self._calls.setdefault(call.func.id, []).append(call)

    def value(self, expr: ast.expr, scope: Scope) -> Any:
        """A literal's value, else a field's or parameter's that every instantiation agrees on;
        UNKNOWN otherwise."""
        value = constant_value(expr, scope, self.resolver)
        if value is not UNKNOWN:
            return value
        given = self.given(expr, scope)
        if given is None:
            return UNKNOWN
        values = [constant_value(e, s, self.resolver) for e, s in given]
        if not values or any(v is UNKNOWN for v in values) or any(v != values[0] for v in values):
            return UNKNOWN
        return values[0]

    def given(self, expr: ast.expr, scope: Scope) -> list[Given] | None:
        """What each instantiation passes for the field (`self.X`) or parameter (`X`) `expr`
        names; None where that cannot be told."""
        function, cls = _enclosing(scope)
        if cls is None or cls.name not in self.classes:
            return None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return self._field(cls, expr.attr)
        if isinstance(expr, ast.Name) and function is not None and function.name == "__init__":
            bindings = scope.bindings.get(expr.id, []) if scope.node is function else []
            if len(bindings) == 1:
                return self._parameter(cls, function, expr.id)
        return None

    def _instantiations(self, cls: ast.ClassDef) -> list[ast.Call] | None:
        calls = self._calls.get(cls.name, [])
        if not calls or any(any(isinstance(a, ast.Starred) for a in c.args) or any(k.arg is None for k in c.keywords)
                            for c in calls):
            return None
        return calls

    def _field(self, cls: ast.ClassDef, name: str) -> list[Given] | None:
        """A dataclass field of a linen module: keyword, position (fields in order, when the
        class has no module base of the file's own), or its default."""
        fields = [s for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
        names = [s.target.id for s in fields]  # type: ignore[union-attr]
        if name not in names:
            return None
        calls = self._instantiations(cls)
        if calls is None:
            return None
        own_bases = any(isinstance(b, ast.Name) and b.id in self.classes for b in cls.bases)
        default = fields[names.index(name)].value
        class_scope = class_scope_of(self.scopes, cls)
        found: list[Given] = []
        for call in calls:
            keyword = next((k.value for k in call.keywords if k.arg == name), None)
            index = names.index(name)
            if keyword is not None:
                found.append((keyword, self.scopes.scope_of(call)))
            elif call.args and own_bases:
                return None
            elif index < len(call.args):
                found.append((call.args[index], self.scopes.scope_of(call)))
            elif default is not None:
                found.append((default, class_scope))
            else:
                return None
        return found

    def _parameter(self, cls: ast.ClassDef, function: ast.FunctionDef, name: str) -> list[Given] | None:
        """An __init__ parameter: keyword, position after self, or its default."""
        args = function.args
        positional = [a.arg for a in args.posonlyargs + args.args][1:]
        keyword_only = [a.arg for a in args.kwonlyargs]
        if name not in positional and name not in keyword_only:
            return None
        calls = self._instantiations(cls)
        if calls is None:
            return None
        function_scope = self.scopes.defs.get(id(function), self.scopes.module_scope)
        default: ast.expr | None = None
        if name in positional:
            index = positional.index(name)
            offset = len(positional) - len(args.defaults)
            default = args.defaults[index - offset] if index >= offset else None
        else:
            index = None
            default = args.kw_defaults[keyword_only.index(name)]
        found: list[Given] = []
        for call in calls:
            keyword = next((k.value for k in call.keywords if k.arg == name), None)
            if keyword is not None:
                found.append((keyword, self.scopes.scope_of(call)))
            elif index is not None and index < len(call.args):
                found.append((call.args[index], self.scopes.scope_of(call)))
            elif default is not None:
                found.append((default, function_scope.parent or function_scope))
            else:
                return None
        return found


def _enclosing(scope: Scope) -> tuple[ast.FunctionDef | None, ast.ClassDef | None]:
    """The method a scope is in (the first function on the way out) and its class."""
    function: ast.FunctionDef | None = None
    current: Scope | None = scope
    while current is not None:
        if isinstance(current.node, ast.FunctionDef) and function is None:
            function = current.node
        if current.is_class and isinstance(current.node, ast.ClassDef):
            return function, current.node
        current = current.parent
    return function, None


def class_scope_of(scopes: ScopeTable, cls: ast.ClassDef) -> Scope:
    """The scope of a class's body (its fields' defaults are evaluated there), found through a
    method's; the module's for a class without one."""
    for statement in cls.body:
        if isinstance(statement, ast.FunctionDef) and id(statement) in scopes.defs:
            parent = scopes.defs[id(statement)].parent
            if parent is not None:
                return parent
    return scopes.module_scope
