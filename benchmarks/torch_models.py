"""Random PyTorch models for `signal_calibration.py`, written as the source of `build_model()`.

Three shapes PyTorch code takes: an `nn.Sequential` (initialized, if at all, by a loop over
`model.modules()` or by `model.apply(init_fn)`), an `nn.Module` subclass with its layers
assigned in `__init__` (each initialized by its own `nn.init.*_(self.fcN.weight, …)` line, the
activations as modules or as functions in `forward()`, residual adds as `x = x + y`), and one
with a stem, an `nn.ModuleList` of identical layers or residual blocks looped over in
`forward()`, and a head. Linear, Conv1d and Conv2d stacks; PyTorch's default init,
kaiming_normal_/kaiming_uniform_ (mode, a, nonlinearity), xavier_uniform_/xavier_normal_ with a
gain (also `nn.init.calculate_gain`), normal_/trunc_normal_ with a std, orthogonal_; BatchNorm,
LayerNorm (GroupNorm in convolutions), dropout. Every choice comes from one seeded
random.Random, so a seed names the same models on every machine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

# name: (module expression, functional expressions with {x}); None: no activation
ACTIVATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "relu": ("nn.ReLU()", ("F.relu({x})", "torch.relu({x})", "{x}.relu()")),
    "leaky_relu": ("nn.LeakyReLU({slope})", ("F.leaky_relu({x}, {slope})",)),
    "gelu": ("nn.GELU()", ("F.gelu({x})",)),
    "silu": ("nn.SiLU()", ("F.silu({x})",)),
    "tanh": ("nn.Tanh()", ("torch.tanh({x})", "{x}.tanh()")),
    "sigmoid": ("nn.Sigmoid()", ("torch.sigmoid({x})",)),
    "selu": ("nn.SELU()", ("F.selu({x})",)),
    "elu": ("nn.ELU({alpha})", ("F.elu({x}, {alpha})",)),
    "softplus": ("nn.Softplus()", ("F.softplus({x})",)),
    "mish": ("nn.Mish()", ("F.mish({x})",)),
    "identity": ("", ()),
}
_WEIGHTS = {"relu": 3.0, "gelu": 1.5, "tanh": 1.5, "identity": 0.5, "sigmoid": 0.7, "softplus": 0.5}
INITS = ("default", "kaiming_normal", "kaiming_uniform", "xavier_uniform", "xavier_normal", "normal",
         "trunc_normal", "orthogonal")
_INIT_WEIGHTS = (3.0, 2.0, 1.0, 1.5, 0.7, 1.5, 0.5, 0.5)
HEADER = "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n\n"


@dataclass
class Layer:
    """One weighted layer (`weighted`, its init call with `{w}` for the weight) and the modules
    that follow it (normalization, activation module, dropout), or its activation as a function."""

    weighted: str
    kernel: str  # Linear | Conv1d | Conv2d
    init: str | None
    after: list[str] = field(default_factory=list)
    functional: str | None = None  # "F.relu({x})": applied in forward() after `after`'s norm


@dataclass
class Block:
    layers: list[Layer]
    residual: bool = False


@dataclass
class TorchSpec:
    name: str
    kind: str  # sequential | module | modulelist
    family: str  # dense | conv1d | conv2d
    input_shape: tuple[int, ...]  # without the batch: (features,) or (channels, *spatial)
    blocks: list[Block]
    head: list[str]
    init_style: str  # per-layer | modules-loop | apply | none
    labels: set[str]
    widths: list[int]
    repeat: int = 1  # modulelist: how many times the body block is repeated
    top_level: bool = False  # sequential: built at module level, build_model() returns it

    @property
    def depth(self) -> int:
        body = sum(len(b.layers) for b in self.blocks)
        if self.kind == "modulelist":
            return 1 + (body - 1) * self.repeat
        return body


class TorchGenerator:
    """Draws TorchSpecs from one seeded random.Random."""

    def __init__(self, seed: int, max_depth: int) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.max_depth = max_depth

    def log_uniform(self, low: float, high: float) -> float:
        return math.exp(self.rng.uniform(math.log(low), math.log(high)))

    def width(self, family: str) -> int:
        low, high = {"dense": (16, 512), "conv1d": (8, 64), "conv2d": (8, 32)}[family]
        return round(self.log_uniform(low, high))

    def activation(self) -> str:
        names = list(ACTIVATIONS)
        return self.rng.choices(names, [_WEIGHTS.get(n, 1.0) for n in names])[0]

    def model(self, index: int) -> TorchSpec:
        r = self.rng
        kind = r.choices(("sequential", "module", "modulelist"), (0.3, 0.4, 0.3))[0]
        family = r.choices(("dense", "conv1d", "conv2d"), (0.6, 0.2, 0.2))[0]
        cap = self.max_depth if family == "dense" else max(2, self.max_depth // 3)
        depth = r.randint(2, cap)
        style = {
            "activation": self.activation(),
            "mixed": r.random() < 0.25,
            "init": r.choices(INITS, _INIT_WEIGHTS)[0],
            "norm": r.choices((None, "bn", "ln"), (0.55, 0.25, 0.2))[0],
            "dropout": r.random() < 0.25,
            "functional": kind != "sequential" and r.random() < 0.5,
            "bias": r.random() < 0.7,
            "residual": r.random() < 0.5,
        }
        init_style = {"sequential": r.choice(("modules-loop", "apply")),
                      "module": "per-layer",
                      "modulelist": r.choice(("modules-loop", "apply"))}[kind]
        if style["init"] == "default":
            init_style = "none"
        channels = {"dense": self.width("dense"), "conv1d": r.choice((1, 4, 8, 16)),
                    "conv2d": r.choice((1, 3, 8))}[family]
        input_shape = {"dense": (channels,), "conv1d": (channels, 32), "conv2d": (channels, 16, 16)}[family]
        labels = {family, kind}
        blocks: list[Block] = []
        repeat = 1
        if kind == "modulelist":
            width = self.width(family)
            blocks.append(Block([self.layer(family, style, channels, width)]))
            residual = style["residual"]
            size = r.choice((1, 2)) if residual else 1
            inner = self.width(family) if size == 2 else width
            widths = [inner, width][-size:]
            fans = [width, inner][:size]
            body = [self.layer(family, style, fan, w, last=residual and i == size - 1)
                    for i, (fan, w) in enumerate(zip(fans, widths))]
            blocks.append(Block(body, residual=residual))
            repeat = max(1, (depth - 1) // size)
            trunk = width
        else:
            trunk = channels
            left = depth
            while left > 0:
                residual_ok = kind == "module" and style["residual"] and trunk >= 8 and r.random() < 0.5
                if residual_ok:
                    size = min(left, r.choice((1, 2, 2)))
                    inner = self.width(family) if size == 2 else trunk
                    widths = [inner, trunk][-size:]
                    fans = [trunk, inner][:size]
                    blocks.append(Block([self.layer(family, style, fan, w, last=i == size - 1)
                                         for i, (fan, w) in enumerate(zip(fans, widths))], residual=True))
                    left -= size
                    continue
                width = trunk if trunk >= 8 and r.random() < 0.4 else self.width(family)
                blocks.append(Block([self.layer(family, style, trunk, width)]))
                trunk = width
                left -= 1
        spec = TorchSpec(f"t{index:03d}", kind, family, input_shape, blocks, self.head(family, trunk),
                         init_style, labels, [], repeat)
        spec.widths = [_arguments(layer.weighted)[1] for b in blocks for layer in b.layers]
        if kind == "sequential":
            spec.top_level = r.random() < 0.5
            labels.add("sequential at module level" if spec.top_level else "sequential in a function")
        if any(b.residual for b in blocks):
            labels.add("residual")
        ops = [op for b in blocks for layer in b.layers for op in layer.after]
        if any("BatchNorm" in op for op in ops):
            labels.add("BN")
        if any("LayerNorm" in op or "GroupNorm" in op for op in ops):
            labels.add("LN")
        if any("Dropout" in op for op in ops):
            labels.add("dropout")
        labels.add(f"init {style['init']}")
        labels.add("biases" if style["bias"] else "no biases")
        last = blocks[-1].layers[-1]
        if any(op.startswith(("nn.BatchNorm", "nn.LayerNorm", "nn.GroupNorm")) for op in last.after):
            labels.add("last hidden row a norm" if spec.widths[0] == spec.widths[-1] else
                       "last hidden row a norm, widths differ")
        if style["functional"]:
            labels.add("functional activations")
        return spec

    def head(self, family: str, width: int) -> list[str]:
        outputs = self.rng.choice((1, 2, 10))
        if family == "dense":
            return [f"nn.Linear({width}, {outputs})"]
        pool = "nn.AdaptiveAvgPool1d(1)" if family == "conv1d" else "nn.AdaptiveAvgPool2d(1)"
        return [pool, "nn.Flatten()", f"nn.Linear({width}, {outputs})"]

    def layer(self, family: str, style: dict, fan_in: int, width: int, *, last: bool = False) -> Layer:
        r = self.rng
        activation = self.activation() if style["mixed"] and r.random() < 0.4 else style["activation"]
        if last and r.random() < 0.5:
            activation = "identity"  # a residual branch often ends linear
        bias = "" if style["bias"] else ", bias=False"
        if family == "dense":
            kernel, weighted, area = "Linear", f"nn.Linear({fan_in}, {width}{bias})", 1
        else:
            k = r.choice((1, 3, 3, 5)) if family == "conv1d" else r.choice((1, 3, 3))
            kernel = "Conv1d" if family == "conv1d" else "Conv2d"
            weighted = f"nn.{kernel}({fan_in}, {width}, {k}, padding={k // 2}{bias})"
            area = k if family == "conv1d" else k * k
        init = self.init(style["init"], activation, fan_in * area)
        after: list[str] = []
        norm = style["norm"] if style["norm"] and r.random() < 0.7 else None
        norm_op = None
        if norm == "bn":
            norm_op = f"nn.BatchNorm{'2d' if family == 'conv2d' else '1d'}({width})"
        elif norm == "ln":
            norm_op = f"nn.LayerNorm({width})" if family == "dense" else f"nn.GroupNorm(1, {width})"
        slope, alpha = f"{r.uniform(0.01, 0.3):.2f}", f"{r.uniform(0.5, 1.5):.2f}"
        module_form, functional_forms = ACTIVATIONS[activation]
        functional = None
        if norm_op:
            after.append(norm_op)
        if activation != "identity":
            if style["functional"]:
                functional = r.choice(functional_forms).replace("{slope}", slope).replace("{alpha}", alpha)
            else:
                after.append(module_form.format(slope=slope, alpha=alpha))
        if style["dropout"] and r.random() < 0.5:
            after.append(f"nn.Dropout({r.uniform(0.05, 0.4):.2f})")
        return Layer(weighted, kernel, init, after, functional)

    def init(self, family: str, activation: str, fan: int) -> str | None:
        """An nn.init call with `{w}` for the weight; scales around the critical one for `fan`
        most of the time, anywhere in a wide range otherwise."""
        r = self.rng
        gain = self.log_uniform(0.3, 5.0) if r.random() < 0.75 else self.log_uniform(0.03, 30.0)
        if family == "default":
            return None
        if family in ("kaiming_normal", "kaiming_uniform"):
            mode = ', mode="fan_out"' if r.random() < 0.3 else ""
            choice = r.random()
            if choice < 0.5:
                tail = ', nonlinearity="relu"'
            elif choice < 0.75:
                tail = f', a={r.uniform(0.01, 1.0):.2f}, nonlinearity="leaky_relu"'
            else:
                tail = ""  # leaky_relu with a=0: He's gain
            return f"nn.init.{family}_({{w}}{mode}{tail})"
        if family in ("xavier_uniform", "xavier_normal"):
            if r.random() < 0.3:
                named = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "selu": "selu"}.get(activation, "relu")
                return f'nn.init.{family}_({{w}}, gain=nn.init.calculate_gain("{named}"))'
            return f"nn.init.{family}_({{w}}, gain={math.sqrt(gain):.3g})"
        if family in ("normal", "trunc_normal"):
            std = math.sqrt(gain / fan)
            extra = f", a={-3 * std:.4g}, b={3 * std:.4g}" if family == "trunc_normal" else ""
            return f"nn.init.{family}_({{w}}, std={std:.4g}{extra})"
        return f"nn.init.orthogonal_({{w}}, gain={self.log_uniform(0.5, 2.0):.3g})"


def cost(spec: TorchSpec) -> float:
    """Multiply-adds of one example."""
    positions = math.prod(spec.input_shape[1:]) if spec.family != "dense" else 1
    total = 0.0
    for i, block in enumerate(spec.blocks):
        times = spec.repeat if spec.kind == "modulelist" and i == 1 else 1
        for layer in block.layers:
            args = _arguments(layer.weighted)
            fan, width = args[0], args[1]
            area = args[2] ** (2 if layer.kernel == "Conv2d" else 1) if layer.kernel != "Linear" else 1
            total += times * positions * area * fan * width
    return total


def _arguments(weighted: str) -> list[int]:
    """The positional integer arguments of a layer expression: fan-in, width (, kernel)."""
    inside = weighted.split("(", 1)[1].rstrip(")")
    return [int(a) for a in inside.split(", ") if a.strip().isdigit()]


# --- writing the source -----------------------------------------------------------------------


def source(spec: TorchSpec) -> str:
    if spec.kind == "sequential":
        return HEADER + _sequential(spec)
    if spec.kind == "module":
        return HEADER + _module(spec)
    return HEADER + _modulelist(spec)


def _init_function(spec: TorchSpec, indent: str) -> list[str]:
    kernels = sorted({layer.kernel for b in spec.blocks for layer in b.layers})
    init = next(layer.init for b in spec.blocks for layer in b.layers if layer.init)
    check = ", ".join(f"nn.{k}" for k in kernels)
    check = f"({check})" if len(kernels) > 1 else check
    return [f"{indent}if isinstance(m, {check}):", f"{indent}    {init.format(w='m.weight')}"]


def _uniform_init(spec: TorchSpec, model: str, indent: str) -> list[str]:
    """The whole model's init, as a loop over modules() or through apply()."""
    if spec.init_style == "modules-loop":
        return [f"{indent}for m in {model}.modules():", *_init_function(spec, indent + "    ")]
    if spec.init_style == "apply":
        return [f"{indent}{model}.apply(_init_weights)"]
    return []


