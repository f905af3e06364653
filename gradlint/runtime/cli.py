"""`gradlint probe`: build the real model, measure its gradients, report GR findings.

Importable without TensorFlow: the group lists this command on every `gradlint --help`, and
TensorFlow is only imported once the command runs. Exit codes: 0 clean, 1 findings, 2 could
not probe (any target).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from gradlint.diagnostics import Diagnostic
from gradlint.errors import GradlintError, UsageError
from gradlint.runtime.settings import ProbeOptions, options_from_table, parse_shape

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _thresholds(fn):  # type: ignore[no-untyped-def]
    for name, meaning in reversed((
        ("--vanishing-ratio", "GR101 when backward signal first/last hidden layer is below this [1e-3]"),
        ("--exploding-ratio", "GR102 when that ratio is above this [1e3]"),
        ("--forward-growth", "GR102 when forward RMS grows by more than this across the stack [1e3]"),
        ("--max-grad-norm", "GR102 when any gradient norm is above this [1e6]"),
        ("--min-relative-grad", "GR101 when a layer's ‖∂L/∂W‖/‖W‖ is below this [1e-7]"),
    )):
        fn = click.option(name, type=float, default=None, metavar="X", help=meaning)(fn)
    return fn


@click.command("probe")
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option("--confirm", is_flag=True,
              help="Apply gradlint's static fixes in memory and probe before and after (nothing is written).")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write backward signal and relative gradient per layer to FILE (.png or .svg).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Synthetic batch size [32].")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed for weights and batches [0].")
@click.option("--seeds", "seed_count", type=click.IntRange(min=1), default=None, metavar="N",
              help="Probe at seeds SEED … SEED+N-1 and say how many show each finding "
                   "[3 up to 100,000 parameters, else 1].")
@click.option("--repeats", type=click.IntRange(min=1), default=None, help="Batches to take the median over [3].")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              help='Per-sample input shape, e.g. "28,28,1" or "None,100" (None: keep the model\'s); it fills '
                   "the dimensions the model leaves open and may not contradict a declared one (a sequence "
                   "model's open length is 100 otherwise); repeat for several inputs.")
@_thresholds
@click.option("-v", "--verbose", is_flag=True, help="Show progress steps, TensorFlow's logs and tracebacks.")
@click.option("--config", type=click.Path(path_type=Path), default=None,
              help="pyproject.toml (or TOML file) to read [tool.gradlint.runtime] from.")
@click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too).")
def probe(targets: tuple[str, ...], confirm: bool, output_format: str, plot: Path | None,
          batch_size: int | None, seed: int | None, seed_count: int | None, repeats: int | None,
          input_shapes: tuple[str, ...],
          vanishing_ratio: float | None, exploding_ratio: float | None, forward_growth: float | None,
          max_grad_norm: float | None, min_relative_grad: float | None, verbose: bool,
          config: Path | None, no_color: bool) -> None:
    """Measure per-layer gradients of the real model behind each TARGET.

    TARGET is path/to/model.py:build_model or package.module:build_model (a function called
    with no arguments that returns a Keras model or a torch.nn.Module), or a saved model.keras /
    model.h5 / model.pt (torch.save of a whole module). Without
    TARGET, the targets of [tool.gradlint.runtime] are probed. This runs the target's code.
    """
    try:
        options, settings = _options(
            config, batch_size=batch_size, seed=seed, repeats=repeats,
            input_shapes=tuple(parse_shape(s) for s in input_shapes) or None,
            vanishing_ratio=vanishing_ratio, exploding_ratio=exploding_ratio, forward_growth=forward_growth,
            max_grad_norm=max_grad_norm, min_relative_grad=min_relative_grad, verbose=verbose or None,
        )
        chosen = list(targets) or list(options.targets)
        if not chosen:
            raise UsageError("no target: name one (model.py:build_model, package.module:build_model, "
                             "model.keras) or set targets in [tool.gradlint.runtime]")
        if confirm and seed_count is not None and seed_count > 1:
            raise UsageError("--seeds does not apply to --confirm, which compares the fixes at one seed (--seed)")
        if plot is not None:
            from gradlint.runtime.plot import check_plot_path

            check_plot_path(plot)
    except GradlintError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)

    from gradlint.runtime.progress import Progress
    from gradlint.runtime.session import timing_line

    # On a terminal, steps and each target's time go to stderr; never in JSON mode.
    progress = Progress(enabled=False if output_format == "json" else None, verbose=verbose)

    color = not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    failed = False
    results: list = []
    for target in chosen:
        try:
            if confirm:
                from gradlint.runtime.confirm import confirm_fix

                results.append(_filtered_confirm(confirm_fix(target, options, progress=progress), settings))
                progress.done(f"{timing_line(results[-1].before)}; with the fixes, {timing_line(results[-1].after)}")
            else:
                from gradlint.runtime.seeds import probe_seeds

                report = probe_seeds(target, options, seed_count, progress=progress)
                results.append(report.with_findings(_selected(report.findings, settings)))
                progress.done(timing_line(report))
        except GradlintError as exc:
            failed = True
            progress.clear()
            _report_error(str(exc), exc, verbose)
        except Exception as exc:  # a bug or an unforeseen failure: still no bare traceback
            failed = True
            progress.clear()
            _report_error(f"{target}: internal error: {type(exc).__name__}: {exc}", exc, verbose)
    progress.clear()
    if results:
        try:
            _emit(results, confirm, output_format, color)
            if plot is not None:
                _plot(plot, results, confirm, options)
        except GradlintError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
    if failed:
        sys.exit(EXIT_ERROR)
    if confirm:
        sys.exit(max((r.exit_code for r in results), default=EXIT_CLEAN))
    sys.exit(EXIT_FINDINGS if any(r.findings for r in results) else EXIT_CLEAN)


def _options(config: Path | None, **overrides: object) -> tuple[ProbeOptions, object | None]:
    """[tool.gradlint.runtime] from the configuration, with command-line values on top."""
    from gradlint.config import load_settings

    settings = load_settings(config, Path.cwd())
    options = options_from_table(dict(settings.runtime)).with_overrides(**overrides)
    return options, settings


def _selected(findings: tuple[Diagnostic, ...], settings: object | None) -> list[Diagnostic]:
    """Honour select/ignore of [tool.gradlint] for GR codes, as `check` does."""
    select = getattr(settings, "select", None)
    ignore = getattr(settings, "ignore", ())
    if select is None:
        return list(findings)
    try:
        from gradlint.rules import is_selected
    except ImportError:
        return list(findings)
    return [d for d in findings if is_selected(d.code, select, ignore)]


def _filtered_confirm(result, settings):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(
        result,
        before=result.before.with_findings(_selected(result.before.findings, settings)),
        after=result.after.with_findings(_selected(result.after.findings, settings)),
    )


def _report_error(message: str, exc: BaseException, verbose: bool) -> None:
    click.echo(f"error: {message}", err=True)
    if verbose:
        cause = exc.__cause__ or exc
        click.echo("".join(traceback.format_exception(type(cause), cause, cause.__traceback__)).rstrip(), err=True)
    elif exc.__cause__ is not None or not isinstance(exc, GradlintError):
        click.echo("(run with --verbose for the traceback)", err=True)


def _emit(results: list, confirm: bool, output_format: str, color: bool) -> None:
    from gradlint.runtime import report

    if output_format == "json":
        text = report.render_confirm_json(results) if confirm else report.render_json(results)
        click.echo(text, nl=False)
        return
    render = report.render_confirm_text if confirm else report.render_text
    click.echo("\n".join(render(r, color) for r in results), nl=False)


def _plot(path: Path, results: list, confirm: bool, options: ProbeOptions) -> None:
    from gradlint.runtime.plot import write_plot

    if confirm:
        series = [(f"{label} ({r.target})" if len(results) > 1 else label, report)
                  for r in results for label, report in (("before", r.before), ("after", r.after))]
    else:
        series = [(r.target, r) for r in results]
    write_plot(path, series, options)
    click.echo(f"plot written to {path}", err=True)
