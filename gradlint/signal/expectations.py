"""Gaussian expectations of activations: E[φ(z)], E[φ(z)²] and E[φ'(z)²] for z ~ N(0, q).

These are the only facts about an activation the mean-field recurrence needs. Linear, ReLU and
leaky ReLU have closed forms; every other activation is integrated numerically (composite
Simpson over ±10·√q, split at 0, where piecewise activations have their kink: Gauss–Hermite
alone is wrong there). Results are memoized per (activation, slope, q to 4 significant digits),
so a model of any depth costs a handful of integrals. Pure Python: no numpy on the static path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from gradlint.keras_api.activations import HOMOGENEOUS_ACTIVATIONS

_SQRT2 = math.sqrt(2.0)
_INTERVALS = 200  # per half-line; the integrands are smooth away from 0
_SPAN = 10.0  # standard deviations each side


@dataclass(frozen=True)
class Moments:
    """What an activation does to a zero-mean Gaussian of variance q."""

    mean: float  # E[φ(z)]
    second: float  # E[φ(z)²]: the forward second moment the next layer sees
    slope2: float  # E[φ'(z)²]: the factor on the backward signal's second moment


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))


def _phi(x: float) -> float:  # standard normal CDF
    return 0.5 * math.erfc(-x / _SQRT2)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_GELU_C = math.sqrt(2.0 / math.pi)

# activation → (φ, φ'); `a` is the slope parameter where one applies (leaky_relu, elu, celu).
_FUNCTIONS: dict[str, tuple[Callable[[float, float], float], Callable[[float, float], float]]] = {
    "tanh": (lambda x, a: math.tanh(x), lambda x, a: 1.0 - math.tanh(x) ** 2),
    "sigmoid": (lambda x, a: _sigmoid(x), lambda x, a: _sigmoid(x) * (1.0 - _sigmoid(x))),
    # Keras 3: relu6(x + 3) / 6, slope 1/6 on (-3, 3).
    "hard_sigmoid": (lambda x, a: min(max(x + 3.0, 0.0), 6.0) / 6.0, lambda x, a: 1.0 / 6.0 if -3.0 < x < 3.0 else 0.0),
    "softsign": (lambda x, a: x / (1.0 + abs(x)), lambda x, a: 1.0 / (1.0 + abs(x)) ** 2),
    "softplus": (lambda x, a: _softplus(x), lambda x, a: _sigmoid(x)),
    "log_sigmoid": (lambda x, a: -_softplus(-x), lambda x, a: _sigmoid(-x)),
    "elu": (lambda x, a: x if x > 0 else a * math.expm1(x), lambda x, a: 1.0 if x > 0 else a * math.exp(x)),
    "celu": (lambda x, a: x if x > 0 else a * math.expm1(x / a), lambda x, a: 1.0 if x > 0 else math.exp(x / a)),
    "selu": (lambda x, a: _SELU_SCALE * (x if x > 0 else _SELU_ALPHA * math.expm1(x)),
             lambda x, a: _SELU_SCALE * (1.0 if x > 0 else _SELU_ALPHA * math.exp(x))),
    # Keras 3's gelu is exact (approximate=False) by default.
    "gelu": (lambda x, a: x * _phi(x),
             lambda x, a: _phi(x) + x * math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)),
    "gelu_tanh": (lambda x, a: 0.5 * x * (1.0 + math.tanh(_GELU_C * (x + 0.044715 * x ** 3))),
                  lambda x, a: _gelu_tanh_slope(x)),
    "silu": (lambda x, a: x * _sigmoid(x), lambda x, a: _sigmoid(x) * (1.0 + x * (1.0 - _sigmoid(x)))),
    "hard_silu": (lambda x, a: x * min(max(x + 3.0, 0.0), 6.0) / 6.0,
                  lambda x, a: 0.0 if x <= -3.0 else 1.0 if x >= 3.0 else (2.0 * x + 3.0) / 6.0),
    "mish": (lambda x, a: x * math.tanh(_softplus(x)), lambda x, a: _mish_slope(x)),
    "relu6": (lambda x, a: min(max(x, 0.0), 6.0), lambda x, a: 1.0 if 0.0 < x < 6.0 else 0.0),
    "hard_tanh": (lambda x, a: min(max(x, -1.0), 1.0), lambda x, a: 1.0 if -1.0 < x < 1.0 else 0.0),
    "exponential": (lambda x, a: math.exp(min(x, 700.0)), lambda x, a: math.exp(min(x, 700.0))),
    "thresholded_relu": (lambda x, a: x if x > a else 0.0, lambda x, a: 1.0 if x > a else 0.0),
    "squareplus": (lambda x, a: 0.5 * (x + math.sqrt(x * x + 4.0)), lambda x, a: 0.5 * (1.0 + x / math.sqrt(x * x + 4.0))),
    "tanh_shrink": (lambda x, a: x - math.tanh(x), lambda x, a: math.tanh(x) ** 2),
}

# The slope parameter each takes when none is given (Keras 3's defaults).
DEFAULT_SLOPE = {"leaky_relu": 0.2, "elu": 1.0, "celu": 1.0, "thresholded_relu": 1.0, "prelu": 0.0}

# (φ(c·x) = c·φ(x): the closed forms below cover exactly these)
HOMOGENEOUS = HOMOGENEOUS_ACTIVATIONS


def _gelu_tanh_slope(x: float) -> float:
    inner = _GELU_C * (x + 0.044715 * x ** 3)
    t = math.tanh(inner)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def _mish_slope(x: float) -> float:
    sp = _softplus(x)
    t = math.tanh(sp)
    return t + x * (1.0 - t * t) * _sigmoid(x)


def known(activation: str) -> bool:
    """The recurrence can predict through this activation."""
    return activation in HOMOGENEOUS or activation in _FUNCTIONS


def moments(activation: str, q: float, slope: float | None = None) -> Moments:
    """E[φ], E[φ²] and E[φ'²] under N(0, q); KeyError for an activation not in the tables."""
    a = DEFAULT_SLOPE.get(activation, 0.0) if slope is None else slope
    if q <= 0.0 or not math.isfinite(q):
        return _degenerate(activation, q, a)
    if activation == "linear":
        return Moments(0.0, q, 1.0)
    if activation in ("relu", "leaky_relu", "prelu"):
        if activation == "relu":
            a = 0.0
        half = (1.0 + a * a) / 2.0
        return Moments((1.0 - a) * math.sqrt(q / (2.0 * math.pi)), q * half, half)
    if activation not in _FUNCTIONS:
        raise KeyError(activation)
    return _integrated(activation, _round(q), a)


def _degenerate(activation: str, q: float, a: float) -> Moments:
    """z is constant 0 (or the scale is infinite): what the activation makes of that."""
    if not math.isfinite(q):
        return Moments(math.nan, math.inf, math.nan)
    if activation in HOMOGENEOUS:
        slope2 = 1.0 if activation == "linear" else (1.0 + (0.0 if activation == "relu" else a * a)) / 2.0
        return Moments(0.0, 0.0, slope2)
    f, df = _FUNCTIONS[activation]
    value = f(0.0, a)
    # At a kink (0 for the piecewise ones) the two sides' slopes average in second moment.
    slope2 = (df(1e-12, a) ** 2 + df(-1e-12, a) ** 2) / 2.0
    return Moments(value, value * value, slope2)


def _round(q: float) -> float:
    """q to 4 significant digits: the memo's key, far finer than any prediction needs."""
    exponent = math.floor(math.log10(q))
    return round(q / 10 ** exponent, 3) * 10 ** exponent


@lru_cache(maxsize=4096)
def _integrated(activation: str, q: float, a: float) -> Moments:
    f, df = _FUNCTIONS[activation]
    sd = math.sqrt(q)
    mean = second = slope2 = 0.0
    # Each half-line separately, so the kink at 0 falls on an end point of the rule.
    for lo, hi in ((-_SPAN, 0.0), (0.0, _SPAN)):
        h = (hi - lo) / _INTERVALS
        for i in range(_INTERVALS + 1):
            u = lo + i * h
            weight = 1 if i in (0, _INTERVALS) else (4 if i % 2 else 2)
            # Inside a half-line the integrand is smooth; at its ends take the side's own limit.
            x = sd * (u if 0 < i < _INTERVALS else (u + (1e-12 if i == 0 else -1e-12)))
            density = weight * math.exp(-0.5 * u * u)
            value = f(x, a)
            slope = df(x, a)
            mean += density * value
            second += density * value * value  # (overflows to inf, never raises)
            slope2 += density * slope * slope
        # (h/3 and the Gaussian normalization are applied once, below)
    norm = (_SPAN / _INTERVALS) / 3.0 / math.sqrt(2.0 * math.pi)
    return Moments(mean * norm, second * norm, slope2 * norm)


@lru_cache(maxsize=4096)
def _between(activation: str, between: float, within: float, a: float) -> float:
    f, _ = _FUNCTIONS[activation] if activation in _FUNCTIONS else (None, None)
    outer, inner = 40, 80  # Simpson intervals: the unit's mean offset, then its own noise
    sd_a, sd_w = math.sqrt(between), math.sqrt(within)
    total = 0.0
    for i in range(outer + 1):
        u = -6.0 + 12.0 * i / outer
        weight_u = 1 if i in (0, outer) else (4 if i % 2 else 2)
        offset = sd_a * u
        mean = 0.0
        for j in range(inner + 1):
            v = -8.0 + 16.0 * j / inner
            weight_v = 1 if j in (0, inner) else (4 if j % 2 else 2)
            x = offset + sd_w * v
            value = f(x, a) if f is not None else _homogeneous(activation, x, a)
            mean += weight_v * math.exp(-0.5 * v * v) * value
        mean *= (16.0 / inner) / 3.0 / math.sqrt(2.0 * math.pi)
        total += weight_u * math.exp(-0.5 * u * u) * mean * mean
    return total * (12.0 / outer) / 3.0 / math.sqrt(2.0 * math.pi)


def _homogeneous(activation: str, x: float, a: float) -> float:
    if activation == "linear":
        return x
    slope = 0.0 if activation == "relu" else a
    return x if x > 0 else slope * x


def unit_mean_square(activation: str, between: float, within: float, slope: float | None = None) -> float:
    """E_a[μ(a)²] where a unit's input is a + noise, a ~ N(0, between) across units and the
    noise N(0, within) across the batch, and μ(a) the unit's mean output over the batch: the
    part of E[φ²] that batch normalization subtracts. Units whose inputs are offset differently
    (after a layer fed by a sigmoid's mean of 0.5) have different means, and this part grows."""
    s = DEFAULT_SLOPE.get(activation, 0.0) if slope is None else slope
    return _between(activation, _round(between), _round(within), s)
