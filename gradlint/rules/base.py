"""What a rule is: a code, a name, its documentation with examples, and check(graph)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from gradlint.codes import doc_url
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic, Edit, Fix
from gradlint.graph.model import ModuleGraph



@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag `count` times; `fixed` is the exact source after the fix."""

    source: str
    count: int = 1
    fixed: str | None = None


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

    def check(self, graph: ModuleGraph, settings: Settings) -> Iterator[Diagnostic]:
        raise NotImplementedError

    @classmethod
    def url(cls) -> str:
        return doc_url(cls.code, cls.name)

    def report(self, graph: ModuleGraph, node: ast.AST, message: str,
               edits: tuple[Edit, ...] = (), fix_message: str = "", severity: str | None = None) -> Diagnostic:
        """A diagnostic at `node` (its whole span), with a fix when there are edits.
        `severity` is the rule's own unless the finding's predicted effect decides it."""
        source = graph.source
        return Diagnostic(
            code=self.code,
            message=message,
            filename=graph.path,
            location=source.position(source.start(node)),
            end_location=source.position(source.end(node)),
            fix=Fix(fix_message or message, edits) if edits else None,
            url=self.url(),
            severity=severity or self.severity,
        )
