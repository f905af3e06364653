"""Layers in model order: Sequential chains and linear functional paths, loops included.

A stack is a run of weighted layers, each feeding the next through layers without weights of
their own (activations, dropout, normalization, pooling). The rules about depth read stacks;
the shape pass reads the same order. A layer written once inside `for _ in range(N)` or
`[... for _ in range(N)]` stands for N layers; with a count that cannot be known, for one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# The dataflow's consumer records: where a tensor goes when it leaves a function or the model.
from gradlint.graph.dataflow import (
    INPUT_FUNCTIONS,
    MODEL_CLASSES,
    Dataflow,
    FlowNode,
    _ArgumentTo,
    _ReturnTo,
    _Terminal,
)
from gradlint.graph.facts import ActivationFact, Layer
from gradlint.graph.scopes import Resolver, Scope, ScopeTable
from gradlint.graph.values import constant_value, range_length
from gradlint.keras_api.layers import NORMALIZATION_LAYERS, Role

if TYPE_CHECKING:
    from gradlint.graph.layers import LayerCatalog
    from gradlint.graph.model import ModuleGraph

_BOUNDARIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
INPUT_LAYER = "keras.layers.InputLayer"


# -- loops ---------------------------------------------------------------------------------
class Loops:
    """Which loops repeat a piece of code, and how many times each runs. Walks the module
    once, and keeps what the walk saw for the other passes over model order."""

    _TRACKED = (ast.Call, ast.BinOp, ast.AugAssign, ast.FunctionDef, ast.AsyncFunctionDef)
    _LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.cmpop, ast.unaryop, ast.boolop)

    def __init__(self, module: ast.Module, table: ScopeTable, resolver: Resolver, catalog: LayerCatalog | None = None) -> None:
        self.catalog = catalog  # for loops over a list of layers: its length
        self.table = table
        self.resolver = resolver
        self.nodes: list[ast.AST] = []  # every node that can stand for a tensor or a model
        self.add_calls: list[ast.Call] = []  # `name.add(x)` calls, in source order
        self._loops: dict[int, tuple[ast.AST, ...]] = {}  # id(tracked node) → loops, innermost first
        self._function: dict[int, ast.AST | None] = {}  # id(loop) → the function holding it
        self._walk(module)
        self.add_calls.sort(key=lambda c: (c.lineno, c.col_offset))

    def _walk(self, module: ast.Module) -> None:
        """One pass that records, for each call and each loop, the loops around it."""
        todo: list[tuple[ast.AST, tuple[ast.AST, ...], ast.AST | None]] = [(module, (), None)]
        leaves, tracked = self._LEAVES, self._TRACKED
        while todo:
            node, loops, function = todo.pop()
            if isinstance(node, tracked):
                self.nodes.append(node)
                self._loops[id(node)] = loops
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"
                        and isinstance(node.func.value, ast.Name) and len(node.args) == 1 and not node.keywords):
                    self.add_calls.append(node)
            if isinstance(node, _BOUNDARIES):
                loops = ()
                function = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            elif isinstance(node, (*_LOOPS, *_COMPREHENSIONS)):
                self._function[id(node)] = function
            for name in node._fields:
                value = getattr(node, name, None)
                inner = loops
                if (name == "body" and isinstance(node, _LOOPS)) or (name == "elt" and isinstance(node, _COMPREHENSIONS)):
                    inner = (node, *loops)
                for child in value if isinstance(value, list) else (value,):
                    if isinstance(child, ast.AST) and not isinstance(child, leaves):
                        todo.append((child, inner, function))

    def enclosing(self, node: ast.AST) -> list[ast.AST]:
        """The loops and comprehensions that run `node` (a call, operation or def) repeatedly,
        innermost first, up to the function that holds it."""
        return list(self._loops.get(id(node), ()))

    def repeating(self, node: ast.AST, outside: ast.AST | None = None) -> list[ast.AST]:
        """Loops around `node` that are not also around `outside` (the model being built)."""
        around_outside = {id(l) for l in self.enclosing(outside)} if outside is not None else set()
        return [l for l in self.enclosing(node) if id(l) not in around_outside]

    def count(self, loop: ast.AST) -> int | None:
        """How many times a loop body runs: `range(...)` of constants or a constant sequence."""
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            if _jumps(loop.body):
                return None  # a break or continue: some turns may skip the layers
            return self._iterations(loop.iter, self._scope_at(loop))
        if isinstance(loop, _COMPREHENSIONS):
            total = 1
            for gen in loop.generators:
                n = self._iterations(gen.iter, self._scope_at(loop)) if not gen.ifs else None
                if n is None:
                    return None
                total *= n
            return total
        return None

    def total(self, loops: list[ast.AST]) -> int | None:
        total = 1
        for loop in loops:
            n = self.count(loop)
            if n is None:
                return None
            total *= n
        return total

    def _iterations(self, expr: ast.expr, scope: Scope) -> int | None:
        counted = range_length(expr, scope, self.resolver)
        if counted is not None:
            return counted
        value = constant_value(expr, scope, self.resolver)
        if isinstance(value, (tuple, dict, str)):
            return len(value)
        found = self.catalog.container_layer(expr, scope) if self.catalog is not None else None
        return found[1] if found is not None else None

    def _scope_at(self, loop: ast.AST) -> Scope:
        function = self._function.get(id(loop))
        return self.table.defs.get(id(function), self.table.module_scope) if function else self.table.module_scope


def _jumps(body: list[ast.stmt]) -> bool:
    """A `break` or `continue` of this loop (not of a loop or function nested in it)."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Break, ast.Continue)):
            return True
        if not isinstance(node, (*_LOOPS, *_BOUNDARIES)):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _end(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


# -- the functional graph read both ways -----------------------------------------------------
OUTPUT = "output"
UNKNOWN = "unknown"
Target = FlowNode | str  # a node, or OUTPUT / UNKNOWN


class FlowLinks:
    """The dataflow's edges in both directions, with the two kinds a loop adds set apart:
    the edge back to the loop's first layer, and the edge past a loop that runs zero times."""

    def __init__(self, flow: Dataflow, loops: Loops) -> None:
        self.flow = flow
        self.loops = loops
        self.syntax: dict[int, ast.AST] = {}  # id(FlowNode) → the syntax it was made for
        defs: dict[int, ast.AST] = {}
        for syntax_node in loops.nodes:
            found = flow.nodes.get(id(syntax_node))
            if found is not None:
                self.syntax[id(found)] = syntax_node
            if isinstance(syntax_node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defs[id(syntax_node)] = syntax_node
        for (fn_id, _), param in flow.params.items():
            if fn_id in defs:
                self.syntax[id(param)] = defs[fn_id]
        self.nodes: list[FlowNode] = list({id(n): n for n in flow.nodes.values()}.values())
        self._outputs: dict[int, list[Target]] = {}
        self._inputs: dict[int, list[FlowNode]] = {id(n): [] for n in self.nodes}
        for node in self.nodes:
            targets = [t for c in node.consumers.values() for t in self._resolve(c)]
            self._outputs[id(node)] = targets
            for target in targets:
                if isinstance(target, FlowNode):
                    self._inputs.setdefault(id(target), []).append(node)
        self._loops_of = {id(n): self._loops_around(n) for n in self.nodes}
        self._back = {(id(a), id(c)) for a in self.nodes for c in self._outputs[id(a)]
                      if isinstance(c, FlowNode) and self._is_back(a, c)}
        self._bypass: dict[tuple[int, int], ast.AST] = {}
        for node in self.nodes:
            self._find_bypasses(node)
        self._cycle_loops = self._mark_cycles()

    def _resolve(self, consumer: object) -> list[Target]:
        if isinstance(consumer, FlowNode):
            return [consumer]
        if isinstance(consumer, _Terminal):
            return [OUTPUT if consumer.kind == "output" else UNKNOWN]
        if isinstance(consumer, _ReturnTo):
            results: list[Target] = list(self.flow.results.get(id(consumer.function), []))
            if not results and self.is_model_call(consumer.function):
                return [OUTPUT]  # what a Model subclass's call() returns is the model's output
            return results or [UNKNOWN]
        if isinstance(consumer, _ArgumentTo):
            param = self.flow.params.get((id(consumer.function), consumer.param))
            return [param] if param is not None else [UNKNOWN]
        return [UNKNOWN]

    def is_model_call(self, function: ast.AST) -> bool:
        """`def call(self, …)` of a class that subclasses keras.Model."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.name != "call":
            return False
        table = self.flow.table
        owner = table.class_of(table.defs.get(id(function), table.module_scope))
        if owner is None:
            return False
        scope = table.scope_of(owner)
        return any(self.flow.resolver.qualified_name(base, scope) in MODEL_CLASSES for base in owner.bases)

    def _loops_around(self, node: FlowNode) -> list[ast.AST]:
        syntax = self.syntax.get(id(node))
        if syntax is None or node.kind == "param":
            return []
        return [l for l in self.loops.enclosing(syntax) if isinstance(l, _LOOPS)]

    def _is_back(self, producer: FlowNode, consumer: FlowNode) -> bool:
        """An edge from the end of a loop body to its start: the consumer comes first."""
        shared = {id(l) for l in self._loops_of[id(producer)]} & {id(l) for l in self._loops_of[id(consumer)]}
        a, c = self.syntax.get(id(producer)), self.syntax.get(id(consumer))
        return bool(shared) and a is not None and c is not None and _end(c) <= _end(a)

    def _find_bypasses(self, node: FlowNode) -> None:
        """`x` after a loop that reassigns it is the loop's result or, had it run zero times,
        the value from before: mark that second edge."""
        inputs = self._inputs.get(id(node), [])
        if len(inputs) < 2:
            return
        mine = {id(l) for l in self._loops_of[id(node)]}
        for inner in inputs:
            for loop in self._loops_of[id(inner)]:
                if id(loop) in mine:
                    continue
                for outer in inputs:
                    if any(l is loop for l in self._loops_of[id(outer)]):
                        continue
                    enters = any(isinstance(t, FlowNode) and any(l is loop for l in self._loops_of[id(t)])
                                 for t in self._outputs[id(outer)])
                    if enters:
                        self._bypass[(id(outer), id(node))] = loop

    def _mark_cycles(self) -> dict[int, list[ast.AST]]:
        """For each node on a loop-carried path (start of the loop body to its back edge),
        the loops that repeat it."""
        by_id = {id(n): n for n in self.nodes}
        marked: dict[int, list[ast.AST]] = {}
        for a_id, c_id in self._back:
            loop = next(l for l in self._loops_of[a_id] if any(l is m for m in self._loops_of[c_id]))
            ahead = self._reach(by_id[c_id], loop, forward=True)
            behind = self._reach(by_id[a_id], loop, forward=False)
            for n_id in ahead & behind:
                if not any(l is loop for l in marked.get(n_id, [])):
                    marked.setdefault(n_id, []).append(loop)
        return marked

    def _reach(self, start: FlowNode, loop: ast.AST, forward: bool) -> set[int]:
        """Nodes inside `loop` reachable from `start` along forward edges (or against them)."""
        seen = {id(start)}
        todo = [start]
        while todo:
            node = todo.pop()
            nxt = self.consumers(node) if forward else self.inputs(node)
            for n in nxt:
                if isinstance(n, FlowNode) and id(n) not in seen and any(l is loop for l in self._loops_of[id(n)]):
                    seen.add(id(n))
                    todo.append(n)
        return seen

    # -- queries ----------------------------------------------------------------------------
    def consumers(self, node: FlowNode) -> list[Target]:
        """Where the node's tensor goes, loop back edges and zero-iteration edges left out."""
        return [t for t in self._outputs.get(id(node), [])
                if not (isinstance(t, FlowNode) and ((id(node), id(t)) in self._back or (id(node), id(t)) in self._bypass))]

    def inputs(self, node: FlowNode) -> list[FlowNode]:
        """What feeds the node, loop back edges and zero-iteration edges left out."""
        return [p for p in self._inputs.get(id(node), [])
                if (id(p), id(node)) not in self._back and (id(p), id(node)) not in self._bypass]

    def all_inputs(self, node: FlowNode) -> list[FlowNode]:
        """Every tensor that may reach the node, leaving out only edges past loops known to run."""
        kept = []
        for p in self._inputs.get(id(node), []):
            loop = self._bypass.get((id(p), id(node)))
            if loop is not None and (self.loops.count(loop) or 0) >= 1:
                continue
            kept.append(p)
        return kept

    def repeat(self, node: FlowNode) -> int | None:
        """How many times the loops around the node apply it in sequence (1: not repeated)."""
        return self.loops.total(self._cycle_loops.get(id(node), []))

    def repeat_loops(self, node: FlowNode) -> list[ast.AST]:
        return self._cycle_loops.get(id(node), [])

    def syntax_of(self, node: FlowNode) -> ast.AST | None:
        return self.syntax.get(id(node))


# -- Sequential chains, element by element -------------------------------------------------
@dataclass(eq=False)
class ChainItem:
    """One element of a Sequential model: a layer (None: not a layer gradlint knows) and the
    loop or comprehension that repeats it, if any."""

    layer: Layer | None
    expr: ast.AST | None  # the element as written, when it can be seen
    loops: list[ast.AST] = field(default_factory=list)
    repeat: int | None = 1  # None: repeated an unknown number of times


def sequential_items(graph: ModuleGraph, call: ast.Call, chain: list[Layer | None], loops: Loops) -> list[ChainItem]:
    """The chain's elements with what they are written as and how often they repeat.

    The chain lists the Sequential's own list first, then its `.add()` calls in order.
    """
    listed = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "layers"), None)
    elements = list(listed.elts) if isinstance(listed, (ast.List, ast.Tuple)) else []
    first_add = _first_added(graph, call, loops)
    items: list[ChainItem] = []
    for index, layer in enumerate(chain):
        expr: ast.AST | None = elements[index] if index < len(elements) else None
        if expr is None and index == len(elements) and first_add is not None:
            expr = first_add
        if layer is None and isinstance(expr, ast.Starred):
            layer = _comprehension_layer(graph, expr.value, graph.scopes.scope_of(call))
        site = layer.call if layer is not None else expr
        around = loops.repeating(site, call) if site is not None else []
        items.append(ChainItem(layer, expr, around, loops.total(around)))
    return items


