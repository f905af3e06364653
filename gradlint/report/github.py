"""`--output-format github`: workflow commands that GitHub Actions turns into annotations.

`::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=CODE::message`. A notebook's finding
points at the line of the .ipynb file that holds the cell's source line (what a pull request
shows); the message names the cell and the row within it.

A command is one line: the message's line breaks are the `%0A` escapes GitHub turns back into
line breaks; a file name's control characters and undecodable bytes are escaped as the text
format escapes them (`\n`, `\x1b`, `\xff`), since no file of that name could be matched anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from gradlint.diagnostics import Diagnostic, Position
from gradlint.report.escape import line_safe
from gradlint.report.paths import repo_relative
from gradlint.report.text import render_line


def _property(value: str) -> str:
    return (value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            .replace(":", "%3A").replace(",", "%2C"))


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def file_span(d: Diagnostic) -> tuple[Position, Position]:
    """Where the finding is in the file itself: for a notebook cell, in the JSON text."""
    start, end = d.extra.get("json_location"), d.extra.get("json_end_location")
    if d.cell is not None and start and end:
        return Position(*start), Position(*end)
    return d.location, d.end_location


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        start, end = file_span(d)
        properties = (f"file={_property(line_safe(repo_relative(d.filename)))},line={start.row},col={start.column},"
                      f"endLine={end.row},endColumn={end.column},title={_property(d.code)}")
        command = "error" if d.severity == "error" else "warning"
        lines.append(f"::{command} {properties}::{_data(render_line(d, message=d.message, severity=False))}\n")
    return "".join(lines)
