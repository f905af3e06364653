"""SIGINT and SIGTERM as an orderly shutdown of the main process.

Python turns SIGINT into KeyboardInterrupt, but SIGTERM kills the process on the spot: its
worker processes are left running, holding the output pipe, and temporary files stay behind.
Within `interrupts_raised()` both signals raise `Interrupted` in the main thread instead, so
that every `finally` and `except BaseException` clean-up runs, the process pool is stopped and
the command line exits 128 + the signal's number (130, 143), as shells report a death by signal.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A shutdown signal arrived; a KeyboardInterrupt, so that what handles Ctrl-C handles it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_number(exc: KeyboardInterrupt) -> int:
    """The signal behind an interrupt: a plain KeyboardInterrupt is Python's own SIGINT."""
    return getattr(exc, "signum", signal.SIGINT)


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal's number: what a shell reports for a process the signal ended."""
    return 128 + signal_number(exc)


def signal_name(exc: KeyboardInterrupt) -> str:
    return signal.Signals(signal_number(exc)).name


_shutting_down = False  # set once an interrupt has been caught and the shutdown runs


def begin_shutdown() -> None:
    """Called by what caught the interrupt: from now on further signals are ignored, so that a
    second Ctrl-C cannot cut the shutdown short (every step of it is bounded). Until then each
    signal raises again: a first one may have been swallowed where Python ignores exceptions
    (a `__del__`, an at-fork hook), and must not leave gradlint deaf."""
    global _shutting_down
    _shutting_down = True


@contextmanager
def interrupts_raised() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise `Interrupted` in the main thread. A signal the process
    was started with ignored (`nohup`, `cmd &`) stays ignored. The previous handlers come back
    on the way out. Outside the main thread, a no-op."""
    global _shutting_down
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handle(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            _in_forked_child(signum)
        elif not _shutting_down:
            raise Interrupted(signum)

    previous = {s: signal.getsignal(s) for s in SHUTDOWN_SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _shutting_down = False


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back within (they arrive on the way out). Around starting worker
    processes, so that neither a forked child nor the parent's at-fork hooks run the handler;
    children inherit the mask and lift it once their own handlers are set. Around clean-ups,
    so that a signal cannot stop them half-way. Where signal masks do not exist, a no-op."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, SHUTDOWN_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def allow_signals() -> None:
    """Lift what `signals_deferred` held back, in a child that inherited it."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SHUTDOWN_SIGNALS)


def _in_forked_child(signum: int) -> None:
    """A child forked with this handler, before it set its own: SIGINT is the parent's to
    handle, SIGTERM ends the child as if no handler had been set."""
    if signum == signal.SIGINT:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
