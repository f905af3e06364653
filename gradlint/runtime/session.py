"""One target from string to judged report: load TensorFlow, build, probe, judge, explain.

This is the runtime side's entry point for every caller: `gradlint probe`, `gradlint check
--runtime` (through `run_targets`) and `--confirm`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gradlint.diagnostics import Diagnostic, Position
from gradlint.errors import GradlintError
from gradlint.runtime import explain, reinit
from gradlint.runtime.backend import load, quiet_python_warnings, stdout_to_stderr
from gradlint.runtime.errors import ProbeError, RuntimeMissing, reason
from gradlint.runtime.origins import Origins, recording
from gradlint.runtime.probe import Prober, probe_with
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.reinit import Recorded
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import LoadedModel, load_model, parse_target
from gradlint.runtime.torch_backend import is_torch_module
from gradlint.runtime.torch_session import is_torch_target, probe_torch
from gradlint.runtime.verdicts import judge


def probe_target(
    target: str,
    options: ProbeOptions,
    *,
    progress: Progress | None = None,
    source: str | None = None,
) -> ProbeReport:
    """Probe one target and judge it. `source` replaces the module's text (for --confirm).

    TensorFlow is imported once per process, whatever the number of targets. While the
    target's code runs, its stdout goes to stderr. Raises ProbeError (naming the target) or
    RuntimeMissing; never a bare exception.
    """
    return probe_and_keep(target, options, progress=progress, source=source)[0]


@dataclass
class Kept:
    """A probed Keras target, kept to probe the same model again at another seed (seeds.py)."""

    target: str
    model: Any
    prober: Prober
    loaded: LoadedModel
    origins: Origins
    static: list[Diagnostic]
    recorded: Recorded  # the variables' initializers, recorded while it was built and first probed


def probe_and_keep(
    target: str,
    options: ProbeOptions,
    *,
    progress: Progress | None = None,
    source: str | None = None,
    keep: bool = False,
) -> tuple[ProbeReport, Kept | None]:
    """`probe_target`, and with `keep` the built model and its prober (None for a torch target)."""
    progress = progress or NoProgress()
    parsed = parse_target(target)
    if is_torch_target(parsed):  # a PyTorch target: TensorFlow is never imported for it
        return probe_torch(parsed, options, progress=progress, source=source), None
    if "tensorflow" not in sys.modules:
        progress.step("loading TensorFlow")
    started = time.perf_counter()
    backend = load(quiet=not options.verbose)
    loaded_tf = time.perf_counter()
    keras = backend.keras
    with quiet_python_warnings(not options.verbose), stdout_to_stderr(), \
            (reinit.recording(keras) if keep else contextlib.nullcontext(Recorded())) as recorded:
        progress.step(f"building {target}")
        # Fresh layer names, so that before/after tables line up. Python's garbage collection,
        # which clear_session would run, costs 0.2 s a target; cycles are left to its own schedule.
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(options.seed)  # same initial weights for the same code
        try:
            with recording(keras) as origins:  # each layer's construction rows, for attribution
                loaded = load_model(parsed, backend, source=source)
        except GradlintError:
            raise
        except Exception as exc:
            raise ProbeError(f"{target}: building the model failed: {reason(exc)}") from exc
        if is_torch_module(loaded.model):  # the file imports TensorFlow too: built again, seeded for torch
            return probe_torch(parsed, options, progress=progress, source=source), None
        built = time.perf_counter()
        try:
            prober = Prober(loaded.model, backend, input_shapes=options.input_shapes, seed=options.seed)
            report = probe_with(prober, options, target=target, filename=loaded.filename,
                                progress=progress, started=built)
        except ProbeError as exc:
            raise ProbeError(f"{target}: {exc}") from exc.__cause__
        except Exception as exc:
            raise ProbeError(f"{target}: probing failed: {reason(exc)}") from exc
    static: list[Diagnostic] = []
    if options.explain and loaded.source is not None:
        static = explain.static_findings(loaded.source, loaded.filename)
    kept = Kept(target, loaded.model, prober, loaded, origins, static, recorded)
    report = _judged(report, options, kept)
    timings = {"import": loaded_tf - started, "build": built - loaded_tf, **report.timings}
    return replace(report, timings=timings), kept if keep else None


def probe_kept(kept: Kept, options: ProbeOptions, *, prepare: Callable[[], None],
               progress: Progress | None = None) -> ProbeReport:
    """The kept model probed and judged again with `options` (another seed), after `prepare`
    has redrawn its weights: no build, and the compiled pass is reused."""
    started = time.perf_counter()
    with quiet_python_warnings(not options.verbose), stdout_to_stderr():
        try:
            prepare()
            prepared = time.perf_counter()
            kept.prober.reseed(options.seed)
            report = probe_with(kept.prober, options, target=kept.target, filename=kept.loaded.filename,
                                progress=progress, started=prepared)
        except ProbeError as exc:
            raise ProbeError(f"{kept.target}: {exc}") from exc.__cause__
        except Exception as exc:
            raise ProbeError(f"{kept.target}: probing failed: {reason(exc)}") from exc
    report = _judged(report, options, kept)
    return replace(report, timings={"reinit": prepared - started, **report.timings})


def _judged(report: ProbeReport, options: ProbeOptions, kept: Kept) -> ProbeReport:
    """The measurement with each layer's construction rows and the verdicts."""
    report = kept.origins.attach(report, kept.loaded.source_path)
    location = Position(kept.loaded.factory_line or 1, 1)
    findings = judge(report, options, location=location, static=kept.static)
    return replace(report, findings=tuple(findings))


def run_targets(targets: list[str], options: ProbeOptions,
                progress: Progress | None = None) -> tuple[list[Diagnostic], list[str]]:
    """Probe each target for `gradlint check --runtime`: (all findings, one message per failure).

    Failures do not stop the other targets, except a missing TensorFlow, reported once. Each
    target's time is a line of `progress` (on a terminal).
    """
    progress = progress or NoProgress()
    findings: list[Diagnostic] = []
    errors: list[str] = []
    try:
        for target in targets:
            try:
                report = probe_target(target, options, progress=progress)
            except RuntimeMissing as exc:
                errors.append(str(exc))
                break
            except GradlintError as exc:
                errors.append(str(exc))
                continue
            progress.done(timing_line(report))
            findings.extend(report.findings)
    finally:
        progress.clear()
    return findings, errors


def timing_line(report: ProbeReport) -> str:
    """`model.py:build_model: 0.84 s (build 0.21 s, probe 0.61 s)`, TensorFlow's import apart."""
    t = report.timings
    named = (("build", "build"), ("probe", "probe"),
             ("import", "torch import" if report.framework == "torch" else "TensorFlow import"))
    parts = [f"{name} {t[key]:.2f} s" for key, name in named if key in t and (key != "import" or t[key] >= 0.05)]
    total = sum(v for k, v in t.items() if k != "import")
    return f"{report.target}: {total:.2f} s ({', '.join(parts)})"
