"""The mean-field recurrence: each layer's predicted forward scale and backward signal.

Forward, per unit: a weighted layer takes the second moment m to q = σ²·m, its activation to
E[φ²] under N(0, q). Backward: the gradient's second moment is multiplied, from a layer's
output to its input, by χ = fan_out·Var(w)·E[φ'²]. A normalization divides by the variance it
sees (plus its ε), batch normalization by the batch variance, which leaves out each unit's
mean: that is what makes deep batch-normalized ReLU stacks grow their gradients by π/(π−1) per
layer at initialization. A residual add sums second moments forward and adds an identity path
backward (1 + χ_branch). Dropout scales both by 1/(1 − rate).

The summary numbers are defined as the probe defines them: the backward ratio is the norm of
∂L/∂output at the first weighted layer over the last hidden one; forward growth is the largest
hidden layer's forward RMS over the first's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from gradlint.signal.expectations import known, moments, unit_mean_square
from gradlint.signal.model import (
    Activation,
    Dropout,
    ModelDescription,
    Normalize,
    Reshape,
    Residual,
    Step,
    Weighted,
)

# The probe's verdict thresholds (runtime/settings.py has the same defaults).
VANISHING_RATIO = 1e-3
EXPLODING_RATIO = 1e3
FORWARD_GROWTH_LIMIT = 1e3


@dataclass(frozen=True)
class LayerPrediction:
    """One weighted layer's predicted numbers. Backward values are norms relative to the last
    hidden layer's; None where the recurrence could not reach."""

    layer: Weighted
    pre_activation: float | None  # q: variance of W·x
    forward_rms: float | None  # √E[y²] of the layer's output
    backward_signal: float | None  # ‖∂L/∂y‖ relative to the last hidden layer's
    factor: float | None  # √(σ²·E[φ'²]): what this layer multiplies the backward signal's norm by


@dataclass(frozen=True)
class Prediction:
    layers: tuple[LayerPrediction, ...]
    backward_ratio: float | None
    forward_growth: float | None
    unknown: tuple[str, ...] = ()

    approximate: tuple[str, ...] = ()  # structures the recurrence predicts only roughly

    @property
    def verdict(self) -> str:
        """"vanishing", "exploding", "healthy" or "unknown", by the probe's thresholds. A model
        with a structure the recurrence predicts only roughly is "unknown" unless its ratio is
        far past the thresholds: not wrong, but not claimed."""
        if self.approximate and self.backward_ratio is not None and 1e-5 <= self.backward_ratio <= 1e5:
            return "unknown"
        return verdict_of(self.backward_ratio, self.forward_growth)


def verdict_of(ratio: float | None, growth: float | None = None) -> str:
    if ratio is None:
        return "exploding" if growth is not None and growth > FORWARD_GROWTH_LIMIT else "unknown"
    if ratio < VANISHING_RATIO:
        return "vanishing"
    if (ratio is not None and ratio > EXPLODING_RATIO) or (growth is not None and growth > FORWARD_GROWTH_LIMIT):
        return "exploding"
    return "healthy"


@dataclass
class _State:
    """Per-unit moments of the tensor at one point: second moment, and the parts of it that
    are common to a unit across the batch (what batch normalization subtracts) and to the
    units of one example (what layer normalization subtracts)."""

    m: float | None = 1.0
    # What batch normalization would subtract, worked out only if one does: a 2-D integral
    # per activation, which a model without batch normalization never pays for.
    batch_common_of: Callable[[], float] = field(default=lambda: 0.0)
    example_common: float = 0.0
    width: int | None = None  # values per example at this point, where known


@dataclass
class _Tap:
    layer: Weighted
    q: float | None
    m: float | None
    log_chi: float | None  # ln χ of this layer (its activation included)
    log_g: float | None = None  # ln of the per-unit backward second moment at its output
    # ln E[φ'²] of activations applied on their own right after the layer (an Activation layer,
    # tf.nn.relu(x)): part of the layer's χ as the domain note defines it, though the probe's
    # tap, the layer's output, comes before them.
    log_after: float | None = 0.0
    # ln of what the layer multiplies the backward signal's *norm* by, from its output to its
    # input: σ²·E[φ'²] (n_in/n_out · χ, with the fan-in's σ² = fan_in·Var(w)).
    log_norm: float | None = None


@dataclass
class _Pass:
    """The forward pass's record: per step the ln of its backward factor, and the taps."""

    taps: list[_Tap] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    approximate: list[str] = field(default_factory=list)

    def caveat(self, note: str) -> None:
        if note not in self.approximate:
            self.approximate.append(note)


def predict(model: ModelDescription) -> Prediction:
    record = _Pass(unknown=list(model.unknown))
    state = _State()
    plan = _forward(model.steps, state, record)
    # What lies after the last hidden layer (the output head, its softmax) scales every
    # gradient alike: the ratios do not depend on it, so the walk may start there.
    _backward(plan, 0.0, _last_hidden(record.taps))
    return _summarise(record)


