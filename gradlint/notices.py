"""Warnings: something gradlint skipped that the user should know about, on standard error.

Not Python's `warnings` module, whose format names gradlint's own source line rather than the
user's file; and never on standard output, which carries the report.
"""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """One line, `warning: …`, on standard error (looked up now: tests and callers swap it)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
