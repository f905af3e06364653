"""Statements of one module: which function owns a node, which assignments of a name reach a
use, and which statements surely run before it.

Model tracing and custom training steps both follow a name back through the assignments of
its own function; this is the one place that reads control structure to do so.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cached_property

from gradlint.graph.scopes import ScopeTable

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_GRADIENT_CALLS = frozenset({"gradient", "gradients"})  # tape.gradient, tf.gradients

Bindings = list[tuple[ast.stmt, ast.AST | None]]  # (statement, value bound; None: a part of one)


def position(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)  # type: ignore[attr-defined]


def method_calls(table: ScopeTable, name: str) -> list[ast.Call]:
    """Every `<anything>.<name>(...)` call of the module."""
    return [n for n in table.calls if isinstance(n.func, ast.Attribute) and n.func.attr == name]


class Statements:
    """Parents, owners, reaching assignments and dominance for the nodes of one module."""

    def __init__(self, module: ast.Module) -> None:
        self.module = module
        self._bindings_by_owner: dict[int, dict[str, Bindings]] = {}

    @cached_property
    def parents(self) -> dict[int, ast.AST]:
        parents: dict[int, ast.AST] = {}
        for node in ast.walk(self.module):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
        return parents

    def owner(self, node: ast.AST) -> ast.AST:
        """The function (or the module) whose body holds `node`."""
        current: ast.AST | None = node
        while current is not None:
            current = self.parents.get(id(current))
            if isinstance(current, (*FUNCTIONS, ast.Module)):
                return current
        return self.module

    def own_nodes(self, owner: ast.AST) -> Iterator[ast.AST]:
        """Nodes of a function's (or the module's) own body, not of functions inside it."""
        stack = list(reversed(getattr(owner, "body", [])))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, (*FUNCTIONS, ast.ClassDef, ast.Lambda)):
                continue
            stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def definitions(self, name: str, owner: ast.AST, before: ast.AST) -> Bindings:
        """Statements of `owner` that bind `name` and start before `before`, in order, each
        with the value it binds (None when it binds a part of something)."""
        table = self._bindings_by_owner.get(id(owner))
        if table is None:
            table = self._bindings_by_owner[id(owner)] = _bindings_of(self.own_nodes(owner), self.statement)
        limit = position(before)
        return [(s, v) for s, v in table.get(name, []) if position(s) < limit and not self.encloses(s, before)]

    def encloses(self, outer: ast.AST, node: ast.AST) -> bool:
        current: ast.AST | None = node
        while current is not None:
            if current is outer:
                return True
            current = self.parents.get(id(current))
        return False

    def expand(self, expr: ast.AST, owner: ast.AST) -> list[ast.AST]:
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
            for node in walk_outside_gradients(current):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    work.extend(v if v is not None else _bound_from(s) for s, v in self.reaching(node.id, owner, node))
        return found

    def reaching(self, name: str, owner: ast.AST, use: ast.AST) -> Bindings:
        """The assignments of `name` that can reach `use`: the last one that surely runs before
        it, and any after that one which may run (in a branch)."""
        found = []
        for statement, value in reversed(self.definitions(name, owner, use)):
            found.append((statement, value))
            if not isinstance(statement, ast.AugAssign) and self.dominates(statement, use):
                break
        return found

    def statement(self, node: ast.AST) -> ast.stmt | None:
        current: ast.AST | None = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self.parents.get(id(current))
        return current

    def statement_end(self, value: ast.AST) -> tuple[int, int]:
        statement = self.statement(value)
        target = statement if statement is not None else value
        return (target.end_lineno, target.end_col_offset)  # type: ignore[attr-defined]

    def dominates(self, statement: ast.stmt, use: ast.AST) -> bool:
        """True when `statement` is in a block that also holds (an ancestor of) `use`, before
        it: it has run whenever `use` runs. A `with` block runs its body: a statement in it
        stands for the `with` statement."""
        parent = self.parents.get(id(statement))
        while isinstance(parent, (ast.With, ast.AsyncWith)) and not self.encloses(parent, use):
            statement, parent = parent, self.parents.get(id(parent))
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
            current = self.parents.get(id(current))
        return False


def walk_outside_gradients(expr: ast.AST) -> Iterator[ast.AST]:
    """Every node of `expr`, not descending into the arguments of a `.gradient(...)` call."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _GRADIENT_CALLS:
            continue
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _bound_from(statement: ast.stmt) -> ast.AST:
    """What a statement that binds a part of something reads from: its value, a loop's iterable."""
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return statement.iter
    value = getattr(statement, "value", None)
    return value if isinstance(value, ast.AST) else statement


def _bindings_of(nodes: Iterator[ast.AST],
                 statement_of: Callable[[ast.AST], ast.stmt | None]) -> dict[str, Bindings]:
    """name → [(statement, value bound)] for the assignments among `nodes`, in source order."""
    table: dict[str, Bindings] = defaultdict(list)

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
        entries.sort(key=lambda e: position(e[0]))
    return table
