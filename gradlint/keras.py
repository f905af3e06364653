"""Keras integration: `from gradlint.keras import GradientMonitor`.

    model.fit(x, y, callbacks=[GradientMonitor(every_n_batches=50, on_problem="warn")])

Keras is imported when the name is first used, not when this module is imported.
"""

from __future__ import annotations

from typing import Any

from gradlint.runtime.monitor import GradientProblemError, GradientProblemWarning

__all__ = ["GradientMonitor", "GradientProblemError", "GradientProblemWarning"]


def __getattr__(name: str) -> Any:
    if name == "GradientMonitor":
        from gradlint.runtime.monitor import _monitor_class

        return _monitor_class()
    raise AttributeError(f"module 'gradlint.keras' has no attribute {name!r}")
