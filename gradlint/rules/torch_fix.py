"""Give a PyTorch layer the initializer its activation's family asks for, as PyTorch code does:
one `nn.init.*_(self.fc1.weight, …)` line.

- A layer with PyTorch's default, assigned on its own line (`self.fc1 = nn.Linear(...)` in
  __init__, or `fc = nn.Linear(...)`): the line is added right after the assignment, indented
  like it, with the file's name for torch.nn.init and its quotes (a safe fix: nobody chose
  the default).
- A layer whose `nn.init` call (or in-place `weight.normal_(…)`) serves it alone: the call is
  rewritten (unsafe: the author wrote it).
- Anywhere else (a layer inline in `nn.Sequential(...)`, an init loop over several layers): no
  edit, the message gives the line to write.
"""

from __future__ import annotations

import ast

from gradlint.config import Settings
from gradlint.edits import insert_line_after, replace_node, string_literal
from gradlint.graph.facts import Layer
from gradlint.graph.model import ModuleGraph
from gradlint.keras_api.activations import Family
from gradlint.rules.initializer_fix import InitializerFix

_INIT = "torch.nn.init"


def init_function(family: Family, distribution: str) -> tuple[str, str | None]:
    """The nn.init function of a family and the nonlinearity it is given (He: relu; LeCun:
    linear, gain 1 over fan_in; Glorot: xavier, no nonlinearity)."""
    dist = "uniform" if distribution == "uniform" else "normal"
    if family is Family.GLOROT:
        return f"xavier_{dist}_", None
    return f"kaiming_{dist}_", "relu" if family is Family.HE else "linear"


def plan_torch_fix(graph: ModuleGraph, layer: Layer, family: Family, settings: Settings,
                   distribution: str | None = None) -> InitializerFix:
    """The line to write, and the edit that writes it where one clean edit exists."""
    torch = graph.torch
    fact = layer.initializer
    site = torch.inits.sites.get(id(layer.call))
    if distribution is None:
        distribution = fact.distribution if fact is not None and fact.distribution in ("normal", "uniform") and \
            fact.expr is not None else settings.fix_distribution
    function, nonlinearity = init_function(family, distribution)
    assign = torch.assign_sites.get(id(layer.call))
    tensor = _tensor_text(graph, site.call) if site is not None and site.alone else None
    if tensor is not None:
        weight = tensor
    elif assign is not None:
        weight = f"{graph.source.segment(assign.target)}.weight"
    else:
        weight = f"{torch.paths.get(id(layer.call), 'layer')}.weight"
    prefix = _init_prefix(graph)
    arguments = weight
    if nonlinearity is not None:
        arguments += f", nonlinearity={string_literal(nonlinearity, _quote_like(graph), graph.source)}"
    text = f"{prefix or 'torch.nn.init.'}{function}({arguments})"
    if prefix is None or fact is None:
        return InitializerFix((), text, replaces_author_choice=fact is not None and fact.expr is not None)
    if fact.expr is None:
        if assign is None or site is not None:
            return InitializerFix((), text, replaces_author_choice=False)
        edit = insert_line_after(graph.source, assign.statement, text)
        return InitializerFix((edit,) if edit is not None else (), text, replaces_author_choice=False)
    if site is None or not site.alone or not isinstance(site.statement, ast.Expr) or site.statement.value is not site.call:
        return InitializerFix((), text)
    if tensor is None:
        return InitializerFix((), text)
    return InitializerFix((replace_node(graph.source, site.call, text),), text)


def _tensor_text(graph: ModuleGraph, call: ast.Call) -> str | None:
    """The weight an init statement writes, as written (`self.fc.weight`, `m.weight.data` →
    `m.weight`)."""
    func = call.func
    tensor: ast.expr | None = call.args[0] if call.args and not (
        isinstance(func, ast.Attribute) and func.attr in ("normal_", "uniform_", "zero_", "fill_")
        and not _is_init_function(graph, call)) else (func.value if isinstance(func, ast.Attribute) else None)
    if isinstance(tensor, ast.Attribute) and tensor.attr == "data":
        tensor = tensor.value
    return graph.source.segment(tensor) if tensor is not None else None


def _is_init_function(graph: ModuleGraph, call: ast.Call) -> bool:
    name = graph.resolver.qualified_name(call.func, graph.scopes.scope_of(call))
    return name is not None and name.startswith(_INIT + ".")


def _init_prefix(graph: ModuleGraph) -> str | None:
    """How the file names torch.nn.init: `init.`, `nn.init.`, `torch.nn.init.` (None: not at all)."""
    scope = graph.scopes.module_scope
    found: dict[str, str] = {}
    for name in scope.bindings:
        qualified = graph.resolver.qualified_name(ast.Name(id=name), scope)
        if qualified in (_INIT, "torch.nn", "torch"):
            found.setdefault(qualified, name)
    if _INIT in found:
        return f"{found[_INIT]}."
    if "torch.nn" in found:
        return f"{found['torch.nn']}.init."
    if "torch" in found:
        return f"{found['torch']}.nn.init."
    return None


def _quote_like(graph: ModuleGraph) -> ast.AST | None:
    """A one-line string literal of the file, to quote the nonlinearity like it (looked for
    once per module, however many findings ask)."""
    key = "_torch_quote_like"
    if key not in graph.__dict__:
        graph.__dict__[key] = _first_quoted(graph)
    return graph.__dict__[key]


def _first_quoted(graph: ModuleGraph) -> ast.AST | None:
    for node in ast.walk(graph.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and hasattr(node, "lineno") \
                and node.lineno == node.end_lineno:
            text = graph.source.segment(node)
            if text[:1] in ("'", '"') and text[:3] not in ("'''", '"""'):
                return node
    return None
