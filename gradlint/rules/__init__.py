"""The rule registry: every rule, by code, and code selection (`--select`, `--ignore`)."""

from __future__ import annotations

from collections.abc import Iterable

from gradlint.codes import ERROR_CODES, RUNTIME_CODES
from gradlint.rules.base import Rule
from gradlint.rules.custom_loop_clipping import RnnCustomLoopWithoutClipping
from gradlint.rules.exponential_activation import ExponentialHiddenActivation
from gradlint.rules.init_activation import InitActivationMismatch
from gradlint.rules.init_scale import InitScale
from gradlint.rules.rnn_clipping import RnnOptimizerWithoutClipping
from gradlint.rules.saturating_stack import DeepSaturatingStack
from gradlint.rules.selu_dropout import SeluWithDropout

ALL_RULES: tuple[Rule, ...] = (
    InitActivationMismatch(),
    InitScale(),
    RnnOptimizerWithoutClipping(),
    RnnCustomLoopWithoutClipping(),
    DeepSaturatingStack(),
    SeluWithDropout(),
    ExponentialHiddenActivation(),
)



def rule_by_code(code: str) -> Rule | None:
    return next((r for r in ALL_RULES if r.code == code.upper()), None)


def known_codes() -> list[str]:
    return [r.code for r in ALL_RULES] + list(ERROR_CODES) + list(RUNTIME_CODES)


def validate_selectors(selectors: Iterable[str]) -> str | None:
    """The first selector that names no known code or prefix, or None if all are fine."""
    codes = known_codes()
    for selector in selectors:
        s = selector.strip().upper()
        if s == "ALL":
            continue
        if not s or not any(code.startswith(s) for code in codes):
            return selector
    return None


def _match_length(code: str, selectors: Iterable[str]) -> int:
    best = -1
    for selector in selectors:
        s = selector.strip().upper()
        if s == "ALL":
            best = max(best, 0)
        elif code.startswith(s):
            best = max(best, len(s))
    return best


def is_selected(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """Ruff's rule: the most specific selector wins; on a tie, ignore wins."""
    chosen = _match_length(code, select)
    return chosen >= 0 and chosen > _match_length(code, ignore)
