"""What the PyTorch and Flax readers share when they walk a module class: the nodes a
`forward()`/`__call__` computes, the module values `self.X` stands for, the statements of an
`__init__`/`setup()`, the interpretation of a body's control flow, and the walks from a
weighted layer's node to what its output meets (the stacks of graph/stacks.py, the
destinations of graph/guards.py).

What a framework's layers, activations and containers are stays in graph/torch_model.py and
graph/flax_model.py: they fill these nodes, this module only reads them.
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.guards import ADDED, HOMOGENEOUS_LAYERS, NORMALIZED
from gradlint.graph.guards import OTHER as ELSEWHERE
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.stacks import OUTPUT, UNKNOWN, Stack, StackEntry
from gradlint.graph.values import constant_value
from gradlint.keras_api.activations import HOMOGENEOUS_ACTIVATIONS, LINEAR
from gradlint.keras_api.layers import NORMALIZATION_LAYERS

# Node kinds.
INPUT, WEIGHTED, ACT, LAYER, ADD, OTHER, END = "input", "weighted", "act", "layer", "add", "other", "output"


@dataclass(eq=False)
class Node:
    """One value a forward() (or a Sequential) computes, and what reads it."""

    kind: str
    layer: Layer | None = None
    activation: ActivationFact | None = None
    consumers: list[Node] = field(default_factory=list)
    repeat: int | None = 1
    # Made by a submodule class's forward() read on its own: what its caller does with the
    # result is not seen there, so its facts count only where no caller applies the layer.
    standalone: bool = False
    solo: bool = True  # the only weighted layer its loop repeats (graph/stacks.py's StackEntry.solo)

    @staticmethod
    def make(kind: str, inputs: list[Node], **kw: object) -> Node:
        node = Node(kind, **kw)  # type: ignore[arg-type]
        for source in inputs:
            source.consumers.append(node)
        return node


# Module values: what `self.fc1`, a Sequential element or a loop variable stands for.
@dataclass(eq=False)
class Seq:
    items: list[object]  # module values, None for unknown ones
    repeat: int | None = 1  # a ModuleList made by a comprehension: its one item, N times
    names: list[str | None] | None = None  # an OrderedDict's keys: `seq.fc1` names the item
    spliced: bool = False  # `*layers` in the Sequential that holds it: its items are the holder's


@dataclass(eq=False)
class Act:
    fact: ActivationFact


@dataclass(eq=False)
class Instance:
    cls: ast.ClassDef


def item_at(container: object, index: object) -> object:
    """`container[index]`: a list's module at a constant position (not a loop's repeated one),
    or an OrderedDict's by its key; None where it is not known."""
    if not isinstance(container, Seq):
        return None
    if container.repeat == 1 and isinstance(index, int) and not isinstance(index, bool) \
            and -len(container.items) <= index < len(container.items) and container.names is None:
        return container.items[index]
    if container.names is not None and isinstance(index, str) and index in container.names:
        return container.items[container.names.index(index)]
    return None


# -- classes ---------------------------------------------------------------------------------
def module_classes(tree: ast.Module, scopes: ScopeTable, resolver: Resolver,
                   bases: Container[str | None]) -> dict[str, ast.ClassDef]:
    """Module-level classes that derive from one of `bases` (or from one of those classes)."""
    classes: dict[str, ast.ClassDef] = {}
    changed = True
    while changed:
        changed = False
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name in classes:
                continue
            scope = scopes.scope_of(node)
            for base in node.bases:
                name = resolver.qualified_name(base, scope)
                if name in bases or (isinstance(base, ast.Name) and base.id in classes):
                    classes[node.name] = node
                    changed = True
                    break
    return classes


def class_method(classes: dict[str, ast.ClassDef], cls: ast.ClassDef, name: str,
                 seen: set[int] | None = None) -> ast.FunctionDef | None:
    """The method `name` the class defines or inherits from one of `classes` (each class
    looked in once, so bases that name each other end the search)."""
    seen = set() if seen is None else seen
    if id(cls) in seen:
        return None
    seen.add(id(cls))
    found = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if found is not None:
        return found
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes:
            found = class_method(classes, classes[base.id], name, seen)
            if found is not None:
                return found
    return None


def statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """A function body's statements, those inside if/with/try blocks included, in order."""
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, (ast.If, ast.With, ast.Try)):
            found.extend(statements(statement.body))
            found.extend(statements(getattr(statement, "orelse", [])))
    return found


