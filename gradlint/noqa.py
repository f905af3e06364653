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
