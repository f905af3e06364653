"""How long a probe takes next to one training step, for a few model sizes.

    python benchmarks/probe_speed.py [--batch-size 32] [--repeats 3]

Prints, per model: build time, probe time (all repeats, eager forward + backward with every
layer's output recorded), the first `train_on_batch` (which traces and compiles the train
step, as the first step of any real training run does) and a steady-state `train_on_batch`.
The probe's promise: the whole run, build included, well under the TensorFlow import time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradlint.runtime.backend import load  # noqa: E402
from gradlint.runtime.probe import probe_model  # noqa: E402
from gradlint.runtime.settings import ProbeOptions  # noqa: E402


def mlp(depth: int, width: int, inputs: int = 784) -> Callable[[Any], Any]:
    def build(keras: Any) -> Any:
        layers = [keras.Input(shape=(inputs,))]
        layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
        layers.append(keras.layers.Dense(10, activation="softmax"))
        model = keras.Sequential(layers, name=f"mlp_{depth}x{width}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    return build


def cnn(blocks: int) -> Callable[[Any], Any]:
    def build(keras: Any) -> Any:
        L = keras.layers
        x = inputs = keras.Input(shape=(32, 32, 3))
        for i in range(blocks):
            x = L.Conv2D(32 * 2 ** min(i, 2), 3, padding="same", activation="relu")(x)
            x = L.BatchNormalization()(x)
            if i % 2 == 1:
                x = L.MaxPooling2D()(x)
        x = L.GlobalAveragePooling2D()(x)
        model = keras.Model(inputs, L.Dense(10, activation="softmax")(x), name=f"cnn_{blocks}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    return build


def lstm(units: int) -> Callable[[Any], Any]:
    def build(keras: Any) -> Any:
        L = keras.layers
        model = keras.Sequential(
            [keras.Input(shape=(100,)), L.Embedding(10000, 64), L.LSTM(units), L.Dense(1, activation="sigmoid")],
            name=f"embedding_lstm_{units}",
        )
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    return build


MODELS = [mlp(10, 256), mlp(30, 256), mlp(60, 512), cnn(6), lstm(64)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    backend = load()
    import_time = time.perf_counter() - started
    keras, np = backend.keras, __import__("numpy")
    print(f"TensorFlow {backend.tf.__version__}, Keras {keras.__version__}: import {import_time:.2f} s")
    print(f"batch {args.batch_size}, probe repeats {args.repeats}\n")
    header = (f"{'model':<20} {'params':>10} {'build s':>8} {'probe s':>8} {'1st train_on_batch s':>21} "
              f"{'steady ms':>10} {'probe / 1st step':>17} {'probe / steady':>15}")
    print(header)
    print("-" * len(header))
    options = ProbeOptions(batch_size=args.batch_size, repeats=args.repeats, explain=False)
    for factory in MODELS:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        t0 = time.perf_counter()
        model = factory(keras)
        build = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = probe_model(model, backend, options, target=model.name, filename=model.name)
        probe = time.perf_counter() - t0

        # A fresh batch in the model's own input format for training.
        rng = np.random.default_rng(0)
        shape = (args.batch_size, *model.inputs[0].shape[1:])
        if "embedding" in model.name:
            x = rng.integers(0, 10000, size=shape)
            y = rng.integers(0, 2, size=(args.batch_size, 1)).astype("float32")
        else:
            x = rng.standard_normal(shape).astype("float32")
            y = rng.integers(0, 10, size=(args.batch_size,))
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        first_step = time.perf_counter() - t0
        steady = []
        for _ in range(10):
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            steady.append(time.perf_counter() - t0)
        step = statistics.median(steady)
        print(f"{model.name:<20} {model.count_params():>10,} {build:>8.2f} {probe:>8.2f} {first_step:>21.2f} "
              f"{step * 1e3:>10.1f} {probe / first_step:>17.2f} {probe / step:>15.0f}"
              f"   ({len(report.layers)} layers)")


if __name__ == "__main__":
    main()
