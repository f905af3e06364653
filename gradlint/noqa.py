"""`# noqa` comments: which gradlint codes a line suppresses.

`# noqa` alone suppresses every gradlint code on that line; `# noqa: GL101, GL201` those
codes; a list with only other tools' codes (`# noqa: E501`) suppresses nothing of ours.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")

ALL = "*"


@lru_cache(maxsize=256)  # a long line with many findings is read once, not once per finding
def suppressed_codes(line: str) -> frozenset[str] | None:
    """The codes `line` suppresses ({"*"} for all), or None if it has no noqa comment."""
    if "noqa" not in line.lower():
        return None
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset({ALL})
    return frozenset(c.upper() for c in _CODE.findall(codes))


def is_suppressed(line: str, code: str) -> bool:
    codes = suppressed_codes(line)
    return codes is not None and (ALL in codes or code in codes)


def merged_noqa(comment: str, codes: list[str]) -> tuple[int, str] | None:
    """(column in `comment`, text to insert there) that adds `codes` to the comment's
    `# noqa: A, B` list, in its own separator style; None when it has no such list."""
    match = _NOQA.search(comment)
    if match is None or not match.group("codes"):
        return None
    listed = match.group("codes")
    separator = ", " if ", " in listed or len(_CODE.findall(listed)) == 1 else _separator(listed)
    return match.end("codes"), "".join(f"{separator}{code}" for code in codes)


def _separator(codes: str) -> str:
    """The text between the first two codes of a list (`,`, `, ` or ` `)."""
    first = _CODE.match(codes)
    assert first is not None  # the list starts with a code
    return _CODE.split(codes[first.end():], maxsplit=1)[0] or ", "
