"""Whether a gitignore-style pattern is valid, and if not, why.

Git accepts patterns it can never match (`\\`, `foo\\`, `[z-a]`, `!`) and ignores them; pathspec
refuses them with an exception. gradlint asks here first: in a .gitignore such a pattern is a
warning and is skipped; in `exclude`, `extend-exclude` or `per-file-ignores` it is a
configuration error.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec


def compile_gitignore(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """pathspec's GitIgnoreSpec, without the FutureWarning `re` gives for a `[[` that Python
    may one day read as a nested set (which would reach the user's terminal as noise).
    Raises ValueError or re.error for an invalid pattern."""
    import pathspec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return pathspec.GitIgnoreSpec.from_lines(list(lines))


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid gitignore-style pattern, or None when it is.

    Only a backslash, a bracket or a bare `!` can make a pattern invalid, so the common ones
    are accepted without importing pathspec (tens of milliseconds)."""
    if "\\" not in pattern and "[" not in pattern and pattern.rstrip() != "!":
        return None
    try:
        compile_gitignore([pattern])
    except (ValueError, re.error) as exc:
        return pattern_problem(pattern, exc)
    return None


def pattern_problem(pattern: str, exc: Exception) -> str:
    """What pathspec's exception for `pattern` means, in words."""
    stripped = pattern.rstrip()
    if isinstance(exc, re.error):
        return exc.msg  # "bad character range z-a"
    if stripped == "!":
        return "a negation of nothing"
    if stripped.endswith("\\"):
        return "a trailing backslash escapes nothing"
    return str(exc)