def _comprehension_layer(graph: ModuleGraph, expr: ast.AST, scope: Scope) -> Layer | None:
    """`*hidden` where `hidden = [Dense(...) for _ in range(N)]`: the layer it repeats."""
    if isinstance(expr, ast.Name):
        found = graph.resolver.assigned_value(expr.id, scope)
        expr = found[0] if found is not None else expr
    if isinstance(expr, _COMPREHENSIONS) and isinstance(expr.elt, ast.Call):
        layer = graph.catalog.by_call.get(id(expr.elt))
        return layer if layer is not None and not layer.is_template else None
    return None


def _first_added(graph: ModuleGraph, call: ast.Call, loops: Loops) -> ast.AST | None:
    """The argument of the first `model.add(...)` on the name this Sequential is bound to."""
    for node in loops.add_calls:
        found = graph.resolver.assigned_value(node.func.value.id, graph.scopes.scope_of(node))  # type: ignore[attr-defined]
        if found is not None and found[0] is call:
            return node.args[0]
    return None


def is_input_expr(graph: ModuleGraph, expr: ast.AST | None, scope: Scope) -> bool:
    """`keras.Input(...)` or `InputLayer(...)`: where a model's shape begins."""
    if not isinstance(expr, ast.Call):
        return False
    name = graph.resolver.qualified_name(expr.func, scope)
    return name in INPUT_FUNCTIONS or name == INPUT_LAYER


