"""Calibrate the signal model against the probe on random Keras models.

    python benchmarks/signal_calibration.py [--count 300] [--torch-models 300] [--seed 0] [--max-depth 40]
        [--noise-floor] [--keep DIR] [--json FILE]

Generates random models from a seed (Sequential, functional and subclassed; dense, Conv1D,
Conv2D and EinsumDense stacks; depth 2 to --max-depth, unequal widths; a dozen and a half
activations as arguments and as layers; every initializer family with random scales; batch
and layer normalization, dropout and residual adds at random places) and writes each one as
the source of a `build_model()` function. Then, in this one process:

- `gradlint signal DIR --output-format json` predicts each file's models statically (the
  command once over the directory, and each file again in-process for its time);
- the probe (`probe_target`, TensorFlow imported once) builds and measures each model, and
  its runtime front-end predicts the same numbers from the built model.

The backward ratio compared is that of the kernel layers (Dense, Conv, EinsumDense): the first
one's ‖∂L/∂output‖ over the last hidden one's, as `gradlint signal` defines it; the probe's
own summary also counts normalization rows. A subclassed model's layer outputs are out of the
probe's reach, so it is measured on its functional twin: the same layers, in the same order,
built from the same seed. Prints the distribution of |log10(predicted / measured)|, verdict
agreement, time per model and a breakdown by structure, then the worst models and why the
static side could not predict the ones it did not.

Then the same for --torch-models PyTorch models (`torch_models.py`: nn.Sequential, nn.Module
subclasses and nn.ModuleList loops of Linear/Conv1d/Conv2d layers with PyTorch's default init
or nn.init calls, residual blocks, BatchNorm/LayerNorm/GroupNorm, dropout), predicted by
`gradlint signal` from the source and measured by the PyTorch probe (torch imported once; its
module hooks see every layer, so no twin is needed), reported apart against the same targets.
`--count 0` or `--torch-models 0` leaves one framework out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradlint.signal.recurrence import verdict_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_models import TorchGenerator, TorchSpec
from torch_models import source as torch_source

KERNEL_TYPES = frozenset({"Dense", "Conv1D", "Conv2D", "EinsumDense", "Linear", "Conv1d", "Conv2d"})

ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "tanh", "sigmoid", "softplus",
               "linear", "softsign", "mish", "hard_sigmoid", "relu6", "exponential")
# Rarely chosen: they overflow or saturate so fast that most draws would only test float32.
_RARE = {"exponential": 0.2, "hard_sigmoid": 0.5, "relu6": 0.5}

MIN_WIDTH = 8
STRING_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                       "lecun_uniform", None)  # None: Keras' default (glorot_uniform)
FAMILIES = ("string", "variance_scaling", "random_normal", "truncated_normal", "random_uniform", "orthogonal")


# --- the random model's specification ---------------------------------------------------------


@dataclass
class LayerSpec:
    """One weighted layer and the weightless layers that follow it, as Keras constructor calls."""

    ops: list[str]  # constructor expressions, the weighted layer first


@dataclass
class Block:
    """A segment of the trunk: layers applied in turn, or a residual branch added back."""

    layers: list[LayerSpec]
    residual: bool = False
    repeat: int = 1  # written as a loop when > 1
    after: list[str] = field(default_factory=list)  # after the add (residual blocks)


@dataclass
class ModelSpec:
    name: str
    kind: str  # sequential | functional | subclassed
    family: str  # dense | conv1d | conv2d | einsum
    input_shape: tuple[int, ...]
    blocks: list[Block]
    head: list[str]
    labels: set[str]

    @property
    def depth(self) -> int:
        return sum(len(b.layers) * b.repeat for b in self.blocks)


class Generator:
    """Draws ModelSpecs; every choice comes from one seeded random.Random."""

    def __init__(self, seed: int, max_depth: int) -> None:
        self.rng = random.Random(seed)
        self.max_depth = max_depth

    def log_uniform(self, low: float, high: float) -> float:
        return math.exp(self.rng.uniform(math.log(low), math.log(high)))

    def width(self, family: str) -> int:
        low, high = {"dense": (8, 1024), "einsum": (16, 256), "conv1d": (8, 96), "conv2d": (8, 48)}[family]
        return round(self.log_uniform(low, high))

    def model(self, index: int) -> ModelSpec:
        r = self.rng
        kind = r.choices(("sequential", "functional", "subclassed"), (0.35, 0.4, 0.25))[0]
        family = r.choices(("dense", "einsum", "conv1d", "conv2d"), (0.5, 0.2, 0.15, 0.15))[0]
        depth = r.randint(2, self.max_depth)
        if family in ("conv1d", "conv2d"):
            depth = min(depth, max(2, self.max_depth // 2))  # convolutions cost more per layer
        style = _Style(
            activation=self.activation(),
            initializer=self.initializer_family(),
            per_layer_initializers=r.random() < 0.35,
            mixed_activations=r.random() < 0.25,
            norm=r.choices((None, "bn", "ln"), (0.55, 0.25, 0.2))[0],
            norm_rate=r.uniform(0.3, 1.0),
            dropout=r.random() < 0.3,
            residual=kind != "sequential" and r.random() < 0.45,
            loops=r.random() < 0.4,
        )
        input_shape, trunk = self.input_shape(family)
        blocks: list[Block] = []
        labels = {family, kind}
        layers_left = depth
        while layers_left > 0:
            block, trunk = self.block(family, style, trunk, layers_left, labels)
            blocks.append(block)
            layers_left -= len(block.layers) * block.repeat
        spec = ModelSpec(f"m{index:03d}", kind, family, input_shape, blocks, self.head(family), labels)
        self.fit_budget(spec)
        if style.norm == "bn" and any("BatchNormalization" in op for op in _all_ops(spec)):
            labels.add("BN")
        if style.norm == "ln" and any("LayerNormalization" in op for op in _all_ops(spec)):
            labels.add("LN")
        if any(b.residual for b in spec.blocks):
            labels.add("residual")
        if effective_width(spec) < 32:
            labels.add("narrow")
        labels |= known_limits(spec)
        return spec

    def input_shape(self, family: str) -> tuple[tuple[int, ...], int]:
        r = self.rng
        if family == "dense":
            width = self.width("dense")
            return (width,), width
        if family == "einsum":
            features = self.width("einsum")
            return (r.choice((4, 8)), features), features
        if family == "conv1d":
            channels = r.choice((1, 4, 8, 16, 32))
            return (r.choice((16, 24, 32)), channels), channels
        channels = r.choice((1, 3, 8, 16))
        size = r.choice((8, 12, 16))
        return (size, size, channels), channels

    def head(self, family: str) -> list[str]:
        r = self.rng
        outputs = r.choice((1, 2, 10))
        activation = r.choice(("softmax", None)) if outputs > 1 else r.choice(("sigmoid", None))
        dense = f"layers.Dense({outputs}{_kw('activation', activation)})"
        if family == "dense":
            return [dense]
        pool = {"conv1d": "layers.GlobalAveragePooling1D()", "conv2d": "layers.GlobalAveragePooling2D()"}
        if family in pool and r.random() < 0.5:
            return [pool[family], dense]
        return ["layers.Flatten()", dense]

    def activation(self) -> str:
        weights = [_RARE.get(a, 1.0) for a in ACTIVATIONS]
        return self.rng.choices(ACTIVATIONS, weights)[0]

    def initializer_family(self) -> str:
        return self.rng.choices(FAMILIES, (0.35, 0.2, 0.15, 0.1, 0.1, 0.1))[0]

    def block(self, family: str, style: _Style, trunk: int, layers_left: int,
              labels: set[str]) -> tuple[Block, int]:
        r = self.rng
        if trunk < MIN_WIDTH:  # the input's few channels: widen first
            width = self.width(family)
            return Block([self.layer(family, style, width, trunk)]), width
        if style.residual and r.random() < 0.5:
            size = min(layers_left, r.choice((1, 2, 2)))
            inner = self.width(family) if size == 2 else trunk
            widths = [inner, trunk][-size:]
            branch = [self.layer(family, style, w, fan_in, in_branch=True, last=i == size - 1)
                      for i, (w, fan_in) in enumerate(zip(widths, [trunk, inner][:size]))]
            repeat = self.repeat(style, layers_left // size)
            after = [_activation_layer(self.rng, style.activation)] if r.random() < 0.3 else []
            return Block(branch, residual=True, repeat=repeat, after=[a for a in after if a]), trunk
        width = trunk if r.random() < 0.3 else self.width(family)
        layer = self.layer(family, style, width, trunk)
        return Block([layer], repeat=self.repeat(style, layers_left) if width == trunk or r.random() < 0.5
                     else 1), width

    def repeat(self, style: _Style, room: int) -> int:
        if not style.loops or room < 2 or self.rng.random() < 0.5:
            return 1
        return self.rng.randint(2, min(room, 10))

    def layer(self, family: str, style: _Style, width: int, fan_in: int, *, in_branch: bool = False,
              last: bool = False) -> LayerSpec:
        r = self.rng
        activation = self.activation() if style.mixed_activations and r.random() < 0.4 else style.activation
        if in_branch and last and r.random() < 0.5:
            activation = "linear"  # a residual branch's last layer is often linear
        separate = r.random() < 0.25 and activation not in ("mish", "hard_sigmoid", "relu6")
        init_family = self.initializer_family() if style.per_layer_initializers else style.initializer
        initializer = self.initializer(init_family, fan_in, family)
        weighted = self.weighted(family, width, None if separate else activation, initializer)
        ops = [weighted]
        norm = style.norm if style.norm and r.random() < style.norm_rate else None
        norm_op = {"bn": "layers.BatchNormalization()", "ln": "layers.LayerNormalization()", None: None}[norm]
        act_op = _activation_layer(r, activation) if separate else None
        if norm_op and act_op and r.random() < 0.7:
            ops += [norm_op, act_op]  # linear → norm → activation
        else:
            ops += [op for op in (act_op, norm_op) if op]
        if style.dropout and r.random() < 0.4:
            ops.append(f"layers.Dropout({r.uniform(0.05, 0.5):.2f})")
        return LayerSpec(ops)

    def weighted(self, family: str, width: int, activation: str | None, initializer: str | None) -> str:
        r = self.rng
        extra = _kw("activation", activation if activation != "linear" or r.random() < 0.5 else None)
        extra += f", kernel_initializer={initializer}" if initializer else ""
        if family == "dense" or (family == "einsum" and r.random() < 0.3):
            return f"layers.Dense({width}{extra})"
        if family == "einsum":
            return f'layers.EinsumDense("abc,cd->abd", output_shape=(None, {width}){extra})'
        kernel = r.choice((1, 3, 3, 5)) if family == "conv1d" else r.choice((1, 3, 3))
        name = "Conv1D" if family == "conv1d" else "Conv2D"
        return f'layers.{name}({width}, {kernel}, padding="same"{extra})'

    def initializer(self, family: str, fan_in: int, model_family: str) -> str | None:
        """An initializer expression; random scales are drawn around the critical one for the
        layer's fan-in most of the time, and anywhere in a wide range otherwise."""
        r = self.rng
        area = {"conv1d": 3, "conv2d": 9}.get(model_family, 1)
        fan = fan_in * area
        gain = self.log_uniform(0.3, 5.0) if r.random() < 0.75 else self.log_uniform(0.02, 50.0)
        if family == "string":
            found = r.choice(STRING_INITIALIZERS)
            return f'"{found}"' if found else None
        if family == "variance_scaling":
            mode = r.choice(("fan_in", "fan_out", "fan_avg"))
            distribution = r.choice(("truncated_normal", "untruncated_normal", "uniform"))
            return (f'initializers.VarianceScaling(scale={_num(self.log_uniform(0.25, 4.0))}, mode="{mode}", '
                    f'distribution="{distribution}")')
        if family == "random_normal":
            return f"initializers.RandomNormal(stddev={_num(math.sqrt(gain / fan))})"
        if family == "truncated_normal":
            return f"initializers.TruncatedNormal(stddev={_num(math.sqrt(gain / fan))})"
        if family == "random_uniform":
            limit = math.sqrt(3 * gain / fan)
            return f"initializers.RandomUniform(minval={_num(-limit)}, maxval={_num(limit)})"
        return f"initializers.Orthogonal(gain={_num(self.log_uniform(0.5, 2.0))})"

    def fit_budget(self, spec: ModelSpec, limit: float = 2.5e7) -> None:
        """Halve the widest width (the input's too, where it is that wide, so residual adds keep
        matching) until one example costs at most `limit` multiply-adds: the default run has to
        stay within minutes on two cores."""
        while _cost(spec) > limit:
            widest = max(_widths(spec))
            if widest <= 8:
                return
            narrower = max(8, widest // 2)
            for op_list in _weighted_ops(spec):
                op_list[0] = _rewidth(op_list[0], widest, narrower)
            if spec.input_shape[-1] == widest:
                spec.input_shape = (*spec.input_shape[:-1], narrower)


@dataclass
class _Style:
    activation: str
    initializer: str
    per_layer_initializers: bool
    mixed_activations: bool
    norm: str | None
    norm_rate: float
    dropout: bool
    residual: bool
    loops: bool


def _kw(name: str, value: str | None) -> str:
    return f', {name}="{value}"' if value else ""


def _num(value: float) -> str:
    return f"{value:.4g}"


def _activation_layer(r: random.Random, activation: str) -> str:
    if activation == "relu":
        return r.choice(("layers.ReLU()", 'layers.Activation("relu")'))
    if activation == "leaky_relu":
        return r.choice((f"layers.LeakyReLU(negative_slope={r.uniform(0.01, 0.3):.2f})", "layers.PReLU()"))
    if activation == "elu":
        return f"layers.ELU(alpha={r.uniform(0.5, 1.5):.2f})"
    return f'layers.Activation("{activation}")'


def _all_ops(spec: ModelSpec) -> Iterable[str]:
    for block in spec.blocks:
        for layer in block.layers:
            yield from layer.ops
        yield from block.after


def _weighted_ops(spec: ModelSpec) -> list[list[str]]:
    return [layer.ops for block in spec.blocks for layer in block.layers]


def _width_of(op: str) -> int:
    match = re.search(r"output_shape=\(None, (\d+)\)", op) or re.match(r"layers\.\w+\((\d+)", op)
    assert match is not None, op
    return int(match.group(1))


def _rewidth(op: str, old: int, new: int) -> str:
    if _width_of(op) != old:
        return op
    if "output_shape" in op:
        return op.replace(f"output_shape=(None, {old})", f"output_shape=(None, {new})")
    return re.sub(r"^(layers\.\w+\()(\d+)", lambda m: f"{m.group(1)}{new}", op)


def _widths(spec: ModelSpec) -> list[int]:
    return [spec.input_shape[-1]] + [_width_of(ops[0]) for ops in _weighted_ops(spec)]


KNOWN_LIMITS = frozenset({"LN over few features", "BN after sigmoid-like", "activation after add", "small maps",
                          "deep BN", "narrow", "exponential", "dropout on narrow layers"})
# Activations whose output has a mean far from 0 next to its spread.
MEAN_SHIFTED = frozenset({"sigmoid", "hard_sigmoid", "softplus", "exponential"})


def known_limits(spec: ModelSpec) -> set[str]:
    """Structures the mean-field recurrence is known to simplify, so that their errors can be
    told apart: LayerNormalization over few features (Σ 1/features ≥ 0.25: its 1/σ̂ is noisy, and
    the noise biases the backward factor up by about 2/features per layer), dropout on narrow
    layers (Σ rate / (1 − rate) / width ≥ 0.05: the masks the forward and the backward pass share
    bias the ratio up, ×1.85 for ten Dropout(0.37) at width 52, ×1.08 at width 1024), batch normalization
    of a mean-shifted activation, an activation applied to a residual sum, convolutions with
    zero padding on small maps, and deep batch-normalized stacks."""
    found: set[str] = set()
    norms = 0
    few = 0.0  # Σ 1/features over LayerNormalizations: E[1/σ̂²] ≈ (1 + 2/n)/σ² each
    dropped = 0.0  # Σ (p / (1 − p)) / width over dropouts
    for block in spec.blocks:
        for layer in block.layers:
            width = _width_of(layer.ops[0])
            previous = _activation_in(layer.ops[0])
            for op in layer.ops[1:]:
                rate = re.match(r"layers\.Dropout\(([\d.]+)\)", op)
                if rate:
                    dropped += block.repeat * float(rate.group(1)) / (1 - float(rate.group(1))) / width
                if "LayerNormalization" in op:
                    few += block.repeat / width
                if "BatchNormalization" in op:
                    norms += block.repeat
                    if previous in MEAN_SHIFTED:
                        found.add("BN after sigmoid-like")
                previous = _activation_in(op) or previous
        if block.residual and block.after:
            found.add("activation after add")
    if few >= 0.25:
        found.add("LN over few features")
    if dropped >= 0.05:
        found.add("dropout on narrow layers")
    if norms >= 10 and not any(b.residual for b in spec.blocks):
        found.add("deep BN")
    if any("exponential" in op for op in _all_ops(spec)):
        found.add("exponential")
    small = {"conv1d": 16, "conv2d": 8}.get(spec.family)
    if small and spec.input_shape[0] <= small and spec.depth >= 8:
        found.add("small maps")
    return found


def _activation_in(op: str) -> str | None:
    match = re.search(r'activation="(\w+)"|Activation\("(\w+)"\)', op)
    if match:
        return match.group(1) or match.group(2)
    for layer, name in (("ReLU", "relu"), ("LeakyReLU", "leaky_relu"), ("PReLU", "relu"), ("ELU", "elu")):
        if op.startswith(f"layers.{layer}("):
            return name
    return None


def effective_width(spec: ModelSpec) -> float:
    """The harmonic mean of the hidden widths (units, or channels): mean-field theory is exact
    for infinite widths, and its errors grow with depth / this width."""
    widths = [_width_of(ops[0]) for ops in _weighted_ops(spec)]
    return len(widths) / sum(1 / w for w in widths)


def _cost(spec: ModelSpec) -> float:
    """Multiply-adds for one example."""
    positions = math.prod(spec.input_shape[:-1]) if spec.family != "dense" else 1
    area = {"conv1d": 5, "conv2d": 9}.get(spec.family, 1)
    total, fan_in = 0.0, spec.input_shape[-1]
    for block in spec.blocks:
        trunk = fan_in
        for _ in range(block.repeat):
            fan_in = trunk
            for layer in block.layers:
                width = _width_of(layer.ops[0])
                total += positions * area * fan_in * width
                fan_in = width
    return total


# --- writing the source -----------------------------------------------------------------------


HEADER = "import keras\nfrom keras import initializers, layers\n\n\n"


def source(spec: ModelSpec) -> str:
    """The module text: `build_model()` returns the model."""
    if spec.kind == "sequential":
        return HEADER + _sequential(spec)
    if spec.kind == "functional":
        return HEADER + _functional(spec, "build_model")
    return HEADER + _subclassed(spec)


def twin_source(spec: ModelSpec) -> str:
    """A subclassed model's functional twin: the same layers in the same order."""
    return HEADER + _functional(spec, "build_model")


def _einsum_shapes(spec: ModelSpec, ops: list[str]) -> list[str]:
    steps = spec.input_shape[0]
    return [op.replace("output_shape=(None,", f"output_shape=({steps},") for op in ops]


def _sequential(spec: ModelSpec) -> str:
    lines = ["def build_model():", f"    model = keras.Sequential([keras.Input({spec.input_shape})])"]
    for block in spec.blocks:
        ops = _einsum_shapes(spec, [op for layer in block.layers for op in layer.ops])
        if block.repeat > 1:
            lines.append(f"    for _ in range({block.repeat}):")
            lines += [f"        model.add({op})" for op in ops]
        else:
            lines += [f"    model.add({op})" for op in ops]
    lines += [f"    model.add({op})" for op in spec.head]
    lines.append("    return model")
    return "\n".join(lines) + "\n"


def _functional(spec: ModelSpec, name: str) -> str:
    lines = [f"def {name}():", f"    inputs = keras.Input({spec.input_shape})", "    x = inputs"]
    for block in spec.blocks:
        body: list[str] = []
        target = "y" if block.residual else "x"
        for i, layer in enumerate(block.layers):
            for j, op in enumerate(_einsum_shapes(spec, layer.ops)):
                source_var = "x" if block.residual and i == 0 and j == 0 else target
                body.append(f"{target} = {op}({source_var})")
        if block.residual:
            body.append("x = layers.Add()([x, y])")
            body += [f"x = {op}(x)" for op in block.after]
        if block.repeat > 1:
            lines.append(f"    for _ in range({block.repeat}):")
            lines += [f"        {line}" for line in body]
        else:
            lines += [f"    {line}" for line in body]
    for op in spec.head:
        lines.append(f"    x = {op}(x)")
    lines.append(f"    return keras.Model(inputs, x, name={spec.name!r})")
    return "\n".join(lines) + "\n"


def _subclassed(spec: ModelSpec) -> str:
    """Attributes in __init__, applied in call(); residual adds as `x + y` or an Add layer."""
    init: list[str] = []
    call: list[str] = []

    def attribute(op: str) -> str:
        init.append(f"        self.layer_{len(init) + 1} = {op}")
        return f"self.layer_{len(init)}"

    plus = spec.name[-1] in "02468"  # half of them add with +, half with an Add layer
    for block in spec.blocks:
        for _ in range(block.repeat):
            target = "y" if block.residual else "x"
            for i, layer in enumerate(block.layers):
                for j, op in enumerate(_einsum_shapes(spec, layer.ops)):
                    source_var = "x" if block.residual and i == 0 and j == 0 else target
                    call.append(f"        {target} = {attribute(op)}({source_var})")
            if block.residual:
                call.append("        x = x + y" if plus else f"        x = {attribute('layers.Add()')}([x, y])")
                for op in block.after:
                    call.append(f"        x = {attribute(op)}(x)")
    for op in spec.head:
        call.append(f"        x = {attribute(op)}(x)")
    lines = [
        "class Net(keras.Model):",
        "    def __init__(self, **kwargs):",
        "        super().__init__(**kwargs)",
        *init,
        "",
        "    def call(self, x):",
        *call,
        "        return x",
        "",
        "",
        "def build_model():",
        f"    model = Net(name={spec.name!r})",
        f"    model(keras.ops.zeros((1, *{spec.input_shape})))",
        "    return model",
    ]
    return "\n".join(lines) + "\n"


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Result:
    spec: ModelSpec | TorchSpec
    # The probe's summary (rows: every weighted layer, normalizations included) …
    measured: float | None = None
    measured_growth: float | None = None
    # … and the runtime front-end's prediction of the same numbers.
    runtime: float | None = None
    runtime_growth: float | None = None
    # The static prediction, and the measurement over the rows the static side reports.
    static: float | None = None
    static_growth: float | None = None
    static_measured: float | None = None
    static_measured_growth: float | None = None
    static_status: str = "?"
    static_notes: list[str] = field(default_factory=list)
    static_models: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the probe's hidden rows, measured
    heads: list[str] = field(default_factory=list)  # the probe's output rows (their types)
    runtime_notes: list[str] = field(default_factory=list)
    non_finite: bool = False
    measured_other_seed: float | None = None  # --noise-floor: the same model from other weights
    probe_seconds: float | None = None
    static_seconds: float | None = None
    error: str | None = None


def ratio_of(rows: list[dict[str, Any]]) -> float | None:
    """First / last row's backward signal, as the probe defines its ratio."""
    if len(rows) < 2:
        return None
    first, last = rows[0]["backward"], rows[-1]["backward"]
    if first is None or last is None or not math.isfinite(first) or not math.isfinite(last) or last == 0:
        return None
    return first / last


def growth_of(rows: list[dict[str, Any]]) -> float | None:
    """Largest forward RMS after the first row over the first's, as the probe defines it."""
    values = [row["forward"] for row in rows]
    if len(values) < 2 or any(v is None or not math.isfinite(v) for v in values) or not values[0]:
        return None
    return max(values[1:]) / values[0]


def measure(results: list[Result], folder: Path, batch_size: int, repeats: int, noise_floor: bool,
            progress: Callable[[str], None]) -> float:
    """Probe every model (its functional twin for subclassed ones), and with `noise_floor` once
    more from other initial weights; returns TensorFlow's import time."""
    from gradlint.runtime.backend import load
    from gradlint.runtime.settings import ProbeOptions

    started = time.perf_counter()
    load()
    import_seconds = time.perf_counter() - started
    options = ProbeOptions(batch_size=batch_size, repeats=repeats, explain=False)
    for i, result in enumerate(results):
        progress(f"probe {i + 1}/{len(results)} {result.spec.name}")
        name = result.spec.name
        path = folder / "twins" / f"{name}.py" if result.spec.kind == "subclassed" else folder / f"{name}.py"
        probe_into(result, path, options, noise_floor)
    return import_seconds


def measure_torch(results: list[Result], folder: Path, batch_size: int, repeats: int, noise_floor: bool,
                  progress: Callable[[str], None]) -> float:
    """Probe every PyTorch model with the PyTorch probe (its modules' hooks see every layer, so
    no twin is needed); returns torch's import time."""
    from gradlint.runtime.settings import ProbeOptions
    from gradlint.runtime.torch_backend import load_torch

    started = time.perf_counter()
    load_torch()
    import_seconds = time.perf_counter() - started
    options = ProbeOptions(batch_size=batch_size, repeats=repeats, explain=False)
    for i, result in enumerate(results):
        progress(f"torch probe {i + 1}/{len(results)} {result.spec.name}")
        spatial = result.spec.input_shape if result.spec.family == "conv2d" else ()
        probe_into(result, folder / f"{result.spec.name}.py",
                   replace(options, input_shapes=(spatial,) if spatial else ()), noise_floor)
    return import_seconds


def probe_into(result: Result, path: Path, options: Any, noise_floor: bool) -> None:
    """One probe of `path:build_model` (twice with `noise_floor`), its numbers into `result`."""
    from gradlint.runtime.errors import ProbeError
    from gradlint.runtime.session import probe_target

    try:
        report = probe_target(f"{path}:build_model", options)
    except ProbeError as exc:
        result.error = str(exc)
        return
    timings = report.timings
    result.probe_seconds = timings.get("build", 0.0) + timings.get("probe", 0.0) + timings.get("prediction", 0.0)
    result.rows = [{"type": la.type, "backward": la.backward_signal, "forward": la.forward_rms}
                   for la in report.hidden()]
    result.heads = [la.type for la in report.layers if la.head]
    result.non_finite = report.loss_non_finite or any(la.non_finite for la in report.layers)
    result.measured = report.backward_ratio()
    growth = report.forward_growth()
    result.measured_growth = growth[0] if growth else None
    result.runtime, result.runtime_growth = report.predicted_backward_ratio, report.predicted_forward_growth
    result.runtime_notes = [n for n in report.notes if "signal model" in n]
    if noise_floor:
        try:
            other = probe_target(f"{path}:build_model", replace(options, seed=options.seed + 1))
        except ProbeError:
            return
        result.measured_other_seed = other.backward_ratio()


def predict_statically(results: list[Result], folder: Path) -> tuple[float, str | None]:
    """`gradlint signal DIR --output-format json` once over the directory (its wall time, and its
    error if it failed), and each file in-process as the command reads it (each file's time and
    models: one file that breaks the command must not hide the others)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gradlint", "signal", str(folder), "--output-format", "json"],
                          capture_output=True, text=True, cwd=folder, check=False)
    command_seconds = time.perf_counter() - started
    failure = None if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[:300]}"
    from gradlint.signal.cli import models_in
    from gradlint.signal.report import to_json

    with contextlib.suppress(Exception):
        models_in(folder / f"{results[0].spec.name}.py", "warm-up")  # imports, outside the timing
    for result in results:
        path = folder / f"{result.spec.name}.py"
        t0 = time.perf_counter()
        try:
            models = json.loads(to_json(models_in(path, str(path))))
        except Exception as exc:  # noqa: BLE001 - what the command reports as an internal error
            result.static_seconds = time.perf_counter() - t0
            result.static_status = f"crashed ({type(exc).__name__}: {exc})"
            continue
        result.static_seconds = time.perf_counter() - t0
        result.static_models = models
        result.static_notes = sorted({_generic(n) for m in models for n in m["unknown"]})
    return command_seconds, failure


def judge_static(result: Result) -> None:
    """Find the static model whose rows cover the whole measured model, and read the
    measurement over the same rows; or say why there is none."""
    if result.static_status.startswith("crashed") or not result.rows:
        return
    models = result.static_models
    if not models:
        result.static_status = "no model found"
        return
    kernels = sum(row["type"] in KERNEL_TYPES for row in result.rows)
    for model in models:
        hidden = [layer["name"].split(" (")[0] for layer in model["layers"] if not layer["head"]]
        matched = _align(hidden, [row["type"] for row in result.rows])
        if matched is None or sum(result.rows[i]["type"] in KERNEL_TYPES for i in matched) != kernels:
            continue
        if model["backward_ratio"] is None:
            result.static_status = "no ratio"
            return
        rows = [result.rows[i] for i in matched]
        result.static_status = "predicted"
        result.static, result.static_growth = model["backward_ratio"], model["forward_growth"]
        result.static_measured, result.static_measured_growth = ratio_of(rows), growth_of(rows)
        return
    probe_types = [row["type"] for row in result.rows] + result.heads
    for model in models:
        hidden = [layer["name"].split(" (")[0] for layer in model["layers"] if not layer["head"]]
        matched = _align(hidden, probe_types)
        if matched is not None and matched[-1] >= len(result.rows) and sum(
                probe_types[i] in KERNEL_TYPES for i in matched) == kernels + len(result.heads):
            result.static_status = "output head taken for a hidden layer"
            return
    counts = sorted(len([la for la in m["layers"] if not la["head"]]) for m in models)
    result.static_status = f"split or partial (models of {counts} hidden rows; the probe has {len(result.rows)})"


def _align(static: list[str], probe: list[str]) -> list[int] | None:
    """Indices of the probe rows the static rows stand for, in order (None: they do not fit)."""
    found: list[int] = []
    position = 0
    for name in static:
        while position < len(probe) and probe[position] != name:
            position += 1
        if position == len(probe):
            return None
        found.append(position)
        position += 1
    return found


def _generic(note: str) -> str:
    return re.sub(r"line \d+", "line N", note)


# --- the numbers ------------------------------------------------------------------------------


def decades(predicted: float | None, measured: float | None) -> float | None:
    if predicted is None or measured is None or predicted <= 0 or measured <= 0:
        return None
    if not (math.isfinite(predicted) and math.isfinite(measured)):
        return None
    return abs(math.log10(predicted / measured))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (f"n={len(values):3d}  median {statistics.median(values):.3f}  p90 {quantile(values, 0.9):.3f}  "
            f"p95 {quantile(values, 0.95):.3f}  max {max(values):.3f}")


def predicted(result: Result, side: str, growth: bool = False) -> float | None:
    return getattr(result, f"{side}_growth" if growth else side)


def measured_for(result: Result, side: str, growth: bool = False) -> float | None:
    """What `side`'s prediction is compared with: the probe's summary for the runtime front-end,
    the same rows as the static model's for the static one."""
    if side == "static":
        return result.static_measured_growth if growth else result.static_measured
    return result.measured_growth if growth else result.measured


def error(result: Result, side: str, growth: bool = False) -> float | None:
    return decades(predicted(result, side, growth), measured_for(result, side, growth))


def _both_seeds(result: Result) -> float | None:
    if not result.measured or not result.measured_other_seed:
        return None
    return math.sqrt(result.measured * result.measured_other_seed)


def measured_verdict(result: Result, side: str) -> str:
    ratio, growth = measured_for(result, side), measured_for(result, side, growth=True)
    if result.non_finite and ratio is None:
        return "exploding"  # overflow to Inf/NaN
    if ratio == 0:
        return "vanishing"
    return verdict_of(ratio, growth)


def agreement(results: list[Result], side: str) -> tuple[int, int]:
    pairs = [(verdict_of(predicted(r, side), predicted(r, side, True)), measured_verdict(r, side)) for r in results
             if predicted(r, side) is not None]
    pairs = [(p, m) for p, m in pairs if p != "unknown" and m != "unknown"]
    return sum(p == m for p, m in pairs), len(pairs)


SIDES = (("static", "static (gradlint signal)"), ("runtime", "runtime front-end"))


def _print_failures(results: list[Result], measured: list[Result]) -> None:
    """The probe's errors (the first five), and the models whose measured ratio is unusable."""
    errors = [r for r in results if r.error]
    if errors:
        print(f"probe errors: {len(errors)}")
        for r in errors[:5]:
            print(f"  {r.spec.name}: {r.error[:200]}")
    no_measure = [r for r in measured if r.measured is None or r.measured == 0]
    print(f"measured ratio not finite or zero: {len(no_measure)} "
          f"({sum(r.non_finite for r in no_measure)} with Inf/NaN in the pass)")


def _print_sides(measured: list[Result]) -> None:
    """Each side's backward-ratio error and verdict agreement."""
    for side, label in SIDES:
        values = [d for r in measured if (d := error(r, side)) is not None]
        good, total = agreement(measured, side)
        print(f"  {label:<26} {spread(values)}   verdicts {good}/{total} = {_percent(good, total)}")


def _print_seeds_and_growth(measured: list[Result]) -> None:
    """How far two seeds of one model differ, each side against both, and the forward growth's
    error."""
    noise = [d for r in measured if (d := decades(r.measured_other_seed, r.measured)) is not None]
    if noise:
        print(f"  {'two seeds, same model':<26} {spread(noise)}   (measurement against measurement)")
        values = [d for r in measured if (d := decades(r.runtime, _both_seeds(r))) is not None]
        print(f"  {'runtime vs both seeds':<26} {spread(values)}   (against the geometric mean of the two)")
        values = [d for r in measured if r.static_measured == r.measured
                  and (d := decades(r.static, _both_seeds(r))) is not None]
        print(f"  {'static vs both seeds':<26} {spread(values)}")
    print("forward growth:")
    for side, label in SIDES:
        values = [d for r in measured if (d := error(r, side, growth=True)) is not None]
        print(f"  {label:<26} {spread(values)}")


def report(results: list[Result], args: argparse.Namespace, import_seconds: float, command_seconds: float,
           command_failure: str | None, total_seconds: float) -> None:
    import keras
    import tensorflow as tf

    measured = [r for r in results if r.error is None]
    print(f"signal calibration: {len(results)} models, seed {args.seed}, max depth {args.max_depth}, "
          f"probe batch {args.batch_size} × {args.repeats} repeats")
    print(f"machine: {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    kinds = Counter(r.spec.kind for r in results)
    families = Counter(r.spec.family for r in results)
    print(f"models: {dict(kinds)}; {dict(families)}; depth {min(r.spec.depth for r in results)}–"
          f"{max(r.spec.depth for r in results)}; hidden widths {min(min(_widths(r.spec)[1:]) for r in results)}–"
          f"{max(max(_widths(r.spec)[1:]) for r in results)}")
    _print_failures(results, measured)
    print()
    print("|log10(predicted / measured)| of the backward ratio (first / last hidden row, as the probe's summary;")
    print("the static side against the measurement over the rows it reports):")
    _print_sides(measured)
    # What `gradlint signal` claims: the models in which it names no approximate structure
    # (those get the verdict "unknown" unless far past the thresholds).
    claimed = [r for r in measured if not any(n.startswith("approximate:") for n in (r.static_notes or []))]
    values = [d for r in claimed if (d := error(r, "static")) is not None]
    good, total = agreement(claimed, "static")
    print(f"  {'static, claimed':<26} {spread(values)}   verdicts {good}/{total} = {_percent(good, total)}"
          f"   ({len(measured) - len(claimed)} models named approximate)")
    _print_seeds_and_growth(measured)
    print()
    print("by structure (a model counts in each of its labels):")
    for label in LABELS:
        group = [r for r in measured if label in _labels(r)]
        if group:
            print(f"  {label:<24} n={len(group):3d}  {_breakdown(group)}")
    print("by depth / effective width (harmonic mean of the hidden widths):")
    for low, high in ((0, 0.1), (0.1, 0.3), (0.3, 1.0), (1.0, math.inf)):
        group = [r for r in measured if low <= r.spec.depth / effective_width(r.spec) < high]
        print(f"  {f'{low:g}–{high:g}':<24} n={len(group):3d}  {_breakdown(group)}")
    print()
    static_times = [r.static_seconds for r in results if r.static_seconds is not None]
    probe_times = [r.probe_seconds for r in measured if r.probe_seconds is not None]
    print(f"time per model: static in-process median {statistics.median(static_times) * 1e3:.1f} ms "
          f"(mean {statistics.mean(static_times) * 1e3:.1f} ms); `gradlint signal` over all {len(results)} files "
          f"{command_seconds:.2f} s ({command_seconds / len(results) * 1e3:.1f} ms per file, start-up included)")
    print(f"               probe (build + measure + predict) median {statistics.median(probe_times):.2f} s "
          f"(mean {statistics.mean(probe_times):.2f} s); TensorFlow import {import_seconds:.1f} s once; "
          f"probe / static {statistics.median(probe_times) / statistics.median(static_times):.0f}×")
    if command_failure:
        print(f"`gradlint signal` over the directory failed ({command_failure}); files taken one by one")
    print(f"total {total_seconds:.0f} s")
    print()
    print_static_failures(results)
    print_outliers(measured)


LABELS = ("plain", "BN", "LN", "residual", "conv1d", "conv2d", "einsum", "dense", "sequential", "functional",
          "subclassed", "narrow", "LN over few features", "BN after sigmoid-like", "activation after add",
          "small maps", "deep BN", "exponential", "dropout on narrow layers", "none of the known limits")


def _breakdown(group: list[Result]) -> str:
    parts = []
    for side, _ in SIDES:
        good, total = agreement(group, side)
        parts.append(f"{side}: {_short([d for r in group if (d := error(r, side)) is not None])} "
                     f"verdicts {_percent(good, total):>7}")
    noise = [d for r in group if (d := decades(r.measured_other_seed, r.measured)) is not None]
    if noise:
        parts.append(f"two seeds: {_short(noise)}")
    return "  | ".join(parts)


def _labels(result: Result) -> set[str]:
    labels = set(result.spec.labels)
    if not labels & {"BN", "LN", "residual", "conv1d", "conv2d"}:
        labels.add("plain")
    if not labels & KNOWN_LIMITS:
        labels.add("none of the known limits")
    return labels


def _short(values: list[float]) -> str:
    if not values:
        return "n=  0                          "
    return f"n={len(values):3d} med {statistics.median(values):.3f} p90 {quantile(values, 0.9):.3f} " \
           f"max {max(values):.2f}"


def _percent(good: int, total: int) -> str:
    return f"{100 * good / total:.1f} %" if total else "-"


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def print_static_failures(results: list[Result]) -> None:
    """The models the static side did not claim, by status and structure (Keras or PyTorch)."""
    statuses = Counter(_status_kind(r.static_status) for r in results)
    print(f"static side: {dict(statuses)}")
    failed = [r for r in results if r.static_status != "predicted"]
    by_labels = Counter((_status_kind(r.static_status), r.spec.kind, "residual" in r.spec.labels) for r in failed)
    for (status, kind, residual), n in by_labels.most_common():
        print(f"  {n:3d} × {status}: {kind}{' with residual adds' if residual else ''}")
    notes = Counter(n for r in results for n in r.static_notes)
    if notes:
        print("  unknown notes (files):")
        for note, n in notes.most_common(12):
            print(f"    {n:3d}  {note}")
    print()


def _status_kind(status: str) -> str:
    return status.split(" (")[0]


def print_outliers(results: list[Result], count: int = 12) -> None:
    for side, label in SIDES:
        scored = sorted(((d, r) for r in results if (d := error(r, side)) is not None), key=lambda item: -item[0])
        print(f"largest errors, {label} (decades; measured, predicted; depth; labels):")
        for d, r in scored[:count]:
            print(f"  {r.spec.name} {d:.2f}  measured {_g(measured_for(r, side))}  predicted {_g(predicted(r, side))}"
                  f"  depth {r.spec.depth}  {', '.join(sorted(_labels(r)))}")


def _g(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


# --- the PyTorch report -------------------------------------------------------------------------


TORCH_LABELS = ("plain", "BN", "LN", "last hidden row a norm", "last hidden row a norm, widths differ", "residual",
                "dropout", "biases", "no biases", "dense", "conv1d", "conv2d", "sequential at module level",
                "sequential in a function", "module", "modulelist", "functional activations", "init default",
                "init kaiming_normal", "init kaiming_uniform", "init xavier_uniform", "init xavier_normal",
                "init normal", "init trunc_normal", "init orthogonal")


def _torch_labels(result: Result) -> set[str]:
    labels = set(result.spec.labels)
    if not labels & {"BN", "LN", "residual", "conv1d", "conv2d"}:
        labels.add("plain")
    return labels


def report_torch(results: list[Result], args: argparse.Namespace, import_seconds: float, command_seconds: float,
                 command_failure: str | None, total_seconds: float) -> None:
    """The same statistics as the Keras report, for the PyTorch models; the static side's
    claimed models apart, and what it could not claim."""
    import torch

    measured = [r for r in results if r.error is None]
    print(f"PyTorch signal calibration: {len(results)} models, seed {args.seed}, max depth {args.max_depth}, "
          f"probe batch {args.batch_size} × {args.repeats} repeats; torch {torch.__version__}")
    print(f"models: {dict(Counter(r.spec.kind for r in results))}; {dict(Counter(r.spec.family for r in results))}; "
          f"depth {min(r.spec.depth for r in results)}–{max(r.spec.depth for r in results)}; hidden widths "
          f"{min(min(r.spec.widths) for r in results)}–{max(max(r.spec.widths) for r in results)}")
    _print_failures(results, measured)
    print()
    print("|log10(predicted / measured)| of the backward ratio (first / last hidden row):")
    _print_sides(measured)
    claimed = [r for r in measured if r.static_status == "predicted"
               and not any(n.startswith("approximate:") for n in r.static_notes)]
    values = [d for r in claimed if (d := error(r, "static")) is not None]
    good, total = agreement(claimed, "static")
    print(f"  {'static, claimed':<26} {spread(values)}   verdicts {good}/{total} = {_percent(good, total)}"
          f"   ({sum(r.static_status == 'predicted' for r in measured) - len(claimed)} predicted models named "
          f"approximate)")
    _print_seeds_and_growth(measured)
    print()
    print("by structure (a model counts in each of its labels):")
    for label in TORCH_LABELS:
        group = [r for r in measured if label in _torch_labels(r)]
        if group:
            print(f"  {label:<38} n={len(group):3d}  {_breakdown(group)}")
    print()
    static_times = [r.static_seconds for r in results if r.static_seconds is not None]
    probe_times = [r.probe_seconds for r in measured if r.probe_seconds is not None]
    print(f"time per model: static in-process median {statistics.median(static_times) * 1e3:.1f} ms; "
          f"`gradlint signal` over all {len(results)} files {command_seconds:.2f} s")
    if probe_times:
        print(f"               probe (build + measure + predict) median {statistics.median(probe_times):.2f} s "
              f"(mean {statistics.mean(probe_times):.2f} s); torch import {import_seconds:.1f} s once; "
              f"probe / static {statistics.median(probe_times) / statistics.median(static_times):.0f}×")
    if command_failure:
        print(f"`gradlint signal` over the directory failed ({command_failure}); files taken one by one")
    print(f"total {total_seconds:.0f} s")
    print()
    print_static_failures(results)
    print_torch_outliers(measured)


def print_torch_outliers(results: list[Result], count: int = 12) -> None:
    for side, label in SIDES:
        scored = sorted(((d, r) for r in results if (d := error(r, side)) is not None), key=lambda item: -item[0])
        print(f"largest errors, {label} (decades; measured, predicted; depth; labels):")
        for d, r in scored[:count]:
            print(f"  {r.spec.name} {d:.2f}  measured {_g(measured_for(r, side))}  predicted {_g(predicted(r, side))}"
                  f"  depth {r.spec.depth}  {', '.join(sorted(_torch_labels(r)))}")


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="models to generate [300]")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator [0]")
    parser.add_argument("--max-depth", type=int, default=40, help="deepest model, in weighted layers [40]")
    parser.add_argument("--batch-size", type=int, default=32, help="probe batch size [32]")
    parser.add_argument("--repeats", type=int, default=3, help="probe batches per model [3]")
    parser.add_argument("--noise-floor", action="store_true",
                        help="probe every model a second time from other initial weights, to show how far "
                             "two measurements of the same model lie apart (doubles the probe time)")
    parser.add_argument("--torch-models", type=int, default=300, metavar="N",
                        help="PyTorch models to generate and calibrate too, reported apart [300]; 0: none")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="write the models into DIR and keep them (default: a temporary directory)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write per-model results to FILE")
    args = parser.parse_args()
    if args.max_depth < 2:
        parser.error("--max-depth must be at least 2")
    if args.count < 0 or args.torch_models < 0 or args.count + args.torch_models == 0:
        parser.error("--count and --torch-models must not be negative, nor both 0")
    started = time.perf_counter()
    generator = Generator(args.seed, args.max_depth)
    specs = [generator.model(i) for i in range(args.count)]
    torch_generator = TorchGenerator(args.seed, args.max_depth)
    torch_specs = [torch_generator.model(i) for i in range(args.torch_models)]
    results: list[Result] = []
    torch_results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="signal_calibration_") as temporary:
        folder = args.keep or Path(temporary)
        if specs:
            write_models(specs, folder)
            results = [Result(spec) for spec in specs]
            command_seconds, command_failure = predict_statically(results, folder)
            import_seconds = measure(results, folder, args.batch_size, args.repeats, args.noise_floor, _progress)
            for result in results:
                judge_static(result)
            _progress("")
            report(results, args, import_seconds, command_seconds, command_failure, time.perf_counter() - started)
        if torch_specs:
            torch_started = time.perf_counter()
            torch_folder = folder / "torch"
            torch_folder.mkdir(parents=True, exist_ok=True)
            for spec in torch_specs:
                (torch_folder / f"{spec.name}.py").write_text(torch_source(spec), encoding="utf-8")
            torch_results = [Result(spec) for spec in torch_specs]
            command_seconds, command_failure = predict_statically(torch_results, torch_folder)
            import_seconds = measure_torch(torch_results, torch_folder, args.batch_size, args.repeats,
                                           args.noise_floor, _progress)
            for result in torch_results:
                judge_static(result)
            _progress("")
            if specs:
                print("\n" + "=" * 100 + "\n")
            report_torch(torch_results, args, import_seconds, command_seconds, command_failure,
                         time.perf_counter() - torch_started)
    if args.json:
        args.json.write_text(json.dumps([_record(r) for r in results + torch_results], indent=1) + "\n",
                             encoding="utf-8")


def write_models(specs: list[ModelSpec], folder: Path) -> None:
    (folder / "twins").mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec.name}.py").write_text(source(spec), encoding="utf-8")
        if spec.kind == "subclassed":
            (folder / "twins" / f"{spec.name}.py").write_text(twin_source(spec), encoding="utf-8")


def _record(result: Result) -> dict[str, Any]:
    torch = isinstance(result.spec, TorchSpec)
    return {
        "name": result.spec.name, "framework": "torch" if torch else "keras", "kind": result.spec.kind,
        "family": result.spec.family, "depth": result.spec.depth,
        "labels": sorted(_torch_labels(result) if torch else _labels(result)), "measured": result.measured,
        "measured_growth": result.measured_growth, "runtime": result.runtime,
        "runtime_growth": result.runtime_growth, "static": result.static, "static_growth": result.static_growth,
        "static_status": result.static_status, "static_notes": result.static_notes,
        "runtime_notes": result.runtime_notes, "non_finite": result.non_finite, "error": result.error,
        "measured_other_seed": result.measured_other_seed,
        "probe_seconds": result.probe_seconds, "static_seconds": result.static_seconds,
    }


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


if __name__ == "__main__":
    main()
