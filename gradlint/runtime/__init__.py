"""The runtime probe: build the real Keras model, measure its gradients layer by layer.

The only part of gradlint that imports TensorFlow/Keras, and only inside functions: importing
this package (or `gradlint.runtime.cli`) costs nothing. Entry points for the rest of gradlint:

- `probe_target(target, options) -> ProbeReport` — one target, judged (GR101/GR102/GR103);
- `run_targets(targets, options) -> (findings, errors)` — for `gradlint check --runtime`;
- `confirm_fix(target, options) -> ConfirmResult` — for `gradlint fix --confirm`;
- `options_from_table(settings.runtime) -> ProbeOptions` — validates [tool.gradlint.runtime].
"""

from __future__ import annotations

from typing import Any

from gradlint.runtime.settings import ProbeOptions, options_from_table

__all__ = ["ProbeOptions", "options_from_table", "probe_target", "run_targets", "confirm_fix", "ConfirmResult",
           "ProbeReport", "ProbeError", "RuntimeMissing"]

_LAZY = {
    "probe_target": "gradlint.runtime.session",
    "run_targets": "gradlint.runtime.session",
    "confirm_fix": "gradlint.runtime.confirm",
    "ConfirmResult": "gradlint.runtime.confirm",
    "ProbeReport": "gradlint.runtime.results",
    "ProbeError": "gradlint.runtime.errors",
    "RuntimeMissing": "gradlint.runtime.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gradlint.runtime' has no attribute {name!r}")
