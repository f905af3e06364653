"""Source on standard input, reported under the name an editor gives (`--stdin-filename`).

Editors and format-on-save hooks pipe the unsaved buffer through the linter. The name decides
the settings, the per-file ignores and whether it is a notebook; the source itself never
touches the disk, and `fix` hands back the whole (fixed) source on standard output: the input's
own bytes outside the fixes, whatever its encoding.
"""

from __future__ import annotations

from pathlib import Path

from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic, Position
from gradlint.engine import FileResult, check_decoded
from gradlint.files import SourceFile, UnreadableFile, decode_source

STDIN_NAME = "-"


def is_excluded(filename: str, settings: Settings) -> bool:
    """Whether `exclude`/`extend-exclude` (or `extensions`) leave this name out, as they would
    on disk; only asked under --force-exclude, as for files named on the command line."""
    from gradlint.discovery import KNOWN_SUFFIXES, PatternSet

    path = Path(filename)
    if path.suffix in KNOWN_SUFFIXES and path.suffix.lstrip(".") not in settings.extensions:
        return True
    return PatternSet((*settings.exclude, *settings.extend_exclude), settings.root).matches(path)


def check_stdin(data: bytes, filename: str | None, settings: Settings, fix: bool = False) -> FileResult:
    """Check (and with `fix`, fix) the bytes read from standard input; never raises for bad input."""
    display = filename or STDIN_NAME
    path = Path(display)
    result = FileResult(display)
    try:
        text, encoding = decode_source(data)
    except UnreadableFile as exc:
        return _unreadable(result, f"cannot read standard input: {exc}")
    return check_decoded(SourceFile(path, text, encoding, data), display, settings, fix)


def output_bytes(result: FileResult, data: bytes) -> bytes:
    """What `fix` writes to standard output: the input's bytes with the fixes spliced in, or
    the input exactly as it came when nothing changed (or nothing could be done)."""
    if result.new_bytes is None:
        return data
    return result.new_bytes


def _unreadable(result: FileResult, message: str) -> FileResult:
    from gradlint.rules.docs import url_for

    start = Position(1, 1)
    result.diagnostics.append(Diagnostic("GL002", message, result.path, start, start, url=url_for("GL002")))
    return result
