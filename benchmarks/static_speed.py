"""Static-path speed of gradlint, measured against a bare LibCST parse of the same files.

Run: pip install -e '.[bench]' && python benchmarks/static_speed.py [--skip-tensorflow] [--repeat N]
     [--first-party-repeat N] [--first-party-only] [--torch-only]

Corpora nobody here wrote, all installed offline: the `keras` package source (Keras-heavy),
a mixed corpus of other installed packages with little Keras code (numpy, click, pathspec,
…), where the runtime extra is installed the `tensorflow/python` sources, and where torch is
installed its `torch/nn` sources (and torchvision's, where installed), copied to a temporary
directory as a project of its own (gradlint's discovery leaves site-packages alone); that
corpus's findings are counted too. For each:
files, MB, then wall time and the ratio to `libcst.parse_module` over the same files in the same run, for one
process cold, two processes cold, a cold run that fills the cache and the warm run after it,
and start-up on one small file. Peak RSS of one process is printed for each half and the whole
of the largest corpus: the whole must peak no higher than its worse half.

Then a generated first-party package (`first_party_corpus.py`: 75 modules that import each
other) measures what following the project's own modules costs: cold and warm, against the
same bytes with first-party resolution switched off and against a twin with every import
replaced by local copies, and after an edit of a module that 17 others use. Its cross-module
findings are checked too, so that a resolution that silently finds nothing cannot pass.
`--first-party-only` measures that alone (and the Keras corpus's cold -j1 it is compared with);
`--torch-only` measures the PyTorch corpus alone, against the same targets as the Keras corpus.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from first_party_corpus import WIDELY_IMPORTED, Expected, users_of, write_corpus

TARGETS = {
    "keras_cold_1": 1.3,  # Keras-heavy, 1 process, cold: ≤ 1.3 × bare LibCST parse
    "mixed_cold": 0.15,  # mixed corpus, cold: ≤ 0.15 × bare LibCST parse
    "speedup_2": 1.7,  # --jobs 2 vs --jobs 1: ≥ 1.7 × faster
    "warm": 0.05,  # warm cache ≤ 0.05 × cold
    "startup": 2.0,  # non-Keras file ≤ 2 × `python -c pass`
    "first_party_cold": 1.3,  # first-party corpus, cold -j1, per MB ≤ 1.3 × the Keras corpus's
    "first_party_warm": 0.05,  # first-party corpus, warm ≤ 0.05 × its cold
}
HEADER = (f"{'corpus':<11}{'files':>6}{'MB':>7}{'libcst':>9}{'cold -j1':>10}{'ratio':>7}{'cold -j2':>10}{'ratio':>7}"
          f"{'speedup':>8}{'filling':>9}{'warm':>8}{'warm/cold':>10}")


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


def copy_torch_corpus(destination: Path) -> list[Path]:
    """torch/nn (and torchvision, where installed) copied under `destination` with their
    package paths, so that relative imports resolve as in the installed package; the roots
    to check, none when torch is not installed."""
    import shutil

    roots = []
    for name, sub in (("torch", "nn"), ("torchvision", "")):
        if importlib.util.find_spec(name) is None:
            continue
        source = package_dir(name) / sub if sub else package_dir(name)
        target = destination / name / sub if sub else destination / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
        roots.append(target)
    return roots


def measure_corpus(name: str, roots: list[Path]) -> dict:
    """One row of the table: the LibCST parse, cold -j1 and -j2, a cold run filling a cache
    and the warm run after it."""
    files = [f for r in roots for f in py_files(r)]
    size = sum(f.stat().st_size for f in files) / 1e6
    parse = bare_libcst_parse(files)
    cold1, rss1 = run_gradlint(roots, "--no-cache", "--jobs", "1")
    cold2, _ = run_gradlint(roots, "--no-cache", "--jobs", "2")
    with tempfile.TemporaryDirectory() as cache:
        filling, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
        warm, _ = run_gradlint(roots, "--jobs", "2", "--cache-dir", cache)
    print(f"{name:<11}{len(files):>6}{size:>7.1f}{parse:>8.2f}s{cold1:>9.2f}s{cold1 / parse:>7.2f}"
          f"{cold2:>9.2f}s{cold2 / parse:>7.2f}{cold1 / cold2:>7.2f}x{filling:>8.2f}s{warm:>7.2f}s{warm / filling:>10.3f}")
    return dict(files=files, parse=parse, cold1=cold1, cold2=cold2, filling=filling, warm=warm, rss=rss1)


def findings_of(roots: list[Path]) -> list[dict]:
    """The findings of one cold `gradlint check` of the roots (JSON)."""
    command = [sys.executable, "-m", "gradlint", "check", "--exit-zero", "--no-cache", "--config", str(EMPTY_CONFIG),
               "--output-format", "json", *map(str, roots)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout or "[]")


def torch_report(corpus: dict, roots: list[Path]) -> None:
    """The PyTorch corpus's findings, by code and file, and its targets (the Keras corpus's)."""
    found = findings_of(roots)
    base = roots[0].parent
    codes = Counter(f.get("code", "?") for f in found)
    files = Counter(str(Path(f.get("filename", "?")).resolve().relative_to(base.resolve())) for f in found)
    print(f"\ntorch corpus findings: {len(found)} ({', '.join(f'{c} {n}' for c, n in sorted(codes.items())) or 'none'}) "
          f"in {len(files)} files{': ' if files else ''}{', '.join(f'{p} {n}' for p, n in files.most_common(6))}")
    print("torch corpus targets (the Keras corpus's):")
    ratio = corpus["cold1"] / corpus["parse"]
    print(f"  cold -j1 ≤ {TARGETS['keras_cold_1']}x libcst parse: {ratio:.2f}x  {verdict(ratio <= TARGETS['keras_cold_1'])}")
    speedup = corpus["cold1"] / corpus["cold2"]
    print(f"  --jobs 2 vs --jobs 1 ≥ {TARGETS['speedup_2']}x: {speedup:.2f}x  {verdict(speedup >= TARGETS['speedup_2'])}")
    warm_ratio = corpus["warm"] / corpus["filling"]
    print(f"  warm cache ≤ {TARGETS['warm']}x cold: {warm_ratio:.3f}x  {verdict(warm_ratio <= TARGETS['warm'])}")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def peak_memory(results: dict) -> None:
    """Flat memory: the whole of the largest corpus peaks no higher than the worse of its two
    halves (the peak is set by the largest single file, not by how many files came before it)."""
    largest = max(results, key=lambda n: len(results[n]["files"]))
    files = results[largest]["files"]
    half = len(files) // 2
    halves = [run_gradlint(part, "--no-cache", "--jobs", "1")[1] for part in (files[:half], files[half:])]
    rss_full = results[largest]["rss"]
    print(f"\npeak RSS, {largest}, 1 process: first half {halves[0] / 1024:.0f} MiB, second half "
          f"{halves[1] / 1024:.0f} MiB, all {len(files)} files {rss_full / 1024:.0f} MiB "
          f"(all / worse half {rss_full / max(halves):.2f}x)")


def first_party_targets(fp: dict) -> None:
    """Cold: cost per MB of source (in-process: a 0.2 s run is a third start-up) against the
    Keras corpus's cold -j1 per MB in the same run. Warm: against the corpus's own cold run."""
    print(f"  first-party corpus, cold -j1, per MB ≤ {TARGETS['first_party_cold']}x the Keras corpus's: "
          f"{fp['per_mb']:.2f}x  {verdict(fp['per_mb'] <= TARGETS['first_party_cold'])}")
    print(f"  first-party corpus, warm ≤ {TARGETS['first_party_warm']}x its cold (in-process): "
          f"{fp['warm']:.3f}x  {verdict(fp['warm'] <= TARGETS['first_party_warm'])}")
    print(f"  first-party corpus, after an edit the cache gives a cold check's findings: {verdict(fp['fresh'])}")
    print(f"  first-party corpus, its cross-module findings found: {verdict(fp['findings_met'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-tensorflow", action="store_true",
                        help="leave out the tensorflow/python corpus (the slowest) even where it is installed")
    parser.add_argument("--repeat", type=int, default=20, help="start-up measurements to take the median of")
    parser.add_argument("--first-party-repeat", type=int, default=7,
                        help="cold and warm runs of the first-party corpus to take the median of")
    parser.add_argument("--first-party-only", action="store_true",
                        help="measure only the first-party corpus (and the Keras corpus's cold -j1, its reference)")
    parser.add_argument("--torch-only", action="store_true",
                        help="measure only the PyTorch corpus (installed torch/nn, and torchvision where installed)")
    args = parser.parse_args()
    if args.first_party_only and args.torch_only:
        parser.error("--first-party-only and --torch-only exclude each other")
    # gradlint as an installed package runs it: from bytecode (pip compiles it on install; an
    # editable install under PYTHONDONTWRITEBYTECODE would compile every module at every start).
    compileall.compile_dir(str(package_dir("gradlint")), quiet=1)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.torch_only:
        with tempfile.TemporaryDirectory(prefix="torch_corpus_") as tmp:
            roots = copy_torch_corpus(Path(tmp))
            if not roots:
                raise SystemExit("torch is not installed: there is no PyTorch corpus to measure")
            print(f"\n{HEADER}\n{'-' * len(HEADER)}")
            torch_report(measure_corpus("torch", roots), roots)
        return
    corpora = {"keras": [package_dir("keras") / "src"]}
    if args.first_party_only:
        fp = first_party(corpora["keras"], args.first_party_repeat)
        print("\ntargets:")
        first_party_targets(fp)
        return
    corpora["mixed"] = [package_dir(n) for n in ("numpy", "click", "pathspec", "hypothesis", "jsonschema", "_pytest")
                        if importlib.util.find_spec(n)]
    if not args.skip_tensorflow and importlib.util.find_spec("tensorflow"):
        corpora["tensorflow"] = [package_dir("tensorflow") / "python"]
    torch_dir = tempfile.TemporaryDirectory(prefix="torch_corpus_")
    torch_roots = copy_torch_corpus(Path(torch_dir.name))
    if torch_roots:
        corpora["torch"] = torch_roots
    print(f"\n{HEADER}\n{'-' * len(HEADER)}")
    results = {name: measure_corpus(name, roots) for name, roots in corpora.items()}

    peak_memory(results)
    if torch_roots:
        torch_report(results["torch"], torch_roots)
    torch_dir.cleanup()

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.py"
        plain.write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
        kerasy = Path(tmp) / "model.py"
        kerasy.write_text("from tensorflow import keras\nmodel = keras.Sequential([keras.layers.Dense(8, activation='relu')])\n")
        base, plain_t, keras_t = startup([plain, kerasy], args.repeat, Path(tmp) / "cache")
    print(f"start-up (median of {args.repeat}): python -c pass {base * 1000:.0f} ms; "
          f"gradlint on a non-Keras file {plain_t * 1000:.0f} ms ({plain_t / base:.2f}x); "
          f"on a Keras file {keras_t * 1000:.0f} ms ({keras_t / base:.2f}x)")

    fp = first_party(corpora["keras"], args.first_party_repeat)

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
    first_party_targets(fp)


# `gradlint check` in the calling process, with counters: the time inside the engine's
# check_files (the run itself, without interpreter and command-line start-up), the files
# checked (past the prefilter, not served from the cache), and calls and time of the methods
# of Project that other modules are found, read and built by: `function` (every look-up of
# an imported function, all of the below included), `locate`, `graph` (reading and hashing,
# and building when the content is new) and `_build`. They are patched once a Keras file is
# checked, so that a warm run imports no more than it would. A cached result's dependencies
# are counted ("validated") and timed as the cache checks them. With "off" no first-party
# import is followed: what the same bytes cost without cross-module summaries.
COUNTING_RUNNER = r'''
import atexit, json, runpy, sys, time
import gradlint.engine as engine
counts = {"checking": 0.0, "checked": 0, "validated": 0, "validated_s": 0.0}
resolve = sys.argv.pop(1) == "on"
check_source, check_files, patched = engine.check_source, engine.check_files, []
def timed(name, method):
    counts[name], counts[name + "_s"], depth = 0, 0.0, [0]
    def wrapper(self, *args, **kwargs):
        counts[name] += 1
        depth[0] += 1
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                counts[name + "_s"] += time.perf_counter() - start
    return wrapper
def patch_graph():
    from gradlint.graph.project import Project
    for name in ("function", "locate", "graph", "_build"):
        setattr(Project, name, timed(name, getattr(Project, name)))
    if not resolve:
        Project.function = lambda self, *args, **kwargs: None
    patched.append(True)
def counted_check(text, *args, **kwargs):
    if engine._MENTIONS_KERAS.search(text):
        counts["checked"] += 1
        if not patched:
            patch_graph()
    return check_source(text, *args, **kwargs)
def timed_check_files(*args, **kwargs):
    start = time.perf_counter()
    try:
        return check_files(*args, **kwargs)
    finally:
        counts["checking"] += time.perf_counter() - start
cache_for = engine._cache_for
def timed_cache_for(*args, **kwargs):
    from gradlint import cache
    if not getattr(cache, "_counted", False):
        cache._counted, unchanged = True, cache._dependencies_unchanged
        def timed_unchanged(dependencies):
            counts["validated"] += len(dependencies) if isinstance(dependencies, dict) else 0
            start = time.perf_counter()
            try:
                return unchanged(dependencies)
            finally:
                counts["validated_s"] += time.perf_counter() - start
        cache._dependencies_unchanged = timed_unchanged
    return cache_for(*args, **kwargs)
engine.check_source, engine.check_files, engine._cache_for = counted_check, timed_check_files, timed_cache_for
atexit.register(lambda: print("bench-counts", json.dumps(counts), file=sys.stderr))
runpy.run_module("gradlint", run_name="__main__", alter_sys=True)
'''


@dataclass(frozen=True)
class Run:
    """One `gradlint check` of a first-party corpus (see COUNTING_RUNNER)."""

    wall: float  # seconds, the process's start included
    checking: float  # seconds inside the engine's check_files
    checked: int  # files checked rather than served from the cache
    project: dict[str, float]  # calls and seconds ("_s") of Project's methods (see COUNTING_RUNNER)
    stdout: str

    @property
    def built(self) -> int:
        """Other modules' graphs built for imports."""
        return int(self.project.get("_build", 0))


