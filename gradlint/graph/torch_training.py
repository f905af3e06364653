"""PyTorch training loops: where `loss.backward()` is followed by `optimizer.step()`, which
model the loop runs, and whether its gradients are clipped on the way.

A step is one `optimizer.step()` (or AMP's `scaler.step(optimizer)`) after a `.backward()`
in the body of the same loop. The model is a name the loop calls (`model(x)`, `model(x,
hidden)`), bound to an instance of a module class of this file, to a torch.nn recurrent layer,
or passed in as a parameter whose every caller in the module passes one of those.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.graph.facts import Layer
from gradlint.graph.module_walk import Instance
from gradlint.graph.scopes import Scope
from gradlint.torch_api.training import (
    CLIP_CALLS,
    HF_ARGUMENTS,
    HF_CLIP,
    HF_TRAINERS,
    LIGHTNING_CLIP,
    LIGHTNING_SELF_CLIPPING,
    LIGHTNING_TRAINERS,
    MODEL_METHODS,
    OPTIMIZER_PREFIX,
    SCALERS,
    SCHEDULER_PREFIX,
)

if TYPE_CHECKING:
    from gradlint.graph.model import ModuleGraph
    from gradlint.graph.torch_model import TorchGraph

@dataclass(frozen=True)
class TorchStep:
    """One optimizer step of a training loop."""

    call: ast.Call  # optimizer.step() / scaler.step(optimizer)
    statement: ast.stmt  # the statement it is, where the fix goes before it
    backward: ast.Call
    model: str  # the model's name in the loop
    recurrent: str  # what makes it recurrent: "RNNModel with nn.LSTM"
    optimizer: str  # the optimizer as written
    scaler: str | None  # the AMP GradScaler that steps it
    unscaled: bool  # scaler.unscale_(optimizer) comes before the step


def torch_steps(graph: ModuleGraph) -> list[TorchStep]:
    """Every step of a recurrent torch model whose gradients nothing in the module clips."""
    torch = graph.torch
    if not torch.layers or not any(layer.spec.recurrent for layer in torch.layers):
        return []
    calls: dict[str, list[ast.Call]] = {}  # calls of a plain name: a function's callers
    for node in ast.walk(graph.tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in CLIP_CALLS or name == "register_hook":
                return []  # a clip call anywhere (a helper, a hook): its reach is not followed
            if isinstance(func, ast.Name):
                calls.setdefault(func.id, []).append(node)
    found: list[TorchStep] = []
    seen: set[int] = set()
    for loop, scope in _loops(graph):
        for step in _steps_in(graph, torch, loop, scope, calls):
            if id(step.call) not in seen:  # (an inner loop's step is in the outer loop's body too)
                seen.add(id(step.call))
                found.append(step)
    return sorted(found, key=lambda s: (s.call.lineno, s.call.col_offset))


def _loops(graph: ModuleGraph) -> list[tuple[ast.For | ast.AsyncFor | ast.While, Scope]]:
    """Every loop, with the scope of the function that holds it."""
    found: list[tuple[ast.For | ast.AsyncFor | ast.While, Scope]] = []
    todo: list[tuple[ast.AST, Scope]] = [(graph.tree, graph.scopes.module_scope)]
    while todo:
        node, scope = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = graph.scopes.defs.get(id(node), scope)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            found.append((node, scope))
        todo.extend((child, scope) for child in ast.iter_child_nodes(node))
    return found


def _steps_in(graph: ModuleGraph, torch: TorchGraph, loop: ast.For | ast.AsyncFor | ast.While,
              scope: Scope, calls: dict[str, list[ast.Call]]) -> list[TorchStep]:
    nodes = list(graph.sequential.statements.own_nodes(loop))  # (in source order, nested functions left out)
    statements = {id(s): s for s in nodes if isinstance(s, ast.stmt)}
    parents: dict[int, ast.stmt] = {}
    for statement in statements.values():
        if isinstance(statement, ast.Expr):
            parents[id(statement.value)] = statement
    backward: ast.Call | None = None
    unscaled: set[str] = set()
    model: tuple[str, str] | None = None
    found: list[TorchStep] = []
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and model is None:
            model = _recurrent_model(graph, torch, func.id, scope, calls)
        if not isinstance(func, ast.Attribute):
            continue
        if func.attr == "backward":
            backward = node
        elif func.attr == "unscale_" and node.args:
            unscaled.add(graph.source.segment(node.args[0]))
        elif func.attr == "step" and backward is not None and id(node) in parents:
            stepped = _optimizer_step(graph, node, scope)
            if stepped is None or model is None:
                continue
            optimizer, scaler = stepped
            found.append(TorchStep(node, parents[id(node)], backward, model[0], model[1], optimizer, scaler,
                                   optimizer in unscaled))
            backward = None
    return found


def _optimizer_step(graph: ModuleGraph, call: ast.Call, scope: Scope) -> tuple[str, str | None] | None:
    """`optimizer.step()` → ("optimizer", None); `scaler.step(opt)` → ("opt", "scaler")."""
    func = call.func
    assert isinstance(func, ast.Attribute)
    receiver = func.value
    if not isinstance(receiver, ast.Name):
        return None
    kind = _kind_of(graph, receiver.id, scope)
    if kind == "scaler" and len(call.args) == 1 and isinstance(call.args[0], ast.Name):
        return call.args[0].id, receiver.id
    if kind == "optimizer" and not call.args:
        return receiver.id, None
    return None


def _kind_of(graph: ModuleGraph, name: str, scope: Scope) -> str | None:
    """"optimizer" / "scaler" for a name bound to one (a parameter named like one counts)."""
    found = graph.resolver.assigned_value(name, scope)
    if found is not None and isinstance(found[0], ast.Call):
        qualified = graph.resolver.qualified_name(found[0].func, found[1]) or ""
        if qualified in SCALERS:
            return "scaler"
        if qualified.startswith(OPTIMIZER_PREFIX) and not qualified.startswith(SCHEDULER_PREFIX):
            return "optimizer"
        return None
    if found is None and _is_parameter(name, scope):
        lowered = name.lower()
        if "scaler" in lowered:
            return "scaler"
        if "optim" in lowered or lowered in ("opt", "opt_g"):
            return "optimizer"
    return None


def _is_parameter(name: str, scope: Scope) -> bool:
    node = scope.node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = node.args
    return any(a.arg == name for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])


def _recurrent_model(graph: ModuleGraph, torch: TorchGraph, name: str, scope: Scope,
                     calls: dict[str, list[ast.Call]], depth: int = 0) -> tuple[str, str] | None:
    """(name, what makes it recurrent) when `name` is bound to a recurrent model."""
    found = graph.resolver.assigned_value(name, scope)
    if found is not None:
        what = _recurrent_value(torch, found[0])
        return (name, what) if what else None
    if depth > 2 or not _is_parameter(name, scope):
        return None
    function = scope.node
    assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
    index = [a.arg for a in function.args.args].index(name) if name in [a.arg for a in function.args.args] else None
    # One caller that passes a recurrent model is enough: the loop trains that model.
    for call in calls.get(function.name, []):
        arg = next((k.value for k in call.keywords if k.arg == name), None)
        if arg is None and index is not None and index < len(call.args):
            arg = call.args[index]
        caller_scope = graph.scopes.scope_of(call)
        if isinstance(arg, ast.Name):
            inner = _recurrent_model(graph, torch, arg.id, caller_scope, calls, depth + 1)
            what = inner[1] if inner is not None else None
        else:
            what = _recurrent_value(torch, arg) if arg is not None else None
        if what is not None:
            return name, what
    return None


def _recurrent_value(torch: TorchGraph, expr: ast.AST) -> str | None:
    # `LM(...).to(device)`, `.cuda()`: the model itself.
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in MODEL_METHODS:
        expr = expr.func.value
    if not isinstance(expr, ast.Call):
        return None
    layer = torch.by_call.get(id(expr))
    if isinstance(layer, Layer):
        return f"nn.{layer.class_name}" if layer.spec.recurrent else None
    if isinstance(expr.func, ast.Name) and expr.func.id in torch.classes:
        cls = torch.classes[expr.func.id]
        layers = [l for l in torch.all_layers(Instance(cls)) if l.spec.recurrent]
        if layers:
            kinds = ", ".join(dict.fromkeys(f"nn.{l.class_name}" for l in layers))
            return f"{cls.name} with {kinds}"
    return None


@dataclass(frozen=True)
class LightningFit:
    """A Lightning `Trainer(...)` that fits a recurrent LightningModule without clipping."""

    trainer: ast.Call
    fit: ast.Call
    model: str  # the model as the fit call writes it
    recurrent: str
    clip: ast.expr | None  # a `gradient_clip_val=None` (or 0) it is given


def lightning_fits(graph: ModuleGraph) -> list[LightningFit]:
    """Trainers whose `.fit(model)` trains a recurrent module with no gradient_clip_val."""
    torch = graph.torch
    if "Trainer" not in graph.source.text or not any(layer.spec.recurrent for layer in torch.layers):
        return []
    trainers: dict[int, ast.Call] = {}
    fits: list[tuple[ast.Call, ast.Call]] = []
    for node in ast.walk(graph.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in CLIP_CALLS:
            return []  # manual clipping somewhere: its reach is not followed
        if isinstance(func, (ast.Name, ast.Attribute)) and \
                graph.resolver.qualified_name(func, graph.scopes.scope_of(node)) in LIGHTNING_TRAINERS:
            trainers[id(node)] = node
        if isinstance(func, ast.Attribute) and func.attr == "fit":
            trainer = _bound_call(graph, func.value, graph.scopes.scope_of(node))
            if trainer is not None:
                fits.append((trainer, node))
    found: list[LightningFit] = []
    for trainer, fit in fits:
        if id(trainer) not in trainers or any(k.arg is None for k in trainer.keywords):
            continue
        clip = next((k.value for k in trainer.keywords if k.arg == LIGHTNING_CLIP), None)
        if clip is not None and not (isinstance(clip, ast.Constant) and clip.value in (None, 0)):
            continue
        model = fit.args[0] if fit.args else next((k.value for k in fit.keywords if k.arg == "model"), None)
        if model is None:
            continue
        scope = graph.scopes.scope_of(fit)
        expr: ast.AST | None = model
        if isinstance(model, ast.Name):
            bound = graph.resolver.assigned_value(model.id, scope)
            expr = bound[0] if bound is not None else None
        if expr is None:
            continue
        what = _recurrent_value(torch, expr)
        if what is None or _clips_itself(torch, expr):
            continue
        found.append(LightningFit(trainer, fit, " ".join(graph.source.segment(model).split()), what, clip))
    return found


def _clips_itself(torch: TorchGraph, expr: ast.AST) -> bool:
    """A LightningModule that overrides its gradient clipping or optimizes manually."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in MODEL_METHODS:
        expr = expr.func.value
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in torch.classes):
        return False
    cls = torch.classes[expr.func.id]
    if any(torch.method(cls, name) is not None for name in LIGHTNING_SELF_CLIPPING):
        return True
    return any(isinstance(n, ast.Attribute) and n.attr == "automatic_optimization" for n in ast.walk(cls))