def _init_def(spec: TorchSpec) -> list[str]:
    if spec.init_style != "apply":
        return []
    return ["def _init_weights(m):", *_init_function(spec, "    "), "", ""]


def _sequential(spec: TorchSpec) -> str:
    ops: list[str] = []
    for block in spec.blocks:
        for layer in block.layers:
            ops += [layer.weighted, *layer.after]
    ops += spec.head
    if spec.top_level:
        lines = _init_def(spec) + ["model = nn.Sequential("]
        lines += [f"    {op}," for op in ops]
        lines.append(")")
        lines += _uniform_init(spec, "model", "")
        lines += ["", "", "def build_model():", "    return model"]
        return "\n".join(lines) + "\n"
    lines = _init_def(spec) + ["def build_model():", "    model = nn.Sequential("]
    lines += [f"        {op}," for op in ops]
    lines.append("    )")
    lines += _uniform_init(spec, "model", "    ")
    lines.append("    return model")
    return "\n".join(lines) + "\n"


def _layer_calls(layer: Layer, attribute, source_var: str, target: str) -> list[str]:
    """forward() lines for one layer; `attribute(op)` assigns op in __init__ and names it."""
    calls = [f"{target} = {attribute(layer.weighted, layer.init)}({source_var})"]
    for op in layer.after:
        if op.startswith(("nn.Dropout", "nn.BatchNorm", "nn.LayerNorm", "nn.GroupNorm")) or layer.functional is None:
            calls.append(f"{target} = {attribute(op, None)}({target})")
    if layer.functional:
        # the functional activation goes after the norm, before the dropout: move dropout last
        drops = [c for c in calls if "drop" in c]
        calls = [c for c in calls if "drop" not in c]
        calls.append(f"{target} = {layer.functional.format(x=target)}")
        calls += drops
    return calls


