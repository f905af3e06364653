"""Synthetic inputs for a torch module, shaped from its first layer.

An `nn.Module` declares no input shape, but its first weighted layer tells most of it:

- `nn.Linear` / `nn.Bilinear`: `(in_features,)` (two inputs for Bilinear);
- `nn.Conv1d/2d/3d` (and their transposes): `in_channels` × a default spatial size of
  DEFAULT_SPATIAL (32, 32×32; 16×16×16 in 3-D). When the forward pass fails at that size (a
  head sized for another resolution), FALLBACK_SPATIAL sizes are tried in turn, and the one
  that ran is said in the input's description;
- `nn.Embedding` / `nn.EmbeddingBag`: integer tokens in [0, num_embeddings) of length
  DEFAULT_SEQUENCE_LENGTH (the Keras probe's default);
- `nn.LSTM` / `nn.GRU` / `nn.RNN`: DEFAULT_SEQUENCE_LENGTH steps of `input_size` features,
  batch first or time first as the layer says; `nn.MultiheadAttention` (the first layer of an
  `nn.TransformerEncoderLayer`) likewise with `embed_dim`;
- `nn.BatchNorm1d/2d/3d`, `nn.LayerNorm`: `num_features` (× the spatial size), `normalized_shape`.

`--input-shape` gives the per-sample shape (no batch dimension) and wins; a None in it keeps
the dimension derived from the first layer. Floats are standard normal, as in the Keras probe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlint.runtime.errors import ProbeError
from gradlint.runtime.inputs import DEFAULT_SEQUENCE_LENGTH
from gradlint.runtime.settings import Shape

DEFAULT_SPATIAL = 32
DEFAULT_SPATIAL_3D = 16
# Tried in this order when the model's forward pass fails at the default spatial size.
FALLBACK_SPATIAL = (28, 64, 224)

HINT = 'pass --input-shape with the per-sample shape (e.g. --input-shape "3,32,32")'


@dataclass(frozen=True)
class TorchInput:
    """One positional input of `forward`: per-sample shape, where the batch goes, what it holds."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"  # "float32" | "int64"
    int_high: int | None = None  # integers in [0, int_high)
    batch_dim: int = 0  # 1 for a time-first recurrent layer or attention
    note: str = ""  # how the shape was chosen, when it was a default

    def tensor_shape(self, batch_size: int) -> tuple[int, ...]:
        shape = list(self.shape)
        shape.insert(self.batch_dim, batch_size)
        return tuple(shape)

    def describe(self, batch_size: int) -> str:
        kind = f"int in [0, {self.int_high})" if self.int_high is not None else self.dtype
        text = f"{self.name} {self.tensor_shape(batch_size)} {kind}"
        return f"{text} ({self.note}; --input-shape sets it)" if self.note else text

    def with_spatial(self, size: int) -> TorchInput:
        """The same input at another spatial size (the channel dimension kept)."""
        shape = (self.shape[0], *([size] * (len(self.shape) - 1)))
        return TorchInput(self.name, shape, self.dtype, self.int_high, self.batch_dim,
                          f"spatial size {'×'.join([str(size)] * (len(shape) - 1))}, after "
                          f"{'×'.join([str(DEFAULT_SPATIAL)] * (len(shape) - 1))} did not fit the model")

    @property
    def spatial_default(self) -> bool:
        return self.note.startswith("default spatial size")


def first_layer(model: Any) -> tuple[str, Any] | None:
    """The first module, in registration order, that owns parameters (the model itself when
    none of its submodules does: a bare nn.LSTM)."""
    for name, module in model.named_modules():
        if module is model:
            continue
        if any(True for _ in module.parameters(recurse=False)) or _uninitialized(module):
            return name, module
    if any(True for _ in model.parameters(recurse=False)) or _uninitialized(model):
        return "", model
    return None


def input_specs(model: Any, overrides: tuple[Shape, ...] = ()) -> list[TorchInput]:
    """The inputs `model.forward` is fed: from --input-shape, else from its first layer."""
    found = first_layer(model)
    derived = _from_layer(found[1]) if found is not None else None
    if overrides:
        if derived is not None and len(derived) != len(overrides):
            raise ProbeError(f"the first layer ({_label(found)}) takes {len(derived)} input(s), but "
                             f"{len(overrides)} --input-shape value(s) were given")
        return [_overridden(i, shape, derived[i] if derived and i < len(derived) else None)
                for i, shape in enumerate(overrides)]
    if derived is None:
        if found is None:
            why = "it has no layer with parameters"
        elif _uninitialized(found[1]):
            why = f"its first layer {_label(found)} is lazy: its input size is known only once it is called"
        else:
            why = f"its first layer {_label(found)} does not say what it reads"
        raise ProbeError(f"cannot derive the input shape of {type(model).__name__}: {why}; {HINT}")
    return derived