# -- stacks --------------------------------------------------------------------------------
@dataclass(eq=False)
class StackEntry:
    """A weighted layer in a stack and what lies between it and the next weighted layer."""

    layer: Layer
    after: list[Layer | ActivationFact] = field(default_factory=list)
    repeat: int | None = 1  # times a loop applies it in a row; None: unknown
    solo: bool = True  # the only weighted layer its loop repeats, so its repeats are adjacent

    @property
    def normalized_after(self) -> bool:
        return any(isinstance(a, Layer) and a.spec.name in NORMALIZATION_LAYERS for a in self.after)

    @property
    def depth(self) -> int:
        """Layers it stands for in a row: its repeats when nothing else is repeated with it."""
        return (self.repeat or 1) if self.solo else 1


@dataclass(eq=False)
class Stack:
    """Weighted layers, each feeding the next. `end` says where the last one's output goes:
    OUTPUT (out of the model), "weighted" (into a layer that is not followed further), or
    UNKNOWN."""

    entries: list[StackEntry]
    end: str

    def is_hidden(self, index: int) -> bool:
        """True when the entry's output is known to feed another weighted layer."""
        return index < len(self.entries) - 1 or self.end == "weighted"

    def runs(self, member: Callable[[int, StackEntry], bool],
             split: Callable[[StackEntry], bool] = lambda e: False) -> Iterator[list[StackEntry]]:
        """Maximal runs of consecutive members; `split(e)` ends a run after `e`."""
        run: list[StackEntry] = []
        for index, entry in enumerate(self.entries):
            if not member(index, entry):
                if run:
                    yield run
                run = []
                continue
            run.append(entry)
            if split(entry):
                yield run
                run = []
        if run:
            yield run


