"""Check and fix a module's text the way the command line does."""

from __future__ import annotations

import ast
import textwrap

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic
from gradlint.engine import check_source, fix_source
from gradlint.graph.model import ModuleGraph, build_graph
from gradlint.graph.source import SourceText


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def check(text: str, **settings: object) -> list[Diagnostic]:
    return check_source(dedent(text), "model.py", Settings(**settings))  # type: ignore[arg-type]


def codes(text: str, **settings: object) -> list[tuple[int, str]]:
    return [(d.location.row, d.code) for d in check(text, **settings)]


def fix(text: str, unsafe: bool = False, **settings: object) -> str:
    """The fixed text; it must parse, and fixing it again must change nothing."""
    options = Settings(unsafe_fixes=unsafe, line_length=200, **settings)  # type: ignore[arg-type]
    fixed = fix_source(dedent(text), "model.py", options).source
    ast.parse(fixed)
    assert fix_source(fixed, "model.py", options).source == fixed
    return fixed


def graph_of(text: str) -> ModuleGraph:
    source = dedent(text)
    return build_graph(ast.parse(source), SourceText(source), "model.py")


def layer_at(graph: ModuleGraph, line: int):
    return next(l for l in graph.layers if l.call.lineno == line)
