"""One target from string to judged report: load TensorFlow, build, probe, judge, explain.

This is the runtime side's entry point for every caller: `gradlint probe`, `gradlint check
--runtime` (through `run_targets`) and `--confirm`.
"""

from __future__ import annotations

import time
from dataclasses import replace

from gradlint.diagnostics import Diagnostic, Position
from gradlint.errors import GradlintError
from gradlint.runtime import explain
from gradlint.runtime.backend import load, quiet_python_warnings
from gradlint.runtime.errors import ProbeError, RuntimeMissing, reason
from gradlint.runtime.origins import recording
from gradlint.runtime.probe import probe_model
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import load_model, parse_target
from gradlint.runtime.verdicts import judge


def probe_target(
    target: str,
    options: ProbeOptions,
    *,
    progress: Progress | None = None,
    source: str | None = None,
) -> ProbeReport:
    """Probe one target and judge it. `source` replaces the module's text (for --confirm).

    Raises ProbeError (naming the target) or RuntimeMissing; never a bare exception.
    """
    progress = progress or NoProgress()
    parsed = parse_target(target)
    progress.step("loading TensorFlow")
    started = time.perf_counter()
    backend = load(quiet=not options.verbose)
    loaded_tf = time.perf_counter()
    keras = backend.keras
    with quiet_python_warnings(not options.verbose):
        progress.step(f"building {target}")
        keras.backend.clear_session()  # fresh layer names: before/after tables line up
        keras.utils.set_random_seed(options.seed)  # same initial weights for the same code
        try:
            with recording(keras) as origins:  # each layer's construction rows, for attribution
                loaded = load_model(parsed, backend, source=source)
        except GradlintError:
            raise
        except Exception as exc:
            raise ProbeError(f"{target}: building the model failed: {reason(exc)}") from exc
        built = time.perf_counter()
        progress.step(f"probing {target} ({options.repeats} × batch {options.batch_size})")
        try:
            report = probe_model(loaded.model, backend, options, target=target, filename=loaded.filename)
        except ProbeError as exc:
            raise ProbeError(f"{target}: {exc}") from exc.__cause__
        except Exception as exc:
            raise ProbeError(f"{target}: probing failed: {reason(exc)}") from exc
    report = origins.attach(report, loaded.source_path)
    static: list[Diagnostic] = []
    if options.explain and loaded.source is not None:
        static = explain.static_findings(loaded.source, loaded.filename)
    location = Position(loaded.factory_line or 1, 1)
    findings = judge(report, options, location=location, static=static)
    timings = {"import": loaded_tf - started, "build": built - loaded_tf, **report.timings}
    return replace(report, findings=tuple(findings), timings=timings)


def run_targets(targets: list[str], options: ProbeOptions) -> tuple[list[Diagnostic], list[str]]:
    """Probe each target for `gradlint check --runtime`: (all findings, one message per failure).

    Failures do not stop the other targets, except a missing TensorFlow, reported once.
    """
    findings: list[Diagnostic] = []
    errors: list[str] = []
    for target in targets:
        try:
            report = probe_target(target, options)
        except RuntimeMissing as exc:
            errors.append(str(exc))
            break
        except GradlintError as exc:
            errors.append(str(exc))
            continue
        findings.extend(report.findings)
    return findings, errors
