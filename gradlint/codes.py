"""Codes that are not rules, and where every code is documented.

Kept apart from the rule registry so that reporting an unreadable file or a runtime finding
does not import the rules and the model graph.
"""

from __future__ import annotations

DOCS_URL = "https://github.com/gradlint/gradlint/blob/main/docs/rules.md#{anchor}"

# gradlint could not check something. Always reported; exit code 2.
ERROR_CODES = {
    "GL001": "syntax-error",
    "GL002": "unreadable-file",
}
# Runtime probe findings (gradlint probe / check --runtime).
RUNTIME_CODES = {
    "GR101": "vanishing-gradients",
    "GR102": "exploding-gradients",
    "GR103": "non-finite-values",
    "GR104": "dead-units",
}


def doc_url(code: str, name: str) -> str:
    """The URL of a code's section in docs/rules.md."""
    return DOCS_URL.format(anchor=f"{code.lower()}-{name}")


def non_rule_url(code: str) -> str | None:
    name = ERROR_CODES.get(code) or RUNTIME_CODES.get(code)
    return doc_url(code, name) if name else None
