"""The static findings of a target's source file, to name them beside the runtime findings.

Optional by nature: the probe is complete without it, so any trouble here (the static engine
not installed, a parse failure) means "no explanation", never a failed probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradlint.diagnostics import Diagnostic


def _engine_function(name: str) -> Callable[..., Any] | None:
    try:
        from gradlint import engine
    except Exception:
        return None
    return getattr(engine, name, None)


def static_findings(source: str | None, filename: str) -> list[Diagnostic]:
    """`gradlint.engine.check_source(source, filename)`, or [] if it is unavailable or fails."""
    if source is None:
        return []
    check_source = _engine_function("check_source")
    if check_source is None:
        return []
    try:
        return [d for d in check_source(source, filename) if isinstance(d, Diagnostic)]
    except Exception:
        return []
