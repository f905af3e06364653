"""`[tool.gradlint.runtime]` and the probe's command-line options → one frozen ProbeOptions.

Validated here, once, so that the probe itself never meets a wrong type: a typo in
pyproject.toml is a ConfigError naming the key, not a traceback from deep inside TensorFlow.
The configuration loader validates the table through this module for every command, so it
must stay importable without TensorFlow (or numpy).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from gradlint.errors import ConfigError

Shape = tuple["int | None", ...]

_TABLE = "[tool.gradlint.runtime]"


@dataclass(frozen=True)
class ProbeOptions:
    """Everything a probe run depends on. Thresholds follow the finding definitions:

    - GR101 when backward signal first/last hidden < `vanishing_ratio`, or a weight gradient is
      zero, or a relative gradient ‖∂L/∂W‖/‖W‖ < `min_relative_grad`;
    - GR102 when that ratio > `exploding_ratio`, forward RMS grows by more than
      `forward_growth`, or any gradient norm exceeds `max_grad_norm`.
    """

    targets: tuple[str, ...] = ()
    batch_size: int = 32
    seed: int = 0
    repeats: int = 3
    input_shapes: tuple[Shape, ...] = ()
    vanishing_ratio: float = 1e-3
    exploding_ratio: float = 1e3
    forward_growth: float = 1e3
    max_grad_norm: float = 1e6
    min_relative_grad: float = 1e-7
    verbose: bool = False
    explain: bool = True  # name static findings that explain a runtime one

    def __post_init__(self) -> None:
        _check_int("batch-size", self.batch_size, minimum=1)
        _check_int("seed", self.seed, minimum=0)
        _check_int("repeats", self.repeats, minimum=1)
        _check_number("vanishing-ratio", self.vanishing_ratio, low=0.0, high=1.0)
        _check_number("exploding-ratio", self.exploding_ratio, low=1.0)
        _check_number("forward-growth", self.forward_growth, low=1.0)
        _check_number("max-grad-norm", self.max_grad_norm, low=0.0)
        _check_number("min-relative-grad", self.min_relative_grad, low=0.0, inclusive_low=True)

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None) -> ProbeOptions:
        """Validate the raw `[tool.gradlint.runtime]` table (kebab-case keys)."""
        return options_from_table(table)

    def with_overrides(self, **overrides: Any) -> ProbeOptions:
        """Command-line values win over the table; None means "not given"."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


_KEYS: dict[str, str] = {
    "targets": "targets",
    "batch-size": "batch_size",
    "seed": "seed",
    "repeats": "repeats",
    "input-shape": "input_shapes",
    "vanishing-ratio": "vanishing_ratio",
    "exploding-ratio": "exploding_ratio",
    "forward-growth": "forward_growth",
    "max-grad-norm": "max_grad_norm",
    "min-relative-grad": "min_relative_grad",
}
assert set(_KEYS.values()) <= {f.name for f in fields(ProbeOptions)}


def options_from_table(table: Mapping[str, Any] | None) -> ProbeOptions:
    """`settings.runtime` (the raw TOML table) → ProbeOptions, or ConfigError naming the key."""
    if table is None:
        return ProbeOptions()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{_TABLE} must be a table, not {type(table).__name__}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(unknown_key_message(key))
        values[_KEYS[key]] = _convert(key, value)
    try:
        return ProbeOptions(**values)
    except ConfigError as exc:
        raise ConfigError(f"{_TABLE} {exc}") from None


def unknown_key_message(key: str) -> str:
    """Worded as [tool.gradlint]'s own unknown keys are, with the closest known key (or, when
    none is close, the list of them): `batchsize` and `batch_size` both mean `batch-size`."""
    hint = difflib.get_close_matches(key.replace("_", "-"), list(_KEYS), n=1)
    suggestion = f"did you mean '{hint[0]}'?" if hint else f"known keys: {', '.join(_KEYS)}"
    return f"unknown key '{key}' in {_TABLE} ({suggestion})"


def _convert(key: str, value: Any) -> Any:
    if key == "targets":
        if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
            raise ConfigError(f'{_TABLE} targets must be a list of strings, e.g. ["model.py:build_model"]')
        return tuple(t.strip() for t in value)
    if key == "input-shape":
        return parse_input_shapes(value, where=f"{_TABLE} input-shape")
    if key in ("batch-size", "seed", "repeats"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{_TABLE} {key} must be an integer, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{_TABLE} {key} must be a number, not {value!r}")
    return float(value)


def _check_int(key: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key} must be an integer ≥ {minimum}, not {value!r}")


def _check_number(
    key: str, value: Any, *, low: float, high: float | None = None, inclusive_low: bool = False
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= low if inclusive_low else value > low
    if ok and high is not None:
        ok = value < high
    if not ok:
        bounds = f"{'≥' if inclusive_low else '>'} {low:g}" + (f" and < {high:g}" if high is not None else "")
        raise ConfigError(f"{key} must be a number {bounds}, not {value!r}")


# --- input shapes -------------------------------------------------------------------------

_NONE_SPELLINGS = {"none", "?", "null"}


def parse_shape(text: Any, *, where: str = "--input-shape") -> Shape:
    """'28,28,1' / '(None, 100)' / [28, 28, 1] → (28, 28, 1) / (None, 100) / (28, 28, 1).

    None (also '?') marks a dimension to take from the model; a leading None can also stand
    for the batch dimension, as in Keras' own shapes.
    """
    if isinstance(text, str):
        inner = text.strip().strip("()[]").strip()
        parts: list[Any] = [p.strip() for p in inner.split(",")] if inner else []
        if len(parts) > 1 and parts[-1] == "":  # "(100,)"
            parts = parts[:-1]
    elif isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        raise ConfigError(f"{where}: a shape is a string like \"28,28,1\" or a list of integers, not {text!r}")
    dims: list[int | None] = []
    for part in parts:
        if isinstance(part, bool):
            raise ConfigError(f"{where}: bad dimension {part!r} in {text!r}")
        if isinstance(part, int):
            dim: int | None = part
        elif isinstance(part, str) and part.lower() in _NONE_SPELLINGS:
            dim = None
        elif isinstance(part, str) and part.isdigit():
            dim = int(part)
        else:
            raise ConfigError(
                f"{where}: bad dimension {part!r} in {text!r}; use positive integers and None, e.g. \"None,100\""
            )
        if dim is not None and dim < 1:
            raise ConfigError(f"{where}: dimensions must be positive, got {dim} in {text!r}")
        dims.append(dim)
    if not dims:
        raise ConfigError(f"{where}: empty shape {text!r}")
    return tuple(dims)


def parse_input_shapes(value: Any, *, where: str) -> tuple[Shape, ...]:
    """Shapes for the model's inputs, in order.

    "28,28,1" or [28, 28, 1] is one shape; a list of strings (["28,28,1", "None,10"]) or a
    list of lists ([[28, 28, 1], [10]]) gives one shape per input.
    """
    if isinstance(value, str):
        return (parse_shape(value, where=where),)
    if isinstance(value, list) and value:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return (parse_shape(value, where=where),)
        if all(isinstance(v, str) for v in value) or all(isinstance(v, list) for v in value):
            return tuple(parse_shape(v, where=where) for v in value)
    raise ConfigError(
        f'{where}: expected a shape like "28,28,1", a list of integers, or a list of shapes, not {value!r}'
    )
