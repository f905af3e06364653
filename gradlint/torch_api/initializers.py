"""torch.nn.init as data: each initializer's parameters (in positional order after the tensor)
and torch's defaults, `calculate_gain`, and PyTorch's default initialization of Linear and
convolution weights.

Every variance here is Var(w) as a function of the fans torch computes for the weight
(`_calculate_fan_in_and_fan_out`): fan_in = in/groups × kernel area, fan_out = out × kernel area.
"""

from __future__ import annotations

import math

INIT_MODULE = "torch.nn.init."

# Parameters after the tensor, in order, with torch's defaults.
INIT_PARAMS: dict[str, tuple[tuple[str, object], ...]] = {
    "kaiming_normal_": (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu")),
    "kaiming_uniform_": (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu")),
    "xavier_normal_": (("gain", 1.0),),
    "xavier_uniform_": (("gain", 1.0),),
    "orthogonal_": (("gain", 1.0),),
    "normal_": (("mean", 0.0), ("std", 1.0)),
    "uniform_": (("a", 0.0), ("b", 1.0)),
    "trunc_normal_": (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)),
    "constant_": (("val", None),),
    "zeros_": (),
    "ones_": (),
    "eye_": (),
    "dirac_": (("groups", 1),),
}
# Deprecated spellings without the trailing underscore.
for _name in list(INIT_PARAMS):
    INIT_PARAMS.setdefault(_name.rstrip("_"), INIT_PARAMS[_name])

# In-place tensor methods that initialize (`with torch.no_grad(): w.normal_(0, 0.01)`), as the
# nn.init function they equal (Tensor.uniform_ names its bounds `from` and `to`).
TENSOR_METHODS: dict[str, tuple[str, tuple[tuple[str, object], ...]]] = {
    "normal_": ("normal_", (("mean", 0.0), ("std", 1.0))),
    "uniform_": ("uniform_", (("from", 0.0), ("to", 1.0))),
    "zero_": ("zeros_", ()),
    "fill_": ("constant_", (("value", None),)),
}

# The functions whose weight is drawn from a normal distribution, for the fix's choice.
NORMAL = frozenset({"kaiming_normal_", "xavier_normal_", "normal_", "trunc_normal_"})

# PyTorch's default for Linear and Conv*: kaiming_uniform_(a=√5) = U(±1/√fan_in),
# Var(w) = 1/(3·fan_in): a gain of 1/3.
DEFAULT_SCALE = 1.0 / 3.0
DEFAULT_DISPLAY = "PyTorch's default init, kaiming_uniform_(a=√5) (Var(w) = 1/(3·fan_in))"

CALCULATE_GAIN = "torch.nn.init.calculate_gain"


def calculate_gain(nonlinearity: object, param: object = None) -> float | None:
    """torch.nn.init.calculate_gain, or None for a name it does not know."""
    if not isinstance(nonlinearity, str):
        return None
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            return None
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    return None


def kaiming_scale(a: object, nonlinearity: object) -> float | None:
    """The variance scale (Var(w)·fan) of kaiming_*_: gain², where the gain takes `a` as the
    slope for leaky_relu (torch passes it to calculate_gain whatever the nonlinearity)."""
    gain = calculate_gain(nonlinearity, a if nonlinearity == "leaky_relu" else None)
    return None if gain is None else gain * gain


def truncated_normal_moments(mean: float, std: float, low: float, high: float) -> tuple[float, float] | None:
    """Mean and variance of N(mean, std²) truncated to [low, high] (absolute bounds, as in
    torch.nn.init.trunc_normal_)."""
    if std <= 0 or not low < high:
        return None
    alpha, beta = (low - mean) / std, (high - mean) / std

    def pdf(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def cdf(x: float) -> float:
        return (1 + math.erf(x / math.sqrt(2))) / 2

    z = cdf(beta) - cdf(alpha)
    if z <= 0:
        return None
    shift = (pdf(alpha) - pdf(beta)) / z
    variance = std * std * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - shift * shift)
    return mean + std * shift, variance
