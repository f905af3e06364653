"""Static-path speed of gradlint, measured against a bare LibCST parse of the same files.

Run: pip install -e '.[bench]' && python benchmarks/static_speed.py [--skip-tensorflow] [--repeat N]

Corpora nobody here wrote, all installed offline: the `keras` package source (Keras-heavy),
a mixed corpus of other installed packages with little Keras code (numpy, click, pathspec,
…), and where the runtime extra is installed the `tensorflow/python` sources. For each:
files, MB, then wall time and the ratio to `libcst.parse_module` over the same files in the same run, for one
process cold, two processes cold, a cold run that fills the cache and the warm run after it,
and start-up on one small file. Peak RSS of one process is printed for each half and the whole
of the largest corpus: the whole must peak no higher than its worse half.
"""

from __future__ import annotations

import argparse
import compileall
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
    """Wall time of one `gradlint check` and the peak RSS (KiB) of its largest process, both
    taken by a small parent process, so that the parent's own start is not in the time."""
    probe = (
        "import resource, subprocess, sys, time;"
        "start = time.perf_counter();"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True);"
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "gradlint", "check", "--exit-zero",
               "--config", str(EMPTY_CONFIG), *extra, *map(str, paths)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss)


def startup(files: list[Path], repeat: int, cache: Path) -> list[float]:
    """Median wall time of `python -c pass`, then of `gradlint check` on each file, taken in
    turns so that a machine getting busier or quieter weighs on all of them alike. The cache
    is on, as users run it (a file without Keras code never reaches it)."""
    commands = [[sys.executable, "-c", "pass"]] + [
        [sys.executable, "-m", "gradlint", "check", "--exit-zero", "--cache-dir", str(cache), str(f)] for f in files]
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, taken in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            taken.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-tensorflow", action="store_true",
                        help="leave out the tensorflow/python corpus (the slowest) even where it is installed")
    parser.add_argument("--repeat", type=int, default=20, help="start-up measurements to take the median of")
    args = parser.parse_args()
    # gradlint as an installed package runs it: from bytecode (pip compiles it on install; an
    # editable install under PYTHONDONTWRITEBYTECODE would compile every module at every start).
    compileall.compile_dir(str(package_dir("gradlint")), quiet=1)

    corpora = {"keras": [package_dir("keras") / "src"]}
    mixed = [package_dir(n) for n in ("numpy", "click", "pathspec", "hypothesis", "jsonschema", "_pytest")
             if importlib.util.find_spec(n)]
    corpora["mixed"] = mixed
    if not args.skip_tensorflow and importlib.util.find_spec("tensorflow"):
        corpora["tensorflow"] = [package_dir("tensorflow") / "python"]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    header = f"{'corpus':<11}{'files':>6}{'MB':>7}{'libcst':>9}{'cold -j1':>10}{'ratio':>7}{'cold -j2':>10}{'ratio':>7}{'speedup':>8}{'filling':>9}{'warm':>8}{'warm/cold':>10}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, roots in corpora.items():
        files = [f for r in roots for f in py_files(r)]
        size = sum(f.stat().st_size for f in files) / 1e6
        parse = bare_libcst_parse(files)
        cold1, rss1 = run_gradlint(roots, "--no-cache", "--jobs", "1")
        cold2, _ = run_gradlint(roots, "--no-cache", "--jobs", "2")
        with tempfile.TemporaryDirectory() as cache:
            filling, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
            warm, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
        results[name] = dict(files=files, parse=parse, cold1=cold1, cold2=cold2, filling=filling, warm=warm, rss=rss1)
        print(f"{name:<11}{len(files):>6}{size:>7.1f}{parse:>8.2f}s{cold1:>9.2f}s{cold1 / parse:>7.2f}"
              f"{cold2:>9.2f}s{cold2 / parse:>7.2f}{cold1 / cold2:>7.2f}x{filling:>8.2f}s{warm:>7.2f}s{warm / filling:>10.3f}")

    largest = max(results, key=lambda n: len(results[n]["files"]))
    files = results[largest]["files"]
    # Flat memory: the whole corpus peaks no higher than the worse of its two halves (the peak
    # is set by the largest single file, not by how many files came before it).
    half = len(files) // 2
    halves = [run_gradlint(part, "--no-cache", "--jobs", "1")[1] for part in (files[:half], files[half:])]
    rss_full = results[largest]["rss"]
    print(f"\npeak RSS, {largest}, 1 process: first half {halves[0] / 1024:.0f} MiB, second half "
          f"{halves[1] / 1024:.0f} MiB, all {len(files)} files {rss_full / 1024:.0f} MiB "
          f"(all / worse half {rss_full / max(halves):.2f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.py"
        plain.write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
        kerasy = Path(tmp) / "model.py"
        kerasy.write_text("from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(8, activation='relu')])\n")
        base, plain_t, keras_t = startup([plain, kerasy], args.repeat, Path(tmp) / "cache")
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
    warm_ratio = k["warm"] / k["filling"]
    print(f"  warm cache ≤ {TARGETS['warm']}x cold: {warm_ratio:.3f}x  {verdict(warm_ratio <= TARGETS['warm'])}")
    print(f"  start-up on a non-Keras file ≤ {TARGETS['startup']}x python: {plain_t / base:.2f}x  "
          f"{verdict(plain_t / base <= TARGETS['startup'])}")


EMPTY_CONFIG = Path(tempfile.gettempdir()) / "gradlint-bench-pyproject.toml"
EMPTY_CONFIG.write_text("[tool.gradlint]\nrespect-gitignore = false\n")

if __name__ == "__main__":
    main()