def _module(spec: TorchSpec) -> str:
    init: list[str] = []
    names: dict[str, int] = {}

    def attribute(op: str, init_call: str | None) -> str:
        prefix = _prefix(op)
        names[prefix] = names.get(prefix, 0) + 1
        name = f"self.{prefix}{names[prefix]}"
        init.append(f"        {name} = {op}")
        if init_call:
            init.append(f"        {init_call.format(w=name + '.weight')}")
        return name

    forward: list[str] = []
    for block in spec.blocks:
        target = "y" if block.residual else "x"
        for i, layer in enumerate(block.layers):
            source_var = "x" if block.residual and i == 0 else target
            forward += [f"        {line}" for line in _layer_calls(layer, attribute, source_var, target)]
        if block.residual:
            forward.append("        x = x + y")
    for op in spec.head:
        forward.append(f"        x = {attribute(op, None)}(x)")
    lines = ["class Net(nn.Module):", "    def __init__(self):", "        super().__init__()", *init, "",
             "    def forward(self, x):", *forward, "        return x", "", "",
             "def build_model():", "    return Net()"]
    return "\n".join(lines) + "\n"


def _prefix(op: str) -> str:
    name = op.split("(")[0].removeprefix("nn.")
    return {"Linear": "fc", "Conv1d": "conv", "Conv2d": "conv", "Dropout": "drop", "Flatten": "flatten"}.get(
        name, "bn" if name.startswith("BatchNorm") else "norm" if name.endswith("Norm") else
        "pool" if "Pool" in name else "act")


