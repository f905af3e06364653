"""optax optimizers in a module with a Flax recurrent model, and whether each one is chained
with gradient clipping.

An optimizer call (`optax.adam(1e-3)`, `optax.inject_hyperparams(optax.adam)(learning_rate=…)`)
is followed to where its value goes: through `optax.chain(...)` (clipped when the chain holds a
clip transformation), the wrappers that run it (`optax.MultiSteps`), a name it is assigned to
(every use of the name), a function's return (every call of the function in the module), up to
where training takes it (`nnx.Optimizer(model, tx)`, `TrainState.create(tx=…)`, `tx.init(…)`).
Anything else it is handed to may clip it: that optimizer is not judged. A module that builds
a clip transformation anywhere but in a chain (gradients clipped by hand) is not judged either.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.flax_api.training import CHAIN, CLIPS, INJECT, OPTAX, OPTIMIZERS, WRAPPERS

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph

CLIPPED, UNCLIPPED, UNKNOWN = "clipped", "unclipped", "unknown"
_SINK_CLASSES = frozenset({"flax.nnx.Optimizer", "flax.nnx.ModelAndOptimizer", "flax.nnx.training.optimizer.Optimizer"})
_SINK_METHODS = frozenset({"init", "update", "create"})
_MAX_DEPTH = 8


@dataclass(frozen=True)
class OptaxOptimizer:
    """An optimizer that trains unclipped: its call, and the chain a clip would go into (None:
    wrap the call itself)."""

    call: ast.Call
    chain: ast.Call | None


def unclipped_optimizers(graph: ModuleGraph) -> list[OptaxOptimizer]:
    """The module's optax optimizers that reach training without clipping (none unless the
    module names a Flax recurrent model, and none where it clips gradients by hand)."""
    if not graph.flax.recurrent or "optax" not in graph.source.text:
        return []
    walker = _Walker(graph)
    if walker.loose_clip:
        return []
    found = []
    for call in walker.optimizers:
        verdict, chain = walker.fate(call, None, 0, set())
        if verdict == UNCLIPPED:
            found.append(OptaxOptimizer(call, chain))
    return found


class _Walker:
    def __init__(self, graph: ModuleGraph) -> None:
        self.graph = graph
        self.parents = graph.training.tracer.statements.parents  # (the module's own, walked once)
        self.optimizers: list[ast.Call] = []
        self.loose_clip = False
        self.loads: dict[str, list[ast.Name]] = {}  # name → the places it is read
        for node in ast.walk(graph.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.loads.setdefault(node.id, []).append(node)
            if not isinstance(node, ast.Call):
                continue
            name = self.name(node)
            if name is not None and name.startswith(OPTAX) and name[len(OPTAX):] in OPTIMIZERS:
                if not self._injected(node):
                    self.optimizers.append(node)
            elif isinstance(node.func, ast.Call) and self.name(node.func) == INJECT and node.func.args \
                    and (self.qualified(node.func.args[0]) or "")[len(OPTAX):] in OPTIMIZERS:
                self.optimizers.append(node)
            elif self.is_clip(node):
                parent = self._call_parent(node)
                if parent is None or self.name(parent) != CHAIN:
                    self.loose_clip = True

    def qualified(self, expr: ast.AST) -> str | None:
        if not isinstance(expr, (ast.Name, ast.Attribute)):
            return None
        return self.graph.resolver.qualified_name(expr, self.graph.scopes.scope_of(expr))

    def name(self, call: ast.Call) -> str | None:
        return self.qualified(call.func)

    def is_clip(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        name = self.name(node) or ""
        return name.startswith(OPTAX) and name[len(OPTAX):] in CLIPS

    def _injected(self, call: ast.Call) -> bool:
        """`optax.adam` given to inject_hyperparams is not itself an optimizer built."""
        parent = self.parents.get(id(call))
        return isinstance(parent, ast.Call) and self.name(parent) == INJECT

    def _call_parent(self, node: ast.AST) -> ast.Call | None:
        """The call `node` is an argument of (directly or as a keyword's value)."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword):
            parent = self.parents.get(id(parent))
        if isinstance(parent, ast.Call) and parent.func is not node:
            return parent
        return None

    def fate(self, node: ast.AST, chain: ast.Call | None, depth: int, seen: set[int]) -> tuple[str, ast.Call | None]:
        """Whether the value `node` computes is clipped where it is used, and the chain it is
        in (where a clip would go)."""
        if depth > _MAX_DEPTH or id(node) in seen:
            return UNKNOWN, chain
        seen.add(id(node))
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword):
            parent = self.parents.get(id(parent))
        if isinstance(parent, (ast.IfExp, ast.BoolOp)) and getattr(parent, "test", None) is not node:
            return self.fate(parent, chain, depth + 1, seen)
        if isinstance(parent, ast.Call) and parent.func is not node:
            name = self.name(parent)
            if name == CHAIN:
                if any(self.is_clip(a) for a in parent.args):
                    return CLIPPED, parent
                if any(isinstance(a, ast.Starred) for a in parent.args):
                    return UNKNOWN, chain  # (`optax.chain(*transforms, …)`: a clip may be among them)
                return self.fate(parent, chain or parent, depth + 1, seen)
            if name in WRAPPERS:
                return self.fate(parent, chain, depth + 1, seen)
            method = parent.func.attr if isinstance(parent.func, ast.Attribute) else None
            if name in _SINK_CLASSES or method == "create":  # nnx.Optimizer(model, tx), TrainState.create(tx=tx)
                return UNCLIPPED, chain
            return UNKNOWN, chain
        if isinstance(parent, ast.Attribute) and parent.attr in _SINK_METHODS:  # `optax.adam(…).init(params)`
            return UNCLIPPED, chain
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                return UNKNOWN, chain
            return self._uses(targets[0].id, parent, chain, depth, seen)
        if isinstance(parent, ast.Return):
            function = self._function_of(parent)
            if function is None:
                return UNKNOWN, chain
            calls = [c for c in self.graph.scopes.calls if isinstance(c.func, ast.Name) and c.func.id == function.name]
            return self._combine([self.fate(c, chain, depth + 1, seen) for c in calls], chain)
        return UNKNOWN, chain

    def _uses(self, name: str, assign: ast.AST, chain: ast.Call | None, depth: int,
              seen: set[int]) -> tuple[str, ast.Call | None]:
        scope = self.graph.scopes.scope_of(assign)
        uses = [n for n in self.loads.get(name, []) if self.graph.scopes.scope_of(n) is scope
                and n.lineno >= getattr(assign, "lineno", 0)]
        if not uses:
            return UNCLIPPED, chain  # built and kept: nothing else can clip it
        return self._combine([self.fate(u, chain, depth + 1, seen) for u in uses], chain)

    @staticmethod
    def _combine(verdicts: list[tuple[str, ast.Call | None]], chain: ast.Call | None) -> tuple[str, ast.Call | None]:
        """Clipped on any path (clipping where it is used); unknown if any path is; else unclipped."""
        if not verdicts:
            return UNKNOWN, chain
        kinds = {v for v, _ in verdicts}
        if CLIPPED in kinds:
            return CLIPPED, chain
        if UNKNOWN in kinds:
            return UNKNOWN, chain
        return UNCLIPPED, next((c for _, c in verdicts if c is not None), chain)

    def _function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        owner = self.graph.training.tracer.statements.owner(node)
        return owner if isinstance(owner, ast.FunctionDef) else None
