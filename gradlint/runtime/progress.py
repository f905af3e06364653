"""What the probe is doing, on stderr, while it takes seconds with no output of its own.

On a terminal a one-line status (loading TensorFlow, building, batch i/n) is rewritten in place
with the seconds since the run began, ticking while a step runs, and erased before results
print; a line per finished target says how long it took. Off a terminal, and in JSON mode, it
stays silent, unless --verbose asks for the steps and their timings as log lines.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_TICK = 0.25  # seconds between rewrites of the live line


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None, verbose: bool = False) -> None:
        """`enabled`: None follows whether `stream` (stderr by default) is a terminal."""
        self.stream = stream if stream is not None else sys.stderr
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = is_tty if enabled is None else enabled
        self.verbose = verbose
        self._started = time.perf_counter()
        self._shown = False
        self._message = ""
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def step(self, message: str) -> None:
        """A new step: the live line shows it; --verbose logs it."""
        if self.live:
            with self._lock:
                self._message = message
                self._render()
            self._tick()
        elif self.verbose:
            self.stream.write(f"[{self.elapsed():6.2f}s] {message}\n")
            self.stream.flush()

    def done(self, message: str) -> None:
        """A line that stays (a target's time), above the live line."""
        if self.live:
            with self._lock:
                self.stream.write(f"\r\x1b[K{message}\n")
                self.stream.flush()
                self._shown = False
                if self._message:
                    self._render()
        elif self.verbose:
            self.stream.write(f"[{self.elapsed():6.2f}s] {message}\n")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the live line and stop its ticking (before results or an error print)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        self._stop.clear()
        with self._lock:
            self._message = ""
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    def _render(self) -> None:
        self.stream.write(f"\r\x1b[K{self._message}… {self.elapsed():.1f} s")
        self.stream.flush()
        self._shown = True

    def _tick(self) -> None:
        """Keep the seconds moving while a long step (a trace, a recurrent pass) runs."""
        if self._ticker is not None:
            return

        def run() -> None:
            while not self._stop.wait(_TICK):
                with self._lock:
                    if self._message:
                        self._render()

        self._ticker = threading.Thread(target=run, name="gradlint-progress", daemon=True)
        self._ticker.start()


class NoProgress(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False)

    def step(self, message: str) -> None:
        pass

    def done(self, message: str) -> None:
        pass
