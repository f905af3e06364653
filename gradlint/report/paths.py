"""File names as CI systems want them: relative to the repository root, with '/' separators.

GitHub resolves annotation and code-scanning paths against the checkout, which is not
necessarily the directory gradlint ran in (a job's `working-directory`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def repository_root(start: str) -> Path:
    """GITHUB_WORKSPACE when set, else the nearest directory at or above `start` holding .git,
    else `start`."""
    return _root(os.path.abspath(start), os.environ.get("GITHUB_WORKSPACE") or "")


@lru_cache(maxsize=8)
def _root(start: str, workspace: str) -> Path:
    if workspace:
        return Path(workspace).resolve()
    here = Path(start).resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


def repo_relative(filename: str) -> str:
    """`filename` relative to the repository root, or absolute when outside it; '-' as is."""
    if filename == "-":
        return filename
    root = repository_root(os.getcwd())
    absolute = Path(os.path.abspath(filename))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()
