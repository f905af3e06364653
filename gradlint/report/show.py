"""`--show-files` and `--show-settings`: what gradlint would check, and with which settings.

For debugging discovery and configuration: the settings are printed as the TOML that would
produce them, so a line can be copied into pyproject.toml.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gradlint.config import Settings


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def render_settings(settings: Settings, target: str, given: bool = False) -> str:
    """`target`'s settings: the configuration file they come from (`given`: named with
    --config, for every file), the directory its patterns are relative to, and every key."""
    from gradlint.config import _KEYS

    if settings.config_path is None:
        source = "defaults (no gradlint.toml or [tool.gradlint] found at or above it)"
    else:
        source = f"{settings.config_path}" + (" (--config)" if given else "")
    lines = [f"# Settings for {target}", f"# from: {source}", f"# root: {settings.root}", "[tool.gradlint]"]
    for key, (attr, _) in _KEYS.items():
        value = getattr(settings, attr)
        lines.append(f"# {key}: not set" if value is None else f"{key} = {_toml(value)}")
    lines.append(f"# use-cache = {_toml(settings.use_cache)}")
    return "\n".join(lines) + "\n"


def render_files(displays: Iterable[str]) -> str:
    """One file a line: control characters and undecodable bytes of a name are escaped."""
    from gradlint.report.escape import line_safe

    return "".join(f"{line_safe(d)}\n" for d in displays)
