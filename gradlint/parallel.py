"""Run a per-file function over many files in worker processes, or in this one when it pays.

A process pool costs a few hundred milliseconds to start; a handful of files (a pre-commit
run on one commit) is checked faster in the calling process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many files per worker, a pool costs more than it saves.
_MIN_FILES_PER_WORKER = 8


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _call(args: tuple[Callable[..., T], tuple[Any, ...]]) -> T:
    function, arguments = args
    return function(*arguments)


def run_parallel(function: Callable[..., T], calls: Sequence[tuple[Any, ...]], jobs: int | None) -> list[T]:
    """`[function(*c) for c in calls]`, spread over up to `jobs` processes; order kept."""
    workers = min(jobs or default_jobs(), max(1, len(calls) // _MIN_FILES_PER_WORKER))
    if workers <= 1:
        return [function(*c) for c in calls]
    from concurrent.futures import ProcessPoolExecutor

    # Small chunks: calls may come sorted by cost, and large chunks would undo that balance.
    chunk = max(1, len(calls) // (workers * 16))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_call, [(function, c) for c in calls], chunksize=chunk))