def find_stacks(graph: ModuleGraph) -> list[Stack]:
    loops, links = graph.shapes.loops, graph.shapes.links
    if loops is None or links is None:
        return []
    stacks = [s for call, chain, end_known in graph.sequential.chains
              for s in _sequential_stacks(graph, call, chain, end_known, loops)]
    stacks.extend(_functional_stacks(links))
    return [s for s in stacks if s.entries]


def _sequential_stacks(graph: ModuleGraph, call: ast.Call, chain: list[Layer | None],
                       end_known: bool, loops: Loops) -> list[Stack]:
    items = sequential_items(graph, call, chain, loops)
    scope = graph.scopes.scope_of(call)
    stacks: list[Stack] = []
    entries: list[StackEntry] = []
    weighted_in_loop: dict[int, int] = {}
    for item in items:
        if item.layer is not None and item.layer.spec.role is Role.WEIGHTED and item.loops:
            weighted_in_loop[id(item.loops[0])] = weighted_in_loop.get(id(item.loops[0]), 0) + 1
    for index, item in enumerate(items):
        layer = item.layer
        if layer is None:
            if index == 0 and is_input_expr(graph, item.expr, scope):
                continue
            stacks.append(Stack(entries, UNKNOWN))
            entries = []
            continue
        role = layer.spec.role
        if role is Role.WEIGHTED:
            solo = not item.loops or weighted_in_loop.get(id(item.loops[0]), 0) == 1
            entries.append(StackEntry(layer, [], item.repeat, solo))
        elif role in (Role.TRANSPARENT, Role.ACTIVATION):
            if entries:
                entries[-1].after.append(layer)
        else:
            stacks.append(Stack(entries, "weighted" if role is Role.WRAPPER else UNKNOWN))
            entries = []
    stacks.append(Stack(entries, OUTPUT if end_known else UNKNOWN))
    return stacks