def synthetic_batch(specs: Sequence[TorchInput], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = []
    for spec in specs:
        shape = spec.tensor_shape(batch_size)
        if spec.int_high is not None:
            arrays.append(rng.integers(0, spec.int_high, size=shape).astype("int64"))
        else:
            arrays.append(rng.standard_normal(shape).astype("float32"))
    return arrays


# --- helpers ---------------------------------------------------------------------------------


def _label(found: tuple[str, Any] | None) -> str:
    if found is None:
        return "-"
    from gradlint.runtime.torch_probe import display_name

    name, module = found
    return f"{display_name(name, module)} ({type(module).__name__})" if name else type(module).__name__


def _uninitialized(module: Any) -> bool:
    """A lazy module (nn.LazyLinear, …) whose parameters appear at its first call."""
    return type(module).__name__.startswith("Lazy")


def _spatial(channels: int, dims: int) -> TorchInput:
    size = DEFAULT_SPATIAL_3D if dims == 3 else DEFAULT_SPATIAL
    spatial = "×".join([str(size)] * dims)
    return TorchInput("input", (channels, *([size] * dims)), note=f"default spatial size {spatial}")


def _sequence(features: int, batch_first: bool) -> TorchInput:
    return TorchInput("input", (DEFAULT_SEQUENCE_LENGTH, features), batch_dim=0 if batch_first else 1,
                      note=f"default sequence length {DEFAULT_SEQUENCE_LENGTH}")


def _from_layer(module: Any) -> list[TorchInput] | None:
    """What the first layer reads, or None when it does not say."""
    from torch import nn

    if _uninitialized(module):
        return None
    if isinstance(module, nn.Bilinear):
        return [TorchInput("input1", (module.in1_features,)), TorchInput("input2", (module.in2_features,))]
    if isinstance(module, nn.Linear):
        return [TorchInput("input", (module.in_features,))]
    for dims, classes in ((1, (nn.Conv1d, nn.ConvTranspose1d)), (2, (nn.Conv2d, nn.ConvTranspose2d)),
                          (3, (nn.Conv3d, nn.ConvTranspose3d))):
        if isinstance(module, classes):
            return [_spatial(module.in_channels, dims)]
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return [TorchInput("input", (DEFAULT_SEQUENCE_LENGTH,), "int64", module.num_embeddings,
                           note=f"default sequence length {DEFAULT_SEQUENCE_LENGTH}")]
    if isinstance(module, nn.RNNBase):
        return [_sequence(module.input_size, module.batch_first)]
    if isinstance(module, nn.MultiheadAttention):
        return [_sequence(module.embed_dim, module.batch_first)]
    if isinstance(module, nn.BatchNorm1d):
        return [TorchInput("input", (module.num_features,))]
    for dims, cls in ((2, nn.BatchNorm2d), (3, nn.BatchNorm3d)):
        if isinstance(module, cls):
            return [_spatial(module.num_features, dims)]
    if isinstance(module, nn.LayerNorm):
        return [TorchInput("input", tuple(int(d) for d in module.normalized_shape))]
    return None


def _overridden(index: int, shape: Shape, derived: TorchInput | None) -> TorchInput:
    """An --input-shape value, its None dimensions filled from the derived input."""
    dims = list(shape)
    if derived is not None and len(dims) == len(derived.shape) + 1 and dims[0] is None:
        dims = dims[1:]  # a leading None for the batch, as in Keras' shapes
    name = derived.name if derived is not None else f"input_{index}" if index else "input"
    if any(d is None for d in dims):
        if derived is None or len(dims) != len(derived.shape):
            raise ProbeError(f"--input-shape {_text(shape)}: a None dimension can only be filled from the first "
                             f"layer's own shape, which is unknown here; give every dimension")
        dims = [d if d is not None else derived.shape[i] for i, d in enumerate(dims)]
    if derived is None:
        return TorchInput(name, tuple(dims))  # type: ignore[arg-type]
    return TorchInput(name, tuple(dims), derived.dtype, derived.int_high, derived.batch_dim)  # type: ignore[arg-type]


def _text(shape: Shape) -> str:
    return ",".join("None" if d is None else str(d) for d in shape)
