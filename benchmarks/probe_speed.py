"""How long `gradlint probe` takes on four models, next to TensorFlow's import and to training.

    python benchmarks/probe_speed.py [--runs 3] [--batch-size 32] [--repeats 3]

The models (benchmarks/probe_models.py): a 200-step Bidirectional-LSTM text classifier, a
ResNet-20 on 32×32×3, a 30-layer MLP and a 12-layer transformer encoder (subclassed). Each is
probed the way `gradlint probe models.py:factory` probes it, in one process that imports
TensorFlow once: building the model (the factory runs), the compiled forward and backward
passes, the prediction, the verdicts. Printed per model: the median over `--runs` probes and
its parts, the fastest run (the one least disturbed by other work on the machine), and the
median's ratio to TensorFlow's import, to the first `train_on_batch` (which traces and
compiles the train step, as the first step of any training run does) and to a steady one.
The target: after TensorFlow's import, a median of at most 1 s over the four, at most 3 s each.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradlint.runtime.backend import load
from gradlint.runtime.settings import ProbeOptions

MODELS_FILE = Path(__file__).resolve().parent / "probe_models.py"
FACTORIES = ("bilstm_classifier", "resnet20", "mlp30", "transformer_encoder")
MEDIAN_TARGET, EACH_TARGET = 1.0, 3.0


def probe_times(factory: str, options: ProbeOptions, runs: int) -> tuple[list[float], dict[str, float], Any]:
    """Wall time of each probe of the factory's model, the parts of the median one, the report."""
    from gradlint.runtime.session import probe_target

    times, parts, report = [], [], None
    for _ in range(runs):
        started = time.perf_counter()
        report = probe_target(f"{MODELS_FILE}:{factory}", options)
        times.append(time.perf_counter() - started)
        parts.append(report.timings)
    median_run = sorted(range(runs), key=lambda i: times[i])[runs // 2]
    return times, parts[median_run], report


def train_times(factory: str, batch_size: int) -> tuple[float, float]:
    """(first train_on_batch, median of 5 steady ones) on a fresh build of the same model."""
    import numpy as np

    sys.path.insert(0, str(MODELS_FILE.parent))
    import probe_models

    keras = load().keras
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = getattr(probe_models, factory)()
    rng = np.random.default_rng(0)
    if factory == "bilstm_classifier":
        x = rng.integers(0, 20000, size=(batch_size, 200)).astype("int32")
        y = rng.integers(0, 2, size=(batch_size, 1)).astype("float32")
    elif factory == "transformer_encoder":
        x = rng.integers(0, 8000, size=(batch_size, 64)).astype("int32")
        y = rng.integers(0, 4, size=(batch_size,))
    else:
        shape = (batch_size, *model.inputs[0].shape[1:])
        x = rng.standard_normal(shape).astype("float32")
        y = rng.integers(0, 10, size=(batch_size,))
    started = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - started
    steady = []
    for _ in range(5):
        started = time.perf_counter()
        model.train_on_batch(x, y)
        steady.append(time.perf_counter() - started)
    return first, statistics.median(steady)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="probes per model (the median is reported)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    backend = load()
    import_time = time.perf_counter() - started
    keras = backend.keras
    print(f"TensorFlow {backend.tf.__version__}, Keras {keras.__version__}: import {import_time:.2f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"probe: batch {args.batch_size} × {args.repeats} repeats, median of {args.runs} runs per model\n")
    options = ProbeOptions(batch_size=args.batch_size, repeats=args.repeats)
    header = (f"{'model':<20} {'kind':<11} {'params':>10} {'rows':>5} {'probe s':>8} {'best':>5} {'build':>6} {'measure':>8} "
              f"{'÷ import':>9} {'1st step s':>11} {'÷ 1st step':>11} {'steady s':>9} {'÷ steady':>9}")
    print(header)
    print("-" * len(header))
    medians = []
    for factory in FACTORIES:
        times, parts, report = probe_times(factory, options, args.runs)
        probe = statistics.median(times)
        medians.append(probe)
        first, steady = train_times(factory, args.batch_size)
        print(f"{factory:<20} {report.model_kind:<11} {getattr(report, 'parameters', 0) or 0:>10,} {len(report.layers):>5} "
              f"{probe:>8.2f} {min(times):>5.2f} {parts.get('build', 0):>6.2f} {parts.get('probe', 0):>8.2f} "
              f"{probe / import_time:>9.2f} {first:>11.2f} {probe / first:>11.2f} {steady:>9.3f} "
              f"{probe / steady:>9.1f}")
    median, worst = statistics.median(medians), max(medians)
    met = "met" if median <= MEDIAN_TARGET and worst <= EACH_TARGET else "not met"
    print(f"\nmedian over the four {median:.2f} s (target ≤ {MEDIAN_TARGET:g} s), slowest {worst:.2f} s "
          f"(target ≤ {EACH_TARGET:g} s each): {met}; TensorFlow import {import_time:.2f} s once")


if __name__ == "__main__":
    main()