def assignments(function: ast.FunctionDef) -> Iterator[tuple[ast.stmt, list[ast.expr], ast.expr]]:
    """Each assignment among an `__init__`'s (or `setup()`'s) statements: (the statement, its
    targets, the value)."""
    for statement in statements(function.body):
        if isinstance(statement, ast.Assign):
            yield statement, statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            yield statement, [statement.target], statement.value


def activation_slope(call: ast.Call, param: str, position: int, default: float | None, scope: Scope,
                     resolver: Resolver) -> float | None:
    """The slope an activation call passes (`negative_slope=0.2`, or at `position`): the
    default where it passes none, None where it is not a number known here."""
    given = next((k.value for k in call.keywords if k.arg == param), None)
    if given is None and len(call.args) > position:
        given = call.args[position]
    if given is None:
        return default
    value = constant_value(given, scope, resolver)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def times(a: int | None, b: int | None) -> int | None:
    """Repeats nested in repeats: their product (None where either is unknown)."""
    if a == 1:
        return b
    if b == 1:
        return a
    return a * b if a is not None and b is not None else None


def is_tensor_method(func: ast.AST, tensors: Container[str], chained: Container[str]) -> bool:
    """`x.view(...)`, `self.fc(x).reshape(...)`: a method called on a tensor (a name bound to
    one, or a value computed), not a module; `chained` are the methods that return a tensor."""
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    while isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) \
            and receiver.func.attr in chained:
        receiver = receiver.func.value
    if isinstance(receiver, ast.Name):
        return receiver.id in tensors
    return isinstance(receiver, (ast.Call, ast.BinOp, ast.Subscript))


# -- bodies ----------------------------------------------------------------------------------
V = TypeVar("V")


