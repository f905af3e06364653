"""How long `gradlint probe` takes on four models, next to TensorFlow's import and to training.

    python benchmarks/probe_speed.py [--runs 3] [--batch-size 32] [--repeats 3] [--seeds 3]

The models (benchmarks/probe_models.py): a 200-step Bidirectional-LSTM text classifier, a
ResNet-20 on 32×32×3, a 30-layer MLP and a 12-layer transformer encoder (subclassed). Each is
probed the way `gradlint probe models.py:factory` probes it, in one process that imports
TensorFlow once: building the model (the factory runs), the compiled forward and backward
passes, the prediction, the verdicts. Printed per model: the median over `--runs` probes and
its parts, the fastest run (the one least disturbed by other work on the machine), and the
median's ratio to TensorFlow's import, to the first `train_on_batch` (which traces and
compiles the train step, as the first step of any training run does) and to a steady one.
The target: after TensorFlow's import, a median of at most 1 s over the four, at most 3 s each.

All four are above the size up to which `gradlint probe` takes several seeds by default, so
the table above is one seed, as the command probes them. A second table times `--seeds N`
(`probe_seeds`) on the same four and on a small model that gets the default seeds (the
narrow ReLU stack of fixtures/runtime): the seeds after the first redrawn in place (what the
command does) and, for comparison, each seed built again from the factory.
"""

from __future__ import annotations

import argparse
import functools
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
SMALL_TARGET = Path(__file__).resolve().parents[1] / "fixtures" / "runtime" / "narrow_relu_stack.py"
MEDIAN_TARGET, EACH_TARGET = 1.0, 3.0


def probe_times(target: str, options: ProbeOptions, runs: int) -> tuple[list[float], dict[str, float], Any]:
    """Wall time of each probe of the target (`file.py:factory`), the parts of the median one,
    the report."""
    from gradlint.runtime.session import probe_target

    times, parts, report = [], [], None
    for _ in range(runs):
        started = time.perf_counter()
        report = probe_target(target, options)
        times.append(time.perf_counter() - started)
        parts.append(report.timings)
    median_run = sorted(range(runs), key=lambda i: times[i])[runs // 2]
    return times, parts[median_run], report


def seed_times(target: str, options: ProbeOptions, seeds: int, runs: int, *, rebuild: bool) -> list[float]:
    """Wall time of each `--seeds N` probe of the target: later seeds redrawn in place, or
    (`rebuild`) each built again from the factory."""
    from gradlint.runtime.seeds import probe_seeds
    from gradlint.runtime.session import probe_target

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = probe_seeds(target, options, seeds, probe=probe_target if rebuild else None)
        times.append(time.perf_counter() - started)
        assert report.seed_summary is not None and len(report.seed_summary.seeds) == seeds
        assert rebuild or "reinit" in report.timings, f"{target}: not redrawn in place: {report.notes}"
    return times


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
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the second table (0: no second table)")
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
        times, parts, report = probe_times(f"{MODELS_FILE}:{factory}", options, args.runs)
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
    if args.seeds > 1:
        print_seed_table(options, args.seeds, args.runs)


def print_seed_table(options: ProbeOptions, seeds: int, runs: int) -> None:
    """`--seeds N` against one seed: later seeds redrawn in place, and built again."""
    print(f"\n--seeds {seeds}, median of {runs} runs: redrawn in place (as `gradlint probe --seeds` does) "
          f"and built again from the factory at each seed")
    header = (f"{'model':<20} {'1 seed s':>9} {'redrawn s':>10} {'÷ 1 seed':>9} {'rebuilt s':>10} {'÷ 1 seed':>9} "
              f"{'extra seed: redrawn':>20} {'rebuilt':>8}")
    print(header)
    print("-" * len(header))
    targets = [(f"{MODELS_FILE}:{f}", f) for f in FACTORIES] + [(f"{SMALL_TARGET}:build_model", "narrow_relu_stack")]
    redrawn_medians, one_medians = [], []
    from gradlint.runtime.session import probe_target

    for target, name in targets:
        one = statistics.median(_timed(functools.partial(probe_target, target, options), runs))
        redrawn = statistics.median(seed_times(target, options, seeds, runs, rebuild=False))
        rebuilt = statistics.median(seed_times(target, options, seeds, runs, rebuild=True))
        if name in FACTORIES:
            redrawn_medians.append(redrawn)
            one_medians.append(one)
        print(f"{name:<20} {one:>9.2f} {redrawn:>10.2f} {redrawn / one:>9.2f} {rebuilt:>10.2f} {rebuilt / one:>9.2f} "
              f"{(redrawn - one) / (seeds - 1):>18.2f} s {(rebuilt - one) / (seeds - 1):>6.2f} s")
    print(f"\nmedian over the four: 1 seed {statistics.median(one_medians):.2f} s, --seeds {seeds} redrawn "
          f"{statistics.median(redrawn_medians):.2f} s (target ≤ {MEDIAN_TARGET:g} s)")


def _timed(run: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    main()