@dataclass(frozen=True)
class HuggingFaceFit:
    """A Hugging Face `Trainer(model=..., args=...)` of a recurrent model whose
    TrainingArguments turn clipping off (`max_grad_norm=0` or `None`)."""

    trainer: ast.Call
    clip: ast.expr  # the max_grad_norm value
    model: str
    recurrent: str


def huggingface_fits(graph: ModuleGraph) -> list[HuggingFaceFit]:
    torch = graph.torch
    if HF_CLIP not in graph.source.text or not any(layer.spec.recurrent for layer in torch.layers):
        return []
    found: list[HuggingFaceFit] = []
    for node in ast.walk(graph.tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)):
            continue
        scope = graph.scopes.scope_of(node)
        if graph.resolver.qualified_name(node.func, scope) not in HF_TRAINERS:
            continue
        given = {k.arg: k.value for k in node.keywords if k.arg is not None}
        model, arguments = given.get("model", node.args[0] if node.args else None), given.get("args")
        if arguments is None and len(node.args) > 1:
            arguments = node.args[1]
        call = _bound_call(graph, arguments, scope)
        if model is None or call is None or graph.resolver.qualified_name(call.func, graph.scopes.scope_of(call)) \
                not in HF_ARGUMENTS:
            continue
        clip = next((k.value for k in call.keywords if k.arg == HF_CLIP), None)
        if not (isinstance(clip, ast.Constant) and clip.value in (None, 0)) or isinstance(clip.value, bool):
            continue
        expr: ast.AST | None = model
        if isinstance(model, ast.Name):
            bound = graph.resolver.assigned_value(model.id, scope)
            expr = bound[0] if bound is not None else None
        what = _recurrent_value(torch, expr) if expr is not None else None
        if what is not None:
            found.append(HuggingFaceFit(node, clip, " ".join(graph.source.segment(model).split()), what))
    return found


def _bound_call(graph: ModuleGraph, expr: ast.expr | None, scope: Scope) -> ast.Call | None:
    """The call `expr` is, or the one the name `expr` is bound to (`trainer = Trainer(...)`)."""
    if isinstance(expr, ast.Call):
        return expr
    if isinstance(expr, ast.Name):
        bound = graph.resolver.assigned_value(expr.id, scope)
        if bound is not None and isinstance(bound[0], ast.Call):
            return bound[0]
    return None