def counted_check(root: Path, *extra: str, resolve: bool = True) -> Run:
    """One `gradlint check -j1` of the corpus at `root`, with its own configuration (whose
    directory is the root that absolute first-party imports are looked up under)."""
    command = [sys.executable, "-c", COUNTING_RUNNER, "on" if resolve else "off", "check", "--exit-zero",
               "--jobs", "1", "--config", str(root / "pyproject.toml"), *extra, str(root)]
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    counts = [json.loads(line.split(" ", 1)[1]) for line in out.stderr.splitlines() if line.startswith("bench-counts ")]
    if out.returncode != 0 or not counts:
        raise SystemExit(f"gradlint check of {root} failed (exit {out.returncode}):\n{out.stderr}")
    project = {k: v for k, v in counts[-1].items() if k not in ("checking", "checked")}
    return Run(wall, counts[-1]["checking"], counts[-1]["checked"], project, out.stdout)


def median_checks(variants: dict[str, tuple[Path, bool]], repeat: int, *extra: str,
                  between: Callable[[int], object] | None = None) -> dict[str, dict]:
    """Median times of each variant's check, the variants taken in turns so that a machine
    getting busier or quieter weighs on all of them alike; `between(i)` runs before round i."""
    runs: dict[str, list[Run]] = {name: [] for name in variants}
    for i in range(repeat):
        if between is not None:
            between(i)
        for name, (root, resolve) in variants.items():
            runs[name].append(counted_check(root, *extra, resolve=resolve))
    return {name: {"wall": statistics.median(r.wall for r in taken),
                   "checking": statistics.median(r.checking for r in taken),
                   "project": {k: statistics.median(r.project.get(k, 0) for r in taken) for k in taken[0].project},
                   "checked": taken[0].checked, "built": taken[0].built} for name, taken in runs.items()}


