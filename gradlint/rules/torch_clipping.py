"""GL202 for PyTorch: a recurrent model's training loop calls `optimizer.step()` after
`loss.backward()` with nothing clipping the gradients in between.

The fix inserts `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)` right before
the step, with the loop's own names and the file's name for torch; with AMP
(`scaler.step(optimizer)`), after a `scaler.unscale_(optimizer)` (added when missing), since
clipping scaled gradients would clip the loss scale instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from gradlint.config import Settings
from gradlint.diagnostics import SAFE, UNSAFE, Diagnostic
from gradlint.edits import insert_argument, insert_lines_before, replace_node
from gradlint.graph.model import ModuleGraph
from gradlint.graph.torch_training import TorchStep, huggingface_fits, lightning_fits, torch_steps
from gradlint.rules.base import Rule
from gradlint.rules.rnn_clipping import number
from gradlint.torch_api.training import CLIP_FUNCTION, HF_CLIP, LIGHTNING_CLIP


def torch_loop_findings(rule: Rule, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
    steps = torch_steps(graph)
    if not steps:
        return
    prefix = _utils_prefix(graph)
    for step in steps:
        lines = _fix_lines(step, prefix, settings)
        edit = insert_lines_before(graph.source, step.statement, lines) if prefix is not None else None
        stepped = " ".join(graph.source.segment(step.call).split())
        backward = " ".join(graph.source.segment(step.backward).split())
        message = (f"the recurrent model `{step.model}` ({step.recurrent}) is trained by {backward} → {stepped} "
                   "with no gradient clipping in between: backpropagation through time multiplies the "
                   "gradient by the recurrent weights at every step, and one exploding batch can wreck "
                   f"training; add {'; '.join(lines)} before {stepped}")
        yield rule.report(graph, step.call, message, (edit,) if edit is not None else (),
                          f"Clip gradients before {stepped}")


def lightning_findings(rule: Rule, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
    """GL201 for PyTorch Lightning: the Trainer that fits a recurrent module is the optimizer's
    configuration, and `gradient_clip_val` is where it clips."""
    for fit in lightning_fits(graph):
        value = number(settings.clip_value)
        if fit.clip is None:
            edits = insert_argument(graph.source, fit.trainer, f"{LIGHTNING_CLIP}={value}")
            given, applicability = "without gradient clipping", SAFE
        else:
            edits = (replace_node(graph.source, fit.clip, value),)
            given, applicability = f"with {LIGHTNING_CLIP}={graph.source.segment(fit.clip)}", UNSAFE
        trainer = " ".join(graph.source.segment(fit.trainer.func).split())
        message = (f"{trainer}(...) fits the recurrent model `{fit.model}` ({fit.recurrent}) {given}: "
                   "backpropagation through time can make one batch's gradient explode and wreck training; "
                   f"add {LIGHTNING_CLIP}={value}")
        yield rule.report(graph, fit.trainer, message, edits, f"Add {LIGHTNING_CLIP}={value}",
                          applicability=applicability)
    # Hugging Face's Trainer clips by default: only a max_grad_norm of 0 or None is a finding.
    for hf in huggingface_fits(graph):
        value = number(settings.clip_value)
        trainer = " ".join(graph.source.segment(hf.trainer.func).split())
        message = (f"{trainer}(...) trains the recurrent model `{hf.model}` ({hf.recurrent}) with "
                   f"{HF_CLIP}={graph.source.segment(hf.clip)}, which turns off the clipping it does by "
                   f"default: backpropagation through time can make one batch's gradient explode; "
                   f"use {HF_CLIP}={value}")
        yield rule.report(graph, hf.clip, message, (replace_node(graph.source, hf.clip, value),),
                          f"Use {HF_CLIP}={value}", applicability=UNSAFE)


def _fix_lines(step: TorchStep, prefix: str | None, settings: Settings) -> list[str]:
    clip = f"{prefix or 'torch.nn.utils.'}{CLIP_FUNCTION}({step.model}.parameters(), max_norm={number(settings.clip_value)})"
    if step.scaler is not None and not step.unscaled:
        return [f"{step.scaler}.unscale_({step.optimizer})", clip]
    return [clip]


def _utils_prefix(graph: ModuleGraph) -> str | None:
    """How the file names torch.nn.utils: `torch.nn.utils.`, `nn.utils.`, or a bare imported
    `clip_grad_norm_` (""); None when it has no name for torch at all."""
    scope = graph.scopes.module_scope
    names: dict[str, str] = {}
    for name in scope.bindings:
        qualified = graph.resolver.qualified_name(ast.Name(id=name), scope)
        if qualified in ("torch", "torch.nn", "torch.nn.utils", f"torch.nn.utils.{CLIP_FUNCTION}"):
            names.setdefault(qualified, name)
    if f"torch.nn.utils.{CLIP_FUNCTION}" in names and names[f"torch.nn.utils.{CLIP_FUNCTION}"] == CLIP_FUNCTION:
        return ""
    if "torch" in names:
        return f"{names['torch']}.nn.utils."
    if "torch.nn.utils" in names:
        return f"{names['torch.nn.utils']}."
    if "torch.nn" in names:
        return f"{names['torch.nn']}.utils."
    return None
