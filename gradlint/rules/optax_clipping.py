"""GL201 for Flax: a module with a recurrent model (nn.LSTMCell, nn.RNN, nnx.RNN, …) whose optax
optimizer is not chained with gradient clipping.

The fix wraps the optimizer, `optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))`
(`optax.clip(1.0)` where `clip = "clipvalue"` is configured), or puts the clip first in the
`optax.chain(...)` the optimizer is already in, with the file's name for optax.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic, Edit
from gradlint.edits import replace_node, replace_span
from gradlint.flax_api.training import CLIP_BY_NORM, CLIP_BY_VALUE
from gradlint.graph.flax_training import unclipped_optimizers
from gradlint.graph.model import ModuleGraph
from gradlint.rules.base import Rule
from gradlint.rules.rnn_clipping import number


def optax_findings(rule: Rule, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
    found = unclipped_optimizers(graph)
    if not found:
        return
    alias = _optax_name(graph)
    clip = f"{alias or 'optax'}.{CLIP_BY_VALUE if settings.clip == 'clipvalue' else CLIP_BY_NORM}" \
           f"({number(settings.clip_value)})"
    recurrent, node = min(graph.flax.recurrent, key=lambda r: (r[1].lineno, r[1].col_offset))  # (first in the source)
    row = graph.source.position(graph.source.start(node)).row
    source = graph.source
    for optimizer in found:
        written = " ".join(source.segment(optimizer.call).split())
        if optimizer.chain is not None:
            chained = " ".join(source.segment(optimizer.chain).split())
            advice = f"put {clip} first in {_short(chained)}"
            edits = (_first_in_chain(graph, optimizer.chain, clip),) if alias else ()
        else:
            wrapped = f"{alias or 'optax'}.chain({clip}, {source.segment(optimizer.call)})"
            advice = f"chain it with clipping: {alias or 'optax'}.chain({clip}, {_short(written)})"
            edits = (replace_node(source, optimizer.call, wrapped),) if alias else ()
        message = (f"the recurrent model ({recurrent}, line {row}) is trained with {_short(written)}, which does not "
                   "clip gradients: backpropagation through time multiplies the gradient by the recurrent weights "
                   f"at every step, and one exploding batch can wreck training; {advice}")
        yield rule.report(graph, optimizer.call, message, edits, f"Clip gradients: {clip}")


def _first_in_chain(graph: ModuleGraph, chain: ast.Call, text: str) -> Edit:
    """`text` as the chain's first transformation (clipping runs before the others), on a
    line of its own where the chain lists one per line."""
    source = graph.source
    start = source.start(chain.args[0])
    if source.starts_line(start):
        row = source.position(start).row
        line_start = source.line_starts[row - 1]
        indent = source.text[line_start:start]
        return replace_span(source, line_start, line_start, f"{indent}{text},{source.newline_at(row)}")
    return replace_span(source, start, start, f"{text}, ")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _optax_name(graph: ModuleGraph) -> str | None:
    """The file's module-level name for optax (`optax`, or an alias), None when it has none."""
    scope = graph.scopes.module_scope
    names = sorted(n for n in scope.bindings if graph.resolver.qualified_name(ast.Name(id=n), scope) == "optax")
    return "optax" if "optax" in names else (names[0] if names else None)
