"""The one door to TensorFlow and Keras: imported late, quietly, and with a clear message.

Importing TensorFlow costs seconds and prints C++ log lines; nothing on the static path may pay
that, so every runtime module asks this one for `tf` and `keras` inside a function.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from gradlint.runtime.errors import INSTALL_HINT, RuntimeMissing


@dataclass(frozen=True)
class Backend:
    tf: ModuleType
    keras: ModuleType


_loaded: Backend | None = None


@contextlib.contextmanager
def _stderr_fd_silenced(enabled: bool) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines bypass Python."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load(*, quiet: bool = True) -> Backend:
    """Import TensorFlow and Keras once; raise RuntimeMissing with the install hint if absent."""
    global _loaded
    if _loaded is not None:
        return _loaded
    # Must be set before the first import to have any effect.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with _stderr_fd_silenced(quiet and "tensorflow" not in sys.modules), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import tensorflow as tf
            import keras
    except ImportError as exc:
        raise RuntimeMissing(
            f"the runtime probe needs TensorFlow and Keras, which could not be imported ({exc}); "
            f"{INSTALL_HINT}"
        ) from exc
    if keras.backend.backend() != "tensorflow":
        raise RuntimeMissing(
            f"the runtime probe measures gradients with TensorFlow, but Keras runs on the "
            f"'{keras.backend.backend()}' backend; set KERAS_BACKEND=tensorflow"
        )
    if quiet:
        tf.get_logger().setLevel("ERROR")
        with contextlib.suppress(ImportError):
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
    _loaded = Backend(tf=tf, keras=keras)
    return _loaded


@contextlib.contextmanager
def quiet_python_warnings(enabled: bool) -> Iterator[None]:
    """Keras warns about deprecated arguments in user code while it builds; not our finding."""
    if not enabled:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While the target's code runs (building, tracing, its call()), its prints and
    `model.summary()` go to stderr, so that stdout holds gradlint's output alone (and JSON
    parses). File descriptor 1 follows when stdout is the process's own, for output written
    below Python."""
    sys.stdout.flush()
    with contextlib.redirect_stdout(sys.stderr), _fd_redirected(1, 2, enabled=_is_process_stdout(sys.__stdout__)):
        yield
    sys.stdout.flush()


def _is_process_stdout(stream: object) -> bool:
    try:
        return stream is not None and stream.fileno() == 1  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def _fd_redirected(fd: int, to: int, *, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    try:
        saved = os.dup(fd)
        os.dup2(to, fd)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if sys.__stdout__ is not None:
                sys.__stdout__.flush()  # what was written to fd 1 meanwhile belongs before the switch back
        os.dup2(saved, fd)
        os.close(saved)
