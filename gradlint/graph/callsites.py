"""The values a function's parameter takes, from the calls of the module that can be seen.

`def block(x, units, act="relu"): Dense(units, activation=act)` is the most common helper
there is: the activation is a parameter, and every call site is in the same file. Its value
at the layer is the set of values the calls pass (the default where a call leaves it out).
It is known only when every use of the function is a call of it that can be read: a function
passed around as a value, decorated, called with `*args`/`**kwargs`, or never called here
may receive anything, and then nothing is claimed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gradlint.graph.scopes import BindingKind, Resolver, Scope, ScopeTable

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class ArgumentValue:
    """One value a parameter takes: the expression and where it is evaluated, and the call
    that passes it (None: the default, for a call that leaves the parameter out)."""

    expr: ast.expr
    scope: Scope
    call: ast.Call


class CallSites:
    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver) -> None:
        self.module = module
        self.table = table
        self.resolver = resolver
        self._loads: dict[str, list[ast.Name]] | None = None

    def parameter_of(self, name: ast.Name, scope: Scope) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
        """(the function, the parameter) when `name` is a parameter of the function whose body
        `scope` is, never rebound there."""
        function = scope.node
        if not isinstance(function, _FUNCTIONS) or scope.holder(name.id) is not scope:
            return None
        bindings = scope.bindings.get(name.id, [])
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.OTHER:
            return None
        if name.id not in _parameter_names(function.args):
            return None
        return function, name.id

    def values(self, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> list[ArgumentValue] | None:
        """Every value `param` takes at the module's calls of `function`; None when any use of
        the function is not a readable call, or there is none."""
        if function.decorator_list or param in (getattr(function.args.vararg, "arg", None),
                                                getattr(function.args.kwarg, "arg", None)):
            return None
        calls = self._calls_of(function)
        if not calls:
            return None
        found: list[ArgumentValue] = []
        for call in calls:
            value = argument_of(function.args, param, call)
            if value is None:
                return None
            expr, from_default = value
            scope = self.table.scope_of(function) if from_default else self.table.scope_of(call)
            found.append(ArgumentValue(expr, scope, call))
        return found

    def _calls_of(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call] | None:
        calls = []
        call_funcs: set[int] = set()
        for call in self.table.calls:
            if isinstance(call.func, ast.Name) and call.func.id == function.name \
                    and self.resolver.function_def(call.func, self.table.scope_of(call)) is function:
                calls.append(call)
                call_funcs.add(id(call.func))
        # Any other mention of the name (passed as a value, aliased, returned) may call it
        # with anything.
        for load in self._names().get(function.name, []):
            if id(load) not in call_funcs:
                return None
        return calls

    def _names(self) -> dict[str, list[ast.Name]]:
        if self._loads is None:
            loads: dict[str, list[ast.Name]] = {}
            for node in ast.walk(self.module):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    loads.setdefault(node.id, []).append(node)
            self._loads = loads
        return self._loads


def _parameter_names(args: ast.arguments) -> list[str]:
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def argument_of(args: ast.arguments, param: str, call: ast.Call) -> tuple[ast.expr, bool] | None:
    """What `call` passes for `param` and whether it is the default; None if not readable."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    for keyword in call.keywords:
        if keyword.arg == param:
            return keyword.value, False
    positional = [*args.posonlyargs, *args.args]
    names = [a.arg for a in positional]
    if param in names:
        index = names.index(param)
        if index < len(call.args):
            return call.args[index], False
        first_default = len(positional) - len(args.defaults)
        if index >= first_default:
            return args.defaults[index - first_default], True
        return None
    kwonly = [a.arg for a in args.kwonlyargs]
    if param in kwonly:
        default = args.kw_defaults[kwonly.index(param)]
        return (default, True) if default is not None else None
    return None
