"""PyTorch's activations as data: modules, functions and tensor methods, each mapped to the
activation key of `keras_api.activations` (whose family table and signal moments they share),
with the slope parameter and its torch default where one applies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TorchActivation:
    """An activation: its key, and where its slope comes from (a parameter name, the position
    of that parameter after the input for functions, and torch's default)."""

    key: str
    slope_param: str | None = None
    slope_position: int | None = None
    default_slope: float | None = None


_LEAKY = TorchActivation("leaky_relu", "negative_slope", 0, 0.01)
_ELU = TorchActivation("elu", "alpha", 0, 1.0)
_CELU = TorchActivation("celu", "alpha", 0, 1.0)

# torch.nn activation modules (their first positional parameter is the slope where there is one).
MODULES: dict[str, TorchActivation] = {
    "ReLU": TorchActivation("relu"), "ReLU6": TorchActivation("relu6"), "LeakyReLU": _LEAKY,
    "PReLU": TorchActivation("prelu"), "RReLU": TorchActivation("leaky_relu"), "ELU": _ELU, "CELU": _CELU,
    "SELU": TorchActivation("selu"), "GELU": TorchActivation("gelu"), "SiLU": TorchActivation("silu"),
    "Mish": TorchActivation("mish"), "Softplus": TorchActivation("softplus"), "Hardswish": TorchActivation("hard_silu"),
    "Tanh": TorchActivation("tanh"), "Sigmoid": TorchActivation("sigmoid"), "Hardsigmoid": TorchActivation("hard_sigmoid"),
    "Hardtanh": TorchActivation("hard_tanh"), "Softsign": TorchActivation("softsign"),
    "LogSigmoid": TorchActivation("log_sigmoid"), "Softmax": TorchActivation("softmax"),
    "LogSoftmax": TorchActivation("log_softmax"), "Tanhshrink": TorchActivation("tanh_shrink"),
}

# torch.nn.functional.* and torch.* functions applied to a tensor (first argument).
FUNCTIONS: dict[str, TorchActivation] = {
    "relu": TorchActivation("relu"), "relu_": TorchActivation("relu"), "relu6": TorchActivation("relu6"),
    "leaky_relu": _LEAKY, "leaky_relu_": _LEAKY, "elu": _ELU, "elu_": _ELU, "celu": _CELU,
    "selu": TorchActivation("selu"), "gelu": TorchActivation("gelu"), "silu": TorchActivation("silu"),
    "mish": TorchActivation("mish"), "softplus": TorchActivation("softplus"),
    "hardswish": TorchActivation("hard_silu"), "tanh": TorchActivation("tanh"),
    "sigmoid": TorchActivation("sigmoid"), "hardsigmoid": TorchActivation("hard_sigmoid"),
    "hardtanh": TorchActivation("hard_tanh"), "softsign": TorchActivation("softsign"),
    "logsigmoid": TorchActivation("log_sigmoid"), "softmax": TorchActivation("softmax"),
    "log_softmax": TorchActivation("log_softmax"), "tanhshrink": TorchActivation("tanh_shrink"),
    "exp": TorchActivation("exponential"),
}
# The namespaces those functions are called from.
FUNCTION_MODULES = ("torch.nn.functional.", "torch.", "torch.special.")
# Tensor methods: `x.relu()`, `x.tanh_()`.
METHODS: dict[str, TorchActivation] = {
    **{m: FUNCTIONS[m] for m in ("relu", "relu_", "tanh", "sigmoid", "softmax", "log_softmax")},
    "tanh_": FUNCTIONS["tanh"], "sigmoid_": FUNCTIONS["sigmoid"], "exp": FUNCTIONS["exp"], "exp_": FUNCTIONS["exp"],
}


def activation_module(canonical_name: str) -> TorchActivation | None:
    """`torch.nn.ReLU` → its entry."""
    if not canonical_name.startswith("torch.nn.") or canonical_name.count(".") != 2:
        return None
    return MODULES.get(canonical_name.rsplit(".", 1)[1])


def activation_function(canonical_name: str) -> TorchActivation | None:
    """`torch.nn.functional.relu`, `torch.tanh` → its entry."""
    for module in FUNCTION_MODULES:
        if canonical_name.startswith(module):
            member = canonical_name[len(module):]
            return None if "." in member else FUNCTIONS.get(member)
    return None
