"""`--seeds N`: probe one target at several seeds and say how many seeds show each finding.

Some faults appear with a probability: a narrow ReLU stack is healthy at one seed and entirely
dead at the next. One seed cannot see such a fault, so a small model is probed at a few seeds
by default. The rule is on the parameter count, which is known after the first probe and does
not depend on the machine's load: up to SMALL_MODEL_PARAMETERS parameters the probe takes
DEFAULT_SEEDS seeds, above it one. The seeds are `--seed`, `--seed + 1`, … so that a run can
be repeated and a seed named in the output can be probed alone.

A seed after the first does not build the model again: reinit.py draws that seed's initial
weights into the model already built, bit for bit what a rebuild would give, and the compiled
pass is reused, so an extra seed costs its measured batches. Where reinit.py cannot know
the weights a rebuild would give, the model is built again at each seed, said in one note.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from gradlint.diagnostics import Diagnostic
from gradlint.runtime.errors import reason
from gradlint.runtime.progress import NoProgress, Progress
from gradlint.runtime.reinit import Redraw, plan
from gradlint.runtime.results import ProbeReport, SeedFinding, SeedSummary
from gradlint.runtime.settings import ProbeOptions

if TYPE_CHECKING:
    from gradlint.runtime.session import Kept

SMALL_MODEL_PARAMETERS = 100_000
DEFAULT_SEEDS = 3

Probe = Callable[..., ProbeReport]  # probe_target(target, options, progress=...)


def seed_count(requested: int | None, parameters: int | None) -> tuple[int, str]:
    """How many seeds to probe, and why, in words for the report."""
    if requested is not None:
        return requested, f"--seeds {requested}"
    if parameters is not None and parameters <= SMALL_MODEL_PARAMETERS:
        return DEFAULT_SEEDS, (f"{DEFAULT_SEEDS} seeds by default: {parameters:,} parameters "
                               f"≤ {SMALL_MODEL_PARAMETERS:,}")
    size = f"{parameters:,} parameters > {SMALL_MODEL_PARAMETERS:,}" if parameters is not None else "size unknown"
    return 1, f"1 seed by default: {size} (--seeds N for more)"


def probe_seeds(target: str, options: ProbeOptions, seeds: int | None = None, *,
                progress: Progress | None = None, probe: Probe | None = None) -> ProbeReport:
    """The report at `options.seed` with every seed's findings merged into it and a seed summary;
    the report as it is when one seed is probed. `probe`: a stand-in for `probe_target`, called
    for every seed (the model then built at each)."""
    progress = progress or NoProgress()
    if probe is not None:
        first, kept = probe(target, options, progress=progress), None
    else:
        from gradlint.runtime.session import probe_and_keep

        first, kept = probe_and_keep(target, options, progress=progress, keep=True)
    count, why = seed_count(seeds, first.parameters)
    if count <= 1:
        return first
    later = [replace(options, seed=options.seed + k) for k in range(1, count)]
    reports = [first]
    planning = time.perf_counter()
    redraw, rebuilt = _redraw(kept, options.seed)
    planning = time.perf_counter() - planning
    for k, seeded in enumerate(later, start=1):
        progress.step(f"{target}: seed {seeded.seed} ({k + 1} of {count})")
        if redraw is not None:
            from gradlint.runtime.session import probe_kept

            assert kept is not None
            reports.append(probe_kept(kept, seeded, prepare=functools.partial(redraw.apply, seeded.seed),
                                      progress=progress))
        else:
            reports.append(_rebuilt(probe)(target, seeded, progress=progress))
    merged = merge(reports, why)
    if redraw is not None:  # checking that the model can be redrawn is part of redrawing it
        merged = replace(merged, timings={**merged.timings,
                                          "reinit": merged.timings.get("reinit", 0.0) + planning})
    if rebuilt:
        seeds_named = ", ".join(str(o.seed) for o in later)
        note = f"seeds {seeds_named}: the model was built again for each, not redrawn in place: {rebuilt}"
        merged = replace(merged, notes=(*merged.notes, note))
    return merged


def _rebuilt(probe: Probe | None) -> Probe:
    if probe is not None:
        return probe
    from gradlint.runtime.session import probe_target

    return probe_target


def _redraw(kept: Kept | None, seed: int) -> tuple[Redraw | None, str]:
    """How to give the kept model another seed's weights in place, or why it is built again
    ("" when no reason needs saying: a stand-in probe, or a torch model)."""
    if kept is None:
        return None, ""
    try:
        planned = plan(kept.model, kept.recorded, seed)
    except Exception as exc:  # Keras internals it reads have moved: the rebuild still works
        return None, f"its weights could not be read: {reason(exc)}"
    if isinstance(planned, str):
        return None, planned
    return planned, ""


def merge(reports: list[ProbeReport], why: str) -> ProbeReport:
    """The first report, its findings replaced by every seed's (each finding once, from the
    first seed that shows it, saying which seeds do), and the per-seed summary."""
    first = reports[0]
    seeds = tuple(r.seed for r in reports)
    order: list[tuple[str, str]] = []
    shown: dict[tuple[str, str], list[tuple[int, Diagnostic]]] = {}
    for report in reports:
        for d in report.findings:
            key = (d.code, str(d.extra.get("criterion", "")))
            if key not in shown:
                order.append(key)
                shown[key] = []
            if all(seed != report.seed for seed, _ in shown[key]):
                shown[key].append((report.seed, d))
    findings: list[Diagnostic] = []
    summary: list[SeedFinding] = []
    for key in order:
        hits = shown[key]
        seed, d = hits[0]
        which = [s for s, _ in hits]
        note = f" [seed {seed}; in {len(which)} of {len(seeds)} seeds: {', '.join(str(s) for s in which)}]"
        findings.append(replace(d, message=d.message + note,
                                extra={**d.extra, "seed": seed, "seeds": which, "seed_count": len(seeds)}))
        summary.append(SeedFinding(d.code, key[1], str(d.extra.get("headline") or d.code), tuple(which),
                                   tuple(str(h.extra.get("where") or "") for _, h in hits)))
    per_seed = tuple((r.seed, tuple(d.code for d in r.findings)) for r in reports)
    # Each step's time over all the seeds (TensorFlow's import is in the first seed's only).
    keys = dict.fromkeys(key for r in reports for key in r.timings)  # "reinit" where redrawn in place
    timings = {key: sum(r.timings.get(key, 0.0) for r in reports) for key in keys}
    return replace(first, findings=tuple(findings), timings=timings,
                   seed_summary=SeedSummary(seeds, why, tuple(summary), per_seed))