def _last_hidden(taps: list[_Tap]) -> _Tap | None:
    hidden = [t for t in taps if not t.layer.head] or taps[:-1]
    return hidden[-1] if hidden else None


# A step's backward plan: ("factor", ln factor or None[, "norm"]) | ("weighted", _Tap, ln χ or None)
# | ("residual", branch plan, ln(χ_skip + χ_branch) or None, skip plan)
_Plan = list[tuple]


def _forward(steps: tuple[Step, ...], state: _State, record: _Pass) -> _Plan:
    plan: _Plan = []
    for step in steps:
        if isinstance(step, Weighted):
            plan.extend(_weighted(step, state, record))
        elif isinstance(step, Activation):
            factor = _activate(step.activation, step.slope, state, record)
            plan.append(("factor", factor))
            tap = _open_tap(plan[:-1])
            if tap is not None:
                tap.log_after = None if factor is None or tap.log_after is None else tap.log_after + factor
        elif isinstance(step, Normalize):
            plan.append(("factor", _normalize(step, state, record), "norm"))
        elif isinstance(step, Dropout):
            if state.width is not None and state.width < 64 and step.rate > 0:
                record.caveat(f"dropout on {state.width} units: the recurrence's 1/(1 − rate) holds for wide layers")
            keep = 1.0 - step.rate
            if state.m is not None:
                state.m /= keep
            plan.append(("factor", -math.log(keep)))
        elif isinstance(step, Residual):
            plan.append(_residual(step, state, record))
        elif isinstance(step, Reshape):
            continue
    return plan


def _open_tap(plan: _Plan) -> _Tap | None:
    """The weighted layer an activation applies to: the last one, with only dropout or other
    activations after it (a normalization or a merge in between makes it none)."""
    for item in reversed(plan):
        if item[0] == "weighted":
            return item[1]
        if item[0] != "factor" or item[-1] == "norm":
            return None
    return None


def _weighted(step: Weighted, state: _State, record: _Pass) -> _Plan:
    q = None if state.m is None or step.gain is None else step.gain * state.m
    state.m = q
    state.width = step.elements
    before, gain = state.batch_common_of, step.gain or 0.0
    state.batch_common_of = _once(lambda: gain * before())
    state.example_common = 0.0  # a zero-mean kernel's outputs average to ~0 across units
    log_slope = _activate(step.activation, step.slope, state, record)
    log_back = _log(step.back_gain)
    log_chi = None if log_slope is None or log_back is None else log_back + log_slope
    log_gain = _log(step.gain)
    log_norm = None if log_slope is None or log_gain is None else log_gain + log_slope
    tap = _Tap(step, q, state.m, log_chi, log_norm=log_norm)
    record.taps.append(tap)
    return [("weighted", tap, log_chi)]


def _activate(activation: str | None, slope: float | None, state: _State, record: _Pass) -> float | None:
    """Apply φ to the state; ln E[φ'²] (None: not predictable)."""
    if activation is None or not known(activation):
        note = f"activation '{activation}' has no Gaussian expectations in the tables"
        if activation is not None and activation != "softmax" and note not in record.unknown:
            record.unknown.append(note)  # (softmax is an output's: it never reaches the ratio)
        state.m = None
        return None
    if activation == "linear":
        return 0.0
    if state.m is None:
        return None
    found = moments(activation, state.m, slope)
    before, q = state.batch_common_of, state.m

    def batch_common() -> float:
        between = before()
        within = q - between
        if between > 1e-3 * q and within > 0 and activation != "exponential":
            # Units whose inputs have different batch means have different output means.
            return min(unit_mean_square(activation, between, within, slope), found.second)
        return found.mean * found.mean

    state.m = found.second
    state.batch_common_of = _once(batch_common)
    state.example_common = found.mean * found.mean
    return _log(found.slope2)


def _normalize(step: Normalize, state: _State, record: _Pass) -> float | None:
    if step.kind == "layer" and state.width is not None and state.width <= 16:
        record.caveat(f"layer normalization over {state.width} values: the recurrence assumes many")
    if state.m is None:
        state.m, state.batch_common_of, state.example_common = 1.0, _ZERO, 0.0
        return None
    if step.kind == "batch":
        variance = max(state.m - state.batch_common_of(), 0.0)
    elif step.kind == "layer":
        variance = max(state.m - state.example_common, 0.0)
    else:  # RMS and unit normalization divide by the root mean square, mean included
        variance = state.m
    scale = variance + step.epsilon
    state.m = variance / scale if step.kind != "rms" else state.m / scale
    state.batch_common_of, state.example_common = _ZERO, 0.0
    return -math.log(scale)


def _ZERO() -> float:
    return 0.0


