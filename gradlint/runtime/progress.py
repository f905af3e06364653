"""A one-line status on stderr while TensorFlow loads and the model builds.

Those steps take seconds with no output of their own; on a terminal the line is rewritten in
place and erased before results print. Off a terminal it stays silent, unless --verbose asks
for the steps and their timings as log lines.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None, verbose: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = is_tty if enabled is None else enabled
        self.verbose = verbose
        self._started = time.perf_counter()
        self._shown = False

    def step(self, message: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{message}…")
            self.stream.flush()
            self._shown = True
        elif self.verbose:
            self.stream.write(f"[{time.perf_counter() - self._started:6.2f}s] {message}\n")
            self.stream.flush()

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


class NoProgress(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False)

    def step(self, message: str) -> None:
        pass
