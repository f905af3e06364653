"""Static-path speed of gradlint, measured against a bare LibCST parse of the same files.

Run: pip install -e '.[bench]' && python benchmarks/static_speed.py [--tensorflow] [--repeat N]

Corpora nobody here wrote, all installed offline: the `keras` package source (Keras-heavy),
a mixed corpus of other installed packages with little Keras code (numpy, click, pathspec,
…), and with --tensorflow the `tensorflow/python` sources. For each: files, MB, then wall
time and the ratio to `libcst.parse_module` over the same files in the same run, for one
process cold, N processes cold, a warm cache, and start-up on one small file. Peak RSS of a
worker is printed for a half and the whole of the largest corpus: it must not grow with it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    "keras_cold_1": 1.3,  # Keras-heavy, 1 process, cold: ≤ 1.3 × bare LibCST parse
    "mixed_cold": 0.15,  # mixed corpus, cold: ≤ 0.15 × bare LibCST parse
    "speedup_2": 1.7,  # --jobs 2 vs --jobs 1: ≥ 1.7 × faster
    "warm": 0.05,  # warm cache ≤ 0.05 × cold
    "startup": 2.0,  # non-Keras file ≤ 2 × `python -c pass`
}


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def bare_libcst_parse(files: list[Path]) -> float:
    import libcst

    start = time.perf_counter()
    for path in files:
        try:
            libcst.parse_module(path.read_bytes())
        except Exception:  # noqa: BLE001 - the baseline only times the parser
            pass
    return time.perf_counter() - start


def run_gradlint(paths: list[Path], *extra: str) -> tuple[float, int]:
    """Wall time of one `gradlint check` and the peak RSS (KiB) of its largest process."""
    probe = (
        "import resource, subprocess, sys;"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "gradlint", "check", "--exit-zero",
               "--config", str(EMPTY_CONFIG), *extra, *map(str, paths)]
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(out.stdout.strip() or 0)


def startup(file: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gradlint", "check", "--no-cache", "--exit-zero", str(file)],
                       stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python_startup(repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensorflow", action="store_true", help="also the tensorflow/python corpus (slow)")
    parser.add_argument("--repeat", type=int, default=10, help="start-up measurements to take the median of")
    args = parser.parse_args()

    corpora = {"keras": [package_dir("keras") / "src"]}
    mixed = [package_dir(n) for n in ("numpy", "click", "pathspec", "hypothesis", "jsonschema", "_pytest")
             if importlib.util.find_spec(n)]
    corpora["mixed"] = mixed
    if args.tensorflow:
        corpora["tensorflow"] = [package_dir("tensorflow") / "python"]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    header = f"{'corpus':<11}{'files':>6}{'MB':>7}{'libcst':>9}{'cold -j1':>10}{'ratio':>7}{'cold -j2':>10}{'ratio':>7}{'speedup':>8}{'warm':>8}{'warm/cold':>10}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, roots in corpora.items():
        files = [f for r in roots for f in py_files(r)]
        size = sum(f.stat().st_size for f in files) / 1e6
        parse = bare_libcst_parse(files)
        with tempfile.TemporaryDirectory() as cache:
            cold1, rss1 = run_gradlint(roots, "--no-cache", "--jobs", "1")
            cold2, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
            warm, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
        results[name] = dict(files=files, parse=parse, cold1=cold1, cold2=cold2, warm=warm, rss=rss1)
        print(f"{name:<11}{len(files):>6}{size:>7.1f}{parse:>8.2f}s{cold1:>9.2f}s{cold1 / parse:>7.2f}"
              f"{cold2:>9.2f}s{cold2 / parse:>7.2f}{cold1 / cold2:>7.2f}x{warm:>7.2f}s{warm / cold1:>10.3f}")

    largest = max(results, key=lambda n: len(results[n]["files"]))
    files = results[largest]["files"]
    # Half the corpus, named file by file, against the whole corpus walked as a directory.
    _, rss_half = run_gradlint(files[: len(files) // 2], "--no-cache", "--jobs", "1")
    rss_full = results[largest]["rss"]
    print(f"\npeak RSS, {largest}, 1 process: {len(files) // 2} files {rss_half / 1024:.0f} MiB, "
          f"{len(files)} files {rss_full / 1024:.0f} MiB (growth {rss_full / max(rss_half, 1):.2f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.py"
        plain.write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
        kerasy = Path(tmp) / "model.py"
        kerasy.write_text("from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(8, activation='relu')])\n")
        base = python_startup(args.repeat)
        plain_t = startup(plain, args.repeat)
        keras_t = startup(kerasy, args.repeat)
    print(f"start-up (median of {args.repeat}): python -c pass {base * 1000:.0f} ms; "
          f"gradlint on a non-Keras file {plain_t * 1000:.0f} ms ({plain_t / base:.2f}x); "
          f"on a Keras file {keras_t * 1000:.0f} ms ({keras_t / base:.2f}x)")

    k, m = results["keras"], results["mixed"]
    print("\ntargets:")
    print(f"  Keras corpus, 1 process, cold ≤ {TARGETS['keras_cold_1']}x libcst parse: "
          f"{k['cold1'] / k['parse']:.2f}x  {verdict(k['cold1'] / k['parse'] <= TARGETS['keras_cold_1'])}")
    print(f"  mixed corpus, cold ≤ {TARGETS['mixed_cold']}x libcst parse: "
          f"{m['cold1'] / m['parse']:.3f}x  {verdict(m['cold1'] / m['parse'] <= TARGETS['mixed_cold'])}")
    speedup = k["cold1"] / k["cold2"]
    print(f"  --jobs 2 vs --jobs 1 ≥ {TARGETS['speedup_2']}x: {speedup:.2f}x  {verdict(speedup >= TARGETS['speedup_2'])}")
    warm_ratio = k["warm"] / k["cold1"]
    print(f"  warm cache ≤ {TARGETS['warm']}x cold: {warm_ratio:.3f}x  {verdict(warm_ratio <= TARGETS['warm'])}")
    print(f"  start-up on a non-Keras file ≤ {TARGETS['startup']}x python: {plain_t / base:.2f}x  "
          f"{verdict(plain_t / base <= TARGETS['startup'])}")


EMPTY_CONFIG = Path(tempfile.gettempdir()) / "gradlint-bench-pyproject.toml"
EMPTY_CONFIG.write_text("[tool.gradlint]\nrespect-gitignore = false\n")

if __name__ == "__main__":
    main()