def _once(compute: Callable[[], float]) -> Callable[[], float]:
    """`compute`, evaluated at most once."""
    cache: list[float] = []

    def value() -> float:
        if not cache:
            cache.append(compute())
        return cache[0]
    return value


def _residual(step: Residual, state: _State, record: _Pass) -> tuple:
    """y = skip(x) + branch(x): second moments add forward; backward, the two paths' factors
    add (1 + χ_branch for an identity skip)."""
    shortcut = _State(state.m, state.batch_common_of, state.example_common)
    skip = _forward(step.skip, shortcut, record)
    branch = _forward(step.branch, state, record)
    if state.m is None or shortcut.m is None:
        state.m = None
    else:
        state.m += shortcut.m
        branch_common, skip_common = state.batch_common_of, shortcut.batch_common_of
        state.batch_common_of = _once(lambda: branch_common() + skip_common())
        state.example_common += shortcut.example_common
    log_branch, log_skip = _product(branch), _product(skip)
    through = None if log_branch is None or log_skip is None else _log_add(log_skip, log_branch)
    return ("residual", branch, through, skip)


def _log_add(a: float, b: float) -> float:
    """ln(e^a + e^b) without overflow."""
    if a == -math.inf:
        return b
    high, low = max(a, b), min(a, b)
    return high + math.log1p(math.exp(low - high))


def _product(plan: _Plan) -> float | None:
    """ln of the backward factor of a whole plan (None if any part is unknown)."""
    total = 0.0
    for item in plan:
        value = item[2] if item[0] in ("weighted", "residual") else item[1]
        if value is None:
            return None
        total += value
    return total


def _backward(plan: _Plan, log_g: float | None, anchor: _Tap | None) -> float | None:
    """Walk the plan from its end with ln g at its output, recording g at every tap; at the
    anchor an unknown g restarts at 1."""
    for item in reversed(plan):
        if item[0] == "weighted":
            tap, log_chi = item[1], item[2]
            if tap is anchor and (log_g is None or not math.isfinite(log_g)):
                log_g = 0.0  # (a zero or unknown head: what follows the anchor is not known)
            tap.log_g = log_g
            log_g = None if log_g is None or log_chi is None else log_g + log_chi
        elif item[0] == "residual":
            if (log_g is None or not math.isfinite(log_g)) and anchor is not None:
                # What follows the block is not known (an opaque head), but the last hidden layer
                # is inside it: set the block's output gradient so that the anchor reads 1, and
                # both paths carry it back.
                for path in (item[1], item[3]):
                    if _contains(path, anchor):
                        _backward(path, 0.0, None)
                        if anchor.log_g is not None and math.isfinite(anchor.log_g):
                            log_g = -anchor.log_g
            _backward(item[3], log_g, anchor)
            _backward(item[1], log_g, anchor)
            log_g = None if log_g is None or item[2] is None else log_g + item[2]
        else:
            log_g = None if log_g is None or item[1] is None else log_g + item[1]
    return log_g


def _contains(plan: _Plan, tap: _Tap) -> bool:
    for item in plan:
        if item[0] == "weighted" and item[1] is tap:
            return True
        if item[0] == "residual" and (_contains(item[1], tap) or _contains(item[3], tap)):
            return True
    return False


def _summarise(record: _Pass) -> Prediction:
    taps = record.taps
    hidden = [t for t in taps if not t.layer.head] or taps[:-1]
    last = hidden[-1] if hidden else None
    layers = []
    for tap in taps:
        relative = None
        if last is not None and tap.log_g is not None and last.log_g is not None and math.isfinite(tap.log_g - last.log_g):
            relative = math.exp(0.5 * (tap.log_g - last.log_g)) * _width_ratio(tap.layer, last.layer)
        layers.append(LayerPrediction(
            tap.layer, tap.q, math.sqrt(tap.m) if tap.m is not None else None, relative,
            math.exp(0.5 * (tap.log_norm + tap.log_after))
            if tap.log_norm is not None and tap.log_after is not None else None,
        ))
    ratio = growth = None
    if len(hidden) >= 2:
        first = layers[taps.index(hidden[0])]
        ratio = first.backward_signal
        rms = [layers[taps.index(t)].forward_rms for t in hidden]
        if all(r is not None for r in rms) and rms[0]:
            growth = max(rms[1:]) / rms[0]  # type: ignore[type-var, operator]
    approximate = tuple(record.approximate)
    return Prediction(tuple(layers), ratio, growth, tuple(record.unknown) + tuple(f"approximate: {a}" for a in approximate),
                      approximate)


def _width_ratio(layer: Weighted, last: Weighted) -> float:
    """Norms sum over an example's values: √(elements / last's elements) where both are known."""
    if layer.elements and last.elements:
        return math.sqrt(layer.elements / last.elements)
    return 1.0


def _log(value: float | None) -> float | None:
    if value is None:
        return None
    return math.log(value) if value > 0 else -math.inf
