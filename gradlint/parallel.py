"""Run a per-file function over many files in worker processes, or in this one when it pays.

A process pool costs a few hundred milliseconds to start, and each worker some memory: a
handful of files (a pre-commit run on one commit) is checked faster in the calling process,
and no more workers start than there are CPUs to run them or files to keep them busy.

Only the calling process decides when to stop. Workers ignore SIGINT (a Ctrl-C reaches the
whole process group, and the parent stops the pool), end on SIGTERM, end with the parent on
Linux even if it is killed outright, and hold no copy of its standard output: whatever reads
gradlint's output sees its end when gradlint ends. If the run is interrupted or fails, the
workers are terminated before the exception goes on.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")

# Below this many files per worker, a pool costs more than it saves.
_MIN_FILES_PER_WORKER = 8
# How long a terminated worker may take to go before it is killed.
_TERMINATE_GRACE_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(jobs: int | None, calls: int) -> int:
    """Processes to spread `calls` over: what was asked for (default: all CPUs), but never more
    than the CPUs, nor more than one per `_MIN_FILES_PER_WORKER` calls. 1 means no pool."""
    cpus = default_jobs()
    wanted = min(jobs or cpus, cpus)
    return max(1, min(wanted, calls // _MIN_FILES_PER_WORKER))


def _call(args: tuple[Callable[..., T], tuple[Any, ...]]) -> T:
    function, arguments = args
    return function(*arguments)


def run_parallel(function: Callable[..., T], calls: Sequence[tuple[Any, ...]], jobs: int | None) -> list[T]:
    """`[function(*c) for c in calls]`, spread over up to `jobs` processes; order kept."""
    workers = worker_count(jobs, len(calls))
    if workers <= 1:
        return [function(*c) for c in calls]
    from concurrent.futures import ProcessPoolExecutor

    from gradlint.interrupts import signals_deferred

    # Small chunks: calls may come sorted by cost, and large chunks would undo that balance.
    chunk = max(1, len(calls) // (workers * 16))
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),))
    try:
        with signals_deferred():  # the workers start as the calls are submitted, here
            pending = pool.map(_call, [(function, c) for c in calls], chunksize=chunk)
        results = list(pending)
    except BaseException:
        # Leaving a `with` block would wait for every queued call: stop the workers instead.
        stop_pool(pool)
        raise
    pool.shutdown()
    return results


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, terminate the workers (killing those that linger) and wait
    until they are gone, so that none outlives this process. Signals wait until it is done."""
    from gradlint.interrupts import signals_deferred

    with signals_deferred():
        # ProcessPoolExecutor offers no way to end its workers before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(_TERMINATE_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        pool.shutdown(wait=True)  # the pool's own thread notices the workers are gone, and ends


def _start_worker(parent: int) -> None:
    """In each worker, before any call: see the module's docstring. The worker starts with the
    signals held back (`run_parallel`), and takes them once its own handlers are set."""
    from gradlint.interrupts import allow_signals

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with_parent(parent)
    _release_standard_output()
    allow_signals()


def _end_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies, even by SIGKILL; a parent already gone
    (re-parented before the request took) ends the worker now."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def _release_standard_output() -> None:
    """Point the worker's file descriptor 1 at /dev/null: it prints nothing, and a copy of the
    parent's pipe would keep the reader waiting for as long as the worker lives."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, 1)
    finally:
        os.close(devnull)
