"""Synthetic input batches shaped like the model's inputs.

Floats are standard normal (what a normalised real input looks like to the first layer);
inputs that feed an Embedding are integers below its vocabulary size. The model's declared
dimensions are kept: `--input-shape` fills only the unknown ones, and one that contradicts a
declared dimension is an error naming the input and both shapes. A sequence model's undeclared
length (its inputs' first dimension, the rest known) is DEFAULT_SEQUENCE_LENGTH, said in the
input's description; any other unknown dimension stops the probe and says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlint.runtime.backend import Backend
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.settings import Shape
from gradlint.runtime.structure import FUNCTIONAL, SEQUENTIAL, is_builtin

# Integer inputs that feed no Embedding get indices valid for any vocabulary.
_DEFAULT_INT_HIGH = 2
# The length a sequence model is probed at when its inputs leave it open (e.g. `Input((None,))`).
DEFAULT_SEQUENCE_LENGTH = 100
# Layers that make a model read its inputs' first dimension as time steps.
_SEQUENCE_LAYERS = ("Embedding", "RNN", "Bidirectional", "Conv1D", "MultiHeadAttention", "TimeDistributed")


@dataclass(frozen=True)
class InputSpec:
    """One model input: per-sample shape (no batch dimension), dtype, and integer range."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    int_high: int | None = None  # draw integers in [0, int_high) when set
    default_length: bool = False  # the first dimension is DEFAULT_SEQUENCE_LENGTH, not the model's

    def describe(self, batch_size: int) -> str:
        kind = f"int in [0, {self.int_high})" if self.int_high is not None else self.dtype
        text = f"{self.name} {(batch_size, *self.shape)} {kind}"
        if self.default_length:
            text += f" (default sequence length {self.shape[0]}; --input-shape sets it)"
        return text


HINT = 'pass --input-shape (e.g. --input-shape "28,28,1"; repeat it for several inputs)'


def input_specs(model: Any, kind: str, backend: Backend, overrides: tuple[Shape, ...]) -> list[InputSpec]:
    """Resolve every input's shape and dtype, building the model if it needs a shape first."""
    sequence = _is_sequence_model(model, backend)
    if kind in (SEQUENTIAL, FUNCTIONAL):
        tensors = _symbolic_inputs(model)
        if tensors is None:  # a Sequential without an Input: build it from the given shape
            shape = _only_override(overrides, "the Sequential model has no Input layer")
            try:
                model.build((None, *shape))
            except Exception as exc:
                raise ProbeError(f"building the model for input shape {shape} failed: {reason(exc)}") from exc
            tensors = _symbolic_inputs(model)
            if tensors is None:
                raise ProbeError(f"the model has no inputs after building it for shape {shape}")
        if overrides and len(overrides) != len(tensors):
            raise ProbeError(
                f"the model has {len(tensors)} input(s) but {len(overrides)} --input-shape value(s) were given"
            )
        specs = []
        for i, tensor in enumerate(tensors):
            history = getattr(tensor, "_keras_history", None)
            name = getattr(getattr(history, "operation", None), "name", None) or f"input_{i}"
            model_shape = tuple(tensor.shape[1:])
            shape, defaulted = _merge(model_shape, overrides[i] if overrides else None, name, sequence)
            dtype = str(getattr(tensor, "dtype", "float32"))
            specs.append(InputSpec(name, shape, dtype, _int_high(model, tensor, dtype, kind, backend), defaulted))
        return specs
    # Subclassed: the shape it was built with, or the one given.
    built = _built_shape(model)
    defaulted = False
    if overrides:
        if len(overrides) != 1:
            raise ProbeError("the probe feeds a subclassed model a single input; give one --input-shape")
        sample_shape: Shape = _strip_batch(overrides[0], built is None)
        if built is not None:
            sample_shape, defaulted = _merge(tuple(built[1:]), overrides[0], "input", sequence)
    elif built is not None:
        sample_shape, defaulted = _merge(tuple(built[1:]), None, "input", sequence)
    else:
        raise ProbeError(f"cannot determine the input shape of the subclassed model {model.name!r}; {HINT}")
    known = _known_dims(sample_shape)
    # What a subclassed model does with its input is hidden in call(); an Embedding as its
    # first layer is the telling case.
    high = _embedding_vocabulary(_first_leaf(model, backend), backend)
    return [InputSpec("input", known, "int32" if high else "float32", high, defaulted)]