def _functional_stacks(links: FlowLinks) -> list[Stack]:
    weighted = [n for n in links.nodes
                if n.kind == "layer" and n.layer is not None and n.layer.spec.role is Role.WEIGHTED]
    step: dict[int, tuple[list[Layer | ActivationFact], FlowNode | None, str]] = {}
    reached: set[int] = set()
    for node in weighted:
        after, nxt, end = _walk(links, node)
        step[id(node)] = (after, nxt, end)
        if nxt is not None:
            reached.add(id(nxt))
    stacks: list[Stack] = []
    for start in weighted:
        if id(start) in reached:
            continue
        entries: list[StackEntry] = []
        seen: set[int] = set()
        current: FlowNode | None = start
        end = UNKNOWN
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            after, nxt, end = step[id(current)]
            entries.append(StackEntry(current.layer, list(after), links.repeat(current), _solo(links, current)))  # type: ignore[arg-type]
            current = nxt
        stacks.append(Stack(entries, end if current is None else UNKNOWN))
    return stacks


def _solo(links: FlowLinks, node: FlowNode) -> bool:
    """The node is the only weighted layer application on its loop's cycle."""
    own = links.repeat_loops(node)
    if not own:
        return True
    for other in links.nodes:
        if other is not node and other.kind == "layer" and other.layer is not None \
                and other.layer.spec.role is Role.WEIGHTED \
                and any(l is m for l in links.repeat_loops(other) for m in own):
            return False
    return True


def _walk(links: FlowLinks, start: FlowNode) -> tuple[list[Layer | ActivationFact], FlowNode | None, str]:
    """From a weighted layer application along a single path to the next weighted one."""
    after: list[Layer | ActivationFact] = []
    node = start
    seen = {id(start)}
    while True:
        outs = links.consumers(node)
        if len(outs) != 1:
            return after, None, UNKNOWN
        target = outs[0]
        if not isinstance(target, FlowNode):
            return after, None, target
        if id(target) in seen or len(links.inputs(target)) != 1:
            return after, None, UNKNOWN
        seen.add(id(target))
        if target.kind == "layer" and target.layer is not None:
            role = target.layer.spec.role
            if role is Role.WEIGHTED:
                return after, target, "weighted"
            if role is Role.WRAPPER:
                return after, None, "weighted"
            if role not in (Role.TRANSPARENT, Role.ACTIVATION):
                return after, None, UNKNOWN
            after.append(target.layer)
        elif target.kind == "activation" and target.activation is not None:
            after.append(target.activation)
        elif target.kind not in ("param", "result"):
            return after, None, UNKNOWN
        node = target