class BodyRun(Generic[V]):
    """One interpretation of a forward()/__call__ body: local names → tensors (V) or module
    values. The control flow is read here; what a call or a loop makes, and what a tensor
    carries, is the framework's (the methods a subclass defines)."""

    def __init__(self, cls: ast.ClassDef, scope: Scope) -> None:
        self.cls = cls
        self.scope = scope
        self.env: dict[str, V] = {}
        self.modules: dict[str, object] = {}
        self.returned: list[V] = []
        self.repeat: int | None = 1

    # What a subclass defines.
    def call(self, node: ast.Call) -> V:
        raise NotImplementedError

    def loop(self, node: ast.For) -> None:
        raise NotImplementedError

    def merge(self, op: ast.operator, left: V, right: V) -> V:
        """`left <op> right` (a residual add where op is `+`)."""
        raise NotImplementedError

    def opaque(self, values: list[V | None]) -> V:
        """A tensor made from `values` by something not followed (None: a value not bound)."""
        raise NotImplementedError

    # The body.
    def body(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            self.assign(node.targets if isinstance(node, ast.Assign) else [node.target], node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            left = self.env.get(node.target.id) or self.opaque([])
            right = self.expr(node.value)
            self.env[node.target.id] = self.merge(node.op, left, right)
        elif isinstance(node, ast.Return) and node.value is not None:
            self.returned.append(self.expr(node.value))
        elif isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.branches([node.body, node.orelse])
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self.body(node.body)
        elif isinstance(node, ast.For):
            self.loop(node)
        elif isinstance(node, (ast.While, ast.Try)):
            self.branches([node.body, []])
        # Other statements bind nothing a layer's output could flow through.

    def assign(self, targets: list[ast.expr], value: ast.expr) -> None:
        result = self.expr(value)
        for target in targets:
            self.bind(target, result)

    def branches(self, bodies: list[list[ast.stmt]]) -> None:
        """An if/else: each branch from the same names; a name they leave different is opaque."""
        before = dict(self.env)
        results = []
        for body in bodies:
            self.env = dict(before)
            self.body(body)
            results.append(self.env)
        merged = dict(before)
        for name in {n for env in results for n in env}:
            values = [env.get(name) for env in results]
            first = values[0]
            if first is not None and all(v is first for v in values):
                merged[name] = first
            else:
                merged[name] = self.opaque(values)
        self.env = merged

    def bind(self, target: ast.expr, value: V) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, self.opaque([value]))

    def expr(self, node: ast.expr) -> V:
        if isinstance(node, ast.Name):
            return self.env.get(node.id) or self.opaque([])
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return self.merge(node.op, self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.Starred):
            return self.expr(node.value)
        inputs: list[V | None] = [self.expr(child) for child in ast.iter_child_nodes(node)
                                  if isinstance(child, ast.Name) and child.id in self.env]
        return self.opaque(inputs)


# -- walks -----------------------------------------------------------------------------------
def homogeneous_layer(layer: Layer) -> bool:
    """A layer that hands its input's scale on (dropout, pooling, reshapes): the Keras layer it
    stands for is one graph/guards.py passes through."""
    return layer.spec.name in HOMOGENEOUS_LAYERS


def following(node: Node) -> ActivationFact | None:
    """The activation the node's output meets, past normalization, dropout and pooling."""
    current = node
    seen: set[int] = set()
    while id(current) not in seen:
        seen.add(id(current))
        if len(current.consumers) != 1:
            return None
        target = current.consumers[0]
        if target.kind == ACT:
            return target.activation
        if target.kind == WEIGHTED and target.layer is not None:
            return ActivationFact(LINEAR, "weighted", target.layer.call)
        if target.kind == END:
            return ActivationFact(LINEAR, "output", node.layer.call if node.layer is not None else None)
        if target.kind == LAYER:
            current = target
            continue
        return None
    return None


def agreed_following(nodes: list[Node]) -> tuple[list[ActivationFact | None], ActivationFact | None]:
    """What each application's output meets, and the activation where they all meet the same."""
    facts = [following(n) for n in nodes]
    known = [f for f in facts if f is not None]
    if facts and len(known) == len(facts) and len({f.name for f in known}) == 1:
        return facts, known[0]
    return facts, None


def walk(start: Node) -> tuple[list[Layer | ActivationFact], Node | None, str]:
    """From a weighted application along a single path to the next weighted one."""
    after: list[Layer | ActivationFact] = []
    node = start
    seen = {id(start)}
    while True:
        if len(node.consumers) != 1:
            return after, None, UNKNOWN
        target = node.consumers[0]
        if id(target) in seen:
            return after, None, UNKNOWN
        seen.add(id(target))
        if target.kind == WEIGHTED:
            return after, target, "weighted"
        if target.kind == END:
            return after, None, OUTPUT
        if target.kind == LAYER and target.layer is not None:
            after.append(target.layer)
        elif target.kind == ACT and target.activation is not None:
            after.append(target.activation)
        else:
            return after, None, UNKNOWN
        node = target


def stacks_from(starts: list[Node], unique: bool = False) -> list[Stack]:
    """The stacks the weighted applications `starts` form, each from one no other reaches, in
    source order; `unique`: a stack made again of the same layers (a submodule class applied
    several times) kept once."""
    reached: set[int] = set()
    steps: dict[int, tuple[list[Layer | ActivationFact], Node | None, str]] = {}
    for node in starts:
        step = walk(node)
        steps[id(node)] = step
        if step[1] is not None:
            reached.add(id(step[1]))
    found: list[Stack] = []
    shapes: set[tuple[object, ...]] = set()
    for start in starts:
        if id(start) in reached:
            continue
        entries: list[StackEntry] = []
        current: Node | None = start
        end = UNKNOWN
        seen: set[int] = set()
        while current is not None and id(current) not in seen and id(current) in steps:
            seen.add(id(current))
            after, nxt, end = steps[id(current)]
            assert current.layer is not None
            entries.append(StackEntry(current.layer, list(after), current.repeat, current.solo))
            current = nxt
        stack = Stack(entries, end if end in (OUTPUT, "weighted") else UNKNOWN)
        if unique:
            shape = (stack.end, *((id(e.layer.call), e.repeat, *(id(a) if isinstance(a, Layer) else a.name
                                                                    for a in e.after)) for e in entries))
            if shape in shapes:
                continue
            shapes.add(shape)
        found.append(stack)
    found.sort(key=lambda s: (s.entries[0].layer.call.lineno, s.entries[0].layer.call.col_offset))
    return found


def destinations_from(node: Node) -> list[tuple[str, Layer | None]]:
    """Where one application's output goes, past homogeneous steps (graph/guards.py's kinds)."""
    found: list[tuple[str, Layer | None]] = []

    def follow(node: Node, seen: set[int]) -> None:
        if not node.consumers:
            found.append((ELSEWHERE, None))
        for target in node.consumers:
            if id(target) in seen:
                continue
            seen.add(id(target))
            if target.kind == ADD:
                found.append((ADDED, None))
            elif target.kind == LAYER and target.layer is not None:
                if target.layer.spec.name in NORMALIZATION_LAYERS:
                    found.append((NORMALIZED, target.layer))
                elif homogeneous_layer(target.layer):
                    follow(target, seen)
                else:
                    found.append((ELSEWHERE, target.layer))
            elif target.kind == ACT and target.activation is not None \
                    and target.activation.name in HOMOGENEOUS_ACTIVATIONS:
                follow(target, seen)
            else:
                found.append((ELSEWHERE, None))

    follow(node, set())
    return found
