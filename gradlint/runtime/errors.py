"""Why a probe could not run: each error is a message fit to show a user as it is (exit 2)."""

from __future__ import annotations

from gradlint.errors import GradlintError

INSTALL_HINT = 'install the runtime extra: pip install "gradlint[runtime]"'


class ProbeError(GradlintError):
    """A target could not be loaded, built or probed.

    The message names the target; the original exception, if any, is kept as `__cause__` so
    that `--verbose` can show its traceback.
    """


class RuntimeMissing(GradlintError):
    """TensorFlow/Keras (the `runtime` extra) is not installed or not usable."""


def reason(exc: BaseException, limit: int = 400) -> str:
    """`Type: message` on one line; Keras' call-argument dumps are dropped."""
    text = str(exc).split("Arguments received by")[0]
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
