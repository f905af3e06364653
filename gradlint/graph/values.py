"""Constant values of expressions, as far as they can be known without running code."""

from __future__ import annotations

import ast
from typing import Any

from gradlint.graph.scopes import Resolver, Scope


class _Unknown:
    """The value cannot be known statically."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()


def constant_value(expr: ast.AST, scope: Scope, resolver: Resolver, depth: int = 0) -> Any:
    """The Python value of a literal (numbers, strings, None, tuples, lists, dicts), following
    names bound once to such a literal; UNKNOWN for anything else."""
    if depth > 8:
        return UNKNOWN
    if isinstance(expr, ast.Constant):
        return expr.value
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        inner = constant_value(expr.operand, scope, resolver, depth + 1)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(expr.op, ast.USub) else inner
        return UNKNOWN
    if isinstance(expr, (ast.Tuple, ast.List)):
        items = [constant_value(e, scope, resolver, depth + 1) for e in expr.elts]
        return UNKNOWN if any(i is UNKNOWN for i in items) else tuple(items)
    if isinstance(expr, ast.Dict):
        result = {}
        for k, v in zip(expr.keys, expr.values):
            if k is None:
                return UNKNOWN
            key = constant_value(k, scope, resolver, depth + 1)
            if key is UNKNOWN or not isinstance(key, (str, int, float, bool, type(None))):
                return UNKNOWN
            result[key] = constant_value(v, scope, resolver, depth + 1)
        return result
    if isinstance(expr, ast.Name):
        found = resolver.assigned_value(expr.id, scope)
        if found is None:
            return UNKNOWN
        value, where = found
        return constant_value(value, where, resolver, depth + 1)
    return UNKNOWN


def call_argument(call: ast.Call, name: str, position: int | None) -> ast.expr | None:
    """The argument passed for a parameter, by keyword or at its position."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if position is not None:
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        if position < len(positional) and len(positional) == len(call.args):
            return positional[position]
    return None


def has_splat(call: ast.Call) -> bool:
    """`*args` or `**kwargs`: any parameter not named explicitly could be in them."""
    return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def range_length(expr: ast.expr, scope: Scope, resolver: Resolver) -> int | None:
    """How many values `range(...)` of constants yields (the builtin, not a rebinding of it);
    None for anything else."""
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "range"
            and scope.lookup("range") is None and not expr.keywords):
        return None
    args = [constant_value(a, scope, resolver) for a in expr.args]
    if not args or len(args) > 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return None
    return len(range(*args)) if args[-1] != 0 or len(args) < 3 else None