def findings(root: Path, *extra: str, resolve: bool = True) -> set[tuple[str, str, int]]:
    """(path relative to `root`, code, row) of every finding."""
    out = counted_check(root, "--output-format", "json", *extra, resolve=resolve).stdout
    return {(str(Path(d["filename"]).relative_to(root)), d["code"], d["location"]["row"]) for d in json.loads(out)}


def cross_module(found: set[tuple[str, str, int]]) -> set[tuple[str, str]]:
    """(file, code) of the findings about training a recurrent model (GL2xx), the ones a model
    or optimizer from another module gives."""
    return {(path, code) for path, code, _ in found if code.startswith("GL2")}


def swap_backbone(module: Path) -> None:
    """The edit of a widely used module: its LSTM backbone becomes a convolutional one, which
    takes GL201 away from every model built on it."""
    text = module.read_text()
    swapped = text.replace("layers.LSTM(units, return_sequences=True),\n        layers.LSTM(units),",
                           "layers.Conv1D(units, 5, activation=\"relu\", kernel_initializer=\"he_normal\"),\n"
                           "        layers.GlobalMaxPooling1D(),")
    if swapped == text:
        raise SystemExit(f"{module}: the LSTM backbone to swap is not there")
    module.write_text(swapped)


def report_findings(expected: list[Expected], found: set, found_off: set, found_local: set) -> bool:
    """Prints each expected cross-module finding, and the GL2xx findings against those of the
    same bytes without resolution and of the local copies; whether all required were there."""
    print("cross-module findings (linked corpus, cold):")
    met = True
    for e in expected:
        hit = any(path == e.path and code == e.code for path, code, _ in found)
        off_hit = any(path == e.path and code == e.code for path, code, _ in found_off)
        ok = hit == e.present
        met &= ok or not e.required
        state = ("found" if hit else "absent") + (", as it must be" if ok else
                                                  ", MISSING" if e.required else ", not followed yet")
        print(f"  {e.code} {'' if e.present else 'not '}in {e.path}: {state}"
              f"{' (also without resolution)' if off_hit and e.present else ''}  [{e.why}]")
    linked_only = cross_module(found) - cross_module(found_off)
    print(f"  GL2xx found only with resolution on: {len(linked_only)}; against the local copies: "
          f"{len(cross_module(found) & cross_module(found_local))} alike, only in the copies "
          f"{sorted(cross_module(found_local) - cross_module(found)) or 'none'}, only linked "
          f"{sorted(cross_module(found) - cross_module(found_local)) or 'none'}")
    return met and bool(linked_only)