def synthetic_batch(specs: list[InputSpec], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = []
    for spec in specs:
        shape = (batch_size, *spec.shape)
        if spec.int_high is not None:
            dtype = spec.dtype if "int" in spec.dtype else "int32"
            arrays.append(rng.integers(0, spec.int_high, size=shape).astype(dtype))
        elif "float" in spec.dtype:
            arrays.append(rng.standard_normal(shape).astype(spec.dtype))
        elif spec.dtype == "bool":
            arrays.append(rng.integers(0, 2, size=shape).astype(bool))
        else:
            raise ProbeError(f"input {spec.name!r} has dtype {spec.dtype}; the probe makes numeric inputs only")
    return arrays


def pack_inputs(model: Any, arrays: list[np.ndarray]) -> Any:
    """Arrays in the structure the model's call expects (one array, a list or a dict)."""
    struct = getattr(model, "_inputs_struct", None)
    if struct is not None and len(arrays) > 1:
        from keras import tree

        return tree.pack_sequence_as(struct, arrays)
    return arrays[0] if len(arrays) == 1 else arrays


# --- helpers ---------------------------------------------------------------------------------


def _symbolic_inputs(model: Any) -> list[Any] | None:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    from keras import tree

    return list(tree.flatten(inputs))


def _show(shape: tuple[Any, ...]) -> str:
    dims = ["None" if d is None else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"


def _strip_batch(shape: Shape, unknown_rank: bool) -> Shape:
    """A leading None is the batch dimension when the model gives no rank to compare with."""
    if unknown_rank and len(shape) > 1 and shape[0] is None:
        return shape[1:]
    return shape


def _only_override(overrides: tuple[Shape, ...], why: str) -> tuple[int, ...]:
    if len(overrides) != 1:
        raise ProbeError(f"cannot determine the input shape ({why}); {HINT}")
    return _known_dims(_strip_batch(overrides[0], unknown_rank=True))


def _known_dims(shape: Shape) -> tuple[int, ...]:
    """The shape, once every dimension is known; a ProbeError naming it otherwise."""
    known = tuple(d for d in shape if d is not None)
    if len(known) != len(shape):
        raise ProbeError(f"the input shape {_show(shape)} has unknown dimensions; {HINT}")
    return known


def _merge(model_shape: tuple[Any, ...], given: Shape | None, name: str,
           sequence: bool = False) -> tuple[tuple[int, ...], bool]:
    """The model's shape with its unknown dimensions filled from the given one (with or without
    the batch dimension), and whether the sequence length is the default one. A given dimension
    that contradicts a declared one is an error: the model would be probed on inputs it was
    never built for."""
    shape = list(model_shape)
    if given is not None:
        if len(given) == len(shape) + 1 and given[0] is None:
            given = given[1:]
        if len(given) != len(shape):
            raise ProbeError(
                f"input {name!r} has shape {_show(tuple(model_shape))} per sample, "
                f"but --input-shape {_show(tuple(given))} has {len(given)} dimension(s)"
            )
        for position, (declared, wanted) in enumerate(zip(shape, given)):
            if declared is not None and wanted is not None and int(declared) != int(wanted):
                raise ProbeError(
                    f"--input-shape {_show(tuple(given))} contradicts input {name!r}, declared as "
                    f"{_show(tuple(model_shape))} per sample (dimension {position + 1} is {declared}, not "
                    f"{wanted}); give None for a declared dimension, or leave --input-shape out"
                )
        shape = [m if m is not None else g for m, g in zip(shape, given)]
    defaulted = False
    if sequence and shape and shape[0] is None and all(d is not None for d in shape[1:]):
        shape[0] = DEFAULT_SEQUENCE_LENGTH
        defaulted = True
    if any(d is None for d in shape):
        raise ProbeError(
            f"cannot determine the input shape: input {name!r} has shape {_show(tuple(shape))} per sample; {HINT}"
        )
    return tuple(int(d) for d in shape), defaulted


def _is_sequence_model(model: Any, backend: Backend) -> bool:
    """Whether some layer reads its input's first dimension as time steps (an Embedding, a
    recurrent layer, a 1-D convolution, attention)."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return False
    layers = backend.keras.layers
    kinds = tuple(getattr(layers, name) for name in _SEQUENCE_LAYERS if hasattr(layers, name))
    return any(isinstance(layer, kinds) for layer in flatten(include_self=False, recursive=True))


def _built_shape(model: Any) -> tuple[Any, ...] | None:
    shapes = getattr(model, "_build_shapes_dict", None)
    if isinstance(shapes, dict) and len(shapes) == 1:
        shape = next(iter(shapes.values()))
        if isinstance(shape, (tuple, list)) and shape and not isinstance(shape[0], (tuple, list)):
            return tuple(shape)
    return None


def _embedding_vocabulary(layer: Any, backend: Backend) -> int | None:
    if layer is not None and isinstance(layer, backend.keras.layers.Embedding):
        return int(layer.input_dim)
    return None


def _first_leaf(model: Any, backend: Backend) -> Any | None:
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return None
    for layer in flatten(include_self=False, recursive=True):
        if is_builtin(layer) and not isinstance(layer, backend.keras.Model):
            return layer
    return None


def _int_high(model: Any, tensor: Any, dtype: str, kind: str, backend: Backend) -> int | None:
    """The vocabulary of the Embedding this input feeds, if any."""
    keras = backend.keras
    consumers: list[Any] = []
    if kind == SEQUENTIAL:
        consumers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)][:1]
    else:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            consumers = [node.operation for node in getattr(history.operation, "_outbound_nodes", [])]
    highs = []
    for consumer in consumers:
        if isinstance(consumer, keras.Sequential):
            inner = [layer for layer in consumer.layers if not isinstance(layer, keras.layers.InputLayer)]
            consumer = inner[0] if inner else None
        high = _embedding_vocabulary(consumer, backend)
        if high:
            highs.append(high)
    if highs:
        return min(highs)
    if "int" in dtype:
        return _DEFAULT_INT_HIGH
    return None
