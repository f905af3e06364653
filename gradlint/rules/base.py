"""What a rule is: a code, a name, its documentation with examples, and check(graph)."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from gradlint.codes import doc_url
from gradlint.config import Settings
from gradlint.diagnostics import APPLICABILITIES, SAFE, Diagnostic, Edit, Fix
from gradlint.graph.model import ModuleGraph


def place_in(graph: ModuleGraph, home: ModuleGraph, node: ast.AST) -> str:
    """`optim.py:5`: a node of another module of the project, its path as seen from the
    directory of the module the finding is in."""
    path = os.path.relpath(home.path, os.path.dirname(os.path.abspath(graph.path)))
    return f"{path}:{home.source.position(home.source.start(node)).row}"


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag `count` times; `fixed` is the exact source after the fix."""

    source: str
    count: int = 1
    fixed: str | None = None


@dataclass(frozen=True)
class FixSafety:
    """One kind of fix a rule makes, how safe it is (`safe`/`unsafe`) and why: what
    `gradlint rule CODE` tells a user deciding whether to pass --unsafe-fixes."""

    what: str
    applicability: str
    why: str

    def __post_init__(self) -> None:
        if self.applicability not in APPLICABILITIES:
            raise ValueError(f"applicability must be one of {APPLICABILITIES}, not {self.applicability!r}")


class Rule:
    """Base class. A rule reads facts from the model graph and yields diagnostics; it never
    walks the syntax tree to find facts, never prints, never writes."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line, for `gradlint rules`
    doc: ClassVar[str]  # markdown: what it finds, why it matters, example, fix
    fixable: ClassVar[bool] = False
    # "error": breaks training at initialization; "warning": a real fault that will not by itself.
    severity: ClassVar[str] = "warning"
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()
    fix_safety: ClassVar[tuple[FixSafety, ...]] = ()  # every kind of fix the rule makes

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        raise NotImplementedError

    @classmethod
    def url(cls) -> str:
        return doc_url(cls.code, cls.name)

    def report(self, graph: ModuleGraph, node: ast.AST, message: str,
               edits: tuple[Edit, ...] = (), fix_message: str = "", severity: str | None = None,
               applicability: str = SAFE) -> Diagnostic:
        """A diagnostic at `node` (its whole span), with a fix when there are edits.
        `severity` is the rule's own unless the finding's predicted effect decides it;
        `applicability` is "unsafe" when the edits replace something the author wrote."""
        source = graph.source
        return Diagnostic(
            code=self.code,
            message=message,
            filename=graph.path,
            location=source.position(source.start(node)),
            end_location=source.position(source.end(node)),
            fix=Fix(fix_message or message, edits, applicability) if edits else None,
            url=self.url(),
            severity=severity or self.severity,
        )