def first_party(keras_roots: list[Path], repeat: int) -> dict:
    """Times the generated first-party package (see first_party_corpus.py), prints what it
    found, and returns the figures the targets use. The Keras corpus's cold -j1, the
    reference, is taken again at the first, middle and last of the rounds: on a shared machine
    the load of a minute ago says little about the load now."""
    references: list[float] = []

    def reference(i: int) -> None:
        if i in (0, repeat // 2, repeat - 1):
            references.append(run_gradlint(keras_roots, "--no-cache", "--jobs", "1")[0])

    with tempfile.TemporaryDirectory() as tmp:
        linked, local = Path(tmp) / "linked", Path(tmp) / "local"
        expected = write_corpus(linked)
        write_corpus(local, local=True)
        variants = {"linked": (linked, True), "resolution off": (linked, False), "local copies": (local, True)}
        rows = median_checks(variants, repeat, "--no-cache", between=reference)
        for name, (root, _) in variants.items():
            files = py_files(root)
            rows[name].update(files=len(files), size=sum(f.stat().st_size for f in files),
                              parse=min(bare_libcst_parse(files) for _ in range(3)))
        found = findings(linked, "--no-cache")
        found_off = findings(linked, "--no-cache", resolve=False)
        found_local = findings(local, "--no-cache")
        # Each filling run writes a fresh cache; the warm runs read the last one.
        fills = [counted_check(linked, "--cache-dir", str(Path(tmp) / f"cache{i}")) for i in range(repeat)]
        cache = str(Path(tmp) / f"cache{repeat - 1}")
        entries = [json.loads(f.read_text()) for f in Path(cache).rglob("results-*.json")]
        read = [set(v.get("dependencies", {})) for e in entries for v in e.get("entries", e).values()
                if isinstance(v, dict)]
        distinct = len(set().union(*read))
        readers = sum(str((linked / WIDELY_IMPORTED).resolve()) in deps for deps in read)
        filling = {"wall": statistics.median(r.wall for r in fills),
                   "checking": statistics.median(r.checking for r in fills)}
        warm = median_checks({"warm": (linked, True)}, repeat, "--cache-dir", cache)["warm"]
        swap_backbone(linked / WIDELY_IMPORTED)
        after_edit = counted_check(linked, "--cache-dir", cache)
        served = findings(linked, "--cache-dir", cache)
        fresh = findings(linked, "--no-cache")

    k_mb = sum(f.stat().st_size for r in keras_roots for f in py_files(r)) / 1e6
    keras_per_mb = statistics.median(references) / k_mb
    print(f"\nfirst-party corpus (generated package, {rows['linked']['files']} modules, {rows['linked']['checked']} "
          f"with Keras code), no cache, 1 process, median of {repeat} taken in turns:")
    header = (f"{'variant':<16}{'files':>6}{'KB':>6}{'libcst':>9}{'cold -j1':>10}{'ratio':>7}{'in-process':>12}"
              f"{'s/MB':>7}{'vs keras':>9}{'look-ups':>10}{'other graphs':>14}")
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        r["per_mb"] = r["checking"] / (r["size"] / 1e6)
        print(f"{name:<16}{r['files']:>6}{r['size'] / 1e3:>6.0f}{r['parse']:>8.3f}s{r['wall']:>9.3f}s"
              f"{r['wall'] / r['parse']:>7.2f}{r['checking']:>11.3f}s{r['per_mb']:>6.2f}s{r['per_mb'] / keras_per_mb:>8.2f}x"
              f"{r['project'].get('function_s', 0) * 1000:>7.0f} ms{r['built']:>14}")
    on, off, copies = rows["linked"], rows["resolution off"], rows["local copies"]
    print(f"(in-process: inside the engine's check_files, without the process's start; vs keras: s/MB against the "
          f"Keras corpus's cold -j1 taken in turns, {statistics.median(references):.2f}s (of "
          f"{', '.join(f'{t:.2f}' for t in references)}), {keras_per_mb:.2f} s/MB; look-ups: time finding, reading and "
          f"building the functions other modules define; other graphs: modules parsed and built for another file's imports)")
    pr = on["project"]
    print(f"summaries' cost: linked {on['checking']:.3f}s in-process against resolution off {off['checking']:.3f}s "
          f"on the same bytes ({on['checking'] / off['checking']:.2f}x); the local copies, "
          f"{copies['size'] / on['size']:.2f}x the bytes: {copies['checking']:.3f}s")
    print(f"look-ups, linked: {pr['function']:.0f} of imported functions, {pr['function_s'] * 1000:.0f} ms: locating "
          f"{pr['locate']:.0f} imports {pr['locate_s'] * 1000:.0f} ms, reading and hashing {pr['graph']:.0f} modules "
          f"{(pr['graph_s'] - pr['_build_s']) * 1000:.0f} ms, building {pr['_build']:.0f} graphs {pr['_build_s'] * 1000:.0f} ms "
          f"(the rest of the cost: tracing and judging what they return)")
    warm_ratio = warm["checking"] / filling["checking"]
    print(f"cache: filling {filling['wall']:.3f}s ({filling['checking']:.3f}s in-process), warm {warm['wall']:.3f}s "
          f"({warm['checking']:.3f}s in-process; {warm_ratio:.3f}x, with start-up {warm['wall'] / filling['wall']:.3f}x), "
          f"files checked again: {warm['checked']}; the cached results' dependencies, each read and hashed: "
          f"{warm['project']['validated']:.0f} ({distinct} distinct modules), {warm['project']['validated_s'] * 1000:.1f} ms")
    print(f"after editing {WIDELY_IMPORTED} (LSTM backbone swapped for a Conv1D one; {len(users_of(WIDELY_IMPORTED))} "
          f"other modules use its functions, {readers} cached results read it): {after_edit.wall:.3f}s ({after_edit.checking:.3f}s in-process), "
          f"{after_edit.checked} files checked again, {after_edit.built} graphs of others built; "
          f"findings as a cold check's: {'yes' if served == fresh else 'NO'}"
          + ("" if served == fresh else f" (stale: {sorted(served - fresh)}, missing: {sorted(fresh - served)})"))

    met = report_findings(expected, found, found_off, found_local)
    return {"per_mb": on["per_mb"] / keras_per_mb, "warm": warm_ratio, "fresh": served == fresh, "findings_met": met}


EMPTY_CONFIG = Path(tempfile.gettempdir()) / "gradlint-bench-pyproject.toml"
EMPTY_CONFIG.write_text("[tool.gradlint]\nrespect-gitignore = false\n")

if __name__ == "__main__":
    main()
