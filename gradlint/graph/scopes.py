"""Name resolution without running anything: scopes, their bindings, and what a name denotes.

A light pass of our own over imports and simple assignments: enough to know that `L.Dense`
is `keras.layers.Dense` and that `ACT` is "relu", and to refuse to guess about anything else.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from enum import Enum

from gradlint.keras_api.names import canonical


class BindingKind(Enum):
    IMPORT = "import"  # value: the dotted path imported
    ASSIGN = "assign"  # value: the assigned expression
    DEF = "def"  # value: the FunctionDef / ClassDef
    OTHER = "other"  # parameters, loop targets, tuple unpacking: not knowable


@dataclass(frozen=True)
class Binding:
    kind: BindingKind
    node: ast.AST | None = None  # the assigned expression, the def, the import statement
    path: str | None = None  # for imports
    # Where the assigned expression is evaluated, when not in the scope holding the binding:
    # `global name; name = value` in a function binds the module's name to the function's value.
    home: Scope | None = None

    @property
    def is_none_placeholder(self) -> bool:
        """`name = None`: a module's "set later" idiom (keras-applications' `layers = None`)."""
        return self.kind is BindingKind.ASSIGN and isinstance(self.node, ast.Constant) and self.node.value is None


@dataclass(eq=False)
class Scope:
    node: ast.AST
    parent: Scope | None
    is_class: bool = False
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)  # `global name` in this scope

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    @property
    def root(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def holder(self, name: str) -> Scope | None:
        """The scope whose binding of `name` is seen from here (Python's rule: class bodies are
        not seen from the functions inside them; a `global` name is the module's)."""
        scope: Scope | None = self
        first = True
        while scope is not None:
            if name in scope.global_names:
                root = scope.root
                return root if name in root.bindings else None
            if (first or not scope.is_class) and name in scope.bindings:
                return scope
            first = False
            scope = scope.parent
        return None

    def lookup(self, name: str) -> list[Binding] | None:
        """The bindings of `name` in the nearest scope that binds it."""
        holder = self.holder(name)
        return holder.bindings[name] if holder is not None else None


_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class ScopeTable:
    """Every scope of a module, and the scope each call and function body belongs to."""

    def __init__(self, module: ast.Module) -> None:
        self.module_scope = Scope(module, None)
        self.scope_of_node: dict[int, Scope] = {}  # id(Call | def | scope node) → scope
        self.defs: dict[int, Scope] = {}  # id(FunctionDef) → the scope of its body
        # Collected on the one walk every module gets, so that no later pass walks it again.
        self.calls: list[ast.Call] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        # `self.name = value` inside methods: (the scope of the method, name, value).
        self.self_assignments: list[tuple[Scope, str, ast.expr]] = []
        # keras-applications' sub-package unpackings: (scope, the call, [(holder, name, binding)]).
        self.submodule_bindings: list[tuple[Scope, ast.Call, list[tuple[Scope, str, Binding]]]] = []
        _Builder(self).run(module)
        self.calls.sort(key=lambda c: (c.lineno, c.col_offset))
        self._check_submodule_bindings()

    def _check_submodule_bindings(self) -> None:
        """Unpackings whose callee is not keras-applications' own become unknowable again."""
        for scope, call, bound in self.submodule_bindings:
            if _is_keras_applications_getter(call.func, scope):
                continue
            for holder, name, binding in bound:
                bindings = holder.bindings[name]
                at = next(i for i, b in enumerate(bindings) if b is binding)
                bindings[at] = Binding(BindingKind.OTHER)

    def scope_of(self, node: ast.AST) -> Scope:
        return self.scope_of_node.get(id(node), self.module_scope)

    @staticmethod
    def class_of(scope: Scope) -> ast.ClassDef | None:
        """The class whose method `scope` is (or is nested in), if any."""
        current: Scope | None = scope
        while current is not None:
            if current.parent is not None and current.parent.is_class and isinstance(current.parent.node, ast.ClassDef):
                return current.parent.node
            current = current.parent
        return None


class _Builder(ast.NodeVisitor):
    def __init__(self, table: ScopeTable) -> None:
        self.table = table
        self.scope = table.module_scope

    def run(self, module: ast.Module) -> None:
        for stmt in module.body:
            self.visit(stmt)

    # -- scopes -------------------------------------------------------------------------
    def _enter(self, node: ast.AST, is_class: bool = False) -> Scope:
        scope = Scope(node, self.scope, is_class=is_class)
        self.table.scope_of_node[id(node)] = self.scope
        return scope

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        self._visit_defaults(node.args)
        self._bind(node.name, Binding(BindingKind.DEF, node))
        inner = self._enter(node)
        self.table.defs[id(node)] = inner
        self.table.functions.append(node)
        _bind_params(inner, node.args)
        outer, self.scope = self.scope, inner
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _visit_defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)
        inner = self._enter(node)
        _bind_params(inner, node.args)
        outer, self.scope = self.scope, inner
        self.visit(node.body)
        self.scope = outer

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *[k.value for k in node.keywords]]:
            self.visit(expr)
        self._bind(node.name, Binding(BindingKind.DEF, node))
        inner = self._enter(node, is_class=True)
        self.table.defs[id(node)] = inner
        outer, self.scope = self.scope, inner
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        # The first iterable is evaluated in the enclosing scope.
        self.visit(node.generators[0].iter)
        inner = self._enter(node)
        outer, self.scope = self.scope, inner
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            self._bind_target(gen.target, None)
            for cond in gen.ifs:
                self.visit(cond)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scope = outer

    visit_ListComp = _visit_comprehension
    visit_SetComp = _visit_comprehension
    visit_GeneratorExp = _visit_comprehension
    visit_DictComp = _visit_comprehension

    # -- bindings ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind(alias.asname, Binding(BindingKind.IMPORT, node, path=alias.name))
            else:
                top = alias.name.split(".")[0]
                self._bind(top, Binding(BindingKind.IMPORT, node, path=top))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                continue
            name = alias.asname or alias.name
            if node.level or not node.module:
                # A relative import is the project's own code, never Keras (the statement is
                # kept: keras-applications imports `get_submodules_from_kwargs` this way).
                self._bind(name, Binding(BindingKind.OTHER, node))
            else:
                self._bind(name, Binding(BindingKind.IMPORT, node, path=f"{node.module}.{alias.name}"))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                self.table.self_assignments.append((self.scope, target.attr, node.value))
            if not self._bind_keras_submodules(target, node.value):
                self._bind_target(target, node.value)

    def _bind_keras_submodules(self, target: ast.AST, value: ast.AST) -> bool:
        """keras-applications' `backend, layers, models, keras_utils =
        get_submodules_from_kwargs(kwargs)` (and its older `layers = get_keras_submodule("layers")`):
        the names are Keras' sub-packages. Kept as imports once the callee is checked
        (`ScopeTable` does it after the walk, when every binding is known)."""
        paths = _submodule_paths(target, value)
        if paths is None:
            return False
        assert isinstance(value, ast.Call)
        bound = []
        for name, path in paths:
            binding = Binding(BindingKind.IMPORT, value, path=path) if path else Binding(BindingKind.OTHER)
            bound.append((self._bind(name, binding), name, binding))
        self.table.submodule_bindings.append((self.scope, value, bound))
        return True

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._bind_target(node.target, node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._bind_target(node.target, None)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._bind_target(node.target, node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._bind_target(node.target, None)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._bind_target(node.optional_vars, None)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name, Binding(BindingKind.OTHER))
        for stmt in node.body:
            self.visit(stmt)

    def visit_Global(self, node: ast.Global) -> None:
        if self.scope.parent is not None:
            self.scope.global_names.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        for name in node.names:
            self._bind(name, Binding(BindingKind.OTHER))

    def _bind(self, name: str, binding: Binding) -> Scope:
        """Bind in the current scope, or in the module's for a name declared `global` here;
        returns the scope that holds the binding."""
        scope = self.scope
        if name in scope.global_names:
            if binding.kind is BindingKind.ASSIGN:
                binding = Binding(binding.kind, binding.node, binding.path, home=scope)
            scope = scope.root
        scope.bind(name, binding)
        return scope

    def visit_Call(self, node: ast.Call) -> None:
        self.table.scope_of_node[id(node)] = self.scope
        self.table.calls.append(node)
        self.generic_visit(node)

    def _bind_target(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            kind = BindingKind.ASSIGN if value is not None else BindingKind.OTHER
            self._bind(target.id, Binding(kind, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._bind_target(elt.value if isinstance(elt, ast.Starred) else elt, None)
        else:
            self.visit(target)


# keras-applications hands a model function the Keras it was given as keyword arguments:
# `get_submodules_from_kwargs(kwargs)` returns them in this order.
_SUBMODULES_GETTER = "get_submodules_from_kwargs"
_SUBMODULES_RETURNED = ("keras.backend", "keras.layers", "keras.models", "keras.utils")
_SUBMODULE_GETTER = "get_keras_submodule"  # its older, one-at-a-time form
_SUBMODULES_NAMED = {"backend": "keras.backend", "layers": "keras.layers", "models": "keras.models",
                     "utils": "keras.utils", "engine": "keras.engine"}
_KERAS_APPLICATIONS = "keras_applications"


def _callee_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _submodule_paths(target: ast.AST, value: ast.AST) -> list[tuple[str, str | None]] | None:
    """The names a keras-applications unpacking binds and the Keras sub-package each denotes
    (None: a target that is not a plain name); None if the statement is not one."""
    if not isinstance(value, ast.Call):
        return None
    callee = _callee_name(value.func)
    if callee == _SUBMODULES_GETTER and isinstance(target, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(_SUBMODULES_RETURNED) and len(value.args) == 1 and not value.keywords:
        if not all(isinstance(e, ast.Name) for e in target.elts):
            return None
        return [(e.id, path) for e, path in zip(target.elts, _SUBMODULES_RETURNED)]  # type: ignore[attr-defined]
    if callee == _SUBMODULE_GETTER and isinstance(target, ast.Name) and len(value.args) == 1 \
            and not value.keywords and isinstance(value.args[0], ast.Constant):
        path = _SUBMODULES_NAMED.get(value.args[0].value)  # type: ignore[arg-type]
        return [(target.id, path)] if path else None
    return None


def _is_keras_applications_getter(func: ast.AST, scope: Scope) -> bool:
    """The callee is keras-applications' own: imported from `keras_applications`, imported
    relatively by a module of that package (or of a project built the same way), or defined
    in the module itself, as its `__init__` does."""
    if isinstance(func, ast.Attribute):
        base = func.value
        if not isinstance(base, ast.Name):
            return False
        bindings = scope.lookup(base.id)
        if not bindings:
            return False
        return all(
            b.kind is BindingKind.IMPORT and (b.path or "").split(".")[0] == _KERAS_APPLICATIONS for b in bindings)
    if not isinstance(func, ast.Name):
        return False
    bindings = scope.lookup(func.id)
    if not bindings or len(bindings) != 1:
        return False
    binding = bindings[0]
    if binding.kind is BindingKind.IMPORT:
        return (binding.path or "").split(".")[0] == _KERAS_APPLICATIONS
    if binding.kind is BindingKind.DEF:
        return isinstance(binding.node, (ast.FunctionDef, ast.AsyncFunctionDef))
    # `from . import get_submodules_from_kwargs`
    return isinstance(binding.node, ast.ImportFrom) and binding.node.level > 0


def _bind_params(scope: Scope, args: ast.arguments) -> None:
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        params.append(args.vararg)
    if args.kwarg:
        params.append(args.kwarg)
    for param in params:
        scope.bind(param.arg, Binding(BindingKind.OTHER))


class Resolver:
    """Answers "what is this expression?" for dotted names, following imports and aliases."""

    _MAX_DEPTH = 8

    def __init__(self, table: ScopeTable) -> None:
        self.table = table

    def single_binding(self, name: str, scope: Scope, dereferenced: bool = False) -> Binding | None:
        """The one binding of `name` visible from `scope`; None if it is bound more than once
        (its value then depends on the path taken at run time) or not at all.

        `dereferenced`: the name is used as `name.attr`, which fails on None, so a `name = None`
        placeholder is not among the values it can have there."""
        bindings = scope.lookup(name)
        if dereferenced and bindings and len(bindings) > 1:
            bindings = [b for b in bindings if not b.is_none_placeholder]
        if not bindings:
            return None
        if len(bindings) == 1:
            return bindings[0]
        # `try: import tensorflow.keras as keras / except: import keras` is still one thing.
        if all(b.kind is BindingKind.IMPORT for b in bindings):
            paths = {canonical(b.path or "") for b in bindings}
            if len(paths) == 1:
                return bindings[0]
        return None

    def qualified_name(self, expr: ast.AST, scope: Scope, depth: int = 0) -> str | None:
        """`L.Dense` → "keras.layers.Dense" (canonical), or None if it cannot be known."""
        path = self._dotted(expr, scope, depth)
        return canonical(path) if path else None

    def dotted_name(self, expr: ast.AST, scope: Scope) -> str | None:
        """`tf.keras.layers.Dense` → "tensorflow.keras.layers.Dense": the import path as the
        file spells it, before canonical reduction (which tells `tf_keras` from `tf.keras`)."""
        return self._dotted(expr, scope, 0)

    def _dotted(self, expr: ast.AST, scope: Scope, depth: int, dereferenced: bool = False) -> str | None:
        if depth > self._MAX_DEPTH:
            return None
        if isinstance(expr, ast.Attribute):
            base = self._dotted(expr.value, scope, depth + 1, dereferenced=True)
            return f"{base}.{expr.attr}" if base else None
        if isinstance(expr, ast.Name):
            binding = self.single_binding(expr.id, scope, dereferenced)
            if binding is None:
                return None
            if binding.kind is BindingKind.IMPORT:
                return binding.path
            if binding.kind is BindingKind.ASSIGN and isinstance(binding.node, (ast.Name, ast.Attribute)):
                # `layers = keras.layers`: an alias of a module or class.
                return self._dotted(binding.node, self._home_of(binding, expr.id, scope), depth + 1, dereferenced)
        return None

    def _scope_of_binding(self, name: str, scope: Scope) -> Scope:
        return scope.holder(name) or scope

    def _home_of(self, binding: Binding, name: str, scope: Scope) -> Scope:
        """The scope an assigned value is evaluated in."""
        return binding.home or self._scope_of_binding(name, scope)

    def assigned_value(self, name: str, scope: Scope) -> tuple[ast.AST, Scope] | None:
        """The expression `name` was bound to, if it was bound exactly once by assignment."""
        binding = self.single_binding(name, scope)
        if binding is None or binding.kind is not BindingKind.ASSIGN or binding.node is None:
            return None
        return binding.node, self._home_of(binding, name, scope)

    def function_def(self, expr: ast.AST, scope: Scope) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The module's own function that a call's `func` names, if it is defined once."""
        if not isinstance(expr, ast.Name):
            return None
        binding = self.single_binding(expr.id, scope)
        if binding and binding.kind is BindingKind.DEF and isinstance(
            binding.node, (ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            return binding.node
        return None