def _modulelist(spec: TorchSpec) -> str:
    stem, body = spec.blocks
    lines = _init_def(spec)
    block_class = body.residual or len(body.layers) > 1
    if block_class:
        init: list[str] = []
        names: dict[str, int] = {}

        def attribute(op: str, _init: str | None) -> str:
            prefix = _prefix(op)
            names[prefix] = names.get(prefix, 0) + 1
            init.append(f"        self.{prefix}{names[prefix]} = {op}")
            return f"self.{prefix}{names[prefix]}"

        forward: list[str] = []
        target = "y" if body.residual else "x"
        for i, layer in enumerate(body.layers):
            source_var = "x" if i == 0 else target
            forward += [f"        {line}" for line in _layer_calls(layer, attribute, source_var, target)]
        forward.append("        return x + y" if body.residual else "        return x")
        lines += ["class Block(nn.Module):", "    def __init__(self):", "        super().__init__()", *init, "",
                  "    def forward(self, x):", *forward, "", ""]
    stem_ops = [stem.layers[0].weighted, *stem.layers[0].after]
    outer_init = [f"        self.stem = nn.Sequential({', '.join(stem_ops)})"]
    if block_class:
        outer_init.append(f"        self.blocks = nn.ModuleList([Block() for _ in range({spec.repeat})])")
        loop = ["        for block in self.blocks:", "            x = block(x)"]
    else:
        layer = body.layers[0]
        ops = [layer.weighted, *[op for op in layer.after if layer.functional is None or "Dropout" not in op]]
        if len(ops) == 1:
            outer_init.append(f"        self.blocks = nn.ModuleList([{ops[0]} for _ in range({spec.repeat})])")
        else:
            outer_init.append(f"        self.blocks = nn.ModuleList([nn.Sequential({', '.join(ops)}) "
                              f"for _ in range({spec.repeat})])")
        drops = [op for op in layer.after if "Dropout" in op] if layer.functional else []
        if drops:
            outer_init.append(f"        self.drop = {drops[0]}")
        loop = ["        for block in self.blocks:",
                f"            x = {layer.functional.format(x='block(x)')}" if layer.functional else
                "            x = block(x)"]
        if drops:
            loop.append("            x = self.drop(x)")
    outer_init.append(f"        self.head = nn.Sequential({', '.join(spec.head)})")
    if spec.init_style == "modules-loop":
        outer_init += _uniform_init(spec, "self", "        ")
    elif spec.init_style == "apply":
        outer_init.append("        self.apply(_init_weights)")
    stem_fn = stem.layers[0].functional
    lines += ["class Net(nn.Module):", "    def __init__(self):", "        super().__init__()", *outer_init, "",
              "    def forward(self, x):",
              f"        x = {stem_fn.format(x='self.stem(x)')}" if stem_fn else "        x = self.stem(x)",
              *loop, "        return self.head(x)", "", "", "def build_model():", "    return Net()"]
    return "\n".join(lines) + "\n"
